"""The backfill ledger and the resumable foreground backfill, on both backends."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from optionscope.app import sample_files
from optionscope.engine.backfill import (
    UnitResult,
    backfill_status,
    plan_backfill,
    run_backfill,
)
from optionscope.engine.ledger import BACKFILL_UNITS, read_units
from optionscope.ingest.service import ingest_paths
from optionscope.metrics.families import technical
from optionscope.metrics.family import FamilyInputs, MetricFamily, family_table
from optionscope.storage import Store

START, END = date(2025, 1, 2), date(2025, 3, 31)  # 60 XNYS sessions
CHUNK = 20
CATALOG: tuple[MetricFamily, ...] = (technical.FAMILY,)


def _no_sleep(seconds: float) -> None:
    return None


def spy_bars() -> Path:
    return next(path for path in sample_files() if path.name.startswith("yf_adjusted_SPY"))


@pytest.fixture
def spy_store(store: Store) -> Store:
    ingest_paths(store, [spy_bars()])
    return store


def stored(store: Store, family: MetricFamily) -> pd.DataFrame:
    rows = store.read(family.schema, order_by=["ticker", "as_of"])
    return rows.drop(columns=[c for c in ("ts_ingested",) if c in rows.columns])


def test_planning_splits_the_range_into_chunks_and_is_deterministic(spy_store: Store) -> None:
    job = plan_backfill(
        spy_store, CATALOG, ["technical"], ["spy"], START, END, chunk_sessions=CHUNK
    )
    again = plan_backfill(
        spy_store, CATALOG, ["technical"], ["SPY"], START, END, chunk_sessions=CHUNK
    )

    assert job == again
    units = read_units(spy_store, job)
    assert list(units["state"]) == ["pending"] * 3
    assert [
        (str(a), str(b)) for a, b in zip(units["chunk_start"], units["chunk_end"], strict=True)
    ] == [
        ("2025-01-02", "2025-01-31"),
        ("2025-02-03", "2025-03-03"),
        ("2025-03-04", "2025-03-31"),
    ]
    other = plan_backfill(spy_store, CATALOG, ["technical"], ["SPY"], START, END, chunk_sessions=30)
    assert other != job
    assert len(read_units(spy_store, other)) == 2


def test_a_finished_job_reruns_nothing(spy_store: Store) -> None:
    job = plan_backfill(
        spy_store, CATALOG, ["technical"], ["SPY"], START, END, chunk_sessions=CHUNK
    )
    status = run_backfill(spy_store, CATALOG, job, sleep=_no_sleep)
    assert (status.done, status.total, status.failed, status.state) == (3, 3, 0, "completed")
    assert status.families[0].rows == 60
    before = stored(spy_store, technical.FAMILY)
    assert len(before) == 60

    assert (
        plan_backfill(spy_store, CATALOG, ["technical"], ["SPY"], START, END, chunk_sessions=CHUNK)
        == job
    )
    ran: list[UnitResult] = []
    again = run_backfill(spy_store, CATALOG, job, on_unit_done=ran.append, sleep=_no_sleep)

    assert ran == []
    assert (again.done, again.state) == (3, "completed")
    pd.testing.assert_frame_equal(stored(spy_store, technical.FAMILY), before)


class Interrupt(KeyboardInterrupt):
    pass


def test_an_interrupted_job_resumes_to_the_rows_of_an_uninterrupted_run(
    make_store: object, spy_store: Store
) -> None:
    job = plan_backfill(
        spy_store, CATALOG, ["technical"], ["SPY"], START, END, chunk_sessions=CHUNK
    )

    def stop_after_one(result: UnitResult) -> None:
        raise Interrupt

    with pytest.raises(Interrupt):
        run_backfill(spy_store, CATALOG, job, on_unit_done=stop_after_one, sleep=_no_sleep)
    halfway = backfill_status(spy_store, job)
    assert (halfway.done, halfway.total, halfway.state) == (1, 3, "running")

    ran: list[UnitResult] = []
    status = run_backfill(spy_store, CATALOG, job, on_unit_done=ran.append, sleep=_no_sleep)
    assert [str(r.unit.chunk_start) for r in ran] == ["2025-02-03", "2025-03-04"]
    assert (status.done, status.state) == (3, "completed")

    reference = make_store()  # type: ignore[operator]
    ingest_paths(reference, [spy_bars()])
    other = plan_backfill(reference, CATALOG, ["technical"], ["SPY"], START, END, chunk_sessions=60)
    run_backfill(reference, CATALOG, other, sleep=_no_sleep)
    pd.testing.assert_frame_equal(
        stored(spy_store, technical.FAMILY), stored(reference, technical.FAMILY)
    )


def test_a_failing_family_fails_its_own_units_only(spy_store: Store) -> None:
    def explode(inputs: FamilyInputs) -> pd.DataFrame:
        raise ZeroDivisionError("planted failure")

    broken = dataclasses.replace(
        technical.FAMILY,
        name="explosive",
        compute=explode,
        schema=family_table("explosive_metrics", technical.METRICS, technical.INPUTS, doc=""),
    )
    catalog = (technical.FAMILY, broken)
    job = plan_backfill(
        spy_store, catalog, ["technical", "explosive"], ["SPY"], START, END, chunk_sessions=CHUNK
    )
    waits: list[float] = []

    status = run_backfill(spy_store, catalog, job, max_attempts=2, sleep=waits.append)

    assert status.state == "completed_with_failures"
    by_family = {f.family: f for f in status.families}
    assert (by_family["technical"].done, by_family["technical"].failed) == (3, 0)
    assert (by_family["explosive"].done, by_family["explosive"].failed) == (0, 3)
    assert all("ZeroDivisionError: planted failure" in e for e in by_family["explosive"].errors)
    assert waits == [0.5] * 3
    units = spy_store.read(BACKFILL_UNITS, where={"family": "explosive"})
    assert list(units["attempts"]) == [2, 2, 2]
    assert set(units["state"]) == {"failed"}
    assert len(stored(spy_store, technical.FAMILY)) == 60

    fixed = (technical.FAMILY, dataclasses.replace(broken, compute=technical.compute))
    ran: list[UnitResult] = []
    healed = run_backfill(spy_store, fixed, job, on_unit_done=ran.append, sleep=_no_sleep)

    assert {r.unit.family for r in ran} == {"explosive"}
    assert len(ran) == 3
    assert (healed.done, healed.failed, healed.state) == (6, 0, "completed")
