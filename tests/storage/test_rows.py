"""Row validation and conversion, without a database."""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from optionscope.domain import tables
from optionscope.domain.tables import Column, LogicalType, TableSpec
from optionscope.storage.rows import (
    DuplicateKeyError,
    InvalidRowsError,
    arrow_schema,
    prepare_rows,
    rows_to_frame,
    to_parameter,
)

NEW_YORK = ZoneInfo("America/New_York")

LEDGER = TableSpec(
    name="ledger",
    columns=(
        Column("key", LogicalType.TEXT),
        Column("count", LogicalType.INT, nullable=True),
        Column("flag", LogicalType.BOOL, nullable=True),
        Column("day", LogicalType.DATE, nullable=True),
        Column("at", LogicalType.TIMESTAMP, nullable=True),
        Column("value", LogicalType.FLOAT, nullable=True),
    ),
    primary_key=("key",),
)


def ledger(**columns: object) -> pd.DataFrame:
    base: dict[str, object] = {
        "key": ["a", "b"],
        "count": [1, 2],
        "flag": [True, False],
        "day": [dt.date(2024, 1, 2), dt.date(2024, 1, 3)],
        "at": [pd.Timestamp("2024-01-02 15:00", tz="UTC")] * 2,
        "value": [1.5, 2.5],
    }
    base.update(columns)
    return pd.DataFrame(base)


def test_prepared_rows_follow_the_spec_order_and_types() -> None:
    shuffled = ledger()[["value", "at", "key", "day", "flag", "count"]]
    prepared = prepare_rows(LEDGER, shuffled)
    assert prepared.schema == arrow_schema(LEDGER)
    assert prepared.column_names == list(LEDGER.column_names)


def test_arrow_tables_are_accepted() -> None:
    arrow = pa.Table.from_pandas(ledger(), preserve_index=False)
    assert prepare_rows(LEDGER, arrow).to_pylist() == prepare_rows(LEDGER, ledger()).to_pylist()


def test_aware_timestamps_are_converted_to_utc() -> None:
    local = [pd.Timestamp("2024-01-02 10:00", tz=NEW_YORK)] * 2
    prepared = prepare_rows(LEDGER, ledger(at=local))
    assert prepared["at"].to_pylist()[0] == dt.datetime(2024, 1, 2, 15, 0, tzinfo=dt.UTC)


def test_whole_microsecond_nanosecond_timestamps_are_accepted() -> None:
    at = pd.Series([pd.Timestamp("2024-01-02 15:00:00.000001", tz="UTC")] * 2).astype(
        "datetime64[ns, UTC]"
    )
    prepared = prepare_rows(LEDGER, ledger(at=at))
    assert prepared["at"].to_pylist()[0].microsecond == 1


def test_sub_microsecond_timestamps_are_refused() -> None:
    at = [pd.Timestamp("2024-01-02 15:00:00.000000001", tz="UTC")] * 2
    with pytest.raises(InvalidRowsError, match="finer than a microsecond"):
        prepare_rows(LEDGER, ledger(at=at))


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(InvalidRowsError, match=r"ledger\.at: timestamps must be timezone-aware"):
        prepare_rows(LEDGER, ledger(at=[pd.Timestamp("2024-01-02 15:00")] * 2))


def test_dates_accept_naive_midnight_timestamps() -> None:
    days = pd.to_datetime(["2024-01-02", "2024-01-03"])
    prepared = prepare_rows(LEDGER, ledger(day=days))
    assert prepared["day"].to_pylist() == [dt.date(2024, 1, 2), dt.date(2024, 1, 3)]


@pytest.mark.parametrize(
    ("days", "message"),
    [
        (pd.to_datetime(["2024-01-02 09:30", "2024-01-03 00:00"]), "time of day"),
        (pd.to_datetime(["2024-01-02", "2024-01-03"]).tz_localize("UTC"), "timezone-aware"),
        (["2024-01-02", "2024-01-03"], "expected dates"),
    ],
    ids=["time-of-day", "aware", "strings"],
)
def test_dates_refuse_anything_but_dates(days: object, message: str) -> None:
    with pytest.raises(InvalidRowsError, match=message):
        prepare_rows(LEDGER, ledger(day=days))


def test_integral_floats_fit_an_int_column_and_nan_is_null() -> None:
    prepared = prepare_rows(LEDGER, ledger(count=[3.0, math.nan]))
    assert prepared["count"].to_pylist() == [3, None]


def test_fractional_floats_do_not_fit_an_int_column() -> None:
    with pytest.raises(InvalidRowsError, match=r"ledger\.count"):
        prepare_rows(LEDGER, ledger(count=[1.5, 2.0]))


