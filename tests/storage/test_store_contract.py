"""The `Store` contract: every test here runs unchanged on DuckDB and on PostgreSQL."""

from __future__ import annotations

import contextlib
import datetime as dt
import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optionscope.domain import tables
from optionscope.domain.tables import LogicalType, TableSpec
from optionscope.storage import (
    Between,
    DuplicateKeyError,
    InvalidRowsError,
    Store,
    TransactionError,
)
from optionscope.storage.migrations import load_migrations

MakeStore = Callable[..., Store]

T0 = pd.Timestamp("2024-03-01 21:00", tz="UTC")
D1, D2, D3 = dt.date(2024, 3, 1), dt.date(2024, 3, 4), dt.date(2024, 3, 5)


def daily_bars(
    keys: list[tuple[str, dt.date]],
    *,
    close: float = 100.0,
    ts_ingested: pd.Timestamp = T0,
) -> pd.DataFrame:
    count = len(keys)
    return pd.DataFrame(
        {
            "ticker": [ticker for ticker, _ in keys],
            "session_date": [session for _, session in keys],
            "open": [close - 1.0] * count,
            "high": [close + 2.0] * count,
            "low": [close - 2.0] * count,
            "close": [close] * count,
            "volume": [1_000_000.0] * count,
            "is_adjusted": [False] * count,
            "source": ["test"] * count,
            "ts_ingested": [ts_ingested] * count,
        }
    )


def tickers(names: list[str], *, is_watchlist: bool) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ticker": names,
            "asset_class": ["etf"] * len(names),
            "currency": ["USD"] * len(names),
            "option_multiplier": [100.0] * len(names),
            "is_watchlist": [is_watchlist] * len(names),
            "calendar": ["XNYS"] * len(names),
            "name": [None] * len(names),
        }
    )


def quarantine(lines: list[int]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "file_sha256": ["ab" * 32] * len(lines),
            "line_number": lines,
            "field": ["bid"] * len(lines),
            "file_name": ["chain.csv"] * len(lines),
            "reason": ["negative bid"] * len(lines),
            "raw_line": [f"line {n}" if n % 2 else None for n in lines],
            "ts_ingested": [T0] * len(lines),
        }
    )


def sorted_frame(frame: pd.DataFrame, table: TableSpec) -> pd.DataFrame:
    return frame.sort_values(list(table.primary_key), ignore_index=True)


# Migrations and bookkeeping.


def test_fresh_store_has_schema_version_zero_until_migrated(make_store: MakeStore) -> None:
    store = make_store(migrated=False)
    assert store.schema_version() == 0
    assert store.table_row_counts() == {}
    latest = len(load_migrations())
    assert store.migrate() == list(range(1, latest + 1))
    assert store.schema_version() == latest


def test_migrate_is_idempotent(store: Store) -> None:
    assert store.migrate() == []
    assert store.migrate() == []
    assert store.schema_version() == len(load_migrations())


def test_table_row_counts_cover_every_core_table(store: Store) -> None:
    assert store.table_row_counts() == {table.name: 0 for table in tables.CORE_TABLES}
    store.upsert(tables.OHLCV_DAILY, daily_bars([("SPY", D1), ("SPY", D2), ("QQQ", D1)]))
    store.upsert(tables.TICKERS, tickers(["SPY"], is_watchlist=True))
    counts = store.table_row_counts()
    assert counts["ohlcv_daily"] == 3
    assert counts["tickers"] == 1
    assert sum(counts.values()) == 4


def test_describe_names_backend_and_schema(store: Store) -> None:
    description = store.describe()
    assert description.backend == store.backend
    assert description.url == store.url
    assert description.schema_version == len(load_migrations())
    assert description.time_partitioning in {"none", "timescaledb"}


# Upsert semantics.


def test_upsert_returns_the_number_of_rows_given(store: Store) -> None:
    assert store.upsert(tables.OHLCV_DAILY, daily_bars([("SPY", D1), ("SPY", D2)])) == 2
    assert store.upsert(tables.OHLCV_DAILY, daily_bars([("SPY", D1), ("SPY", D2)])) == 2


