"""Validate rows against a `TableSpec` and convert them between pandas, Arrow and the stores.

Every write goes through `prepare_rows`, which returns an Arrow table in the canonical
physical schema (`arrow_schema`), and every read comes back through `rows_to_frame`, which
returns the canonical pandas frame. Both backends share these two functions, so what one
backend accepts and returns, the other does too.

Canonical representation:

| logical   | Arrow (stored)          | pandas (read)                                   |
|-----------|-------------------------|-------------------------------------------------|
| text      | string                  | `str` (NULL -> NaN)                             |
| float     | float64                 | float64 (NULL -> NaN; NaN written is NULL)      |
| int       | int64                   | int64, or `Int64` when nullable                 |
| bool      | bool                    | bool, or `boolean` when nullable                |
| date      | date32                  | object column of `datetime.date` (NULL -> None) |
| timestamp | timestamp[us, tz=UTC]   | `datetime64[us, UTC]` (NULL -> NaT)             |
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api.extensions import ExtensionDtype

from optionscope.domain.tables import Column, LogicalType, TableSpec

Rows: TypeAlias = pd.DataFrame | pa.Table
"""What a write accepts: a pandas frame or an Arrow table with exactly the spec's columns."""

ARROW_TYPES: Mapping[LogicalType, pa.DataType] = {
    LogicalType.TEXT: pa.string(),
    LogicalType.FLOAT: pa.float64(),
    LogicalType.INT: pa.int64(),
    LogicalType.BOOL: pa.bool_(),
    LogicalType.DATE: pa.date32(),
    LogicalType.TIMESTAMP: pa.timestamp("us", tz="UTC"),
}
"""Physical Arrow type of each logical type (what the backends load and return)."""

_MAX_EXAMPLES = 3


class InvalidRowsError(ValueError):
    """Rows do not fit their table: wrong columns, wrong types, NULLs or naive timestamps."""


class DuplicateKeyError(InvalidRowsError):
    """One batch holds the same primary key more than once."""


def arrow_schema(table: TableSpec) -> pa.Schema:
    """Return the canonical Arrow schema of `table` (spec order, spec nullability)."""
    return pa.schema(
        [pa.field(c.name, ARROW_TYPES[c.type], nullable=c.nullable) for c in table.columns]
    )


def prepare_rows(table: TableSpec, rows: Rows, *, check_keys: bool = True) -> pa.Table:
    """Validate `rows` against `table` and return them in the canonical Arrow schema.

    Columns are matched by name (order does not matter, the result is in spec order). NaN in
    a float column counts as NULL. Timestamps must be timezone-aware; they are converted to
    UTC with microsecond resolution (finer values are refused rather than rounded).

    Args:
        table: The table the rows are for.
        rows: A pandas frame or Arrow table with exactly the columns of `table`.
        check_keys: Whether to check that primary keys are unique. The stores pass False
            and let the database find repeats, checking only when it reports a conflict
            (the check costs about as much as the rest of the validation).

    Returns:
        An Arrow table with one chunk per column in `arrow_schema(table)`.

    Raises:
        InvalidRowsError: Missing or extra columns, a value of the wrong type, a NULL in a
            non-nullable column, a naive timestamp or a text value holding a NUL character.
        DuplicateKeyError: Two rows share a primary key (only with `check_keys`).
    """
    if isinstance(rows, pd.DataFrame):
        names = [str(name) for name in rows.columns]
        if len(set(names)) != len(names):
            raise InvalidRowsError(f"{table.name}: rows have repeated column names {names}")
    elif isinstance(rows, pa.Table):
        names = rows.column_names
    else:
        raise TypeError(f"rows must be a pandas DataFrame or an Arrow Table, not {type(rows)}")
    _check_column_names(table, names)
    arrays = [_prepare_column(table, column, _source_array(rows, column.name))
              for column in table.columns]  # fmt: skip
    prepared = pa.Table.from_arrays(arrays, schema=arrow_schema(table))
    if check_keys:
        check_unique_keys(table, prepared)
    return prepared


def check_unique_keys(table: TableSpec, rows: pa.Table) -> None:
    """Raise `DuplicateKeyError` when two of `rows` share a primary key.

    Raises:
        DuplicateKeyError: With the table name, the count and an example key.
    """
    if rows.num_rows < 2:
        return
    keys = rows.select(list(table.primary_key))
    distinct = keys.group_by(list(table.primary_key), use_threads=True).aggregate([])
    if distinct.num_rows == rows.num_rows:
        return
    counts = keys.group_by(list(table.primary_key)).aggregate([([], "count_all")])
    repeated = counts.filter(pc.greater(counts["count_all"], 1))
    example = {name: repeated[name][0].as_py() for name in table.primary_key}
    raise DuplicateKeyError(
        f"{table.name}: {rows.num_rows - distinct.num_rows} row(s) repeat a primary key "
        f"{table.primary_key} within one batch, e.g. {example!r}"
    )


