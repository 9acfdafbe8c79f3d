"""SQL text that DuckDB and PostgreSQL both accept, rendered from `TableSpec`s.

Identifiers always come from a spec and are always quoted; values are always parameters.
STYLE.md warns about the dialect traps: no DuckDB `BY NAME`, no target-less `ON CONFLICT`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from optionscope.domain.tables import LogicalType, TableSpec
from optionscope.storage.rows import InvalidRowsError, to_parameter
from optionscope.storage.store import Between, OnConflict

SQL_TYPES: Mapping[LogicalType, str] = {
    LogicalType.TEXT: "TEXT",
    LogicalType.FLOAT: "DOUBLE PRECISION",
    LogicalType.INT: "BIGINT",
    LogicalType.BOOL: "BOOLEAN",
    LogicalType.DATE: "DATE",
    LogicalType.TIMESTAMP: "TIMESTAMPTZ",
}
"""Column type names in the subset both engines accept."""

INGESTION_TIME_COLUMN = "ts_ingested"
"""Value column an upsert never compares: re-writing identical values keeps the old one."""

TARGET_ALIAS = "existing"
SOURCE_ALIAS = "incoming"


@dataclass(frozen=True, slots=True)
class Dialect:
    """The few spellings in which the two engines differ.

    Attributes:
        placeholder: Query parameter marker (`?` for DuckDB, `%s` for psycopg).
        text_order: Suffix that makes text sort by code point in ORDER BY.
    """

    placeholder: str
    text_order: str = ""


def quote(identifier: str) -> str:
    """Return `identifier` as a quoted SQL identifier."""
    return '"' + identifier.replace('"', '""') + '"'


def column_list(table: TableSpec, alias: str | None = None) -> str:
    """Return the quoted columns of `table` in spec order, optionally qualified by `alias`."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(prefix + quote(name) for name in table.column_names)


def create_table_sql(
    table: TableSpec, *, if_not_exists: bool = False, primary_key: bool = True
) -> str:
    """Return the CREATE TABLE statement of `table` (columns, NOT NULL, PRIMARY KEY).

    Args:
        table: The table's spec.
        if_not_exists: Render `CREATE TABLE IF NOT EXISTS`.
        primary_key: Declare the primary key. False only for a DuckDB table whose key the
            store enforces itself (see `duckdb_store.STORE_ENFORCED_KEYS`).
    """
    lines = [
        f"    {quote(c.name)} {SQL_TYPES[c.type]}{'' if c.nullable else ' NOT NULL'}"
        for c in table.columns
    ]
    if primary_key:
        lines.append(f"    PRIMARY KEY ({', '.join(quote(name) for name in table.primary_key)})")
    body = ",\n".join(lines)
    create = "CREATE TABLE IF NOT EXISTS" if if_not_exists else "CREATE TABLE"
    return f"{create} {quote(table.name)} (\n{body}\n)"


def compared_columns(table: TableSpec) -> tuple[str, ...]:
    """Return the value columns whose change makes an upsert rewrite a stored row."""
    return tuple(name for name in table.value_columns if name != INGESTION_TIME_COLUMN)


def conflict_clause(table: TableSpec, on_conflict: OnConflict) -> str:
    """Return the ON CONFLICT clause of an upsert into `table` aliased as `TARGET_ALIAS`.

    With `"update"`, every value column is replaced, but only when a compared column differs
    (IS DISTINCT FROM treats two NULLs as equal), so an identical re-write is a no-op.
    """
    key = ", ".join(quote(name) for name in table.primary_key)
    if on_conflict == "ignore" or not compared_columns(table):
        return f"ON CONFLICT ({key}) DO NOTHING"
    assignments = ", ".join(
        f"{quote(name)} = excluded.{quote(name)}" for name in table.value_columns
    )
    return f"ON CONFLICT ({key}) DO UPDATE SET {assignments} WHERE {changed_sql(table, 'excluded')}"


def changed_sql(table: TableSpec, source: str) -> str:
    """Return `TARGET_ALIAS.v IS DISTINCT FROM source.v OR ...` over the compared columns.

    IS DISTINCT FROM makes NULL -> value and value -> NULL a change, and NULL -> NULL not one.
    The table must have compared columns (see `compared_columns`).
    """
    return " OR ".join(
        f"{TARGET_ALIAS}.{quote(name)} IS DISTINCT FROM {source}.{quote(name)}"
        for name in compared_columns(table)
    )


def insert_select_sql(
    table: TableSpec,
    source: str,
    *,
    condition: str | None = None,
    on_conflict: OnConflict | None = None,
) -> str:
    """Return `INSERT INTO table SELECT ... FROM source`, with an optional filter and upsert.

    Args:
        table: Target table (aliased `TARGET_ALIAS`).
        source: Name of the relation holding the incoming rows (aliased `SOURCE_ALIAS`);
            it must have the spec's columns.
        condition: SQL filter over `SOURCE_ALIAS`, or None for every row.
        on_conflict: Conflict handling, or None for a plain INSERT.
    """
    statement = (
        f"INSERT INTO {quote(table.name)} AS {TARGET_ALIAS} ({column_list(table)}) "
        f"SELECT {column_list(table, SOURCE_ALIAS)} FROM {source} AS {SOURCE_ALIAS}"
    )
    if condition:
        statement += f" WHERE {condition}"
    if on_conflict is not None:
        statement += " " + conflict_clause(table, on_conflict)
    return statement


