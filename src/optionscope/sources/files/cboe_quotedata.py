"""Cboe delayed-quotes "quotedata.csv" (format ``cboe_quotedata``).

Layout (header on line 4; line 3 in the Excel-resaved variant, which also drops the leading
blank line and pads the preamble with empty cells)::

    <blank>
    Standard & Poors 500 Index,Last: 4505.1001,Change:  37.6601
    "Date: September 14, 2023 at 4:31 PM EDT",Bid: 4483.25,Ask: 4526.27,Size: 1*1,Volume: 0
    Expiration Date,Calls,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest,Strike,
        Puts,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest
    Thu Sep 14 2023,SPXW230914C01200000,0,0,3300.1,3319.8,0,0,0,0,0,1200.00,SPXW230914P...

Each line holds two contracts (the call and the put of one expiry and strike). The line is
the unit: it counts as one data row and is accepted or quarantined whole (the field names
the side at fault: ``calls.Bid``, ``puts.Open Interest``).

Cboe writes 0 where it has no value; the null rules are:

* Bid, Ask, Last Sale 0 -> NULL (a side with no quote, a contract that never traded);
  IV 0 (or negative) -> NULL (no model vol). Volume and Open Interest 0 are real zeros.
* Delta and Gamma with IV 0: when gamma is 0 and delta is exactly -1, 0 or 1 they are
  Cboe's fill values (the same deep-ITM call shows delta 1 in one file and 0 in another)
  -> NULL. A fractional delta or non-zero gamma next to IV 0 is Cboe's and kept. With IV > 0
  zeros are rounding of tiny values (4 decimals) and kept as 0.0.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from optionscope.domain.calendar import session_date_of
from optionscope.domain.instruments import describe_ticker, underlying_of_root
from optionscope.domain.symbols import parse_osi_series
from optionscope.sources import ParsedFile
from optionscope.sources.files.cboe_header import (
    CboeHeader,
    HeaderDateError,
    labelled_cell,
    parse_header_instant,
    parse_header_number,
    split_preamble_line,
)
from optionscope.sources.files.chains import (
    CHAIN_COLUMNS,
    FLAG_SNAPSHOT_TIME_SUPPLIED,
    SnapshotInfo,
    assemble_chain,
)
from optionscope.sources.files.lines import TextFile, header_cells, read_text_file
from optionscope.sources.files.options import ReadOptions
from optionscope.sources.files.rows import RowChecks, StringRows, parse_numbers, read_rows

FORMAT = "cboe_quotedata"

CBOE_COLUMNS: tuple[str, ...] = (
    "Expiration Date",
    "Calls",
    "Last Sale",
    "Net",
    "Bid",
    "Ask",
    "Volume",
    "IV",
    "Delta",
    "Gamma",
    "Open Interest",
    "Strike",
    "Puts",
    "Last Sale",
    "Net",
    "Bid",
    "Ask",
    "Volume",
    "IV",
    "Delta",
    "Gamma",
    "Open Interest",
)
"""Header of the quotes table, in file order."""

SIDE_FIELDS: tuple[str, ...] = (
    "Last Sale",
    "Net",
    "Bid",
    "Ask",
    "Volume",
    "IV",
    "Delta",
    "Gamma",
    "Open Interest",
)
"""Per-side columns, in file order (after the symbol column)."""

NON_NEGATIVE_FIELDS: tuple[str, ...] = ("Last Sale", "Bid", "Ask", "Volume", "Open Interest")
HEADER_SEARCH_LINES = 10

_EXPIRY_FORMATS = ("%a %b %d %Y", "%Y-%m-%d", "%m/%d/%Y")
_INTERNAL = (
    "expiration",
    "calls_symbol",
    *(f"calls_{i}" for i in range(len(SIDE_FIELDS))),
    "strike",
    "puts_symbol",
    *(f"puts_{i}" for i in range(len(SIDE_FIELDS))),
)


@dataclass(frozen=True, slots=True)
class _Side:
    name: str
    right: str
    symbol_column: str


_SIDES = (_Side("calls", "C", "Calls"), _Side("puts", "P", "Puts"))


def find_header_line(text: TextFile) -> int:
    """Return the 1-based line of the 'Expiration Date,Calls,...' header.

    Raises:
        FileFormatError: No such line among the first `HEADER_SEARCH_LINES` lines.
    """
    for number in range(1, min(HEADER_SEARCH_LINES, len(text.lines)) + 1):
        if text.line(number).lstrip('"').startswith("Expiration Date"):
            return number
    raise text.error(
        None,
        "Expiration Date",
        f"no 'Expiration Date,Calls,...' header in the first {HEADER_SEARCH_LINES} lines",
    )


def parse_preamble(text: TextFile, header_line: int) -> CboeHeader:
    """Return the name, Last/Bid/Ask and capture instant from the lines above the header.

    Raises:
        FileFormatError: The 'Date:' line is missing or unreadable.
    """
    name, last, bid, ask = "", None, None, None
    date_line, date_text = None, None
    for number in range(1, header_line):
        cells = split_preamble_line(text.line(number))
        if not cells:
            continue
        if (cell := labelled_cell(cells, "Last")) is not None:
            name = cells[0].strip()
            last = parse_header_number(cell, "Last")
        if (cell := labelled_cell(cells, "Date")) is not None:
            date_line, date_text = number, cell.strip()
            bid = parse_header_number(labelled_cell(cells, "Bid") or "", "Bid")
            ask = parse_header_number(labelled_cell(cells, "Ask") or "", "Ask")
    if date_line is None or date_text is None:
        raise text.error(None, "Date", "no 'Date: ...' line above the header")
    try:
        captured_at = parse_header_instant(date_text)
    except HeaderDateError as error:
        raise text.error(date_line, "Date", str(error)) from error
    return CboeHeader(name, last, bid, ask, captured_at, date_text.removeprefix("Date:").strip())


def _check_columns(text: TextFile, header_line: int) -> None:
    found = header_cells(text.line(header_line))
    for position, expected in enumerate(CBOE_COLUMNS):
        actual = found[position] if position < len(found) else "<missing>"
        if actual != expected:
            raise text.error(
                header_line, expected, f"column {position + 1} is {actual!r}, expected {expected!r}"
            )
    if len(found) > len(CBOE_COLUMNS):
        raise text.error(
            header_line,
            found[len(CBOE_COLUMNS)],
            f"unexpected extra column {found[len(CBOE_COLUMNS)]!r}",
        )


def _parse_expiry(cells: pd.Series) -> pd.Series:
    text = cells.astype("str").str.strip()
    parsed = pd.Series(pd.NaT, index=cells.index, dtype="datetime64[ns]")
    for layout in _EXPIRY_FORMATS:
        missing = parsed.isna()
        if not missing.any():
            break
        parsed[missing] = pd.to_datetime(text[missing], format=layout, errors="coerce")
    return parsed


def _main_underlying(text: TextFile, rows: StringRows) -> str:
    roots = parse_osi_series(rows.frame["calls_symbol"])["root"].dropna()
    underlyings = roots.map({root: underlying_of_root(root) for root in roots.unique()})
    if underlyings.empty:
        raise text.error(None, "Calls", "no valid OSI call symbol in the file")
    return str(underlyings.value_counts().index[0])


def _side_frame(
    rows: StringRows,
    checks: RowChecks,
    side: _Side,
    expiry: pd.Series,
    strike: pd.Series,
    strike_invalid: pd.Series,
    underlying: str,
) -> pd.DataFrame:
    """Check one side of every line (refusals go to the shared `checks`); return its rows."""
    frame = rows.frame
    checks.field_prefix = f"{side.name}."
    symbol_cells = frame[f"{side.name}_symbol"]
    symbols = parse_osi_series(symbol_cells)
    valid = symbols["is_valid"]
    checks.refuse(~valid, side.symbol_column, "not an OSI symbol: " + symbol_cells.astype("str"))
    checks.refuse(
        valid & symbols["option_right"].ne(side.right),
        side.symbol_column,
        f"not a {side.name[:-1]} symbol",
    )
    roots = symbols["root"].where(valid)
    foreign = valid & roots.map(underlying_of_root, na_action="ignore").ne(underlying)
    checks.refuse(foreign, side.symbol_column, f"not an option on {underlying}")
    checks.refuse(
        expiry.isna(), "Expiration Date", "not a date: " + frame["expiration"].astype("str")
    )
    symbol_expiry = pd.to_datetime(symbols["expiry"], errors="coerce")
    checks.refuse(
        valid & expiry.notna() & symbol_expiry.ne(expiry),
        "Expiration Date",
        "expiry differs from the symbol's date",
    )
    checks.refuse_invalid_numbers(frame["strike"], strike_invalid, "Strike")
    checks.refuse(strike.isna() & ~strike_invalid, "Strike", "missing strike")
    checks.refuse(
        valid & (symbols["strike"] - strike).abs().gt(1e-6),
        "Strike",
        "strike differs from the symbol's strike",
    )
    values: dict[str, pd.Series] = {}
    for index, field_name in enumerate(SIDE_FIELDS):
        cells = frame[f"{side.name}_{index}"]
        values[field_name], invalid = parse_numbers(cells)
        checks.refuse_invalid_numbers(cells, invalid, field_name)
    for field_name in NON_NEGATIVE_FIELDS:
        checks.refuse_negative(values[field_name], field_name)
    bid = values["Bid"].where(values["Bid"] > 0)
    ask = values["Ask"].where(values["Ask"] > 0)
    checks.refuse_bid_above_ask(bid, ask, "Bid")
    checks.refuse_duplicates(symbols["contract_symbol"], "contract")
    iv = values["IV"]
    delta, gamma = values["Delta"], values["Gamma"]
    fill_greeks = iv.le(0) & gamma.eq(0) & delta.isin([-1.0, 0.0, 1.0])
    return pd.DataFrame(
        {
            "underlying": underlying,
            "contract_symbol": symbols["contract_symbol"],
            "root": symbols["root"],
            "expiry": symbols["expiry"],
            "strike": symbols["strike"],
            "option_right": symbols["option_right"],
            "bid": bid,
            "ask": ask,
            "last": values["Last Sale"].where(values["Last Sale"] > 0),
            "mark": np.nan,
            "volume": values["Volume"],
            "open_interest": values["Open Interest"],
            "vendor_iv": iv.where(iv > 0),
            "vendor_delta": delta.mask(fill_greeks),
            "vendor_gamma": gamma.mask(fill_greeks),
            "vendor_vega": np.nan,
            "vendor_theta": np.nan,
            "underlying_price": np.nan,
            "ts_event": pd.NaT,
        }
    )


def read_cboe_quotedata(path: Path, options: ReadOptions) -> ParsedFile:
    """Parse a Cboe quotedata.csv into chain tables.

    A line (one expiry and strike: a call and a put) is accepted or quarantined whole, so
    `rows_read` counts lines and the chain gets two rows per accepted line.

    Args:
        path: The file.
        options: `snapshot_time` replaces the header's instant (flagged); `ticker` unused.

    Raises:
        FileFormatError: Header, preamble or date unreadable; no data rows; truncated.
    """
    text = read_text_file(path)
    header_line = find_header_line(text)
    _check_columns(text, header_line)
    header = parse_preamble(text, header_line)
    rows = read_rows(text, header_line + 1, _INTERNAL)
    underlying = _main_underlying(text, rows)
    flags: list[str] = []
    snapshot_time = header.captured_at
    if options.snapshot_time is not None:
        snapshot_time = options.snapshot_time
        flags.append(FLAG_SNAPSHOT_TIME_SUPPLIED)
    expiry = _parse_expiry(rows.frame["expiration"])
    strike, strike_invalid = parse_numbers(rows.frame["strike"])
    checks = RowChecks(rows.line_numbers, text.raw_lines(rows.line_numbers))
    sides = [
        _side_frame(rows, checks, side, expiry, strike, strike_invalid, underlying)
        for side in _SIDES
    ]
    accepted = ~checks.refused
    if not accepted.any():
        raise text.error(None, None, "every data row was refused")
    quarantined = sorted([*rows.refused, *checks.quarantined()], key=lambda row: row.line_number)
    session_date = session_date_of(snapshot_time)
    info = SnapshotInfo(
        underlying,
        snapshot_time,
        session_date,
        header_spot=header.last,
        header_bid=header.bid,
        header_ask=header.ask,
        flags=flags,
    )
    chain = pd.concat([side[accepted] for side in sides], ignore_index=True)
    chain = chain.loc[:, list(CHAIN_COLUMNS)].assign(snapshot_time=snapshot_time)
    parsed_tables, notes = assemble_chain(
        chain,
        [info],
        source=FORMAT,
        source_file=path.name,
        price_currency="USD",
        premium_currency="USD",
        multiplier=describe_ticker(underlying).option_multiplier,
        any_quarantined=bool(quarantined),
    )
    return ParsedFile(
        path=path,
        file_format=FORMAT,
        tables=parsed_tables,
        rows_read=rows.rows_read,
        quarantined=quarantined,
        notes=[*text.notes, *notes],
    )
