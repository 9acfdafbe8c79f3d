"""Load benchmark: option chain snapshot rows through the Store versus raw engine inserts.

Generates `--rows` synthetic `option_chain_snapshots` rows deterministically, in chunks of
`--chunk-rows` (seeded NumPy, so every case loads the same bytes), and loads them several
ways, each in a fresh database and a fresh process (so peak RSS is per case):

- duckdb-store:   `DuckDBStore.upsert` per chunk (validation, key checks, upsert semantics)
- duckdb-raw:     `INSERT INTO t SELECT * FROM <registered Arrow chunk>` per chunk, into the
                  table the store's migrations create (on DuckDB without a declared key since
                  migration 2, see docs/storage.md)
- duckdb-raw-pk:  the same INSERT into the table of migration 1, with its PRIMARY KEY (an
                  ART index): what duckdb-raw measured before migration 2
- postgres-store: `PostgresStore.upsert` per chunk
- postgres-raw:   `COPY t FROM STDIN (FORMAT BINARY)` per chunk, encoded by the same
                  `postgres_copy` encoder (the only Arrow -> COPY path without new packages)
- *-store-reload: (not run by default) load everything, then time upserting the same rows
                  again: all keys conflict, nothing changes, as when a file is re-imported

The PostgreSQL tables have the canonical primary key, so the raw COPY pays for index
maintenance too. Only the loading is timed, up to the last commit; generating a chunk is not,
nor is closing the database. PostgreSQL runs as a throwaway local server
(`optionscope.storage.postgres_server`, fsync off), as in the test suite; its own memory is
not in the reported RSS, which is the client process's.

    .venv/bin/python benchmarks/store_load.py                 # 10M rows, all cases
    .venv/bin/python benchmarks/store_load.py --rows 1000000 --cases duckdb-store,duckdb-raw
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import numpy as np
import psycopg
import pyarrow as pa

from optionscope.domain.tables import OPTION_CHAIN_SNAPSHOTS as TABLE
from optionscope.storage import DuckDBStore, PostgresStore, Store
from optionscope.storage.postgres_copy import iter_copy_binary
from optionscope.storage.postgres_server import LocalPostgresServer
from optionscope.storage.rows import arrow_schema
from optionscope.storage.sql import column_list, create_table_sql, quote

CASES = ("duckdb-store", "duckdb-raw", "duckdb-raw-pk", "postgres-store", "postgres-raw")
ALL_CASES = (*CASES, "duckdb-store-reload", "postgres-store-reload")
UNDERLYINGS = ("SPX", "SPY", "QQQ", "IWM", "NDX")
EXPIRIES = 10
STRIKES = 100
CONTRACTS_PER_UNDERLYING = EXPIRIES * STRIKES * 2
ROWS_PER_SNAPSHOT = len(UNDERLYINGS) * CONTRACTS_PER_UNDERLYING
SNAPSHOT_INTERVAL_MICROSECONDS = 15 * 60 * 1_000_000
FIRST_SNAPSHOT = np.datetime64("2024-01-02T14:30:00", "us").astype(np.int64)
INGESTED = FIRST_SNAPSHOT + 400 * 86_400 * 1_000_000


def contract_symbols() -> pa.Array:
    """Return OSI-style symbols, CONTRACTS_PER_UNDERLYING per underlying, underlying-major."""
    symbols: list[str] = []
    for underlying in UNDERLYINGS:
        root = underlying + ("W" if underlying in {"SPX", "NDX"} else "")
        for expiry in range(EXPIRIES):
            day = f"2403{expiry + 1:02d}"
            symbols.extend(
                f"{root}{day}{right}{(4000 + 10 * strike) * 1000:08d}"
                for strike in range(STRIKES)
                for right in "CP"
            )
    return pa.array(symbols)


def make_chunk(start: int, count: int, seed: int, symbols: pa.Array) -> pa.Table:
    """Return rows [start, start + count) of the synthetic data set (deterministic)."""
    rng = np.random.default_rng([seed, start])
    index = np.arange(start, start + count, dtype=np.int64)
    snapshot = index // ROWS_PER_SNAPSHOT
    within = index % ROWS_PER_SNAPSHOT
    underlying = within // CONTRACTS_PER_UNDERLYING
    snapshot_time = FIRST_SNAPSHOT + snapshot * SNAPSHOT_INTERVAL_MICROSECONDS
    timestamps = pa.timestamp("us", tz="UTC")
    mid = rng.gamma(2.0, 5.0, count)
    spread = rng.uniform(0.05, 0.5, count)

    def sometimes_null(values: np.ndarray, share: float) -> pa.Array:
        return pa.array(values, mask=rng.random(count) < share)

    columns = {
        "underlying": pa.array(UNDERLYINGS).take(pa.array(underlying)),
        "snapshot_time": pa.array(snapshot_time, timestamps),
        "contract_symbol": symbols.take(pa.array(within)),
        "bid": sometimes_null(mid - spread / 2, 0.02),
        "ask": sometimes_null(mid + spread / 2, 0.02),
        "last": sometimes_null(mid, 0.3),
        "mark": pa.nulls(count, pa.float64()),
        "price_currency": pa.array(["USD"] * count),
        "volume": sometimes_null(rng.poisson(50, count).astype(float), 0.1),
        "open_interest": pa.array(rng.poisson(500, count).astype(float)),
        "vendor_iv": sometimes_null(rng.uniform(0.08, 0.9, count), 0.05),
        "vendor_delta": sometimes_null(rng.uniform(-1, 1, count), 0.05),
        "vendor_gamma": sometimes_null(rng.uniform(0, 0.01, count), 0.05),
        "vendor_vega": sometimes_null(rng.uniform(0, 5, count), 0.05),
        "vendor_theta": sometimes_null(rng.uniform(-5, 0, count), 0.05),
        "underlying_price": pa.array(4800 + underlying * 10.0),
        "source": pa.array(["benchmark"] * count),
        "ts_event": pa.array(snapshot_time - rng.integers(0, 5_000_000, count), timestamps),
        "ts_ingested": pa.array(np.full(count, INGESTED), timestamps),
    }
    return pa.Table.from_pydict(columns, schema=arrow_schema(TABLE))


def chunks(rows: int, chunk_rows: int, seed: int) -> Iterator[pa.Table]:
    symbols = contract_symbols()
    for start in range(0, rows, chunk_rows):
        yield make_chunk(start, min(chunk_rows, rows - start), seed, symbols)


def timed_load(load: Callable[[pa.Table], None], args: argparse.Namespace) -> float:
    seconds = 0.0
    for chunk in chunks(args.rows, args.chunk_rows, args.seed):
        started = time.perf_counter()
        load(chunk)
        seconds += time.perf_counter() - started
    return seconds


def load_through_store(
    store: Store, args: argparse.Namespace, *, reload: bool = False
) -> tuple[float, int]:
    """Upsert every chunk through `store`; return (seconds, rows in the table).

    With `reload`, load everything first (untimed), then time upserting the same rows
    again: every key conflicts and nothing changes (the cost of re-importing a file).
    """
    with store:
        store.migrate()

        def upsert(chunk: pa.Table) -> None:
            store.upsert(TABLE, chunk)

        if reload:
            for chunk in chunks(args.rows, args.chunk_rows, args.seed):
                upsert(chunk)
        seconds = timed_load(upsert, args)
        return seconds, store.table_row_counts()[TABLE.name]


def load_raw_duckdb(path: Path, args: argparse.Namespace, *, table: str) -> tuple[float, int]:
    """Insert every chunk with a plain INSERT ... SELECT from the registered Arrow chunk.

    Args:
        path: Database file to create.
        args: Command line (rows, chunk size, seed).
        table: `"store"`: the table as `DuckDBStore.migrate()` creates it; `"primary-key"`:
            `create_table_sql(TABLE)`, with the PRIMARY KEY (migration 1's table).
    """
    if table == "store":
        with DuckDBStore(path) as store:
            store.migrate()
    with duckdb.connect(str(path)) as connection:
        connection.execute("SET TimeZone = 'UTC'")
        if table == "primary-key":
            connection.execute(create_table_sql(TABLE))

        def insert(chunk: pa.Table) -> None:
            connection.register("chunk", chunk)
            connection.execute(f"INSERT INTO {quote(TABLE.name)} SELECT * FROM chunk")
            connection.unregister("chunk")

        seconds = timed_load(insert, args)
        row = connection.execute(f"SELECT COUNT(*) FROM {quote(TABLE.name)}").fetchone()
        return seconds, int(row[0]) if row else 0


def load_raw_postgres(url: str, args: argparse.Namespace) -> tuple[float, int]:
    """COPY every chunk straight into the table, one transaction per chunk."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(create_table_sql(TABLE))
        copy_sql = f"COPY {quote(TABLE.name)} ({column_list(TABLE)}) FROM STDIN (FORMAT BINARY)"

        def copy(chunk: pa.Table) -> None:
            with (
                connection.transaction(),
                connection.cursor() as cursor,
                cursor.copy(copy_sql) as writer,
            ):
                for piece in iter_copy_binary(chunk):
                    writer.write(piece)

        seconds = timed_load(copy, args)
        row = connection.execute(f"SELECT COUNT(*) FROM {quote(TABLE.name)}").fetchone()
        return seconds, int(row[0]) if row else 0


def run_case(args: argparse.Namespace) -> dict[str, object]:
    """Run one case in this process and return its measurements."""
    workdir = Path(args.workdir)
    case: str = args.run_case
    if case == "duckdb-store":
        seconds, counted = load_through_store(DuckDBStore(workdir / "store.duckdb"), args)
    elif case == "duckdb-raw":
        seconds, counted = load_raw_duckdb(workdir / "raw.duckdb", args, table="store")
    elif case == "duckdb-raw-pk":
        seconds, counted = load_raw_duckdb(workdir / "raw.duckdb", args, table="primary-key")
    elif case == "postgres-store":
        seconds, counted = load_through_store(PostgresStore(args.postgres_url), args)
    elif case == "postgres-raw":
        seconds, counted = load_raw_postgres(args.postgres_url, args)
    elif case == "duckdb-store-reload":
        duckdb_store = DuckDBStore(workdir / "store.duckdb")
        seconds, counted = load_through_store(duckdb_store, args, reload=True)
    elif case == "postgres-store-reload":
        postgres_store = PostgresStore(args.postgres_url)
        seconds, counted = load_through_store(postgres_store, args, reload=True)
    else:
        raise SystemExit(f"unknown case {case!r}; choose from {', '.join(ALL_CASES)}")
    if counted != args.rows:
        raise SystemExit(f"{case}: expected {args.rows} rows in the table, found {counted}")
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"case": case, "rows": args.rows, "seconds": seconds, "peak_rss_mib": peak_kib / 1024}


