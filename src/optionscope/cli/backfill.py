"""`optionscope backfill`: plan, run, watch and cancel resumable historical backfills.

optionscope backfill start --family technical --ticker SPY --from 2015-01-02 --to 2025-12-31
optionscope backfill status JOB        # progress per family: done/total, rows, rate, ETA
optionscope backfill resume JOB        # foreground, with a progress bar
optionscope backfill worker [JOB]      # what `start` runs detached
optionscope backfill cancel JOB
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer
from rich.table import Table

from optionscope.app import metric_catalog, open_migrated_store
from optionscope.cli.console import console, make_progress
from optionscope.cli.metrics import LOG_LEVEL_OPTION, parse_day, set_log_level
from optionscope.cli.options import DB_OPTION
from optionscope.engine import PlanError
from optionscope.engine.backfill import (
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_UNIT_SESSIONS,
    DEFAULT_UNIT_TICKERS,
    LOCK_WAIT_SECONDS,
    BackfillStatus,
    JobBusyError,
    UnitResult,
    backfill_status,
    cancel_backfill,
    plan_backfill,
    run_backfill,
)
from optionscope.engine.executors import EXECUTOR_NAMES, Executor, make_executor
from optionscope.engine.ledger import JobState, UnknownJobError, list_jobs
from optionscope.metrics.catalog import UnknownFamilyError
from optionscope.storage import open_store, resolve_target
from optionscope.storage.connect import DEFAULT_HOME, HOME_VARIABLE, is_postgres_url

app = typer.Typer(help="Resumable, chunked historical backfills.", no_args_is_help=True)

ATTEMPTS_OPTION = typer.Option(
    DEFAULT_MAX_ATTEMPTS, "--max-attempts", min=1, help="Attempts per unit in one run."
)
EXECUTOR_OPTION = typer.Option(
    "pool", "--executor", help=f"Where units run: {', '.join(EXECUTOR_NAMES)}."
)
WORKERS_OPTION = typer.Option(None, "--workers", min=1, help="Pool processes (default: the cores).")
SCHEDULER_OPTION = typer.Option(
    None, "--scheduler", help="Dask scheduler address, tcp://HOST:PORT (--executor dask)."
)
JOB_ARGUMENT = typer.Argument(..., help="Job id printed by `backfill start`.")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{rest:02d}s"


def print_status(status: BackfillStatus) -> None:
    """Print a job's state, its progress per family, then every failed unit."""
    request = status.request
    console.print(
        f"job {status.job_id}: [bold]{status.state}[/bold]; {len(request.tickers)} ticker(s) "
        f"{request.start} .. {request.end}; units of up to {request.unit_tickers} tickers x "
        f"{request.unit_sessions} sessions; ETA {_duration(status.eta_seconds)}"
    )
    table = Table(
        "family", "done", "total", "failed", "running", "pending", "rows", "units/s", "rows/s",
        title="backfill",
    )  # fmt: skip
    for family in status.families:
        busy = family.seconds / max(status.workers, 1)
        table.add_row(
            family.family,
            f"{family.done:,}",
            f"{family.total:,}",
            f"[red]{family.failed:,}[/red]" if family.failed else "0",
            f"{family.running:,}",
            f"{family.pending:,}",
            f"{family.rows:,}",
            f"{family.done / busy:.2f}" if busy > 0 else "-",
            f"{family.rows / busy:,.0f}" if busy > 0 else "-",
        )
    console.print(table)
    for family in status.families:
        for failure in family.failures:
            console.print(f"[red]failed[/red] {family.family} {failure}")


def _executor(name: str, workers: int | None, scheduler: str | None) -> Executor:
    try:
        return make_executor(name, workers=workers, scheduler=scheduler)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error


