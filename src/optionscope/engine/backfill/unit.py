"""One backfill unit: compute it (reads only), then commit it in one transaction.

The commit writes the unit's rows, its coverage, its run-log row and its ledger state.

The worker entry points (`run_unit_writing`, `compute_unit_read_only`) are what executors
send to other processes; they find the families by a catalog reference.
"""

from __future__ import annotations

import functools
import importlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from optionscope.domain import tables
from optionscope.engine.ledger import (
    BACKFILL_UNITS,
    METRIC_COVERAGE,
    Unit,
    UnitState,
    as_day,
    coverage_rows,
    read_coverage,
    unit_rows,
)
from optionscope.engine.plan import RunMode, RunRequest
from optionscope.engine.run import run_log_row, run_metrics, write_rows
from optionscope.engine.runlog import METRIC_RUNS, Clock, utc_now
from optionscope.metrics.catalog import select_families
from optionscope.metrics.family import Dataset, MetricFamily
from optionscope.storage import Between, Rows, Store, TransientStoreError, open_store
from optionscope.storage.rows import prepare_rows

logger = logging.getLogger(__name__)

LOCK_WAIT_SECONDS = 120.0
"""How long a DuckDB reader or writer waits for another process to release the file."""
CHAIN_ROWS_PER_LOAD = 2_000_000
"""Most option quote rows one engine load of a unit holds (bounds a unit's memory)."""
DEFAULT_CATALOG = "optionscope.metrics.catalog:load_catalog"
"""Catalog reference of the built-in and installed families."""


@functools.cache
def load_catalog_reference(reference: str) -> tuple[MetricFamily, ...]:
    """Return the families of a catalog reference, ``"package.module:function"``.

    Raises:
        ValueError: The reference is not ``module:function``.
        ImportError: The module does not import.
    """
    module_name, _, function_name = reference.partition(":")
    if not module_name or not function_name:
        raise ValueError(f"catalog reference {reference!r} is not 'package.module:function'")
    function = getattr(importlib.import_module(module_name), function_name)
    return tuple(function())


@dataclass(frozen=True, slots=True)
class UnitResult:
    """How one attempt at a unit ended (passed to ``on_unit_done``)."""

    unit: Unit
    state: UnitState
    attempts: int
    rows: int
    seconds: float
    error: str | None = None


@dataclass(frozen=True, slots=True)
class UnitTask:
    """One attempt at a unit, as sent to a worker (picklable).

    Attributes:
        target: Store URL or DuckDB path.
        catalog: Catalog reference (see `load_catalog_reference`).
        job_id: The job.
        unit: The unit.
        attempts: Attempts before this one.
        rows: Rows written by earlier attempts.
        seconds: Seconds of earlier attempts.
        clock: Wall clock of the ledger and run-log timestamps.
    """

    target: str
    catalog: str
    job_id: str
    unit: Unit
    attempts: int = 0
    rows: int = 0
    seconds: float = 0.0
    clock: Clock = utc_now


@dataclass(frozen=True, slots=True)
class UnitComputation:
    """A unit's computed rows, before they are written.

    Attributes:
        task: The attempt.
        rows: Family table rows of the tickers computed without error: validated Arrow
            (converted by the worker, and cheap to send back) unless the family has companion
            tables, whose functions take the pandas frame.
        computed: Those tickers.
        errors: Ticker -> error, for each ticker that failed.
        run_log: The metric-run log row (empty when nothing was computed).
        run_id: The metric run's id, if one ran.
        seconds: Load and compute seconds.
    """

    task: UnitTask
    rows: Rows
    computed: tuple[str, ...]
    errors: dict[str, str]
    run_log: pd.DataFrame
    run_id: str | None
    seconds: float


