"""Kill the backfill worker with SIGKILL at random points, resume, and compare the rows with
those of an uninterrupted run: no missing row, no duplicate, identical values.

The worker is the real command, `python -m optionscope backfill worker JOB`, in its own process
group; each kill takes the whole group (the coordinator and, for the pool, its processes).
The kill instants are drawn from a seeded generator, so a failure replays.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optionscope.engine.backfill import backfill_status, plan_backfill, run_backfill
from optionscope.engine.ledger import BACKFILL_UNITS
from optionscope.metrics.catalog import load_catalog
from optionscope.metrics.families import technical, volatility
from optionscope.storage import open_store

Market = dict[str, pd.DataFrame]
LETTERS = "ABCDEFGHIJKL"
START, END = date(2023, 1, 3), date(2024, 3, 14)
BARS_START = date(2022, 1, 3)
KILLS = 10
FAMILIES = ["technical", "volatility"]

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(
    params=[
        # backend, executor, tickers, sessions per unit: each job runs ~20 s uninterrupted
        pytest.param(("duckdb", "serial", 6, 30), id="duckdb-serial"),
        pytest.param(
            ("postgresql", "pool", 12, 10), id="postgresql-pool", marks=pytest.mark.postgres
        ),
    ]
)
def setup(request: pytest.FixtureRequest, make_bar_target: Callable[..., str]) -> Job:
    """A maker of stores holding the bars, the executor and the size of the job."""
    backend, executor, count, unit_sessions = request.param
    tickers = tuple(f"KL{letter}" for letter in LETTERS[:count])
    return Job(
        lambda: make_bar_target(backend, tickers, 550, BARS_START), executor, tickers, unit_sessions
    )


@dataclass(frozen=True)
class Job:
    make: Callable[[], str]
    executor: str
    tickers: tuple[str, ...]
    unit_sessions: int


def _rows(url: str) -> dict[str, pd.DataFrame]:
    with open_store(url, read_only=True) as store:
        return {
            family.schema.name: store.read(family.schema, order_by=["ticker", "as_of"])
            for family in (technical.FAMILY, volatility.FAMILY)
        }


def _worker(url: str, job_id: str, executor: str, log: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "optionscope", "backfill", "worker", job_id, "--db", url,
        "--executor", executor, "--workers", "2",
    ]  # fmt: skip
    with log.open("ab") as sink:
        return subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=sink, stderr=sink, start_new_session=True
        )


def test_sigkill_at_random_points_then_resume_gives_the_uninterrupted_rows(
    setup: Job, tmp_path: Path
) -> None:
    make, executor, tickers = setup.make, setup.executor, setup.tickers
    reference = make()
    with open_store(reference) as store:
        whole = plan_backfill(
            store, load_catalog(), FAMILIES, list(tickers), START, END, unit_sessions=5000
        )
    run_backfill(reference, whole)
    expected = _rows(reference)
    sessions = 299  # 2023-01-03 .. the last bar
    assert len(expected["ohlcv_technical_metrics"]) == len(tickers) * sessions

    killed = make()
    with open_store(killed) as store:
        job = plan_backfill(
            store, load_catalog(), FAMILIES, list(tickers), START, END,
            unit_tickers=1, unit_sessions=setup.unit_sessions,
        )  # fmt: skip
        total = backfill_status(store, job).total
    assert total == 2 * len(tickers) * -(-sessions // setup.unit_sessions)

    rng = np.random.default_rng(20261125)
    log = tmp_path / "worker.log"
    kills = 0
    done_after_kill = []
    while kills < KILLS:
        process = _worker(killed, job, executor, log)
        time.sleep(float(rng.uniform(1.0, 3.5)))  # start-up (imports) is about 1.5 s
        if process.poll() is not None:
            break  # the job finished before this kill
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        kills += 1
        with open_store(killed, read_only=True, lock_wait_seconds=30) as store:
            done_after_kill.append(backfill_status(store, job).done)
    assert kills == KILLS, f"the job finished after {kills} kills; make it longer"
    assert done_after_kill[-1] < total, "every kill must land before the job is done"
    assert done_after_kill == sorted(done_after_kill)  # progress is never lost

    finished = _worker(killed, job, executor, log)
    assert finished.wait(timeout=300) == 0, log.read_text()[-3000:]

    with open_store(killed, read_only=True) as store:
        status = backfill_status(store, job)
        units = store.read(BACKFILL_UNITS, where={"job_id": job})
    assert (status.state, status.done, status.failed) == ("completed", total, 0)
    assert set(units["state"]) == {"done"}
    got = _rows(killed)
    for name, frame in expected.items():
        assert not got[name].duplicated(["ticker", "as_of", "model_version"]).any()
        pd.testing.assert_frame_equal(got[name], frame, obj=name)
