"""`SqlStore`: the part of a `Store` that is the same SQL on DuckDB and PostgreSQL.

A backend supplies how to run a statement, open and close a transaction, bulk-load one
validated Arrow batch and fetch a query as Arrow; everything else (migrations, validation,
transactions, reads, introspection) lives here once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any, ClassVar, get_args

import pandas as pd
import pyarrow as pa

from optionscope.domain.tables import Column, LogicalType, TableSpec
from optionscope.storage.migrations import (
    MIGRATIONS_TABLE,
    SCHEMA_MIGRATIONS,
    pending_migrations,
)
from optionscope.storage.rows import Rows, prepare_rows, rows_to_frame
from optionscope.storage.sql import Dialect, create_table_sql, quote, select_sql
from optionscope.storage.store import OnConflict, StoreDescription

Parameters = Sequence[object]

CATALOG_TYPES: Mapping[str, LogicalType] = {
    "TEXT": LogicalType.TEXT,
    "VARCHAR": LogicalType.TEXT,
    "DOUBLE": LogicalType.FLOAT,
    "DOUBLE PRECISION": LogicalType.FLOAT,
    "BIGINT": LogicalType.INT,
    "BOOLEAN": LogicalType.BOOL,
    "DATE": LogicalType.DATE,
    "TIMESTAMP WITH TIME ZONE": LogicalType.TIMESTAMP,
}
"""information_schema type names (DuckDB and PostgreSQL spellings) -> logical types."""


class TransactionError(RuntimeError):
    """A transaction was opened inside another, or used after it ended."""


class TransientStoreError(RuntimeError):
    """A write failed for a reason that may pass: a lost connection, a lock, a conflict.

    The stores translate their driver's transient errors (psycopg ``OperationalError``,
    DuckDB I/O errors and write conflicts) into this, so callers can retry without importing
    a driver. The driver's error is the ``__cause__``.
    """


class SqlStore(ABC):
    """Shared implementation of `Store` over a single database connection.

    Not safe for concurrent use from several threads: give each thread its own store.
    """

    backend: ClassVar[str]
    dialect: ClassVar[Dialect]

    def __init__(self, url: str) -> None:
        self._url = url
        self._transaction: SqlTransaction | None = None
        self._closed = False

    @property
    def url(self) -> str:
        """Return the target for display, with any password redacted."""
        return self._url

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._url!r})"

    # Backend hooks.

    @abstractmethod
    def _execute(self, statement: str, parameters: Parameters = ()) -> None: ...

    @abstractmethod
    def _query(self, statement: str, parameters: Parameters = ()) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def _begin(self) -> None: ...

    @abstractmethod
    def _commit(self) -> None: ...

    @abstractmethod
    def _rollback(self) -> None: ...

    @abstractmethod
    def _write(self, table: TableSpec, rows: pa.Table, on_conflict: OnConflict) -> None:
        """Upsert validated, non-empty `rows` inside the open transaction.

        The keys of `rows` are not checked yet: raise `DuplicateKeyError` (with
        `rows.check_unique_keys`) if two rows share one.
        """

    @abstractmethod
    def _fetch_arrow(self, table: TableSpec, statement: str, parameters: Parameters) -> pa.Table:
        """Return the result of a SELECT of `table`'s columns in its canonical Arrow schema."""

    @abstractmethod
    def _server_version(self) -> str: ...

    def _is_transient(self, error: Exception) -> bool:  # noqa: ARG002 - backends override
        """Return True when `error` (raised by the driver) may pass on a retry."""
        return False

    @abstractmethod
    def _close_connection(self) -> None: ...

    @abstractmethod
    def _lock_for_migrations(self) -> None:
        """Serialise concurrent migrators (inside the migration transaction)."""

    @abstractmethod
    def _after_migrations(self) -> None:
        """Run backend-specific steps after the migrations (inside a transaction)."""

    @abstractmethod
    def _partitioning(self) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
        """Return (time partitioning, hypertables, notes) for `describe()`."""

    def _partition_by_time(self, table: TableSpec) -> None:
        """Partition a table `ensure_table` created on its time column, where supported.

        Runs inside the creating transaction. The default does nothing (DuckDB).
        """
        del table

    # Store protocol.

    def migrate(self) -> list[int]:
        """Apply the pending migrations in order and return their versions (idempotent)."""
        self._require_no_transaction("migrate()")
        with self._atomic():
            self._lock_for_migrations()
            self._execute(create_table_sql(SCHEMA_MIGRATIONS, if_not_exists=True))
            pending = pending_migrations(self._applied_versions(), self.backend)
        applied: list[int] = []
        for migration in pending:
            with self._atomic():
                self._lock_for_migrations()
                if migration.version in self._applied_versions():
                    continue  # another process applied it while we waited for the lock
                for statement in migration.statements:
                    self._execute(statement)
                self._execute(
                    f"INSERT INTO {MIGRATIONS_TABLE} (version, name, applied_at) "
                    f"VALUES ({self._placeholders(2)}, CURRENT_TIMESTAMP)",
                    (migration.version, migration.name),
                )
            applied.append(migration.version)
        with self._atomic():
            self._after_migrations()
        return applied

    def schema_version(self) -> int:
        """Return the highest applied migration, or 0 for an uninitialised store."""
        if MIGRATIONS_TABLE not in self._table_names():
            return 0
        return max(self._applied_versions(), default=0)

    def table_row_counts(self) -> dict[str, int]:
        """Return the number of rows of every table except `schema_migrations`, by name."""
        names = sorted(name for name in self._table_names() if name != MIGRATIONS_TABLE)
        if not names:
            return {}
        counts = " UNION ALL ".join(
            f"SELECT {index} AS position, COUNT(*) AS row_count FROM {quote(name)}"
            for index, name in enumerate(names)
        )
        rows = self._query(f"SELECT position, row_count FROM ({counts}) AS counts")
        by_position = {int(position): int(count) for position, count in rows}
        return {name: by_position[index] for index, name in enumerate(names)}

    def describe(self) -> StoreDescription:
        """Return the backend, versions and time partitioning of this store."""
        partitioning, hypertables, notes = self._partitioning()
        return StoreDescription(
            backend=self.backend,
            url=self.url,
            server_version=self._server_version(),
            schema_version=self.schema_version(),
            time_partitioning=partitioning,
            hypertables=hypertables,
            notes=notes,
        )

    def reflect_table(self, name: str) -> TableSpec:
        """Return the stored shape of table `name` as a `TableSpec` (no docs, no time column).

        Raises:
            KeyError: No such table.
            ValueError: A column has a type outside the logical types.
        """
        rows = self._query(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            f"WHERE {self._schema_filter()} AND table_name = {self.dialect.placeholder} "
            "ORDER BY ordinal_position",
            (name,),
        )
        if not rows:
            raise KeyError(f"no table {name!r} in {self.url}")
        columns = []
        for column_name, data_type, is_nullable in rows:
            logical = CATALOG_TYPES.get(str(data_type).upper())
            if logical is None:
                raise ValueError(f"{name}.{column_name} has type {data_type}, not a logical type")
            columns.append(Column(str(column_name), logical, nullable=is_nullable == "YES"))
        key = self._query(
            "SELECT usage.column_name FROM information_schema.table_constraints AS constraints "
            "JOIN information_schema.key_column_usage AS usage "
            "ON usage.constraint_name = constraints.constraint_name "
            "AND usage.table_schema = constraints.table_schema "
            "AND usage.table_name = constraints.table_name "
            "WHERE constraints.constraint_type = 'PRIMARY KEY' "
            f"AND {self._schema_filter('constraints.')} "
            f"AND constraints.table_name = {self.dialect.placeholder} "
            "ORDER BY usage.ordinal_position",
            (name,),
        )
        return TableSpec(
            name=name, columns=tuple(columns), primary_key=tuple(str(row[0]) for row in key)
        )

    def ensure_table(self, table: TableSpec) -> None:
        """Create `table` from its spec if it does not exist; see `Store.ensure_table`.

        Raises:
            TransactionError: Called inside an open transaction.
        """
        self._require_no_transaction("ensure_table()")
        with self._atomic():
            self._lock_for_migrations()  # concurrent creators wait instead of racing
            self._execute(create_table_sql(table, if_not_exists=True))
            if table.time_column is not None:
                self._partition_by_time(table)

    def upsert(self, table: TableSpec, rows: Rows, *, on_conflict: OnConflict = "update") -> int:
        """Write `rows` into `table` in a transaction of its own; return the rows given."""
        with self.transaction() as transaction:
            return transaction.upsert(table, rows, on_conflict=on_conflict)

    @contextmanager
    def transaction(self) -> Iterator[SqlTransaction]:
        """Open one atomic unit of writes; an exception inside it rolls all of them back.

        Raises:
            TransactionError: A transaction is already open on this store.
            TransientStoreError: The driver failed in a way that may pass (see
                `TransientStoreError`); nothing was written.
        """
        self._require_no_transaction("transaction()")
        try:
            with self._atomic():
                transaction = SqlTransaction(self)
                self._transaction = transaction
                try:
                    yield transaction
                finally:
                    transaction.ended = True
                    self._transaction = None
        except TransientStoreError:
            raise
        except Exception as error:
            if self._is_transient(error):
                raise TransientStoreError(f"{type(error).__name__}: {error}") from error
            raise

    def read(
        self,
        table: TableSpec,
        *,
        where: Mapping[str, object] | None = None,
        order_by: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Return the rows of `table` as its canonical frame (see `Store.read`)."""
        statement, parameters = select_sql(table, self.dialect, where=where, order_by=order_by)
        return rows_to_frame(table, self._fetch_arrow(table, statement, parameters))

    def close(self) -> None:
        """Close the connection (rolling back an open transaction); safe to call twice."""
        if not self._closed:
            self._closed = True
            self._close_connection()

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # Shared helpers.

    def _write_in_transaction(self, table: TableSpec, rows: Rows, on_conflict: OnConflict) -> int:
        if on_conflict not in get_args(OnConflict):
            raise ValueError(f"on_conflict must be 'update' or 'ignore', not {on_conflict!r}")
        prepared = prepare_rows(table, rows, check_keys=False)
        count = int(prepared.num_rows)
        if count:
            self._write(table, prepared, on_conflict)
        return count

    @contextmanager
    def _atomic(self) -> Iterator[None]:
        self._begin()
        try:
            yield
        except BaseException:
            self._rollback()
            raise
        self._commit()

    def _require_no_transaction(self, what: str) -> None:
        if self._closed:
            raise TransactionError(f"{self!r} is closed")
        if self._transaction is not None:
            raise TransactionError(
                f"{what} inside an open transaction; write through the transaction object"
            )

    def _placeholders(self, count: int) -> str:
        return ", ".join([self.dialect.placeholder] * count)

    def _schema_filter(self, prefix: str = "") -> str:
        """Return a condition on information_schema columns: in this store's schema."""
        return f"{prefix}table_schema = current_schema()"

    def _table_names(self) -> set[str]:
        rows = self._query(
            "SELECT table_name FROM information_schema.tables "
            f"WHERE {self._schema_filter()} AND table_type = 'BASE TABLE'"
        )
        return {str(row[0]) for row in rows}

    def _applied_versions(self) -> set[int]:
        return {int(row[0]) for row in self._query(f"SELECT version FROM {MIGRATIONS_TABLE}")}


class SqlTransaction:
    """The `Transaction` handed out by `SqlStore.transaction()`; valid inside its block."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store
        self.ended = False

    def upsert(self, table: TableSpec, rows: Rows, *, on_conflict: OnConflict = "update") -> int:
        """Write `rows` into `table` keyed by its primary key; return the rows given.

        Raises:
            TransactionError: The transaction block has ended.
            InvalidRowsError: The rows do not fit `table`.
            DuplicateKeyError: Two rows share a primary key.
        """
        if self.ended:
            raise TransactionError("this transaction has ended; open a new one")
        return self._store._write_in_transaction(table, rows, on_conflict)
