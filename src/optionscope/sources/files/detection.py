"""Tell a file's format from its first lines (no file name rules: content decides)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from optionscope.domain.symbols import is_osi
from optionscope.sources import FileFormatError
from optionscope.sources.files.bars import TICKER_COLUMNS, bar_columns
from optionscope.sources.files.deribit_chain import detect_layout
from optionscope.sources.files.lines import (
    TextFile,
    decode_bytes,
    find_column,
    header_cells,
    split_csv_line,
    unique_names,
)

HEAD_BYTES = 64 * 1024
"""Bytes read for detection."""

SAMPLE_ROWS = 60
"""Data rows sampled to tell daily from one-minute bars."""


def read_head(path: Path) -> TextFile:
    """Return the first complete lines of a file (up to `HEAD_BYTES`).

    Raises:
        FileFormatError: The file is missing, empty or not text.
    """
    try:
        with path.open("rb") as handle:
            data = handle.read(HEAD_BYTES)
    except OSError as error:
        raise FileFormatError(path, None, None, f"cannot read: {error}") from error
    if not data.strip():
        raise FileFormatError(path, 1, None, "empty file")
    text, notes = decode_bytes(path, data)
    lines = text.split("\n")
    if len(data) == HEAD_BYTES and len(lines) > 1:
        lines.pop()  # cut mid-line by the read limit
    return TextFile(path, [line.removesuffix("\r") for line in lines], True, notes)


def detect_format(path: Path | str) -> str:
    """Return the importer format of a file, judged from its first 64 KiB.

    One of cboe_quotedata, optionsdx_eod, deribit_chain, yfinance_chain, ohlcv_daily,
    ohlcv_1min.

    Raises:
        FileFormatError: The content matches none of them (the message says why).
    """
    head = read_head(Path(path))
    for number in range(1, min(10, len(head.lines)) + 1):
        if head.line(number).lstrip('"').startswith("Expiration Date,Calls"):
            return "cboe_quotedata"
    first = head.line(1)
    if "[QUOTE_UNIXTIME]" in first or "[EXPIRE_DATE]" in first:
        return "optionsdx_eod"
    names = unique_names(header_cells(first))
    if detect_layout(names) is not None:
        return "deribit_chain"
    if find_column(names, "impliedVolatility") and find_column(names, "contractSymbol", "strike"):
        return "yfinance_chain"
    return _bar_format(head, names)


def _bar_format(head: TextFile, names: list[str]) -> str:
    try:
        columns = bar_columns(head, names)
    except FileFormatError as error:
        raise head.error(
            1,
            None,
            "unknown format: not a Cboe, OptionsDX, Deribit or yfinance "
            "chain, and not OHLCV bars (no date/open/high/low/close/volume "
            "columns)",
        ) from error
    rows = [split_csv_line(line) for line in head.lines[1 : SAMPLE_ROWS + 1] if line.strip()]
    rows = [row for row in rows if len(row) == len(names)]
    if not rows:
        raise head.error(2, None, "no data rows to tell daily from one-minute bars")
    sample = pd.DataFrame(rows, columns=names)
    ticker_column = find_column(names, *TICKER_COLUMNS)
    if ticker_column is not None and is_osi(str(sample[ticker_column].iloc[0])):
        raise head.error(
            2, ticker_column, "bars of option contracts (OSI symbols) are not a supported format"
        )
    stamps = sample[columns.time].astype("str").str.strip()
    if stamps.str.slice(11, 19).nunique() <= 1:
        return "ohlcv_daily"
    local = pd.to_datetime(stamps.str.slice(0, 19), errors="coerce", format="ISO8601")
    gaps = local.dropna().sort_values().diff().dt.total_seconds()
    gaps = gaps[gaps > 0]
    if not gaps.empty and float(gaps.mode().iloc[0]) == 60.0:
        return "ohlcv_1min"
    spacing = f"{float(gaps.mode().iloc[0]):g} s" if not gaps.empty else "unknown"
    raise head.error(
        None,
        columns.time,
        f"intraday bars spaced {spacing}: only daily and one-minute bars are supported",
    )
