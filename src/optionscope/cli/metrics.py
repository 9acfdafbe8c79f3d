"""`optionscope metrics`: run the metric families (batch or range) and list them.

The rendering helpers here (run header, progress bar, summary, dry-run tables) are shared
with `optionscope watchlist add`, which runs the same engine for an event.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime

import pandas as pd
import typer
from rich.progress import (
    Progress,
)
from rich.table import Table

from optionscope.app import (
    compute_dealer_metrics,
    compute_metrics,
    metric_catalog,
    open_migrated_store,
)
from optionscope.cli.console import console, make_progress
from optionscope.cli.options import DB_OPTION
from optionscope.engine import PlanError, RunMode, RunPlan, RunRequest, RunSummary, TickerOutcome
from optionscope.metrics.catalog import UnknownFamilyError
from optionscope.metrics.dealer import DealerMode, DealerParams

app = typer.Typer(help="Compute and inspect metric families.", no_args_is_help=True)

LOG_LEVEL_OPTION = typer.Option(
    None, "--log-level", help="DEBUG, INFO, WARNING, ERROR (overrides the global option)."
)
PREVIEW_ROWS = 20
"""Rows per family a dry run prints."""
PREVIEW_COLUMNS: dict[str, tuple[str, ...]] = {
    "technical": ("rsi_14d", "macd_12_26d", "adx_14d", "atr_14d", "obv_252d"),
    "volatility": (
        "hv_close_20d",
        "hv_yang_zhang_20d",
        "iv_30d",
        "iv_rank_252d",
        "risk_reversal_25delta_30d",
    ),
    "dealer": (
        "spot",
        "net_gex",
        "gamma_flip",
        "primary_call_wall",
        "primary_put_wall",
        "dgpi",
        "dealer_position",
        "confidence",
    ),
}


def set_log_level(level: str | None) -> None:
    """Apply `--log-level` to the root logger when given."""
    if level:
        logging.getLogger().setLevel(level.upper())


def parse_day(value: str | None, option: str) -> date | None:
    """Return an ISO date option as a date (None stays None).

    Raises:
        typer.BadParameter: The value is not YYYY-MM-DD.
    """
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise typer.BadParameter(f"{option} must be YYYY-MM-DD, not {value!r}") from error


class ProgressObserver:
    """A `RunObserver` that prints the run header and drives a rich progress bar."""

    def __init__(self, progress: Progress, store_url: str) -> None:
        self._progress = progress
        self._store_url = store_url
        self._task = progress.add_task("planning", total=None)

    def on_run_planned(self, plan: RunPlan) -> None:
        """Print the run header and size the bar."""
        print_header(plan, self._store_url)
        self._progress.update(self._task, total=plan.units, description="computing")

    def on_unit_done(self, outcome: TickerOutcome) -> None:
        """Advance the bar by one work unit (a ticker, or a date chunk of one)."""
        mark = " [red]soft-failed[/red]" if outcome.soft_failed else ""
        self._progress.update(self._task, advance=1, description=f"{outcome.ticker}{mark}")


def print_header(plan: RunPlan, store_url: str) -> None:
    """Print what the run will do: mode, sessions, families, tickers, store."""
    request = plan.request
    families = ", ".join(
        f.key for f in metric_catalog() if request.families is None or f.name in request.families
    )
    names = [p.ticker for p in plan.tickers]
    shown = ", ".join(names[:12]) + (f", ... (+{len(names) - 12})" if len(names) > 12 else "")
    first, last = plan.as_of_first, plan.as_of_last
    sessions = "-" if first is None else (str(first) if first == last else f"{first} .. {last}")
    header = Table.grid(padding=(0, 2))
    header.add_row("mode", f"{request.mode}{' (dry run: nothing is written)' * request.dry_run}")
    header.add_row("sessions", sessions)
    header.add_row("families", families)
    header.add_row("tickers", f"{len(names)}: {shown}" if names else "none")
    header.add_row(
        "work", f"{plan.units} unit(s): date chunks of up to {request.chunk_sessions} sessions"
    )
    header.add_row("store", store_url)
    console.rule("metric run")
    console.print(header)


@contextmanager
def progress_bar() -> Iterator[Progress]:
    """Yield the run's progress bar (removed from the screen when done)."""
    with make_progress() as progress:
        yield progress


