"""The backfill ledger: jobs, their units and the metric coverage they leave, in the store.

Three tables, created on first use with `Store.ensure_table` (like the run log):

* `backfill_jobs`: one row per job. The job id is a hash of the request (families, tickers,
  range, unit size), so submitting the same request again names the same job.
* `backfill_units`: one row per unit (a family, a group of tickers, a window of sessions)
  with its state (`pending`, `running`, `done`, `failed`), attempts, rows written, compute
  seconds and the last error.
* `metric_coverage`: per family version and ticker, the session windows whose rows are
  stored. A unit writes its rows, its coverage and its own `done` (or `failed`) row in one
  transaction (`engine.backfill`), so a crash loses at most the units in flight and planning
  a request is "requested minus covered" whichever job covered it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
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
    CANCELLED = "cancelled"
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
        Column("unit_tickers", _T.INT, doc="Most tickers in one unit."),
        Column("unit_sessions", _T.INT, doc="XNYS sessions in one unit's window."),
        Column(
            "state",
            _T.TEXT,
            doc="planned | running | cancelled | completed | completed_with_failures.",
        ),
        Column("worker", _T.TEXT, nullable=True, doc="host:pid of the last coordinator."),
        Column("executor", _T.TEXT, nullable=True, doc="Executor of the last run."),
        Column("workers", _T.INT, nullable=True, doc="Worker processes of the last run."),
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
        Column("unit_no", _T.INT, doc="Position of the unit in the job's plan (from 0)."),
        Column("family", _T.TEXT, doc="Metric family name."),
        Column("tickers_json", _T.TEXT, doc="JSON array of the unit's tickers, sorted."),
        Column("chunk_start", _T.DATE, doc="First day of the unit's window (inclusive)."),
        Column("chunk_end", _T.DATE, doc="Last day of the unit's window (inclusive)."),
        Column("state", _T.TEXT, doc="pending | running | done | failed."),
        Column("attempts", _T.INT, doc="Attempts so far (all runs of the job)."),
        Column("rows", _T.INT, doc="Rows inserted or changed by all attempts."),
        Column("seconds", _T.FLOAT, doc="Load and compute seconds of all attempts."),
        Column("error", _T.TEXT, nullable=True, doc="Errors of the last failed attempt."),
        Column("run_id", _T.TEXT, nullable=True, doc="Metric run of the last attempt."),
        Column("updated_at", _T.TIMESTAMP, doc="Wall-clock instant of the last change."),
    ),
    primary_key=("job_id", "unit_no"),
    doc="One row per backfill unit: a family, a group of tickers and a window of sessions.",
)

METRIC_COVERAGE = TableSpec(
    name="metric_coverage",
    columns=(
        Column("family", _T.TEXT, doc="Metric family name."),
        Column("model_version", _T.INT, doc="Family version whose rows are stored."),
        Column("ticker", _T.TEXT),
        Column("first_session", _T.DATE, doc="First day of the covered window (inclusive)."),
        Column("last_session", _T.DATE, doc="Last day of the covered window (inclusive)."),
        Column("job_id", _T.TEXT, doc="Backfill job that wrote the rows."),
        Column("run_id", _T.TEXT, doc="Metric run that computed the rows."),
        Column("covered_at", _T.TIMESTAMP, doc="Wall-clock instant of the write."),
    ),
    primary_key=("family", "model_version", "ticker", "first_session", "last_session"),
    doc="Windows of sessions whose metric rows a backfill stored, per family version and "
    "ticker: every session of the ticker's data in the window has its row.",
)

LEDGER_TABLES = (BACKFILL_JOBS, BACKFILL_UNITS, METRIC_COVERAGE)


class LedgerShapeError(RuntimeError):
    """A ledger table in the store has another shape (an older development version)."""


@dataclass(frozen=True, slots=True)
class BackfillRequest:
    """What a backfill job computes (normalised: sorted, upper-case tickers)."""

    families: tuple[str, ...]
    tickers: tuple[str, ...]
    start: date
    end: date
    unit_tickers: int
    unit_sessions: int

    @classmethod
    def of(
        cls,
        families: Sequence[str],
        tickers: Sequence[str],
        start: date,
        end: date,
        *,
        unit_tickers: int,
        unit_sessions: int,
    ) -> BackfillRequest:
        """Return the normalised request (order and case of the inputs do not matter)."""
        return cls(
            families=tuple(sorted(set(families))),
            tickers=tuple(sorted({t.strip().upper() for t in tickers})),
            start=start,
            end=end,
            unit_tickers=max(unit_tickers, 1),
            unit_sessions=max(unit_sessions, 1),
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
                "unit_tickers": self.unit_tickers,
                "unit_sessions": self.unit_sessions,
            },
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Unit:
    """One unit of a job: a family, a group of tickers and a window of days."""

    number: int
    family: str
    tickers: tuple[str, ...]
    chunk_start: date
    chunk_end: date

    def describe(self) -> str:
        """Return e.g. ``technical SPY,QQQ 2015-01-02..2019-12-31``."""
        names = ",".join(self.tickers[:3]) + (
            f",+{len(self.tickers) - 3}" if len(self.tickers) > 3 else ""
        )
        return f"{self.family} {names} {self.chunk_start}..{self.chunk_end}"


class UnknownJobError(KeyError):
    """No backfill job has this id."""


def ensure_ledger(store: Store) -> None:
    """Create the ledger tables if missing.

    Raises:
        LedgerShapeError: A stored ledger table has another shape.
    """
    for spec in LEDGER_TABLES:
        try:
            found = store.reflect_table(spec.name)
        except KeyError:
            store.ensure_table(spec)
            continue
        stored = [column.name for column in found.columns]
        if stored != list(spec.column_names):
            raise LedgerShapeError(
                f"table {spec.name} in {store.url} was created by an earlier development "
                f"version of the backfill ledger (columns {stored}); drop it to start over"
            )


def _stamp(clock: Clock) -> pd.Timestamp:
    return pd.Timestamp(clock())


def _dates(values: Iterable[date]) -> pd.Series:
    return pd.Series(list(values), dtype=object)


def job_exists(store: Store, job_id: str) -> bool:
    """Return whether job `job_id` is recorded."""
    return bool(len(store.read(BACKFILL_JOBS, where={"job_id": job_id})))


def save_job(
    store: Store, request: BackfillRequest, units: Sequence[Unit], *, clock: Clock = utc_now
) -> None:
    """Record a new job and its units, all pending, in one transaction."""
    now = _stamp(clock)
    job = pd.DataFrame(
        {
            "job_id": [request.job_id],
            "families_json": [json.dumps(list(request.families))],
            "tickers_json": [json.dumps(list(request.tickers))],
            "start_date": _dates([request.start]),
            "end_date": _dates([request.end]),
            "unit_tickers": [request.unit_tickers],
            "unit_sessions": [request.unit_sessions],
            "state": [str(JobState.PLANNED)],
            "worker": pd.Series([None], dtype=object),
            "executor": pd.Series([None], dtype=object),
            "workers": pd.Series([None], dtype="Int64"),
            "created_at": [now],
            "updated_at": [now],
        }
    )
    with store.transaction() as transaction:
        transaction.upsert(BACKFILL_JOBS, job, on_conflict="ignore")
        if units:
            transaction.upsert(
                BACKFILL_UNITS, unit_rows(request.job_id, units, UnitState.PENDING, now)
            )


def unit_rows(
    job_id: str,
    units: Sequence[Unit],
    state: UnitState,
    now: pd.Timestamp,
    *,
    attempts: Sequence[int] | None = None,
    rows: Sequence[int] | None = None,
    seconds: Sequence[float] | None = None,
    errors: Sequence[str | None] | None = None,
    run_ids: Sequence[str | None] | None = None,
) -> pd.DataFrame:
    """Return `backfill_units` rows for `units` (counters default to zero)."""
    count = len(units)
    return pd.DataFrame(
        {
            "job_id": job_id,
            "unit_no": [unit.number for unit in units],
            "family": [unit.family for unit in units],
            "tickers_json": [json.dumps(list(unit.tickers)) for unit in units],
            "chunk_start": _dates(unit.chunk_start for unit in units),
            "chunk_end": _dates(unit.chunk_end for unit in units),
            "state": str(state),
            "attempts": list(attempts) if attempts is not None else [0] * count,
            "rows": list(rows) if rows is not None else [0] * count,
            "seconds": list(seconds) if seconds is not None else [0.0] * count,
            "error": pd.Series(list(errors) if errors else [None] * count, dtype=object),
            "run_id": pd.Series(list(run_ids) if run_ids else [None] * count, dtype=object),
            "updated_at": now,
        }
    )


def request_of(row: pd.Series) -> BackfillRequest:
    """Return the request recorded in a `backfill_jobs` row."""
    return BackfillRequest(
        families=tuple(json.loads(str(row["families_json"]))),
        tickers=tuple(json.loads(str(row["tickers_json"]))),
        start=as_day(row["start_date"]),
        end=as_day(row["end_date"]),
        unit_tickers=int(row["unit_tickers"]),
        unit_sessions=int(row["unit_sessions"]),
    )


def read_job(store: Store, job_id: str) -> pd.Series:
    """Return the `backfill_jobs` row of job `job_id`.

    Raises:
        UnknownJobError: No such job.
    """
    try:
        store.reflect_table(BACKFILL_JOBS.name)
    except KeyError:
        raise UnknownJobError(f"no backfill job {job_id!r} in {store.url}") from None
    found = store.read(BACKFILL_JOBS, where={"job_id": job_id})
    if not len(found):
        raise UnknownJobError(f"no backfill job {job_id!r} in {store.url}")
    return found.iloc[0]


def list_jobs(store: Store) -> pd.DataFrame:
    """Return every job's row, newest first (none when no job was ever planned)."""
    try:
        store.reflect_table(BACKFILL_JOBS.name)
    except KeyError:
        return pd.DataFrame(columns=list(BACKFILL_JOBS.column_names))
    return store.read(BACKFILL_JOBS, order_by=["-created_at", "job_id"])


