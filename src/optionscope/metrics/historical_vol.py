"""Historical (realized) volatility estimators on daily bars, annualized (METHODOLOGY §2.1-2.2).

Each function returns a series aligned with its inputs: the value at bar ``t`` uses bars up to
and including ``t`` and is NaN until its window fills. Every value is computed from its own
window (two-pass sums, no running update), so it does not depend on where the series starts.
With ``n`` the window in bars, ``P`` the periods per year (252 sessions for exchange-traded
underlyings, 365 for 24/7 crypto) and natural logs:

* close-to-close: ``r_t = ln(C_t/C_t-1)``, ``sigma = sqrt(P/(n - 1)·sum (r_t - mean r)^2)``
  over the last ``n`` returns (``n + 1`` closes);
* Parkinson (1980): ``sigma^2 = P/n·sum (ln H/L)^2/(4 ln 2)``;
* Garman-Klass (1980): ``sigma^2 = P/n·sum [0.5 (ln H/L)^2 - (2 ln 2 - 1)(ln C/O)^2]``;
* Rogers-Satchell (1991): ``sigma^2 = P/n·sum [ln(H/C) ln(H/O) + ln(L/C) ln(L/O)]``;
* Yang-Zhang (2000, J. Business 73(3) 477-491, as in the paper): overnight
  ``o_t = ln(O_t/C_t-1)`` and open-to-close ``c_t = ln(C_t/O_t)`` sample variances
  (demeaned, ``n - 1``), ``sigma^2 = P·(var(o) + k·var(c) + (1 - k)·mean RS)`` with
  ``k = 0.34/(1.34 + (n + 1)/(n - 1))`` (n bars and the close before them).

Not the volest variant, which uses close-to-close returns for the k term and undemeaned sums.

>>> round(yang_zhang_k(20), 6), round(yang_zhang_k(30), 6), round(yang_zhang_k(60), 6)
(0.139044, 0.141139, 0.143224)
"""

from __future__ import annotations

import math
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from optionscope.metrics.kernels import FloatArray, compiled

TRADING_SESSIONS_PER_YEAR = 252
"""Annualization of exchange-traded underlyings (sessions per year)."""

CALENDAR_DAYS_PER_YEAR = 365
"""Annualization of 24/7 underlyings (crypto)."""

_FOUR_LN2 = 4.0 * math.log(2.0)
_GK_CLOSE_WEIGHT = 2.0 * math.log(2.0) - 1.0

__all__ = [
    "CALENDAR_DAYS_PER_YEAR",
    "TRADING_SESSIONS_PER_YEAR",
    "Estimator",
    "bars_needed",
    "close_to_close_vol",
    "garman_klass_vol",
    "parkinson_vol",
    "rogers_satchell_vol",
    "rolling_vol",
    "yang_zhang_k",
    "yang_zhang_vol",
]


class Estimator(IntEnum):
    """Historical volatility estimators (codes the compiled kernel switches on)."""

    CLOSE_TO_CLOSE = 0
    PARKINSON = 1
    GARMAN_KLASS = 2
    ROGERS_SATCHELL = 3
    YANG_ZHANG = 4


def bars_needed(estimator: Estimator, window: int) -> int:
    """Return the bars a value needs: ``window + 1`` when it uses the previous close."""
    uses_previous_close = estimator in (Estimator.CLOSE_TO_CLOSE, Estimator.YANG_ZHANG)
    return window + 1 if uses_previous_close else window


def yang_zhang_k(window: int) -> float:
    """Return Yang-Zhang's weight ``k = 0.34/(1.34 + (n + 1)/(n - 1))`` for ``n`` bars."""
    return 0.34 / (1.34 + (window + 1) / (window - 1))


@compiled
def _sample_variance(values: FloatArray) -> float:
    count = values.shape[0]
    mean = 0.0
    for value in values:
        mean += value
    mean /= count
    total = 0.0
    for value in values:
        total += (value - mean) * (value - mean)
    return float(total / (count - 1))


@compiled
def _rogers_satchell_term(open_: float, high: float, low: float, close: float) -> float:
    return math.log(high / close) * math.log(high / open_) + math.log(low / close) * math.log(
        low / open_
    )


@compiled
def _window_variance(
    estimator: int,
    open_: FloatArray,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    end: int,
    window: int,
) -> float:
    """Return the per-period variance of `estimator` over the bars ending at index ``end``."""
    first = end - window + 1
    if estimator == 0:
        returns = np.empty(window)
        for j in range(window):
            returns[j] = math.log(close[first + j] / close[first + j - 1])
        return _sample_variance(returns)
    if estimator == 4:
        overnight = np.empty(window)
        intraday = np.empty(window)
        rogers_satchell = 0.0
        for j in range(window):
            t = first + j
            overnight[j] = math.log(open_[t] / close[t - 1])
            intraday[j] = math.log(close[t] / open_[t])
            rogers_satchell += _rogers_satchell_term(open_[t], high[t], low[t], close[t])
        k = 0.34 / (1.34 + (window + 1) / (window - 1))
        return (
            _sample_variance(overnight)
            + k * _sample_variance(intraday)
            + (1.0 - k) * (rogers_satchell / window)
        )
    total = 0.0
    for j in range(window):
        t = first + j
        if estimator == 1:
            total += math.log(high[t] / low[t]) ** 2 / _FOUR_LN2
        elif estimator == 2:
            total += (
                0.5 * math.log(high[t] / low[t]) ** 2
                - _GK_CLOSE_WEIGHT * math.log(close[t] / open_[t]) ** 2
            )
        else:
            total += _rogers_satchell_term(open_[t], high[t], low[t], close[t])
    return total / window


