"""Where backfill units run: in this process, in a local process pool, or on a Dask cluster.

An executor maps a picklable function over tasks and yields the results as they complete;
it knows nothing of metrics. The three:

* `SerialExecutor`: one after the other in this process (debugging, tests, one core).
* `PoolExecutor`: a `concurrent.futures.ProcessPoolExecutor` of ``workers`` processes
  (default: the cores), started with the ``forkserver`` method so that no worker inherits
  this process's open database connections.
* `DaskExecutor`: the workers of a Dask distributed cluster (``tcp://host:port`` of its
  scheduler, or a `distributed.Client` already connected). Functions and tasks travel by
  pickle (cloudpickle), so the workers need the same optionscope version installed.

Measured on the project's 2-core machine (`benchmarks/backfill.py`, 2,000 empty tasks): about
0.1-0.15 ms of scheduling per task for the pool and 2-3 ms for a Dask LocalCluster; the
backfill's units take seconds each, so scheduling stays far under a tenth of the work.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")

EXECUTOR_NAMES = ("serial", "pool", "dask")


class Executor(Protocol):
    """Runs a function over tasks; yields results as they complete (any order)."""

    name: str
    workers: int
    in_process: bool
    """Whether tasks run in this process (no pickling; the caller's objects are shared)."""

    def map_unordered(self, function: Callable[[T], R], tasks: Sequence[T]) -> Iterator[R]:
        """Yield ``function(task)`` for every task, in completion order."""
        ...

    def close(self) -> None:
        """Release the workers (the pool's processes, the Dask client)."""
        ...


class SerialExecutor:
    """Runs every task in this process, in order."""

    name = "serial"
    workers = 1
    in_process = True

    def map_unordered(self, function: Callable[[T], R], tasks: Sequence[T]) -> Iterator[R]:
        """Yield ``function(task)`` for each task in order."""
        for task in tasks:
            yield function(task)

    def close(self) -> None:
        """Nothing to release."""


def default_workers() -> int:
    """Return the cores this process may use (at least 1)."""
    return max(len(os.sched_getaffinity(0)), 1)


class PoolExecutor:
    """Runs tasks in a pool of local worker processes (started once, reused).

    Args:
        workers: Processes (default: the cores this process may use).
    """

    name = "pool"
    in_process = False

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or default_workers()
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["optionscope.engine.backfill"])
        self._pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=self.workers, mp_context=context
        )

    def map_unordered(self, function: Callable[[T], R], tasks: Sequence[T]) -> Iterator[R]:
        """Submit every task, then yield results as they complete."""
        futures = [self._pool.submit(function, task) for task in tasks]
        try:
            for future in concurrent.futures.as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()

    def close(self) -> None:
        """Stop the worker processes."""
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    """Runs tasks on the workers of a Dask distributed cluster.

    Args:
        scheduler: ``tcp://host:port`` of a running scheduler, or a connected
            `distributed.Client` (which this executor then does not close).
    """

    name = "dask"
    in_process = False

    def __init__(self, scheduler: str | Any) -> None:
        import distributed  # optional dependency: only the Dask executor needs it

        self._owns_client = isinstance(scheduler, str)
        self._client = (
            distributed.Client(scheduler)  # type: ignore[no-untyped-call]
            if isinstance(scheduler, str)
            else scheduler
        )
        self._as_completed = distributed.as_completed
        threads = self._client.nthreads()
        self.workers = max(sum(threads.values()), 1)

    def map_unordered(self, function: Callable[[T], R], tasks: Sequence[T]) -> Iterator[R]:
        """Submit every task to the cluster, then yield results as they complete."""
        futures = [self._client.submit(function, task, pure=False) for task in tasks]
        try:
            for future in self._as_completed(futures):  # type: ignore[no-untyped-call]
                yield future.result()
        finally:
            self._client.cancel(futures)

    def close(self) -> None:
        """Close the client if this executor opened it."""
        if self._owns_client:
            self._client.close()


def make_executor(
    name: str, *, workers: int | None = None, scheduler: str | None = None
) -> Executor:
    """Return the executor called `name` (``serial``, ``pool`` or ``dask``).

    Raises:
        ValueError: Unknown name, or ``dask`` without a scheduler address.
    """
    if name == "serial":
        return SerialExecutor()
    if name == "pool":
        return PoolExecutor(workers)
    if name == "dask":
        if not scheduler:
            raise ValueError("the dask executor needs --scheduler tcp://HOST:PORT")
        return DaskExecutor(scheduler)
    raise ValueError(f"unknown executor {name!r}; choose one of {', '.join(EXECUTOR_NAMES)}")
