"""Versioned schema migrations: numbered SQL files that both backends run unchanged.

A migration is a file `NNNN_short_name.sql` in this package. Versions are the numbers,
applied in increasing order, each in its own transaction together with its row in
`schema_migrations(version, name, applied_at)`. A released file is frozen: the schema changes
through a new file, and `tests/storage/test_migrations.py` holds the hash of every released one.
Files use the SQL subset both engines accept (TEXT, DOUBLE PRECISION, BIGINT, BOOLEAN, DATE,
TIMESTAMPTZ, PRIMARY KEY) and no semicolon outside statement ends except inside quotes.
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

_FILE_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")


class MigrationError(RuntimeError):
    """The migration files are inconsistent, or a store is ahead of this code."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration file.

    Attributes:
        version: Its number (the file name's prefix).
        name: The rest of the file name, without `.sql`.
        sql: The file's text.
    """

    version: int
    name: str
    sql: str

    @property
    def statements(self) -> list[str]:
        """Return the SQL statements of the file, in order, without trailing semicolons."""
        return split_statements(self.sql)


def load_migrations() -> tuple[Migration, ...]:
    """Return every migration shipped with this package, in version order.

    Raises:
        MigrationError: Two files share a version, or versions do not run 1, 2, 3, ...
    """
    migrations = sorted(
        (
            Migration(
                version=int(match["version"]),
                name=match["name"],
                sql=entry.read_text(encoding="utf-8"),
            )
            for entry in resources.files(__name__).iterdir()
            if (match := _FILE_NAME.match(entry.name))
        ),
        key=lambda migration: migration.version,
    )
    versions = [migration.version for migration in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise MigrationError(f"migration versions must be 1, 2, 3, ... without gaps: {versions}")
    return tuple(migrations)


def pending_migrations(applied: set[int]) -> list[Migration]:
    """Return the migrations whose versions are not in `applied`, in order.

    Raises:
        MigrationError: The store has a version this code does not know (a newer release
            migrated it), so writing to it could corrupt it.
    """
    migrations = load_migrations()
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
