"""SessionBars' vectorised windows agree with its per-session lookups; ReasonBook.finish."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd
import pytest

from optionscope.domain.calendar import trading_sessions
from optionscope.metrics.family import ReasonBook
from optionscope.metrics.windows import SessionBars


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_windows_match_the_per_session_lookups(
    seed: int, make_bars: Callable[..., pd.DataFrame]
) -> None:
    rng = np.random.default_rng(seed)
    bars = make_bars(120, seed, start="2024-01-02")
    bars = bars[rng.random(len(bars)) > 0.05].reset_index(drop=True)  # some sessions missing
    broken = rng.choice(len(bars), 3, replace=False)
    bars.loc[broken, "high"] = bars.loc[broken, "low"] * 0.5  # invalid bars
    sessions = trading_sessions(date(2023, 12, 1), 140)
    session_bars = SessionBars(bars, sessions)
    days = list(sessions[::3])

    for size in (1, 5, 21, 61):
        windows = session_bars.windows(days, size)
        for row, day in enumerate(days):
            index = session_bars.bar_index(day)
            assert windows.bar[row] == (-1 if index is None else index)
            assert windows.present[row] == session_bars.present(day, size)
            bounds = session_bars.window(day, size)
            assert windows.complete[row] == (not isinstance(bounds, str))
            if not isinstance(bounds, str):
                assert (windows.start[row], windows.end[row]) == bounds
                invalid = session_bars.first_invalid(*bounds) is not None
                assert windows.invalid[row] == invalid
            else:
                assert not windows.invalid[row]


def test_finish_reports_nulls_statuses_and_unexplained_nans() -> None:
    days = [date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 4)]
    book = ReasonBook(days, ["b", "a"])
    book.explain(0, ["a", "b"], "first")
    book.explain(0, ["a"], "second")  # the first reason wins
    book.explain(1, ["b"], "why_b")
    values = {"a": [np.nan, 1.0, 2.0], "b": [np.nan, np.nan, 3.0]}

    status = book.finish(values)

    assert list(status["status"]) == ["empty", "partial", "ok"]
    assert [json.loads(text) for text in status["null_reasons_json"]] == [
        {"a": "first", "b": "first"},
        {"b": "why_b"},
        {},
    ]
    assert status["null_reasons_json"].iloc[0] == '{"a":"first","b":"first"}'
    with pytest.raises(ValueError, match="2024-01-04: NULL without a reason in a, b"):
        book.finish({"a": [np.nan, 1.0, np.nan], "b": [np.nan, np.nan, np.nan]})
