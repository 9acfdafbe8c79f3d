"""The event paths of the composition root: adding to the watchlist, and data arriving."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from optionscope.app import (
    add_to_watchlist,
    ingest_and_update_metrics,
    open_migrated_store,
    sample_files,
    set_watchlist,
)
from optionscope.engine import watchlist
from optionscope.ingest.service import ingest_paths
from optionscope.metrics.families import technical, volatility
from optionscope.reports.market_report import build_market_report

pytestmark = pytest.mark.integration


def sample(prefix: str) -> Path:
    return next(path for path in sample_files() if path.name.startswith(prefix))


def test_adding_a_ticker_computes_its_full_lookback_at_once(tmp_path: Path) -> None:
    with open_migrated_store(str(tmp_path / "s.duckdb")) as store:
        ingest_paths(store, [sample("yf_adjusted_SPY"), sample("SPY_quotedata_2025-09-25")])

        summary = add_to_watchlist(store, ["spy"])

        assert watchlist(store) == ("SPY",)
        assert summary.plan.as_of_first == date(2025, 1, 7)
        assert summary.plan.as_of_last == date(2026, 1, 8)
        rows = store.read(volatility.SCHEMA, where={"ticker": "SPY"})
        assert len(rows) == 252
        assert len(store.read(technical.SCHEMA)) == 252
        chain_day = rows[rows["as_of"] == date(2025, 9, 25)].iloc[0]
        assert 0.12 < chain_day["iv_30d"] < 0.15
        assert chain_day["iv_hv_ratio_30d_20d"] == pytest.approx(
            chain_day["iv_30d"] / chain_day["hv_close_20d"], rel=1e-15
        )


def test_data_arriving_through_ingest_recomputes_watchlist_tickers_only(tmp_path: Path) -> None:
    with open_migrated_store(str(tmp_path / "s.duckdb")) as store:
        ingest_paths(store, [sample("yf_adjusted_SPY")])
        set_watchlist(store, ["SPY"], on_watchlist=True)

        files, run = ingest_and_update_metrics(store, [sample("SPY_quotedata_2025-06-09")])

        assert files[0].ok
        assert files[0].tickers == ("SPY",)
        assert run is not None
        assert [o.ticker for o in run.outcomes] == ["SPY"]
        row = store.read(volatility.SCHEMA, where={"as_of": date(2025, 6, 9)}).iloc[0]
        assert row["chain_snapshot_time"] is not None
        assert row["iv_7d"] > 0
        set_watchlist(store, ["SPY"], on_watchlist=False)
        _, nothing = ingest_and_update_metrics(store, [sample("SPY_quotedata_2025-05-06")])
        assert nothing is None


def test_the_market_report_shows_technicals_hv_and_the_iv_term_structure(tmp_path: Path) -> None:
    with open_migrated_store(str(tmp_path / "s.duckdb")) as store:
        ingest_paths(store, [sample("yf_adjusted_SPY"), sample("SPY_quotedata_2025-09-25")])
        add_to_watchlist(store, ["SPY"])

        page = build_market_report(store)

    titles = [section.title for section in page.sections]
    assert "SPY: technical indicators (technical@v1)" in titles
    assert "SPY: historical volatility (volatility@v1)" in titles
    term = next(s for s in page.sections if s.title.startswith("SPY: implied volatility term"))
    row = term.tables[0].rows[0]
    assert row[0] == "2025-09-25"
    assert row[3].endswith("%")  # IV 30d has a value
    assert row[4] == "-"  # IV 60d: the chain ends at 29 days
    dealer = next(s for s in page.sections if s.title.startswith("SPY: dealer positioning"))
    headline = dealer.tables[0].rows[-1]
    assert headline[0] == "2025-09-25"
    assert headline[5] == "670, 665, 660"  # call walls, primary first
    assert headline[6] == "655, 650, 640"
    assert headline[9] == "short_gamma"
    figure = dealer.charts[0]
    marks = [shape.x0 for shape in figure.layout.shapes]
    assert 670.0 in marks  # the primary call wall is marked
    assert 655.0 in marks  # and the primary put wall
    assert any(abs(x - 667.864) < 0.01 for x in marks)  # and the gamma flip
