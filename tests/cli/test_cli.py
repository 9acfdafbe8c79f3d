"""The command line, run in-process through Typer's runner on real files and real stores."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from optionscope.app import sample_files
from optionscope.cli.main import app
from optionscope.storage import open_store

runner = CliRunner()


def test_db_init_then_info_prints_version_and_row_counts(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"

    init = runner.invoke(app, ["db", "init", "--db", str(db)])
    info = runner.invoke(app, ["db", "info", "--db", str(db)])

    with open_store(str(db)) as store:
        latest = store.schema_version()
    assert latest >= 1
    assert init.exit_code == 0, init.output
    assert f"schema version {latest}" in init.output
    assert info.exit_code == 0, info.output
    assert f"schema version: {latest}" in info.output
    assert "option_chain_snapshots" in info.output


def test_ingest_reads_the_store_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "env.duckdb"
    monkeypatch.setenv("OPTIONSCOPE_DB", str(db))
    chain = next(p for p in sample_files() if p.name.startswith("SPY_quotedata_2025-06-09"))

    result = runner.invoke(app, ["ingest", str(chain)])

    assert result.exit_code == 0, result.output
    assert "cboe_quotedata" in result.output
    with open_store(str(db)) as store:
        assert store.table_row_counts()["chain_snapshots"] == 1


def test_ingest_exits_nonzero_and_names_a_refused_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.csv"
    bad.write_text("garbage\n", encoding="utf-8")

    result = runner.invoke(app, ["ingest", str(bad), "--db", str(tmp_path / "s.duckdb")])

    assert result.exit_code == 1
    assert "broken.csv" in result.output


def test_simulate_is_deterministic(tmp_path: Path) -> None:
    frames = []
    for name in ("a", "b"):
        db = tmp_path / f"{name}.duckdb"
        result = runner.invoke(
            app, ["simulate", "--tickers", "2", "--days", "3", "--seed", "7", "--db", str(db)]
        )
        assert result.exit_code == 0, result.output
        with open_store(str(db)) as store:
            from optionscope.domain import tables

            frame = store.read(
                tables.OPTION_CHAIN_SNAPSHOTS,
                order_by=list(tables.OPTION_CHAIN_SNAPSHOTS.primary_key),
            )
            frames.append(frame.drop(columns="ts_ingested"))
    assert len(frames[0]) > 0
    assert frames[0].equals(frames[1])


def test_simulate_no_chains_writes_bars_only(tmp_path: Path) -> None:
    db = tmp_path / "bars.duckdb"
    result = runner.invoke(
        app, ["simulate", "--tickers", "2", "--days", "5", "--no-chains", "--db", str(db)]
    )

    assert result.exit_code == 0, result.output
    assert "10 daily bars, 0 contracts, 0 chain rows" in result.output
    with open_store(str(db)) as store:
        from optionscope.domain import tables

        assert len(store.read(tables.OHLCV_DAILY)) == 10
        assert len(store.read(tables.OPTION_CHAIN_SNAPSHOTS)) == 0


@pytest.mark.integration
def test_demo_writes_a_self_contained_report(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--home", str(tmp_path)])

    assert result.exit_code == 0, result.output
    report = tmp_path / "demo" / "report.html"
    html = report.read_text(encoding="utf-8")
    assert "Plotly" in html
    assert "<script src=" not in html  # plotly.js is inlined: the report renders offline
    assert "SPY: open interest by strike" in html
    assert "SPY: dealer positioning, gamma by strike (dealer@v1)" in html
    assert "disagrees" in result.output  # the stale header spot of 2025-04-30 is flagged
