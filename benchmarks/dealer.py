"""Benchmark the dealer metrics on a full SPX chain (issue 6), all methods in one run.

Chain: ../shared/data/cboe_gex_python/SPX_quotedata_2023-09-14.csv, the Cboe delayed-quote
SPX + SPXW chain after the close (19,920 listed contracts). "Full chain" = every contract
with open interest and a gamma, all expiries (``DealerParams`` with the DTE, open-interest
and volume filters off): about 14,000 contracts. The default filters leave about 3,400.

Rows (same inputs for every profile: our IV, T, r, q per contract, dealer sign, OI):

* optionscope profile: ``profile.compute_profile`` over 400 levels, i.e. coefficients, the
  contracts x levels grid, the ex-next-expiry profile and Brent refinement of every zero;
* optionscope all metrics: ``dealer.compute`` end to end from the canonical tables
  (T from settlement instants, parity forwards, our IV and greeks, filters, exposures,
  profile, walls, slope, DGPI, position, confidence), full chain and default filters;
* pandas loop: 400 levels, each a vectorised column expression with ``scipy.stats.norm.pdf``;
* typical public script: Perfiliev's notebook shape, one row per strike with call and put
  columns, ``df.apply(row-wise gamma, axis=1)`` for calls and again for puts at each level;
  timed on a few levels and extrapolated to 400.

Time: best of ``--repeat`` runs (median in brackets). Memory: rise of the process's peak RSS
during the call (Linux VmHWM, reset through /proc/self/clear_refs before each call).

Usage:
    .venv/bin/python benchmarks/dealer.py
    .venv/bin/python benchmarks/dealer.py --repeat 5 --typical-levels 2
"""

import argparse
import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pandas as pd
from scipy.stats import norm

from optionscope.metrics import dealer
from optionscope.metrics.dealer.profile import compute_profile
from optionscope.sources.files import read_file

CHAIN = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "cboe_gex_python"
    / "SPX_quotedata_2023-09-14.csv"
)
LEVELS = 400
WINDOW = 0.20
FULL = dealer.DealerParams(max_dte_days=None, min_open_interest=None, min_volume=None)


