"""`DuckDBStore`: the embedded backend, one DuckDB file (or `:memory:`) per store.

Keys. DuckDB enforces a PRIMARY KEY with an ART index, and keeping that index up to date cost
more than half of every bulk load of option chain rows (about 0.8M rows/s with the key, 2.5M
without, on 2 cores; the index is not used by reads at all). So on DuckDB,
`option_chain_snapshots` has no declared key (migration 2, `STORE_ENFORCED_KEYS`), and this
store enforces keys in its write path, for every table alike. A validated batch is registered
as a view, then:

1. one query over the batch counts its distinct key hashes and takes each key column's
   minimum and maximum; fewer hashes than rows sends the batch to an exact count, which raises
   `DuplicateKeyError` if a key repeats (equal keys have equal hashes; unequal keys rarely do);
2. one COUNT of the stored rows whose key columns lie within those bounds, which DuckDB
   answers from the few row groups whose min/max statistics overlap them (for appended data,
   almost nothing); only when there are some, a COUNT with an EXISTS test (bounded alike)
   counts the batch's keys that are stored already;
3. none stored (the usual append): one plain INSERT of every row;
4. otherwise: an UPDATE ... FROM of the stored rows whose compared values changed (update
   mode only), then an INSERT of the keys that are not stored (an anti-join), if any.

Transactions are snapshot-isolated and, without an index, a transaction cannot see that
another one inserts the same key. So the transactions of the stores of one database file in
this process (DuckDB lets only one process write a file) take that file's writer lock before
they begin and hold it until they end: a second writer waits, then sees the first one's rows.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import pyarrow as pa

from optionscope.domain.tables import TableSpec
from optionscope.storage.rows import DuplicateKeyError, arrow_schema
from optionscope.storage.sql import (
    SOURCE_ALIAS,
    Dialect,
    compared_columns,
    insert_select_sql,
    quote,
    stored_in_bounds_sql,
    stored_key_exists_sql,
    update_changed_sql,
)
from optionscope.storage.sql_store import Parameters, SqlStore, TransactionError
from optionscope.storage.store import OnConflict

MEMORY = ":memory:"
"""Target of a store that lives in memory only."""

STORE_ENFORCED_KEYS = frozenset({"option_chain_snapshots"})
"""Tables that DuckDB stores without a declared primary key (migration 2).

Their key is still their spec's `primary_key`, enforced by this store's write path; the
catalog (`reflect_table`) shows no key for them. Rows written by other means are not checked.
"""

_KEY_HASH = "hash"
"""SQL function over a batch's key columns whose distinct values count its distinct keys."""

_batch_names = itertools.count(1)


