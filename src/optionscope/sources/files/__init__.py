"""File importers: one module per format, one entry point.

`read_file(path)` detects the format from the content (`detect_format`) unless one is
forced, runs the importer and returns a `ParsedFile` (canonical frames, rows read, rows
quarantined). Formats: see `FORMATS` and docs/importers.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa

from optionscope.domain.calendar import CalendarRangeError
from optionscope.sources import FileFormatError, ParsedFile
from optionscope.sources.files.cboe_quotedata import read_cboe_quotedata
from optionscope.sources.files.deribit_chain import read_deribit_chain
from optionscope.sources.files.detection import detect_format
from optionscope.sources.files.ohlcv_1min import read_ohlcv_1min
from optionscope.sources.files.ohlcv_daily import read_ohlcv_daily
from optionscope.sources.files.options import ReadOptions
from optionscope.sources.files.optionsdx_eod import read_optionsdx_eod
from optionscope.sources.files.yfinance_chain import read_yfinance_chain

Reader = Callable[[Path, ReadOptions], ParsedFile]


@dataclass(frozen=True, slots=True)
class FileFormat:
    """One importable format.

    Attributes:
        name: Format name (what `detect_format` returns and `file_format=` accepts).
        read: The importer.
        description: One line for help texts.
    """

    name: str
    read: Reader
    description: str


FORMATS: dict[str, FileFormat] = {
    spec.name: spec
    for spec in (
        FileFormat(
            "cboe_quotedata",
            read_cboe_quotedata,
            "Cboe delayed-quotes quotedata.csv option chain (all locales, Excel saves)",
        ),
        FileFormat(
            "yfinance_chain",
            read_yfinance_chain,
            "yfinance option_chain() frames saved as CSV (several layouts)",
        ),
        FileFormat("optionsdx_eod", read_optionsdx_eod, "OptionsDX end-of-day option chain"),
        FileFormat(
            "deribit_chain",
            read_deribit_chain,
            "Deribit option chain CSVs (ticker, book summary and USD layouts)",
        ),
        FileFormat(
            "ohlcv_daily",
            read_ohlcv_daily,
            "Daily OHLCV (Alpha Vantage, yfinance, crypto daily candles)",
        ),
        FileFormat("ohlcv_1min", read_ohlcv_1min, "One-minute OHLCV bars"),
    )
}
"""Supported formats by name."""

_UNEXPECTED = (
    KeyError,
    IndexError,
    TypeError,
    ValueError,
    AttributeError,
    pa.ArrowException,
    pd.errors.ParserError,
    CalendarRangeError,
)


def read_file(
    path: Path | str,
    *,
    file_format: str | None = None,
    snapshot_time: datetime | str | None = None,
    ticker: str | None = None,
) -> ParsedFile:
    """Import one file: detect (or take) its format and parse it into canonical frames.

    Args:
        path: The file.
        file_format: Force an importer (a key of `FORMATS`); detected when None.
        snapshot_time: Capture instant for chain files that carry none (tz-aware); replaces
            the file's own instant when it has one (the snapshot is then flagged).
        ticker: Ticker for bar and OptionsDX files; overrides their column and file name.

    Returns:
        The parsed file; `rows_read == fact rows + len(quarantined)`.

    Raises:
        FileFormatError: The file cannot be imported (names file, line and field). Nothing
            else escapes: an unexpected error inside an importer is reported this way too.
    """
    file_path = Path(path)
    name = file_format or detect_format(file_path)
    if name not in FORMATS:
        raise FileFormatError(
            file_path, None, None, f"unknown format {name!r}; known: {', '.join(FORMATS)}"
        )
    try:
        options = ReadOptions.create(snapshot_time, ticker)
    except ValueError as error:
        raise FileFormatError(file_path, None, "snapshot_time", str(error)) from error
    try:
        return FORMATS[name].read(file_path, options)
    except FileFormatError:
        raise
    except _UNEXPECTED as error:
        raise FileFormatError(
            file_path, None, None, f"{name} importer failed: {type(error).__name__}: {error}"
        ) from error


__all__ = ["FORMATS", "FileFormat", "ReadOptions", "detect_format", "read_file"]