def reset_peak_rss() -> int:
    """Reset the kernel's peak-RSS counter; return the current RSS in kB (0 if unsupported)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _status_kb("VmRSS")
    except OSError:
        return 0


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def timed(func: Callable[[], Any], repeat: int) -> tuple[Any, list[float], float]:
    """Run ``func`` ``repeat`` times; return the last result, the times and peak extra MB."""
    times, peaks = [], []
    result = None
    for _ in range(repeat):
        result = None
        before = reset_peak_rss()
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
        peaks.append((_status_kb("VmHWM") - before) / 1024 if before else math.nan)
    return result, times, max(peaks)


def levels_of(spot: float) -> np.ndarray:
    return spot * np.exp(np.linspace(math.log1p(-WINDOW), math.log1p(WINDOW), LEVELS))


def pandas_loop(contracts: pd.DataFrame, spot: float, rate: float) -> np.ndarray:
    """A loop over levels, each level one vectorised pass over the columns."""
    usable = contracts[contracts["sigma"] > 0]
    K, T = usable["strike"], usable["years_to_expiry"]  # noqa: N806
    q, sigma = usable["dividend_yield"], usable["sigma"]
    weight = usable["dealer_sign"] * usable["open_interest"] * usable["multiplier"]
    out = []
    for level in levels_of(spot):
        d1 = (np.log(level / K) + (rate - q + 0.5 * sigma**2) * T) / (sigma * np.sqrt(T))
        gamma = np.exp(-q * T) * norm.pdf(d1) / (level * sigma * np.sqrt(T))
        out.append(float((weight * gamma * level * level * 0.01).sum()))
    return np.array(out)


def perfiliev_layout(contracts: pd.DataFrame) -> pd.DataFrame:
    """One row per (expiry, strike) with call and put columns, like the public notebook."""
    keys = ["series", "strike", "years_to_expiry", "dividend_yield"]
    calls = contracts[contracts["is_call"]].set_index(keys)
    puts = contracts[~contracts["is_call"]].set_index(keys)
    frame = pd.DataFrame(
        {
            "CallIV": calls["sigma"],
            "CallOpenInt": calls["open_interest"],
            "PutIV": puts["sigma"],
            "PutOpenInt": puts["open_interest"],
        }
    ).fillna({"CallOpenInt": 0.0, "PutOpenInt": 0.0, "CallIV": 0.2, "PutIV": 0.2})
    return frame.reset_index()


def calc_gamma_ex(S, K, vol, T, r, q, OI):  # noqa: N803 (the notebook's names)
    """The row-wise function of the public notebook (scalar scipy ``norm.pdf``)."""
    if T == 0 or vol == 0:
        return 0
    dp = (np.log(S / K) + (r - q + 0.5 * vol**2) * T) / (vol * np.sqrt(T))
    gamma = np.exp(-q * T) * norm.pdf(dp) / (S * vol * np.sqrt(T))
    return OI * 100 * S * S * 0.01 * gamma


def typical_script(frame: pd.DataFrame, levels: np.ndarray, rate: float) -> np.ndarray:
    """``df.apply`` of the row-wise function for calls and puts at each level."""
    totals = []
    for level in levels:
        frame["callGammaEx"] = frame.apply(
            lambda row, at=level: calc_gamma_ex(
                at, row["strike"], row["CallIV"], row["years_to_expiry"], rate,
                row["dividend_yield"], row["CallOpenInt"],
            ),
            axis=1,
        )  # fmt: skip
        frame["putGammaEx"] = frame.apply(
            lambda row, at=level: calc_gamma_ex(
                at, row["strike"], row["PutIV"], row["years_to_expiry"], rate,
                row["dividend_yield"], row["PutOpenInt"],
            ),
            axis=1,
        )  # fmt: skip
        totals.append(frame["callGammaEx"].sum() - frame["putGammaEx"].sum())
    return np.array(totals)


def fmt(times: list[float], memory: float) -> str:
    best, median = min(times), statistics.median(times)
    return f"{best * 1e3:,.1f} ms ({median * 1e3:,.1f}) | {memory:,.1f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--typical-levels", type=int, default=3)
    args = parser.parse_args()
    if not CHAIN.exists():
        raise SystemExit(f"missing {CHAIN}")
    load_before = os.getloadavg()[0]
    tables = read_file(CHAIN).tables
    snapshot = tables["chain_snapshots"].iloc[0]
    spot, as_of = float(snapshot["parity_spot"]), snapshot["snapshot_time"]
    merged = dealer.merge_chain_tables(tables)
    start = time.perf_counter()
    full = dealer.compute(merged, spot=spot, as_of=as_of, params=FULL)
    first_call = time.perf_counter() - start
    contracts, rate = full.contracts, float(full.diagnostics["rate"])
    weights = contracts["dealer_sign"].to_numpy()
    profile_rows = contracts[contracts["gamma_source"] != "vendor_gamma"]

    def ours_profile() -> Any:
        return compute_profile(contracts, weights, spot=spot, rate=rate, range_pct=WINDOW,
                               n_levels=LEVELS)  # fmt: skip

    profile, t_profile, m_profile = timed(ours_profile, args.repeat * 3)
    _, t_full, m_full = timed(
        lambda: dealer.compute(merged, spot=spot, as_of=as_of, params=FULL), args.repeat
    )
    default, t_default, m_default = timed(
        lambda: dealer.compute(merged, spot=spot, as_of=as_of), args.repeat
    )
    _, t_tables, m_tables = timed(
        lambda: dealer.compute(tables, spot=spot, as_of=as_of, params=FULL), args.repeat
    )
    _, t_json, m_json = timed(full.to_json, args.repeat)
    loop, t_loop, m_loop = timed(lambda: pandas_loop(profile_rows, spot, rate), 2)
    layout = perfiliev_layout(profile_rows)
    few = levels_of(spot)[:: LEVELS // args.typical_levels][: args.typical_levels]
    typical, t_typical, m_typical = timed(lambda: typical_script(layout, few, rate), 1)
    typical_400 = t_typical[0] * LEVELS / len(few)

    grid = profile.net_gex
    scale = float(np.abs(grid).max())
    loop_gap = float(np.abs(loop - grid).max()) / scale
    typical_gap = float(np.abs(typical - np.interp(few, profile.levels, grid)).max()) / scale

    threads = numba.get_num_threads()
    print(f"# optionscope dealer metrics benchmark ({CHAIN.name})\n")
    print(f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}, numba {numba.__version__} ({threads} threads available;"
          f" the dealer kernels run serially), load average {load_before:.2f} before /"
          f" {os.getloadavg()[0]:.2f} after")  # fmt: skip
    print(f"- chain: {len(merged):,} listed contracts; full chain {len(contracts):,} with open"
          f" interest and gamma ({profile.inputs.a.size:,} coefficient groups after merging the"
          f" call and put of one strike), default filters {len(default.contracts):,}")  # fmt: skip
    print(f"- first compute call (numba cache load or compile): {first_call:.2f} s")
    print("- time: best of runs (median in brackets); memory: peak RSS rise during the call\n")
    print("| method | contracts | levels | time | peak memory | vs typical script |")
    print("|---|---:|---:|---:|---:|---:|")
    rows = [
        ("optionscope profile (grid + Brent refinement)", len(contracts), LEVELS, t_profile,
         m_profile),
        ("optionscope all metrics, full chain (merged frame in)", len(contracts), 401, t_full,
         m_full),
        ("optionscope all metrics, full chain (two canonical tables in)", len(contracts), 401,
         t_tables, m_tables),
        ("optionscope all metrics, default filters", len(default.contracts), 401, t_default,
         m_default),
        ("optionscope JSON payload of the full chain (to_json)", len(contracts), 401, t_json,
         m_json),
        ("pandas loop over levels, vectorised columns", len(profile_rows), LEVELS, t_loop,
         m_loop),
    ]  # fmt: skip
    for name, n, levels, times, memory in rows:
        ratio = typical_400 / min(times)
        print(f"| {name} | {n:,} | {levels} | {fmt(times, memory)} | {ratio:,.0f}x |")
    print(f"| typical public script (df.apply per row), {len(few)} levels timed, extrapolated |"
          f" {len(profile_rows):,} | {LEVELS} | {typical_400:,.1f} s ({t_typical[0]:.2f} s for"
          f" {len(few)}) | {m_typical:,.1f} MB | 1x |")  # fmt: skip
    print(f"\nGoals: profile < 30 ms: {min(t_profile) * 1e3:.1f} ms; >= 1,000x the typical"
          f" script: {typical_400 / min(t_profile):,.0f}x; all metrics < 100 ms:"
          f" {min(t_full) * 1e3:.1f} ms full chain,"
          f" {min(t_default) * 1e3:.1f} ms default")  # fmt: skip
    print(f"Agreement with our profile (max |difference| / max |G|): pandas loop {loop_gap:.1e},"
          f" typical script {typical_gap:.1e}; flip {profile.flip:.4f} (default filters"
          f" {default.gamma_flip:.4f}), spot {spot:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
