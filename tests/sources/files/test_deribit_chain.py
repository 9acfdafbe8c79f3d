import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optionscope.sources import FileFormatError
from optionscope.sources.files import read_file

# Layouts of ../shared/data/deribit; the rows below are crafted in those layouts.
TICKER_DUMP = (
    ",expiration_timestamp,option_type,instrument_name,strike,underlying_price,"
    "underlying_index,timestamp,stats,state,settlement_price,open_interest,min_price,"
    "max_price,mark_price,mark_iv,last_price,interest_rate,index_price,greeks,"
    "estimated_delivery_price,change_id,bids,bid_iv,best_bid_price,best_bid_amount,"
    "best_ask_price,best_ask_amount,asks,ask_iv"
)
INSTRUMENT_TICKER = (
    "instrument_name,currency,type,strike,expiration_timestamp,expiration,"
    "creation_timestamp,contract_size,tick_size,min_trade_amount,spot_ref,"
    "mark_price,best_bid_price,best_ask_price,underlying_price,mark_iv,bid_iv,"
    "ask_iv,open_interest,volume,volume_usd,delta,gamma,theta,vega"
)
USD_CHAIN = (
    "Instrument,Option Type,Strike Price,Expiration Date,Last Price (USD),"
    "Bid Price (USD),Ask Price (USD),Bid IV,Ask IV,Delta,Gamma,Theta,Vega,open_interest,"
    "total traded volume,monetary volume,Probability (%)"
)


def test_book_summary_in_eth(test_data: Path) -> None:
    parsed = read_file(test_data / "deribit" / "definer_ETH_option_book_summary_2024-01-08.csv")
    assert parsed.file_format == "deribit_chain"
    assert (parsed.rows_read, len(parsed.quarantined)) == (684, 0)
    snapshot = parsed.tables["chain_snapshots"].iloc[0]
    assert snapshot["underlying"] == "ETH"
    assert snapshot["snapshot_time"] == pd.Timestamp(1704712781429, unit="ms", tz="UTC")
    assert snapshot["session_date"] == date(2024, 1, 8)
    assert snapshot["header_spot"] == 2222.19
    assert snapshot["spot_check"] == "unchecked"
    quotes = parsed.tables["option_chain_snapshots"].set_index("contract_symbol")
    row = quotes.loc["ETH-26JAN24-1200-P"]
    assert (row["bid"], row["ask"], row["mark"], row["last"]) == (0.0004, 0.001, 0.000853, 0.0011)
    assert (row["price_currency"], row["open_interest"], row["volume"]) == ("ETH", 965.0, 1.0)
    assert row["ts_event"] == pd.Timestamp(1704712781414, unit="ms", tz="UTC")
    assert np.isnan(quotes.loc["ETH-12JAN24-2550-P", "bid"])  # empty book side
    contract = (
        parsed.tables["option_contracts"].set_index("contract_symbol").loc["ETH-26JAN24-1200-P"]
    )
    assert (
        contract["underlying"],
        contract["settlement_type"],
        contract["multiplier"],
        contract["premium_currency"],
        contract["exercise_style"],
    ) == ("ETH", "FIXED", 1.0, "ETH", "european")
    assert contract["settlement_time"] == pd.Timestamp("2024-01-26 08:00Z")


def test_capture_instant_estimated_from_t_years(test_data: Path) -> None:
    parsed = read_file(test_data / "deribit" / "hestonbtc_BTC_option_chain_2025-12-05.csv")
    snapshot = parsed.tables["chain_snapshots"].iloc[0]
    assert snapshot["snapshot_time"] == pd.Timestamp("2025-12-05 01:10:51Z")
    assert json.loads(snapshot["quality_flags"]) == ["snapshot_time_estimated"]
    quotes = parsed.tables["option_chain_snapshots"].set_index("contract_symbol")
    row = quotes.loc["BTC-6DEC25-80000-P"]
    assert (row["mark"], row["vendor_iv"], row["ask"]) == (3.555e-05, 0.8733, 0.0001)
    assert np.isnan(row["bid"])
    assert row["underlying_price"] == pytest.approx(92529.807)


