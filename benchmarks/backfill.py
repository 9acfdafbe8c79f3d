"""Backfill: 500 simulated tickers x 10 years of daily technical and volatility metrics.

Setup (not timed):

1. The market simulator's daily bars (`SimulationSpec(chains=False)`): `--tickers` tickers
   over `--years` x 252 sessions plus 260 sessions of lookback before the backfilled range,
   written once into a template store: a DuckDB file, and a database of a throwaway local
   PostgreSQL server (started as the test suite does).
2. Before each case, a fresh copy of the template (a file copy; ``CREATE DATABASE ...
   TEMPLATE``), so every case starts with no metric row and no coverage.

Timed, per case: `plan_backfill` and `run_backfill` of the technical and volatility families
over the range (the default units: 25 tickers x 1,260 sessions), from the plan to the last
commit. Reported: wall seconds, units/s, rows/s, the coordinator's peak RSS and the largest
worker process's (sampled every 0.1 s during the case; the PostgreSQL server's excluded).
Cases: DuckDB serial and pool (1 and 2 workers; the workers compute, the coordinator writes),
PostgreSQL pool (1 and 2 workers; the workers write) and Dask LocalCluster (2 workers, one
thread each). The scheduling cost of each executor is measured alike: 2,000 empty tasks.

    .venv/bin/python benchmarks/backfill.py
    .venv/bin/python benchmarks/backfill.py --tickers 100 --years 2 --cases duckdb-serial
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psutil
import psycopg

from optionscope.domain.calendar import trading_sessions
from optionscope.engine.backfill import backfill_status, plan_backfill, run_backfill
from optionscope.engine.executors import DaskExecutor, Executor, PoolExecutor, SerialExecutor
from optionscope.ingest.simulation import write_simulation
from optionscope.metrics.catalog import load_catalog
from optionscope.sources.simulator import SimulationSpec
from optionscope.storage import open_store
from optionscope.storage.postgres_server import LocalPostgresServer

START = date(2015, 1, 2)
LOOKBACK_SESSIONS = 260
FAMILIES = ["technical", "volatility"]
CASES = (
    "duckdb-serial",
    "duckdb-pool-1",
    "duckdb-pool-2",
    "postgres-pool-1",
    "postgres-pool-2",
    "postgres-dask-2",
)


@dataclass(frozen=True, slots=True)
class Result:
    case: str
    seconds: float
    units: int
    rows: int
    coordinator_mib: float
    worker_mib: float


class PeakRss:
    """Samples, every 0.1 s, this process's RSS and that of its Python descendants (workers).

    `ru_maxrss` would give this process's peak since it started (the setup included) and
    nothing of the pool's workers, which are the forkserver's children, not ours.
    """

    def __init__(self) -> None:
        self.coordinator = 0
        self.worker = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(0.1):
            with contextlib.suppress(psutil.Error):
                self.coordinator = max(self.coordinator, me.memory_info().rss)
                for child in me.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        if child.name().startswith("python"):
                            self.worker = max(self.worker, child.memory_info().rss)


def _noop(task: int) -> int:
    return task


def scheduling_ms(executor: Executor, tasks: int = 2000) -> float:
    """Return the executor's milliseconds per empty task (all submitted, then gathered)."""
    list(executor.map_unordered(_noop, range(200)))  # warm the workers
    began = time.perf_counter()
    list(executor.map_unordered(_noop, range(tasks)))
    return (time.perf_counter() - began) / tasks * 1000


def simulate(target: str, tickers: int, sessions: int) -> list[str]:
    spec = SimulationSpec(tickers=tickers, sessions=sessions, seed=7, start=START, chains=False)
    with open_store(target) as store:
        store.migrate()
        write_simulation(store, spec)
    return spec.ticker_names


