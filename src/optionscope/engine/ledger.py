"""The backfill job ledger: jobs and their units (family, ticker, date chunk) in the store.

Two tables, created on first use with `Store.ensure_table` (like the run log):

* `backfill_jobs`: one row per job. The job id is a hash of the request (families, tickers,
  range, chunk size), so submitting the same request again resumes the same job.
* `backfill_units`: one row per unit with its state (`pending`, `running`, `done`, `failed`),
  attempts, rows written and the last error.

Coverage: a unit is `done` once its rows were written. The metric engine opens its own write
transaction, so a unit is marked done right after `run_metrics` returns, not in the same
transaction as its rows: a crash between the two re-runs that unit, which is harmless because
metric writes are idempotent upserts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import pandas as pd

from optionscope.domain.tables import Column, LogicalType, TableSpec
from optionscope.engine.runlog import Clock, utc_now
from optionscope.storage import Store


class UnitState(StrEnum):
    """State of one backfill unit."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class JobState(StrEnum):
    """State of a backfill job."""

    PLANNED = "planned"
    RUNNING = "running"
    COMPLETED = "completed"
    COMPLETED_WITH_FAILURES = "completed_with_failures"


_T = LogicalType
BACKFILL_JOBS = TableSpec(
    name="backfill_jobs",
    columns=(
        Column("job_id", _T.TEXT, doc="Hash of the request (same request, same job)."),
        Column("families_json", _T.TEXT, doc="JSON array of family names, sorted."),
        Column("tickers_json", _T.TEXT, doc="JSON array of tickers, sorted, upper case."),
        Column("start_date", _T.DATE, doc="First session requested (inclusive)."),
        Column("end_date", _T.DATE, doc="Last session requested (inclusive)."),
        Column("chunk_sessions", _T.INT, doc="Sessions per unit."),
        Column("state", _T.TEXT, doc="planned | running | completed | completed_with_failures."),
        Column("created_at", _T.TIMESTAMP, doc="Wall-clock instant of the first submission."),
        Column("updated_at", _T.TIMESTAMP, doc="Wall-clock instant of the last state change."),
    ),
    primary_key=("job_id",),
    doc="One row per backfill job.",
)

BACKFILL_UNITS = TableSpec(
    name="backfill_units",
    columns=(
        Column("job_id", _T.TEXT),
        Column("family", _T.TEXT, doc="Metric family name."),
        Column("ticker", _T.TEXT),
        Column("chunk_start", _T.DATE, doc="First session of the unit."),
        Column("chunk_end", _T.DATE, doc="Last session of the unit."),
        Column("state", _T.TEXT, doc="pending | running | done | failed."),
        Column("attempts", _T.INT, doc="Attempts so far (all runs of the job)."),
        Column("rows", _T.INT, doc="Rows written by the last successful attempt."),
        Column("error", _T.TEXT, nullable=True, doc="Error of the last failed attempt."),
        Column("run_id", _T.TEXT, nullable=True, doc="Metric run of the last attempt."),
        Column("updated_at", _T.TIMESTAMP, doc="Wall-clock instant of the last change."),
    ),
    primary_key=("job_id", "family", "ticker", "chunk_start", "chunk_end"),
    doc="One row per backfill unit: a family, a ticker and a chunk of sessions.",
)


