"""Shared fixtures: a real PostgreSQL server for the session, and stores on both backends.

- `postgres_server`: a throwaway server started from this machine's PostgreSQL binaries
  (`optionscope.storage.postgres_server`), stopped at the end of the session. Skipped when no
  binaries exist, except under CI (env `CI` set), where that is a failure.
- `postgres_url`: URL of a fresh, empty (not migrated) database, dropped after the test.
- `backend`: "duckdb" and "postgresql" (the latter marked `postgres`).
- `make_store`: factory of fresh stores on `backend` (migrated unless `migrated=False`),
  closed and dropped after the test.
- `store`: one fresh, migrated, empty store on `backend`.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator

import psycopg
import pytest

from optionscope.storage import DuckDBStore, PostgresStore, Store
from optionscope.storage.postgres_server import (
    LocalPostgresServer,
    PostgresBinariesNotFoundError,
    find_postgres_bindir,
)

MakeStore = Callable[..., Store]


class PostgresDatabases:
    """Creates and drops databases on the session server."""

    TEMPLATE = "optionscope_migrated_template"

    def __init__(self, server: LocalPostgresServer) -> None:
        self.server = server
        self._admin = psycopg.connect(server.url(), autocommit=True)
        self._numbers = itertools.count(1)
        self._admin.execute(f"CREATE DATABASE {self.TEMPLATE}")
        with PostgresStore(server.url(self.TEMPLATE)) as store:
            store.migrate()

    def create(self, *, migrated: bool) -> str:
        name = f"optionscope_test_{next(self._numbers)}"
        template = self.TEMPLATE if migrated else "template0"
        self._admin.execute(f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY")
        return name

    def drop(self, name: str) -> None:
        self._admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def close(self) -> None:
        self._admin.close()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[LocalPostgresServer]:
    try:
        bindir = find_postgres_bindir()
    except PostgresBinariesNotFoundError as error:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set, so PostgreSQL tests must run, but: {error}")
        pytest.skip(str(error))
    server = LocalPostgresServer.start(bindir=bindir)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_databases(postgres_server: LocalPostgresServer) -> Iterator[PostgresDatabases]:
    databases = PostgresDatabases(postgres_server)
    yield databases
    databases.close()


@pytest.fixture
def postgres_url(postgres_databases: PostgresDatabases) -> Iterator[str]:
    name = postgres_databases.create(migrated=False)
    yield postgres_databases.server.url(name)
    postgres_databases.drop(name)


@pytest.fixture(params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def make_store(backend: str, request: pytest.FixtureRequest) -> Iterator[MakeStore]:
    opened: list[Store] = []
    created: list[str] = []
    databases: PostgresDatabases | None = None
    if backend == "postgresql":
        databases = request.getfixturevalue("postgres_databases")

    def make(*, migrated: bool = True) -> Store:
        store: Store
        if databases is None:
            store = DuckDBStore(":memory:")
            if migrated:
                store.migrate()
        else:
            name = databases.create(migrated=migrated)
            created.append(name)
            store = PostgresStore(databases.server.url(name), display_url=name)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()
    if databases is not None:
        for name in created:
            databases.drop(name)


@pytest.fixture
def store(make_store: MakeStore) -> Store:
    return make_store()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how many PostgreSQL-backed tests passed, so a silent skip cannot pass for green."""
    outcomes: dict[str, int] = {}
    for outcome in ("passed", "failed", "skipped", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            if report.when in ("call", "setup") and "postgres" in getattr(report, "keywords", {}):
                if outcome == "passed" and report.when != "call":
                    continue
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
    if outcomes:
        summary = ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()))
        terminalreporter.write_line(f"PostgreSQL-backed tests (real server): {summary}")