@compiled
def _rolling_vol_kernel(
    estimator: int,
    open_: FloatArray,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    window: int,
    periods_per_year: float,
    out: FloatArray,
) -> None:
    out[:] = np.nan
    first = window if estimator == 0 or estimator == 4 else window - 1
    for end in range(first, close.shape[0]):
        variance = _window_variance(estimator, open_, high, low, close, end, window)
        out[end] = math.sqrt(periods_per_year * variance) if variance >= 0.0 else np.nan


def rolling_vol(
    estimator: Estimator,
    *,
    open_: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    window: int,
    periods_per_year: float = TRADING_SESSIONS_PER_YEAR,
) -> FloatArray:
    """Return `estimator`'s annualized volatility (decimal) at every bar, NaN until it fills.

    Args:
        estimator: Which estimator.
        open_: Opens (price units, > 0).
        high: Highs.
        low: Lows.
        close: Closes.
        window: Window ``n`` in bars (returns for close-to-close); >= 2.
        periods_per_year: Annualization (252 sessions; 365 for crypto).

    Raises:
        ValueError: `window` < 2 or the series differ in length.
    """
    if int(window) != window or window < 2:
        raise ValueError(f"window must be an integer >= 2, got {window!r}")
    arrays = [np.ascontiguousarray(a, dtype=np.float64) for a in (open_, high, low, close)]
    if any(a.shape != arrays[3].shape or a.ndim != 1 for a in arrays):
        raise ValueError("open_, high, low and close must be 1-D series of one length")
    out = np.empty(arrays[3].shape[0])
    open_array, high_array, low_array, close_array = arrays
    _rolling_vol_kernel(
        int(estimator),
        open_array,
        high_array,
        low_array,
        close_array,
        int(window),
        float(periods_per_year),
        out,
    )
    return out


def close_to_close_vol(
    close: npt.ArrayLike, window: int, periods_per_year: float = TRADING_SESSIONS_PER_YEAR
) -> FloatArray:
    """Return close-to-close volatility over ``window`` log returns (ddof 1), annualized.

    Oracle: ``np.log(close).diff().rolling(window).std() * sqrt(periods_per_year)`` (pandas).
    """
    values = np.asarray(close, dtype=np.float64)
    return rolling_vol(
        Estimator.CLOSE_TO_CLOSE,
        open_=values,
        high=values,
        low=values,
        close=values,
        window=window,
        periods_per_year=periods_per_year,
    )


def parkinson_vol(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    window: int,
    periods_per_year: float = TRADING_SESSIONS_PER_YEAR,
) -> FloatArray:
    """Return Parkinson's high-low volatility over ``window`` bars, annualized."""
    h = np.asarray(high, dtype=np.float64)
    return rolling_vol(
        Estimator.PARKINSON,
        open_=h,
        high=h,
        low=low,
        close=h,
        window=window,
        periods_per_year=periods_per_year,
    )


def garman_klass_vol(
    open_: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    window: int,
    periods_per_year: float = TRADING_SESSIONS_PER_YEAR,
) -> FloatArray:
    """Return Garman-Klass volatility (open-to-close form) over ``window`` bars, annualized."""
    return rolling_vol(
        Estimator.GARMAN_KLASS,
        open_=open_,
        high=high,
        low=low,
        close=close,
        window=window,
        periods_per_year=periods_per_year,
    )


def rogers_satchell_vol(
    open_: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    window: int,
    periods_per_year: float = TRADING_SESSIONS_PER_YEAR,
) -> FloatArray:
    """Return Rogers-Satchell (drift-independent) volatility over ``window`` bars, annualized."""
    return rolling_vol(
        Estimator.ROGERS_SATCHELL,
        open_=open_,
        high=high,
        low=low,
        close=close,
        window=window,
        periods_per_year=periods_per_year,
    )


def yang_zhang_vol(
    open_: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    window: int,
    periods_per_year: float = TRADING_SESSIONS_PER_YEAR,
) -> FloatArray:
    """Return Yang-Zhang volatility over ``window`` bars (and the close before), annualized."""
    return rolling_vol(
        Estimator.YANG_ZHANG,
        open_=open_,
        high=high,
        low=low,
        close=close,
        window=window,
        periods_per_year=periods_per_year,
    )
