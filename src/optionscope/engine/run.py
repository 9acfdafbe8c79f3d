"""`run_metrics`: the one code path behind events, nightly batches and backfills.

Algorithm:

1. Select the requested families from the catalog. Unless it is a dry run, create each
   family's table from its declared schema if missing (`Store.ensure_table`) and refuse to
   run when a stored table's shape differs from the spec.
2. Plan (`engine.plan`): per ticker, the as-of sessions of the event, batch or range.
3. Cut each ticker's sessions into date chunks of ``chunk_sessions`` (`RunPlan.rounds`: round
   ``r`` holds every ticker's ``r``-th chunk, so a chunk's earlier sessions are written
   before it is loaded). For each chunk of tickers in a round: load every input with a few
   bulk reads (`engine.load`), then for each ticker and family call the family's pure
   ``compute`` on the ticker's inputs and turn the result into table rows. A computation
   that raises does not stop the run: the ticker gets rows with status ``failed`` and the
   error (a soft failure).
4. Write the chunk's rows of every family in one transaction: upserts keyed by
   ``(ticker, as_of, model_version)``, so rerunning changes nothing and a crash loses at most
   one chunk. A family's companion tables (`CompanionTable`, e.g. the dealer JSON in
   ``daily_snapshots``) are upserted in the same transaction. A dry run writes nothing and
   keeps the rows in the summary instead.
5. Record the run in `metric_runs` (the only wall-clock timestamp) and return the summary.

Rows depend only on the inputs of their own session windows, never on the mode, the chunking,
the order of tickers or the time of day, so an event, a batch and a range produce
byte-identical rows for the same (ticker, session).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from optionscope.engine.load import HistoryCache, TickerData, load_chunk
from optionscope.engine.outcome import RunObserver, RunSummary, TickerOutcome
from optionscope.engine.plan import RunRequest, TickerPlan, plan_run
from optionscope.engine.rows import failed_rows, table_rows
from optionscope.engine.runlog import METRIC_RUNS, Clock, utc_now
from optionscope.metrics.catalog import select_families
from optionscope.metrics.family import SOFT_FAILURES, MetricFamily, canonical_json
from optionscope.storage import Store

logger = logging.getLogger(__name__)

CHUNK_TICKERS = 50
"""Tickers loaded, computed and written together (bounds memory; one transaction each)."""


class SchemaDriftError(RuntimeError):
    """A family's stored table does not match its declared schema."""


def prepare_tables(store: Store, families: Sequence[MetricFamily]) -> None:
    """Create missing family tables and the run log; check existing ones against the specs.

    Raises:
        SchemaDriftError: A stored table's columns, types, nullability or key differ.
    """
    companions = [companion.schema for family in families for companion in family.companions]
    for spec in (*(family.schema for family in families), *companions, METRIC_RUNS):
        store.ensure_table(spec)
        stored = store.reflect_table(spec.name)
        shape = [(c.name, c.type, c.nullable) for c in stored.columns]
        declared = [(c.name, c.type, c.nullable) for c in spec.columns]
        if shape != declared or stored.primary_key != spec.primary_key:
            raise SchemaDriftError(
                f"table {spec.name} in {store.url} differs from its declared schema; "
                "a changed schema needs a migration (or a new table name)"
            )


def _existing_tables(store: Store, families: Sequence[MetricFamily]) -> set[str]:
    found = set()
    for family in families:
        try:
            store.reflect_table(family.schema.name)
        except KeyError:
            continue
        found.add(family.schema.name)
    return found


def _compute_ticker(
    families: Sequence[MetricFamily], data: TickerData
) -> tuple[dict[str, pd.DataFrame], list[str]]:
    rows: dict[str, pd.DataFrame] = {}
    errors: list[str] = []
    dates = data.plan.as_of_dates
    for family in families:
        inputs = data.inputs(family)
        parameters = canonical_json(dict(family.parameters(inputs)))
        try:
            computed = family.compute(inputs)
            rows[family.name] = table_rows(family, data.plan.ticker, dates, computed, parameters)
        except Exception as error:  # noqa: BLE001 - any failure of one ticker is soft
            reason = f"{type(error).__name__}: {error}"
            logger.warning("%s %s failed: %s", family.key, data.plan.ticker, reason)
            errors.append(f"{family.name}: {reason}")
            rows[family.name] = failed_rows(family, data.plan.ticker, dates, parameters, reason)
    return rows, errors


def _outcome(
    plan: TickerPlan, rows: dict[str, pd.DataFrame], errors: list[str], seconds: float
) -> TickerOutcome:
    statuses: Counter[str] = Counter()
    for frame in rows.values():
        statuses.update(str(status) for status in frame["status"])
    return TickerOutcome(
        ticker=plan.ticker,
        rows=sum(len(frame) for frame in rows.values()),
        statuses=statuses,
        soft_failed=any(status in SOFT_FAILURES for status in statuses),
        seconds=seconds,
        errors=tuple(errors),
    )


def _write(
    store: Store, families: Sequence[MetricFamily], chunk: dict[str, list[pd.DataFrame]]
) -> int:
    written = 0
    with store.transaction() as transaction:
        for family in families:
            frames = [frame for frame in chunk.get(family.name, []) if len(frame)]
            if frames:
                batch = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
                written += transaction.upsert(family.schema, batch)
                for companion in family.companions:  # same transaction, not counted
                    extra = companion.rows(batch)
                    if len(extra):
                        transaction.upsert(companion.schema, extra)
    return written