def test_upserting_the_same_rows_twice_leaves_identical_rows(store: Store) -> None:
    rows = daily_bars([("SPY", D1), ("SPY", D2), ("QQQ", D1)])
    store.upsert(tables.OHLCV_DAILY, rows)
    first = store.read(tables.OHLCV_DAILY, order_by=["ticker", "session_date"])
    store.upsert(tables.OHLCV_DAILY, rows.assign(ts_ingested=T0 + pd.Timedelta(days=1)))
    second = store.read(tables.OHLCV_DAILY, order_by=["ticker", "session_date"])
    pd.testing.assert_frame_equal(first, second)
    assert set(second["ts_ingested"]) == {T0}


def test_changed_values_replace_the_stored_row(store: Store) -> None:
    store.upsert(tables.OHLCV_DAILY, daily_bars([("SPY", D1), ("SPY", D2)], close=100.0))
    later = T0 + pd.Timedelta(hours=5)
    store.upsert(tables.OHLCV_DAILY, daily_bars([("SPY", D2)], close=101.5, ts_ingested=later))
    stored = store.read(tables.OHLCV_DAILY, order_by=["session_date"])
    assert stored["close"].tolist() == [100.0, 101.5]
    assert stored["high"].tolist() == [102.0, 103.5]
    assert stored["ts_ingested"].tolist() == [T0, later]


def test_a_null_replacing_a_value_is_a_change(store: Store) -> None:
    store.upsert(tables.INGEST_QUARANTINE, quarantine([1, 3]))
    changed = quarantine([1, 3]).assign(raw_line=pd.Series([None, "line 3"], dtype=object))
    store.upsert(tables.INGEST_QUARANTINE, changed)
    stored = store.read(tables.INGEST_QUARANTINE, order_by=["line_number"])
    assert stored["raw_line"].isna().tolist() == [True, False]


def test_on_conflict_ignore_keeps_stored_rows_and_adds_missing_keys(store: Store) -> None:
    store.upsert(tables.TICKERS, tickers(["SPY", "QQQ"], is_watchlist=True))
    written = store.upsert(
        tables.TICKERS, tickers(["SPY", "IWM"], is_watchlist=False), on_conflict="ignore"
    )
    assert written == 2
    stored = store.read(tables.TICKERS, order_by=["ticker"])
    assert stored["ticker"].tolist() == ["IWM", "QQQ", "SPY"]
    assert stored["is_watchlist"].tolist() == [False, True, True]


def test_a_batch_of_stored_and_new_keys_updates_some_and_inserts_others(store: Store) -> None:
    store.upsert(tables.OHLCV_DAILY, daily_bars([("SPY", D1), ("SPY", D2)], close=100.0))
    later = T0 + pd.Timedelta(days=1)
    mixed = pd.concat(
        [
            daily_bars([("SPY", D1)], close=100.0, ts_ingested=later),  # unchanged
            daily_bars([("SPY", D2)], close=99.0, ts_ingested=later),  # changed
            daily_bars([("SPY", D3), ("QQQ", D1)], close=50.0, ts_ingested=later),  # new
        ],
        ignore_index=True,
    )
    store.upsert(tables.OHLCV_DAILY, mixed)
    stored = store.read(tables.OHLCV_DAILY, order_by=["ticker", "session_date"])
    assert list(zip(stored["ticker"], stored["session_date"], stored["close"], strict=True)) == [
        ("QQQ", D1, 50.0),
        ("SPY", D1, 100.0),
        ("SPY", D2, 99.0),
        ("SPY", D3, 50.0),
    ]
    assert stored["ts_ingested"].tolist() == [later, T0, later, later]


def test_on_conflict_must_be_update_or_ignore(store: Store) -> None:
    with pytest.raises(ValueError, match="on_conflict"):
        store.upsert(tables.TICKERS, tickers(["SPY"], is_watchlist=True), on_conflict="replace")  # type: ignore[arg-type]


def test_an_empty_batch_writes_nothing(store: Store) -> None:
    assert store.upsert(tables.OHLCV_DAILY, daily_bars([])) == 0
    assert store.table_row_counts()["ohlcv_daily"] == 0


