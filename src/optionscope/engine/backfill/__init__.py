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

Unit sizing. Scheduling costs about 0.1-0.15 ms per task in a local process pool and 2-3 ms
on a Dask LocalCluster (measured here), while a default unit (25 tickers x 1,260 sessions,
125 ticker-years) takes about a second of work: scheduling stays far below 1% of it.

Modules: `plan` (planning), `unit` (one unit's computation and its one-transaction commit,
and the worker entry points), `run` (the coordinator), `status` (progress and cancel).

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

from optionscope.engine.backfill.plan import (
    DEFAULT_UNIT_SESSIONS,
    DEFAULT_UNIT_TICKERS,
    plan_backfill,
    plan_units,
    unit_windows,
)
from optionscope.engine.backfill.run import (
    DEFAULT_MAX_ATTEMPTS,
    RETRY_BACKOFF_SECONDS,
    JobBusyError,
    run_backfill,
)
from optionscope.engine.backfill.status import (
    BackfillStatus,
    FamilyStatus,
    backfill_status,
    cancel_backfill,
)
from optionscope.engine.backfill.unit import (
    CHAIN_ROWS_PER_LOAD,
    DEFAULT_CATALOG,
    LOCK_WAIT_SECONDS,
    UnitComputation,
    UnitResult,
    UnitTask,
    commit_unit,
    compute_unit,
    load_catalog_reference,
    load_chunk_sessions,
)

__all__ = [
    "CHAIN_ROWS_PER_LOAD",
    "DEFAULT_CATALOG",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_UNIT_SESSIONS",
    "DEFAULT_UNIT_TICKERS",
    "LOCK_WAIT_SECONDS",
    "RETRY_BACKOFF_SECONDS",
    "BackfillStatus",
    "FamilyStatus",
    "JobBusyError",
    "UnitComputation",
    "UnitResult",
    "UnitTask",
    "backfill_status",
    "cancel_backfill",
    "commit_unit",
    "compute_unit",
    "load_catalog_reference",
    "load_chunk_sessions",
    "plan_backfill",
    "plan_units",
    "run_backfill",
    "unit_windows",
]
