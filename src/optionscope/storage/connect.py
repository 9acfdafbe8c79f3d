"""`open_store`: turn a target (path, URL or nothing) into the right `Store`."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from optionscope.storage.duckdb_store import MEMORY, DuckDBStore
from optionscope.storage.postgres_store import PostgresStore
from optionscope.storage.store import Store

DB_VARIABLE = "OPTIONSCOPE_DB"
"""Environment variable naming the store when no target is given."""

HOME_VARIABLE = "OPTIONSCOPE_HOME"
"""Environment variable naming the project home (default `./.optionscope/`)."""

DEFAULT_HOME = Path(".optionscope")
DEFAULT_DATABASE_FILE = "optionscope.duckdb"

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def resolve_target(target: str | os.PathLike[str] | None = None) -> str:
    """Return the store target to open.

    `target` when given; else `$OPTIONSCOPE_DB`; else `$OPTIONSCOPE_HOME/optionscope.duckdb`,
    with `OPTIONSCOPE_HOME` defaulting to `./.optionscope/` (created if missing).
    """
    if target is not None and str(target) != "":
        return os.fspath(target)
    if from_environment := os.environ.get(DB_VARIABLE):
        return from_environment
    home = Path(os.environ.get(HOME_VARIABLE) or DEFAULT_HOME)
    home.mkdir(parents=True, exist_ok=True)
    return str(home / DEFAULT_DATABASE_FILE)


def is_postgres_url(target: str) -> bool:
    """Return whether `target` is a `postgresql://` or `postgres://` URL."""
    return target.lower().startswith(POSTGRES_SCHEMES)


def redact_url(url: str) -> str:
    """Return `url` with its password (in the authority or the query) replaced by `***`."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        credentials, _, host = netloc.rpartition("@")
        user, has_password, _ = credentials.partition(":")
        netloc = f"{user}:***@{host}" if has_password else netloc
    query = parts.query
    if query:
        pairs = [
            (key, "***" if key.lower() == "password" else value)
            for key, value in parse_qsl(query, keep_blank_values=True)
        ]
        query = urlencode(pairs, safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def open_store(
    target: str | os.PathLike[str] | None = None,
    *,
    read_only: bool = False,
    lock_wait_seconds: float = 0.0,
) -> Store:
    """Open the store at `target` (see `resolve_target`); the caller closes it.

    Args:
        target: A `postgresql://` / `postgres://` URL (PostgreSQL), a DuckDB file path,
            `:memory:`, or None for the default.
        read_only: DuckDB only: open the file for reading (several processes may at once;
            see `DuckDBStore`). A PostgreSQL store ignores it.
        lock_wait_seconds: DuckDB only: how long to wait for another process to release
            the file before `StoreLockedError`.

    Returns:
        A `PostgresStore` or a `DuckDBStore`, not yet migrated (call `migrate()`).
    """
    resolved = resolve_target(target)
    if is_postgres_url(resolved):
        return PostgresStore(resolved, display_url=redact_url(resolved))
    path = resolved if resolved == MEMORY else Path(resolved).expanduser()
    return DuckDBStore(path, read_only=read_only, lock_wait_seconds=lock_wait_seconds)
