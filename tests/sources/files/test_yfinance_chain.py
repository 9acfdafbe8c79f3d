import json
from datetime import date

import numpy as np
import pandas as pd
import pytest

from optionscope.sources import FileFormatError
from optionscope.sources.files import read_file

# Layouts of ../shared/data/yfinance_chains; values are invented near real levels.
FULL = (
    "ticker,expiry,option_type,strike,lastPrice,bid,ask,volume,openInterest,"
    "impliedVolatility,days_to_expiry,T,S,spot_date,downloaded_at_utc,contractSymbol,"
    "lastTradeDate,change,percentChange,inTheMoney,contractSize,currency"
)
WITH_SPOT = (
    "contractSymbol,lastTradeDate,strike,lastPrice,bid,ask,change,percentChange,"
    "volume,openInterest,impliedVolatility,inTheMoney,contractSize,currency,type,"
    "expiration,ticker,spot_price"
)
COMPACT = (
    "ticker,type,strike,lastPrice,bid,ask,volume,openInterest,impliedVolatility,"
    "change,pct_change,expiration,spot_price"
)
PLAIN = (
    ",contractSymbol,lastTradeDate,strike,lastPrice,bid,ask,change,percentChange,volume,"
    "openInterest,impliedVolatility,inTheMoney,contractSize,currency"
)


def full_row(right: str, strike: float, bid: float, ask: float, iv: float = 0.2) -> str:
    symbol = f"SPY260508{right[0].upper()}{round(strike * 1000):08d}"
    return (
        f"SPY,2026-05-08,{right},{strike},{(bid + ask) / 2},{bid},{ask},10.0,100.0,{iv},7,"
        f"0.019,720.65,2026-05-01,2026-05-03T14:59:12+00:00,{symbol},"
        "2026-05-01 19:59:00+00:00,0.0,0.0,False,REGULAR,USD"
    )


def test_full_chain_layout_with_weekend_download(write_file) -> None:
    path = write_file(
        "full.csv",
        FULL,
        full_row("call", 720, 5.0, 5.2),
        full_row("put", 720, 4.4, 4.6),
        full_row("call", 725, 2.6, 2.8, iv=1.0000000000000003e-05),
        full_row("put", 725, 7.0, 7.3),
    )
    parsed = read_file(path)
    assert parsed.file_format == "yfinance_chain"
    snapshot = parsed.tables["chain_snapshots"].iloc[0]
    assert snapshot["snapshot_time"] == pd.Timestamp("2026-05-03 14:59:12Z")
    assert snapshot["session_date"] == date(2026, 5, 1)  # Sunday download: Friday's session
    assert snapshot["header_spot"] == 720.65
    assert snapshot["parity_spot"] == pytest.approx((720.6 + 720.55) / 2)  # median of 2
    quotes = parsed.tables["option_chain_snapshots"].set_index("contract_symbol")
    assert np.isnan(quotes.loc["SPY260508C00725000", "vendor_iv"])  # Yahoo's 1e-05 placeholder
    assert quotes.loc["SPY260508C00720000", "vendor_iv"] == 0.2
    assert quotes.loc["SPY260508C00720000", "underlying_price"] == 720.65


def test_capture_instant_from_the_file_name_and_several_underlyings(write_file) -> None:
    path = write_file(
        "options_data_commit2026-03-20T1747-0300.csv",
        COMPACT,
        "QQQ,call,580.0,4.1,4.0,4.2,1.0,3727.0,0.25,0.0,0.0,2026-03-23,582.06",
        "QQQ,put,580.0,2.1,2.0,2.2,,12190.0,0.25,0.0,0.0,2026-03-23,582.06",
        "SPY,call,650.0,2.0,1.9,2.1,58.0,0,0.2,0.0,0.0,2026-03-23,648.57",
    )
    parsed = read_file(path)
    snapshots = parsed.tables["chain_snapshots"].set_index("underlying")
    assert list(snapshots.index) == ["QQQ", "SPY"]
    assert set(snapshots["snapshot_time"]) == {pd.Timestamp("2026-03-20 20:47Z")}
    assert set(snapshots["session_date"]) == {date(2026, 3, 20)}
    assert json.loads(snapshots.loc["QQQ", "quality_flags"]) == ["snapshot_time_from_file_name"]
    assert snapshots.loc["QQQ", "parity_spot"] == pytest.approx(582.0)
    assert snapshots.loc["SPY", "spot_check"] == "unchecked"  # calls only
    quotes = parsed.tables["option_chain_snapshots"].set_index("contract_symbol")
    assert list(quotes.index) == ["QQQ260323C00580000", "QQQ260323P00580000", "SPY260323C00650000"]
    assert np.isnan(quotes.loc["QQQ260323P00580000", "volume"])  # blank -> NULL
    assert quotes.loc["SPY260323C00650000", "open_interest"] == 0


