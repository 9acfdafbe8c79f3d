"""`optionscope watchlist` and `optionscope metrics`, in-process, on the bundled SPY sample."""

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
    files = [
        str(p)
        for p in sample_files()
        if p.name.startswith(("yf_adjusted_SPY", "SPY_quotedata_2025-09-25"))
    ]
    result = runner.invoke(app, ["ingest", *files, "--db", target])
    assert result.exit_code == 0, result.output
    return target


def test_watchlist_add_runs_the_event_with_header_and_summary(db: str) -> None:
    added = runner.invoke(app, ["watchlist", "add", "SPY", "--db", db])
    listed = runner.invoke(app, ["watchlist", "list", "--db", db])

    assert added.exit_code == 0, added.output
    for text in (
        "metric run",
        "event",
        "technical@v1, volatility@v1, dealer@v1",
        "2025-01-07 .. 2026-01-08",
        "metric run summary",
        "756",
        "row statuses",
    ):
        assert text in added.output, text
    assert "SPY" in listed.output


def test_metrics_run_batch_range_and_dry_run(db: str) -> None:
    runner.invoke(app, ["watchlist", "add", "SPY", "--db", db])

    batch = runner.invoke(app, ["metrics", "run", "--db", db, "--log-level", "INFO"])
    dry = runner.invoke(app, ["metrics", "run", "--as-of", "2025-09-25", "--dry-run", "--db", db])
    ranged = runner.invoke(
        app, ["metrics", "run", "--from", "2025-09-22", "--to", "2025-09-26", "--db", db]
    )
    listed = runner.invoke(app, ["metrics", "list"])

    assert batch.exit_code == 0, batch.output
    assert "2026-01-08" in batch.output
    assert dry.exit_code == 0, dry.output
    assert "not written" in dry.output
    assert "volatility: 1 row(s)" in dry.output
    assert ranged.exit_code == 0
    assert "2025-09-22 .. 2025-09-26" in ranged.output
    assert "ohlcv_technical_metrics" in listed.output
    assert "volatility_metrics" in listed.output


@pytest.mark.parametrize(
    "arguments",
    [
        ["--from", "2025-09-22"],
        ["--as-of", "yesterday"],
        ["--family", "skew"],
        ["--as-of", "2025-09-25", "--from", "2025-09-22", "--to", "2025-09-26"],
    ],
)
def test_metrics_run_refuses_bad_options(db: str, arguments: list[str]) -> None:
    result = runner.invoke(app, ["metrics", "run", *arguments, "--db", db])

    assert result.exit_code == 2, result.output


def test_ingesting_data_of_a_watchlist_ticker_recomputes_its_metrics(db: str) -> None:
    runner.invoke(app, ["watchlist", "add", "SPY", "--db", db])
    chain = next(p for p in sample_files() if p.name.startswith("SPY_quotedata_2025-06-09"))

    result = runner.invoke(app, ["ingest", str(chain), "--db", db])

    assert result.exit_code == 0, result.output
    assert "metrics (technical@v1, volatility@v1, dealer@v1): 756 rows for SPY" in result.output


def test_metrics_dealer_writes_defaults_and_keeps_overrides_to_dry_runs(db: str) -> None:
    base = ["metrics", "dealer", "--ticker", "SPY", "--snapshot-time", "2025-09-25", "--db", db]

    written = runner.invoke(app, base)
    refused = runner.invoke(app, [*base, "--min-volume", "0"])
    dry = runner.invoke(app, [*base, "--min-volume", "0", "--spot-override", "660", "--dry-run"])

    assert written.exit_code == 0, written.output
    assert "dealer@v1" in written.output
    assert "row statuses: ok 1" in written.output
    assert refused.exit_code == 2
    assert "dry run only" in refused.output
    assert dry.exit_code == 0, dry.output
    assert "overrides min_volume, spot_override" in dry.output
    assert "660.0000" in dry.output


def test_metrics_dealer_snapshot_instant_selects_it_or_names_what_is_missing(db: str) -> None:
    base = ["metrics", "dealer", "--ticker", "SPY", "--dry-run", "--db", db]

    exact = runner.invoke(app, [*base, "--snapshot-time", "2025-09-26T01:05Z"])
    missing = runner.invoke(app, [*base, "--snapshot-time", "2025-09-25T20:00Z"])
    naive = runner.invoke(app, [*base, "--snapshot-time", "2025-09-25T20:00"])

    assert exact.exit_code == 0, exact.output
    assert "row statuses: ok 1" in exact.output
    assert missing.exit_code == 2
    assert "no chain snapshot of SPY at 2025-09-25T20:00:00+00:00" in missing.output
    assert naive.exit_code == 2
    assert "needs a timezone" in naive.output


def test_metrics_dealer_seed_compat_mode_is_a_dry_run(db: str) -> None:
    base = ["metrics", "dealer", "--ticker", "SPY", "--snapshot-time", "2025-09-25", "--db", db]

    dry = runner.invoke(app, [*base, "--mode", "seed_compat", "--dry-run"])
    refused = runner.invoke(app, [*base, "--mode", "seed_compat"])
    unknown = runner.invoke(app, [*base, "--mode", "seed", "--dry-run"])

    assert dry.exit_code == 0, dry.output
    assert "overrides mode" in dry.output
    assert "dealer: 1 row(s) computed (not written)" in dry.output
    assert refused.exit_code == 2
    assert "dry run only" in refused.output
    assert unknown.exit_code == 2
    assert "--mode must be one of default, seed_compat" in unknown.output
