"""Every real file of a supported format in ../shared/data imports, with MANIFEST's row counts.

Files without a capture instant get the one the MANIFEST (or the file's content) documents;
see docs/importers.md for each choice.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from optionscope.domain import tables
from optionscope.ingest.service import ingest_file
from optionscope.sources.files import detect_format, read_file
from optionscope.storage import Store

pytestmark = pytest.mark.shared_data

FACT_TABLES = {
    "cboe_quotedata": ("option_chain_snapshots", 2),
    "optionsdx_eod": ("option_chain_snapshots", 2),
    "yfinance_chain": ("option_chain_snapshots", 1),
    "deribit_chain": ("option_chain_snapshots", 1),
    "ohlcv_daily": ("ohlcv_daily", 1),
    "ohlcv_1min": ("ohlcv_intraday", 1),
}
SUPPORTED_GLOBS = {
    "cboe_quotedata": ["cboe_*/*.csv"],
    "yfinance_chain": ["yfinance_chains/*.csv", "yfinance_chains/*/*.csv"],
    "optionsdx_eod": ["optionsdx_spy/*.csv"],
    "deribit_chain": [
        "deribit/*_option_chain_*.csv",
        "deribit/*_option_book_summary_*.csv",
        "deribit/*_option_tickers_*.csv",
    ],
    "ohlcv_daily": ["daily_ohlcv/*.csv", "lumibot/*daily*.csv", "deribit/*_daily*.csv"],
    "ohlcv_1min": ["intraday_1min/*.csv", "lumibot/*_1min_*.csv"],
}
NOT_IMPORTED = {
    "deribit/pinn_BTC_DVOL_daily_2021-03-24_2026-02-01.csv",
    "deribit/pinn_ETH_DVOL_daily.csv",
}  # a vol index: no volume, not a price
SNAPSHOT_TIMES = {
    # yfinance_chains/...ebtrader: labelled 2020-11-24 but trades up to 2020-12-04 20:59 UTC.
    "yfinance_chains/AAPL_yf_calls_2020-11-24_ebtrader.csv": "2020-12-04T21:00:00Z",
    # jacksonfraser: last trade 2026-07-31 19:59 UTC; assume that day's close.
    "yfinance_chains/AAPL_yf_chain_exp2026-08-28_jacksonfraser.csv": "2026-07-31T20:00:00Z",
    # 9dsh: MANIFEST says ~2025-05-27, but the listed expiries (14/15/16JUN25 dailies first,
    # 4JUL25 weekly) are Deribit's listing of 2025-06-13 after 08:00 UTC.
    "deribit/9dsh_BTC_option_chain_2025-05-27.csv": "2025-06-13T12:00:00Z",
    # tessicin: between the latest instrument creation (2026-02-28 10:33) and 13MAR26.
    "deribit/tessicin_BTC_option_chain_8expiries_2026-03.csv": "2026-03-01T00:00:00Z",
}
QUARANTINED = {
    "deribit/9dsh_BTC_option_chain_2025-05-27.csv": 30,  # exact duplicate rows
    "lumibot/XYZ_1min_2020-01-02_2020-04-22_ES-like.csv": 420,
}  # NYSE holidays


def _manifest_rows(shared: Path) -> dict[str, int]:
    text = (shared / "MANIFEST.md").read_text(encoding="utf-8")
    pattern = re.compile(
        r"^### `([^`]+)`\n(?:.*\n)*?- \*\*Size/shape\*\*: [^;]*; rows: (\d+)", re.MULTILINE
    )
    return {name: int(rows) for name, rows in pattern.findall(text)}


def _real_files() -> list[tuple[str, str]]:
    shared = (Path(__file__).resolve().parents[3] / ".." / "shared" / "data").resolve()
    found: list[tuple[str, str]] = []
    for file_format, patterns in SUPPORTED_GLOBS.items():
        for pattern in patterns:
            for path in sorted(shared.glob(pattern)):
                relative = path.relative_to(shared).as_posix()
                if relative not in NOT_IMPORTED:
                    found.append((relative, file_format))
    return found or [("<missing>", "none")]


REAL_FILES = _real_files()


@pytest.fixture(scope="module", name="manifest_rows")
def fixture_manifest_rows() -> dict[str, int]:
    shared = (Path(__file__).resolve().parents[3] / ".." / "shared" / "data").resolve()
    if not (shared / "MANIFEST.md").is_file():
        pytest.skip("shared data not found")
    return _manifest_rows(shared)


@pytest.mark.parametrize(
    ("relative", "file_format"), REAL_FILES, ids=[name for name, _ in REAL_FILES]
)
def test_real_file_imports_with_manifest_row_count(
    shared_data: Path, manifest_rows: dict[str, int], relative: str, file_format: str
) -> None:
    path = shared_data / relative
    assert detect_format(path) == file_format
    parsed = read_file(path, snapshot_time=SNAPSHOT_TIMES.get(relative))
    assert parsed.file_format == file_format
    assert parsed.rows_read == manifest_rows[relative]
    assert len(parsed.quarantined) == QUARANTINED.get(relative, 0)
    table, per_line = FACT_TABLES[file_format]
    assert len(parsed.tables[table]) == per_line * (parsed.rows_read - len(parsed.quarantined))
    for frame in parsed.tables.values():
        for column in frame.columns:
            if isinstance(frame[column].dtype, pd.DatetimeTZDtype):
                assert str(frame[column].dt.tz) == "UTC"


def test_all_36_cboe_files_are_covered() -> None:
    assert sum(1 for _, file_format in REAL_FILES if file_format == "cboe_quotedata") == 36


def _chain(shared: Path, relative: str) -> pd.Series:
    parsed = read_file(shared / relative, snapshot_time=SNAPSHOT_TIMES.get(relative))
    return parsed.tables["chain_snapshots"].iloc[0]


@pytest.mark.parametrize(
    ("relative", "ratio", "check"),
    [
        ("cboe_spy_ralph-e-boy/SPY_quotedata_2025-05-08_1657ET.csv", 0.9924, "disagrees"),
        ("cboe_spy_ralph-e-boy/SPY_quotedata_2025-04-30_2035ET.csv", 1.0034, "disagrees"),
        ("cboe_spy_photon1c/SPY_quotedata_2025-05-16.csv", 1.0081, "disagrees"),
        ("cboe_gex_python/SPY_quotedata_2023-09-14.csv", 1.0000, "ok"),
        ("cboe_index_gamma/NDX_quotedata_2022-02-04_asof2022-02-05.csv", 0.9984, "ok"),
        ("cboe_misc/SPX_quotedata_2022-07-12_1155ET_excel-resaved.csv", 1.0001, "ok"),
    ],
)
def test_spot_check_on_real_cboe_files(
    shared_data: Path, relative: str, ratio: float, check: str
) -> None:
    snapshot = _chain(shared_data, relative)
    assert snapshot["parity_spot"] / snapshot["header_spot"] == pytest.approx(ratio, abs=1e-4)
    assert snapshot["spot_check"] == check


def test_hand_checked_cboe_values(shared_data: Path) -> None:
    parsed = read_file(shared_data / "cboe_gex_python" / "SPX_quotedata_2023-09-14.csv")
    snapshot = parsed.tables["chain_snapshots"].iloc[0]
    assert snapshot["header_spot"] == 4505.1001
    assert snapshot["session_date"] == date(2023, 9, 14)
    quotes = parsed.tables["option_chain_snapshots"].set_index("contract_symbol")
    assert quotes.loc["SPXW230915C04500000", "open_interest"] == 9955
    assert quotes.loc["SPXW230915P04500000", "open_interest"] == 6477
    relabeled = _chain(
        shared_data, "cboe_spy_ralph-e-boy/SPY_quotedata_2025-05-02_1847ET_relabeled.csv"
    )
    assert relabeled["session_date"] == date(2025, 5, 5)
    assert "expired_contracts_listed" in json.loads(relabeled["quality_flags"])
    french = _chain(shared_data, "cboe_misc/TSLA_quotedata_2023-11-10.csv")
    assert french["snapshot_time"] == pd.Timestamp("2023-11-10 23:55Z")
    spanish = _chain(shared_data, "cboe_gex_python/SPX_quotedata_2022-03-23.csv")
    assert spanish["snapshot_time"] == pd.Timestamp("2022-03-23 14:11Z")


def test_hand_checked_bar_values(shared_data: Path) -> None:
    alpha = read_file(shared_data / "daily_ohlcv" / "alphavantage_SPY_daily_unadjusted.csv")
    closes = alpha.tables["ohlcv_daily"].set_index("session_date")["close"]
    assert closes[date(2024, 11, 8)] == 598.19
    assert closes[date(2008, 10, 10)] == 88.5
    yahoo = read_file(
        shared_data / "daily_ohlcv" / "yf_adjusted_SPY_daily_2021-01-11_2026-01-08.csv"
    )
    bar = yahoo.tables["ohlcv_daily"].set_index("session_date").loc[date(2026, 1, 8)]
    assert (bar["close"], bar["open"], bar["is_adjusted"]) == (
        689.510009765625,
        688.8200073242188,
        True,
    )
    perpetual = read_file(
        shared_data / "deribit" / "pinn_BTC-PERPETUAL_daily_2018-08-14_2026-01-30.csv"
    )
    bars = perpetual.tables["ohlcv_daily"].set_index("session_date")
    assert bars.loc[date(2026, 1, 30), "close"] == 83413.0
    minute = read_file(
        shared_data / "intraday_1min" / "SPY_1min_2025-07-01_2025-07-30_ext_hours.csv"
    )
    bars = minute.tables["ohlcv_intraday"].set_index("ts_start")
    assert bars.index.min() == pd.Timestamp("2025-07-01 08:00Z")
    assert bars.loc[pd.Timestamp("2025-07-03 16:59Z"), "close"] == 625.35
    assert not bars.loc[pd.Timestamp("2025-07-03 17:00Z"), "is_regular_session"]
    xyz = read_file(shared_data / "lumibot" / "XYZ_1min_2020-01-02_2020-04-22_ES-like.csv")
    assert xyz.tables["ohlcv_intraday"]["ts_start"].min() == pd.Timestamp("2020-01-02 14:30Z")


def test_hand_checked_chain_files(shared_data: Path) -> None:
    zoomkb = _chain(
        shared_data, "yfinance_chains/ZOOMKB_SPY_full_chain_2026-05-01_dl2026-05-03.csv"
    )
    assert zoomkb["session_date"] == date(2026, 5, 1)
    assert zoomkb["header_spot"] == pytest.approx(720.65, abs=1e-4)
    dx = _chain(shared_data, "optionsdx_spy/spy_eod_2022-12-30_optionsdx.csv")
    assert (dx["header_spot"], dx["contract_count"]) == (382.44, 7486)
    tickers = _chain(shared_data, "deribit/schepal_BTC_option_tickers_2020-09-12.csv")
    assert tickers["snapshot_time"] == pd.Timestamp(1599952136948, unit="ms", tz="UTC")
    assert tickers["session_date"] == date(2020, 9, 12)
    ruiz = read_file(
        shared_data
        / "yfinance_chains"
        / "ruizsantiago_SPY_QQQ_NVDA_TSLA"
        / "options_data_commit2026-03-20T1747-0300.csv"
    )
    snapshots = ruiz.tables["chain_snapshots"]
    assert snapshots["underlying"].tolist() == ["NVDA", "QQQ", "SPY", "TSLA"]
    assert set(snapshots["snapshot_time"]) == {pd.Timestamp("2026-03-20 20:47Z")}


@pytest.mark.integration
@pytest.mark.slow
def test_every_real_file_ingests_into_the_store(
    shared_data: Path, manifest_rows: dict[str, int], make_store: Callable[..., Store]
) -> None:
    """All real files through the ingest service into DuckDB and PostgreSQL, counts asserted."""
    store = make_store()
    written: dict[str, int] = {}
    for relative, file_format in REAL_FILES:
        snapshot_time = SNAPSHOT_TIMES.get(relative)
        summary = ingest_file(
            store,
            shared_data / relative,
            snapshot_time=None if snapshot_time is None else pd.Timestamp(snapshot_time),
        )
        assert summary.ok, summary.error
        assert summary.rows_read == manifest_rows[relative], relative
        assert summary.rows_quarantined == QUARANTINED.get(relative, 0), relative
        table, per_line = FACT_TABLES[file_format]
        assert summary.rows_written == per_line * (summary.rows_read - summary.rows_quarantined), (
            relative
        )
        written[table] = written.get(table, 0) + summary.rows_written
    counts = store.table_row_counts()
    assert counts["ingested_files"] == len(REAL_FILES)
    assert counts["ingest_quarantine"] == sum(QUARANTINED.values())
    # Bars of the same ticker and session in two files (e.g. SPY from Alpha Vantage and
    # yfinance) are one row: the later file's values win, so the table holds fewer rows.
    assert counts["option_chain_snapshots"] == written["option_chain_snapshots"]
    assert counts["ohlcv_daily"] <= written["ohlcv_daily"]
    assert counts["ohlcv_intraday"] <= written["ohlcv_intraday"]
    spy = store.read(tables.OHLCV_DAILY, where={"ticker": "SPY", "session_date": date(2024, 11, 8)})
    assert len(spy) == 1
