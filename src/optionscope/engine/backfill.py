"""Resumable, chunked historical backfill on the metric engine's range path.

```python
job_id = plan_backfill(store, load_catalog(), ["technical", "volatility"], tickers, start, end)
status = run_backfill(store.url, job_id, executor=PoolExecutor())
```

Worker processes find the families by a *catalog reference*, ``"package.module:function"``
(default `DEFAULT_CATALOG`, the built-in and installed families): a family's functions need
not pickle.

Planning (`plan_backfill`): per family, the sessions each ticker has data for in
``[start, end]`` (the engine's range plan), minus the sessions `metric_coverage` says are
stored for the family's current version, by whichever job. What is missing is cut into units:
windows of ``unit_sessions`` XNYS sessions, and in each window the tickers that miss something,
``unit_tickers`` at a time. The job id is a hash of the request; submitting it again resumes
the recorded job and plans nothing.

Unit sizing. Scheduling costs about 0.6 ms per task in a local process pool and about 4 ms in
a Dask LocalCluster, while a unit's work is ~1 ms per ticker-year for the technical family
(plus its share of one bulk load and one write), so the defaults (25 tickers x 1,260
sessions, i.e. 125 ticker-years) keep scheduling far below 10% of the work.

Running a unit (`compute_unit`, then `commit_unit`):

1. Compute the unit's tickers not yet covered in its window with `run_metrics` in range mode,
   dry run (the same code path as every other run; rows do not depend on the chunking).
2. Write, in **one transaction**: the rows of the tickers computed without error (and the
   family's companion tables), their `metric_coverage`, the metric-run log row and the unit's
   ledger row (``done``, or ``failed`` naming each failing ticker and its error). A crash loses
   at most the units in flight; a ``running`` unit found later is simply run again.

Where units run (`engine.executors`): serially, in a local process pool or on Dask workers.
With PostgreSQL the workers write their units themselves (concurrent writers). A DuckDB file
takes one writer and no reader beside it, so the workers open it read-only and compute, and
this coordinator writes their results between waves of ``workers`` units; it opens the file
only for that, so `backfill status` and `cancel` from another process get in between.

Failures: a unit with an error is retried with backoff (`RETRY_BACKOFF_SECONDS`, doubled each
pass) up to ``max_attempts`` times per run; the other units go on. The job then ends
``completed_with_failures`` and `backfill_status` lists every failed unit with its tickers and
errors; a later run (after the fix) re-runs exactly those, skipping tickers already covered.
Cancelling (`cancel_backfill`) lets the units in flight finish and starts no new one.
"""

from __future__ import annotations

import functools
import importlib
import json
import logging
import os
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from optionscope.domain import tables
from optionscope.engine.executors import Executor, SerialExecutor
from optionscope.engine.ledger import (
    BACKFILL_UNITS,
    METRIC_COVERAGE,
    BackfillRequest,
    JobState,
    Unit,
    UnitState,
    as_day,
    coverage_rows,
    ensure_ledger,
    job_exists,
    load_request,
    read_coverage,
    read_job,
    read_units,
    save_job,
    set_job_state,
    unit_rows,
    units_of,
)
from optionscope.engine.plan import RunMode, RunRequest, plan_run
from optionscope.engine.run import Sleep, prepare_tables, run_log_row, run_metrics, write_rows
from optionscope.engine.runlog import METRIC_RUNS, Clock, utc_now
from optionscope.engine.sessions import sessions_between
from optionscope.metrics.catalog import select_families
from optionscope.metrics.family import Dataset, MetricFamily
from optionscope.storage import Between, Store, TransientStoreError, open_store
from optionscope.storage.connect import is_postgres_url

logger = logging.getLogger(__name__)

