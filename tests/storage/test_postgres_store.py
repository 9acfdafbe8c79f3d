"""PostgreSQL specifics: the append fast path and its fallback, concurrency, TimescaleDB."""

from __future__ import annotations

import threading
import time

import pandas as pd
import psycopg
import pytest

from optionscope.domain import tables
from optionscope.storage import DuckDBStore, PostgresStore

pytestmark = pytest.mark.postgres

T0 = pd.Timestamp("2024-03-01 21:00", tz="UTC")


def chain_rows(contracts: list[str], *, bid: float, snapshot: pd.Timestamp = T0) -> pd.DataFrame:
    count = len(contracts)
    return pd.DataFrame(
        {
            "underlying": ["SPX"] * count,
            "snapshot_time": [snapshot] * count,
            "contract_symbol": contracts,
            "bid": [bid] * count,
            "ask": [bid + 0.1] * count,
            "last": [None] * count,
            "mark": [None] * count,
            "price_currency": ["USD"] * count,
            "volume": [10.0] * count,
            "open_interest": [None] * count,
            "vendor_iv": [0.2] * count,
            "vendor_delta": [0.5] * count,
            "vendor_gamma": [None] * count,
            "vendor_vega": [None] * count,
            "vendor_theta": [None] * count,
            "underlying_price": [5000.0] * count,
            "source": ["test"] * count,
            "ts_event": [snapshot] * count,
            "ts_ingested": [T0] * count,
        }
    )


def staging_tables(url: str) -> int:
    with psycopg.connect(url) as connection:
        row = connection.execute(
            "SELECT COUNT(*) FROM pg_class WHERE relname LIKE 'optionscope_incoming%%'"
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_conflicting_batches_in_one_transaction_fall_back_and_drop_staging(
    postgres_url: str,
) -> None:
    with PostgresStore(postgres_url) as store:
        store.migrate()
        store.upsert(tables.OPTION_CHAIN_SNAPSHOTS, chain_rows(["A", "B"], bid=1.0))
        with store.transaction() as transaction:
            # The first key is stored: straight to the staging table.
            transaction.upsert(tables.OPTION_CHAIN_SNAPSHOTS, chain_rows(["B", "C"], bid=2.0))
            # The first key is new, a later one stored: the direct COPY fails and rolls back.
            transaction.upsert(tables.OPTION_CHAIN_SNAPSHOTS, chain_rows(["D", "C"], bid=3.0))
        stored = store.read(tables.OPTION_CHAIN_SNAPSHOTS, order_by=["contract_symbol"])
        assert stored["bid"].tolist() == [1.0, 2.0, 3.0, 3.0]
        assert staging_tables(postgres_url) == 0


def test_a_writer_waiting_on_another_transaction_updates_after_it_commits(
    postgres_url: str,
) -> None:
    with PostgresStore(postgres_url) as first, PostgresStore(postgres_url) as second:
        first.migrate()
        errors: list[BaseException] = []

        def write_second() -> None:
            try:
                second.upsert(tables.OPTION_CHAIN_SNAPSHOTS, chain_rows(["A", "B"], bid=2.0))
            except BaseException as error:  # noqa: BLE001 (asserted below)
                errors.append(error)

        with first.transaction() as transaction:
            transaction.upsert(tables.OPTION_CHAIN_SNAPSHOTS, chain_rows(["A"], bid=1.0))
            writer = threading.Thread(target=write_second)
            writer.start()
            _wait_for_a_lock_wait(postgres_url)
        writer.join(timeout=30)
        assert errors == []
        stored = first.read(tables.OPTION_CHAIN_SNAPSHOTS, order_by=["contract_symbol"])
        assert stored["bid"].tolist() == [2.0, 2.0]


def _wait_for_a_lock_wait(url: str, timeout_secs: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_secs
    with psycopg.connect(url, autocommit=True) as connection:
        while time.monotonic() < deadline:
            row = connection.execute(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            ).fetchone()
            if row is not None and row[0] > 0:
                return
            time.sleep(0.02)
    pytest.fail("the second writer never waited for the first transaction")


def test_describe_says_why_tables_are_plain_without_timescaledb(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as connection:
        available = connection.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
        ).fetchall()
    if available:
        pytest.skip("this server offers timescaledb; the hypertable test covers it")
    with PostgresStore(postgres_url) as store:
        store.migrate()
        description = store.describe()
    assert description.time_partitioning == "none"
    assert description.hypertables == ()
    assert description.notes == ("timescaledb is not available on this server: plain tables",)
    assert description.server_version.startswith("PostgreSQL ")


def test_time_keyed_tables_become_hypertables_when_timescaledb_is_offered(
    postgres_url: str,
) -> None:
    with psycopg.connect(postgres_url) as connection:
        available = connection.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
        ).fetchall()
    if not available:
        pytest.skip("timescaledb is not installed on this machine's PostgreSQL")
    with PostgresStore(postgres_url) as store:
        store.migrate()
        description = store.describe()
    expected = tuple(sorted(t.name for t in tables.CORE_TABLES if t.time_column))
    assert description.time_partitioning == "timescaledb", description.notes
    assert description.hypertables == expected


def test_both_backends_return_equal_frames(postgres_url: str) -> None:
    rows = pd.concat(
        [
            chain_rows(["A", "B", "C"], bid=1.25),
            chain_rows(["A"], bid=2.5, snapshot=T0 + pd.Timedelta(minutes=15)),
        ],
        ignore_index=True,
    )
    rows.loc[1, "bid"] = None
    rows.loc[2, "source"] = 'quote "ü"\nnext line'
    frames = []
    for store in (PostgresStore(postgres_url), DuckDBStore()):
        with store:
            store.migrate()
            store.upsert(tables.OPTION_CHAIN_SNAPSHOTS, rows)
            frames.append(
                store.read(
                    tables.OPTION_CHAIN_SNAPSHOTS,
                    where={"underlying": "SPX"},
                    order_by=["-snapshot_time", "contract_symbol"],
                )
            )
    pd.testing.assert_frame_equal(frames[0], frames[1])
    assert frames[0]["contract_symbol"].tolist() == ["A", "A", "B", "C"]
    assert frames[0]["source"].tolist()[3] == 'quote "ü"\nnext line'
