"""Session arithmetic for run planning: ranges and lookbacks on a ticker's calendar.

XNYS sessions come from `domain.calendar.exchange_calendar` (a fixed 1990-2035 range, so no
answer depends on today); the 24/7 calendar has a session every UTC day.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

import numpy as np
import numpy.typing as npt

from optionscope.domain.calendar import CALENDAR_FIRST_SESSION, exchange_calendar
from optionscope.domain.instruments import CRYPTO_CALENDAR

DayArray = npt.NDArray[np.datetime64]


@cache
def _exchange_sessions(calendar: str) -> DayArray:
    sessions = exchange_calendar(calendar).sessions
    return np.asarray(sessions.values.astype("datetime64[D]"))


def _to_day(value: np.datetime64) -> date:
    return date.fromisoformat(str(value.astype("datetime64[D]")))


def sessions_between(start: date, end: date, calendar: str) -> list[date]:
    """Return the sessions of `calendar` in ``[start, end]``, ascending."""
    if end < start:
        return []
    if calendar == CRYPTO_CALENDAR:
        return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]
    days = _exchange_sessions(calendar)
    low = int(np.searchsorted(days, np.datetime64(start, "D"), side="left"))
    high = int(np.searchsorted(days, np.datetime64(end, "D"), side="right"))
    return [_to_day(day) for day in days[low:high]]


def sessions_ending(end: date, count: int, calendar: str) -> list[date]:
    """Return up to `count` sessions ending at `end` (inclusive when it is a session)."""
    if count <= 0:
        return []
    if calendar == CRYPTO_CALENDAR:
        return [end - timedelta(days=offset) for offset in range(count - 1, -1, -1)]
    days = _exchange_sessions(calendar)
    high = int(np.searchsorted(days, np.datetime64(end, "D"), side="right"))
    return [_to_day(day) for day in days[max(high - count, 0) : high]]


def session_before(day: date, count: int, calendar: str) -> date:
    """Return the session `count` sessions before `day` (the calendar's first if fewer)."""
    if calendar == CRYPTO_CALENDAR:
        return day - timedelta(days=count)
    days = _exchange_sessions(calendar)
    position = int(np.searchsorted(days, np.datetime64(day, "D"), side="left"))
    return _to_day(days[max(position - count, 0)]) if days.size else CALENDAR_FIRST_SESSION


def is_session(day: date, calendar: str) -> bool:
    """Return True when `day` is a session of `calendar` (False outside the XNYS range)."""
    if calendar == CRYPTO_CALENDAR:
        return True
    days = _exchange_sessions(calendar)
    position = int(np.searchsorted(days, np.datetime64(day, "D"), side="left"))
    return position < days.size and days[position] == np.datetime64(day, "D")
