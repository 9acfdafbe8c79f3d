"""Compiled loops shared by the metric families: TA-Lib indicators and window reductions.

Every indicator kernel re-implements the TA-Lib C function it is named after (TA-Lib 0.6-0.8,
``ta_RSI.c``, ``ta_EMA.c``, ``ta_MACD.c``, ``ta_ATR.c``, ``ta_TRANGE.c``, ``ta_ADX.c``,
``ta_PLUS_DI.c``, ``ta_MINUS_DI.c``, ``ta_OBV.c``; METHODOLOGY §4) statement by statement, in
the same floating-point order, so the results agree with TA-Lib to the last bit where the
compiler does the same (tests assert <= 1e-9). The oracle of each kernel is the TA-Lib function
of the same name.

Conventions: a kernel reads one contiguous series without leading NaNs (the public wrappers in
`metrics.technical` skip them as ta-lib-python does), writes NaN over the warm-up and the
values after it into ``out`` (same length as the input). Unstable periods are TA-Lib's
defaults (0) and the compatibility mode is the default (not Metastock).

Kernels are compiled on first use and cached on disk (``cache=True``): importing this module
compiles nothing. numba checks a cached kernel against this file only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.int64]

TA_ZERO_TOLERANCE = 1e-8
"""TA-Lib's ``TA_IS_ZERO(v)``: ``-1e-8 < v < 1e-8`` counts as zero (RSI, DI, DX)."""

TECHNICAL_COLUMNS = 9
"""Outputs of `technical_window_last`: RSI, MACD line, signal, histogram, ADX, +DI, -DI, ATR,
OBV (in that order)."""

_P = ParamSpec("_P")
_R = TypeVar("_R")


