"""What daily and one-minute OHLCV files share: columns, ticker, price checks."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from optionscope.sources.files.file_names import ticker_from_file_name
from optionscope.sources.files.lines import TextFile, find_column
from optionscope.sources.files.options import ReadOptions
from optionscope.sources.files.rows import RowChecks, parse_numbers

PRICE_FIELDS = ("open", "high", "low", "close")
OHLC_TOLERANCE = 1e-9
"""Relative slack when checking low <= open, close <= high (float noise of adjusted data)."""

TIME_COLUMNS = ("date", "datetime", "time", "timestamp", "ts_event", "Date", "Datetime")
TICKER_COLUMNS = ("ticker", "symbol")
_FIELD_CANDIDATES = {
    "open": ("open", "1. open", "Open"),
    "high": ("high", "2. high", "High"),
    "low": ("low", "3. low", "Low"),
    "close": ("close", "4. close", "Close"),
    "volume": ("volume", "5. volume", "6. volume", "Volume"),
}


@dataclass(frozen=True, slots=True)
class BarColumns:
    """Which file column holds each bar field."""

    time: str
    open: str
    high: str
    low: str
    close: str
    volume: str
    ticker: str | None


def bar_columns(text: TextFile, names: list[str]) -> BarColumns:
    """Return the time, OHLCV and ticker columns of a bar file.

    Raises:
        FileFormatError: A required column is missing (naming it).
    """
    time_column = find_column(names, *TIME_COLUMNS)
    if time_column is None:
        raise text.error(1, "date", "no date/time column (date, datetime, time, timestamp)")
    found: dict[str, str] = {}
    for key, candidates in _FIELD_CANDIDATES.items():
        column = find_column(names, *candidates)
        if column is None:
            raise text.error(1, key, f"missing column {key!r}")
        found[key] = column
    return BarColumns(
        time_column,
        found["open"],
        found["high"],
        found["low"],
        found["close"],
        found["volume"],
        find_column(names, *TICKER_COLUMNS),
    )


def bar_tickers(
    text: TextFile, cells: pd.DataFrame, columns: BarColumns, options: ReadOptions
) -> pd.Series:
    """Return each row's ticker: `ticker=`, else the ticker column, else the file name.

    Raises:
        FileFormatError: None of the three names a ticker.
    """
    if options.ticker is not None:
        return pd.Series(options.ticker, index=cells.index, dtype=object)
    if columns.ticker is not None:
        return cells[columns.ticker].astype("str").str.strip().str.upper().astype(object)
    name = ticker_from_file_name(text.path)
    if name is None:
        raise text.error(None, "ticker", "no ticker column and none in the file name; pass ticker=")
    return pd.Series(name, index=cells.index, dtype=object)


def refuse_missing_tickers(tickers: pd.Series, columns: BarColumns, checks: RowChecks) -> None:
    """Refuse rows whose ticker cell is empty."""
    missing = tickers.astype("str").str.strip().str.lower().isin(["", "nan", "none"])
    checks.refuse(missing, columns.ticker or "ticker", "missing ticker")


def bar_values(cells: pd.DataFrame, columns: BarColumns, checks: RowChecks) -> pd.DataFrame:
    """Return open/high/low/close/volume as floats, refusing bad rows.

    Refused: not a number, missing, negative, high < low, open or close outside
    [low, high].
    """
    values = {}
    for key in (*PRICE_FIELDS, "volume"):
        column = getattr(columns, key)
        values[key], invalid = parse_numbers(cells[column])
        checks.refuse_invalid_numbers(cells[column], invalid, column)
        checks.refuse(values[key].isna() & ~invalid, column, "missing value")
        checks.refuse_negative(values[key], column)
    frame = pd.DataFrame(values)
    slack = OHLC_TOLERANCE * frame["high"].abs()
    checks.refuse(
        frame["high"] < frame["low"] - slack,
        columns.high,
        "high below low: " + frame["high"].astype("str") + " < " + frame["low"].astype("str"),
    )
    for key in ("open", "close"):
        outside = (frame[key] > frame["high"] + slack) | (frame[key] < frame["low"] - slack)
        checks.refuse(outside, getattr(columns, key), f"{key} outside the low-high range")
    return frame


def typical_spacing_seconds(instants: pd.Series) -> float | None:
    """Return the most common positive gap between consecutive instants, in seconds."""
    gaps = instants.dropna().sort_values().diff().dt.total_seconds()
    gaps = gaps[gaps > 0]
    if gaps.empty:
        return None
    return float(gaps.mode().iloc[0])