def test_without_a_capture_instant_the_file_is_refused(write_file) -> None:
    path = write_file(
        "AAPL_calls.csv",
        PLAIN,
        "0,AAPL201211C00060000,2020-11-24 16:37:33,60.0,55.05,61.95,62.5,0.0,0.0,"
        "1,62,2.5605,True,REGULAR,USD",
    )
    with pytest.raises(FileFormatError) as caught:
        read_file(path)
    assert caught.value.field_name == "snapshot_time"
    parsed = read_file(path, snapshot_time="2020-11-24T21:00:00Z")
    quotes = parsed.tables["option_chain_snapshots"]
    assert quotes["underlying"].tolist() == ["AAPL"]
    snapshot = parsed.tables["chain_snapshots"].iloc[0]
    assert json.loads(snapshot["quality_flags"]) == [
        "snapshot_time_supplied",
        "header_spot_missing",
        "parity_spot_unavailable",
    ]


def test_a_trade_after_the_supplied_instant_is_flagged(write_file) -> None:
    path = write_file(
        "aapl.csv",
        WITH_SPOT,
        "AAPL260828C00300000,2026-07-31 19:59:00+00:00,300.0,20.0,19.5,20.5,0.0,"
        "0.0,2.0,5,0.3,True,REGULAR,USD,call,2026-08-28,AAPL,308.91",
    )
    parsed = read_file(path, snapshot_time="2026-07-20T20:00:00Z")
    flags = json.loads(parsed.tables["chain_snapshots"].iloc[0]["quality_flags"])
    assert "last_trade_after_snapshot_time" in flags


def test_type_column_must_agree_with_the_symbol(write_file) -> None:
    path = write_file(
        "mismatch_commit2026-03-16T1742-0300.csv",
        WITH_SPOT,
        "QQQ260318C00550000,2026-03-13 14:03:19+00:00,550.0,51.4,48.92,52.35,0.0,"
        "0.0,1.0,2.0,0.766,True,REGULAR,USD,put,2026-03-18,QQQ,600.38",
        "QQQ260318C00556000,2026-03-12 13:52:00+00:00,556.0,46.5,42.92,46.26,0.0,"
        "0.0,,1.0,0.686,True,REGULAR,USD,call,2026-03-18,QQQ,600.38",
    )
    parsed = read_file(path)
    assert parsed.rows_read == 2
    assert [(row.line_number, row.field) for row in parsed.quarantined] == [(2, "type")]
    assert parsed.quarantined[0].reason == "call/put differs from the symbol"


def test_caret_index_tickers_and_foreign_roots(write_file) -> None:
    path = write_file(
        "spx_commit2026-03-16T1742-0300.csv",
        WITH_SPOT,
        "SPXW260318C06700000,2026-03-13 14:03:19+00:00,6700.0,51.4,48.9,52.3,0.0,"
        "0.0,1.0,2.0,0.2,True,REGULAR,USD,call,2026-03-18,^SPX,6690.5",
        "AAPL260318C00200000,2026-03-13 14:03:19+00:00,200.0,5.4,4.9,5.3,0.0,"
        "0.0,1.0,2.0,0.2,True,REGULAR,USD,call,2026-03-18,^SPX,6690.5",
    )
    parsed = read_file(path)
    assert parsed.tables["option_contracts"]["underlying"].tolist() == ["SPX"]
    [row] = parsed.quarantined
    assert (row.line_number, row.field, row.reason) == (
        3,
        "contractSymbol",
        "symbol root is not an option on SPX",
    )


def test_a_cp1252_file_is_decoded_with_a_note(tmp_path) -> None:
    path = tmp_path / "chain_commit2026-03-16T1742-0300.csv"
    text = (
        COMPACT.replace("pct_change", "pct_change_\u20ac")  # the euro sign is 0x80 in cp1252
        + "\nQQQ,call,580.0,4.1,4.0,4.2,1.0,3727.0,0.25,0.0,0.0,2026-03-23,582.06\n"
    )
    path.write_bytes(text.encode("cp1252"))
    parsed = read_file(path)
    assert parsed.rows_read == 1
    assert parsed.notes[0].startswith("not UTF-8 (first bad byte on line 1)")