def compute_unit(store: Store, task: UnitTask) -> UnitComputation:
    """Compute the unit's tickers not covered yet in its window (reads only).

    A computation that raises, or a ticker whose family computation failed, becomes an
    entry of ``errors``; this function itself only raises on a programming error.
    """
    unit = task.unit
    began = time.perf_counter()
    started_at = task.clock()
    catalog = load_catalog_reference(task.catalog)
    family = select_families(catalog, [unit.family])[0]
    empty = pd.DataFrame(columns=list(family.schema.column_names))
    try:
        covered = read_coverage(store, family.name, family.version, unit.tickers)
        done_here = covered[
            (covered["first_session"].map(as_day) == unit.chunk_start)
            & (covered["last_session"].map(as_day) == unit.chunk_end)
        ]
        already = set(done_here["ticker"])
        tickers = tuple(t for t in unit.tickers if t not in already)
        if not tickers:
            return UnitComputation(task, empty, (), {}, pd.DataFrame(), None, 0.0)
        request = RunRequest(
            RunMode.RANGE,
            tickers=tickers,
            start=unit.chunk_start,
            end=unit.chunk_end,
            families=(family.name,),
            dry_run=True,
            chunk_sessions=load_chunk_sessions(store, family, tickers, unit),
        )
        summary = run_metrics(store, catalog, request, chunk_tickers=len(tickers))
    except Exception as error:  # noqa: BLE001 - a failing unit never stops the job
        reason = f"{type(error).__name__}: {error}"
        return UnitComputation(
            task, empty, (), dict.fromkeys(unit.tickers, reason), pd.DataFrame(), None,
            time.perf_counter() - began,
        )  # fmt: skip
    prefix = f"{family.name}: "  # the engine names the family; the unit already does
    errors = {
        o.ticker: "; ".join(e.removeprefix(prefix) for e in o.errors)
        for o in summary.outcomes
        if o.errors
    }
    frame = summary.frames.get(family.name, empty)
    if errors and len(frame):
        frame = frame[~frame["ticker"].isin(set(errors))].reset_index(drop=True)
    summary.seconds = time.perf_counter() - began
    return UnitComputation(
        task=task,
        rows=frame if family.companions else prepare_rows(family.schema, frame, check_keys=False),
        computed=tuple(t for t in tickers if t not in errors),
        errors=errors,
        run_log=run_log_row(summary, started_at, task.clock()),
        run_id=summary.run_id,
        seconds=summary.seconds,
    )


