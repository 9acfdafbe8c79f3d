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
   keeps the rows in the summary instead. A write that fails transiently
   (`storage.TransientStoreError`) is retried after each of `WRITE_BACKOFF_SECONDS`; then the
   chunk's tickers are written one by one (same retries) and a ticker whose write still fails
   is soft-failed (outcome status ``failed``, error ``write: ...``); the batch goes on.
5. Record the run in `metric_runs` (the only wall-clock timestamp) and return the summary.

Rows depend only on the inputs of their own session windows, never on the mode, the chunking,
the order of tickers or the time of day, so an event, a batch and a range produce
byte-identical rows for the same (ticker, session).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from optionscope.engine.load import HistoryCache, TickerData, load_chunk
from optionscope.engine.outcome import RunObserver, RunSummary, TickerOutcome
from optionscope.engine.plan import RunPlan, RunRequest, TickerPlan, plan_run
from optionscope.engine.rows import failed_rows, table_rows
from optionscope.engine.runlog import METRIC_RUNS, Clock, utc_now
from optionscope.metrics.catalog import select_families
from optionscope.metrics.family import SOFT_FAILURES, MetricFamily, canonical_json
from optionscope.storage import Rows, Store, Transaction, TransientStoreError

logger = logging.getLogger(__name__)

CHUNK_TICKERS = 50
"""Tickers loaded, computed and written together (bounds memory; one transaction each)."""

WRITE_BACKOFF_SECONDS = (0.5, 1.0, 2.0)
"""Waits before each retry of a write that failed transiently (`TransientStoreError`)."""

Sleep = Callable[[float], None]

HEARTBEAT_UNITS = 25
"""An INFO progress line after every this many work units..."""
HEARTBEAT_SECONDS = 60.0
"""...and when this many seconds passed since the last one (checked as units finish)."""


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


def write_rows(
    transaction: Transaction,
    families: Sequence[MetricFamily],
    chunk: Mapping[str, Sequence[Rows]],
) -> int:
    """Upsert the rows of each family (and its companion tables) within `transaction`.

    Args:
        transaction: Open store transaction (the caller commits it).
        families: Families whose rows `chunk` may hold.
        chunk: Family name -> its table rows: pandas frames, or one Arrow table for a
            family without companion tables.

    Returns:
        Rows of the family tables inserted or changed (companion rows are not counted).
    """
    written = 0
    for family in families:
        frames = [frame for frame in chunk.get(family.name, []) if len(frame)]
        if frames:
            batch = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
            written += transaction.upsert(family.schema, batch)
            for companion in family.companions:  # same transaction, not counted
                if not isinstance(batch, pd.DataFrame):
                    raise TypeError(f"{family.key}: companion tables need pandas rows")
                extra = companion.rows(batch)
                if len(extra):
                    transaction.upsert(companion.schema, extra)
    return written


def _write(
    store: Store, families: Sequence[MetricFamily], chunk: dict[str, list[pd.DataFrame]]
) -> int:
    with store.transaction() as transaction:
        return write_rows(transaction, families, chunk)


