"""`optionscope demo`: the main job on the embedded default, on bundled real data."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from optionscope.app import project_home, run_demo, sample_files
from optionscope.cli.console import console, make_progress
from optionscope.cli.ingest import summary_table
from optionscope.engine import RunPlan, TickerOutcome
from optionscope.ingest.service import FileSummary


def demo(
    home: Path | None = typer.Option(
        None, "--home", help="Project home (default $OPTIONSCOPE_HOME or ./.optionscope)."
    ),
) -> None:
    """Import the bundled SPY sample into a fresh DuckDB store and write the HTML report."""
    home = home or project_home()
    console.rule("optionscope demo")
    with make_progress() as progress:
        task = progress.add_task("importing sample", total=len(sample_files()))

        def advance(summary: FileSummary) -> None:
            progress.update(task, advance=1, description=summary.path.name)

        metrics_task = progress.add_task("metrics", total=None, visible=False)

        class _Observer:
            def on_run_planned(self, plan: RunPlan) -> None:
                progress.update(metrics_task, total=plan.units, visible=True)

            def on_unit_done(self, outcome: TickerOutcome) -> None:
                progress.update(metrics_task, advance=1, description=f"metrics {outcome.ticker}")

        result = run_demo(home, on_file_done=advance, observer=_Observer())
    console.print(f"store: {result.store_url}")
    console.print(summary_table(result.files))
    for underlying, summaries in result.snapshots.items():
        table = Table(
            "session",
            "header spot",
            "parity spot",
            "check",
            "contracts",
            "call OI",
            "put OI",
            "P/C OI",
            title=f"{underlying} chain snapshots",
        )
        for s in summaries:
            ratio = s.put_call_open_interest_ratio
            table.add_row(
                str(s.session_date),
                _price(s.header_spot),
                _price(s.parity_spot),
                s.spot_check if s.spot_check == "ok" else f"[red]{s.spot_check}[/red]",
                f"{s.contracts:,}",
                f"{s.call_open_interest:,.0f}",
                f"{s.put_open_interest:,.0f}",
                "-" if ratio is None else f"{ratio:.2f}",
            )
        console.print(table)
    metrics = result.metrics
    console.print(
        f"metrics ({', '.join(metrics.families)}): {metrics.rows_written:,} rows for "
        f"{metrics.processed} ticker(s), sessions {metrics.plan.as_of_first} .. "
        f"{metrics.plan.as_of_last}, {metrics.soft_failed} soft failure(s), "
        f"{metrics.seconds:.1f} s"
    )
    console.print(f"report: {result.report_path.resolve()}")


def _price(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"
