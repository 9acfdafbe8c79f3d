"""The `Store` protocol every backend implements, and the small types its methods take."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from types import TracebackType
from typing import Literal, Protocol

import pandas as pd

from optionscope.domain.tables import TableSpec
from optionscope.storage.rows import Rows

OnConflict = Literal["update", "ignore"]
"""What a write does with a row whose primary key is already stored.

`"update"` replaces the stored value columns, but leaves the row untouched (its
`ts_ingested` included) when every value column other than `ts_ingested` is unchanged.
`"ignore"` keeps the stored row and writes only the missing keys.
"""


@dataclass(frozen=True, slots=True)
class Between:
    """An inclusive range for `Store.read(where=...)`: `low <= column <= high`.

    Attributes:
        low: Lower bound, or None for no lower bound.
        high: Upper bound, or None for no upper bound.
    """

    low: object = None
    high: object = None


@dataclass(frozen=True, slots=True)
class StoreDescription:
    """What `optionscope db info` shows about a store.

    Attributes:
        backend: `"duckdb"` or `"postgresql"`.
        url: Display form of the target, password redacted.
        server_version: Engine version string.
        schema_version: Highest applied migration (0 before the first).
        time_partitioning: `"timescaledb"` when time-keyed tables are hypertables, else
            `"none"`.
        hypertables: Tables that are TimescaleDB hypertables.
        notes: One line per remark (why TimescaleDB is not used, for instance).
    """

    backend: str
    url: str
    server_version: str
    schema_version: int
    time_partitioning: str = "none"
    hypertables: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


class Transaction(Protocol):
    """Writes inside one atomic unit opened by `Store.transaction()`."""

    def upsert(self, table: TableSpec, rows: Rows, *, on_conflict: OnConflict = "update") -> int:
        """Write `rows` into `table`, keyed by its primary key; return the number of rows given.

        Raises:
            InvalidRowsError: The rows do not fit `table` (see `rows.prepare_rows`).
            DuplicateKeyError: Two rows share a primary key.
        """
        ...


class Store(Protocol):
    """Persistent tables of canonical rows: migrations, upserts and filtered reads."""

    @property
    def backend(self) -> str:
        """Return `"duckdb"` or `"postgresql"`."""
        ...

    @property
    def url(self) -> str:
        """Return the target for display, with any password redacted."""
        ...

    def migrate(self) -> list[int]:
        """Apply the pending migrations in order and return their versions (idempotent)."""
        ...

    def schema_version(self) -> int:
        """Return the highest applied migration, or 0 for an uninitialised store."""
        ...

    def table_row_counts(self) -> dict[str, int]:
        """Return the number of rows of every table (bookkeeping tables excluded)."""
        ...

    def describe(self) -> StoreDescription:
        """Return the backend, versions and time partitioning of this store."""
        ...

    def reflect_table(self, name: str) -> TableSpec:
        """Return the stored shape of table `name` (columns, types, nullability, key)."""
        ...

    def ensure_table(self, table: TableSpec) -> None:
        """Create `table` from its spec if no table of that name exists (idempotent).

        Runs `CREATE TABLE IF NOT EXISTS` rendered from the spec (`sql.create_table_sql`), in a
        transaction of its own. A table with a `time_column` becomes a TimescaleDB hypertable
        where the extension is installed (PostgreSQL). An existing table is left as it is,
        whatever its shape: compare `reflect_table(table.name)` to detect drift.

        Raises:
            TransactionError: Called inside an open transaction.
        """
        ...

    def upsert(self, table: TableSpec, rows: Rows, *, on_conflict: OnConflict = "update") -> int:
        """Write `rows` into `table` in a transaction of its own (see `Transaction.upsert`)."""
        ...

    def transaction(self) -> AbstractContextManager[Transaction]:
        """Open one atomic unit of writes; an exception inside it rolls all of them back."""
        ...

    def read(
        self,
        table: TableSpec,
        *,
        where: Mapping[str, object] | None = None,
        order_by: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Return the rows of `table` as its canonical frame (see `rows.rows_to_frame`).

        Args:
            table: Table to read.
            where: Column -> condition, all of which must hold: a scalar (equality), None
                (IS NULL), a `Between` (inclusive range) or a list/tuple/set (IN).
            order_by: Columns to sort by, ascending; prefix a name with `-` for descending.
                NULLs sort last; text sorts by code point on both backends.
        """
        ...

    def close(self) -> None:
        """Close the connection; the store is unusable afterwards."""
        ...

    def __enter__(self) -> Store: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


__all__ = [
    "Between",
    "OnConflict",
    "Store",
    "StoreDescription",
    "Transaction",
]