def _record_run(store: Store, summary: RunSummary, started: Clock, finished: Clock) -> None:
    first, last = summary.as_of_range
    row = pd.DataFrame(
        {
            "run_id": [summary.run_id],
            "started_at": [pd.Timestamp(started())],
            "finished_at": [pd.Timestamp(finished())],
            "mode": [str(summary.plan.request.mode)],
            "as_of_first": pd.Series([first], dtype=object),
            "as_of_last": pd.Series([last], dtype=object),
            "families_json": [canonical_json(list(summary.families))],
            "tickers": [summary.processed],
            "succeeded": [summary.succeeded],
            "soft_failed": [summary.soft_failed],
            "skipped": [summary.skipped],
            "rows_written": [summary.rows_written],
            "seconds": [summary.seconds],
        }
    )
    store.upsert(METRIC_RUNS, row)


def run_metrics(
    store: Store,
    catalog: Sequence[MetricFamily],
    request: RunRequest,
    *,
    observer: RunObserver | None = None,
    clock: Clock = utc_now,
    chunk_tickers: int = CHUNK_TICKERS,
) -> RunSummary:
    """Compute the families of `catalog` named in `request` and upsert their rows.

    Args:
        store: Migrated store to read inputs from and write rows to.
        catalog: Families available (`metrics.catalog.load_catalog()`).
        request: What to compute (event, batch or range; tickers; families; dry run).
        observer: Progress reporting (plan, then one call per work unit).
        clock: Wall clock of the run log (never used for metric values).
        chunk_tickers: Tickers per load/compute/write chunk.

    Returns:
        The run's summary; in a dry run its ``frames`` hold every computed row.

    Raises:
        UnknownFamilyError: A requested family is not in the catalog.
        PlanError: The request cannot be planned.
        SchemaDriftError: A family table's stored shape differs from its spec.
    """
    started_at = clock()
    started = time.perf_counter()
    families = select_families(catalog, request.families)
    if not request.dry_run:
        prepare_tables(store, families)
    existing = _existing_tables(store, families)
    plan = plan_run(store, request)
    summary = RunSummary(
        run_id=uuid.uuid4().hex, plan=plan, families=tuple(f.key for f in families)
    )
    if observer is not None:
        observer.on_run_planned(plan)
    kept: dict[str, list[pd.DataFrame]] = {family.name: [] for family in families}
    by_ticker: dict[str, TickerOutcome] = {}
    history: HistoryCache = {}
    size = max(chunk_tickers, 1)
    for units in plan.rounds():
        for offset in range(0, len(units), size):
            chunk = units[offset : offset + size]
            context = _Chunk(store, families, existing, summary, kept, history, observer)
            for outcome in _run_chunk(context, chunk):
                known = by_ticker.get(outcome.ticker)
                by_ticker[outcome.ticker] = outcome if known is None else known.merged(outcome)
    summary.outcomes = [by_ticker[ticker_plan.ticker] for ticker_plan in plan.tickers]
    if request.dry_run:
        summary.frames = {
            name: pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
            for name, frames in kept.items()
        }
    summary.seconds = time.perf_counter() - started
    if not request.dry_run:
        _record_run(store, summary, lambda: started_at, clock)
    return summary


@dataclass(frozen=True, slots=True)
class _Chunk:
    """What every chunk of one run shares."""

    store: Store
    families: Sequence[MetricFamily]
    existing: set[str]
    summary: RunSummary
    kept: dict[str, list[pd.DataFrame]]
    history: HistoryCache
    observer: RunObserver | None


def _remember_history(
    history: HistoryCache, families: Sequence[MetricFamily], ticker: str,
    rows: dict[str, pd.DataFrame],
) -> None:  # fmt: skip
    for family in families:
        spec = family.history
        frame = rows.get(family.name)
        if spec is None or frame is None or not len(frame):
            continue
        columns = ["as_of", "status", *spec.columns]
        if spec.marker_column is not None:
            columns.append(spec.marker_column)
        earlier = history.get((family.name, ticker))
        latest = frame.loc[:, columns]
        history[(family.name, ticker)] = (
            latest if earlier is None else pd.concat([earlier, latest], ignore_index=True)
        )


def _run_chunk(context: _Chunk, chunk: Sequence[TickerPlan]) -> list[TickerOutcome]:
    store, families, observer = context.store, context.families, context.observer
    started = time.perf_counter()
    loaded = load_chunk(store, families, chunk, context.existing, context.history)
    load_share = (time.perf_counter() - started) / max(len(loaded), 1)
    written: dict[str, list[pd.DataFrame]] = {family.name: [] for family in families}
    outcomes = []
    for plan in chunk:
        data = loaded.get(plan.ticker)
        if data is None:
            outcomes.append(
                TickerOutcome(
                    plan.ticker, 0, Counter(), soft_failed=False, seconds=0.0, note=plan.note
                )
            )
            if observer is not None:
                observer.on_unit_done(outcomes[-1])
            continue
        began = time.perf_counter()
        rows, errors = _compute_ticker(families, data)
        _remember_history(context.history, families, plan.ticker, rows)
        for name, frame in rows.items():
            written[name].append(frame)
        outcomes.append(_outcome(plan, rows, errors, time.perf_counter() - began + load_share))
        if observer is not None:
            observer.on_unit_done(outcomes[-1])
    if context.summary.plan.request.dry_run:
        for name, frames in written.items():
            context.kept[name].extend(frames)
    else:
        context.summary.rows_written += _write(store, families, written)
    return outcomes
