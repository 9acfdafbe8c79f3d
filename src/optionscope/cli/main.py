"""The `optionscope` command line."""

import typer

app = typer.Typer(help="optionscope: options market-structure analytics.")
