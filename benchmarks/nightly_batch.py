"""Nightly batch: the technical and volatility families for 500 simulated tickers, end to end.

Setup (not timed):

1. A fresh store in a temporary directory (DuckDB file by default; `--backend postgres`
   starts a throwaway local PostgreSQL server as the test suite does).
2. `--sessions` sessions of `--tickers` tickers from the market simulator, written with
   `ingest.simulation.write_simulation` (bars, contracts and a full chain every session:
   about 820 quotes per ticker and session).
3. The bar history the lookback needs before the simulated sessions (the technical family
   reads 252 sessions): a seeded GBM ending at each ticker's first simulated open, written
   through the store. The simulator prices a full chain every session (about 4 s per session
   for 500 tickers), so simulating a year would only slow the setup down.
4. The watchlist: every simulated ticker. The sessions before the last are computed as a
   range, as previous nightly runs would have (their stored IV30 feeds IV rank).

Timed: `run_metrics(store, catalog, RunRequest(BATCH))` for the latest session, from the
plan to the last commit and the run-log row; then the same batch again (idempotent: every
row is rewritten identically and the upsert changes nothing). The time spent in loading,
computing and writing is measured by wrapping the engine's three phase functions.

    .venv/bin/python benchmarks/nightly_batch.py
    .venv/bin/python benchmarks/nightly_batch.py --tickers 100 --backend postgres
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optionscope.domain import tables
from optionscope.domain.calendar import trading_sessions
from optionscope.domain.instruments import tickers_frame
from optionscope.engine import RunMode, RunRequest, run_metrics
from optionscope.engine import run as engine_run
from optionscope.engine.sessions import session_before
from optionscope.ingest.simulation import write_simulation
from optionscope.metrics.catalog import load_catalog
from optionscope.sources.simulator import SimulationSpec
from optionscope.storage import DuckDBStore, PostgresStore, Store
from optionscope.storage.postgres_server import LocalPostgresServer

START = date(2024, 6, 3)
HISTORY_SESSIONS = 260


@contextlib.contextmanager
def open_backend(backend: str, folder: Path) -> Iterator[Store]:
    if backend == "duckdb":
        with DuckDBStore(str(folder / "nightly.duckdb")) as store:
            yield store
        return
    server = LocalPostgresServer.start()
    try:
        with PostgresStore(server.url(), display_url="local benchmark server") as store:
            yield store
    finally:
        server.stop()


def prepend_history(store: Store, names: list[str], first_session: date) -> int:
    """Write `HISTORY_SESSIONS` bars before `first_session` ending at each first open."""
    start = session_before(first_session, HISTORY_SESSIONS, "XNYS")
    days = trading_sessions(start, HISTORY_SESSIONS)
    opens = store.read(tables.OHLCV_DAILY, where={"session_date": first_session})
    first_open = dict(zip(opens["ticker"], opens["open"], strict=True))
    rng = np.random.default_rng(2024)
    frames = []
    for name in names:
        walk = np.cumsum(rng.normal(0.0, 0.015, HISTORY_SESSIONS))
        close = np.round(first_open[name] * np.exp(walk - walk[-1]), 2)
        open_ = np.round(np.r_[close[0], close[:-1]] * np.exp(rng.normal(0, 0.004, close.size)), 2)
        spread = np.abs(rng.normal(0, 0.008, close.size))
        frames.append(
            pd.DataFrame(
                {
                    "ticker": name,
                    "session_date": days,
                    "open": open_,
                    "high": np.round(np.maximum(open_, close) * (1 + spread), 2),
                    "low": np.round(np.minimum(open_, close) * (1 - spread), 2),
                    "close": close,
                    "volume": np.round(rng.lognormal(14, 0.4, close.size)),
                    "is_adjusted": False,
                    "source": "benchmark",
                    "ts_ingested": pd.Timestamp("2024-06-01", tz="UTC"),
                }
            )
        )
    return store.upsert(tables.OHLCV_DAILY, pd.concat(frames, ignore_index=True))


class PhaseTimer:
    """Wraps the engine's load, compute and write functions to add up their wall time."""

    def __init__(self) -> None:
        self.seconds = {"load": 0.0, "compute": 0.0, "write": 0.0}
        self._originals: dict[str, Callable[..., Any]] = {}

    def __enter__(self) -> PhaseTimer:
        for phase, name in (
            ("load", "load_chunk"),
            ("compute", "_compute_ticker"),
            ("write", "_write"),
        ):
            original = getattr(engine_run, name)
            self._originals[name] = original
            setattr(engine_run, name, self._timed(phase, original))
        return self

    def __exit__(self, *exc: object) -> None:
        for name, original in self._originals.items():
            setattr(engine_run, name, original)

    def _timed(self, phase: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[phase] += time.perf_counter() - start

        return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickers", type=int, default=500)
    parser.add_argument("--sessions", type=int, default=3, help="simulated sessions with chains")
    parser.add_argument("--backend", choices=("duckdb", "postgres"), default="duckdb")
    args = parser.parse_args()
    catalog = load_catalog()
    with tempfile.TemporaryDirectory() as folder, open_backend(args.backend, Path(folder)) as store:
        store.migrate()
        began = time.perf_counter()
        spec = SimulationSpec(tickers=args.tickers, sessions=args.sessions, seed=3, start=START)
        simulated = write_simulation(store, spec)
        sessions = trading_sessions(START, args.sessions)
        history = prepend_history(store, spec.ticker_names, sessions[0])
        store.upsert(tables.TICKERS, tickers_frame(spec.ticker_names).assign(is_watchlist=True))
        if args.sessions > 1:
            run_metrics(
                store, catalog, RunRequest(RunMode.RANGE, start=sessions[0], end=sessions[-2])
            )
        setup = time.perf_counter() - began
        results = []
        for label in ("nightly batch", "same batch again"):
            with PhaseTimer() as phases:
                summary = run_metrics(store, catalog, RunRequest(RunMode.BATCH))
            results.append((label, summary, phases.seconds))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"backend {store.backend}; {args.tickers} tickers; setup {setup:.0f} s "
            f"({simulated.quotes:,} chain rows, {simulated.bars + history:,} bars); "
            f"as of {summary.plan.as_of_last}"
        )
        print(
            "| run | tickers | rows written | soft-failed | seconds | per ticker (ms) "
            "| load (s) | compute (s) | write (s) |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for label, result, seconds in results:
            print(
                f"| {label} | {result.processed} | {result.rows_written:,} | "
                f"{result.soft_failed} | {result.seconds:.2f} | "
                f"{result.seconds_per_ticker * 1000:.1f} | {seconds['load']:.2f} | "
                f"{seconds['compute']:.2f} | {seconds['write']:.2f} |"
            )
        print(
            f"row statuses: {dict(sorted(results[0][1].statuses.items()))}; "
            f"peak RSS {peak:,.0f} MiB"
        )


if __name__ == "__main__":
    main()