@pytest.mark.parametrize("on_conflict", ["update", "ignore"])
def test_duplicate_keys_in_one_batch_are_refused(store: Store, on_conflict: str) -> None:
    rows = daily_bars([("SPY", D1), ("SPY", D2), ("SPY", D1)])
    with pytest.raises(DuplicateKeyError, match=r"ohlcv_daily: 1 row\(s\) repeat .*'SPY'"):
        store.upsert(tables.OHLCV_DAILY, rows, on_conflict=on_conflict)  # type: ignore[arg-type]
    assert store.table_row_counts()["ohlcv_daily"] == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns=["volume"]), r"missing \['volume'\]"),
        (lambda f: f.assign(vwap=1.0), r"unexpected \['vwap'\]"),
        (lambda f: f.assign(close=[None, 1.0]), "ohlcv_daily.close is not nullable"),
        (lambda f: f.assign(close=[math.nan, 1.0]), "ohlcv_daily.close is not nullable"),
        (
            lambda f: f.assign(ts_ingested=[pd.Timestamp("2024-03-01 21:00")] * 2),
            "timezone-aware",
        ),
        (lambda f: f.assign(close=["1.0", "2.0"]), "expected numbers"),
        (lambda f: f.assign(ticker=["SPY\x00", "QQQ"]), "NUL"),
    ],
    ids=["missing", "extra", "null", "nan", "naive", "text-for-float", "nul-char"],
)
def test_rows_that_do_not_fit_the_table_are_refused(
    store: Store, change: Callable[[pd.DataFrame], pd.DataFrame], message: str
) -> None:
    rows = change(daily_bars([("SPY", D1), ("QQQ", D1)]))
    with pytest.raises(InvalidRowsError, match=message):
        store.upsert(tables.OHLCV_DAILY, rows)
    assert store.table_row_counts()["ohlcv_daily"] == 0


# Transactions.


def test_a_transaction_commits_all_its_writes(store: Store) -> None:
    with store.transaction() as transaction:
        transaction.upsert(tables.TICKERS, tickers(["SPY"], is_watchlist=False))
        transaction.upsert(tables.OHLCV_DAILY, daily_bars([("SPY", D1)]))
    assert store.table_row_counts()["tickers"] == 1
    assert store.table_row_counts()["ohlcv_daily"] == 1


def test_an_exception_rolls_back_every_write_of_the_transaction(store: Store) -> None:
    store.upsert(tables.OHLCV_DAILY, daily_bars([("SPY", D1)], close=100.0))

    def import_then_fail() -> None:
        with store.transaction() as transaction:
            transaction.upsert(tables.TICKERS, tickers(["SPY"], is_watchlist=False))
            transaction.upsert(tables.OHLCV_DAILY, daily_bars([("SPY", D1)], close=1.0))
            transaction.upsert(tables.OHLCV_DAILY, daily_bars([("SPY", D2)], close=1.0))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        import_then_fail()
    assert store.table_row_counts()["tickers"] == 0
    assert store.read(tables.OHLCV_DAILY)["close"].tolist() == [100.0]


def test_a_refused_batch_rolls_back_the_transaction(store: Store) -> None:
    def import_with_a_bad_batch() -> None:
        with store.transaction() as transaction:
            transaction.upsert(tables.TICKERS, tickers(["SPY"], is_watchlist=False))
            transaction.upsert(tables.OHLCV_DAILY, daily_bars([("SPY", D1), ("SPY", D1)]))

    with pytest.raises(DuplicateKeyError):
        import_with_a_bad_batch()
    assert store.table_row_counts()["tickers"] == 0
    store.upsert(tables.TICKERS, tickers(["QQQ"], is_watchlist=False))  # the store still works
    assert store.read(tables.TICKERS)["ticker"].tolist() == ["QQQ"]


def test_transactions_do_not_nest_and_end_with_their_block(store: Store) -> None:
    with store.transaction() as transaction:
        with pytest.raises(TransactionError, match="inside an open transaction"):
            store.upsert(tables.TICKERS, tickers(["SPY"], is_watchlist=False))
        transaction.upsert(tables.TICKERS, tickers(["QQQ"], is_watchlist=False))
    with pytest.raises(TransactionError, match="has ended"):
        transaction.upsert(tables.TICKERS, tickers(["IWM"], is_watchlist=False))
    assert store.read(tables.TICKERS)["ticker"].tolist() == ["QQQ"]