class _WriterLock:
    """Serialises the store transactions on one database file within this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None

    def acquire(self, store: DuckDBStore) -> None:
        if self._owner == threading.get_ident():
            raise TransactionError(
                f"{store!r}: another store of this database has a transaction open in this "
                "thread; end it first (waiting for it here would never end)"
            )
        self._lock.acquire()
        self._owner = threading.get_ident()

    def release(self) -> None:
        self._owner = None
        self._lock.release()


_writer_locks: dict[str, _WriterLock] = {}
_writer_locks_guard = threading.Lock()


def _writer_lock(target: str) -> _WriterLock | None:
    """Return the writer lock of database `target`; None for a private in-memory database."""
    if target == MEMORY:
        return None  # every connection to ":memory:" opens a database of its own
    key = target if target.startswith(MEMORY) else str(Path(target).expanduser().resolve())
    with _writer_locks_guard:
        return _writer_locks.setdefault(key, _WriterLock())


LOCK_RETRY_SECONDS = 0.05
"""Pause between attempts to open a file another process holds."""


class StoreLockedError(RuntimeError):
    """Another process holds the DuckDB file (for writing, or for reading when we write)."""


def _connect(target: str, read_only: bool, lock_wait_seconds: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + lock_wait_seconds
    while True:
        try:
            return duckdb.connect(target, read_only=read_only)
        except duckdb.IOException as error:
            if "lock" not in str(error).lower():
                raise
            if time.monotonic() >= deadline:
                raise StoreLockedError(
                    f"{target}: another process has this DuckDB file open "
                    f"(waited {lock_wait_seconds:g} s): {error}"
                ) from error
            time.sleep(LOCK_RETRY_SECONDS)


class DuckDBStore(SqlStore):
    """A `Store` in a DuckDB database file.

    DuckDB lets one process open a file for writing, or several processes open it read-only,
    never both: opening a file another process holds raises `StoreLockedError` once
    `lock_wait_seconds` have passed (retrying every `LOCK_RETRY_SECONDS` until then).

    Args:
        path: Database file (created with its parent directories if missing), or `:memory:`.
        read_only: Open an existing file for reading only (several processes may at once).
        lock_wait_seconds: How long to wait for another process to release the file.
    """

    backend: ClassVar[str] = "duckdb"
    dialect: ClassVar[Dialect] = Dialect(placeholder="?")

    def __init__(
        self, path: str | Path = MEMORY, *, read_only: bool = False, lock_wait_seconds: float = 0.0
    ) -> None:
        target = str(path)
        if target != MEMORY and not read_only:
            Path(target).expanduser().parent.mkdir(parents=True, exist_ok=True)
        self._connection = _connect(target, read_only, lock_wait_seconds)
        self._connection.execute("SET TimeZone = 'UTC'")
        self._stale_views: list[str] = []
        self._writer = _writer_lock(target)
        self._holds_writer = False
        super().__init__(url=target)

    def _execute(self, statement: str, parameters: Parameters = ()) -> None:
        self._connection.execute(statement, list(parameters))

    def _query(self, statement: str, parameters: Parameters = ()) -> list[tuple[Any, ...]]:
        return self._connection.execute(statement, list(parameters)).fetchall()

    def _begin(self) -> None:
        if self._writer is not None:
            self._writer.acquire(self)
            self._holds_writer = True
        try:
            self._connection.begin()
        except BaseException:
            self._release_writer()
            raise

    def _commit(self) -> None:
        try:
            self._connection.commit()
        except duckdb.Error:
            # A failed commit leaves the transaction open on some DuckDB versions.
            self._rollback_quietly()
            raise
        finally:
            self._release_writer()

    def _rollback(self) -> None:
        try:
            self._connection.rollback()
            while self._stale_views:
                self._connection.unregister(self._stale_views.pop())
        finally:
            self._release_writer()

    def _rollback_quietly(self) -> None:
        with contextlib.suppress(duckdb.Error):
            self._rollback()

    def _release_writer(self) -> None:
        if self._holds_writer and self._writer is not None:
            self._holds_writer = False
            self._writer.release()

    def _write(self, table: TableSpec, rows: pa.Table, on_conflict: OnConflict) -> None:
        name = f"optionscope_incoming_{next(_batch_names)}"
        self._connection.register(name, rows)
        try:
            bounds = self._check_batch(table, name, rows.num_rows)
            stored = stored_key_exists_sql(table, self.dialect)
            already_stored = 0
            if self._query(stored_in_bounds_sql(table, self.dialect), bounds)[0][0]:
                count_sql = f"SELECT COUNT(*) FROM {name} AS {SOURCE_ALIAS} WHERE {stored}"
                already_stored = int(self._query(count_sql, bounds)[0][0])
            if already_stored and on_conflict == "update" and compared_columns(table):
                self._execute(update_changed_sql(table, name, self.dialect), bounds)
            if already_stored == 0:
                self._execute(insert_select_sql(table, name))
            elif already_stored < rows.num_rows:
                self._execute(insert_select_sql(table, name, condition=f"NOT {stored}"), bounds)
        finally:
            try:
                self._connection.unregister(name)
            except duckdb.TransactionException:
                self._stale_views.append(name)  # the failed transaction must end first

    def _check_batch(self, table: TableSpec, name: str, count: int) -> list[object]:
        """Refuse a batch that repeats a key; return [min, max] of each key column, in order.

        Raises:
            DuplicateKeyError: Two rows of the batch share a key (table, count, an example).
        """
        keys = ", ".join(quote(column) for column in table.primary_key)
        extremes = ", ".join(
            f"MIN({quote(column)}), MAX({quote(column)})" for column in table.primary_key
        )
        row = self._query(f"SELECT COUNT(DISTINCT {_KEY_HASH}({keys})), {extremes} FROM {name}")[0]
        if int(row[0]) < count:
            # Every repeated key costs one hash, and so does a (rare) collision: count exactly.
            distinct_sql = f"SELECT COUNT(*) FROM (SELECT DISTINCT {keys} FROM {name}) AS k"
            repeats = count - int(self._query(distinct_sql)[0][0])
            if repeats:
                example = self._query(
                    f"SELECT {keys} FROM {name} GROUP BY {keys} HAVING COUNT(*) > 1 LIMIT 1"
                )[0]
                raise DuplicateKeyError(
                    f"{table.name}: {repeats} row(s) repeat a primary key {table.primary_key} "
                    f"within one batch, e.g. {dict(zip(table.primary_key, example, strict=True))!r}"
                )
        return list(row[1:])

    def _fetch_arrow(self, table: TableSpec, statement: str, parameters: Parameters) -> pa.Table:
        relation = self._connection.sql(statement, params=list(parameters) or None)
        result: pa.Table = relation.to_arrow_table()
        return result.cast(arrow_schema(table))

    def _lock_for_migrations(self) -> None:
        return  # the writer lock, taken by every transaction, serialises migrators already

    def _after_migrations(self) -> None:
        return  # DuckDB has no extension to set up; its storage is columnar already

    def _partitioning(self) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
        return "none", (), ()

    def _is_transient(self, error: Exception) -> bool:
        """I/O errors (file locked, disk) and write-write conflicts may pass on a retry."""
        if isinstance(error, duckdb.IOException):
            return True
        return isinstance(error, duckdb.TransactionException) and "conflict" in str(error).lower()

    def _server_version(self) -> str:
        return f"DuckDB {duckdb.__version__}"

    def _schema_filter(self, prefix: str = "") -> str:
        # One DuckDB process may attach several databases; stay in ours.
        return (
            f"{prefix}table_catalog = current_database() "
            f"AND {prefix}table_schema = current_schema()"
        )

    def _close_connection(self) -> None:
        try:
            self._connection.close()  # rolls back an open transaction
        finally:
            self._release_writer()
