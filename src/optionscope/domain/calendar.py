"""Trading calendars: sessions, the session an instant reflects, settlement instants.

Two calendars exist: ``XNYS`` (NYSE sessions from `exchange_calendars`, built lazily once per
process over a fixed range so nothing depends on the wall clock) and ``24/7`` (crypto: every
UTC date is a session).

Rules, decided once:

* `session_date_of(instant)` is the session whose quotes, volumes and open interest an
  instant reflects. XNYS: the local (America/New_York) date if it is a session and the
  instant is at or after its 09:30 open; otherwise the previous session (a 09:24 pre-open
  snapshot reflects yesterday; a Saturday or Labor Day snapshot reflects the last session).
  24/7: the UTC date.
* `bar_session_of(instant)` is the session a one-minute bar belongs to: the local date
  (pre- and post-market bars belong to that day's session), which must be a session.
* Settlement instants: AM-settled roots at 09:30 America/New_York on the expiry date, PM at
  the session close (16:00, or 13:00 on a half day), Deribit (FIXED) at 08:00 UTC.
"""

from __future__ import annotations

import warnings
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from pandas.errors import Pandas4Warning

from optionscope.domain.instruments import (
    CRYPTO_CALENDAR,
    XNYS,
    SettlementType,
    settlement_type_of_root,
)

if TYPE_CHECKING:
    from exchange_calendars import ExchangeCalendar

NEW_YORK = ZoneInfo("America/New_York")
"""Time zone of US listed markets."""

CALENDAR_FIRST_SESSION = date(1990, 1, 2)
"""First date the XNYS calendar covers (fixed so results never depend on today)."""

CALENDAR_LAST_DATE = date(2035, 12, 31)
"""Last date the XNYS calendar covers."""

REGULAR_OPEN = time(9, 30)
"""XNYS regular-session open, local time."""

REGULAR_CLOSE = time(16, 0)
"""XNYS regular-session close on a full day, local time."""

AM_SETTLEMENT_TIME = time(9, 30)
"""Local time the opening settlement value of AM-settled index options is fixed."""

DERIBIT_SETTLEMENT_TIME = time(8, 0)
"""UTC time Deribit options expire and settle."""


class CalendarRangeError(ValueError):
    """A date lies outside the range the XNYS calendar is built for."""


@cache
def exchange_calendar(name: str = XNYS) -> ExchangeCalendar:
    """Return the named exchange calendar, built on first use over a fixed date range.

    Args:
        name: Exchange calendar code; only XNYS is used by optionscope.
    """
    import exchange_calendars  # imported here: it costs ~0.4 s and most callers never need it

    with warnings.catch_warnings():
        # exchange_calendars 4.x calls pandas APIs pandas 3.1 deprecates (Pandas4Warning).
        warnings.simplefilter("ignore", category=Pandas4Warning)
        warnings.simplefilter("ignore", category=FutureWarning)
        warnings.simplefilter("ignore", category=DeprecationWarning)
        return exchange_calendars.get_calendar(
            name, start=CALENDAR_FIRST_SESSION.isoformat(), end=CALENDAR_LAST_DATE.isoformat()
        )


@cache
def _sessions(name: str) -> pd.DatetimeIndex:
    sessions: pd.DatetimeIndex = exchange_calendar(name).sessions
    return sessions


@cache
def _early_closes(name: str) -> dict[date, time]:
    calendar = exchange_calendar(name)
    closes = calendar.schedule["close"].dt.tz_convert(NEW_YORK)
    local = pd.Series(closes.dt.time.to_numpy(), index=closes.index.date)
    early = local[local != REGULAR_CLOSE]
    return {day: value for day, value in early.items() if isinstance(day, date)}


def _check_range(day: date) -> None:
    if not CALENDAR_FIRST_SESSION <= day <= CALENDAR_LAST_DATE:
        raise CalendarRangeError(
            f"{day} is outside the XNYS calendar range "
            f"{CALENDAR_FIRST_SESSION}..{CALENDAR_LAST_DATE}"
        )


