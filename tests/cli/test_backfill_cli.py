"""`optionscope backfill start | worker | status | resume | cancel` on the bundled SPY bars:
in-process for the foreground commands, a real detached worker process for `start`."""

from __future__ import annotations

import logging
import time
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from optionscope.app import sample_files
from optionscope.cli.main import app
from optionscope.engine.backfill import plan_backfill
from optionscope.metrics.catalog import load_catalog
from optionscope.storage import open_store

runner = CliRunner()
pytestmark = pytest.mark.integration
REQUEST = ["--family", "technical", "--ticker", "SPY", "--from", "2025-01-02", "--to"]
REQUEST += ["2025-03-31", "--unit-sessions", "20"]


@pytest.fixture
def db(tmp_path: Path) -> str:
    target = str(tmp_path / "cli.duckdb")
    bars = next(str(p) for p in sample_files() if p.name.startswith("yf_adjusted_SPY"))
    result = runner.invoke(app, ["ingest", bars, "--db", target])
    assert result.exit_code == 0, result.output
    return target


def test_start_in_the_foreground_then_status_resume_and_the_job_list(db: str) -> None:
    args = [*REQUEST, "--db", db, "--executor", "serial"]

    started = runner.invoke(app, ["backfill", "start", "--foreground", *args])

    assert started.exit_code == 0, started.output
    job_id = started.output.split()[2].rstrip(":")
    assert "3 unit(s) to run" in started.output
    assert f"job {job_id}: completed" in started.output
    shown = runner.invoke(app, ["backfill", "status", job_id, "--db", db])
    assert shown.exit_code == 0, shown.output
    assert "technical" in shown.output
    assert "60" in shown.output  # rows
    listed = runner.invoke(app, ["backfill", "status", "--db", db])
    assert job_id in listed.output
    resumed = runner.invoke(app, ["backfill", "resume", job_id, "--db", db, "--executor", "serial"])
    assert resumed.exit_code == 0, resumed.output
    again = runner.invoke(app, ["backfill", "start", "--foreground", *args])
    assert again.output.split()[2].rstrip(":") == job_id
    assert "0 unit(s) to run" in again.output


def test_start_returns_at_once_and_a_detached_worker_completes_the_job(db: str) -> None:
    began = time.monotonic()
    started = runner.invoke(app, ["backfill", "start", *REQUEST, "--db", db])
    returned = time.monotonic() - began

    assert started.exit_code == 0, started.output
    job_id = started.output.split()[2].rstrip(":")
    assert "worker pid" in started.output
    assert returned < 10
    log = Path(db).parent / f"backfill-{job_id}.log"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        shown = runner.invoke(app, ["backfill", "status", job_id, "--db", db])
        if f"job {job_id}: completed" in shown.output:
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"the worker did not finish: {shown.output}\n{log.read_text()}")
    assert "3" in shown.output
    assert log.exists()


def test_cancel_stops_a_job_the_worker_then_skips_and_resume_finishes(db: str) -> None:
    with open_store(db) as store:
        job_id = plan_backfill(
            store, load_catalog(), ["technical"], ["SPY"], date(2025, 1, 2), date(2025, 3, 31),
            unit_sessions=20,
        )  # fmt: skip

    cancelled = runner.invoke(app, ["backfill", "cancel", job_id, "--db", db])

    assert cancelled.exit_code == 0, cancelled.output
    assert f"job {job_id}: cancelled" in cancelled.output
    idle = runner.invoke(app, ["backfill", "worker", "--db", db, "--executor", "serial"])
    assert idle.exit_code == 0, idle.output
    assert "completed" not in idle.output  # no runnable job: a cancelled one waits for resume
    resumed = runner.invoke(app, ["backfill", "resume", job_id, "--db", db, "--executor", "serial"])
    assert resumed.exit_code == 0, resumed.output
    assert f"job {job_id}: completed" in resumed.output
    done = runner.invoke(app, ["backfill", "cancel", job_id, "--db", db])
    assert f"job {job_id}: completed" in done.output  # a finished job keeps its state


def test_status_of_an_unknown_job_is_a_usage_error(db: str) -> None:
    result = runner.invoke(app, ["backfill", "status", "nope", "--db", db])

    assert result.exit_code == 2


def test_resume_on_a_dask_scheduler_given_by_address(db: str) -> None:
    distributed = pytest.importorskip("distributed")
    with open_store(db) as store:
        job_id = plan_backfill(
            store, load_catalog(), ["technical"], ["SPY"], date(2025, 1, 2), date(2025, 3, 31),
            unit_sessions=20,
        )  # fmt: skip
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
        silence_logs=logging.ERROR,
    ) as cluster:  # fmt: skip
        result = runner.invoke(
            app,
            ["backfill", "resume", job_id, "--db", db, "--executor", "dask",
             "--scheduler", cluster.scheduler_address],
        )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert f"job {job_id}: completed" in result.output
    assert "60" in result.output


def test_the_dask_executor_needs_a_scheduler(db: str) -> None:
    result = runner.invoke(app, ["backfill", "resume", "x", "--db", db, "--executor", "dask"])

    assert result.exit_code == 2
    assert "--scheduler" in result.output
