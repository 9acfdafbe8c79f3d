"""`DuckDBStore`: the embedded backend, one DuckDB file (or `:memory:`) per store.

Bulk loads register the validated Arrow batch as a view and run INSERT ... SELECT from it.
DuckDB's ON CONFLICT path is markedly slower than a plain INSERT, so each batch first counts
how many of its keys are stored already (bounded by the batch's key range, which lets DuckDB
skip row groups by their min/max statistics); then:

1. no stored keys (the usual append): one plain INSERT of every row; the primary key
   index finds repeats inside the batch, which are then reported as `DuplicateKeyError`;
2. otherwise: an explicit check for repeated keys, an INSERT ... ON CONFLICT DO UPDATE of
   the stored keys (update mode only), then a plain INSERT of the keys that are not stored
   (an anti-join), if any.
"""

from __future__ import annotations

import contextlib
import itertools
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from optionscope.domain.tables import TableSpec
from optionscope.storage.rows import arrow_schema, check_unique_keys
from optionscope.storage.sql import (
    SOURCE_ALIAS,
    Dialect,
    compared_columns,
    insert_select_sql,
    stored_key_exists_sql,
)
from optionscope.storage.sql_store import Parameters, SqlStore
from optionscope.storage.store import OnConflict

MEMORY = ":memory:"
"""Target of a store that lives in memory only."""

_batch_names = itertools.count(1)


class DuckDBStore(SqlStore):
    """A `Store` in a DuckDB database file.

    Args:
        path: Database file (created with its parent directories if missing), or `:memory:`.
    """

    backend: ClassVar[str] = "duckdb"
    dialect: ClassVar[Dialect] = Dialect(placeholder="?")

    def __init__(self, path: str | Path = MEMORY) -> None:
        target = str(path)
        if target != MEMORY:
            Path(target).expanduser().parent.mkdir(parents=True, exist_ok=True)
        self._connection = duckdb.connect(target)
        self._connection.execute("SET TimeZone = 'UTC'")
        self._stale_views: list[str] = []
        super().__init__(url=target)

    def _execute(self, statement: str, parameters: Parameters = ()) -> None:
        self._connection.execute(statement, list(parameters))

    def _query(self, statement: str, parameters: Parameters = ()) -> list[tuple[Any, ...]]:
        return self._connection.execute(statement, list(parameters)).fetchall()

    def _begin(self) -> None:
        self._connection.begin()

    def _commit(self) -> None:
        try:
            self._connection.commit()
        except duckdb.Error:
            # A failed commit leaves the transaction open on some DuckDB versions.
            self._rollback_quietly()
            raise

    def _rollback(self) -> None:
        self._connection.rollback()
        while self._stale_views:
            self._connection.unregister(self._stale_views.pop())

    def _rollback_quietly(self) -> None:
        with contextlib.suppress(duckdb.Error):
            self._rollback()

    def _write(self, table: TableSpec, rows: pa.Table, on_conflict: OnConflict) -> None:
        name = f"optionscope_incoming_{next(_batch_names)}"
        self._connection.register(name, rows)
        try:
            bounds = _key_bounds(table, rows)
            stored = stored_key_exists_sql(table, self.dialect)
            count_sql = f"SELECT COUNT(*) FROM {name} AS {SOURCE_ALIAS} WHERE {stored}"
            already_stored = int(self._query(count_sql, bounds)[0][0])
            if already_stored == 0:
                try:
                    self._execute(insert_select_sql(table, name))
                except duckdb.ConstraintException:
                    check_unique_keys(table, rows)  # a repeat inside the batch: say which
                    raise
                return
            check_unique_keys(table, rows)
            if on_conflict == "update" and compared_columns(table):
                self._execute(
                    insert_select_sql(table, name, condition=stored, on_conflict="update"), bounds
                )
            if already_stored < rows.num_rows:
                self._execute(insert_select_sql(table, name, condition=f"NOT {stored}"), bounds)
        finally:
            try:
                self._connection.unregister(name)
            except duckdb.TransactionException:
                self._stale_views.append(name)  # the failed transaction must end first

    def _fetch_arrow(self, table: TableSpec, statement: str, parameters: Parameters) -> pa.Table:
        relation = self._connection.sql(statement, params=list(parameters) or None)
        result: pa.Table = relation.to_arrow_table()
        return result.cast(arrow_schema(table))

    def _lock_for_migrations(self) -> None:
        return  # DuckDB lets one process open a file for writing: no concurrent migrator

    def _after_migrations(self) -> None:
        return  # DuckDB has no extension to set up; its storage is columnar already

    def _partitioning(self) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
        return "none", (), ()

    def _server_version(self) -> str:
        return f"DuckDB {duckdb.__version__}"

    def _schema_filter(self, prefix: str = "") -> str:
        # One DuckDB process may attach several databases; stay in ours.
        return (
            f"{prefix}table_catalog = current_database() "
            f"AND {prefix}table_schema = current_schema()"
        )

    def _close_connection(self) -> None:
        self._connection.close()


def _key_bounds(table: TableSpec, rows: pa.Table) -> list[object]:
    """Return [min, max] of every key column, in key order (see `stored_key_exists_sql`)."""
    bounds: list[object] = []
    for name in table.primary_key:
        extremes = pc.min_max(rows[name])
        bounds += [extremes["min"].as_py(), extremes["max"].as_py()]
    return bounds