def _to_utc(instant: datetime) -> pd.Timestamp:
    stamp = pd.Timestamp(instant)
    if stamp.tzinfo is None:
        raise ValueError(f"instant {instant!r} is naive; pass a timezone-aware datetime")
    return stamp.tz_convert("UTC")


def is_session(day: date, calendar: str = XNYS) -> bool:
    """Return True if `day` is a trading session of `calendar`.

    Raises:
        CalendarRangeError: XNYS and `day` is outside the calendar's range.
    """
    if calendar == CRYPTO_CALENDAR:
        return True
    _check_range(day)
    return pd.Timestamp(day) in _sessions(calendar)


def session_mask(days: pd.Series, calendar: str = XNYS) -> np.ndarray:
    """Return, for each date (datetime.date or naive timestamp), whether it is a session.

    Dates outside the XNYS calendar range are reported as not sessions.
    """
    if calendar == CRYPTO_CALENDAR:
        return np.ones(len(days), dtype=bool)
    stamps = pd.to_datetime(days, errors="coerce")
    return stamps.isin(_sessions(calendar)).to_numpy(dtype=bool)


def previous_session(day: date, calendar: str = XNYS) -> date:
    """Return the last session strictly before `day`."""
    if calendar == CRYPTO_CALENDAR:
        return day - timedelta(days=1)
    _check_range(day)
    sessions = _sessions(calendar)
    position = int(sessions.searchsorted(pd.Timestamp(day), side="left")) - 1
    if position < 0:
        raise CalendarRangeError(f"no XNYS session before {day}")
    return sessions[position].date()


def trading_sessions(start: date, count: int, calendar: str = XNYS) -> list[date]:
    """Return `count` consecutive sessions, the first on `start` or the next session after it.

    Args:
        start: First candidate date.
        count: Number of sessions (>= 0).
        calendar: XNYS or 24/7.
    """
    if calendar == CRYPTO_CALENDAR:
        return [start + timedelta(days=offset) for offset in range(count)]
    _check_range(start)
    sessions = _sessions(calendar)
    first = int(sessions.searchsorted(pd.Timestamp(start), side="left"))
    chosen = sessions[first : first + count]
    if len(chosen) < count:
        raise CalendarRangeError(f"{count} sessions from {start} run past {CALENDAR_LAST_DATE}")
    return [stamp.date() for stamp in chosen]


def session_date_of(instant: datetime, calendar: str = XNYS) -> date:
    """Return the session whose quotes an instant reflects.

    XNYS: the local date when it is a session and the instant is at or after 09:30
    America/New_York; otherwise the previous session. 24/7: the UTC date.

    >>> session_date_of(datetime(2025, 9, 1, 22, 50, tzinfo=ZoneInfo("UTC")))  # Labor Day
    datetime.date(2025, 8, 29)

    Args:
        instant: Timezone-aware instant.
        calendar: XNYS or 24/7.

    Raises:
        ValueError: `instant` is naive.
        CalendarRangeError: The date is outside the XNYS calendar range.
    """
    stamp = _to_utc(instant)
    if calendar == CRYPTO_CALENDAR:
        return stamp.date()
    local = stamp.tz_convert(NEW_YORK)
    day = local.date()
    if is_session(day, calendar) and local.time() >= REGULAR_OPEN:
        return day
    return previous_session(day, calendar)