def _run(
    target: str, job_id: str, executor: Executor, max_attempts: int, *, progress_bar: bool
) -> BackfillStatus:
    try:
        with open_store(target, read_only=True, lock_wait_seconds=LOCK_WAIT_SECONDS) as store:
            before = backfill_status(store, job_id)
        remaining = before.total - before.done
        if not progress_bar:
            return run_backfill(target, job_id, executor=executor,
                                max_attempts=max_attempts)  # fmt: skip
        with make_progress() as progress:
            task = progress.add_task("backfill", total=remaining)

            def advance(result: UnitResult) -> None:
                mark = " [red]failed[/red]" if result.error else ""
                done = 1 if result.error is None else 0
                progress.update(task, advance=done, description=result.unit.describe() + mark)

            return run_backfill(
                target, job_id, executor=executor, on_unit_done=advance,
                max_attempts=max_attempts,
            )  # fmt: skip
    except JobBusyError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(code=1) from error
    finally:
        executor.close()


def _finish(status: BackfillStatus) -> None:
    print_status(status)
    if status.failed:
        raise typer.Exit(code=1)


def _log_path(target: str, job_id: str) -> Path:
    """Return the log file of a detached worker: beside the DuckDB file, or in the home."""
    if not is_postgres_url(target) and target != ":memory:":
        return Path(target).expanduser().resolve().parent / f"backfill-{job_id}.log"
    home = Path(os.environ.get(HOME_VARIABLE) or DEFAULT_HOME)
    home.mkdir(parents=True, exist_ok=True)
    return home.resolve() / f"backfill-{job_id}.log"


def _detach(
    target: str,
    job_id: str,
    executor: str,
    workers: int | None,
    scheduler: str | None,
    max_attempts: int,
) -> tuple[int, Path]:
    """Start `backfill worker JOB` as a detached process; return its pid and log file."""
    command = [
        sys.executable, "-m", "optionscope", "--log-level", "INFO", "backfill", "worker", job_id,
        "--db", target, "--executor", executor, "--max-attempts", str(max_attempts),
    ]  # fmt: skip
    if workers:
        command += ["--workers", str(workers)]
    if scheduler:
        command += ["--scheduler", scheduler]
    log = _log_path(target, job_id)
    # posix_spawn, not subprocess.Popen: the worker outlives this command on purpose (its own
    # session, stdin from /dev/null, output appended to the log), and nothing here waits for it.
    pid = os.posix_spawn(
        sys.executable,
        command,
        dict(os.environ),
        file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, str(log), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ],
        setsid=True,
    )
    return pid, log


@app.command("start")
def start(
    families: list[str] = typer.Option(..., "--family", help="Family to backfill (repeatable)."),
    tickers: list[str] = typer.Option(..., "--ticker", help="Ticker to backfill (repeatable)."),
    first: str = typer.Option(..., "--from", help="First session (YYYY-MM-DD)."),
    last: str = typer.Option(..., "--to", help="Last session (YYYY-MM-DD)."),
    unit_tickers: int = typer.Option(
        DEFAULT_UNIT_TICKERS, "--unit-tickers", min=1, help="Most tickers in one unit."
    ),
    unit_sessions: int = typer.Option(
        DEFAULT_UNIT_SESSIONS, "--unit-sessions", min=1, help="Sessions in one unit's window."
    ),
    detach: bool = typer.Option(
        True,
        "--detach/--foreground",
        help="Run in a background worker and return at once (default), or here with a "
        "progress bar.",
    ),
    executor: str = EXECUTOR_OPTION,
    workers: int | None = WORKERS_OPTION,
    scheduler: str | None = SCHEDULER_OPTION,
    max_attempts: int = ATTEMPTS_OPTION,
    log_level: str | None = LOG_LEVEL_OPTION,
    db: str | None = DB_OPTION,
) -> None:
    """Plan a backfill (requested minus covered) and run it; print the job id at once.

    The same request names the same job: starting it again resumes it.
    """
    set_log_level(log_level)
    start_day, end_day = parse_day(first, "--from"), parse_day(last, "--to")
    if start_day is None or end_day is None:
        raise typer.BadParameter("--from and --to are required")
    target = resolve_target(db)
    with open_migrated_store(target) as store:
        try:
            job_id = plan_backfill(
                store, metric_catalog(), families, tickers, start_day, end_day,
                unit_tickers=unit_tickers, unit_sessions=unit_sessions,
            )  # fmt: skip
        except (PlanError, UnknownFamilyError) as error:
            raise typer.BadParameter(str(error)) from error
        planned = backfill_status(store, job_id)
    console.print(f"backfill job {job_id}: {planned.total - planned.done:,} unit(s) to run")
    if detach:
        pid, log = _detach(target, job_id, executor, workers, scheduler, max_attempts)
        console.print(
            f"worker pid {pid}, log {log}; watch with `optionscope backfill status {job_id}`"
        )
        return
    _finish(_run(target, job_id, _executor(executor, workers, scheduler), max_attempts,
                 progress_bar=True))  # fmt: skip