def test_reads_inside_a_transaction_see_its_writes(store: Store) -> None:
    with store.transaction() as transaction:
        transaction.upsert(tables.TICKERS, tickers(["SPY"], is_watchlist=False))
        assert store.read(tables.TICKERS)["ticker"].tolist() == ["SPY"]


# Reads.


@pytest.fixture
def stored_bars(store: Store) -> Store:
    keys = [(ticker, session) for ticker in ("SPY", "QQQ", "IWM") for session in (D1, D2, D3)]
    frame = daily_bars(keys)
    frame["close"] = np.arange(len(keys), dtype=float)
    store.upsert(tables.OHLCV_DAILY, frame)
    return store


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"ticker": "SPY"}, [("SPY", D1), ("SPY", D2), ("SPY", D3)]),
        ({"ticker": "SPY", "session_date": D2}, [("SPY", D2)]),
        ({"session_date": Between(D2, D3), "ticker": "QQQ"}, [("QQQ", D2), ("QQQ", D3)]),
        ({"session_date": Between(low=D3), "ticker": "IWM"}, [("IWM", D3)]),
        ({"session_date": Between(high=D1), "ticker": ["IWM", "QQQ"]}, [("IWM", D1), ("QQQ", D1)]),
        ({"close": Between(7.0, 100.0)}, [("IWM", D2), ("IWM", D3)]),
        ({"ticker": []}, []),
        ({"ticker": "DIA"}, []),
    ],
    ids=["equal", "two-columns", "between", "open-high", "in", "float-range", "empty-in", "none"],
)
def test_read_filters_rows(
    stored_bars: Store, where: dict[str, object], expected: list[tuple[str, dt.date]]
) -> None:
    frame = stored_bars.read(tables.OHLCV_DAILY, where=where, order_by=["ticker", "session_date"])
    assert list(zip(frame["ticker"], frame["session_date"], strict=True)) == expected


def test_read_filters_timestamps_by_aware_bounds(store: Store) -> None:
    store.upsert(tables.INGEST_QUARANTINE, quarantine([1]))
    store.upsert(
        tables.INGEST_QUARANTINE,
        quarantine([2]).assign(ts_ingested=[T0 + pd.Timedelta(hours=1)]),
    )
    new_york = dt.timezone(dt.timedelta(hours=-5))
    low = dt.datetime(2024, 3, 1, 16, 30, tzinfo=new_york)  # 21:30 UTC
    frame = store.read(tables.INGEST_QUARANTINE, where={"ts_ingested": Between(low, None)})
    assert frame["line_number"].tolist() == [2]


def test_read_orders_descending_with_nulls_last(store: Store) -> None:
    store.upsert(tables.INGEST_QUARANTINE, quarantine([1, 2, 3, 4]))
    frame = store.read(tables.INGEST_QUARANTINE, order_by=["-raw_line", "line_number"])
    assert frame["raw_line"].tolist()[:2] == ["line 3", "line 1"]
    assert frame["line_number"].tolist() == [3, 1, 2, 4]


def test_read_where_none_selects_nulls(store: Store) -> None:
    store.upsert(tables.INGEST_QUARANTINE, quarantine([1, 2, 3, 4]))
    frame = store.read(tables.INGEST_QUARANTINE, where={"raw_line": None}, order_by=["line_number"])
    assert frame["line_number"].tolist() == [2, 4]


def test_text_sorts_by_code_point(store: Store) -> None:
    store.upsert(tables.TICKERS, tickers(["b", "B", "a", "Ä", "A"], is_watchlist=False))
    assert store.read(tables.TICKERS, order_by=["ticker"])["ticker"].tolist() == [
        "A",
        "B",
        "a",
        "b",
        "Ä",
    ]


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ({"vwap": 1.0}, "has no column 'vwap'"),
        ({"ts_ingested": dt.datetime(2024, 3, 1, 21)}, "aware datetimes"),  # noqa: DTZ001
        ({"session_date": dt.datetime(2024, 3, 1, tzinfo=dt.UTC)}, "is not a date"),
        ({"ticker": 5}, "is not a text value"),
    ],
    ids=["unknown-column", "naive-datetime", "datetime-for-date", "int-for-text"],
)
def test_read_refuses_bad_conditions(
    stored_bars: Store, where: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidRowsError, match=message):
        stored_bars.read(tables.OHLCV_DAILY, where=where)