DEFAULT_UNIT_TICKERS = 25
"""Most tickers in one unit."""
DEFAULT_UNIT_SESSIONS = 1260
"""XNYS sessions in one unit's window (five years)."""
DEFAULT_MAX_ATTEMPTS = 3
RETRY_BACKOFF_SECONDS = 0.5
"""Wait before the second pass over failed units; doubled before each later one."""
LOCK_WAIT_SECONDS = 120.0
"""How long a DuckDB reader or writer waits for another process to release the file."""
WINDOW_CALENDAR = "XNYS"
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
class FamilyStatus:
    """Progress of one family of a job."""

    family: str
    total: int
    done: int
    failed: int
    running: int
    pending: int
    rows: int
    seconds: float
    failures: tuple[str, ...] = ()


@dataclass(slots=True)
class BackfillStatus:
    """Progress of a job: its state and one `FamilyStatus` per family.

    Attributes:
        workers: Worker processes of the last run (divides the ETA).
    """

    job_id: str
    request: BackfillRequest
    state: str
    workers: int = 1
    families: list[FamilyStatus] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Return the units of the job."""
        return sum(f.total for f in self.families)

    @property
    def done(self) -> int:
        """Return the units done."""
        return sum(f.done for f in self.families)

    @property
    def failed(self) -> int:
        """Return the units failed."""
        return sum(f.failed for f in self.families)

    @property
    def rows(self) -> int:
        """Return the rows written."""
        return sum(f.rows for f in self.families)

    @property
    def eta_seconds(self) -> float | None:
        """Return the expected seconds left: units left x mean unit seconds / workers."""
        finished = [f for f in self.families if f.done]
        if not finished:
            return None
        per_unit = sum(f.seconds for f in finished) / sum(f.done for f in finished)
        left = sum(f.pending + f.running for f in self.families)
        return left * per_unit / max(self.workers, 1)


# ---------------------------------------------------------------------------------- planning


def unit_windows(start: date, end: date, unit_sessions: int) -> list[tuple[date, date]]:
    """Return windows cutting ``[start, end]`` every `unit_sessions` XNYS sessions.

    The windows cover every day of the range (weekends included, for 24/7 tickers): the
    first starts at `start`, each next one at its first XNYS session, the last ends at `end`.
    """
    sessions = sessions_between(start, end, WINDOW_CALENDAR)
    starts = [start, *sessions[unit_sessions :: max(unit_sessions, 1)]]
    starts = sorted(set(starts))
    ends = [pd.Timestamp(later).date() - pd.Timedelta(days=1) for later in starts[1:]]
    return list(zip(starts, [*ends, end], strict=True))


def _covered_mask(days: np.ndarray, coverage: pd.DataFrame) -> np.ndarray:
    covered = np.zeros(days.size, dtype=bool)
    for first, last in zip(coverage["first_session"], coverage["last_session"], strict=True):
        low = np.datetime64(as_day(first), "D")
        high = np.datetime64(as_day(last), "D")
        covered |= (days >= low) & (days <= high)
    return covered


def plan_units(
    store: Store, families: Sequence[MetricFamily], request: BackfillRequest
) -> list[Unit]:
    """Return the units of `request` that are not covered yet (see the module docstring)."""
    plan = plan_run(
        store,
        RunRequest(RunMode.RANGE, tickers=request.tickers, start=request.start, end=request.end),
    )
    windows = unit_windows(request.start, request.end, request.unit_sessions)
    units: list[Unit] = []
    for family in families:
        coverage = read_coverage(store, family.name, family.version, request.tickers)
        by_ticker = dict(tuple(coverage.groupby("ticker"))) if len(coverage) else {}
        missing: dict[int, list[str]] = {}
        for ticker_plan in plan.tickers:
            days = np.array(ticker_plan.as_of_dates, dtype="datetime64[D]")
            if ticker_plan.ticker in by_ticker:
                days = days[~_covered_mask(days, by_ticker[ticker_plan.ticker])]
            for index, (first, last) in enumerate(windows):
                inside = (days >= np.datetime64(first, "D")) & (days <= np.datetime64(last, "D"))
                if inside.any():
                    missing.setdefault(index, []).append(ticker_plan.ticker)
        for index, (first, last) in enumerate(windows):
            tickers = missing.get(index, [])
            for offset in range(0, len(tickers), request.unit_tickers):
                group = tuple(tickers[offset : offset + request.unit_tickers])
                units.append(Unit(len(units), family.name, group, first, last))
    return units


def plan_backfill(
    store: Store,
    catalog: Sequence[MetricFamily],
    families: Sequence[str],
    tickers: Sequence[str],
    start: date,
    end: date,
    *,
    unit_tickers: int = DEFAULT_UNIT_TICKERS,
    unit_sessions: int = DEFAULT_UNIT_SESSIONS,
    clock: Clock = utc_now,
) -> str:
    """Record the job of this request and its units; return the job id at once.

    A request already recorded keeps its job and units (nothing is planned or written).

    Raises:
        UnknownFamilyError: A family is not in the catalog.
        PlanError: The range is inconsistent or no ticker is given.
    """
    request = BackfillRequest.of(
        families, tickers, start, end, unit_tickers=unit_tickers, unit_sessions=unit_sessions
    )
    selected = select_families(catalog, request.families)
    ensure_ledger(store)
    if not job_exists(store, request.job_id):
        save_job(store, request, plan_units(store, selected, request), clock=clock)
    return request.job_id


# ------------------------------------------------------------------------- one unit's work


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
        rows: Family table rows of the tickers computed without error.
        computed: Those tickers.
        errors: Ticker -> error, for each ticker that failed.
        run_log: The metric-run log row (empty when nothing was computed).
        run_id: The metric run's id, if one ran.
        seconds: Load and compute seconds.
    """

    task: UnitTask
    rows: pd.DataFrame
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
        tickers = tuple(t for t in unit.tickers if t not in set(done_here["ticker"]))
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
        rows=frame,
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


