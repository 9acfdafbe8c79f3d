"""Transient write errors: retried with backoff, then the ticker soft-fails (both backends).

The fault is injected by a thin wrapper around a real store whose transactions raise
`TransientStoreError` (as the stores translate a lost connection or a lock) on chosen writes;
everything else, the rollback of the failed transaction included, is the real store's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd
import pytest

from optionscope.domain import tables
from optionscope.domain.instruments import tickers_frame
from optionscope.domain.tables import TableSpec
from optionscope.engine import METRIC_RUNS, RunMode, RunRequest, run_metrics
from optionscope.metrics.families import technical
from optionscope.storage import Store, TransientStoreError

pytestmark = pytest.mark.integration

Market = dict[str, pd.DataFrame]
TICKERS = ["AAA", "BAD", "CCC"]


class _FlakyTransaction:
    def __init__(self, inner: Any, store: FlakyStore) -> None:
        self._inner = inner
        self._store = store

    def upsert(self, table: TableSpec, rows: pd.DataFrame, **options: Any) -> int:
        count = self._inner.upsert(table, rows, **options)
        if table.name == technical.SCHEMA.name:
            self._store.check(rows)
        return count


class FlakyStore:
    """A real store whose metric writes fail transiently: the first `failures`, and always
    when they hold a row of `poisoned` (after the real upsert, so there is work to undo)."""

    def __init__(self, inner: Store, *, failures: int = 0, poisoned: str | None = None) -> None:
        self._inner = inner
        self.failures = failures
        self.poisoned = poisoned
        self.raised = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @contextmanager
    def transaction(self) -> Iterator[_FlakyTransaction]:
        with self._inner.transaction() as transaction:
            yield _FlakyTransaction(transaction, self)

    def check(self, rows: pd.DataFrame) -> None:
        if self.failures > 0:
            self.failures -= 1
            self.raised += 1
            raise TransientStoreError("OperationalError: server closed the connection")
        if self.poisoned is not None and (rows["ticker"] == self.poisoned).any():
            self.raised += 1
            raise TransientStoreError("IOException: could not set lock on file")


@pytest.fixture
def bars_store(
    store: Store, bars_only: Callable[..., Market], write: Callable[[Store, Market], None]
) -> Store:
    write(store, bars_only(TICKERS, 255))
    return store


def test_a_transient_write_error_is_retried_with_backoff(bars_store: Store) -> None:
    flaky = FlakyStore(bars_store, failures=2)
    waits: list[float] = []

    summary = run_metrics(
        flaky,  # type: ignore[arg-type]
        (technical.FAMILY,),
        RunRequest(RunMode.BATCH),
        sleep=waits.append,
    )

    assert waits == [0.5, 1.0]
    assert flaky.raised == 2
    assert (summary.processed, summary.soft_failed, summary.rows_written) == (3, 0, 3)
    rows = bars_store.read(technical.SCHEMA, order_by=["ticker"])
    assert list(rows["ticker"]) == TICKERS
    assert (rows["status"] == "ok").all()


def test_a_ticker_whose_write_keeps_failing_soft_fails_and_the_batch_goes_on(
    bars_store: Store,
) -> None:
    flaky = FlakyStore(bars_store, poisoned="BAD")
    waits: list[float] = []

    summary = run_metrics(
        flaky,  # type: ignore[arg-type]
        (technical.FAMILY,),
        RunRequest(RunMode.BATCH),
        sleep=waits.append,
    )

    # The chunk: 1 try + 3 retries; then ticker by ticker, BAD again 1 + 3.
    assert waits == [0.5, 1.0, 2.0, 0.5, 1.0, 2.0]
    assert flaky.raised == 8
    assert (summary.processed, summary.soft_failed, summary.rows_written) == (3, 1, 2)
    bad = next(outcome for outcome in summary.outcomes if outcome.ticker == "BAD")
    assert bad.statuses == {"failed": 1}
    assert bad.errors == ("write: TransientStoreError: IOException: could not set lock on file",)
    rows = bars_store.read(technical.SCHEMA, order_by=["ticker"])
    assert list(rows["ticker"]) == ["AAA", "CCC"]  # BAD's rolled back, the others kept
    runs = bars_store.read(METRIC_RUNS)
    assert (int(runs["tickers"].iloc[0]), int(runs["soft_failed"].iloc[0])) == (3, 1)


def test_the_stores_translate_driver_errors_that_may_pass(store: Store) -> None:
    driver_error: Exception
    if store.backend == "duckdb":
        import duckdb

        driver_error = duckdb.IOException("IO Error: Could not set lock on file")
    else:
        import psycopg

        driver_error = psycopg.OperationalError("server closed the connection unexpectedly")

    def write_then_fail() -> None:
        with store.transaction() as transaction:
            transaction.upsert(tables.TICKERS, tickers_frame(["AAA"]))
            raise driver_error

    with pytest.raises(TransientStoreError) as raised:
        write_then_fail()

    assert raised.value.__cause__ is driver_error
    assert "AAA" not in set(store.read(tables.TICKERS)["ticker"])  # rolled back
    with pytest.raises(ValueError, match="not transient"), store.transaction():
        raise ValueError("not transient")  # other errors pass unchanged
