"""Resumable, chunked foreground backfill on top of the metric engine's range path.

```python
job_id = plan_backfill(store, catalog, ["technical"], ["SPY"], start, end)
result = run_backfill(store, catalog, job_id)
```

Planning splits the request into units (family, ticker, chunk of ``chunk_sessions``
sessions of the ticker's data in the range) and records them in the ledger
(`engine.ledger`); units already recorded keep their state, so planning the same request
again only adds what is missing. `run_backfill` runs every unit that is not done, in
(family, ticker, date) order, each through `run_metrics` (range mode, one family, one ticker,
the unit's sessions). A unit fails when `run_metrics` raises or reports an error of the
family (a computation that raised, a write that failed); it is retried up to `max_attempts`
times per run, and a failed unit never stops the others. A unit left `running` by an
interrupted run is simply run again (writes are idempotent upserts).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from optionscope.engine.ledger import (
    BackfillRequest,
    JobState,
    Unit,
    UnitState,
    ensure_ledger,
    job_state,
    load_request,
    read_units,
    record_unit,
    save_job,
    set_job_state,
)
from optionscope.engine.plan import RunMode, RunRequest, plan_run
from optionscope.engine.run import Sleep, run_metrics
from optionscope.engine.runlog import Clock, utc_now
from optionscope.metrics.catalog import select_families
from optionscope.metrics.family import MetricFamily
from optionscope.storage import Store

logger = logging.getLogger(__name__)

DEFAULT_MAX_ATTEMPTS = 3
RETRY_BACKOFF_SECONDS = 0.5
"""Wait before the second attempt of a unit; doubled before each later one."""


@dataclass(frozen=True, slots=True)
class UnitResult:
    """How one attempt sequence of a unit ended (passed to ``on_unit_done``)."""

    unit: Unit
    state: UnitState
    attempts: int
    rows: int
    error: str | None = None


@dataclass(frozen=True, slots=True)
class FamilyStatus:
    """Progress of one family of a job."""

    family: str
    total: int
    done: int
    failed: int
    pending: int
    rows: int
    errors: tuple[str, ...] = ()


@dataclass(slots=True)
class BackfillStatus:
    """Progress of a job: its state and one `FamilyStatus` per family."""

    job_id: str
    request: BackfillRequest
    state: str
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


def plan_units(
    store: Store, families: Sequence[MetricFamily], request: BackfillRequest
) -> list[Unit]:
    """Return the units of `request`: per family and ticker, its sessions in chunks."""
    plan = plan_run(
        store,
        RunRequest(RunMode.RANGE, tickers=request.tickers, start=request.start, end=request.end),
    )
    size = max(request.chunk_sessions, 1)
    units = []
    for family in families:
        for ticker_plan in plan.tickers:
            days = ticker_plan.as_of_dates
            for offset in range(0, len(days), size):
                piece = days[offset : offset + size]
                units.append(Unit(family.name, ticker_plan.ticker, piece[0], piece[-1]))
    return units


def plan_backfill(
    store: Store,
    catalog: Sequence[MetricFamily],
    families: Sequence[str],
    tickers: Sequence[str],
    start: date,
    end: date,
    *,
    chunk_sessions: int = 63,
    clock: Clock = utc_now,
) -> str:
    """Record the job of this request and its missing units; return the job id.

    The id is a hash of the request, so the same request gives the same job; units already
    recorded (done ones included) keep their state.

    Raises:
        UnknownFamilyError: A family is not in the catalog.
        PlanError: The range is inconsistent.
    """
    request = BackfillRequest.of(families, tickers, start, end, chunk_sessions)
    selected = select_families(catalog, request.families)
    ensure_ledger(store)
    save_job(store, request, plan_units(store, selected, request), clock=clock)
    return request.job_id


def _attempt(
    store: Store, catalog: Sequence[MetricFamily], unit: Unit
) -> tuple[int, str | None, str | None]:
    """Run one unit once; return (rows written, error or None, metric run id)."""
    request = RunRequest(
        RunMode.RANGE,
        tickers=(unit.ticker,),
        start=unit.chunk_start,
        end=unit.chunk_end,
        families=(unit.family,),
        chunk_sessions=10_000,
    )
    try:
        summary = run_metrics(store, catalog, request)
    except Exception as error:  # noqa: BLE001 - a failing unit never stops the job
        return 0, f"{type(error).__name__}: {error}", None
    errors = [error for outcome in summary.outcomes for error in outcome.errors]
    return summary.rows_written, "; ".join(errors) or None, summary.run_id


def run_backfill(
    store: Store,
    catalog: Sequence[MetricFamily],
    job_id: str,
    *,
    on_unit_done: Callable[[UnitResult], None] | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    sleep: Sleep = time.sleep,
    clock: Clock = utc_now,
) -> BackfillStatus:
    """Run every unit of job `job_id` that is not done; return the job's status.

    Args:
        store: Migrated store holding the job.
        catalog: Families available (the job's families must be in it).
        job_id: Job to run (see `plan_backfill`).
        on_unit_done: Called after each unit is recorded (progress; may raise to stop).
        max_attempts: Attempts per unit in this run before it is left failed.
        sleep: Waits between attempts (tests pass a no-op).
        clock: Wall clock of the ledger timestamps.

    Raises:
        UnknownJobError: No such job.
    """
    request = load_request(store, job_id)
    select_families(catalog, request.families)
    units = read_units(store, job_id)
    todo = units[units["state"] != str(UnitState.DONE)]
    if todo.empty and len(units):
        return backfill_status(store, job_id)  # nothing to do: write nothing either
    set_job_state(store, job_id, JobState.RUNNING, clock=clock)
    started = time.perf_counter()
    finished_units = 0
    for row in todo.to_dict("records"):
        unit = Unit(
            str(row["family"]), str(row["ticker"]), _day(row["chunk_start"]), _day(row["chunk_end"])
        )
        attempts = int(row["attempts"])
        result = _run_unit(store, catalog, job_id, unit, attempts, max_attempts, sleep, clock)
        finished_units += 1
        if on_unit_done is not None:
            on_unit_done(result)
    status = backfill_status(store, job_id)
    final = JobState.COMPLETED_WITH_FAILURES if status.failed else JobState.COMPLETED
    if status.done + status.failed == status.total:
        set_job_state(store, job_id, final, clock=clock)
        status.state = str(final)
    seconds = time.perf_counter() - started
    logger.info(
        "backfill %s: %d unit(s) run in %.2f s (%.1f units/s); %d/%d done, %d failed",
        job_id,
        finished_units,
        seconds,
        finished_units / seconds if seconds > 0 else 0.0,
        status.done,
        status.total,
        status.failed,
    )
    return status


def _run_unit(
    store: Store,
    catalog: Sequence[MetricFamily],
    job_id: str,
    unit: Unit,
    attempts: int,
    max_attempts: int,
    sleep: Sleep,
    clock: Clock,
) -> UnitResult:
    error: str | None = None
    for tried in range(max(max_attempts, 1)):
        if tried:
            sleep(RETRY_BACKOFF_SECONDS * 2 ** (tried - 1))
        attempts += 1
        record_unit(store, job_id, unit, state=UnitState.RUNNING, attempts=attempts, clock=clock)
        rows, error, run_id = _attempt(store, catalog, unit)
        if error is None:
            record_unit(
                store, job_id, unit, state=UnitState.DONE, attempts=attempts, rows=rows,
                run_id=run_id, clock=clock,
            )  # fmt: skip
            return UnitResult(unit, UnitState.DONE, attempts, rows)
        logger.warning(
            "backfill %s: %s %s %s..%s failed (attempt %d): %s",
            job_id, unit.family, unit.ticker, unit.chunk_start, unit.chunk_end, attempts, error,
        )  # fmt: skip
        record_unit(
            store, job_id, unit, state=UnitState.FAILED, attempts=attempts, error=error,
            run_id=run_id, clock=clock,
        )  # fmt: skip
    return UnitResult(unit, UnitState.FAILED, attempts, 0, error)


def _day(value: object) -> date:
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value
    return pd.Timestamp(str(value)).date()


def backfill_status(store: Store, job_id: str) -> BackfillStatus:
    """Return the progress of job `job_id` per family (done/total, rows, failures).

    Raises:
        UnknownJobError: No such job.
    """
    request = load_request(store, job_id)
    units = read_units(store, job_id)
    status = BackfillStatus(job_id, request, job_state(store, job_id))
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
                pending=int(states.isin([str(UnitState.PENDING), str(UnitState.RUNNING)]).sum()),
                rows=int(mine["rows"].sum()),
                errors=tuple(
                    f"{r.ticker} {r.chunk_start}..{r.chunk_end}: {r.error}"
                    for r in failed.itertuples(index=False)
                ),
            )
        )
    return status
