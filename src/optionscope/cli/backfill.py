"""`optionscope backfill`: plan and run resumable, chunked metric backfills (foreground)."""

from __future__ import annotations

import typer
from rich.table import Table

from optionscope.app import metric_catalog, open_migrated_store
from optionscope.cli.console import console, make_progress
from optionscope.cli.metrics import LOG_LEVEL_OPTION, parse_day, set_log_level
from optionscope.cli.options import DB_OPTION
from optionscope.engine import PlanError
from optionscope.engine.backfill import (
    DEFAULT_MAX_ATTEMPTS,
    BackfillStatus,
    UnitResult,
    backfill_status,
    plan_backfill,
    run_backfill,
)
from optionscope.engine.ledger import UnknownJobError
from optionscope.engine.plan import DEFAULT_CHUNK_SESSIONS
from optionscope.metrics.catalog import UnknownFamilyError
from optionscope.storage import Store

app = typer.Typer(help="Resumable, chunked historical backfills.", no_args_is_help=True)

ATTEMPTS_OPTION = typer.Option(
    DEFAULT_MAX_ATTEMPTS, "--max-attempts", help="Attempts per unit before it is left failed."
)


def print_status(status: BackfillStatus) -> None:
    """Print a job's state and its progress per family, then any failed unit."""
    request = status.request
    console.print(
        f"job {status.job_id}: {status.state}; {', '.join(request.tickers)} "
        f"{request.start} .. {request.end}, chunks of {request.chunk_sessions} sessions"
    )
    table = Table("family", "done", "total", "failed", "pending", "rows", title="backfill")
    for family in status.families:
        table.add_row(
            family.family,
            f"{family.done:,}",
            f"{family.total:,}",
            f"[red]{family.failed:,}[/red]" if family.failed else "0",
            f"{family.pending:,}",
            f"{family.rows:,}",
        )
    console.print(table)
    for family in status.families:
        for error in family.errors:
            console.print(f"[red]failed[/red] {family.family} {error}")


def _run(store: Store, job_id: str, max_attempts: int) -> BackfillStatus:
    status = backfill_status(store, job_id)
    remaining = status.total - status.done
    with make_progress() as progress:
        task = progress.add_task("backfill", total=remaining)

        def advance(result: UnitResult) -> None:
            mark = " [red]failed[/red]" if result.error else ""
            unit = result.unit
            progress.update(
                task, advance=1, description=f"{unit.family} {unit.ticker} {unit.chunk_end}{mark}"
            )

        return run_backfill(
            store, metric_catalog(), job_id, on_unit_done=advance, max_attempts=max_attempts
        )


def _finish(status: BackfillStatus) -> None:
    print_status(status)
    if status.failed:
        raise typer.Exit(code=1)


@app.command("start")
def start(
    families: list[str] = typer.Option(..., "--family", help="Family to backfill (repeatable)."),
    tickers: list[str] = typer.Option(..., "--ticker", help="Ticker to backfill (repeatable)."),
    first: str = typer.Option(..., "--from", help="First session (YYYY-MM-DD)."),
    last: str = typer.Option(..., "--to", help="Last session (YYYY-MM-DD)."),
    chunk_sessions: int = typer.Option(
        DEFAULT_CHUNK_SESSIONS, "--chunk-sessions", min=1, help="Sessions per unit."
    ),
    max_attempts: int = ATTEMPTS_OPTION,
    log_level: str | None = LOG_LEVEL_OPTION,
    db: str | None = DB_OPTION,
) -> None:
    """Plan a backfill and run it in the foreground (the same request resumes the same job)."""
    set_log_level(log_level)
    start_day, end_day = parse_day(first, "--from"), parse_day(last, "--to")
    if start_day is None or end_day is None:
        raise typer.BadParameter("--from and --to are required")
    with open_migrated_store(db) as store:
        try:
            job_id = plan_backfill(
                store, metric_catalog(), families, tickers, start_day, end_day,
                chunk_sessions=chunk_sessions,
            )  # fmt: skip
        except (PlanError, UnknownFamilyError) as error:
            raise typer.BadParameter(str(error)) from error
        console.print(f"backfill job {job_id}")
        status = _run(store, job_id, max_attempts)
    _finish(status)


@app.command("resume")
def resume(
    job_id: str = typer.Argument(..., help="Job id printed by `backfill start`."),
    max_attempts: int = ATTEMPTS_OPTION,
    log_level: str | None = LOG_LEVEL_OPTION,
    db: str | None = DB_OPTION,
) -> None:
    """Run the units of a job that are not done (pending, interrupted or failed)."""
    set_log_level(log_level)
    with open_migrated_store(db) as store:
        try:
            status = _run(store, job_id, max_attempts)
        except UnknownJobError as error:
            raise typer.BadParameter(str(error.args[0])) from error
    _finish(status)


@app.command("status")
def status(
    job_id: str = typer.Argument(..., help="Job id printed by `backfill start`."),
    db: str | None = DB_OPTION,
) -> None:
    """Show a job's progress per family: done/total, rows, failures."""
    with open_migrated_store(db) as store:
        try:
            found = backfill_status(store, job_id)
        except UnknownJobError as error:
            raise typer.BadParameter(str(error.args[0])) from error
    print_status(found)