@app.command("resume")
def resume(
    job_id: str = JOB_ARGUMENT,
    executor: str = EXECUTOR_OPTION,
    workers: int | None = WORKERS_OPTION,
    scheduler: str | None = SCHEDULER_OPTION,
    max_attempts: int = ATTEMPTS_OPTION,
    log_level: str | None = LOG_LEVEL_OPTION,
    db: str | None = DB_OPTION,
) -> None:
    """Run the units of a job that are not done (pending, interrupted or failed), here."""
    set_log_level(log_level)
    target = resolve_target(db)
    try:
        status = _run(target, job_id, _executor(executor, workers, scheduler), max_attempts,
                      progress_bar=True)  # fmt: skip
    except UnknownJobError as error:
        raise typer.BadParameter(str(error.args[0])) from error
    _finish(status)


@app.command("worker")
def worker(
    job_id: str | None = typer.Argument(None, help="Job to run (default: every unfinished one)."),
    executor: str = EXECUTOR_OPTION,
    workers: int | None = WORKERS_OPTION,
    scheduler: str | None = SCHEDULER_OPTION,
    max_attempts: int = ATTEMPTS_OPTION,
    log_level: str | None = LOG_LEVEL_OPTION,
    db: str | None = DB_OPTION,
) -> None:
    """Run a job (or every planned, running or interrupted job) without a progress bar."""
    set_log_level(log_level)
    target = resolve_target(db)
    if job_id is None:
        with open_store(target, lock_wait_seconds=LOCK_WAIT_SECONDS) as store:
            jobs = list_jobs(store)
        runnable = {str(JobState.PLANNED), str(JobState.RUNNING)}
        job_ids = [str(j) for j, s in zip(jobs["job_id"], jobs["state"], strict=True)
                   if s in runnable]  # fmt: skip
    else:
        job_ids = [job_id]
    failed = 0
    for one in job_ids:
        try:
            status = _run(target, one, _executor(executor, workers, scheduler), max_attempts,
                          progress_bar=False)  # fmt: skip
        except UnknownJobError as error:
            raise typer.BadParameter(str(error.args[0])) from error
        print_status(status)
        failed += status.failed
    if failed:
        raise typer.Exit(code=1)


@app.command("status")
def status(
    job_id: str | None = typer.Argument(None, help="Job id (default: list every job)."),
    db: str | None = DB_OPTION,
) -> None:
    """Show a job's progress per family (done/total, rows, rate, ETA, failures), or the jobs."""
    target = resolve_target(db)
    with open_store(target, read_only=True, lock_wait_seconds=LOCK_WAIT_SECONDS) as store:
        if job_id is None:
            jobs = list_jobs(store)
            table = Table("job", "state", "families", "from", "to", "created", title="jobs")
            for job in jobs.to_dict("records"):
                table.add_row(
                    str(job["job_id"]), str(job["state"]), str(job["families_json"]),
                    str(job["start_date"]), str(job["end_date"]), str(job["created_at"]),
                )  # fmt: skip
            console.print(table)
            return
        try:
            found = backfill_status(store, job_id)
        except UnknownJobError as error:
            raise typer.BadParameter(str(error.args[0])) from error
    print_status(found)


@app.command("cancel")
def cancel(job_id: str = JOB_ARGUMENT, db: str | None = DB_OPTION) -> None:
    """Stop a job: units in flight finish, no new one starts (`resume` continues it)."""
    target = resolve_target(db)
    with open_store(target, lock_wait_seconds=LOCK_WAIT_SECONDS) as store:
        try:
            state = cancel_backfill(store, job_id)
        except UnknownJobError as error:
            raise typer.BadParameter(str(error.args[0])) from error
    console.print(f"job {job_id}: {state}")
