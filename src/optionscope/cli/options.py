"""Options shared by every command."""

from __future__ import annotations

import typer

DB_OPTION = typer.Option(
    None,
    "--db",
    envvar="OPTIONSCOPE_DB",
    help="Store: a DuckDB file path or a postgresql:// URL "
    "(default: $OPTIONSCOPE_HOME/optionscope.duckdb).",
)
