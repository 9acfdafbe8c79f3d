"""The backfill coordinator: runs a job's units on an executor, retries, cancel, final state."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from optionscope.engine.backfill.status import BackfillStatus, backfill_status
from optionscope.engine.backfill.unit import (
    DEFAULT_CATALOG,
    LOCK_WAIT_SECONDS,
    UnitResult,
    UnitTask,
    commit_unit,
    compute_unit,
    compute_unit_read_only,
    load_catalog_reference,
    mark_running,
    run_unit_writing,
)
from optionscope.engine.executors import Executor, SerialExecutor
from optionscope.engine.ledger import (
    JobState,
    UnitState,
    read_job,
    read_units,
    request_of,
    set_job_state,
    units_of,
)
from optionscope.engine.run import Sleep, prepare_tables
from optionscope.engine.runlog import Clock, utc_now
from optionscope.metrics.catalog import select_families
from optionscope.storage import Store, open_store
from optionscope.storage.connect import is_postgres_url

logger = logging.getLogger(__name__)

DEFAULT_MAX_ATTEMPTS = 3
"""Passes over a job's failed units in one run."""
RETRY_BACKOFF_SECONDS = 0.5
"""Wait before the second pass over failed units; doubled before each later one."""


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

    def run(self, tasks: Sequence[UnitTask]) -> list[UnitResult]:
        """Run `tasks` and return their results.

        Workers write their units on PostgreSQL; this coordinator writes them on DuckDB.
        """
        self.results = []
        if tasks:
            if is_postgres_url(self.target):
                self._run_shared(tasks)
            else:
                self._run_in_waves(tasks)
        return self.results

    def _run_shared(self, tasks: Sequence[UnitTask]) -> None:
        job_id = tasks[0].job_id
        with _writer(self.target) as store:
            if self.executor.in_process:
                for task in tasks:
                    if self._cancel_requested(store, job_id):
                        return
                    mark_running(store, [task])
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
            mark_running(store, waves[0])
        for number, wave in enumerate(waves):
            computations = list(self.executor.map_unordered(compute_unit_read_only, wave))
            with _writer(self.target) as store:
                for computation in sorted(computations, key=lambda c: c.task.unit.number):
                    self._done(commit_unit(store, computation))
                if number + 1 == len(waves) or self._cancel_requested(store, job_id):
                    return
                mark_running(store, waves[number + 1])


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
        job = read_job(writer, job_id)
        request = request_of(job)
        families = select_families(load_catalog_reference(catalog), request.families)
        units = read_units(writer, job_id)
        todo = units[units["state"] != str(UnitState.DONE)]
        if todo.empty:
            return _finish(writer, job_id, clock)
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
        results = runner.run(tasks)
        failed = {r.unit.number for r in results if r.state is UnitState.FAILED}
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