def run_all(args: argparse.Namespace) -> list[dict[str, object]]:
    """Run every requested case `--repeat` times, each run in its own process.

    Runs are interleaved (all cases, then all cases again) so that load from other processes
    on the machine hits every case alike; the fastest run of each case is reported. Every
    PostgreSQL run gets a server of its own, so that no run pays for the background work
    (checkpoints, autovacuum) left behind by the one before.
    """
    cases = [case.strip() for case in args.cases.split(",") if case.strip()]
    runs: list[dict[str, object]] = []
    for case in cases * args.repeat:
        with contextlib.ExitStack() as stack:
            workdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="optionscope-bench-"))
            command = [
                sys.executable, __file__, "--run-case", case, "--workdir", workdir,
                "--rows", str(args.rows), "--chunk-rows", str(args.chunk_rows),
                "--seed", str(args.seed),
            ]  # fmt: skip
            if case.startswith("postgres"):
                server = stack.enter_context(LocalPostgresServer.start())
                command += ["--postgres-url", server.url()]
            output = subprocess.run(command, check=True, capture_output=True, text=True)
        run = json.loads(output.stdout)
        runs.append(run)
        rate = args.rows / run["seconds"]
        print(f"{case}: {run['seconds']:.1f} s, {rate:,.0f} rows/s", file=sys.stderr)
    best: dict[str, dict[str, object]] = {}
    for run in runs:
        case = str(run["case"])
        if case not in best or float(run["seconds"]) < float(best[case]["seconds"]):  # type: ignore[arg-type]
            best[case] = run
    for case, run in best.items():
        run["rates"] = [args.rows / float(r["seconds"]) for r in runs if r["case"] == case]  # type: ignore[arg-type]
    return [best[case] for case in cases]


