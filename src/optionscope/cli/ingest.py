"""`optionscope ingest`: import files, one transaction per file, with a per-file summary."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer
from rich.table import Table

from optionscope.app import ingest_and_update_metrics, open_migrated_store
from optionscope.cli.console import console, make_progress
from optionscope.cli.options import DB_OPTION
from optionscope.ingest.service import FileSummary, expand_paths


def ingest(
    paths: list[Path] = typer.Argument(..., exists=True, help="Files or folders to import."),
    file_format: str | None = typer.Option(
        None, "--format", help="Force an importer instead of detecting it from the content."
    ),
    snapshot_time: datetime | None = typer.Option(
        None,
        "--snapshot-time",
        help="Capture instant (ISO 8601 with offset) for chain files that do not carry one.",
    ),
    ticker: str | None = typer.Option(
        None, "--ticker", help="Ticker for bar files whose rows and name do not say it."
    ),
    db: str | None = DB_OPTION,
) -> None:
    """Import market-data files (format auto-detected); exits 1 if any file was refused."""
    if snapshot_time is not None and snapshot_time.tzinfo is None:
        raise typer.BadParameter("--snapshot-time needs a UTC offset, e.g. 2025-05-01T20:00Z")
    files = expand_paths(paths)
    with open_migrated_store(db) as store, make_progress() as progress:
        task = progress.add_task("importing", total=len(files))

        def advance(summary: FileSummary) -> None:
            progress.update(task, advance=1, description=summary.path.name)

        summaries, metrics = ingest_and_update_metrics(
            store,
            files,
            file_format=file_format,
            snapshot_time=snapshot_time,
            ticker=ticker,
            on_file_done=advance,
        )
    console.print(summary_table(summaries))
    if metrics is not None:  # watchlist tickers got data: their metrics were recomputed
        console.print(
            f"metrics ({', '.join(metrics.families)}): {metrics.rows_written:,} rows for "
            f"{', '.join(o.ticker for o in metrics.outcomes)}, "
            f"{metrics.soft_failed} soft failure(s), {metrics.seconds:.1f} s"
        )
    refused = [s for s in summaries if not s.ok]
    for summary in refused:
        console.print(f"[red]refused[/red] {summary.error}")
    if refused:
        raise typer.Exit(code=1)


def summary_table(summaries: list[FileSummary]) -> Table:
    """Return the per-file summary: rows read, written, quarantined, flags."""
    table = Table("file", "format", "read", "written", "quarantined", "flags / error")
    for summary in summaries:
        note = summary.error or ", ".join(summary.flags)
        table.add_row(
            summary.path.name,
            summary.file_format or "-",
            f"{summary.rows_read:,}",
            f"{summary.rows_written:,}",
            f"{summary.rows_quarantined:,}",
            note,
        )
    return table
