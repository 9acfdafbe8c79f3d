"""The `optionscope` command line: one command group per area, no business logic here."""

from __future__ import annotations

import logging

import typer

from optionscope.cli import backfill, db, demo, ingest, metrics, simulate, watchlist

app = typer.Typer(
    help="optionscope: options market-structure and volatility analytics, offline-first.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.command("ingest")(ingest.ingest)
app.command("simulate")(simulate.simulate)
app.command("demo")(demo.demo)
app.add_typer(watchlist.app, name="watchlist")
app.add_typer(metrics.app, name="metrics")
app.add_typer(backfill.app, name="backfill")


@app.callback()
def main(
    log_level: str = typer.Option("WARNING", "--log-level", help="DEBUG, INFO, WARNING, ERROR."),
) -> None:
    """Persist market data and turn it into deterministic, versioned metrics."""
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
