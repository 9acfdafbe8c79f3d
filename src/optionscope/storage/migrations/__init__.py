"""Versioned schema migrations: numbered SQL files that both backends run unchanged.

A migration is a file `NNNN_short_name.sql` in this package. Versions are the numbers,
applied in increasing order, each in its own transaction together with its row in
`schema_migrations(version, name, applied_at)`. A released file is frozen: the schema changes
through a new file, and `tests/storage/test_migrations.py` holds the hash of every released one.
Files use the SQL subset both engines accept (TEXT, DOUBLE PRECISION, BIGINT, BOOLEAN, DATE,
TIMESTAMPTZ, PRIMARY KEY) and no semicolon outside statement ends except inside quotes.

A version may also have a backend variant, `NNNN_short_name.<backend>.sql` (`duckdb` or
`postgresql`), which that backend runs instead of `NNNN_short_name.sql`; every version still
has the shared file, which every other backend runs. Variants exist only where the engines must
differ (migration 2: DuckDB stores `option_chain_snapshots` without an index on its key).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from optionscope.domain.tables import Column, LogicalType, TableSpec

SCHEMA_MIGRATIONS = TableSpec(
    name="schema_migrations",
    columns=(
        Column("version", LogicalType.INT, doc="Migration number (file name prefix)."),
        Column("name", LogicalType.TEXT, doc="Rest of the file name."),
        Column("applied_at", LogicalType.TIMESTAMP, doc="When it was applied (server clock)."),
    ),
    primary_key=("version",),
    doc="Bookkeeping: one row per applied migration.",
)
"""The bookkeeping table, created before the first migration runs."""

MIGRATIONS_TABLE = SCHEMA_MIGRATIONS.name

BACKENDS = ("duckdb", "postgresql")
"""Backends a migration file may be specific to (`NNNN_name.<backend>.sql`)."""

_FILE_NAME = re.compile(
    r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)(?:\.(?P<backend>[a-z0-9]+))?\.sql$"
)


class MigrationError(RuntimeError):
    """The migration files are inconsistent, or a store is ahead of this code."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration file.

    Attributes:
        version: Its number (the file name's prefix).
        name: The rest of the file name, without the backend and `.sql`.
        sql: The file's text.
        file_name: The file the text comes from: `NNNN_name.sql`, or a backend variant.
    """

    version: int
    name: str
    sql: str
    file_name: str

    @property
    def statements(self) -> list[str]:
        """Return the SQL statements of the file, in order, without trailing semicolons."""
        return split_statements(self.sql)


def load_migrations(backend: str | None = None) -> tuple[Migration, ...]:
    """Return every migration shipped with this package, in version order.

    Args:
        backend: `"duckdb"` or `"postgresql"`: a variant file of that backend replaces the
            shared file of its version. None: the shared files.

    Raises:
        MigrationError: Two files share a version, versions do not run 1, 2, 3, ..., a variant
            has no shared file or another name, or names an unknown backend.
    """
    if backend is not None and backend not in BACKENDS:
        raise MigrationError(f"unknown backend {backend!r}; migrations know {BACKENDS}")
    shared: dict[int, Migration] = {}
    variants: dict[tuple[int, str], Migration] = {}
    for file_name, sql in sorted(migration_files().items()):
        match = _FILE_NAME.match(file_name)
        if match is None:
            raise MigrationError(f"{file_name} is not named NNNN_name[.backend].sql")
        migration = Migration(int(match["version"]), match["name"], sql, file_name)
        variant = match["backend"]
        if variant is None:
            if migration.version in shared:
                raise MigrationError(f"two migration files have version {migration.version}")
            shared[migration.version] = migration
        elif variant not in BACKENDS:
            raise MigrationError(f"{file_name}: unknown backend {variant!r}, not in {BACKENDS}")
        else:
            variants[migration.version, variant] = migration
    for (version, _), variant_migration in variants.items():
        if version not in shared or shared[version].name != variant_migration.name:
            raise MigrationError(
                f"{variant_migration.file_name} has no shared file "
                f"{version:04d}_{variant_migration.name}.sql"
            )
    versions = sorted(shared)
    if versions != list(range(1, len(versions) + 1)):
        raise MigrationError(f"migration versions must be 1, 2, 3, ... without gaps: {versions}")
    return tuple(
        variants.get((version, backend), shared[version]) if backend else shared[version]
        for version in versions
    )


def migration_files() -> dict[str, str]:
    """Return the text of every migration file (shared and variants), by file name."""
    return {
        entry.name: entry.read_text(encoding="utf-8")
        for entry in resources.files(__name__).iterdir()
        if _FILE_NAME.match(entry.name)
    }


def pending_migrations(applied: set[int], backend: str | None = None) -> list[Migration]:
    """Return the migrations (of `backend`, see `load_migrations`) not in `applied`, in order.

    Raises:
        MigrationError: The store has a version this code does not know (a newer release
            migrated it), so writing to it could corrupt it.
    """
    migrations = load_migrations(backend)
    unknown = applied - {migration.version for migration in migrations}
    if unknown:
        raise MigrationError(
            f"the store has migration(s) {sorted(unknown)} that this optionscope does not "
            "know; upgrade optionscope"
        )
    return [migration for migration in migrations if migration.version not in applied]


def split_statements(script: str) -> list[str]:
    """Split an SQL script at top-level semicolons, skipping `--` comments.

    Semicolons inside single-quoted strings or quoted identifiers do not split.
    """
    statements: list[str] = []
    current: list[str] = []
    quote: str | None = None
    index = 0
    while index < len(script):
        char = script[index]
        if quote is None and script.startswith("--", index):
            newline = script.find("\n", index)
            index = len(script) if newline == -1 else newline
            continue
        if quote is None and char in "'\"":
            quote = char
        elif char == quote:
            quote = None
        if quote is None and char == ";":
            statements.append("".join(current).strip())
            current = []
        else:
            current.append(char)
        index += 1
    statements.append("".join(current).strip())
    return [statement for statement in statements if statement]
