"""Migrations: the migrated schema equals the canonical specs; released files stay frozen."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable

import pandas as pd
import pytest

from optionscope.domain import tables
from optionscope.domain.tables import Column, TableSpec
from optionscope.storage import MigrationError, PostgresStore, Store, migrations
from optionscope.storage.duckdb_store import STORE_ENFORCED_KEYS
from optionscope.storage.migrations import (
    SCHEMA_MIGRATIONS,
    load_migrations,
    migration_files,
    pending_migrations,
    split_statements,
)
from optionscope.storage.sql import create_table_sql

MakeStore = Callable[..., Store]

RELEASED_MIGRATION_SHA256 = {
    "0001_core_tables.sql": "2e8d05ed65c49c4abbbd125fc8e93dabba0687a2e1808fc5d0bc9174828e4818",
    "0002_chain_key_enforced_by_store.sql": (
        "dfc0288286f23524f15522e2b145314d9cf435f331a99dc952e1ff2f56a29ff8"
    ),
    "0002_chain_key_enforced_by_store.duckdb.sql": (
        "82a7e81476bda3116ba48a30398b85ded028ec0e02f750dbdf94fbd398d2a2f4"
    ),
}
"""Hash of every released migration file, backend variants included. Never edit one: add a
new numbered file."""


def shape(table: TableSpec, *, declared_key: bool = True) -> TableSpec:
    """Return `table` without docs or time column: what a database catalog can tell.

    With `declared_key=False`, without its primary key either: a DuckDB table whose key the
    store enforces (`STORE_ENFORCED_KEYS`).
    """
    columns = tuple(Column(c.name, c.type, nullable=c.nullable) for c in table.columns)
    key = table.primary_key if declared_key else ()
    return TableSpec(name=table.name, columns=columns, primary_key=key)


def test_a_migrated_store_has_exactly_the_canonical_tables(store: Store) -> None:
    expected = {table.name for table in tables.CORE_TABLES} | {SCHEMA_MIGRATIONS.name}
    assert set(store.table_row_counts()) | {SCHEMA_MIGRATIONS.name} == expected
    for table in (*tables.CORE_TABLES, SCHEMA_MIGRATIONS):
        # DuckDB declares no key for the tables whose key its store enforces (migration 2);
        # PostgreSQL declares every key. tests/storage/test_duckdb_keys.py tests the former.
        declared = store.backend != "duckdb" or table.name not in STORE_ENFORCED_KEYS
        assert store.reflect_table(table.name) == shape(table, declared_key=declared), table.name


def test_store_enforced_keys_are_keys_of_core_tables() -> None:
    core = {table.name for table in tables.CORE_TABLES}
    assert core >= STORE_ENFORCED_KEYS


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
    for file_name, sql in migration_files().items():
        digest = hashlib.sha256(sql.encode("utf-8")).hexdigest()
        released = RELEASED_MIGRATION_SHA256.get(file_name)
        assert released in {None, digest}, (
            f"migration {file_name} was edited after release; "
            "restore it and put the change in a new numbered migration"
        )


def test_every_migration_is_released_or_the_newest() -> None:
    newest = max(migration.version for migration in load_migrations())
    unreleased = {
        int(name[:4]) for name in migration_files() if name not in RELEASED_MIGRATION_SHA256
    }
    assert unreleased <= {newest}, "record the hash of every migration but the one in progress"


def test_backends_run_their_variant_of_a_migration() -> None:
    shared, duckdb, postgresql = (load_migrations(b) for b in (None, "duckdb", "postgresql"))
    assert [(m.version, m.name) for m in duckdb] == [(m.version, m.name) for m in shared]
    assert [(m.version, m.name) for m in postgresql] == [(m.version, m.name) for m in shared]
    assert [m.file_name for m in duckdb][:2] == [
        "0001_core_tables.sql",
        "0002_chain_key_enforced_by_store.duckdb.sql",
    ]
    assert [m.file_name for m in postgresql] == [m.file_name for m in shared]
    assert postgresql[1].statements == []  # PostgreSQL keeps its primary keys


def test_the_duckdb_variant_of_0002_rebuilds_the_chain_table_without_its_key() -> None:
    chain = tables.OPTION_CHAIN_SNAPSHOTS
    statements = load_migrations("duckdb")[1].statements
    rebuilt = TableSpec(name=f"{chain.name}_0002", columns=chain.columns, primary_key=())
    assert statements[0] == create_table_sql(rebuilt, primary_key=False)
    assert statements[2:] == [
        f'DROP TABLE "{chain.name}"',
        f'ALTER TABLE "{chain.name}_0002" RENAME TO "{chain.name}"',
    ]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"0001_a.sql": "", "0001_b.sql": ""}, "two migration files have version 1"),
        ({"0001_a.sql": "", "0001_a.sqlite.sql": ""}, "unknown backend 'sqlite'"),
        ({"0001_a.sql": "", "0002_b.duckdb.sql": ""}, "0002_b.duckdb.sql has no shared file"),
        ({"0001_a.sql": "", "0001_b.duckdb.sql": ""}, "0001_b.duckdb.sql has no shared file"),
        ({"0001_a.sql": "", "0003_c.sql": ""}, r"without gaps: \[1, 3\]"),
    ],
    ids=["same-version", "unknown-backend", "variant-alone", "variant-renamed", "gap"],
)
def test_inconsistent_migration_files_are_refused(
    monkeypatch: pytest.MonkeyPatch, files: dict[str, str], message: str
) -> None:
    monkeypatch.setattr(migrations, "migration_files", lambda: files)
    with pytest.raises(MigrationError, match=message):
        load_migrations("duckdb")


def test_an_unknown_backend_has_no_migrations() -> None:
    with pytest.raises(MigrationError, match="unknown backend 'oracle'"):
        load_migrations("oracle")


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
    versions = [migration.version for migration in load_migrations("postgresql")]
    applied = [version for result in results for version in result]
    assert sorted(applied) == versions  # each once, by either migrator (they take turns)
    with PostgresStore(postgres_url) as store:
        assert store.schema_version() == versions[-1]
