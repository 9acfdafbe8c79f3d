"""Storage: one `Store` protocol with DuckDB and PostgreSQL backends (see docs/storage.md)."""

from optionscope.storage.connect import open_store, redact_url, resolve_target
from optionscope.storage.duckdb_store import DuckDBStore, StoreLockedError
from optionscope.storage.migrations import MigrationError
from optionscope.storage.postgres_store import PostgresStore
from optionscope.storage.rows import DuplicateKeyError, InvalidRowsError, Rows
from optionscope.storage.sql_store import TransactionError, TransientStoreError
from optionscope.storage.store import (
    Between,
    OnConflict,
    Store,
    StoreDescription,
    Transaction,
)

__all__ = [
    "Between",
    "DuckDBStore",
    "DuplicateKeyError",
    "InvalidRowsError",
    "MigrationError",
    "OnConflict",
    "PostgresStore",
    "Rows",
    "Store",
    "StoreDescription",
    "StoreLockedError",
    "Transaction",
    "TransactionError",
    "TransientStoreError",
    "open_store",
    "redact_url",
    "resolve_target",
]