def markdown_table(results: list[dict[str, object]]) -> str:
    """Return the results as a markdown table, with store/raw ratios per backend."""
    rates = {str(r["case"]): float(r["rows"]) / float(r["seconds"]) for r in results}  # type: ignore[arg-type]
    lines = [
        "| case | rows | seconds | rows/s | store / raw | peak RSS (MiB) | runs (rows/s) |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for result in results:
        case = str(result["case"])
        backend = case.partition("-")[0]
        raw_rate = rates.get(f"{backend}-raw")
        ratio = f"{rates[case] / raw_rate:.2f}" if case == f"{backend}-store" and raw_rate else ""
        runs = ", ".join(f"{rate / 1e6:.2f}M" for rate in result.get("rates", []))  # type: ignore[attr-defined]
        lines.append(
            f"| {case} | {result['rows']:,} | {float(result['seconds']):.1f} | "  # type: ignore[arg-type]
            f"{rates[case]:,.0f} | {ratio} | {float(result['peak_rss_mib']):,.0f} | {runs} |"  # type: ignore[arg-type]
        )
    return "\n".join(lines)


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows to load per case")
    parser.add_argument("--chunk-rows", type=int, default=500_000, help="rows per upsert")
    parser.add_argument("--seed", type=int, default=20240102)
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated cases")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (best is kept)")
    parser.add_argument("--run-case", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--postgres-url", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_arguments()
    if args.run_case:
        print(json.dumps(run_case(args)))
        return
    results = run_all(args)
    print(markdown_table(results))


if __name__ == "__main__":
    main()
