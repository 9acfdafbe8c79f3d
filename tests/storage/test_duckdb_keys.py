"""Keys the store enforces: option_chain_snapshots on DuckDB has no declared primary key.

The first tests run on both backends (PostgreSQL keeps its primary key, so they pin the two
to one behaviour); the rest are DuckDB's: the catalog, migration 2 of a version-1 file, the
writer lock that keeps snapshot-isolated transactions from inserting one key twice, and the
write path's own checks.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optionscope.domain import tables
from optionscope.storage import Between, DuckDBStore, DuplicateKeyError, Store, TransactionError
from optionscope.storage import duckdb_store as duckdb_store_module
from optionscope.storage.migrations import SCHEMA_MIGRATIONS, load_migrations
from optionscope.storage.sql import create_table_sql

MakeStore = Callable[..., Store]
CHAIN = tables.OPTION_CHAIN_SNAPSHOTS
KEY = list(CHAIN.primary_key)
T0 = pd.Timestamp("2024-03-01 14:30", tz="UTC")
LATER = T0 + pd.Timedelta(days=1)


def chain_rows(
    keys: list[tuple[str, pd.Timestamp, str]],
    *,
    bid: float | None = 1.0,
    ts_ingested: pd.Timestamp = T0,
) -> pd.DataFrame:
    count = len(keys)
    return pd.DataFrame(
        {
            "underlying": [underlying for underlying, _, _ in keys],
            "snapshot_time": pd.Series([time for _, time, _ in keys], dtype="datetime64[us, UTC]"),
            "contract_symbol": [symbol for _, _, symbol in keys],
            "bid": [bid] * count,
            "ask": [None if bid is None else bid + 0.1] * count,
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
            "ts_event": pd.Series([time for _, time, _ in keys], dtype="datetime64[us, UTC]"),
            "ts_ingested": [ts_ingested] * count,
        }
    )


def keys_of(symbols: str, snapshot: pd.Timestamp = T0) -> list[tuple[str, pd.Timestamp, str]]:
    return [("SPX", snapshot, symbol) for symbol in symbols]


def stored(store: Store) -> pd.DataFrame:
    return store.read(CHAIN, order_by=KEY)


# Both backends: the chain table's key behaves like a declared primary key.


def test_reloading_chain_rows_changes_nothing(store: Store) -> None:
    rows = chain_rows(keys_of("ABC"))
    store.upsert(CHAIN, rows)
    first = stored(store)
    assert store.upsert(CHAIN, rows.assign(ts_ingested=LATER)) == 3
    pd.testing.assert_frame_equal(stored(store), first)
    assert set(first["ts_ingested"]) == {T0}


def test_changed_chain_rows_replace_stored_ones_and_new_keys_are_added(store: Store) -> None:
    store.upsert(CHAIN, chain_rows(keys_of("AB"), bid=1.0))
    mixed = pd.concat(
        [
            chain_rows(keys_of("A"), bid=1.0, ts_ingested=LATER),  # unchanged
            chain_rows(keys_of("B"), bid=None, ts_ingested=LATER),  # value -> NULL
            chain_rows(keys_of("C"), bid=3.0, ts_ingested=LATER),  # new
        ],
        ignore_index=True,
    )
    store.upsert(CHAIN, mixed)
    frame = stored(store)
    assert frame["contract_symbol"].tolist() == ["A", "B", "C"]
    assert frame["bid"].isna().tolist() == [False, True, False]
    assert frame["ts_ingested"].tolist() == [T0, LATER, LATER]


def test_on_conflict_ignore_keeps_stored_chain_rows(store: Store) -> None:
    store.upsert(CHAIN, chain_rows(keys_of("AB"), bid=1.0))
    store.upsert(CHAIN, chain_rows(keys_of("BC"), bid=2.0), on_conflict="ignore")
    assert stored(store)["bid"].tolist() == [1.0, 1.0, 2.0]


@pytest.mark.parametrize("on_conflict", ["update", "ignore"])
@pytest.mark.parametrize("stored_first", [False, True], ids=["nothing-stored", "key-stored"])
def test_a_chain_batch_that_repeats_a_key_is_refused(
    store: Store, on_conflict: str, stored_first: bool
) -> None:
    if stored_first:
        store.upsert(CHAIN, chain_rows(keys_of("A"), bid=1.0))
    rows = chain_rows(keys_of("ABA"), bid=5.0)
    with pytest.raises(DuplicateKeyError, match=r"option_chain_snapshots: 1 row\(s\) repeat .*'A'"):
        store.upsert(CHAIN, rows, on_conflict=on_conflict)  # type: ignore[arg-type]
    assert stored(store)["bid"].tolist() == ([1.0] if stored_first else [])


def test_a_transaction_sees_the_chain_keys_it_wrote(store: Store) -> None:
    with store.transaction() as transaction:
        transaction.upsert(CHAIN, chain_rows(keys_of("AB"), bid=1.0))
        transaction.upsert(CHAIN, chain_rows(keys_of("BC"), bid=2.0, ts_ingested=LATER))
        transaction.upsert(CHAIN, chain_rows(keys_of("A"), bid=9.0), on_conflict="ignore")
    frame = stored(store)
    assert frame["bid"].tolist() == [1.0, 2.0, 2.0]
    assert frame["ts_ingested"].tolist() == [T0, LATER, LATER]


def test_a_refused_chain_batch_rolls_back_the_transaction(store: Store) -> None:
    def write_a_good_then_a_bad_batch() -> None:
        with store.transaction() as transaction:
            transaction.upsert(CHAIN, chain_rows(keys_of("AB")))
            transaction.upsert(CHAIN, chain_rows(keys_of("CC")))

    with pytest.raises(DuplicateKeyError):
        write_a_good_then_a_bad_batch()
    assert store.table_row_counts()[CHAIN.name] == 0


_SYMBOLS = st.sampled_from(["A", "B", "C"])
_TIMES = st.sampled_from([T0, T0 + pd.Timedelta(minutes=15)])
_BIDS = st.sampled_from([None, 1.0, 2.0])


@st.composite
def _batches(draw: st.DrawFn) -> list[tuple[str, dict[tuple[pd.Timestamp, str], object]]]:
    """Draw up to 5 batches: (on_conflict, {key: bid}) over 6 possible keys."""
    batches = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["update", "ignore"]),
                st.dictionaries(st.tuples(_TIMES, _SYMBOLS), _BIDS, max_size=6),
            ),
            min_size=1,
            max_size=5,
        )
    )
    return [(mode, dict(rows)) for mode, rows in batches]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(batches=_batches())
def test_upserts_match_a_model_of_the_key(
    make_store: MakeStore,
    batches: list[tuple[str, dict[tuple[pd.Timestamp, str], object]]],
) -> None:
    store = make_store()  # a fresh store per example: every batch commits
    model: dict[tuple[pd.Timestamp, str], tuple[object, pd.Timestamp]] = {}
    for number, (mode, batch) in enumerate(batches):
        ingested = T0 + pd.Timedelta(hours=number)
        frames = [
            chain_rows([("SPX", time, symbol)], bid=bid, ts_ingested=ingested)  # type: ignore[arg-type]
            for (time, symbol), bid in batch.items()
        ]
        rows = pd.concat(frames, ignore_index=True) if frames else chain_rows([])
        store.upsert(CHAIN, rows, on_conflict=mode)  # type: ignore[arg-type]
        for key, bid in batch.items():
            if key not in model or (mode == "update" and model[key][0] != bid):
                model[key] = (bid, ingested)
    frame = stored(store)
    expected = sorted(
        (time, symbol, bid, ingested) for (time, symbol), (bid, ingested) in model.items()
    )
    actual = [
        (time, symbol, None if pd.isna(bid) else bid, ingested)
        for time, symbol, bid, ingested in zip(
            frame["snapshot_time"], frame["contract_symbol"], frame["bid"], frame["ts_ingested"],
            strict=True,
        )
    ]  # fmt: skip
    assert actual == expected


# DuckDB only.


def test_duckdb_stores_the_chain_table_without_a_declared_key() -> None:
    with DuckDBStore() as store:
        store.migrate()
        for table in tables.CORE_TABLES:
            declared = store.reflect_table(table.name).primary_key
            expected = (
                () if table.name in duckdb_store_module.STORE_ENFORCED_KEYS else table.primary_key
            )
            assert declared == expected, table.name


def _version_1_store(path: Path) -> DuckDBStore:
    """Return a DuckDB store at schema version 1, as the release before migration 2 left it."""
    store = DuckDBStore(path)
    with store.transaction():
        store._execute(create_table_sql(SCHEMA_MIGRATIONS))
        for statement in load_migrations("duckdb")[0].statements:
            store._execute(statement)
        store._execute("INSERT INTO schema_migrations VALUES (1, 'core_tables', CURRENT_TIMESTAMP)")
    return store


def test_migration_2_keeps_the_rows_of_a_version_1_duckdb_file(tmp_path: Path) -> None:
    with _version_1_store(tmp_path / "v1.duckdb") as store:
        assert store.reflect_table(CHAIN.name).primary_key == CHAIN.primary_key
        store.upsert(CHAIN, chain_rows(keys_of("ABC"), bid=1.0))
        store.upsert(CHAIN, chain_rows(keys_of("C"), bid=3.0))  # ON the v1 table, with its key
        before = stored(store)
    with DuckDBStore(tmp_path / "v1.duckdb") as store:
        assert store.migrate() == [2]
        assert store.reflect_table(CHAIN.name).primary_key == ()
        pd.testing.assert_frame_equal(stored(store), before)
        store.upsert(CHAIN, chain_rows(keys_of("CD"), bid=4.0))
        assert stored(store)["bid"].tolist() == [1.0, 1.0, 4.0, 4.0]


def test_writers_of_one_duckdb_file_take_turns(tmp_path: Path) -> None:
    path = tmp_path / "shared.duckdb"
    with DuckDBStore(path) as first, DuckDBStore(path) as second:
        first.migrate()
        errors: list[BaseException] = []

        def write_second() -> None:
            try:
                second.upsert(CHAIN, chain_rows(keys_of("AB"), bid=2.0))
            except BaseException as error:  # noqa: BLE001 (asserted below)
                errors.append(error)

        with first.transaction() as transaction:
            transaction.upsert(CHAIN, chain_rows(keys_of("A"), bid=1.0))
            writer = threading.Thread(target=write_second)
            writer.start()
            writer.join(timeout=0.5)
            assert writer.is_alive(), "the second writer should wait for the first transaction"
        writer.join(timeout=30)
        assert not writer.is_alive()
        assert errors == []
        assert stored(first)["bid"].tolist() == [2.0, 2.0]  # one row per key, last write wins


def test_a_second_store_of_the_file_cannot_open_a_transaction_in_the_same_thread(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shared.duckdb"
    with DuckDBStore(path) as first, DuckDBStore(path) as second:
        first.migrate()
        with first.transaction() as transaction:
            transaction.upsert(CHAIN, chain_rows(keys_of("A")))
            with pytest.raises(TransactionError, match="has a transaction open in this thread"):
                second.upsert(CHAIN, chain_rows(keys_of("A")))
        second.upsert(CHAIN, chain_rows(keys_of("B")))  # the lock was released
        with contextlib.suppress(RuntimeError), first.transaction():
            raise RuntimeError("rolled back")
        second.upsert(CHAIN, chain_rows(keys_of("C")))  # released by a rollback too
        assert stored(first)["contract_symbol"].tolist() == ["A", "B", "C"]


def test_in_memory_stores_are_separate_databases_without_a_shared_lock() -> None:
    with DuckDBStore() as first, DuckDBStore() as second:
        first.migrate()
        second.migrate()
        with first.transaction(), second.transaction():
            pass


def test_a_key_hash_collision_is_not_taken_for_a_repeated_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with DuckDBStore() as store:
        store.migrate()
        store._execute("CREATE MACRO collide(a, b, c) AS 0")
        monkeypatch.setattr(duckdb_store_module, "_KEY_HASH", "collide")
        store.upsert(CHAIN, chain_rows(keys_of("ABC")))  # three keys, one "hash"
        with pytest.raises(DuplicateKeyError, match=r"1 row\(s\) repeat"):
            store.upsert(CHAIN, chain_rows(keys_of("DED")))
        assert stored(store)["contract_symbol"].tolist() == ["A", "B", "C"]


@pytest.fixture(scope="module")
def big_batches() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two batches of 150,000 rows (several row groups each); the second one's first half is
    stored by the first (with other values), its second half is new."""
    symbols = np.array([f"C{number:05d}" for number in range(500)], dtype=object)

    def batch(steps: range, bid: float) -> pd.DataFrame:
        frame = chain_rows(keys_of("A")).loc[[0] * (len(steps) * len(symbols))]
        frame = frame.reset_index(drop=True)
        times = T0 + pd.to_timedelta(np.repeat(np.array(steps) * 15, len(symbols)), unit="min")
        frame["snapshot_time"] = frame["ts_event"] = times.as_unit("us")
        frame["contract_symbol"] = np.tile(symbols, len(steps))
        frame["bid"] = bid + np.arange(len(frame)) % 7
        return frame

    return batch(range(300), 1.0), batch(range(150, 450), 100.0)