def test_nan_in_an_arrow_float_column_becomes_null() -> None:
    arrow = pa.Table.from_pandas(ledger(), preserve_index=False)
    arrow = arrow.set_column(5, "value", pa.array([math.nan, 1.0]))
    assert prepare_rows(LEDGER, arrow)["value"].to_pylist() == [None, 1.0]


def test_integers_fit_a_float_column() -> None:
    assert prepare_rows(LEDGER, ledger(value=[1, 2]))["value"].to_pylist() == [1.0, 2.0]


@pytest.mark.parametrize(
    ("column", "values", "message"),
    [
        ("key", [1, 2], "expected text"),
        ("flag", [1, 0], "expected booleans"),
        ("count", ["1", "2"], "expected integers"),
        ("at", ["2024-01-02T15:00Z"] * 2, "expected timezone-aware timestamps"),
        ("key", ["a", 3], "could not be converted"),
    ],
    ids=["int-for-text", "int-for-bool", "text-for-int", "text-for-timestamp", "mixed"],
)
def test_values_of_the_wrong_type_are_refused(column: str, values: object, message: str) -> None:
    with pytest.raises(InvalidRowsError, match=message):
        prepare_rows(LEDGER, ledger(**{column: values}))


def test_all_null_columns_take_the_column_type() -> None:
    rows = ledger(count=[None, None], flag=[None, None], day=[None, None], at=[None, None])
    prepared = prepare_rows(LEDGER, rows.assign(value=pd.Series([None, None], dtype=object)))
    assert prepared.schema == arrow_schema(LEDGER)
    assert prepared["at"].null_count == 2


def test_null_keys_are_refused_with_the_first_row() -> None:
    with pytest.raises(
        InvalidRowsError, match=r"ledger\.key is not nullable .* \(first at row 1\)"
    ):
        prepare_rows(LEDGER, ledger(key=["a", None]))


def test_repeated_column_names_are_refused() -> None:
    frame = pd.concat([ledger(), ledger()[["key"]]], axis=1)
    with pytest.raises(InvalidRowsError, match="repeated column names"):
        prepare_rows(LEDGER, frame)


def test_only_frames_and_arrow_tables_are_rows() -> None:
    with pytest.raises(TypeError, match="DataFrame or an Arrow Table"):
        prepare_rows(LEDGER, [{"key": "a"}])


def test_duplicate_keys_name_the_table_and_an_example() -> None:
    rows = ledger(key=["a", "a"])
    with pytest.raises(DuplicateKeyError, match=r"ledger: 1 row\(s\) repeat .*\{'key': 'a'\}"):
        prepare_rows(LEDGER, rows)


def test_canonical_frames_use_nullable_dtypes_where_the_spec_allows_null() -> None:
    frame = rows_to_frame(LEDGER, prepare_rows(LEDGER, ledger(count=[1, None], flag=[True, None])))
    assert frame.dtypes.astype(str).to_dict() == {
        "key": "str",
        "count": "Int64",
        "flag": "boolean",
        "day": "object",
        "at": "datetime64[us, UTC]",
        "value": "float64",
    }
    assert frame["count"].isna().tolist() == [False, True]
    assert frame["day"].tolist() == [dt.date(2024, 1, 2), dt.date(2024, 1, 3)]


def test_canonical_frames_of_core_tables_use_plain_dtypes_for_required_columns() -> None:
    empty = rows_to_frame(tables.INGESTED_FILES, arrow_schema(tables.INGESTED_FILES).empty_table())
    assert empty["rows_read"].dtype == np.dtype("int64")
    assert str(empty["file_name"].dtype) == "str"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        (
            "at",
            pd.Timestamp("2024-01-02 10:00", tz=NEW_YORK),
            dt.datetime(2024, 1, 2, 15, tzinfo=dt.UTC),
        ),
        ("day", pd.Timestamp("2024-01-02"), dt.date(2024, 1, 2)),
        ("day", dt.date(2024, 1, 2), dt.date(2024, 1, 2)),
        ("count", np.int64(3), 3),
        ("value", 2, 2.0),
        ("flag", np.bool_(True), True),
        ("key", "a", "a"),
        ("key", None, None),
    ],
)
def test_query_parameters_are_converted_per_column(
    name: str, value: object, expected: object
) -> None:
    converted = to_parameter(LEDGER, name, value)
    assert converted == expected
    assert type(converted) is type(expected)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("at", pd.Timestamp("2024-01-02 15:00:00.000000001", tz="UTC")),
        ("at", "2024-01-02"),
        ("day", pd.Timestamp("2024-01-02 09:30")),
        ("count", True),
        ("count", 1.0),
        ("flag", 1),
        ("value", "1.0"),
    ],
)
def test_query_parameters_of_the_wrong_type_are_refused(name: str, value: object) -> None:
    with pytest.raises(InvalidRowsError, match=f"ledger.{name}"):
        to_parameter(LEDGER, name, value)