@dataclass(frozen=True, slots=True)
class BackfillRequest:
    """What a backfill job computes (normalised: sorted, upper-case tickers)."""

    families: tuple[str, ...]
    tickers: tuple[str, ...]
    start: date
    end: date
    chunk_sessions: int

    @classmethod
    def of(
        cls,
        families: Sequence[str],
        tickers: Sequence[str],
        start: date,
        end: date,
        chunk_sessions: int,
    ) -> BackfillRequest:
        """Return the normalised request (order and case of the inputs do not matter)."""
        return cls(
            families=tuple(sorted(set(families))),
            tickers=tuple(sorted({t.strip().upper() for t in tickers})),
            start=start,
            end=end,
            chunk_sessions=chunk_sessions,
        )

    @property
    def job_id(self) -> str:
        """Return the deterministic job id: a hash of the request."""
        text = json.dumps(
            {
                "families": list(self.families),
                "tickers": list(self.tickers),
                "start": self.start.isoformat(),
                "end": self.end.isoformat(),
                "chunk_sessions": self.chunk_sessions,
            },
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Unit:
    """One unit of a job: a family, a ticker and a chunk of sessions."""

    family: str
    ticker: str
    chunk_start: date
    chunk_end: date


class UnknownJobError(KeyError):
    """No backfill job has this id."""


def ensure_ledger(store: Store) -> None:
    """Create the ledger tables if missing."""
    store.ensure_table(BACKFILL_JOBS)
    store.ensure_table(BACKFILL_UNITS)


def _stamp(clock: Clock) -> pd.Timestamp:
    return pd.Timestamp(clock())


def save_job(
    store: Store,
    request: BackfillRequest,
    units: Sequence[Unit],
    *,
    clock: Clock = utc_now,
) -> None:
    """Record the job and its units; keep the state of units already recorded."""
    now = _stamp(clock)
    job_id = request.job_id
    known = store.read(BACKFILL_JOBS, where={"job_id": job_id})
    job = pd.DataFrame(
        {
            "job_id": [job_id],
            "families_json": [json.dumps(list(request.families))],
            "tickers_json": [json.dumps(list(request.tickers))],
            "start_date": pd.Series([request.start], dtype=object),
            "end_date": pd.Series([request.end], dtype=object),
            "chunk_sessions": [request.chunk_sessions],
            "state": [str(known["state"].iloc[0]) if len(known) else str(JobState.PLANNED)],
            "created_at": [known["created_at"].iloc[0] if len(known) else now],
            "updated_at": [now],
        }
    )
    rows = pd.DataFrame(
        {
            "job_id": job_id,
            "family": [u.family for u in units],
            "ticker": [u.ticker for u in units],
            "chunk_start": pd.Series([u.chunk_start for u in units], dtype=object),
            "chunk_end": pd.Series([u.chunk_end for u in units], dtype=object),
            "state": str(UnitState.PENDING),
            "attempts": 0,
            "rows": 0,
            "error": pd.Series([None] * len(units), dtype=object),
            "run_id": pd.Series([None] * len(units), dtype=object),
            "updated_at": now,
        }
    )
    with store.transaction() as transaction:
        transaction.upsert(BACKFILL_JOBS, job)
        if len(rows):
            transaction.upsert(BACKFILL_UNITS, rows, on_conflict="ignore")


def load_request(store: Store, job_id: str) -> BackfillRequest:
    """Return the request of job `job_id`.

    Raises:
        UnknownJobError: No such job.
    """
    ensure_ledger(store)
    found = store.read(BACKFILL_JOBS, where={"job_id": job_id})
    if not len(found):
        raise UnknownJobError(f"no backfill job {job_id!r} in {store.url}")
    row = found.iloc[0]
    return BackfillRequest(
        families=tuple(json.loads(str(row["families_json"]))),
        tickers=tuple(json.loads(str(row["tickers_json"]))),
        start=pd.Timestamp(row["start_date"]).date(),
        end=pd.Timestamp(row["end_date"]).date(),
        chunk_sessions=int(row["chunk_sessions"]),
    )


def job_state(store: Store, job_id: str) -> str:
    """Return the recorded state of job `job_id` (see `JobState`)."""
    found = store.read(BACKFILL_JOBS, where={"job_id": job_id})
    if not len(found):
        raise UnknownJobError(f"no backfill job {job_id!r} in {store.url}")
    return str(found["state"].iloc[0])


def set_job_state(store: Store, job_id: str, state: JobState, *, clock: Clock = utc_now) -> None:
    """Record the state of job `job_id`."""
    found = store.read(BACKFILL_JOBS, where={"job_id": job_id})
    if not len(found):
        raise UnknownJobError(f"no backfill job {job_id!r} in {store.url}")
    row = found.assign(state=str(state), updated_at=_stamp(clock))
    store.upsert(BACKFILL_JOBS, row.loc[:, list(BACKFILL_JOBS.column_names)])


def read_units(store: Store, job_id: str) -> pd.DataFrame:
    """Return the units of job `job_id`, by family, ticker and chunk."""
    return store.read(
        BACKFILL_UNITS,
        where={"job_id": job_id},
        order_by=["family", "ticker", "chunk_start"],
    )


def record_unit(
    store: Store,
    job_id: str,
    unit: Unit,
    *,
    state: UnitState,
    attempts: int,
    rows: int = 0,
    error: str | None = None,
    run_id: str | None = None,
    clock: Clock = utc_now,
) -> None:
    """Record the state of one unit."""
    frame = pd.DataFrame(
        {
            "job_id": [job_id],
            "family": [unit.family],
            "ticker": [unit.ticker],
            "chunk_start": pd.Series([unit.chunk_start], dtype=object),
            "chunk_end": pd.Series([unit.chunk_end], dtype=object),
            "state": [str(state)],
            "attempts": [attempts],
            "rows": [rows],
            "error": pd.Series([error], dtype=object),
            "run_id": pd.Series([run_id], dtype=object),
            "updated_at": [_stamp(clock)],
        }
    )
    store.upsert(BACKFILL_UNITS, frame)
