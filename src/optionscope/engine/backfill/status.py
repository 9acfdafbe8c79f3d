"""A backfill job's progress per family, and cancelling it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pandas as pd

from optionscope.engine.ledger import (
    BackfillRequest,
    JobState,
    UnitState,
    as_day,
    read_job,
    read_units,
    request_of,
    set_job_state,
)
from optionscope.engine.runlog import Clock, utc_now
from optionscope.storage import Store


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
    request = request_of(job)
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
