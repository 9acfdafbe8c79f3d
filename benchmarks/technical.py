"""Technical indicators for a panel of tickers: optionscope's compiled kernels versus TA-Lib.

Both compute, on the same seeded arrays (`--tickers` x `--bars` daily OHLCV, a GBM with
gaps), RSI(14), MACD(12,26,9) line/signal/histogram, ADX(14), ATR(14) and OBV; optionscope's
panel kernel also returns +DI and -DI (TA-Lib needs two more calls for them, timed as a second
TA-Lib row). TA-Lib (C, one call per ticker and indicator, as users call it) runs on one
thread; optionscope runs its numba kernel over all tickers at once, rows spread over the
cores (`NUMBA_NUM_THREADS`), and on one thread for reference.

optionscope's panel (9 outputs) is timed writing into fresh arrays (a 90 MB allocation whose
first touch costs page faults, as any new large NumPy array does) and into a reused buffer
(`compute_indicators(..., out=buffer)`, as a batch computing chunk after chunk would).
Reported per case: best and median wall time of `--repeat` runs (after one warm-up run that
loads the compiled kernels), peak traced memory of one extra run (tracemalloc: the NumPy
outputs and temporaries), and the largest difference from TA-Lib, scaled by
``max(1, |TA-Lib|)`` (OBV reaches 1e10), over every value TA-Lib defines.

    .venv/bin/python benchmarks/technical.py                      # 500 x 2,520
    .venv/bin/python benchmarks/technical.py --tickers 50 --repeat 3
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from collections.abc import Callable

import numba
import numpy as np
import talib

from optionscope.metrics.technical import IndicatorPanel, compute_indicators

Panel = dict[str, np.ndarray]


def make_panel(tickers: int, bars: int, seed: int = 7) -> Panel:
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.0003, 0.015, (tickers, bars))
    close = np.round(50.0 * np.exp(np.cumsum(returns, axis=1)), 2)
    previous = np.concatenate([close[:, :1], close[:, :-1]], axis=1)
    open_ = np.round(previous * np.exp(rng.normal(0, 0.004, (tickers, bars))), 2)
    spread = np.abs(rng.normal(0, 0.008, (tickers, bars)))
    return {
        "high": np.round(np.maximum(open_, close) * (1 + spread), 2),
        "low": np.round(np.minimum(open_, close) * (1 - spread), 2),
        "close": close,
        "volume": np.round(rng.lognormal(14, 0.5, (tickers, bars))),
    }


def talib_five(panel: Panel) -> list[list[np.ndarray]]:
    out = []
    for h, lo, c, v in zip(
        panel["high"], panel["low"], panel["close"], panel["volume"], strict=True
    ):
        line, signal, histogram = talib.MACD(c, 12, 26, 9)
        out.append(
            [
                talib.RSI(c, 14),
                line,
                signal,
                histogram,
                talib.ADX(h, lo, c, 14),
                talib.ATR(h, lo, c, 14),
                talib.OBV(c, v),
            ]
        )
    return out


def talib_seven(panel: Panel) -> list[list[np.ndarray]]:
    out = talib_five(panel)
    for row, (h, lo, c) in enumerate(zip(panel["high"], panel["low"], panel["close"], strict=True)):
        out[row] += [talib.PLUS_DI(h, lo, c, 14), talib.MINUS_DI(h, lo, c, 14)]
    return out


def ours(panel: Panel, out: np.ndarray | None = None) -> IndicatorPanel:
    return compute_indicators(panel["high"], panel["low"], panel["close"], panel["volume"], out=out)


def timed(function: Callable[[], object], repeat: int) -> tuple[float, float, float]:
    function()  # warm-up: loads compiled kernels, touches memory
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    function()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return min(times), statistics.median(times), peak / 2**20


def max_scaled_difference(mine: IndicatorPanel, oracle: list[list[np.ndarray]]) -> float:
    pairs = [
        ("rsi", 0),
        ("macd", 1),
        ("macd_signal", 2),
        ("macd_histogram", 3),
        ("adx", 4),
        ("atr", 5),
        ("obv", 6),
        ("plus_di", 7),
        ("minus_di", 8),
    ]
    worst = 0.0
    for name, column in pairs:
        reference = np.stack([row[column] for row in oracle])
        values = getattr(mine, name)
        if not np.array_equal(np.isnan(values), np.isnan(reference)):
            return float("inf")
        defined = ~np.isnan(reference)
        scale = np.maximum(1.0, np.abs(reference[defined]))
        worst = max(worst, float(np.max(np.abs(values[defined] - reference[defined]) / scale)))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickers", type=int, default=500)
    parser.add_argument("--bars", type=int, default=2520)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    panel = make_panel(args.tickers, args.bars)
    threads = numba.get_num_threads()

    rows = []
    talib_best, talib_median, talib_memory = timed(lambda: talib_five(panel), args.repeat)
    rows.append(
        ("TA-Lib (C), RSI MACD ADX ATR OBV: 7 outputs", talib_best, talib_median, talib_memory)
    )
    best, median, memory = timed(lambda: talib_seven(panel), args.repeat)
    rows.append(("TA-Lib (C), + PLUS_DI MINUS_DI: 9 outputs", best, median, memory))
    buffer = np.empty((9, args.tickers, args.bars))
    for count in (threads, 1):
        numba.set_num_threads(count)
        label = f"{count} thread{'s' if count > 1 else ''}"
        best, median, memory = timed(lambda: ours(panel), args.repeat)
        rows.append((f"optionscope panel, {label}, fresh outputs", best, median, memory))
        best, median, memory = timed(lambda: ours(panel, buffer), args.repeat)
        rows.append((f"optionscope panel, {label}, reused output buffer", best, median, memory))
    numba.set_num_threads(threads)
    difference = max_scaled_difference(ours(panel), talib_seven(panel))

    print(
        f"{args.tickers} tickers x {args.bars:,} bars, best and median of {args.repeat}; "
        f"TA-Lib {talib.__ta_version__.decode().split()[0]}"
    )
    print("| case | best (s) | median (s) | vs TA-Lib (5 ind.) | peak traced memory (MiB) |")
    print("|---|---:|---:|---:|---:|")
    for name, best, median, memory in rows:
        print(f"| {name} | {best:.4f} | {median:.4f} | {best / talib_best:.2f}x | {memory:,.0f} |")
    print(f"max |optionscope - TA-Lib| / max(1, |TA-Lib|) over all 9 outputs: {difference:.2e}")


if __name__ == "__main__":
    main()
