"""Technical indicators with TA-Lib's exact semantics: RSI, MACD, ADX/DI, ATR, OBV.

Every function takes 1-D price arrays (anything `numpy.asarray` accepts), returns float64
arrays aligned with the input, NaN over the warm-up, and equals the TA-Lib function of the
same name to <= 1e-9 (tests compare them on every real daily file and on generated bars).
Leading NaNs are skipped as ta-lib-python does: the warm-up starts at the first index where
every input is a number. Semantics (METHODOLOGY §4, TA-Lib C sources):

* ``rsi``: Wilder. Seed = mean gain and mean loss of the first ``period`` changes, then
  ``avg <- (avg·(n - 1) + x)/n``; ``RSI = 100·gain/(gain + loss)``, 0 when
  ``|gain + loss| < 1e-8``. First value at index ``period``.
* ``macd``: EMAs with ``k = 2/(n + 1)``, both started at index ``slow - 1`` (the fast EMA's
  seed is the mean of the ``fast`` closes ending there); signal = EMA of the MACD line seeded
  with the mean of its first ``signal`` values. First value at ``slow + signal - 2`` (33).
* ``adx``, ``plus_di``, ``minus_di``: Wilder's directional movement; sums over the first
  ``period - 1`` moves, then ``x <- x - x/n + move``; DI from index ``period``, ADX from
  ``2·period - 1`` (27).
* ``atr``: mean of the first ``period`` true ranges, then Wilder smoothing; index ``period``.
* ``obv``: starts at the first bar's volume (TA-Lib), +volume on an up close, -volume on a
  down close, unchanged on an equal close.

``compute_indicators`` runs all of them for a panel of tickers (2-D arrays, one row per
ticker) with the rows spread over all cores: the fast path of the technical family's batch.

>>> import numpy as np
>>> close = np.array([44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.10, 45.42, 45.84, 46.08,
...                   45.89, 46.03, 45.61, 46.28, 46.28, 46.00])
>>> np.round(rsi(close, 14)[-2:], 4)
array([70.4641, 66.2496])
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from optionscope.metrics.kernels import (
    FloatArray,
    atr_kernel,
    directional_kernel,
    macd_kernel,
    obv_kernel,
    rsi_kernel,
    technical_panel,
)

__all__ = [
    "IndicatorPanel",
    "adx",
    "atr",
    "compute_indicators",
    "macd",
    "minus_di",
    "obv",
    "plus_di",
    "rsi",
]


class IndicatorPanel(NamedTuple):
    """The nine technical series of a panel, each shaped like the inputs (tickers x bars)."""

    rsi: FloatArray
    macd: FloatArray
    macd_signal: FloatArray
    macd_histogram: FloatArray
    adx: FloatArray
    plus_di: FloatArray
    minus_di: FloatArray
    atr: FloatArray
    obv: FloatArray


def _series(values: npt.ArrayLike) -> FloatArray:
    array = np.ascontiguousarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"expected a 1-D series, got shape {array.shape}")
    return array


def _first_valid(*series: FloatArray) -> int:
    """Return the first index where every series is a number (len when there is none)."""
    valid = np.ones(series[0].shape[0], dtype=bool)
    for values in series:
        if values.shape != series[0].shape:
            raise ValueError("input series must have the same length")
        valid &= ~np.isnan(values)
    hits = np.flatnonzero(valid)
    return int(hits[0]) if hits.size else series[0].shape[0]


def _check_period(name: str, value: int, minimum: int) -> int:
    if int(value) != value or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def rsi(close: npt.ArrayLike, period: int = 14) -> FloatArray:
    """Return Wilder's RSI (0-100) as TA-Lib ``RSI`` computes it.

    Args:
        close: Closing prices.
        period: Smoothing period in bars (>= 2).

    Returns:
        RSI aligned with ``close``; NaN before index ``first valid + period``.
    """
    values = _series(close)
    period = _check_period("period", period, 2)
    out = np.full(values.shape[0], np.nan)
    begin = _first_valid(values)
    rsi_kernel(values[begin:], period, out[begin:])
    return out


def macd(
    close: npt.ArrayLike, fast: int = 12, slow: int = 26, signal: int = 9
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Return (MACD line, signal, histogram) as TA-Lib ``MACD`` computes them.

    ``line = EMA_fast - EMA_slow`` (price units), ``signal = EMA_signal(line)``,
    ``histogram = line - signal``. Periods are swapped when ``slow < fast``, as in TA-Lib.

    Args:
        close: Closing prices.
        fast: Fast EMA period in bars (>= 2).
        slow: Slow EMA period in bars (>= 2).
        signal: Signal EMA period in bars (>= 1).

    Returns:
        Three arrays aligned with ``close``; NaN before index ``slow + signal - 2``.
    """
    values = _series(close)
    fast = _check_period("fast", fast, 2)
    slow = _check_period("slow", slow, 2)
    signal = _check_period("signal", signal, 1)
    line, smoothed, histogram = (np.full(values.shape[0], np.nan) for _ in range(3))
    begin = _first_valid(values)
    macd_kernel(
        values[begin:], fast, slow, signal, line[begin:], smoothed[begin:], histogram[begin:]
    )
    return line, smoothed, histogram


