"""The ingest service: one transaction per file, idempotent, nothing written on refusal."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from optionscope.app import sample_files
from optionscope.domain import tables
from optionscope.ingest.service import file_sha256, ingest_file, ingest_paths
from optionscope.storage import Store

FIRST_CLOCK = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
SECOND_CLOCK = datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC)


def _sample(name: str) -> Path:
    return next(path for path in sample_files() if path.name.startswith(name))


def _snapshot_of_store(store: Store) -> dict[str, pd.DataFrame]:
    return {
        spec.name: store.read(spec, order_by=list(spec.primary_key)) for spec in tables.CORE_TABLES
    }


def test_cboe_chain_is_written_with_its_accounting(store: Store) -> None:
    path = _sample("SPY_quotedata_2025-05-06")
    summary = ingest_file(store, path, clock=lambda: FIRST_CLOCK)

    assert summary.ok, summary.error
    assert summary.file_format == "cboe_quotedata"
    assert summary.rows_read == 2297  # strike lines, MANIFEST
    assert summary.rows_written + summary.rows_quarantined * 2 == 2 * summary.rows_read
    counts = store.table_row_counts()
    assert counts["option_chain_snapshots"] == summary.rows_written
    assert counts["chain_snapshots"] == 1
    assert counts["ingested_files"] == 1
    assert counts["ingest_quarantine"] == summary.rows_quarantined
    tickers = store.read(tables.TICKERS)
    assert tickers["ticker"].tolist() == ["SPY"]
    assert tickers["asset_class"].tolist() == ["etf"]
    ledger = store.read(tables.INGESTED_FILES)
    assert ledger.loc[0, "file_sha256"] == file_sha256(path)
    assert ledger.loc[0, "rows_read"] == 2297


def test_importing_the_same_files_twice_changes_nothing(store: Store) -> None:
    paths = [_sample("SPY_quotedata_2025-04-30"), _sample("yf_adjusted_SPY_daily")]
    ingest_paths(store, paths, clock=lambda: FIRST_CLOCK)
    before = _snapshot_of_store(store)

    again = ingest_paths(store, paths, clock=lambda: SECOND_CLOCK)

    assert all(summary.ok for summary in again)
    after = _snapshot_of_store(store)
    for name, frame in before.items():
        pd.testing.assert_frame_equal(after[name], frame, obj=name)
    assert (after["ohlcv_daily"]["ts_ingested"] == pd.Timestamp(FIRST_CLOCK)).all()


def test_a_refused_file_writes_nothing_and_names_the_problem(store: Store, tmp_path: Path) -> None:
    bad = tmp_path / "quotedata.csv"
    bad.write_text("this is not,a market data file\n1,2\n", encoding="utf-8")

    summary = ingest_file(store, bad, clock=lambda: FIRST_CLOCK)

    assert not summary.ok
    assert summary.error is not None
    assert "quotedata.csv" in summary.error
    assert all(count == 0 for count in store.table_row_counts().values())


def test_a_failure_inside_the_write_rolls_the_whole_file_back(store: Store) -> None:
    naive_clock = datetime(2026, 1, 2, 3, 4, 5)  # noqa: DTZ001  (refused by the store)

    with pytest.raises(ValueError, match="ts_ingested"):
        ingest_file(store, _sample("SPY_quotedata_2025-06-09"), clock=lambda: naive_clock)

    assert all(count == 0 for count in store.table_row_counts().values())


def test_watchlist_flag_survives_reimport(store: Store) -> None:
    from optionscope.app import set_watchlist

    path = _sample("SPY_quotedata_2025-09-25")
    ingest_file(store, path, clock=lambda: FIRST_CLOCK)
    set_watchlist(store, ["SPY"], on_watchlist=True)

    ingest_file(store, path, clock=lambda: SECOND_CLOCK)

    assert store.read(tables.TICKERS, where={"ticker": "SPY"})["is_watchlist"].tolist() == [True]