def bar_sessions_of(instants: pd.Series, calendar: str = XNYS) -> pd.DataFrame:
    """Return the session and regular-hours flag of one-minute bars (vectorised).

    A bar belongs to the session of its local date (pre-market 04:00 and post-market 19:59
    bars included); it is regular when it starts at or after 09:30 and before the session
    close (16:00, 13:00 on half days). For 24/7 every bar is regular, dated in UTC.

    Args:
        instants: Bar start instants, tz-aware.
        calendar: XNYS or 24/7.

    Returns:
        A frame on the same index: `session_date` (datetime.date), `is_session_day` (bool:
        False when the local date is not a session) and `is_regular_session` (bool).

    Raises:
        CalendarRangeError: A date is outside the XNYS calendar range.
    """
    utc = pd.to_datetime(instants, utc=True)
    if calendar == CRYPTO_CALENDAR:
        days = pd.Series(utc.dt.date.to_numpy(), index=instants.index, dtype=object)
        ones = np.ones(len(instants), dtype=bool)
        return pd.DataFrame(
            {"session_date": days, "is_session_day": ones, "is_regular_session": ones},
            index=instants.index,
        )
    local = utc.dt.tz_convert(NEW_YORK)
    normalized = local.dt.tz_localize(None).dt.normalize()
    if len(normalized):
        _check_range(normalized.min().date())
        _check_range(normalized.max().date())
    sessions = _sessions(calendar)
    on_session = normalized.isin(sessions).to_numpy()
    minutes = (local.dt.hour * 60 + local.dt.minute).to_numpy()
    early = _early_closes(calendar)
    days = pd.Series(normalized.dt.date.to_numpy(), index=instants.index, dtype=object)
    close_by_day = {day: early[day].hour * 60 + early[day].minute for day in early}
    close_minutes = days.map(close_by_day).fillna(16 * 60).to_numpy(dtype=float)
    regular = on_session & (minutes >= 9 * 60 + 30) & (minutes < close_minutes)
    return pd.DataFrame(
        {
            "session_date": days,
            "is_session_day": on_session,
            "is_regular_session": regular,
        },
        index=instants.index,
    )


def settlement_instant(
    expiry: date, settlement_type: SettlementType | str = SettlementType.PM
) -> pd.Timestamp:
    """Return the instant (UTC) an option's settlement value is fixed.

    AM: 09:30 America/New_York on the expiry date. PM: the XNYS close of the expiry date
    (16:00, or the early close of a half day; 16:00 outside the calendar's range or on a
    non-session date). FIXED: 08:00 UTC (Deribit).

    >>> settlement_instant(date(2023, 9, 15), "AM")
    Timestamp('2023-09-15 13:30:00+0000', tz='UTC')

    Args:
        expiry: Expiration date.
        settlement_type: AM, PM or FIXED.
    """
    kind = SettlementType(settlement_type)
    if kind is SettlementType.FIXED:
        return pd.Timestamp(datetime.combine(expiry, DERIBIT_SETTLEMENT_TIME), tz="UTC")
    if kind is SettlementType.AM:
        local_time = AM_SETTLEMENT_TIME
    else:
        local_time = REGULAR_CLOSE
        if CALENDAR_FIRST_SESSION <= expiry <= CALENDAR_LAST_DATE:
            local_time = _early_closes(XNYS).get(expiry, REGULAR_CLOSE)
    local = datetime.combine(expiry, local_time, tzinfo=NEW_YORK)
    return pd.Timestamp(local).tz_convert("UTC")


def settlement_instants(roots: pd.Series, expiries: pd.Series) -> pd.DataFrame:
    """Return settlement type and instant per (root, expiry) pair (vectorised by unique pair).

    Args:
        roots: Option roots (SPX, SPXW, AAPL, BTC).
        expiries: Expiration dates (datetime.date), aligned with `roots`.

    Returns:
        A frame on the same index with `settlement_type` (str) and `settlement_time`
        (datetime64[us, UTC]).
    """
    pairs = pd.DataFrame({"root": roots.to_numpy(), "expiry": expiries.to_numpy()})
    unique = pairs.drop_duplicates()
    kinds = [settlement_type_of_root(str(root)) for root in unique["root"]]
    instants = [
        settlement_instant(expiry, kind)
        for expiry, kind in zip(unique["expiry"], kinds, strict=True)
    ]
    lookup = unique.assign(
        settlement_type=[str(kind) for kind in kinds],
        settlement_time=pd.DatetimeIndex(instants).as_unit("us"),
    )
    merged = pairs.merge(lookup, on=["root", "expiry"], how="left")
    merged.index = roots.index
    return merged.loc[:, ["settlement_type", "settlement_time"]]