def _mark_running(store: Store, tasks: Sequence[UnitTask]) -> None:
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
    _mark_running(store, [task])
    return commit_unit(store, compute_unit(store, task))


def compute_unit_read_only(task: UnitTask) -> UnitComputation:
    """Worker entry point for a DuckDB file: compute from a read-only connection."""
    with open_store(task.target, read_only=True, lock_wait_seconds=LOCK_WAIT_SECONDS) as store:
        return compute_unit(store, task)


# ------------------------------------------------------------------------------ coordinator


@contextmanager
def _writer(target: str) -> Iterator[Store]:
    """Yield the coordinator's store, `target` opened for writing (waiting for the file)."""
    with open_store(target, lock_wait_seconds=LOCK_WAIT_SECONDS) as opened:
        yield opened


def _coordinator() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class JobBusyError(RuntimeError):
    """Another live process on this machine is running the job."""


def _running_elsewhere(worker: object) -> int | None:
    """Return the pid of the live coordinator `worker` (``host:pid``) on this host, if any.

    A process that is gone (killed, crashed) or that is not an optionscope process (its pid
    reused) does not count.
    """
    host, _, pid_text = str(worker).rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return None
    pid = int(pid_text)
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    state = Path(f"/proc/{pid}/stat").read_text(errors="replace").rpartition(")")[2].split()
    if state and state[0] == "Z":
        return None  # a zombie: dead, not yet reaped
    return pid if b"optionscope" in command else None