def print_summary(summary: RunSummary) -> None:
    """Print the final counts, timings and any soft failures (and a dry run's rows)."""
    if summary.plan.request.dry_run:
        for name, frame in summary.frames.items():
            print_rows(name, frame)
    table = Table(
        "processed",
        "succeeded",
        "soft-failed",
        "skipped",
        "rows computed",
        "rows written",
        "avg per ticker",
        "total",
        title="metric run summary",
    )
    table.add_row(
        f"{summary.processed:,}",
        f"{summary.succeeded:,}",
        f"[red]{summary.soft_failed:,}[/red]" if summary.soft_failed else "0",
        f"{summary.skipped:,}",
        f"{summary.rows_computed:,}",
        f"{summary.rows_written:,}",
        f"{summary.seconds_per_ticker * 1000:,.1f} ms",
        f"{summary.seconds:,.2f} s",
    )
    console.print(table)
    statuses = ", ".join(f"{name} {count:,}" for name, count in sorted(summary.statuses.items()))
    console.print(f"row statuses: {statuses or 'none'}")
    for outcome in summary.outcomes:
        for error in outcome.errors:
            console.print(f"[red]failed[/red] {outcome.ticker}: {error}")
        if outcome.skipped and outcome.note:
            console.print(f"skipped {outcome.ticker}: {outcome.note}")


def print_rows(family: str, frame: pd.DataFrame) -> None:
    """Print up to `PREVIEW_ROWS` computed rows of a family."""
    if frame.empty:
        return
    columns = ["ticker", "as_of", "status", *PREVIEW_COLUMNS.get(family, ())]
    table = Table(*columns, title=f"{family}: {len(frame):,} row(s) computed (not written)")
    for row in frame.tail(PREVIEW_ROWS).itertuples(index=False):
        cells = []
        for column in columns:
            value = getattr(row, column)
            if isinstance(value, float):
                cells.append("-" if math.isnan(value) else f"{value:,.4f}")
            else:
                cells.append(str(value))
        table.add_row(*cells)
    console.print(table)


def execute(request: RunRequest, db: str | None) -> RunSummary:
    """Run `request` with header, progress bar and summary; exit 2 on a bad request."""
    with open_migrated_store(db) as store, progress_bar() as progress:
        observer = ProgressObserver(progress, store.url)
        try:
            summary = compute_metrics(store, request, observer=observer)
        except (PlanError, UnknownFamilyError) as error:
            raise typer.BadParameter(str(error)) from error
    print_summary(summary)
    return summary


