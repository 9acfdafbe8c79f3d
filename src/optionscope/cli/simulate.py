"""`optionscope simulate`: write a deterministic synthetic market through the store."""

from __future__ import annotations

from datetime import date

import typer

from optionscope.app import open_migrated_store
from optionscope.cli.console import console, make_progress
from optionscope.cli.options import DB_OPTION
from optionscope.ingest.simulation import write_simulation
from optionscope.sources.simulator import SimulationSpec


def simulate(
    tickers: int = typer.Option(5, "--tickers", min=1, help="Number of synthetic underlyings."),
    days: int = typer.Option(20, "--days", min=1, help="Number of trading sessions."),
    seed: int = typer.Option(0, "--seed", help="Random seed: same seed, same market."),
    start: str = typer.Option("2024-01-02", "--start", help="First session (YYYY-MM-DD)."),
    chains: bool = typer.Option(
        True, "--chains/--no-chains", help="Simulate option chains, or daily bars only (fast)."
    ),
    db: str | None = DB_OPTION,
) -> None:
    """Simulate underlyings and daily option chains (skew, term structure, OI, bid/ask).

    With `--no-chains`, only the underlyings' daily bars (the same bars as with chains).
    """
    spec = SimulationSpec(
        tickers=tickers,
        sessions=days,
        seed=seed,
        start=date.fromisoformat(start),
        chains=chains,
    )
    with (
        open_migrated_store(db) as store,
        make_progress() as progress,
    ):
        task = progress.add_task("simulating sessions", total=days)
        result = write_simulation(store, spec, on_session_done=lambda _d: progress.advance(task))
    console.print(
        f"{store.url}: {result.sessions} sessions x {result.tickers} tickers, "
        f"{result.bars:,} daily bars, {result.contracts:,} contracts, "
        f"{result.quotes:,} chain rows"
    )