def rows_to_frame(table: TableSpec, rows: pa.Table) -> pd.DataFrame:
    """Return `rows` (Arrow, any column order) as the canonical pandas frame of `table`."""
    rows = rows.select(list(table.column_names)).cast(arrow_schema(table))
    frame: pd.DataFrame = rows.to_pandas(date_as_object=True, types_mapper=_pandas_type)
    for column in table.columns:
        dtype = _pandas_dtype(column)
        if dtype is not None and frame[column.name].dtype != dtype:
            frame[column.name] = frame[column.name].astype(dtype)
    return frame


def _pandas_type(arrow_type: pa.DataType) -> object:
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return pd.StringDtype(na_value=np.nan)
    return None


def _pandas_dtype(column: Column) -> np.dtype[Any] | ExtensionDtype | None:
    match column.type:
        case LogicalType.INT:
            return pd.Int64Dtype() if column.nullable else np.dtype("int64")
        case LogicalType.BOOL:
            return pd.BooleanDtype() if column.nullable else np.dtype("bool")
        case LogicalType.TIMESTAMP:
            return pd.DatetimeTZDtype(unit="us", tz="UTC")
        case LogicalType.FLOAT:
            return np.dtype("float64")
        case LogicalType.TEXT:
            return pd.StringDtype(na_value=np.nan)
        case _:
            return None


def _check_column_names(table: TableSpec, names: list[str]) -> None:
    missing = [name for name in table.column_names if name not in names]
    extra = [name for name in names if name not in table.column_names]
    if missing or extra:
        raise InvalidRowsError(
            f"{table.name}: columns do not match the table; missing {missing}, unexpected {extra}"
        )


def _source_array(rows: Rows, name: str) -> pa.Array:
    if isinstance(rows, pa.Table):
        column = rows[name]
        return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    series = rows[name]
    try:
        converted = pa.array(series, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError) as error:
        raise InvalidRowsError(f"column {name!r} could not be converted: {error}") from error
    if isinstance(converted, pa.ChunkedArray):
        return converted.combine_chunks()
    return converted


def _prepare_column(table: TableSpec, column: Column, array: pa.Array) -> pa.Array:
    where = f"{table.name}.{column.name}"
    if len(array) == 0:  # an empty pandas column has no telling dtype (often float64)
        return pa.array([], ARROW_TYPES[column.type])
    try:
        converted = _CONVERTERS[column.type](where, array)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as error:
        raise InvalidRowsError(f"{where}: {error}") from error
    if not column.nullable and converted.null_count:
        first = pc.index(converted.is_null(), value=True).as_py()
        raise InvalidRowsError(
            f"{where} is not nullable but has {converted.null_count} NULL value(s) "
            f"(first at row {first})"
        )
    return converted


def _refuse(where: str, array: pa.Array, expected: str) -> InvalidRowsError:
    return InvalidRowsError(f"{where}: expected {expected}, got Arrow type {array.type}")


def _to_text(where: str, array: pa.Array) -> pa.Array:
    if pa.types.is_null(array.type):
        return pa.nulls(len(array), pa.string())
    if not (
        pa.types.is_string(array.type)
        or pa.types.is_large_string(array.type)
        or pa.types.is_string_view(array.type)
    ):
        raise _refuse(where, array, "text")
    converted = array.cast(pa.string())
    # PostgreSQL cannot store NUL in text; refuse it on both backends alike.
    if _may_contain_nul(converted) and pc.any(pc.match_substring(converted, "\x00")).as_py():
        raise InvalidRowsError(f"{where}: text values must not contain the NUL character")
    return converted


def _may_contain_nul(array: pa.Array) -> bool:
    """Return whether the character data behind `array` holds a zero byte (a quick scan)."""
    data = array.buffers()[2]
    return data is not None and b"\x00" in data.to_pybytes()


def _to_float(where: str, array: pa.Array) -> pa.Array:
    if pa.types.is_null(array.type):
        return pa.nulls(len(array), pa.float64())
    if not (pa.types.is_floating(array.type) or pa.types.is_integer(array.type)):
        raise _refuse(where, array, "numbers")
    converted = array.cast(pa.float64())
    if pc.any(pc.is_nan(converted)).as_py():
        converted = pc.if_else(pc.is_nan(converted), pa.scalar(None, pa.float64()), converted)
    return converted