def load_chunk_sessions(
    store: Store, family: MetricFamily, tickers: Sequence[str], unit: Unit
) -> int:
    """Return the sessions the engine loads at once for this unit (results do not depend on it).

    The whole window when the family reads no option chain, or the unit's tickers have none
    in the window: bars are small, and one load per ticker group is what makes a ten-year
    backfill fast. Otherwise as many sessions as keep one load under `CHAIN_ROWS_PER_LOAD`
    quote rows (from the snapshots' contract counts), at least one.
    """
    days = (unit.chunk_end - unit.chunk_start).days + 1
    if not any(spec.dataset is Dataset.OPTION_CHAINS for spec in family.inputs):
        return days
    snapshots = store.read(
        tables.CHAIN_SNAPSHOTS,
        where={
            "underlying": list(tickers),
            "session_date": Between(unit.chunk_start, unit.chunk_end),
        },
    )
    quotes = int(snapshots["contract_count"].sum()) if len(snapshots) else 0
    if quotes <= CHAIN_ROWS_PER_LOAD:
        return days
    sessions = max(snapshots["session_date"].nunique(), 1)
    return max(sessions * CHAIN_ROWS_PER_LOAD // quotes, 1)


def _error_text(errors: dict[str, str]) -> str | None:
    if not errors:
        return None
    reasons: dict[str, list[str]] = {}
    for ticker, reason in sorted(errors.items()):
        reasons.setdefault(reason, []).append(ticker)
    return "; ".join(f"{','.join(names)}: {reason}" for reason, names in reasons.items())


def commit_unit(store: Store, computation: UnitComputation) -> UnitResult:
    """Write a unit's rows, coverage, run-log row and ledger row in one transaction.

    A write that fails (after the store's own handling) leaves the unit ``failed`` with the
    error, recorded in a transaction of its own when the store allows.
    """
    task, unit = computation.task, computation.task.unit
    family = select_families(load_catalog_reference(task.catalog), [unit.family])[0]
    attempts = task.attempts + 1
    seconds = task.seconds + computation.seconds
    error = _error_text(computation.errors)
    state = UnitState.FAILED if error else UnitState.DONE
    now = pd.Timestamp(task.clock())
    try:
        with store.transaction() as transaction:
            written = write_rows(transaction, [family], {family.name: [computation.rows]})
            if computation.computed and computation.run_id is not None:
                transaction.upsert(
                    METRIC_COVERAGE,
                    coverage_rows(
                        family.name, family.version, computation.computed, unit.chunk_start,
                        unit.chunk_end, job_id=task.job_id, run_id=computation.run_id, now=now,
                    ),
                )  # fmt: skip
            if len(computation.run_log):  # computed as a dry run: record what was written
                transaction.upsert(METRIC_RUNS, computation.run_log.assign(rows_written=written))
            transaction.upsert(
                BACKFILL_UNITS,
                unit_rows(
                    task.job_id, [unit], state, now, attempts=[attempts],
                    rows=[task.rows + written], seconds=[seconds], errors=[error],
                    run_ids=[computation.run_id],
                ),
            )  # fmt: skip
    except Exception as failure:  # noqa: BLE001 - recorded on the unit, retried later
        error = f"write: {type(failure).__name__}: {failure}"
        _record_failure(store, task, attempts, seconds, error)
        return UnitResult(unit, UnitState.FAILED, attempts, 0, computation.seconds, error)
    if error:
        logger.warning("backfill %s: %s failed (attempt %d): %s",
                       task.job_id, unit.describe(), attempts, error)  # fmt: skip
    return UnitResult(unit, state, attempts, written, computation.seconds, error)


def _record_failure(
    store: Store, task: UnitTask, attempts: int, seconds: float, error: str
) -> None:
    now = pd.Timestamp(task.clock())
    row = unit_rows(
        task.job_id, [task.unit], UnitState.FAILED, now, attempts=[attempts], rows=[task.rows],
        seconds=[seconds], errors=[error],
    )  # fmt: skip
    try:
        store.upsert(BACKFILL_UNITS, row)
    except (TransientStoreError, OSError) as again:
        logger.error("backfill %s: could not record the failure of %s: %s",
                     task.job_id, task.unit.describe(), again)  # fmt: skip


def mark_running(store: Store, tasks: Sequence[UnitTask]) -> None:
    """Record `tasks`' units as running (their counters unchanged)."""
    if not tasks:
        return
    now = pd.Timestamp(tasks[0].clock())
    row = unit_rows(
        tasks[0].job_id, [t.unit for t in tasks], UnitState.RUNNING, now,
        attempts=[t.attempts for t in tasks], rows=[t.rows for t in tasks],
        seconds=[t.seconds for t in tasks],
    )  # fmt: skip
    store.upsert(BACKFILL_UNITS, row)


# --------------------------------------------------------- worker-side entry points (pickled)

_worker_stores: dict[str, Store] = {}


def _worker_store(target: str) -> Store:
    """Return this worker process's connection to `target` (PostgreSQL; opened once)."""
    store = _worker_stores.get(target)
    if store is None:
        store = _worker_stores[target] = open_store(target)
    return store


def run_unit_writing(task: UnitTask) -> UnitResult:
    """Worker entry point for a shared store: mark running, compute, commit."""
    store = _worker_store(task.target)
    mark_running(store, [task])
    return commit_unit(store, compute_unit(store, task))


def compute_unit_read_only(task: UnitTask) -> UnitComputation:
    """Worker entry point for a DuckDB file: compute from a read-only connection."""
    with open_store(task.target, read_only=True, lock_wait_seconds=LOCK_WAIT_SECONDS) as store:
        return compute_unit(store, task)
