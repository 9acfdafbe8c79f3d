"""`optionscope db`: create, migrate and describe a store."""

from __future__ import annotations

import typer
from rich.table import Table

from optionscope.app import open_migrated_store
from optionscope.cli.console import console
from optionscope.cli.options import DB_OPTION
from optionscope.storage import open_store

app = typer.Typer(help="Create, migrate and describe the store.", no_args_is_help=True)


@app.command("init")
def init(db: str | None = DB_OPTION) -> None:
    """Create the store if needed and apply every migration."""
    with open_store(db) as store:
        applied = store.migrate()
        console.print(
            f"{store.url}: schema version {store.schema_version()} "
            f"({len(applied)} migration(s) applied)"
        )


@app.command("migrate")
def migrate(db: str | None = DB_OPTION) -> None:
    """Apply pending migrations."""
    with open_store(db) as store:
        applied = store.migrate()
        names = ", ".join(str(v) for v in applied) or "none pending"
        console.print(f"{store.url}: applied {names}; schema version {store.schema_version()}")


@app.command("info")
def info(db: str | None = DB_OPTION) -> None:
    """Print the schema version, the tables and their row counts."""
    with open_migrated_store(db) as store:
        console.print(f"store: {store.url} ({store.backend})")
        console.print(f"schema version: {store.schema_version()}")
        table = Table("table", "rows")
        for name, count in sorted(store.table_row_counts().items()):
            table.add_row(name, f"{count:,}")
        console.print(table)