def run_log_row(summary: RunSummary, started_at: datetime, finished_at: datetime) -> pd.DataFrame:
    """Return the `metric_runs` row of a run (wall-clock start and end given)."""
    first, last = summary.as_of_range
    return pd.DataFrame(
        {
            "run_id": [summary.run_id],
            "started_at": [pd.Timestamp(started_at)],
            "finished_at": [pd.Timestamp(finished_at)],
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


def _record_run(store: Store, summary: RunSummary, started: Clock, finished: Clock) -> None:
    store.upsert(METRIC_RUNS, run_log_row(summary, started(), finished()))


def run_metrics(
    store: Store,
    catalog: Sequence[MetricFamily],
    request: RunRequest,
    *,
    observer: RunObserver | None = None,
    clock: Clock = utc_now,
    chunk_tickers: int = CHUNK_TICKERS,
    sleep: Sleep = time.sleep,
    timer: Callable[[], float] = time.monotonic,
    header: Mapping[str, object] | None = None,
) -> RunSummary:
    """Compute the families of `catalog` named in `request` and upsert their rows.

    Args:
        store: Migrated store to read inputs from and write rows to.
        catalog: Families available (`metrics.catalog.load_catalog()`).
        request: What to compute (event, batch or range; tickers; families; dry run).
        observer: Progress reporting (plan, then one call per work unit).
        clock: Wall clock of the run log (never used for metric values).
        chunk_tickers: Tickers per load/compute/write chunk.
        sleep: Waits between write retries (tests pass a recorder).
        timer: Monotonic seconds of the heartbeat log (never used for metric values).
        header: More ``name: value`` pairs for the run header log line (e.g. the effective
            parameters of a family and which of them are overrides).

    Logging (logger ``optionscope.engine.run``): the run header once at INFO (mode, sessions,
    families, tickers and `header`), an INFO heartbeat every `HEARTBEAT_UNITS` work units and
    every `HEARTBEAT_SECONDS` (count and percent), WARNING per soft-failed computation or
    retried write, and a final INFO summary (processed, succeeded, soft-failed, average
    per-ticker and total duration).

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
    _log_header(summary, header or {})
    observer = _Heartbeat(observer, timer)
    observer.on_run_planned(plan)
    kept: dict[str, list[pd.DataFrame]] = {family.name: [] for family in families}
    by_ticker: dict[str, TickerOutcome] = {}
    history: HistoryCache = {}
    size = max(chunk_tickers, 1)
    for units in plan.rounds():
        for offset in range(0, len(units), size):
            chunk = units[offset : offset + size]
            context = _Chunk(store, families, existing, summary, kept, history, observer, sleep)
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
    _log_summary(summary)
    return summary


def _log_header(summary: RunSummary, header: Mapping[str, object]) -> None:
    plan = summary.plan
    request = plan.request
    names = [ticker_plan.ticker for ticker_plan in plan.tickers]
    first, last = plan.as_of_first, plan.as_of_last
    sessions = "none" if first is None else (str(first) if first == last else f"{first}..{last}")
    if request.snapshot_time is not None:
        sessions += f" (snapshot {pd.Timestamp(request.snapshot_time).isoformat()})"
    extra = "".join(f"; {name}: {value}" for name, value in header.items())
    logger.info(
        "metric run %s: mode %s%s; sessions %s; families %s; %d ticker(s): %s%s",
        summary.run_id[:8],
        request.mode,
        " (dry run)" if request.dry_run else "",
        sessions,
        ", ".join(summary.families),
        len(names),
        ", ".join(names) or "none",
        extra,
    )


def _log_summary(summary: RunSummary) -> None:
    logger.info(
        "metric run %s done: %d processed, %d succeeded, %d soft-failed, %d skipped; "
        "%d rows computed, %d written; %.1f ms per ticker, %.2f s total",
        summary.run_id[:8],
        summary.processed,
        summary.succeeded,
        summary.soft_failed,
        summary.skipped,
        summary.rows_computed,
        summary.rows_written,
        summary.seconds_per_ticker * 1000,
        summary.seconds,
    )


class _Heartbeat:
    """A `RunObserver` that logs progress, then forwards to the caller's observer."""

    def __init__(self, inner: RunObserver | None, timer: Callable[[], float]) -> None:
        self._inner = inner
        self._timer = timer
        self._total = 0
        self._done = 0
        self._soft_failed = 0
        self._last_beat = timer()

    def on_run_planned(self, plan: RunPlan) -> None:
        self._total = plan.units
        if self._inner is not None:
            self._inner.on_run_planned(plan)

    def on_unit_done(self, outcome: TickerOutcome) -> None:
        self._done += 1
        self._soft_failed += outcome.soft_failed
        now = self._timer()
        if self._done % HEARTBEAT_UNITS == 0 or now - self._last_beat >= HEARTBEAT_SECONDS:
            self._last_beat = now
            logger.info(
                "progress: %d/%d ticker units (%.0f%%), %d soft-failed so far",
                self._done,
                self._total,
                100.0 * self._done / max(self._total, 1),
                self._soft_failed,
            )
        if self._inner is not None:
            self._inner.on_unit_done(outcome)


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
    sleep: Sleep


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
    request = context.summary.plan.request
    loaded = load_chunk(
        store, families, chunk, context.existing, context.history, request.snapshot_time
    )
    load_share = (time.perf_counter() - started) / max(len(loaded), 1)
    computed: list[tuple[int, dict[str, pd.DataFrame]]] = []
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
        computed.append((len(outcomes), rows))
        outcomes.append(_outcome(plan, rows, errors, time.perf_counter() - began + load_share))
        if observer is not None:
            observer.on_unit_done(outcomes[-1])
    if context.summary.plan.request.dry_run:
        for _, rows in computed:
            for name, frame in rows.items():
                context.kept[name].append(frame)
    else:
        _write_chunk(context, computed, outcomes)
    return outcomes


def _write_chunk(
    context: _Chunk, computed: list[tuple[int, dict[str, pd.DataFrame]]],
    outcomes: list[TickerOutcome],
) -> None:  # fmt: skip
    """Write the chunk in one transaction; on a transient failure, retry, then per ticker.

    A ticker whose own write still fails after the retries is soft-failed (its outcome says
    why); the other tickers of the chunk are written.
    """
    store, families = context.store, context.families
    everything: dict[str, list[pd.DataFrame]] = {family.name: [] for family in families}
    for _, rows in computed:
        for name, frame in rows.items():
            everything[name].append(frame)
    try:
        context.summary.rows_written += _retrying(
            functools.partial(_write, store, families, everything), context.sleep, "chunk"
        )
    except TransientStoreError as error:
        if len(computed) <= 1:
            for index, _ in computed:
                outcomes[index] = _write_failed(outcomes[index], str(error))
            return
        logger.warning("chunk write failed; writing its %d tickers one by one", len(computed))
    else:
        return
    for index, rows in computed:
        single = {name: [frame] for name, frame in rows.items()}
        ticker = outcomes[index].ticker
        try:
            context.summary.rows_written += _retrying(
                functools.partial(_write, store, families, single), context.sleep, ticker
            )
        except TransientStoreError as error:
            outcomes[index] = _write_failed(outcomes[index], str(error))


def _retrying(write: Callable[[], int], sleep: Sleep, what: str) -> int:
    """Run `write`, retrying after each wait of `WRITE_BACKOFF_SECONDS` on a transient error."""
    for attempt, wait in enumerate((*WRITE_BACKOFF_SECONDS, None), start=1):
        try:
            return write()
        except TransientStoreError as error:
            if wait is None:
                logger.error("write of %s failed after %d attempts: %s", what, attempt, error)
                raise
            logger.warning(
                "write of %s failed (attempt %d), retrying in %.1f s: %s",
                what,
                attempt,
                wait,
                error,
            )
            sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


def _write_failed(outcome: TickerOutcome, reason: str) -> TickerOutcome:
    """Return `outcome` soft-failed because its rows could not be written."""
    return dataclasses.replace(
        outcome,
        statuses=Counter({"failed": outcome.rows}),
        soft_failed=True,
        errors=(*outcome.errors, f"write: TransientStoreError: {reason}"),
    )
