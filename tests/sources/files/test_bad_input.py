"""Every importer against the same bad inputs: refused whole, or rows quarantined.

| case | outcome |
|---|---|
| truncated (last line cut, no final newline) | FileFormatError on that line |
| header only | FileFormatError (no data rows) |
| wrong header | FileFormatError naming the header line and the missing field |
| non-numeric field | row quarantined: line, field, "not a number" |
| negative open interest (volume for bars, OptionsDX) | row quarantined: "negative value" |
| bid > ask (high < low for bars) | row quarantined |
| duplicate row | later copy quarantined: "duplicate ... (first on line N)" |
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from optionscope.sources import FileFormatError, ParsedFile
from optionscope.sources.files import read_file

CBOE_HEADER = (
    "Expiration Date,Calls,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,"
    "Open Interest,Strike,Puts,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,"
    "Open Interest"
)
OPTIONSDX_HEADER = (
    "[QUOTE_UNIXTIME],[QUOTE_READTIME],[QUOTE_DATE],[QUOTE_TIME_HOURS],[UNDERLYING_LAST],"
    "[EXPIRE_DATE],[EXPIRE_UNIX],[DTE],[C_DELTA],[C_GAMMA],[C_VEGA],[C_THETA],[C_RHO],[C_IV],"
    "[C_VOLUME],[C_LAST],[C_SIZE],[C_BID],[C_ASK],[STRIKE],[P_BID],[P_ASK],[P_SIZE],[P_LAST],"
    "[P_DELTA],[P_GAMMA],[P_VEGA],[P_THETA],[P_RHO],[P_IV],[P_VOLUME],[STRIKE_DISTANCE],"
    "[STRIKE_DISTANCE_PCT]"
)
DERIBIT_HEADER = (
    ",mid_price,estimated_delivery_price,volume_usd,quote_currency,"
    "creation_timestamp,base_currency,interest_rate,volume,underlying_index,"
    "underlying_price,price_change,mark_price,open_interest,ask_price,bid_price,"
    "instrument_name,last,low,high,currency,expire_date,strike_price,option_type"
)
YFINANCE_HEADER = (
    "ticker,expiry,option_type,strike,lastPrice,bid,ask,volume,openInterest,"
    "impliedVolatility,S,downloaded_at_utc,contractSymbol"
)


def _cboe_row(strike: int, mid: float) -> str:
    return (
        f"Tue Jul 12 2022,SPXW220712C0{strike}000,{mid},0,{mid - 0.1:.2f},{mid + 0.1:.2f},"
        f"5,0.2,0.5,0.01,100,{strike}.00,SPXW220712P0{strike}000,{mid},0,{mid - 0.1:.2f},"
        f"{mid + 0.1:.2f},6,0.2,-0.5,0.01,200"
    )


def _optionsdx_row(strike: int) -> str:
    return (
        f"1672434000, 2022-12-30 16:00,2022-12-30,16.0,382.44, 2023-01-03,1672779600,2.0,"
        f"0.5,0.05,0.1,-0.2,0.01, 0.2, 10.000000,1.5, 1 x 1,1.4,1.6,{strike}.0,1.3,1.5,"
        f" 1 x 1,1.4,-0.5,0.05,0.1,-0.2,-0.01, 0.21, 12.000000,0.0,0.0"
    )


def _deribit_row(index: int, strike: int) -> str:
    return (
        f"{index},0.0007,2222.19,2.41,ETH,1704712781414,ETH,0.0,1.0,ETH-26JAN24,2241.65,0.0,"
        f"0.000853,965.0,0.001,0.0004,ETH-26JAN24-{strike}-P,0.0011,0.0011,0.0011,ETH,"
        f"26JAN24,{strike},P"
    )


def _yfinance_row(strike: int) -> str:
    return (
        f"SPY,2026-05-08,call,{strike}.0,5.1,5.0,5.2,10.0,100.0,0.2,720.65,"
        f"2026-05-03T14:59:12+00:00,SPY260508C00{strike}000"
    )


@dataclass(frozen=True)
class Layout:
    """A valid small file of one format and where its cells are."""

    name: str
    file_name: str
    lines: tuple[str, ...]
    header_line: int  # 1-based
    rows_per_line: int
    fact_table: str
    bad_number: tuple[int, str]  # (column position, expected field)
    negative: tuple[int, str]  # a column that cannot be negative
    crossed: tuple[int, str, str]  # (column, value making bid > ask / high < low, field)
    renamed: tuple[str, str, str]  # (header text, replacement, field named in the error)
    options: tuple[tuple[str, str], ...] = ()


LAYOUTS = (
    Layout(
        "cboe_quotedata",
        "spx_quotedata.csv",
        (
            "",
            "SP 500 INDEX,Last: 3856.28,Change:  1.85",
            '"Date: July 12, 2022, 11:55 AM EDT",Bid: 0,Ask: 0,Size: 1*1,Volume: 0',
            CBOE_HEADER,
            _cboe_row(3850, 12.0),
            _cboe_row(3855, 8.6),
            _cboe_row(3860, 5.9),
        ),
        4,
        2,
        "option_chain_snapshots",
        (4, "calls.Bid"),
        (21, "puts.Open Interest"),
        (4, "99", "calls.Bid"),
        (",IV,", ",ImpVol,", "IV"),
    ),
    Layout(
        "optionsdx_eod",
        "spy_eod_optionsdx.csv",
        (OPTIONSDX_HEADER, _optionsdx_row(380), _optionsdx_row(381), _optionsdx_row(382)),
        1,
        2,
        "option_chain_snapshots",
        (17, "calls.C_BID"),
        (30, "puts.P_VOLUME"),
        (17, "9", "calls.C_BID"),
        ("[STRIKE],", "[STRIKE_PRICE],", "STRIKE"),
    ),
    Layout(
        "deribit_chain",
        "eth_book.csv",
        (DERIBIT_HEADER, _deribit_row(0, 1200), _deribit_row(1, 1300), _deribit_row(2, 1400)),
        1,
        1,
        "option_chain_snapshots",
        (15, "bid_price"),
        (13, "open_interest"),
        (15, "0.5", "bid_price"),
        (",instrument_name,", ",name,", "instrument_name"),
    ),
    Layout(
        "yfinance_chain",
        "spy_chain.csv",
        (YFINANCE_HEADER, _yfinance_row(700), _yfinance_row(705), _yfinance_row(710)),
        1,
        1,
        "option_chain_snapshots",
        (5, "bid"),
        (8, "openInterest"),
        (5, "9.5", "bid"),
        (",impliedVolatility,", ",iv,", "impliedVolatility"),
    ),
    Layout(
        "ohlcv_daily",
        "alphavantage_SPY_daily.csv",
        (
            "date,1. open,2. high,3. low,4. close,5. volume",
            "2024-11-06,590,595,589,591,1000",
            "2024-11-07,593,596,592,595,1000",
            "2024-11-08,596,599,596,598,1000",
        ),
        1,
        1,
        "ohlcv_daily",
        (4, "4. close"),
        (5, "5. volume"),
        (2, "1", "2. high"),
        ("1. open", "1. opn", "open"),
    ),
    Layout(
        "ohlcv_1min",
        "SPY_1min.csv",
        (
            "date,Open,High,Low,Close,Volume",
            "2025-07-01 09:30:00,617,618,616,617.5,100",
            "2025-07-01 09:31:00,617.5,618,617,617.2,100",
            "2025-07-01 09:32:00,617.2,617.9,617,617.4,100",
        ),
        1,
        1,
        "ohlcv_intraday",
        (4, "Close"),
        (5, "Volume"),
        (2, "1", "High"),
        ("Open,", "Opening,", "open"),
    ),
)
IDS = [layout.name for layout in LAYOUTS]


def _with_cell(line: str, position: int, value: str) -> str:
    cells = line.split(",")
    cells[position] = value
    return ",".join(cells)


def _read(path: Path, layout: Layout) -> ParsedFile:
    return read_file(path, **dict(layout.options))


def _assert_accounting(parsed: ParsedFile, layout: Layout, data_lines: int) -> None:
    assert parsed.rows_read == data_lines
    accepted = parsed.rows_read - len(parsed.quarantined)
    assert len(parsed.tables[layout.fact_table]) == layout.rows_per_line * accepted
    assert len({row.line_number for row in parsed.quarantined}) == len(parsed.quarantined)


@pytest.mark.parametrize("layout", LAYOUTS, ids=IDS)
def test_the_valid_base_file_imports_whole(write_file, layout: Layout) -> None:
    parsed = _read(write_file(layout.file_name, *layout.lines), layout)
    assert parsed.file_format == layout.name
    assert parsed.quarantined == []
    _assert_accounting(parsed, layout, 3)


@pytest.mark.parametrize("layout", LAYOUTS, ids=IDS)
def test_a_file_cut_mid_row_is_refused(write_file, layout: Layout) -> None:
    cut = layout.lines[-1][: len(layout.lines[-1]) // 2]
    path = write_file(layout.file_name, *layout.lines[:-1], cut, final_newline=False)
    with pytest.raises(FileFormatError, match="truncated") as caught:
        _read(path, layout)
    assert caught.value.line_number == len(layout.lines)
    assert caught.value.path == path


@pytest.mark.parametrize("layout", LAYOUTS, ids=IDS)
def test_a_header_without_rows_is_refused(write_file, layout: Layout) -> None:
    path = write_file(layout.file_name, *layout.lines[: layout.header_line])
    with pytest.raises(FileFormatError, match="no data rows"):
        read_file(path, file_format=layout.name, **dict(layout.options))


@pytest.mark.parametrize("layout", LAYOUTS, ids=IDS)
def test_a_wrong_header_is_refused_naming_the_field(write_file, layout: Layout) -> None:
    old, new, field = layout.renamed
    lines = list(layout.lines)
    lines[layout.header_line - 1] = lines[layout.header_line - 1].replace(old, new, 1)
    with pytest.raises(FileFormatError) as caught:
        read_file(
            write_file(layout.file_name, *lines), file_format=layout.name, **dict(layout.options)
        )
    assert caught.value.field_name == field
    assert caught.value.line_number == layout.header_line
    assert str(caught.value).startswith(f"{layout.file_name}, line {layout.header_line}")


@pytest.mark.parametrize("layout", LAYOUTS, ids=IDS)
def test_a_non_numeric_cell_quarantines_its_row(write_file, layout: Layout) -> None:
    position, field = layout.bad_number
    lines = list(layout.lines)
    lines[layout.header_line + 1] = _with_cell(lines[layout.header_line + 1], position, "abc")
    parsed = _read(write_file(layout.file_name, *lines), layout)
    [row] = parsed.quarantined
    assert (row.line_number, row.field) == (layout.header_line + 2, field)
    assert row.reason == "not a number: 'abc'"
    assert row.raw_line == lines[layout.header_line + 1]
    _assert_accounting(parsed, layout, 3)


@pytest.mark.parametrize("layout", LAYOUTS, ids=IDS)
def test_a_negative_count_quarantines_its_row(write_file, layout: Layout) -> None:
    position, field = layout.negative
    lines = list(layout.lines)
    lines[layout.header_line] = _with_cell(lines[layout.header_line], position, "-5")
    parsed = _read(write_file(layout.file_name, *lines), layout)
    [row] = parsed.quarantined
    assert (row.line_number, row.field) == (layout.header_line + 1, field)
    assert row.reason == "negative value -5"
    _assert_accounting(parsed, layout, 3)


@pytest.mark.parametrize("layout", LAYOUTS, ids=IDS)
def test_a_crossed_market_quarantines_its_row(write_file, layout: Layout) -> None:
    position, value, field = layout.crossed
    lines = list(layout.lines)
    lines[-1] = _with_cell(lines[-1], position, value)
    parsed = _read(write_file(layout.file_name, *lines), layout)
    [row] = parsed.quarantined
    assert (row.line_number, row.field) == (len(lines), field)
    assert "bid" in row.reason or "high below low" in row.reason
    _assert_accounting(parsed, layout, 3)


@pytest.mark.parametrize("layout", LAYOUTS, ids=IDS)
def test_a_duplicate_row_is_quarantined_after_the_first(write_file, layout: Layout) -> None:
    first = layout.header_line + 1
    parsed = _read(write_file(layout.file_name, *layout.lines, layout.lines[first - 1]), layout)
    [row] = parsed.quarantined
    assert row.line_number == len(layout.lines) + 1
    assert row.field.endswith("*")
    assert row.reason.startswith("duplicate")
    assert row.reason.endswith(f"(first on line {first})")
    _assert_accounting(parsed, layout, 4)


@pytest.mark.parametrize("layout", LAYOUTS, ids=IDS)
def test_a_short_row_in_the_middle_is_quarantined(write_file, layout: Layout) -> None:
    lines = list(layout.lines)
    lines.insert(layout.header_line + 1, "1,2,3")
    parsed = _read(write_file(layout.file_name, *lines), layout)
    [row] = parsed.quarantined
    assert (row.line_number, row.field) == (layout.header_line + 2, "*")
    assert row.reason.startswith("expected")
    assert row.reason.endswith("found 3")
    _assert_accounting(parsed, layout, 4)


def test_an_empty_or_binary_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"\n\n")
    with pytest.raises(FileFormatError, match="empty"):
        read_file(empty)
    binary = tmp_path / "data.dbn.zst"
    binary.write_bytes(b"\x28\xb5\x2f\xfd\x00\x00\x01")
    with pytest.raises(FileFormatError, match="binary"):
        read_file(binary)


def test_an_unknown_forced_format_and_a_naive_snapshot_time_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(FileFormatError, match="unknown format 'nope'"):
        read_file(path, file_format="nope")
    with pytest.raises(FileFormatError, match="time zone"):
        read_file(path, file_format="yfinance_chain", snapshot_time="2025-01-02T10:00:00")