class _Pass:
    """One pass over units: runs them on the executor, records results, watches for cancel."""

    def __init__(
        self,
        target: str,
        executor: Executor,
        on_unit_done: Callable[[UnitResult], None] | None,
    ) -> None:
        self.target = target
        self.executor = executor
        self.on_unit_done = on_unit_done
        self.cancelled = False
        self.results: list[UnitResult] = []

    def _done(self, result: UnitResult) -> None:
        self.results.append(result)
        if self.on_unit_done is not None:
            self.on_unit_done(result)

    def _cancel_requested(self, store: Store, job_id: str) -> bool:
        self.cancelled = self.cancelled or str(read_job(store, job_id)["state"]) == str(
            JobState.CANCELLED
        )
        return self.cancelled

    def run(self, tasks: Sequence[UnitTask]) -> None:
        """Run `tasks`: workers write (PostgreSQL) or this coordinator writes (DuckDB)."""
        if not tasks:
            return
        if is_postgres_url(self.target):
            self._run_shared(tasks)
        else:
            self._run_in_waves(tasks)

    def _run_shared(self, tasks: Sequence[UnitTask]) -> None:
        job_id = tasks[0].job_id
        with _writer(self.target) as store:
            if self.executor.in_process:
                for task in tasks:
                    if self._cancel_requested(store, job_id):
                        return
                    _mark_running(store, [task])
                    self._done(commit_unit(store, compute_unit(store, task)))
                return
            for result in self.executor.map_unordered(run_unit_writing, tasks):
                self._done(result)
                if self._cancel_requested(store, job_id):
                    return  # the executor cancels what has not started

    def _run_in_waves(self, tasks: Sequence[UnitTask]) -> None:
        """Run `tasks` in waves of ``workers`` units on a DuckDB file.

        The workers compute a wave from read-only connections; then, in one opening of the
        file, this coordinator commits it, checks for a cancel and marks the next wave running.
        """
        job_id = tasks[0].job_id
        size = self.executor.workers
        waves = [tasks[offset : offset + size] for offset in range(0, len(tasks), size)]
        with _writer(self.target) as store:
            if self._cancel_requested(store, job_id):
                return
            _mark_running(store, waves[0])
        for number, wave in enumerate(waves):
            computations = list(self.executor.map_unordered(compute_unit_read_only, wave))
            with _writer(self.target) as store:
                for computation in sorted(computations, key=lambda c: c.task.unit.number):
                    self._done(commit_unit(store, computation))
                if number + 1 == len(waves) or self._cancel_requested(store, job_id):
                    return
                _mark_running(store, waves[number + 1])


def _tasks(
    target: str,
    catalog: str,
    job_id: str,
    units: pd.DataFrame,
    clock: Clock,
) -> list[UnitTask]:
    counters = units.loc[:, ["attempts", "rows", "seconds"]].to_dict("records")
    return [
        UnitTask(
            target,
            catalog,
            job_id,
            unit,
            int(c["attempts"]),
            int(c["rows"]),
            float(c["seconds"]),
            clock,
        )
        for unit, c in zip(units_of(units), counters, strict=True)
    ]


def run_backfill(
    target: str,
    job_id: str,
    *,
    catalog: str = DEFAULT_CATALOG,
    executor: Executor | None = None,
    on_unit_done: Callable[[UnitResult], None] | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    sleep: Sleep = time.sleep,
    clock: Clock = utc_now,
) -> BackfillStatus:
    """Run every unit of job `job_id` that is not done; return the job's status.

    Args:
        target: Store URL or DuckDB path (opened here and by the workers as needed; a
            DuckDB file is held open only while writing).
        job_id: Job to run (see `plan_backfill`).
        catalog: Catalog reference holding the job's families (`load_catalog_reference`).
        executor: Where units run (default: `SerialExecutor`).
        on_unit_done: Called after each unit attempt is recorded (progress).
        max_attempts: Passes over failed units in this run (backoff between them).
        sleep: Waits between passes (tests pass a no-op).
        clock: Wall clock of the ledger timestamps (must pickle for a pool or Dask).

    Raises:
        UnknownJobError: No such job.
        UnknownFamilyError: A family of the job is not in `catalog`.
        JobBusyError: A live process on this machine is running the job already.
    """
    executor = executor or SerialExecutor()
    with _writer(target) as writer:
        request = load_request(writer, job_id)
        families = select_families(load_catalog_reference(catalog), request.families)
        units = read_units(writer, job_id)
        todo = units[units["state"] != str(UnitState.DONE)]
        if todo.empty:
            return _finish(writer, job_id, clock)
        job = read_job(writer, job_id)
        if str(job["state"]) == str(JobState.RUNNING) and (
            pid := _running_elsewhere(job["worker"])
        ):
            raise JobBusyError(
                f"backfill {job_id} is being run by process {pid} on this machine; "
                f"watch it with `optionscope backfill status {job_id}`"
            )
        prepare_tables(writer, families)
        set_job_state(
            writer, job_id, JobState.RUNNING, clock=clock, worker=_coordinator(),
            executor=executor.name, workers=executor.workers,
        )  # fmt: skip
    started = time.perf_counter()
    tasks = _tasks(target, catalog, job_id, todo, clock)
    runner = _Pass(target, executor, on_unit_done)
    for attempt in range(max(max_attempts, 1)):
        if attempt:
            sleep(RETRY_BACKOFF_SECONDS * 2 ** (attempt - 1))
        runner.results = []
        runner.run(tasks)
        failed = {r.unit.number: r for r in runner.results if r.state is UnitState.FAILED}
        if runner.cancelled or not failed:
            break
        with _writer(target) as writer:  # counters as the failed attempts recorded them
            recorded = read_units(writer, job_id)
        retry = recorded[recorded["unit_no"].isin(list(failed))]
        tasks = _tasks(target, catalog, job_id, retry, clock)
    with _writer(target) as writer:
        status = _finish(writer, job_id, clock)
    _log_run(status, time.perf_counter() - started)
    return status


