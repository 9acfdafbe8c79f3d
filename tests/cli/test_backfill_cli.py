"""`optionscope backfill start | status | resume`, in-process, on the bundled SPY bars."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from optionscope.app import sample_files
from optionscope.cli.main import app

runner = CliRunner()
pytestmark = pytest.mark.integration


@pytest.fixture
def db(tmp_path: Path) -> str:
    target = str(tmp_path / "cli.duckdb")
    bars = next(str(p) for p in sample_files() if p.name.startswith("yf_adjusted_SPY"))
    result = runner.invoke(app, ["ingest", bars, "--db", target])
    assert result.exit_code == 0, result.output
    return target


def test_backfill_start_prints_the_job_and_status_and_resume_find_it(db: str) -> None:
    args = ["--family", "technical", "--ticker", "SPY", "--from", "2025-01-02"]
    args += ["--to", "2025-03-31", "--chunk-sessions", "20", "--db", db]

    started = runner.invoke(app, ["backfill", "start", *args])

    assert started.exit_code == 0, started.output
    job_id = started.output.split()[2]
    assert f"job {job_id}: completed" in started.output
    shown = runner.invoke(app, ["backfill", "status", job_id, "--db", db])
    assert shown.exit_code == 0, shown.output
    assert "technical" in shown.output
    assert "60" in shown.output
    resumed = runner.invoke(app, ["backfill", "resume", job_id, "--db", db])
    assert resumed.exit_code == 0, resumed.output
    again = runner.invoke(app, ["backfill", "start", *args])
    assert again.output.split()[2] == job_id


def test_backfill_status_of_an_unknown_job_is_a_usage_error(db: str) -> None:
    result = runner.invoke(app, ["backfill", "status", "nope", "--db", db])

    assert result.exit_code == 2