@app.command("run")
def run(
    as_of: str | None = typer.Option(
        None, "--as-of", help="Session to compute (YYYY-MM-DD); default: latest stored."
    ),
    start: str | None = typer.Option(None, "--from", help="First session of a range."),
    end: str | None = typer.Option(None, "--to", help="Last session of a range."),
    tickers: list[str] | None = typer.Option(
        None, "--ticker", help="Ticker to compute (repeatable); default: the watchlist."
    ),
    families: list[str] | None = typer.Option(
        None, "--family", help="Family to compute (repeatable); default: all."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Compute and print, write nothing."),
    log_level: str | None = LOG_LEVEL_OPTION,
    db: str | None = DB_OPTION,
) -> None:
    """Compute the latest session (or --as-of, or --from/--to) for the watchlist."""
    set_log_level(log_level)
    first, last = parse_day(start, "--from"), parse_day(end, "--to")
    if (first is None) != (last is None):
        raise typer.BadParameter("--from and --to go together")
    if first is not None and as_of is not None:
        raise typer.BadParameter("use either --as-of or --from/--to")
    request = RunRequest(
        mode=RunMode.RANGE if first is not None else RunMode.BATCH,
        tickers=tuple(tickers) if tickers else None,
        as_of=parse_day(as_of, "--as-of"),
        start=first,
        end=last,
        families=tuple(families) if families else None,
        dry_run=dry_run,
    )
    summary = execute(request, db)
    if summary.soft_failed and not dry_run:
        raise typer.Exit(code=1)


@app.command("list")
def list_families() -> None:
    """List the metric families: version, table, inputs and lookbacks."""
    table = Table("family", "version", "table", "inputs (lookback sessions)", "what")
    for family in metric_catalog():
        inputs = ", ".join(f"{spec.dataset} ({spec.lookback_sessions})" for spec in family.inputs)
        if family.history is not None:
            inputs += f", own history ({family.history.lookback_sessions})"
        table.add_row(family.name, str(family.version), family.schema.name, inputs, family.doc)
    console.print(table)


def parse_snapshot_time(value: str | None) -> date | datetime | None:
    """Return `--snapshot-time`: a session date, or a tz-aware instant (UTC).

    Raises:
        typer.BadParameter: The value is neither, or an instant without a timezone.
    """
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except ValueError as error:
        raise typer.BadParameter(f"--snapshot-time: not a date or instant: {value!r}") from error
    if stamp.tzinfo is None:
        if stamp == stamp.normalize() and "T" not in value and ":" not in value:
            return stamp.date()
        raise typer.BadParameter("--snapshot-time needs a timezone (e.g. 2025-09-25T21:05Z)")
    instant: datetime = stamp.tz_convert("UTC").to_pydatetime()
    return instant


@app.command("dealer")
def dealer_command(
    tickers: list[str] | None = typer.Option(
        None, "--ticker", help="Ticker to compute (repeatable); default: the watchlist."
    ),
    snapshot_time: str | None = typer.Option(
        None,
        "--snapshot-time",
        help="Session (YYYY-MM-DD: its latest snapshot) or exact snapshot instant with a "
        "timezone (e.g. 2025-09-26T01:05Z: that snapshot; an error names any ticker without "
        "one). Default: the latest session with data.",
    ),
    mode: str = typer.Option(
        "default",
        "--mode",
        help="Definitions: 'default', or 'seed_compat' (the seed story's exact definitions, "
        "opposite sign included; dry run only; docs/metrics/dealer.md).",
    ),
    max_dte_days: int = typer.Option(90, "--max-dte-days", help="Drop expiries further out."),
    min_open_interest: float = typer.Option(
        100.0, "--min-open-interest", help="Drop contracts with less open interest."
    ),
    min_volume: float = typer.Option(1.0, "--min-volume", help="Drop contracts traded less."),
    walls_top_n: int = typer.Option(3, "--walls-top-n", help="Walls reported per side."),
    gex_slope_range_pct: float = typer.Option(
        0.02, "--gex-slope-range-pct", help="Half-width of the secant slope window (0.02 = 2%)."
    ),
    spot_override: float | None = typer.Option(
        None, "--spot-override", help="Spot to use instead of the session close (dry run)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Compute and print, write nothing."),
    log_level: str | None = LOG_LEVEL_OPTION,
    db: str | None = DB_OPTION,
) -> None:
    """Compute dealer positioning (GEX, flip, walls, slope, DGPI) for one session.

    Non-default parameters are overrides: recorded in each row's parameters and allowed only
    with --dry-run, since stored rows are keyed by model version (docs/metrics/dealer.md).
    """
    set_log_level(log_level)
    try:
        chosen_mode = DealerMode(mode)
    except ValueError as error:
        choices = ", ".join(str(m) for m in DealerMode)
        raise typer.BadParameter(f"--mode must be one of {choices}, not {mode!r}") from error
    given: dict[str, object] = {
        "mode": chosen_mode,
        "max_dte_days": max_dte_days,
        "min_open_interest": min_open_interest,
        "min_volume": min_volume,
        "walls_top_n": walls_top_n,
        "gex_slope_range_pct": gex_slope_range_pct,
    }
    default = DealerParams()
    overrides = tuple(sorted(k for k, v in given.items() if getattr(default, k) != v))
    try:
        params = DealerParams(**given, overrides=overrides)  # type: ignore[arg-type]
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    shown = [*overrides, *(["spot_override"] if spot_override is not None else [])]
    console.print(f"dealer parameters: overrides {', '.join(shown) if shown else 'none'}")
    selected = parse_snapshot_time(snapshot_time)
    request = RunRequest(
        mode=RunMode.BATCH,
        tickers=tuple(t.upper() for t in tickers) if tickers else None,
        as_of=selected if not isinstance(selected, datetime) else None,
        snapshot_time=selected if isinstance(selected, datetime) else None,
        families=("dealer",),
        dry_run=dry_run,
    )
    with open_migrated_store(db) as store, progress_bar() as progress:
        observer = ProgressObserver(progress, store.url)
        try:
            summary = compute_dealer_metrics(
                store, request, params, spot_override=spot_override, observer=observer
            )
        except (PlanError, ValueError) as error:
            raise typer.BadParameter(str(error)) from error
    print_summary(summary)
    if summary.soft_failed and not dry_run:
        raise typer.Exit(code=1)
