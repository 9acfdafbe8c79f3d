"""Daily OHLCV CSVs (format ``ohlcv_daily``).

Layouts, told apart by their columns; the layout decides ``is_adjusted``:

* alphavantage: date, 1. open, 2. high, 3. low, 4. close, 5. volume -> False
  (TIME_SERIES_DAILY).
* yfinance_adj_close: Date, Open, High, Low, Close, Adj Close, Volume, ... -> False (OHLC are
  raw; Adj Close is not stored).
* crypto: any OHLCV layout whose ticker is a crypto asset -> False (nothing to adjust).
* yfinance_auto_adjusted: Date, Close, High, Low, Open, Volume (alphabetical, as
  yf.download writes it with auto_adjust) -> True.
* yfinance_history: date, open, ..., volume with tz-aware midnight stamps -> True
  (Ticker.history adjusts by default).

Another layout is refused: guessing whether a price series is adjusted would corrupt returns.
Ticker: `ticker=`, else a ticker/symbol column, else the file name (``alphavantage_DIA_...`` ->
DIA; ``9dsh_BTCUSD_daily...`` -> BTC). Crypto decision: a spot series (BTC-USD) is ticker BTC;
Deribit's perpetual keeps its instrument name BTC-PERPETUAL (a future with funding, not spot),
both on the 24/7 calendar. The session date is the date written in the row; for XNYS tickers
a date that is not a session is quarantined.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from optionscope.domain import tables
from optionscope.domain.calendar import session_mask
from optionscope.domain.instruments import CRYPTO_CALENDAR, XNYS, AssetClass, classify_ticker
from optionscope.sources import FileFormatError, ParsedFile
from optionscope.sources.files.bars import (
    bar_columns,
    bar_tickers,
    bar_values,
    refuse_missing_tickers,
)
from optionscope.sources.files.frames import conform
from optionscope.sources.files.lines import TextFile, header_cells, read_text_file, unique_names
from optionscope.sources.files.options import ReadOptions
from optionscope.sources.files.rows import RowChecks, read_rows

FORMAT = "ohlcv_daily"

_TZ_STAMP = r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?(?:[+-]\d{2}:?\d{2}|Z)$"


def adjustment_layout(
    text: TextFile, names: list[str], tickers: pd.Series, stamps: pd.Series
) -> tuple[str, bool]:
    """Return the layout name and whether its prices are split/dividend adjusted.

    Raises:
        FileFormatError: The layout does not say whether prices are adjusted.
    """
    lower = [name.lower() for name in names]
    if "1. open" in lower:
        return "alphavantage", False
    if "adj close" in lower or "adj_close" in lower or "adjclose" in lower:
        return "yfinance_adj_close", False
    if len(tickers) and tickers.map(classify_ticker).eq(AssetClass.CRYPTO).all():
        return "crypto", False
    if lower[:6] == ["date", "close", "high", "low", "open", "volume"]:
        return "yfinance_auto_adjusted", True
    if len(stamps) and stamps.str.strip().str.fullmatch(_TZ_STAMP).all():
        return "yfinance_history", True
    raise text.error(
        1, "is_adjusted", "unknown daily layout: cannot tell whether prices are adjusted"
    )


def read_ohlcv_daily(path: Path, options: ReadOptions) -> ParsedFile:
    """Parse a daily OHLCV CSV.

    Args:
        path: The file.
        options: `ticker` overrides the ticker column and the file name.

    Raises:
        FileFormatError: Missing columns, unknown layout, intraday timestamps, no ticker,
            no data rows, truncated file.
    """
    text = read_text_file(path)
    names = unique_names(header_cells(text.line(1)))
    columns = bar_columns(text, names)
    rows = read_rows(text, 2, names)
    cells = rows.frame
    stamps = cells[columns.time].astype("str").str.strip()
    times_of_day = stamps.str.slice(11, 19)
    if times_of_day.nunique() > 1:
        raise text.error(
            int(rows.line_numbers[0]),
            columns.time,
            "timestamps have several times of day: not daily bars",
        )
    tickers = bar_tickers(text, cells, columns, options)
    layout, is_adjusted = adjustment_layout(text, names, tickers, stamps)
    checks = RowChecks(rows.line_numbers, text.raw_lines(rows.line_numbers))
    refuse_missing_tickers(tickers, columns, checks)
    dates = pd.to_datetime(stamps.str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
    checks.refuse(dates.isna(), columns.time, "not a date: " + stamps)
    calendars = tickers.map(
        lambda name: CRYPTO_CALENDAR if classify_ticker(name) is AssetClass.CRYPTO else XNYS
    )
    listed = calendars.eq(XNYS).to_numpy()
    sessions = session_mask(dates.dt.date, XNYS)
    checks.refuse(
        listed & dates.notna().to_numpy() & ~sessions,
        columns.time,
        "not an XNYS session: " + stamps.str.slice(0, 10),
    )
    values = bar_values(cells, columns, checks)
    checks.refuse_duplicates(pd.DataFrame({"ticker": tickers, "date": dates}), "session")
    accepted = ~checks.refused
    if not accepted.any():
        raise FileFormatError(path, None, None, "every data row was refused")
    frame = pd.DataFrame(
        {
            "ticker": tickers,
            "session_date": dates.dt.date,
            **{key: values[key] for key in ("open", "high", "low", "close", "volume")},
            "is_adjusted": is_adjusted,
            "source": f"{FORMAT}:{layout}",
        }
    )[accepted]
    quarantined = sorted(
        [*rows.refused, *checks.quarantined()], key=lambda row: (row.line_number, row.field)
    )
    return ParsedFile(
        path=path,
        file_format=FORMAT,
        tables={tables.OHLCV_DAILY.name: conform(frame, tables.OHLCV_DAILY)},
        rows_read=rows.rows_read,
        quarantined=quarantined,
        notes=[*text.notes, f"layout {layout}: is_adjusted={is_adjusted}"],
    )