def key_bounds_sql(table: TableSpec, dialect: Dialect, alias: str) -> str:
    """Return `alias.k BETWEEN ? AND ? AND ...` over the key columns of `table`.

    Two parameters per key column, in key order: the incoming rows' minimum and maximum. The
    bounds let DuckDB skip row groups by their min/max statistics.
    """
    placeholder = dialect.placeholder
    return " AND ".join(
        f"{alias}.{quote(name)} BETWEEN {placeholder} AND {placeholder}"
        for name in table.primary_key
    )


def stored_in_bounds_sql(table: TableSpec, dialect: Dialect) -> str:
    """Return a COUNT of the stored rows of `table` within the key bounds (`key_bounds_sql`).

    Zero means that no key of the incoming rows can be stored: the cheap test of an append.
    """
    return (
        f"SELECT COUNT(*) FROM {quote(table.name)} AS stored "
        f"WHERE {key_bounds_sql(table, dialect, 'stored')}"
    )


def update_changed_sql(table: TableSpec, source: str, dialect: Dialect) -> str:
    """Return an UPDATE of the stored rows of `table` whose key is in `source` and changed.

    `UPDATE table AS TARGET_ALIAS SET v = SOURCE_ALIAS.v, ... FROM source AS SOURCE_ALIAS
    WHERE <stored key in bounds> AND <keys equal> AND <a compared column differs>`: every
    value column (`ts_ingested` included) takes the incoming value, but only in rows where a
    compared column changed, like `conflict_clause(table, "update")`. Parameters: the key
    bounds (`key_bounds_sql`). `source` must not repeat a key (the UPDATE would then pick
    one of its rows).
    """
    matches = " AND ".join(
        f"{TARGET_ALIAS}.{quote(name)} = {SOURCE_ALIAS}.{quote(name)}" for name in table.primary_key
    )
    assignments = ", ".join(
        f"{quote(name)} = {SOURCE_ALIAS}.{quote(name)}" for name in table.value_columns
    )
    return (
        f"UPDATE {quote(table.name)} AS {TARGET_ALIAS} SET {assignments} "
        f"FROM {source} AS {SOURCE_ALIAS} "
        f"WHERE {key_bounds_sql(table, dialect, TARGET_ALIAS)} AND {matches} "
        f"AND ({changed_sql(table, SOURCE_ALIAS)})"
    )


def stored_key_exists_sql(table: TableSpec, dialect: Dialect) -> str:
    """Return an EXISTS test: is the key of `SOURCE_ALIAS` already in `table`?

    Each key column is also bounded by the incoming rows' minimum and maximum (two parameters
    per key column, in key order; see `key_bounds_sql`), which lets DuckDB skip row groups by
    their min/max statistics when new rows are appended after the stored ones.
    """
    matches = " AND ".join(
        f"stored.{quote(name)} = {SOURCE_ALIAS}.{quote(name)}" for name in table.primary_key
    )
    return (
        f"EXISTS (SELECT 1 FROM {quote(table.name)} AS stored "
        f"WHERE {key_bounds_sql(table, dialect, 'stored')} AND {matches})"
    )


def select_sql(
    table: TableSpec,
    dialect: Dialect,
    *,
    where: Mapping[str, object] | None = None,
    order_by: Sequence[str] | None = None,
) -> tuple[str, list[object]]:
    """Return a SELECT of `table`'s columns with its parameters.

    See `Store.read` for the forms `where` and `order_by` take.

    Raises:
        InvalidRowsError: A condition names no column of `table` or has a value of the
            wrong type.
    """
    conditions: list[str] = []
    parameters: list[object] = []
    for name, condition in (where or {}).items():
        _check_column(table, name)
        sql, values = _condition_sql(table, name, condition, dialect.placeholder)
        conditions.append(sql)
        parameters.extend(values)
    statement = f"SELECT {column_list(table)} FROM {quote(table.name)}"
    if conditions:
        statement += " WHERE " + " AND ".join(conditions)
    if order_by:
        statement += " ORDER BY " + ", ".join(
            _order_term(table, term, dialect) for term in order_by
        )
    return statement, parameters


def _check_column(table: TableSpec, name: str) -> None:
    if name not in table.column_names:
        raise InvalidRowsError(f"{table.name} has no column {name!r}")


def _condition_sql(
    table: TableSpec, name: str, condition: object, placeholder: str
) -> tuple[str, list[object]]:
    column = quote(name)
    if condition is None:
        return f"{column} IS NULL", []
    if isinstance(condition, Between):
        parts, values = [], []
        if condition.low is not None:
            parts.append(f"{column} >= {placeholder}")
            values.append(to_parameter(table, name, condition.low))
        if condition.high is not None:
            parts.append(f"{column} <= {placeholder}")
            values.append(to_parameter(table, name, condition.high))
        return ("(" + " AND ".join(parts) + ")" if parts else "TRUE"), values
    if isinstance(condition, list | tuple | set | frozenset):
        values = [to_parameter(table, name, value) for value in condition]
        if not values:
            return "FALSE", []
        return f"{column} IN ({', '.join([placeholder] * len(values))})", values
    return f"{column} = {placeholder}", [to_parameter(table, name, condition)]


def _order_term(table: TableSpec, term: str, dialect: Dialect) -> str:
    name, direction = (term[1:], "DESC") if term.startswith("-") else (term, "ASC")
    _check_column(table, name)
    collation = dialect.text_order if table.column(name).type is LogicalType.TEXT else ""
    return f"{quote(name)}{collation} {direction} NULLS LAST"
