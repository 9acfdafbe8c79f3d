"""Trailing windows of calendar sessions over a ticker's daily bars, and bar validation.

A metric row for session ``d`` that needs ``n`` bars reads the ``n`` calendar sessions ending
at ``d``. Every one of them must have a bar: a missing bar, or fewer sessions of history than
``n``, makes the metric NULL with the reason ``insufficient_history`` (METHODOLOGY: missing
inputs are explicit, never bridged silently). Because the window is defined by sessions and
not by whatever was loaded, the same row comes out whether it is computed alone (a nightly
batch) or among a year of rows (an event or a backfill).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import pandas as pd

BAR_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume")

INSUFFICIENT_HISTORY = "insufficient_history"
NO_BAR = "no_bar_for_session"
INVALID_BAR = "invalid_bar"


def insufficient_history(present: int, size: int) -> str:
    """Return the reason of a window of `size` sessions of which only `present` have bars."""
    return f"{INSUFFICIENT_HISTORY}: {present} of {size} sessions have bars"


def invalid_bar_reasons(bars: pd.DataFrame) -> list[str | None]:
    """Return, per bar, why it cannot be used (None when it is valid).

    A bar is invalid when a price is not a finite positive number, when ``high`` is below
    ``low``, ``open`` or ``close``, when ``low`` is above ``open`` or ``close``, or when the
    volume is negative or not finite.
    """
    prices = bars.loc[:, ["open", "high", "low", "close"]].to_numpy(dtype=np.float64)
    volume = bars["volume"].to_numpy(dtype=np.float64)
    open_, high, low, close = prices.T
    with np.errstate(invalid="ignore"):
        checks = (
            (~(np.isfinite(prices).all(axis=1) & (prices > 0).all(axis=1)), "price not > 0"),
            (high < np.maximum(np.maximum(open_, close), low), "high below open/close/low"),
            (low > np.minimum(open_, close), "low above open/close"),
            (~(np.isfinite(volume) & (volume >= 0)), "volume not >= 0"),
        )
    reasons: list[str | None] = [None] * len(bars)
    for failed, text in checks:
        for index in np.flatnonzero(failed):
            if reasons[index] is None:
                reasons[index] = text
    return reasons


@dataclass(frozen=True, slots=True)
class Windows:
    """Trailing windows of one size ending at many sessions (see `SessionBars.windows`).

    Attributes:
        bar: Index of the bar of each end session, -1 when that session has no bar.
        present: How many sessions of each window have a bar.
        complete: The window lies within the sessions and every one of them has a bar.
        start: First bar index of each complete window (0 where not complete).
        end: One past the last bar index of each complete window (0 where not complete).
        invalid: The window is complete and holds an invalid bar.
    """

    bar: npt.NDArray[np.int64]
    present: npt.NDArray[np.int64]
    complete: npt.NDArray[np.bool_]
    start: npt.NDArray[np.int64]
    end: npt.NDArray[np.int64]
    invalid: npt.NDArray[np.bool_]


class SessionBars:
    """Daily bars placed on a calendar's sessions, with trailing-window lookups.

    Args:
        bars: Bars with ``session_date`` and `BAR_COLUMNS` (any order; bars dated on a
            non-session are ignored and listed in `off_calendar`).
        sessions: Calendar sessions, ascending, covering the bars of interest.
    """

    def __init__(self, bars: pd.DataFrame, sessions: Sequence[date]) -> None:
        self.sessions = tuple(sessions)
        self._position = {day: index for index, day in enumerate(self.sessions)}
        ordered = bars.sort_values("session_date", kind="stable") if len(bars) else bars
        dates = list(ordered["session_date"]) if len(ordered) else []
        on_calendar = np.array([day in self._position for day in dates], dtype=bool)
        self.off_calendar = tuple(day for day, ok in zip(dates, on_calendar, strict=True) if not ok)
        kept = ordered.loc[on_calendar] if len(ordered) else ordered
        self.dates: tuple[date, ...] = tuple(kept["session_date"]) if len(kept) else ()
        self.values: dict[str, npt.NDArray[np.float64]] = {
            name: (kept[name].to_numpy(dtype=np.float64).copy() if len(kept) else np.empty(0))
            for name in BAR_COLUMNS
        }
        bar_session = np.array([self._position[day] for day in self.dates], dtype=np.int64)
        self._bar_of_session = np.full(len(self.sessions), -1, dtype=np.int64)
        self._bar_of_session[bar_session] = np.arange(bar_session.size)
        present = np.zeros(len(self.sessions), dtype=np.int64)
        present[bar_session] = 1
        self._present = np.concatenate([[0], np.cumsum(present)])
        invalid = invalid_bar_reasons(kept) if len(kept) else []
        self._invalid_reasons = invalid
        flags = np.array([reason is not None for reason in invalid], dtype=np.int64)
        self._invalid = np.concatenate([[0], np.cumsum(flags)])

    def bar_index(self, day: date) -> int | None:
        """Return the index of the bar of session `day`, or None when it has none."""
        position = self._position.get(day)
        if position is None:
            return None
        index = int(self._bar_of_session[position])
        return index if index >= 0 else None

    def present(self, day: date, size: int) -> int:
        """Return how many of the `size` sessions ending at `day` have a bar."""
        position = self._position[day]
        first = max(position - size + 1, 0)
        return int(self._present[position + 1] - self._present[first])

    def window(self, day: date, size: int) -> tuple[int, int] | str:
        """Return bar indices ``[start, end)`` of the `size` sessions ending at `day`.

        Returns:
            The bounds when every session of the window has a bar, else the reason text
            (``insufficient_history: k of n sessions have bars``).
        """
        position = self._position[day]
        first = position - size + 1
        present = self.present(day, size)
        if first < 0 or present < size:
            return insufficient_history(present, size)
        return int(self._bar_of_session[first]), int(self._bar_of_session[position]) + 1

    def windows(self, days: Sequence[date], size: int) -> Windows:
        """Return the `size`-session windows ending at each of `days` (all sessions), at once.

        Row for row the same as `bar_index`, `present`, `window` and `first_invalid`: a window
        is complete exactly when `window` returns bounds, which are then ``[start, end)``.
        """
        positions = np.array([self._position[day] for day in days], dtype=np.int64)
        first = positions - size + 1
        present = self._present[positions + 1] - self._present[np.maximum(first, 0)]
        complete = (first >= 0) & (present == size)
        bar = self._bar_of_session[positions]
        start = np.where(complete, self._bar_of_session[np.maximum(first, 0)], 0)
        end = np.where(complete, bar + 1, 0)
        invalid = complete & (self._invalid[end] > self._invalid[start])
        return Windows(bar, present, complete, start, end, invalid)

    def first_invalid(self, start: int, end: int) -> str | None:
        """Return the reason of the first invalid bar in ``[start, end)``, or None."""
        if self._invalid[end] - self._invalid[start] == 0:
            return None
        for index in range(start, end):
            reason = self._invalid_reasons[index]
            if reason is not None:
                return f"{INVALID_BAR}: {self.dates[index]} {reason}"
        return None  # pragma: no cover - the counts above say there is one