def test_read_refuses_unknown_order_column(stored_bars: Store) -> None:
    with pytest.raises(InvalidRowsError, match="has no column 'vwap'"):
        stored_bars.read(tables.OHLCV_DAILY, order_by=["-vwap"])


def test_an_empty_read_has_the_canonical_columns_and_dtypes(store: Store) -> None:
    frame = store.read(tables.INGEST_QUARANTINE)
    assert list(frame.columns) == list(tables.INGEST_QUARANTINE.column_names)
    assert len(frame) == 0
    assert frame.dtypes.astype(str).to_dict() == {
        "file_sha256": "str",
        "line_number": "int64",
        "field": "str",
        "file_name": "str",
        "reason": "str",
        "raw_line": "str",
        "ts_ingested": "datetime64[us, UTC]",
    }


def test_floats_keep_infinities_and_store_nan_as_null(store: Store) -> None:
    rows = daily_bars([("SPY", D1)])
    chain = pd.DataFrame(
        {
            "underlying": ["SPX"] * 3,
            "snapshot_time": [T0] * 3,
            "contract_symbol": ["A", "B", "C"],
            "bid": [math.inf, -math.inf, math.nan],
            **{name: [None] * 3 for name in ("ask", "last", "mark", "volume", "open_interest")},
            "price_currency": ["USD"] * 3,
            **{
                name: [0.1, 5e-324, -0.0]
                for name in (
                    "vendor_iv",
                    "vendor_delta",
                    "vendor_gamma",
                    "vendor_vega",
                    "vendor_theta",
                    "underlying_price",
                )
            },
            "source": ["test"] * 3,
            "ts_event": [T0] * 3,
            "ts_ingested": [T0] * 3,
        }
    )
    store.upsert(tables.OHLCV_DAILY, rows)
    store.upsert(tables.OPTION_CHAIN_SNAPSHOTS, chain)
    stored = store.read(tables.OPTION_CHAIN_SNAPSHOTS, order_by=["contract_symbol"])
    assert stored["bid"].tolist()[:2] == [math.inf, -math.inf]
    assert math.isnan(stored["bid"].iloc[2])
    assert stored["vendor_iv"].tolist()[:2] == [0.1, 5e-324]
    assert stored["ask"].isna().all()


# Hypothesis round trips: any valid batch comes back exactly as written.

_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
    max_size=12,
)
_VALUES: dict[LogicalType, st.SearchStrategy[object]] = {
    LogicalType.TEXT: _TEXT,
    LogicalType.FLOAT: st.floats(allow_nan=False, width=64),
    LogicalType.INT: st.integers(min_value=-(2**63), max_value=2**63 - 1),
    LogicalType.BOOL: st.booleans(),
    LogicalType.DATE: st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31)),
    LogicalType.TIMESTAMP: st.datetimes(
        min_value=dt.datetime(1900, 1, 1),  # noqa: DTZ001 (bounds; values get UTC)
        max_value=dt.datetime(2200, 12, 31),  # noqa: DTZ001
        timezones=st.just(dt.UTC),
    ),
}
_EXPECTED_DTYPES: dict[LogicalType, str] = {
    LogicalType.TEXT: "str",
    LogicalType.FLOAT: "float64",
    LogicalType.INT: "int64",
    LogicalType.BOOL: "bool",
    LogicalType.DATE: "object",
    LogicalType.TIMESTAMP: "datetime64[us, UTC]",
}
_NULLABLE_DTYPES: dict[LogicalType, str] = {LogicalType.INT: "Int64", LogicalType.BOOL: "boolean"}


@st.composite
def valid_rows(draw: st.DrawFn, table: TableSpec) -> pd.DataFrame:
    """Draw up to 8 rows of `table` with distinct keys, NULLs in nullable columns."""

    def row_strategy() -> st.SearchStrategy[dict[str, object]]:
        fields: dict[str, st.SearchStrategy[object]] = {}
        for column in table.columns:
            values = _VALUES[column.type]
            fields[column.name] = st.none() | values if column.nullable else values
        return st.fixed_dictionaries(fields)

    rows = draw(
        st.lists(
            row_strategy(),
            max_size=8,
            unique_by=lambda row: tuple(row[name] for name in table.primary_key),
        )
    )
    columns: dict[str, pd.Series] = {}
    for column in table.columns:
        dtype = _EXPECTED_DTYPES[column.type]
        if column.nullable:
            dtype = _NULLABLE_DTYPES.get(column.type, dtype)
        values = [row[column.name] for row in rows]
        columns[column.name] = pd.Series(values, dtype=dtype)
    return pd.DataFrame(columns)