def _to_int(where: str, array: pa.Array) -> pa.Array:
    if pa.types.is_null(array.type):
        return pa.nulls(len(array), pa.int64())
    if pa.types.is_floating(array.type):
        array = pc.if_else(pc.is_nan(array), pa.scalar(None, array.type), array)
    elif not pa.types.is_integer(array.type):
        raise _refuse(where, array, "integers")
    return array.cast(pa.int64())  # a safe cast: 1.5 or 2**63 raise


def _to_bool(where: str, array: pa.Array) -> pa.Array:
    if pa.types.is_null(array.type):
        return pa.nulls(len(array), pa.bool_())
    if not pa.types.is_boolean(array.type):
        raise _refuse(where, array, "booleans")
    return array


def _to_date(where: str, array: pa.Array) -> pa.Array:
    if pa.types.is_null(array.type):
        return pa.nulls(len(array), pa.date32())
    if pa.types.is_timestamp(array.type):
        if array.type.tz is not None:
            raise InvalidRowsError(
                f"{where}: a date column got timezone-aware timestamps; pass dates "
                "(the session date is a calendar decision, not a conversion)"
            )
        midnight = pc.equal(pc.floor_temporal(array, unit="day"), array)
        if not pc.all(midnight).as_py():
            raise InvalidRowsError(f"{where}: a date column got timestamps with a time of day")
    elif not pa.types.is_date(array.type):
        raise _refuse(where, array, "dates")
    return array.cast(pa.date32())


def _to_timestamp(where: str, array: pa.Array) -> pa.Array:
    if pa.types.is_null(array.type):
        return pa.nulls(len(array), pa.timestamp("us", tz="UTC"))
    if not pa.types.is_timestamp(array.type):
        raise _refuse(where, array, "timezone-aware timestamps")
    if array.type.tz is None:
        raise InvalidRowsError(f"{where}: timestamps must be timezone-aware (UTC), got naive")
    try:
        return array.cast(pa.timestamp("us", tz="UTC"))  # safe: refuses to drop nanoseconds
    except pa.ArrowInvalid as error:
        raise InvalidRowsError(
            f"{where}: timestamps finer than a microsecond cannot be stored; floor them first"
        ) from error


_CONVERTERS = {
    LogicalType.TEXT: _to_text,
    LogicalType.FLOAT: _to_float,
    LogicalType.INT: _to_int,
    LogicalType.BOOL: _to_bool,
    LogicalType.DATE: _to_date,
    LogicalType.TIMESTAMP: _to_timestamp,
}


def to_parameter(table: TableSpec, name: str, value: object) -> object:
    """Return `value` as a query parameter for column `name` of `table`.

    Raises:
        InvalidRowsError: The value does not fit the column (e.g. a naive datetime for a
            timestamp column, or a datetime for a date column).
        KeyError: `table` has no column `name`.
    """
    column = table.column(name)
    where = f"{table.name}.{name}"
    if value is None:
        return None
    match column.type:
        case LogicalType.TIMESTAMP:
            return _timestamp_parameter(where, value)
        case LogicalType.DATE:
            return _date_parameter(where, value)
        case LogicalType.TEXT if isinstance(value, str):
            return value
        case LogicalType.BOOL if isinstance(value, bool | np.bool_):
            return bool(value)
        case LogicalType.INT if isinstance(value, int | np.integer) and not isinstance(value, bool):
            return int(value)
        case LogicalType.FLOAT if isinstance(value, int | float | np.integer | np.floating):
            return float(value)
    raise InvalidRowsError(f"{where}: {value!r} is not a {column.type.value} value")


def _timestamp_parameter(where: str, value: object) -> datetime:
    if isinstance(value, datetime):  # pd.Timestamp is a datetime too
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidRowsError(f"{where}: compare timestamps with aware datetimes, not naive")
        if isinstance(value, pd.Timestamp):
            if value.nanosecond:
                raise InvalidRowsError(f"{where}: {value} is finer than a microsecond")
            value = value.to_pydatetime()
        return value.astimezone(UTC)
    raise InvalidRowsError(f"{where}: {value!r} is not a timezone-aware datetime")


def _date_parameter(where: str, value: object) -> date:
    if isinstance(value, pd.Timestamp) and value.tzinfo is None and value == value.normalize():
        return value.date()
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise InvalidRowsError(f"{where}: {value!r} is not a date")