def _finish(store: Store, job_id: str, clock: Clock) -> BackfillStatus:
    """Record the job's final state when every unit ended (not when cancelled)."""
    status = backfill_status(store, job_id)
    if status.state == str(JobState.CANCELLED):
        return status
    unfinished = sum(f.pending + f.running for f in status.families)
    final = JobState.COMPLETED_WITH_FAILURES if status.failed else JobState.COMPLETED
    if not unfinished and status.state != str(final):
        set_job_state(store, job_id, final, clock=clock)
        status.state = str(final)
    return status


def _log_run(status: BackfillStatus, seconds: float) -> None:
    units = status.done + status.failed
    logger.info(
        "backfill %s: %s in %.1f s; %d/%d units done (%.2f units/s), %d rows (%.0f rows/s)",
        status.job_id, status.state, seconds, status.done, status.total,
        units / seconds if seconds > 0 else 0.0, status.rows,
        status.rows / seconds if seconds > 0 else 0.0,
    )  # fmt: skip
    for family in status.families:
        if family.failed:
            logger.warning("backfill %s: %s has %d failed unit(s)",
                           status.job_id, family.family, family.failed)  # fmt: skip


def cancel_backfill(store: Store, job_id: str, *, clock: Clock = utc_now) -> str:
    """Ask a job to stop: no new unit starts; units in flight finish. Return its new state.

    A finished job keeps its state. `run_backfill` (``backfill resume``) continues it.

    Raises:
        UnknownJobError: No such job.
    """
    state = str(read_job(store, job_id)["state"])
    if state in (str(JobState.COMPLETED), str(JobState.COMPLETED_WITH_FAILURES)):
        return state
    set_job_state(store, job_id, JobState.CANCELLED, clock=clock)
    return str(JobState.CANCELLED)


def backfill_status(store: Store, job_id: str) -> BackfillStatus:
    """Return the progress of job `job_id` per family (done/total, rows, failures).

    Raises:
        UnknownJobError: No such job.
    """
    job = read_job(store, job_id)
    request = load_request(store, job_id)
    units = read_units(store, job_id)
    workers = job["workers"]
    status = BackfillStatus(
        job_id, request, str(job["state"]), workers=1 if pd.isna(workers) else int(workers)
    )
    for family in request.families:
        mine = units[units["family"] == family]
        states = mine["state"]
        failed = mine[states == str(UnitState.FAILED)]
        status.families.append(
            FamilyStatus(
                family=family,
                total=len(mine),
                done=int((states == str(UnitState.DONE)).sum()),
                failed=len(failed),
                running=int((states == str(UnitState.RUNNING)).sum()),
                pending=int((states == str(UnitState.PENDING)).sum()),
                rows=int(mine["rows"].sum()),
                seconds=float(mine["seconds"].sum()),
                failures=tuple(
                    f"unit {r.unit_no} {','.join(json.loads(str(r.tickers_json)))} "
                    f"{as_day(r.chunk_start)}..{as_day(r.chunk_end)}: {r.error}"
                    for r in failed.itertuples(index=False)
                ),
            )
        )
    return status