def set_job_state(
    store: Store,
    job_id: str,
    state: JobState,
    *,
    clock: Clock = utc_now,
    worker: str | None = None,
    executor: str | None = None,
    workers: int | None = None,
) -> None:
    """Record the state of job `job_id` (and, when given, who runs it and how).

    Raises:
        UnknownJobError: No such job.
    """
    row = read_job(store, job_id).to_frame().T.reset_index(drop=True)
    row["state"] = str(state)
    row["updated_at"] = _stamp(clock)
    for name, value in (("worker", worker), ("executor", executor), ("workers", workers)):
        if value is not None:
            row[name] = value
    row["workers"] = row["workers"].astype("Int64")
    for name in ("start_date", "end_date"):
        row[name] = _dates([as_day(row[name].iloc[0])])
    store.upsert(BACKFILL_JOBS, row.loc[:, list(BACKFILL_JOBS.column_names)])


def read_units(store: Store, job_id: str) -> pd.DataFrame:
    """Return the units of job `job_id`, in plan order."""
    return store.read(BACKFILL_UNITS, where={"job_id": job_id}, order_by=["unit_no"])


def units_of(frame: pd.DataFrame) -> list[Unit]:
    """Return the `Unit`s of `backfill_units` rows."""
    return [
        Unit(
            number=int(row["unit_no"]),
            family=str(row["family"]),
            tickers=tuple(json.loads(str(row["tickers_json"]))),
            chunk_start=as_day(row["chunk_start"]),
            chunk_end=as_day(row["chunk_end"]),
        )
        for row in frame.to_dict("records")
    ]


def read_coverage(
    store: Store, family: str, model_version: int, tickers: Sequence[str] | None = None
) -> pd.DataFrame:
    """Return the coverage rows of one family version (of `tickers` only, when given)."""
    where: dict[str, object] = {"family": family, "model_version": model_version}
    if tickers is not None:
        where["ticker"] = list(tickers)
    return store.read(METRIC_COVERAGE, where=where, order_by=["ticker", "first_session"])


def coverage_rows(
    family: str,
    model_version: int,
    tickers: Sequence[str],
    first: date,
    last: date,
    *,
    job_id: str,
    run_id: str,
    now: pd.Timestamp,
) -> pd.DataFrame:
    """Return `metric_coverage` rows: `tickers` covered on ``[first, last]``."""
    return pd.DataFrame(
        {
            "family": family,
            "model_version": model_version,
            "ticker": list(tickers),
            "first_session": _dates([first] * len(tickers)),
            "last_session": _dates([last] * len(tickers)),
            "job_id": job_id,
            "run_id": run_id,
            "covered_at": now,
        }
    )


def as_day(value: object) -> date:
    """Return a stored DATE value (a date, a timestamp or an ISO string) as a `date`."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    return pd.Timestamp(str(value)).date()
