"""Technical indicators equal TA-Lib (the oracle) on real daily files and generated bars.

Tolerance: |ours - TA-Lib| <= 1e-9 * max(1, |TA-Lib|) wherever TA-Lib has a value, and NaN
exactly where TA-Lib has NaN (so the warm-up lengths agree too). The relative part only
matters for OBV, whose values reach 1e10 shares.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import talib
from hypothesis import given, settings
from hypothesis import strategies as st

from optionscope.metrics import technical
from optionscope.metrics.kernels import technical_window_last
from optionscope.sources.files import read_file

TOLERANCE = 1e-9
DAILY_FILES = [
    *(
        f"daily_ohlcv/{name}"
        for name in (
            "alphavantage_DIA_daily_unadjusted.csv",
            "alphavantage_IWM_daily_unadjusted.csv",
            "alphavantage_QQQ_daily_unadjusted.csv",
            "alphavantage_SPY_daily_unadjusted.csv",
            "alphavantage_TLT_daily_unadjusted.csv",
            "yf_adjusted_AAPL_daily_2021-01-11_2026-01-08.csv",
            "yf_adjusted_IWM_daily_2019-01-02_2025-07-09.csv",
            "yf_adjusted_QQQ_daily_2021-01-11_2026-01-08.csv",
            "yf_adjusted_SPY_daily_2021-01-11_2026-01-08.csv",
        )
    ),
    "lumibot/SPY_daily_2019.csv",
]

Arrays = dict[str, np.ndarray]


def assert_matches(ours: np.ndarray, oracle: np.ndarray, name: str) -> None:
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(oracle), err_msg=f"{name} NaN mask")
    valid = ~np.isnan(oracle)
    if valid.any():
        error = np.abs(ours[valid] - oracle[valid]) / np.maximum(1.0, np.abs(oracle[valid]))
        assert error.max() <= TOLERANCE, f"{name}: max scaled error {error.max():.3e}"


def compare_all(bars: Arrays, periods: dict[str, int] | None = None) -> None:
    p = {"rsi": 14, "fast": 12, "slow": 26, "signal": 9, "adx": 14, "atr": 14} | (periods or {})
    h, lo, c, v = bars["high"], bars["low"], bars["close"], bars["volume"]
    assert_matches(technical.rsi(c, p["rsi"]), talib.RSI(c, p["rsi"]), "RSI")
    ours_macd = technical.macd(c, p["fast"], p["slow"], p["signal"])
    oracle_macd = talib.MACD(c, p["fast"], p["slow"], p["signal"])
    for name, ours, oracle in zip(("MACD", "signal", "hist"), ours_macd, oracle_macd, strict=True):
        assert_matches(ours, oracle, name)
    assert_matches(technical.adx(h, lo, c, p["adx"]), talib.ADX(h, lo, c, p["adx"]), "ADX")
    assert_matches(technical.plus_di(h, lo, c, p["adx"]), talib.PLUS_DI(h, lo, c, p["adx"]), "+DI")
    assert_matches(
        technical.minus_di(h, lo, c, p["adx"]), talib.MINUS_DI(h, lo, c, p["adx"]), "-DI"
    )
    assert_matches(technical.atr(h, lo, c, p["atr"]), talib.ATR(h, lo, c, p["atr"]), "ATR")
    assert_matches(technical.obv(c, v), talib.OBV(c, v), "OBV")


def arrays(frame: pd.DataFrame) -> Arrays:
    return {
        name: frame[name].to_numpy(dtype=np.float64, copy=True)
        for name in ("open", "high", "low", "close", "volume")
    }


@pytest.mark.shared_data
@pytest.mark.parametrize("relative_path", DAILY_FILES)
def test_indicators_equal_talib_on_real_daily_files(shared_data: Path, relative_path: str) -> None:
    bars = read_file(shared_data / relative_path).tables["ohlcv_daily"]
    bars = bars.sort_values("session_date", ignore_index=True)
    assert len(bars) >= 250

    compare_all(arrays(bars))


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_indicators_equal_talib_on_generated_bars(
    make_bars: Callable[..., pd.DataFrame], data: st.DataObject
) -> None:
    bars = make_bars(
        data.draw(st.integers(1, 160), label="bars"),
        data.draw(st.integers(0, 2**32 - 1), label="seed"),
        data.draw(st.sampled_from(["walk", "flat", "steps", "gaps", "zero_volume"]), label="style"),
    )
    periods = {
        "rsi": data.draw(st.integers(2, 30), label="rsi"),
        "fast": data.draw(st.integers(2, 20), label="fast"),
        "slow": data.draw(st.integers(2, 40), label="slow"),
        "signal": data.draw(st.integers(1, 12), label="signal"),
        "adx": data.draw(st.integers(2, 20), label="adx"),
        "atr": data.draw(st.integers(1, 20), label="atr"),
    }

    compare_all(arrays(bars), periods)


def test_flat_prices_follow_talib_zero_conventions(make_bars: Callable[..., pd.DataFrame]) -> None:
    bars = arrays(make_bars(80, seed=3, style="flat"))

    rsi = technical.rsi(bars["close"])
    plus = technical.plus_di(bars["high"], bars["low"], bars["close"])

    assert np.all(rsi[14:] == 0.0)  # TA-Lib: gain + loss below 1e-8 counts as zero -> 0
    assert np.all(plus[14:] == 0.0)  # no true range -> DI 0, not NaN
    compare_all(bars)


def test_leading_nans_are_skipped_as_ta_lib_python_does(
    make_bars: Callable[..., pd.DataFrame],
) -> None:
    bars = arrays(make_bars(120, seed=5))
    for values in bars.values():
        values[:7] = np.nan

    compare_all(bars)
    assert np.isnan(technical.rsi(bars["close"])[: 7 + 14]).all()
    assert not np.isnan(technical.rsi(bars["close"])[7 + 14])


def test_first_values_sit_at_the_methodology_warm_up_indices(
    make_bars: Callable[..., pd.DataFrame],
) -> None:
    bars = arrays(make_bars(100, seed=1))
    h, lo, c = bars["high"], bars["low"], bars["close"]

    first = {
        "rsi": int(np.flatnonzero(~np.isnan(technical.rsi(c)))[0]),
        "atr": int(np.flatnonzero(~np.isnan(technical.atr(h, lo, c)))[0]),
        "adx": int(np.flatnonzero(~np.isnan(technical.adx(h, lo, c)))[0]),
        "macd": int(np.flatnonzero(~np.isnan(technical.macd(c)[0]))[0]),
    }

    assert first == {"rsi": 14, "atr": 14, "adx": 27, "macd": 33}  # METHODOLOGY §9


def test_panel_rows_equal_the_one_dimensional_functions_bit_for_bit(
    make_bars: Callable[..., pd.DataFrame],
) -> None:
    frames = [
        arrays(make_bars(300, seed=seed, style=style))
        for seed, style in enumerate(["walk", "gaps", "steps", "zero_volume"])
    ]
    panel = technical.compute_indicators(
        *(np.stack([f[name] for f in frames]) for name in ("high", "low", "close", "volume"))
    )
    for row, f in enumerate(frames):
        h, lo, c, v = f["high"], f["low"], f["close"], f["volume"]
        line, signal, histogram = technical.macd(c)
        expected = {
            "rsi": technical.rsi(c),
            "macd": line,
            "macd_signal": signal,
            "macd_histogram": histogram,
            "adx": technical.adx(h, lo, c),
            "plus_di": technical.plus_di(h, lo, c),
            "minus_di": technical.minus_di(h, lo, c),
            "atr": technical.atr(h, lo, c),
            "obv": technical.obv(c, v),
        }
        for name, values in expected.items():
            np.testing.assert_array_equal(getattr(panel, name)[row], values, err_msg=name)


def test_window_kernel_gives_talib_last_value_of_each_window(
    make_bars: Callable[..., pd.DataFrame],
) -> None:
    bars = arrays(make_bars(400, seed=9, style="gaps"))
    ends = np.array([120, 252, 399, 400], dtype=np.int64)
    starts = ends - 100
    periods = np.array([14, 12, 26, 9, 14, 14], dtype=np.int64)

    got = technical_window_last(
        bars["high"], bars["low"], bars["close"], bars["volume"], starts, ends, periods
    )

    for w, (start, end) in enumerate(zip(starts, ends, strict=True)):
        h, lo, c, v = (bars[n][start:end] for n in ("high", "low", "close", "volume"))
        oracle = [
            talib.RSI(c, 14),
            *talib.MACD(c, 12, 26, 9),
            talib.ADX(h, lo, c, 14),
            talib.PLUS_DI(h, lo, c, 14),
            talib.MINUS_DI(h, lo, c, 14),
            talib.ATR(h, lo, c, 14),
            talib.OBV(c, v),
        ]
        for column, series in enumerate(oracle):
            assert abs(got[w, column] - series[-1]) <= TOLERANCE * max(1.0, abs(series[-1]))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: technical.rsi([1.0, 2.0], 1), "period must be an integer >= 2"),
        (lambda: technical.macd([1.0, 2.0], 12, 26, 0), "signal must be an integer >= 1"),
        (lambda: technical.atr([1.0], [1.0, 2.0], [1.0]), "same length"),
        (lambda: technical.rsi([[1.0, 2.0]]), "1-D series"),
    ],
)
def test_bad_arguments_are_refused(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