def test_large_batches_keep_one_row_per_key(big_batches: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    first, second = big_batches
    with DuckDBStore() as store:
        store.migrate()
        store.upsert(CHAIN, first)
        store.upsert(CHAIN, second.assign(ts_ingested=LATER))
        counts = store._query(
            'SELECT COUNT(*), COUNT(DISTINCT ("underlying", "snapshot_time", "contract_symbol")) '
            "FROM option_chain_snapshots"
        )[0]
        assert counts == (450 * 500, 450 * 500)
        frame = stored(store)
        written_twice = frame["snapshot_time"] >= T0 + pd.Timedelta(minutes=15 * 150)
        assert (frame.loc[written_twice, "bid"] >= 100.0).all()
        assert (frame.loc[~written_twice, "bid"] < 8.0).all()
        assert set(frame.loc[written_twice, "ts_ingested"]) == {LATER}
        assert set(frame.loc[~written_twice, "ts_ingested"]) == {T0}


def test_reads_of_the_chain_table_by_key_and_range_see_the_rows(
    big_batches: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    first, _ = big_batches
    with DuckDBStore() as store:
        store.migrate()
        store.upsert(CHAIN, first)
        when = T0 + pd.Timedelta(minutes=15 * 42)
        one = store.read(
            CHAIN, where={"underlying": "SPX", "snapshot_time": when, "contract_symbol": "C00007"}
        )
        assert one["bid"].tolist() == [first.loc[42 * 500 + 7, "bid"]]
        hour = Between(when.to_pydatetime(), (when + pd.Timedelta(hours=1)).to_pydatetime())
        assert len(store.read(CHAIN, where={"snapshot_time": hour})) == 5 * 500