def _directional(
    high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, period: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    h, lo, c = _series(high), _series(low), _series(close)
    period = _check_period("period", period, 2)
    begin = _first_valid(h, lo, c)
    adx_out, plus_out, minus_out = (np.full(c.shape[0], np.nan) for _ in range(3))
    directional_kernel(
        h[begin:],
        lo[begin:],
        c[begin:],
        period,
        adx_out[begin:],
        plus_out[begin:],
        minus_out[begin:],
    )
    return adx_out, plus_out, minus_out


def adx(
    high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, period: int = 14
) -> FloatArray:
    """Return Wilder's average directional index (0-100) as TA-Lib ``ADX`` computes it.

    Args:
        high: Bar highs.
        low: Bar lows.
        close: Bar closes.
        period: Smoothing period in bars (>= 2).

    Returns:
        ADX aligned with the inputs; NaN before index ``2·period - 1``.
    """
    return _directional(high, low, close, period)[0]


def plus_di(
    high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, period: int = 14
) -> FloatArray:
    """Return the plus directional indicator +DI (0-100) as TA-Lib ``PLUS_DI`` computes it.

    Args:
        high: Bar highs.
        low: Bar lows.
        close: Bar closes.
        period: Smoothing period in bars (>= 2).

    Returns:
        +DI aligned with the inputs; NaN before index ``period``; 0 when the smoothed true
        range is zero.
    """
    return _directional(high, low, close, period)[1]


def minus_di(
    high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, period: int = 14
) -> FloatArray:
    """Return the minus directional indicator -DI (0-100) as TA-Lib ``MINUS_DI`` computes it.

    Args:
        high: Bar highs.
        low: Bar lows.
        close: Bar closes.
        period: Smoothing period in bars (>= 2).

    Returns:
        -DI aligned with the inputs; NaN before index ``period``.
    """
    return _directional(high, low, close, period)[2]


def atr(
    high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, period: int = 14
) -> FloatArray:
    """Return Wilder's average true range (price units) as TA-Lib ``ATR`` computes it.

    ``TR_t = max(H_t - L_t, |H_t - C_t-1|, |L_t - C_t-1|)``; seed = mean of the first
    ``period`` TRs; then ``ATR_t = (ATR_t-1·(n - 1) + TR_t)/n``.

    Args:
        high: Bar highs.
        low: Bar lows.
        close: Bar closes.
        period: Smoothing period in bars (>= 1; 1 gives the true range itself).

    Returns:
        ATR aligned with the inputs; NaN before index ``period``.
    """
    h, lo, c = _series(high), _series(low), _series(close)
    period = _check_period("period", period, 1)
    out = np.full(c.shape[0], np.nan)
    begin = _first_valid(h, lo, c)
    atr_kernel(h[begin:], lo[begin:], c[begin:], period, out[begin:])
    return out


def obv(close: npt.ArrayLike, volume: npt.ArrayLike) -> FloatArray:
    """Return on-balance volume (volume units) as TA-Lib ``OBV`` computes it.

    Args:
        close: Closing prices.
        volume: Volume per bar.

    Returns:
        OBV aligned with the inputs, starting at the first valid bar's volume.
    """
    c, v = _series(close), _series(volume)
    out = np.full(c.shape[0], np.nan)
    begin = _first_valid(c, v)
    obv_kernel(c[begin:], v[begin:], out[begin:])
    return out


def compute_indicators(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    volume: npt.ArrayLike,
    *,
    rsi_period: int = 14,
    macd_fast: int = 12,
    macd_slow: int = 26,
    macd_signal: int = 9,
    adx_period: int = 14,
    atr_period: int = 14,
    out: npt.NDArray[np.float64] | None = None,
) -> IndicatorPanel:
    """Return the nine series for a panel of tickers, rows computed in parallel.

    Args:
        high: Highs, shape (tickers, bars), no NaN (pad short histories at the end, not the
            start, or compute them one by one with the 1-D functions).
        low: Lows, same shape.
        close: Closes, same shape.
        volume: Volumes, same shape.
        rsi_period: RSI period (>= 2).
        macd_fast: MACD fast period (>= 2).
        macd_slow: MACD slow period (>= 2).
        macd_signal: MACD signal period (>= 1).
        adx_period: ADX/DI period (>= 2).
        atr_period: ATR period (>= 1).
        out: Optional float64 buffer of shape (9, tickers, bars) to write into and return
            views of; reusing one across calls saves the page faults of a fresh allocation
            (which cost as much as the arithmetic at 500 x 2,520).

    Returns:
        An `IndicatorPanel` of (tickers, bars) arrays, identical to the 1-D functions row by
        row.

    Raises:
        ValueError: Shapes differ, are not 2-D, or an input has NaN.
    """
    arrays = [np.ascontiguousarray(a, dtype=np.float64) for a in (high, low, close, volume)]
    shape = arrays[2].shape
    if len(shape) != 2 or any(a.shape != shape for a in arrays):
        raise ValueError("high, low, close and volume must be 2-D arrays of the same shape")
    if any(np.isnan(a).any() for a in arrays):
        raise ValueError("compute_indicators takes no NaN; use the 1-D functions instead")
    periods = np.array(
        [
            _check_period("rsi_period", rsi_period, 2),
            _check_period("macd_fast", macd_fast, 2),
            _check_period("macd_slow", macd_slow, 2),
            _check_period("macd_signal", macd_signal, 1),
            _check_period("adx_period", adx_period, 2),
            _check_period("atr_period", atr_period, 1),
        ],
        dtype=np.int64,
    )
    if out is None:
        # Nine separate arrays rather than one (9, ...) block: freed blocks of this size
        # are reused by the allocator on the next call, a single 9x larger one is returned
        # to the system and page-faulted in again.
        series = [np.empty(shape) for _ in range(9)]
    elif out.shape != (9, *shape) or out.dtype != np.float64 or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous float64 array of shape {(9, *shape)}")
    else:
        series = list(out)
    high_, low_, close_, volume_ = arrays
    technical_panel(high_, low_, close_, volume_, periods, *series)
    return IndicatorPanel(*series)
