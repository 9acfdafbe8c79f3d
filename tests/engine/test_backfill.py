"""The backfill: planning (requested minus covered), one-transaction units, reruns, isolation
of a failing family, cancel, and the serial, process-pool and Dask executors, on DuckDB files
and on a real PostgreSQL server."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from optionscope.domain.tables import TableSpec
from optionscope.engine import RunMode, RunRequest, run_metrics
from optionscope.engine.backfill import (
    JobBusyError,
    UnitResult,
    cancel_backfill,
    load_catalog_reference,
    load_chunk_sessions,
    plan_backfill,
    run_backfill,
    unit_windows,
)
from optionscope.engine.backfill import unit as unit_module
from optionscope.engine.executors import DaskExecutor, Executor, PoolExecutor, SerialExecutor
from optionscope.engine.ledger import (
    BACKFILL_JOBS,
    BACKFILL_UNITS,
    METRIC_COVERAGE,
    JobState,
    read_units,
    set_job_state,
    units_of,
)
from optionscope.engine.runlog import METRIC_RUNS
from optionscope.metrics.catalog import load_catalog
from optionscope.storage import Store, open_store

Market = dict[str, pd.DataFrame]
TICKERS = ("TKA", "TKB", "TKC", "TKD", "TKE")
START, END = date(2024, 1, 2), date(2024, 2, 29)  # 41 XNYS sessions
BARS_START = date(2023, 1, 3)  # 300 sessions of bars (to 2024-03-14); lookback 252
FLAKY = "backfill_catalogs:flaky_catalog"
FIXED = "backfill_catalogs:fixed_catalog"
FAMILIES = ["technical", "volatility"]


def _no_sleep(seconds: float) -> None:
    return None


MakeTarget = Callable[[], str]
MakeBarTarget = Callable[..., str]


@pytest.fixture(params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
def make_target(request: pytest.FixtureRequest, make_bar_target: MakeBarTarget) -> MakeTarget:
    """Make migrated stores holding bars of `TICKERS`: DuckDB file paths or PostgreSQL URLs."""
    return lambda: make_bar_target(request.param, TICKERS, 300, BARS_START)


@pytest.fixture
def target(make_target: MakeTarget) -> str:
    return make_target()


def plan(
    url: str,
    families: list[str] = FAMILIES,
    *,
    catalog: str = "optionscope.metrics.catalog:load_catalog",
    start: date = START,
    end: date = END,
    unit_tickers: int = 2,
    unit_sessions: int = 20,
) -> str:
    with open_store(url) as store:
        return plan_backfill(
            store, load_catalog_reference(catalog), families, list(TICKERS), start, end,
            unit_tickers=unit_tickers, unit_sessions=unit_sessions,
        )  # fmt: skip


FAMILY_TABLES = tuple(
    family.schema
    for family in (*load_catalog(), *load_catalog_reference(FIXED)[1:])
    if family.name in ("technical", "volatility", "explosive")
)


def snapshot(url: str, *specs: TableSpec) -> dict[str, pd.DataFrame]:
    """Every row of the family tables (and of `specs`), in key order."""
    frames = {}
    with open_store(url, read_only=True) as store:
        for spec in (*FAMILY_TABLES, *specs):
            try:
                store.reflect_table(spec.name)
            except KeyError:
                frames[spec.name] = pd.DataFrame()
                continue
            frames[spec.name] = store.read(spec, order_by=list(spec.primary_key))
    return frames


def metric_rows(url: str) -> dict[str, pd.DataFrame]:
    return snapshot(url)


def assert_same_rows(left: dict[str, pd.DataFrame], right: dict[str, pd.DataFrame]) -> None:
    assert left.keys() == right.keys()
    for name in left:
        pd.testing.assert_frame_equal(left[name], right[name], obj=name)


def test_windows_cover_the_range_every_n_sessions() -> None:
    windows = unit_windows(START, END, 20)
    assert windows == [
        (date(2024, 1, 2), date(2024, 1, 30)),
        (date(2024, 1, 31), date(2024, 2, 28)),
        (date(2024, 2, 29), date(2024, 2, 29)),
    ]
    assert unit_windows(date(2024, 1, 1), date(2024, 1, 7), 100) == [
        (date(2024, 1, 1), date(2024, 1, 7))
    ]


def test_planning_groups_tickers_and_windows_and_names_the_job_by_its_request(
    target: str,
) -> None:
    job = plan(target)
    assert plan(target) == job  # same request, same job, nothing planned again
    assert plan(target, unit_tickers=3) != job
    with open_store(target) as store:
        units = read_units(store, job)
    # 2 families x 3 windows x ceil(5 / 2) ticker groups
    assert len(units) == 18
    assert list(units["unit_no"]) == list(range(18))
    assert set(units["state"]) == {"pending"}
    first = units.iloc[:3]
    assert list(first["tickers_json"]) == ['["TKA", "TKB"]', '["TKC", "TKD"]', '["TKE"]']
    assert {str(d) for d in first["chunk_start"]} == {"2024-01-02"}


def test_a_job_writes_every_row_with_its_coverage_and_a_rerun_changes_nothing(
    target: str,
) -> None:
    job = plan(target)
    status = run_backfill(target, job, sleep=_no_sleep)

    assert (status.done, status.total, status.failed, status.state) == (18, 18, 0, "completed")
    assert status.rows == 2 * len(TICKERS) * 41
    rows = metric_rows(target)
    assert len(rows["ohlcv_technical_metrics"]) == len(TICKERS) * 41
    with open_store(target, read_only=True) as store:
        coverage = store.read(METRIC_COVERAGE)
        runs = store.read(METRIC_RUNS)
    assert len(coverage) == 2 * 3 * len(TICKERS)  # family x window x ticker
    assert runs["rows_written"].sum() == status.rows

    everything = snapshot(target, BACKFILL_JOBS, BACKFILL_UNITS, METRIC_COVERAGE, METRIC_RUNS)
    ran: list[UnitResult] = []
    assert plan(target) == job
    again = run_backfill(target, job, on_unit_done=ran.append, sleep=_no_sleep)

    assert ran == []
    assert again.state == "completed"
    assert_same_rows(
        snapshot(target, BACKFILL_JOBS, BACKFILL_UNITS, METRIC_COVERAGE, METRIC_RUNS),
        everything,
    )


def test_a_new_request_plans_only_what_no_job_covered(target: str) -> None:
    first = plan(target, ["technical"], end=date(2024, 1, 30))  # the first window only
    run_backfill(target, first, sleep=_no_sleep)

    wider = plan(target, ["technical"])
    with open_store(target) as store:
        units = read_units(store, wider)
    assert {str(d) for d in units["chunk_start"]} == {"2024-01-31", "2024-02-29"}

    run_backfill(target, wider, sleep=_no_sleep)
    whole = plan(target, ["technical"], unit_sessions=100)
    with open_store(target) as store:
        assert len(read_units(store, whole)) == 0
    status = run_backfill(target, whole, sleep=_no_sleep)
    assert (status.total, status.state) == (0, "completed")
    assert len(metric_rows(target)["ohlcv_technical_metrics"]) == len(TICKERS) * 41


def test_a_failing_family_fails_its_own_units_and_a_fixed_rerun_fills_exactly_those(
    target: str,
) -> None:
    job = plan(target, ["technical", "explosive"], catalog=FLAKY)
    waits: list[float] = []

    status = run_backfill(target, job, catalog=FLAKY, max_attempts=3, sleep=waits.append)

    assert status.state == "completed_with_failures"
    by_family = {f.family: f for f in status.families}
    assert (by_family["technical"].done, by_family["technical"].failed) == (9, 0)
    # TKB sits in the (TKA, TKB) group of each of the 3 windows
    assert (by_family["explosive"].done, by_family["explosive"].failed) == (6, 3)
    assert waits == [0.5, 1.0]
    for failure in by_family["explosive"].failures:
        assert "TKA,TKB" in failure
        assert "TKB: ZeroDivisionError: planted failure on TKB" in failure
    with open_store(target, read_only=True) as store:
        units = store.read(BACKFILL_UNITS, where={"family": "explosive", "state": "failed"})
        explosive = store.read(
            load_catalog_reference(FLAKY)[1].schema, order_by=["ticker", "as_of"]
        )
        covered = store.read(METRIC_COVERAGE, where={"family": "explosive"})
    assert list(units["attempts"]) == [3, 3, 3]
    assert "TKB" not in set(explosive["ticker"])  # no row at all, not a failed row
    assert len(explosive) == 4 * 41  # TKA was written beside the failing TKB
    assert sorted(set(covered["ticker"])) == ["TKA", "TKC", "TKD", "TKE"]

    ran: list[UnitResult] = []
    healed = run_backfill(target, job, catalog=FIXED, on_unit_done=ran.append, sleep=_no_sleep)

    assert [(r.unit.family, r.unit.tickers, r.rows) for r in ran] == [
        ("explosive", ("TKA", "TKB"), 20),
        ("explosive", ("TKA", "TKB"), 20),
        ("explosive", ("TKA", "TKB"), 1),
    ]  # only TKB computed: TKA is covered
    assert (healed.done, healed.failed, healed.state) == (18, 0, "completed")
    with open_store(target, read_only=True) as store:
        healed_rows = store.read(
            load_catalog_reference(FIXED)[1].schema, order_by=["ticker", "as_of"]
        )
        reference = store.read(load_catalog()[0].schema, order_by=["ticker", "as_of"])
    columns = [c for c in healed_rows.columns if c != "parameters_json"]
    pd.testing.assert_frame_equal(
        healed_rows.loc[:, columns], reference.loc[:, columns], check_names=False
    )


def test_cancel_stops_new_units_and_resume_finishes_the_job(target: str) -> None:
    job = plan(target)

    def cancel_after_two(result: UnitResult) -> None:
        if result.unit.number == 1:
            with open_store(target) as store:
                assert cancel_backfill(store, job) == "cancelled"

    stopped = run_backfill(target, job, on_unit_done=cancel_after_two, sleep=_no_sleep)
    assert stopped.state == "cancelled"
    assert stopped.done == 2

    finished = run_backfill(target, job, sleep=_no_sleep)
    assert (finished.done, finished.state) == (18, "completed")
    with open_store(target) as store:
        assert cancel_backfill(store, job) == "completed"  # a finished job keeps its state


@pytest.fixture(scope="module")
def dask_client() -> Iterator[object]:
    distributed = pytest.importorskip("distributed")
    import logging

    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):  # fmt: skip
        yield client


@pytest.mark.integration
@pytest.mark.parametrize("executor_name", ["pool", "dask"])
def test_pool_and_dask_executors_write_what_the_serial_one_does(
    make_target: MakeTarget, executor_name: str, request: pytest.FixtureRequest
) -> None:
    serial = make_target()
    serial_job = plan(serial, ["technical", "explosive"], catalog=FIXED)
    run_backfill(serial, serial_job, catalog=FIXED, executor=SerialExecutor(), sleep=_no_sleep)

    parallel = make_target()
    executor: Executor
    if executor_name == "pool":
        executor = PoolExecutor(2)
    else:
        executor = DaskExecutor(request.getfixturevalue("dask_client"))
    job = plan(parallel, ["technical", "explosive"], catalog=FIXED, unit_tickers=1)
    try:
        status = run_backfill(parallel, job, catalog=FIXED, executor=executor, sleep=_no_sleep)
    finally:
        executor.close()

    assert (status.done, status.total, status.state) == (30, 30, "completed")
    assert status.workers == 2
    assert_same_rows(snapshot(parallel), snapshot(serial))


def test_a_job_a_live_process_is_running_is_not_run_twice(target: str) -> None:
    job = plan(target)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "optionscope"])
    try:
        with open_store(target) as store:
            set_job_state(
                store, job, JobState.RUNNING, worker=f"{socket.gethostname()}:{other.pid}"
            )
        with pytest.raises(JobBusyError, match=f"being run by process {other.pid}"):
            run_backfill(target, job, sleep=_no_sleep)
    finally:
        other.kill()
        other.wait()
    status = run_backfill(target, job, sleep=_no_sleep)  # the process is gone: it runs
    assert status.state == "completed"


def test_chain_families_load_in_bounded_chunks_and_match_a_range_run(
    tmp_path: Path,
    market: Market,
    write: Callable[[Store, Market], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    catalog = load_catalog()
    families = [f for f in catalog if f.name in ("volatility", "dealer")]
    tickers = sorted(set(market["tickers"]["ticker"]))
    sessions = sorted(set(market["chain_snapshots"]["session_date"]))
    first, last = sessions[-25], sessions[-1]
    backfilled, reference = str(tmp_path / "backfill.duckdb"), str(tmp_path / "range.duckdb")
    for url in (backfilled, reference):
        with open_store(url) as store:
            store.migrate()
            write(store, market)
    monkeypatch.setattr(unit_module, "CHAIN_ROWS_PER_LOAD", 20_000)  # ~12 sessions of 2 chains
    with open_store(backfilled) as store:
        job = plan_backfill(store, catalog, ["volatility", "dealer"], tickers, first, last)
        units = units_of(read_units(store, job))
        per_load = load_chunk_sessions(store, families[0], tickers, units[0])
    assert 5 <= per_load <= 15

    status = run_backfill(backfilled, job, sleep=_no_sleep)

    assert (status.state, status.done) == ("completed", 2)
    with open_store(reference) as store:
        run_metrics(
            store, catalog,
            RunRequest(RunMode.RANGE, tickers=tuple(tickers), start=first, end=last,
                       families=("volatility", "dealer")),
        )  # fmt: skip
    specs = [f.schema for f in families] + [c.schema for f in families for c in f.companions]
    with (
        open_store(backfilled, read_only=True) as left,
        open_store(reference, read_only=True) as right,
    ):
        for spec in specs:
            ours = left.read(spec, order_by=list(spec.primary_key))
            theirs = right.read(spec, order_by=list(spec.primary_key))
            assert len(ours) == 2 * 25 or spec.name == "daily_snapshots"
            pd.testing.assert_frame_equal(ours, theirs, obj=spec.name)