@contextlib.contextmanager
def make_executor(case: str) -> Iterator[Executor]:
    if case.endswith("serial"):
        yield SerialExecutor()
        return
    workers = int(case.rsplit("-", 1)[1])
    if "-dask-" in case:
        import distributed

        with (
            distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True,
                dashboard_address=None, silence_logs=logging.ERROR,
            ) as cluster,
            distributed.Client(cluster) as client,
        ):  # fmt: skip
            executor = DaskExecutor(client)
            print(f"  dask scheduling: {scheduling_ms(executor):.2f} ms per empty task")
            yield executor
        return
    executor = PoolExecutor(workers)
    try:
        print(f"  pool scheduling: {scheduling_ms(executor):.3f} ms per empty task")
        yield executor
    finally:
        executor.close()


def run_case(case: str, target: str, tickers: list[str], first: date, last: date) -> Result:
    with make_executor(case) as executor, PeakRss() as peak:
        began = time.perf_counter()
        with open_store(target) as store:
            job = plan_backfill(store, load_catalog(), FAMILIES, tickers, first, last)
        status = run_backfill(target, job, executor=executor)
        seconds = time.perf_counter() - began
    if status.state != "completed":
        raise SystemExit(f"{case}: job ended {status.state}")
    with open_store(target) as store:
        status = backfill_status(store, job)
    return Result(
        case, seconds, status.total, status.rows, peak.coordinator / 2**20, peak.worker / 2**20
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickers", type=int, default=500)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    args = parser.parse_args()
    sessions = args.years * 252 + LOOKBACK_SESSIONS
    days = trading_sessions(START, sessions)
    first, last = days[LOOKBACK_SESSIONS], days[-1]
    print(f"{args.tickers} tickers, backfill {first} .. {last} ({args.years * 252} sessions)")

    with tempfile.TemporaryDirectory() as folder:
        results = []
        duckdb_cases = [c for c in args.cases if c.startswith("duckdb")]
        postgres_cases = [c for c in args.cases if c.startswith("postgres")]
        if duckdb_cases:
            template = str(Path(folder) / "template.duckdb")
            began = time.perf_counter()
            tickers = simulate(template, args.tickers, sessions)
            print(f"setup: simulated bars into DuckDB in {time.perf_counter() - began:.1f} s")
            for number, case in enumerate(duckdb_cases):
                target = str(Path(folder) / f"case-{number}.duckdb")
                shutil.copyfile(template, target)
                results.append(run_case(case, target, tickers, first, last))
                print(f"  {results[-1]}")
        if postgres_cases:
            with LocalPostgresServer.start() as server:
                with psycopg.connect(server.url(), autocommit=True) as admin:
                    admin.execute("CREATE DATABASE template_bars")
                began = time.perf_counter()
                tickers = simulate(server.url("template_bars"), args.tickers, sessions)
                print(
                    f"setup: simulated bars into PostgreSQL in {time.perf_counter() - began:.1f} s"
                )
                with psycopg.connect(server.url(), autocommit=True) as admin:
                    for number, case in enumerate(postgres_cases):
                        name = f"case_{number}"
                        admin.execute(f"CREATE DATABASE {name} TEMPLATE template_bars")
                        results.append(run_case(case, server.url(name), tickers, first, last))
                        print(f"  {results[-1]}")

    print()
    print("| case | wall s | units | units/s | rows | rows/s | coordinator RSS | worker RSS |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r.case} | {r.seconds:.1f} | {r.units} | {r.units / r.seconds:.2f} | "
            f"{r.rows:,} | {r.rows / r.seconds:,.0f} | {r.coordinator_mib:.0f} MiB | "
            f"{r.worker_mib:.0f} MiB |"
        )
    by_case = {r.case: r for r in results}
    for backend in ("duckdb", "postgres"):
        one, two = by_case.get(f"{backend}-pool-1"), by_case.get(f"{backend}-pool-2")
        if one and two:
            print(f"{backend}: 2 workers vs 1: {one.seconds / two.seconds:.2f}x")
    pool, dask = by_case.get("postgres-pool-2"), by_case.get("postgres-dask-2")
    if pool and dask:
        print(f"postgres: Dask vs pool wall time: {dask.seconds / pool.seconds:.2f}x")


if __name__ == "__main__":
    main()