ROUND_TRIP_TABLES = [
    tables.OHLCV_DAILY,
    tables.OPTION_CHAIN_SNAPSHOTS,
    tables.CHAIN_SNAPSHOTS,
    tables.INGEST_QUARANTINE,
    tables.TICKERS,
]


class _RollBackError(Exception):
    """Raised to end a round-trip example by rolling its writes back."""


@pytest.mark.parametrize("table", ROUND_TRIP_TABLES, ids=lambda table: table.name)
@settings(
    max_examples=25,
    deadline=None,
    # Each example rolls its writes back, so the store is empty again for the next one.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_written_rows_read_back_unchanged(
    store: Store, table: TableSpec, data: st.DataObject
) -> None:
    rows = data.draw(valid_rows(table))
    read_back: pd.DataFrame | None = None
    with contextlib.suppress(_RollBackError), store.transaction() as transaction:
        assert transaction.upsert(table, rows) == len(rows)
        read_back = store.read(table, order_by=list(table.primary_key))
        raise _RollBackError
    assert read_back is not None
    expected = rows.copy()
    if len(expected):
        key = list(table.primary_key)
        expected = expected.sort_values(key, ignore_index=True)
    pd.testing.assert_frame_equal(read_back, expected.reset_index(drop=True))
    assert store.table_row_counts()[table.name] == 0


@pytest.mark.parametrize("on_conflict", ["update", "ignore"])
@pytest.mark.parametrize(
    "sessions", [[D1, D2, D1], [D2, D1, D2]], ids=["stored-first", "new-first"]
)
def test_duplicate_keys_are_refused_when_a_key_is_already_stored(
    store: Store, on_conflict: str, sessions: list[dt.date]
) -> None:
    store.upsert(tables.OHLCV_DAILY, daily_bars([("SPY", D1)], close=100.0))
    rows = daily_bars([("SPY", session) for session in sessions], close=5.0)
    with pytest.raises(DuplicateKeyError, match=r"ohlcv_daily: 1 row\(s\) repeat"):
        store.upsert(tables.OHLCV_DAILY, rows, on_conflict=on_conflict)  # type: ignore[arg-type]
    stored = store.read(tables.OHLCV_DAILY)
    assert stored["close"].tolist() == [100.0]


FAMILY_TABLE = TableSpec(
    name="example_family_metrics",
    columns=(
        tables.Column("ticker", LogicalType.TEXT),
        tables.Column("as_of", LogicalType.DATE),
        tables.Column("model_version", LogicalType.INT),
        tables.Column("value", LogicalType.FLOAT, nullable=True),
        tables.Column("status", LogicalType.TEXT),
    ),
    primary_key=("ticker", "as_of", "model_version"),
    time_column="as_of",
)


def test_ensure_table_creates_a_table_from_its_spec_once(store: Store) -> None:
    store.ensure_table(FAMILY_TABLE)
    rows = pd.DataFrame(
        {
            "ticker": ["SPY"],
            "as_of": [D1],
            "model_version": [1],
            "value": [math.nan],
            "status": ["partial"],
        }
    )
    store.upsert(FAMILY_TABLE, rows)
    store.ensure_table(FAMILY_TABLE)  # idempotent: the stored row survives

    reflected = store.reflect_table(FAMILY_TABLE.name)
    assert [(c.name, c.type, c.nullable) for c in reflected.columns] == [
        (c.name, c.type, c.nullable) for c in FAMILY_TABLE.columns
    ]
    assert reflected.primary_key == FAMILY_TABLE.primary_key
    assert store.table_row_counts()[FAMILY_TABLE.name] == 1
    pd.testing.assert_frame_equal(store.read(FAMILY_TABLE), rows.astype({"model_version": "int64"}))


def test_ensure_table_refuses_to_run_inside_a_transaction(store: Store) -> None:
    with store.transaction(), pytest.raises(TransactionError):
        store.ensure_table(FAMILY_TABLE)
