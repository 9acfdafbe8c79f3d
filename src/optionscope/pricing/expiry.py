"""Time to expiry in years of 365 days from timezone-aware instants and settlement times.

Convention (METHODOLOGY §0.1, the VIX convention of minutes/525,600)::

    T = (t_settle - t_now)/(365·86,400 s),   floored at T_min

where ``t_settle`` is the instant the option's settlement value is fixed, as
``optionscope.domain.calendar.settlement_instant`` gives it (AM-settled index monthlies at
09:30 America/New_York, PM-settled options at the XNYS close, Deribit at 08:00 UTC) and
``optionscope.domain.instruments.settlement_type_of_root`` chooses it for a root.

``T_min`` (default ``T_MIN_YEARS`` = 5 minutes) keeps 0DTE greeks finite so that 0DTE
contracts still count in aggregates. Use ``year_fraction`` for the signed, unfloored value
(negative once an option has expired).

Instants are ``datetime`` objects that carry a timezone (including ``pandas.Timestamp``), or
NumPy ``datetime64`` values, which have no timezone and are read as UTC. A naive ``datetime``
raises ``ValueError``: guessing its zone would silently shift T by hours.
"""

import datetime as dt
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from optionscope.pricing._arrays import FloatArray

__all__ = [
    "SECONDS_PER_YEAR",
    "T_MIN_YEARS",
    "time_to_expiry",
    "year_fraction",
]

SECONDS_PER_YEAR = 365 * 86_400
T_MIN_YEARS = 5 * 60 / SECONDS_PER_YEAR

Instant = dt.datetime | np.datetime64
InstantInput = Instant | Iterable[Instant] | npt.NDArray[Any]


def _to_utc_datetime64(value: InstantInput) -> npt.NDArray[np.datetime64]:
    """Return instants as ``datetime64[ns]`` in UTC; refuse naive ``datetime`` objects."""
    if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.datetime64):
        return value.astype("datetime64[ns]")
    if isinstance(value, np.datetime64):
        return np.asarray(value).astype("datetime64[ns]")
    if isinstance(value, dt.datetime):
        return np.asarray(_datetime_to_datetime64(value))
    items = np.asarray(value, dtype=object)
    out = np.empty(items.shape, dtype="datetime64[ns]")
    for index, item in np.ndenumerate(items):
        out[index] = (
            _datetime_to_datetime64(item)
            if isinstance(item, dt.datetime)
            else np.datetime64(item, "ns")
        )
    return out


def _datetime_to_datetime64(value: dt.datetime) -> np.datetime64:
    if value.tzinfo is None or value.utcoffset() is None:
        msg = f"naive datetime {value!r}: pass a timezone-aware instant"
        raise ValueError(msg)
    utc = value.astimezone(dt.UTC).replace(tzinfo=None)
    return np.datetime64(utc, "ns")


def year_fraction(*, start: InstantInput, end: InstantInput) -> FloatArray:
    """Return ``(end - start)`` in years of 365 days, signed, NaN where an instant is NaT.

    Args:
        start: Start instants (e.g. the quote time), timezone-aware or datetime64 in UTC.
        end: End instants (e.g. the settlement instant); broadcast against ``start``.

    Returns:
        Float64 years; negative when ``end`` precedes ``start``.

    Examples:
        >>> from optionscope.domain.calendar import NEW_YORK, settlement_instant
        >>> now = dt.datetime(2023, 9, 14, 16, 31, tzinfo=NEW_YORK)
        >>> end = settlement_instant(dt.date(2023, 9, 15), "AM")
        >>> round(float(year_fraction(start=now, end=end)) * 525_600, 6)
        1019.0
    """
    start_ns = _to_utc_datetime64(start)
    end_ns = _to_utc_datetime64(end)
    delta = end_ns - start_ns
    seconds = delta.astype("timedelta64[ns]").astype(np.int64).astype(np.float64) / 1e9
    return np.where(np.isnat(delta), np.nan, seconds / SECONDS_PER_YEAR)


def time_to_expiry(
    *, now: InstantInput, expiry: InstantInput, t_min_years: float = T_MIN_YEARS
) -> FloatArray:
    """Return the time to expiry in years of 365 days, floored at ``t_min_years``.

    Args:
        now: Valuation instants (quote or snapshot time).
        expiry: Settlement instants (``optionscope.domain.calendar.settlement_instant``),
            broadcast against ``now``.
        t_min_years: Floor applied to every finite value, default 5 minutes.

    Returns:
        Float64 years ``max((expiry - now)/365 days, t_min_years)``; NaN where an instant is
        NaT. Expired contracts get the floor; check ``year_fraction`` to drop them.

    Examples:
        A 0DTE SPXW call at 15:55 ET is 5 minutes from its 16:00 settlement; at 15:59 it is
        floored:

        >>> from optionscope.domain.calendar import NEW_YORK, settlement_instant
        >>> close = settlement_instant(dt.date(2024, 3, 15), "PM")
        >>> at = [dt.datetime(2024, 3, 15, 15, m, tzinfo=NEW_YORK) for m in (55, 59)]
        >>> np.round(time_to_expiry(now=at, expiry=close) * 525_600, 6)
        array([5., 5.])
    """
    return np.maximum(year_fraction(start=now, end=expiry), t_min_years)  # NaN propagates