def test_ticker_dump_with_dict_cells(write_file) -> None:
    greeks = (
        "\"{'vega': 22.49273, 'theta': -4.33849, 'rho': -16.87, 'gamma': 5e-05, "
        "'delta': -0.20865}\""
    )
    path = write_file(
        "tickers.csv",
        TICKER_DUMP,
        "0,1616745600000,put,BTC-26MAR21-8000-P,8000.0,10735.56,BTC-26MAR21,1599951952543,"
        "\"{'volume': 16.1, 'price_change': 0.58, 'low': 0.08, 'high': 0.09}\",open,0.09,"
        f"1828.9,0.0485,0.141,0.08638039,74.98,0.086,0.0,10433.61,{greeks},10433.61,1,"
        '"[[0.0835, 14.7]]",73.6,0.0835,14.7,0.087,19.5,"[[0.087, 19.5]]",75.28',
        "1,1601020800000,call,BTC-25SEP20-9750-C,9750.0,10457.1,BTC-25SEP20,1599951953554,"
        "\"{'volume': None, 'price_change': None, 'low': None, 'high': None}\",open,0.08,0.0,"
        f'0.05,0.11,0.08322519,57.56,,0.0,10433.64,{greeks},10433.64,2,"[]",0.0,0.0,0.0,'
        '0.0875,24.9,"[[0.0875, 24.9]]",64.89',
    )
    parsed = read_file(path)
    snapshot = parsed.tables["chain_snapshots"].iloc[0]
    assert snapshot["snapshot_time"] == pd.Timestamp(1599951953554, unit="ms", tz="UTC")
    assert snapshot["header_spot"] == pytest.approx(10433.625)
    quotes = parsed.tables["option_chain_snapshots"].set_index("contract_symbol")
    put = quotes.loc["BTC-26MAR21-8000-P"]
    assert (put["vendor_iv"], put["vendor_delta"], put["vendor_gamma"]) == (0.7498, -0.20865, 5e-05)
    assert (put["volume"], put["bid"], put["price_currency"]) == (16.1, 0.0835, "BTC")
    call = quotes.loc["BTC-25SEP20-9750-C"]
    assert np.isnan(call["volume"])
    assert np.isnan(call["bid"])
    assert np.isnan(call["last"])


def test_layouts_without_capture_instant_need_one(write_file) -> None:
    path = write_file(
        "tessicin.csv",
        INSTRUMENT_TICKER,
        "BTC-13MAR26-61000-C,BTC,call,61000.0,1773388800000,2026-03-13 08:00:00+00:00,"
        "1771910221000,1.0,0.0001,0.1,66742.5678,0.0951,0.0815,0.101,66342.3,63.29,28.16,74.21,"
        "2.0,0.0,0.0,0.78695,4e-05,-93.14463,34.6075",
    )
    with pytest.raises(FileFormatError, match="snapshot_time"):
        read_file(path)
    early = read_file(path, snapshot_time="2026-02-01T00:00:00Z")
    flags = json.loads(early.tables["chain_snapshots"].iloc[0]["quality_flags"])
    assert flags == ["snapshot_time_supplied", "instrument_created_after_snapshot_time"]
    parsed = read_file(path, snapshot_time="2026-03-01T00:00:00Z")
    row = parsed.tables["option_chain_snapshots"].iloc[0]
    assert (row["vendor_iv"], row["vendor_delta"], row["vendor_vega"]) == (0.6329, 0.78695, 34.6075)
    assert parsed.tables["chain_snapshots"].iloc[0]["header_spot"] == 66742.5678


def test_usd_chain_keeps_usd_prices_and_refuses_exact_duplicates(write_file) -> None:
    row = (
        "BTC-16JUN25-105000-C,call,105000.0,2025-06-16,1421.388,1316.1,1474.032,33.17,37.72,"
        "0.54453,0.00013,-247.02346,34.73318,55.5,60.2,75031.2,64.6"
    )
    path = write_file(
        "usd.csv",
        USD_CHAIN,
        row,
        row,
        "BTC-14JUN25-96000-P,put,96000.0,2025-06-14,10.5288,0.0,10.5288,0.8,102.59,"
        "-0.00485,0.0,-5.94487,0.56371,164.2,176.7,4695.0,",
    )
    parsed = read_file(path, snapshot_time="2025-06-13T12:00:00Z")
    assert parsed.rows_read == 3
    assert [(q.line_number, q.field, q.reason) for q in parsed.quarantined] == [
        (3, "*", "duplicate instrument (first on line 2)")
    ]
    quotes = parsed.tables["option_chain_snapshots"].set_index("contract_symbol")
    assert quotes.loc["BTC-16JUN25-105000-C", "price_currency"] == "USD"
    assert np.isnan(quotes.loc["BTC-16JUN25-105000-C", "vendor_iv"])  # no mark IV column
    assert np.isnan(quotes.loc["BTC-14JUN25-96000-P", "bid"])
    contract = parsed.tables["option_contracts"].set_index("contract_symbol")
    assert contract.loc["BTC-14JUN25-96000-P", "premium_currency"] == "BTC"
