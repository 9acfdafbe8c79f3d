"""Migrations: the migrated schema equals the canonical specs; released files stay frozen."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable

import pandas as pd
import pytest

from optionscope.domain import tables
from optionscope.domain.tables import Column, TableSpec
from optionscope.storage import MigrationError, PostgresStore, Store
from optionscope.storage.migrations import (
    SCHEMA_MIGRATIONS,
    load_migrations,
    pending_migrations,
    split_statements,
)

MakeStore = Callable[..., Store]

RELEASED_MIGRATION_SHA256 = {
    1: "2e8d05ed65c49c4abbbd125fc8e93dabba0687a2e1808fc5d0bc9174828e4818",
}
"""Hash of every released migration file. Never edit one: add a new numbered file."""


def shape(table: TableSpec) -> TableSpec:
    """Return `table` without docs or time column: what a database catalog can tell."""
    columns = tuple(Column(c.name, c.type, nullable=c.nullable) for c in table.columns)
    return TableSpec(name=table.name, columns=columns, primary_key=table.primary_key)


def test_a_migrated_store_has_exactly_the_canonical_tables(store: Store) -> None:
    expected = {table.name for table in tables.CORE_TABLES} | {SCHEMA_MIGRATIONS.name}
    assert set(store.table_row_counts()) | {SCHEMA_MIGRATIONS.name} == expected
    for table in (*tables.CORE_TABLES, SCHEMA_MIGRATIONS):
        assert store.reflect_table(table.name) == shape(table), table.name


def test_reflecting_an_unknown_table_raises(store: Store) -> None:
    with pytest.raises(KeyError, match="no table 'nope'"):
        store.reflect_table("nope")


def test_schema_migrations_records_every_applied_version(store: Store) -> None:
    applied = store.read(SCHEMA_MIGRATIONS, order_by=["version"])
    migrations = load_migrations()
    assert applied["version"].tolist() == [migration.version for migration in migrations]
    assert applied["name"].tolist() == [migration.name for migration in migrations]
    assert applied["applied_at"].notna().all()


def test_released_migrations_are_frozen() -> None:
    for migration in load_migrations():
        digest = hashlib.sha256(migration.sql.encode("utf-8")).hexdigest()
        released = RELEASED_MIGRATION_SHA256.get(migration.version)
        assert released in {None, digest}, (
            f"migration {migration.version} ({migration.name}) was edited after release; "
            "restore it and put the change in a new numbered migration"
        )


def test_every_migration_is_released_or_the_newest() -> None:
    unreleased = [
        m.version for m in load_migrations() if m.version not in RELEASED_MIGRATION_SHA256
    ]
    assert len(unreleased) <= 1, "record the hash of every migration but the one in progress"


def test_a_store_migrated_by_a_newer_release_is_refused(store: Store) -> None:
    newer = pd.DataFrame(
        {
            "version": [999],
            "name": ["from_the_future"],
            "applied_at": [pd.Timestamp("2030-01-01", tz="UTC")],
        }
    )
    store.upsert(SCHEMA_MIGRATIONS, newer)
    assert store.schema_version() == 999
    with pytest.raises(MigrationError, match=r"migration\(s\) \[999\].*upgrade optionscope"):
        store.migrate()


def test_pending_migrations_lists_the_missing_versions_in_order() -> None:
    versions = [migration.version for migration in load_migrations()]
    assert [m.version for m in pending_migrations(set())] == versions
    assert pending_migrations(set(versions)) == []


def test_split_statements_ignores_comments_and_quoted_semicolons() -> None:
    script = """
    -- a comment; with a semicolon
    CREATE TABLE "odd;name" (note TEXT DEFAULT 'a;b''c;');
    INSERT INTO t VALUES (1); -- trailing comment
    ;
    SELECT 1
    """
    assert split_statements(script) == [
        """CREATE TABLE "odd;name" (note TEXT DEFAULT 'a;b''c;')""",
        "INSERT INTO t VALUES (1)",
        "SELECT 1",
    ]


def test_the_first_migration_creates_every_core_table() -> None:
    first = load_migrations()[0]
    assert (first.version, first.name) == (1, "core_tables")
    created = [statement.split('"')[1] for statement in first.statements]
    assert created == [table.name for table in tables.CORE_TABLES]


@pytest.mark.postgres
def test_concurrent_migrators_apply_each_migration_once(postgres_url: str) -> None:
    results: list[list[int]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def migrate() -> None:
        try:
            with PostgresStore(postgres_url) as store:
                start.wait()
                results.append(store.migrate())
        except BaseException as error:  # noqa: BLE001 (reported by the assertion below)
            errors.append(error)

    threads = [threading.Thread(target=migrate) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results) == [[], [1]]
    with PostgresStore(postgres_url) as store:
        assert store.schema_version() == 1