def compiled(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """Compile a loop with ``numba.njit(cache=True, nogil=True)``, keeping its signature.

    The NumPy error model makes a division by zero or a log of a non-positive number give
    inf/NaN instead of raising, as the same NumPy expression would.
    """
    return cast("Callable[_P, _R]", numba.njit(cache=True, nogil=True, error_model="numpy")(func))


def compiled_parallel(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """Compile a ``prange`` loop with ``numba.njit(parallel=True, cache=True, nogil=True)``."""
    return cast(
        "Callable[_P, _R]",
        numba.njit(cache=True, nogil=True, parallel=True, error_model="numpy")(func),
    )


@compiled
def is_ta_zero(value: float) -> bool:
    """Return TA-Lib's ``TA_IS_ZERO(value)``."""
    return -TA_ZERO_TOLERANCE < value < TA_ZERO_TOLERANCE


@compiled
def true_range(high: float, low: float, previous_close: float) -> float:
    """Return ``max(H - L, |H - C_prev|, |L - C_prev|)`` in TA-Lib's comparison order."""
    greatest = high - low
    up = abs(high - previous_close)
    if up > greatest:
        greatest = up
    down = abs(low - previous_close)
    if down > greatest:
        greatest = down
    return greatest


@compiled
def _nan_prefix(out: FloatArray, count: int) -> None:
    for i in range(min(count, out.shape[0])):
        out[i] = np.nan


@compiled
def rsi_kernel(close: FloatArray, period: int, out: FloatArray) -> None:
    """Write TA-Lib ``RSI(close, period)`` into ``out``; first value at index ``period``.

    The smoothing divides by ``period`` as a multiplication by ``1/period``: bit-identical
    to the TA-Lib build the tests use (whose compiler evidently optimises it that way), and
    twice as fast as a division on the loop's dependency chain.
    """
    n = close.shape[0]
    _nan_prefix(out, period)
    if n <= period:
        return
    reciprocal = 1.0 / period
    keep = period - 1
    previous = close[0]
    gain = 0.0
    loss = 0.0
    for i in range(1, period + 1):
        change = close[i] - previous
        previous = close[i]
        if change < 0:
            loss -= change
        else:
            gain += change
    loss /= period
    gain /= period
    total = gain + loss
    out[period] = 0.0 if is_ta_zero(total) else 100.0 * (gain / total)
    for i in range(period + 1, n):
        change = close[i] - previous
        previous = close[i]
        loss *= keep
        gain *= keep
        if change < 0:
            loss -= change
        else:
            gain += change
        loss *= reciprocal
        gain *= reciprocal
        total = gain + loss
        out[i] = 0.0 if is_ta_zero(total) else 100.0 * (gain / total)


@compiled
def macd_kernel(
    close: FloatArray,
    fast: int,
    slow: int,
    signal: int,
    out_line: FloatArray,
    out_signal: FloatArray,
    out_histogram: FloatArray,
) -> None:
    """Write TA-Lib ``MACD(close, fast, slow, signal)``; first values at ``slow + signal - 2``.

    Both EMAs (``ema = (x - ema)·k + ema``, ``k = 2/(n + 1)``) start at the same index
    ``slow - 1`` (TA-Lib's aligned seed: the fast EMA is seeded with the mean of the ``fast``
    closes ending there, not the first ``fast``); the signal EMA is seeded with the mean of the
    first ``signal`` MACD values. One pass with the operations of TA-Lib's separate EMA passes
    in the same order.
    """
    if slow < fast:
        fast, slow = slow, fast
    n = close.shape[0]
    first = (signal - 1) + (slow - 1)
    _nan_prefix(out_line, first)
    _nan_prefix(out_signal, first)
    _nan_prefix(out_histogram, first)
    if n <= first:
        return
    aligned = slow - 1
    k_slow, k_fast, k_signal = 2.0 / (slow + 1), 2.0 / (fast + 1), 2.0 / (signal + 1)
    total = 0.0
    for i in range(slow):
        total += close[i]
    slow_ema = total / slow
    total = 0.0
    for i in range(aligned - fast + 1, aligned + 1):
        total += close[i]
    fast_ema = total / fast
    line_total = 0.0 + (fast_ema - slow_ema)
    for i in range(aligned + 1, first + 1):
        slow_ema = ((close[i] - slow_ema) * k_slow) + slow_ema
        fast_ema = ((close[i] - fast_ema) * k_fast) + fast_ema
        line_total += fast_ema - slow_ema
    smoothed = line_total / signal
    line = fast_ema - slow_ema
    out_line[first] = line
    out_signal[first] = smoothed
    out_histogram[first] = line - smoothed
    for i in range(first + 1, n):
        slow_ema = ((close[i] - slow_ema) * k_slow) + slow_ema
        fast_ema = ((close[i] - fast_ema) * k_fast) + fast_ema
        line = fast_ema - slow_ema
        smoothed = ((line - smoothed) * k_signal) + smoothed
        out_line[i] = line
        out_signal[i] = smoothed
        out_histogram[i] = line - smoothed


@compiled
def atr_kernel(
    high: FloatArray, low: FloatArray, close: FloatArray, period: int, out: FloatArray
) -> None:
    """Write TA-Lib ``ATR(high, low, close, period)``; first value at index ``period``.

    Seed: the mean of the first ``period`` true ranges (bars 1..period); then Wilder's
    ``atr = (atr·(n - 1) + tr)/n`` (the division as a multiplication by ``1/n``, as in
    `rsi_kernel`). ``period <= 1`` gives TA-Lib's ``TRANGE``.
    """
    n = close.shape[0]
    _nan_prefix(out, max(period, 1))
    if period <= 1:
        for i in range(1, n):
            out[i] = true_range(high[i], low[i], close[i - 1])
        return
    if n <= period:
        return
    reciprocal = 1.0 / period
    keep = period - 1
    total = 0.0
    for i in range(1, period + 1):
        total += true_range(high[i], low[i], close[i - 1])
    atr = total / period
    out[period] = atr
    for i in range(period + 1, n):
        atr *= keep
        atr += true_range(high[i], low[i], close[i - 1])
        atr *= reciprocal
        out[i] = atr


@compiled
def _directional_moves(high: FloatArray, low: FloatArray, i: int) -> tuple[float, float]:
    """Return (+DM, -DM) of bar ``i`` as TA-Lib assigns them (equal moves give 0, 0)."""
    up = high[i] - high[i - 1]
    down = low[i - 1] - low[i]
    plus = 0.0
    minus = 0.0
    if down > 0 and up < down:
        minus = down
    elif up > 0 and up > down:
        plus = up
    return plus, minus


@compiled
def directional_kernel(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    period: int,
    out_adx: FloatArray,
    out_plus_di: FloatArray,
    out_minus_di: FloatArray,
) -> None:
    """Write TA-Lib ``ADX``, ``PLUS_DI`` and ``MINUS_DI`` (same ``period >= 2``).

    Sums of +DM, -DM and TR start over the first ``period - 1`` moves (TA-Lib's documented
    seeding), then ``x <- x - x/n + move`` (``/n`` as ``·(1/n)``, as in `rsi_kernel`). DI
    values start at index ``period`` (0 where the smoothed TR is zero, as PLUS_DI does), ADX
    at ``2·period - 1``: the mean of the first ``period`` DX, then Wilder smoothing; a DX that
    TA-Lib skips (zero TR or zero DI sum) leaves ADX unchanged.
    """
    _nan_prefix(out_adx, 2 * period - 1)
    _nan_prefix(out_plus_di, period)
    _nan_prefix(out_minus_di, period)
    n = close.shape[0]
    if n <= period:
        return
    reciprocal = 1.0 / period
    plus_dm = 0.0
    minus_dm = 0.0
    smoothed_tr = 0.0
    for i in range(1, period):
        plus, minus = _directional_moves(high, low, i)
        plus_dm += plus
        minus_dm += minus
        smoothed_tr += true_range(high[i], low[i], close[i - 1])
    sum_dx = 0.0
    adx = 0.0
    for i in range(period, n):
        plus, minus = _directional_moves(high, low, i)
        plus_dm = plus_dm - (plus_dm * reciprocal) + plus
        minus_dm = minus_dm - (minus_dm * reciprocal) + minus
        smoothed_tr = (
            smoothed_tr - (smoothed_tr * reciprocal) + true_range(high[i], low[i], close[i - 1])
        )
        has_range = not is_ta_zero(smoothed_tr)
        plus_di = 100.0 * (plus_dm / smoothed_tr) if has_range else 0.0
        minus_di = 100.0 * (minus_dm / smoothed_tr) if has_range else 0.0
        out_plus_di[i] = plus_di
        out_minus_di[i] = minus_di
        dx = np.nan
        if has_range:
            di_sum = minus_di + plus_di
            if not is_ta_zero(di_sum):
                dx = 100.0 * (abs(minus_di - plus_di) / di_sum)
        if i < 2 * period - 1:
            if dx == dx:
                sum_dx += dx
            continue
        if i == 2 * period - 1:
            if dx == dx:
                sum_dx += dx
            adx = sum_dx / period
        elif dx == dx:
            adx = ((adx * (period - 1)) + dx) * reciprocal
        out_adx[i] = adx


@compiled
def obv_kernel(close: FloatArray, volume: FloatArray, out: FloatArray) -> None:
    """Write TA-Lib ``OBV(close, volume)``: starts at the first volume, +V up, -V down."""
    n = close.shape[0]
    if n == 0:
        return
    obv = volume[0]
    previous = close[0]
    for i in range(n):
        if close[i] > previous:
            obv += volume[i]
        elif close[i] < previous:
            obv -= volume[i]
        out[i] = obv
        previous = close[i]


@compiled
def technical_row(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    periods: IndexArray,
    out: FloatArray,
) -> None:
    """Write the nine technical series of one ticker into ``out`` (9 rows x bars).

    ``periods`` = (rsi, macd fast, macd slow, macd signal, adx, atr). Rows of ``out``: RSI,
    MACD line, signal, histogram, ADX, +DI, -DI, ATR, OBV.
    """
    rsi_kernel(close, periods[0], out[0])
    macd_kernel(close, periods[1], periods[2], periods[3], out[1], out[2], out[3])
    directional_kernel(high, low, close, periods[4], out[4], out[5], out[6])
    atr_kernel(high, low, close, periods[5], out[7])
    obv_kernel(close, volume, out[8])


@compiled_parallel
def technical_panel(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    periods: IndexArray,
    rsi: FloatArray,
    macd_line: FloatArray,
    macd_signal: FloatArray,
    macd_histogram: FloatArray,
    adx: FloatArray,
    plus_di: FloatArray,
    minus_di: FloatArray,
    atr: FloatArray,
    obv: FloatArray,
) -> None:
    """Write the nine series for every ticker (row) of 2-D inputs, tickers spread over cores.

    Every output has the inputs' shape (tickers, bars). Inputs must have no leading NaNs.
    ``periods`` as in `technical_row`.
    """
    tickers = close.shape[0]
    for row in numba.prange(tickers):
        rsi_kernel(close[row], periods[0], rsi[row])
        macd_kernel(
            close[row],
            periods[1],
            periods[2],
            periods[3],
            macd_line[row],
            macd_signal[row],
            macd_histogram[row],
        )
        directional_kernel(
            high[row], low[row], close[row], periods[4], adx[row], plus_di[row], minus_di[row]
        )
        atr_kernel(high[row], low[row], close[row], periods[5], atr[row])
        obv_kernel(close[row], volume[row], obv[row])


@compiled
def technical_window_last(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    window_starts: IndexArray,
    window_ends: IndexArray,
    periods: IndexArray,
) -> FloatArray:
    """Return, per window ``[start, end)``, the last value of each of the nine series.

    Each window is computed on its own, from its first bar, exactly as TA-Lib would compute
    the window's bars: the value for a window depends on nothing outside it.

    Returns:
        Array (windows x 9), NaN where a series is still in its warm-up at the window's end.
    """
    count = window_starts.shape[0]
    result = np.empty((count, TECHNICAL_COLUMNS))
    for w in range(count):
        start = window_starts[w]
        end = window_ends[w]
        size = end - start
        scratch = np.empty((TECHNICAL_COLUMNS, size))
        technical_row(
            high[start:end],
            low[start:end],
            close[start:end],
            volume[start:end],
            periods,
            scratch,
        )
        for column in range(TECHNICAL_COLUMNS):
            result[w, column] = scratch[column, size - 1] if size > 0 else np.nan
    return result
