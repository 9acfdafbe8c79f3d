"""Composition root: the service functions the CLI (and later the web layer) call.

Each function opens what it needs from configuration (a store target, a project home), calls
the layer that does the work and returns a result the caller renders.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path

from optionscope.domain import tables
from optionscope.domain.instruments import tickers_frame
from optionscope.engine import RunMode, RunObserver, RunRequest, RunSummary, run_metrics, watchlist
from optionscope.ingest.service import FileSummary, ingest_paths
from optionscope.metrics.catalog import load_catalog
from optionscope.metrics.dealer import DealerParams
from optionscope.metrics.families import dealer as dealer_family
from optionscope.metrics.family import MetricFamily
from optionscope.reports.html import render_page
from optionscope.reports.market_report import (
    SnapshotSummary,
    build_market_report,
    summarize_snapshots,
)
from optionscope.storage import Store, open_store

DEFAULT_HOME = Path(".optionscope")


def project_home() -> Path:
    """Return the project home: `OPTIONSCOPE_HOME`, default `./.optionscope/`."""
    return Path(os.environ.get("OPTIONSCOPE_HOME", str(DEFAULT_HOME)))


def sample_files() -> list[Path]:
    """Return the bundled real sample files (see `optionscope/data/samples/PROVENANCE.md`)."""
    folder = resources.files("optionscope") / "data" / "samples"
    return sorted(Path(str(entry)) for entry in folder.iterdir() if entry.name.endswith(".csv"))


def open_migrated_store(target: str | None) -> Store:
    """Open the store at `target` (see `storage.open_store`) and apply pending migrations."""
    store = open_store(target)
    store.migrate()
    return store


def set_watchlist(store: Store, symbols: Sequence[str], *, on_watchlist: bool) -> None:
    """Put `symbols` on (or take them off) the watchlist, adding unknown tickers."""
    known = store.read(tables.TICKERS)
    rows = tickers_frame([s for s in symbols if s not in set(known["ticker"])])
    rows = rows.assign(is_watchlist=on_watchlist)
    existing = known[known["ticker"].isin(symbols)].assign(is_watchlist=on_watchlist)
    with store.transaction() as transaction:
        for frame in (rows, existing):
            if len(frame):
                transaction.upsert(tables.TICKERS, frame.loc[:, list(tables.TICKERS.column_names)])


def metric_catalog() -> tuple[MetricFamily, ...]:
    """Return the metric families: built-in plus those installed through entry points."""
    return load_catalog()


def compute_metrics(
    store: Store,
    request: RunRequest,
    *,
    observer: RunObserver | None = None,
) -> RunSummary:
    """Run the metric engine for `request` (event, batch or range) on `store`."""
    return run_metrics(store, metric_catalog(), request, observer=observer)


def compute_dealer_metrics(
    store: Store,
    request: RunRequest,
    params: DealerParams,
    *,
    spot_override: float | None = None,
    observer: RunObserver | None = None,
) -> RunSummary:
    """Run the dealer family with `params` (and a fixed spot) for `request`.

    Rows are keyed by (ticker, as_of, model_version) whatever the parameters, so only the
    default parameters may be written; anything else must be a dry run.

    Raises:
        ValueError: Non-default parameters or a spot override without ``dry_run``.
    """
    overridden = dealer_family.dealer_overrides(params) or spot_override is not None
    if overridden and not request.dry_run:
        raise ValueError(
            "non-default dealer parameters (or --spot-override) are computed as a dry run "
            "only: stored rows are keyed by model version, not by parameters "
            "(docs/metrics/dealer.md); add --dry-run"
        )
    family = dealer_family.make_family(params, spot_override=spot_override)
    overrides = sorted({*params.overrides, *dealer_family.dealer_overrides(params)})
    if spot_override is not None:
        overrides.append("spot_override")
    header = {
        "dealer parameters": {**params.to_dict(), "spot_override": spot_override},
        "overrides": ", ".join(overrides) or "none",
    }
    return run_metrics(store, (family,), request, observer=observer, header=header)


def add_to_watchlist(
    store: Store,
    symbols: Sequence[str],
    *,
    dry_run: bool = False,
    observer: RunObserver | None = None,
) -> RunSummary:
    """Put `symbols` on the watchlist and compute every family over their full lookback.

    This is the event path: each ticker gets a year of rows at once (see
    `engine.plan.DEFAULT_EVENT_SESSIONS`), from whatever data the store already holds.
    """
    names = tuple(dict.fromkeys(symbol.strip().upper() for symbol in symbols))
    if not dry_run:
        set_watchlist(store, names, on_watchlist=True)
    request = RunRequest(mode=RunMode.EVENT, tickers=names, dry_run=dry_run)
    return compute_metrics(store, request, observer=observer)


def ingest_and_update_metrics(
    store: Store,
    paths: Sequence[Path],
    *,
    file_format: str | None = None,
    snapshot_time: datetime | None = None,
    ticker: str | None = None,
    on_file_done: Callable[[FileSummary], None] | None = None,
    observer: RunObserver | None = None,
) -> tuple[list[FileSummary], RunSummary | None]:
    """Import files, then recompute the families of watchlist tickers that got data.

    The recomputation is the event path (full lookback), so a ticker arriving through
    ingest has its rows at once; rows whose inputs did not change are rewritten identically,
    which the upsert turns into no-ops.

    Returns:
        The per-file summaries and the metric run (None when no watchlist ticker changed).
    """
    summaries = ingest_paths(store, paths, file_format=file_format, snapshot_time=snapshot_time,
                             ticker=ticker, on_file_done=on_file_done)  # fmt: skip
    changed = {t for summary in summaries if summary.ok and summary.rows_written
               for t in summary.tickers}  # fmt: skip
    tickers = tuple(t for t in watchlist(store) if t in changed)
    if not tickers:
        return summaries, None
    request = RunRequest(mode=RunMode.EVENT, tickers=tickers)
    return summaries, compute_metrics(store, request, observer=observer)


@dataclass(frozen=True, slots=True)
class DemoResult:
    """What `run_demo` did.

    Attributes:
        store_url: The demo store.
        files: Per-file import summaries.
        snapshots: Chain snapshot summaries per underlying.
        row_counts: Rows per table after the run.
        report_path: The HTML report written.
        metrics: The metric run of the watchlist event (technical and volatility families).
    """

    store_url: str
    files: list[FileSummary]
    snapshots: dict[str, list[SnapshotSummary]]
    row_counts: dict[str, int]
    report_path: Path
    metrics: RunSummary


def run_demo(
    home: Path,
    *,
    on_file_done: Callable[[FileSummary], None] | None = None,
    observer: RunObserver | None = None,
) -> DemoResult:
    """Build a fresh DuckDB store under `home`, import the bundled sample, write the report.

    The sample's underlyings go on the watchlist, which computes the metric families over
    their full lookback (the event path) before the report is built.

    Args:
        home: Project home; the demo owns `home/demo/` and recreates it on every run.
        on_file_done: Called after each imported file (progress reporting).
        observer: Progress of the metric run.

    Returns:
        What was imported and computed, and where the report is.
    """
    demo_dir = home / "demo"
    shutil.rmtree(demo_dir, ignore_errors=True)
    demo_dir.mkdir(parents=True)
    with open_migrated_store(str(demo_dir / "optionscope.duckdb")) as store:
        files = ingest_paths(store, sample_files(), on_file_done=on_file_done)
        underlyings = sorted(set(store.read(tables.CHAIN_SNAPSHOTS)["underlying"]))
        metrics = add_to_watchlist(store, underlyings, observer=observer)
        snapshots = {u: summarize_snapshots(store, u) for u in underlyings}
        report_path = demo_dir / "report.html"
        page = build_market_report(store, title="optionscope demo: SPY (bundled real sample)")
        report_path.write_text(render_page(page), encoding="utf-8")
        return DemoResult(
            store_url=store.url,
            files=files,
            snapshots=snapshots,
            row_counts=store.table_row_counts(),
            report_path=report_path,
            metrics=metrics,
        )
