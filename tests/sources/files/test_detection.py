from pathlib import Path

import pytest

from optionscope.sources import FileFormatError
from optionscope.sources.files import FORMATS, detect_format
from optionscope.sources.files.file_names import instant_from_file_name, ticker_from_file_name

CRAFTED = {
    "cboe_quotedata": [
        "",
        "SP 500 INDEX,Last: 3856.28",
        '"Date: July 12, 2022, 11:55 AM EDT",Bid: 0',
        "Expiration Date,Calls,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,"
        "Open Interest,Strike,Puts,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,"
        "Open Interest",
    ],
    "optionsdx_eod": ["[QUOTE_UNIXTIME],[QUOTE_READTIME],[EXPIRE_DATE],[STRIKE]", "1,2,3,4"],
    "deribit_chain": [
        "instrument_name,creation_timestamp,mark_price,bid_price",
        "ETH-26JAN24-1200-P,1704712781414,0.0008,0.0004",
    ],
    "yfinance_chain": [
        "contractSymbol,strike,bid,ask,impliedVolatility",
        "AAPL201211C00060000,60,61.95,62.5,2.56",
    ],
    "ohlcv_daily": [
        "Date,Close,High,Low,Open,Volume",
        "2021-01-11,125.5,126.7,125.0,125.7,100",
        "2021-01-12,125.3,126.2,123.4,125.0,90",
    ],
    "ohlcv_1min": [
        "time,open,high,low,close,volume",
        "2020-01-02 09:31:00,1,2,0.5,1.5,10",
        "2020-01-02 09:32:00,1,2,0.5,1.5,10",
        "2020-01-02 09:33:00,1,2,0.5,1.5,10",
    ],
}


@pytest.mark.parametrize("file_format", sorted(CRAFTED))
def test_every_format_is_detected_from_its_content(write_file, file_format: str) -> None:
    path = write_file("anything.txt", *CRAFTED[file_format])
    assert detect_format(path) == file_format
    assert file_format in FORMATS


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            [
                "ts_event,rtype,open,high,low,close,volume,symbol",
                "2025-02-20 00:00:00+00:00,35,0.33,0.49,0.1,0.11,3474,AAPL  250221C00250000",
            ],
            "option contracts",
        ),
        (
            [
                "date,open,high,low,close,volume",
                "2024-05-27 00:00:00+00:00,1,2,0.5,1.5,10",
                "2024-05-27 04:00:00+00:00,1,2,0.5,1.5,10",
            ],
            "14400 s",
        ),
        (
            ["date,symbol,open,high,low,close", "2026-02-01,BTC,47.58,47.58,46.63,46.71"],
            "unknown format",
        ),
        (
            ["Side,Instrument,Price (BTC),IV (%)", "BUY,BTC-27MAY25-98000-P,0.0001,89.94"],
            "unknown format",
        ),
    ],
)
def test_unsupported_content_is_refused_with_a_reason(
    write_file, lines: list[str], message: str
) -> None:
    with pytest.raises(FileFormatError, match=message):
        detect_format(write_file("other.csv", *lines))


@pytest.mark.shared_data
@pytest.mark.parametrize(
    "relative",
    [
        "databento_opra/decoded/OPRA.PILLAR_test_data.ohlcv-1m.csv",
        "polygon_option_daily/squilliam34_SPY_0DTE_daily_open-close_2026-04-01_2026-06-26.csv",
        "deribit/9dsh_BTC_option_trades_24h_2025-05-26.csv",
        "deribit/pinn_BTC_DVOL_daily_2021-03-24_2026-02-01.csv",
        "eod_spy_2015_zachnjit/spy_options_2015-01-05.csv",
        "api_fixtures/tradier/tradier_rb_chain.json",
        "databento_opra/raw/OPRA.PILLAR_test_data.trades.dbn.zst",
    ],
)
def test_real_files_of_other_formats_are_not_mistaken(shared_data: Path, relative: str) -> None:
    with pytest.raises(FileFormatError):
        detect_format(shared_data / relative)


@pytest.mark.parametrize(
    ("name", "ticker"),
    [
        ("alphavantage_DIA_daily_unadjusted.csv", "DIA"),
        ("yf_adjusted_AAPL_daily_2021-01-11_2026-01-08.csv", "AAPL"),
        ("spy_eod_2022-12-30_optionsdx.csv", "SPY"),
        ("9dsh_BTCUSD_daily_ohlcv_2024-05-27_2025-05-27.csv", "BTC"),
        ("XYZ_1min_2020-01-02_2020-04-22_ES-like.csv", "XYZ"),
        ("options_data.csv", None),
    ],
)
def test_ticker_from_file_name(name: str, ticker: str | None) -> None:
    assert ticker_from_file_name(name) == ticker


def test_instant_from_file_name() -> None:
    stamp = instant_from_file_name("options_data_commit2026-03-16T1742-0300.csv")
    assert stamp is not None
    assert stamp.isoformat() == "2026-03-16T20:42:00+00:00"
    assert instant_from_file_name("chain_2026-05-01.csv") is None
    assert instant_from_file_name("x_2024-01-08T11:19:41Z.csv") is not None
