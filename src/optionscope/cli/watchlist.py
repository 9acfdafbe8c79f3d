"""`optionscope watchlist`: add tickers (computing their metrics at once), remove, list."""

from __future__ import annotations

import typer
from rich.table import Table

from optionscope.app import add_to_watchlist, open_migrated_store, set_watchlist
from optionscope.cli.console import console
from optionscope.cli.metrics import (
    LOG_LEVEL_OPTION,
    ProgressObserver,
    print_summary,
    progress_bar,
    set_log_level,
)
from optionscope.cli.options import DB_OPTION
from optionscope.domain import tables

app = typer.Typer(help="The tickers the nightly batch computes.", no_args_is_help=True)


@app.command("add")
def add(
    tickers: list[str] = typer.Argument(..., help="Tickers to add (e.g. SPY QQQ)."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Compute and print the rows; change nothing."
    ),
    log_level: str | None = LOG_LEVEL_OPTION,
    db: str | None = DB_OPTION,
) -> None:
    """Add tickers and compute every metric family over their full lookback (an event)."""
    set_log_level(log_level)
    with open_migrated_store(db) as store, progress_bar() as progress:
        observer = ProgressObserver(progress, store.url)
        summary = add_to_watchlist(store, tickers, dry_run=dry_run, observer=observer)
    print_summary(summary)


@app.command("remove")
def remove(
    tickers: list[str] = typer.Argument(..., help="Tickers to take off the watchlist."),
    db: str | None = DB_OPTION,
) -> None:
    """Take tickers off the watchlist (their stored data and metrics stay)."""
    names = [ticker.strip().upper() for ticker in tickers]
    with open_migrated_store(db) as store:
        set_watchlist(store, names, on_watchlist=False)
    console.print(f"removed from the watchlist: {', '.join(names)}")


@app.command("list")
def list_watchlist(db: str | None = DB_OPTION) -> None:
    """Print the watchlist."""
    with open_migrated_store(db) as store:
        rows = store.read(tables.TICKERS, where={"is_watchlist": True}, order_by=["ticker"])
    table = Table("ticker", "asset class", "calendar", title=f"watchlist ({len(rows)})")
    for row in rows.itertuples(index=False):
        table.add_row(str(row.ticker), str(row.asset_class), str(row.calendar))
    console.print(table)
