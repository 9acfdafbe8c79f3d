"""One-minute OHLCV bars (format ``ohlcv_1min``).

Timestamps with a UTC offset are converted to UTC; naive ones are exchange-local time
(America/New_York for XNYS tickers, UTC for crypto). A bar's session is its local date,
which must be an XNYS session (else the bar is quarantined: the lumibot "XYZ" file is
futures-like and trades on 2020-01-20 and 2020-02-17, NYSE holidays); it is regular when it
starts at or after 09:30 and before the close (16:00; 13:00 on half days).

Bar labels: files normally stamp a bar with its start minute. A file whose bars all lie in
(09:30, 16:00] local time and that has bars stamped exactly 16:00 stamps bars with their END
minute (XYZ: 09:31 ... 16:00, 390 per day); its stamps are moved back one minute and a note
says so. Files whose typical spacing is not 60 s are refused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from optionscope.domain import tables
from optionscope.domain.calendar import (
    CALENDAR_FIRST_SESSION,
    CALENDAR_LAST_DATE,
    NEW_YORK,
    bar_sessions_of,
)
from optionscope.domain.instruments import CRYPTO_CALENDAR, XNYS, AssetClass, classify_ticker
from optionscope.sources import FileFormatError, ParsedFile
from optionscope.sources.files.bars import (
    bar_columns,
    bar_tickers,
    bar_values,
    refuse_missing_tickers,
    typical_spacing_seconds,
)
from optionscope.sources.files.frames import conform
from optionscope.sources.files.lines import header_cells, read_text_file, unique_names
from optionscope.sources.files.options import ReadOptions
from optionscope.sources.files.rows import RowChecks, read_rows

FORMAT = "ohlcv_1min"
BAR_SECONDS = 60
_OFFSET = r"(?:[+-]\d{2}:?\d{2}|Z)$"


def _instants(stamps: pd.Series, calendar: str) -> pd.Series:
    text = stamps.astype("str").str.strip()
    aware = text.str.contains(_OFFSET, regex=True)
    result = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
    if aware.any():
        result[aware] = pd.to_datetime(text[aware], utc=True, errors="coerce", format="ISO8601")
    naive = ~aware
    if naive.any():
        local = pd.to_datetime(text[naive], errors="coerce", format="ISO8601")
        zone = "UTC" if calendar == CRYPTO_CALENDAR else NEW_YORK
        result[naive] = local.dt.tz_localize(
            zone, ambiguous="NaT", nonexistent="NaT"
        ).dt.tz_convert("UTC")
    return result


def labels_bar_end(ts: pd.Series) -> bool:
    """Return True when bars look stamped with their end minute (see module docstring)."""
    local = ts.dropna().dt.tz_convert(NEW_YORK)
    if local.empty:
        return False
    minutes = local.dt.hour * 60 + local.dt.minute
    inside = (minutes > 9 * 60 + 30) & (minutes <= 16 * 60)
    return bool(inside.all() and minutes.eq(16 * 60).any())


def read_ohlcv_1min(path: Path, options: ReadOptions) -> ParsedFile:
    """Parse a one-minute OHLCV CSV.

    Args:
        path: The file.
        options: `ticker` overrides the ticker column and the file name.

    Raises:
        FileFormatError: Missing columns, not one-minute spacing, no ticker, no data rows,
            truncated file.
    """
    text = read_text_file(path)
    names = unique_names(header_cells(text.line(1)))
    columns = bar_columns(text, names)
    rows = read_rows(text, 2, names)
    cells = rows.frame
    tickers = bar_tickers(text, cells, columns, options)
    crypto = tickers.map(classify_ticker).eq(AssetClass.CRYPTO)
    calendar = CRYPTO_CALENDAR if bool(crypto.all()) else XNYS
    checks = RowChecks(rows.line_numbers, text.raw_lines(rows.line_numbers))
    refuse_missing_tickers(tickers, columns, checks)
    stamps = cells[columns.time].astype("str").str.strip()
    ts_start = _instants(stamps, calendar)
    checks.refuse(
        ts_start.isna(), columns.time, "not a time (or not a valid local time): " + stamps
    )
    spacing = typical_spacing_seconds(ts_start)
    if spacing is not None and spacing != BAR_SECONDS:
        raise text.error(
            None, columns.time, f"typical bar spacing is {spacing:g} s, not {BAR_SECONDS} s"
        )
    notes = list(text.notes)
    if calendar == XNYS and labels_bar_end(ts_start):
        ts_start = ts_start - pd.Timedelta(seconds=BAR_SECONDS)
        notes.append("bars stamped with their end minute (09:31-16:00); moved back 1 minute")
    if calendar == XNYS:
        local_day = ts_start.dt.tz_convert(NEW_YORK).dt.date
        outside = ts_start.notna() & (
            (local_day < CALENDAR_FIRST_SESSION) | (local_day > CALENDAR_LAST_DATE)
        )
        checks.refuse(
            outside,
            columns.time,
            f"outside the XNYS calendar range {CALENDAR_FIRST_SESSION}..{CALENDAR_LAST_DATE}",
        )
        ts_start = ts_start.mask(outside)
    placeholder = pd.Timestamp("2000-01-03 15:00", tz="UTC")  # for refused rows only
    sessions = bar_sessions_of(ts_start.fillna(placeholder), calendar)
    off_session = ts_start.notna().to_numpy() & ~sessions["is_session_day"].to_numpy()
    checks.refuse(
        off_session, columns.time, "not an XNYS session: " + sessions["session_date"].astype("str")
    )
    values = bar_values(cells, columns, checks)
    checks.refuse_duplicates(pd.DataFrame({"ticker": tickers, "ts": ts_start}), "bar")
    accepted = ~checks.refused
    if not accepted.any():
        raise FileFormatError(path, None, None, "every data row was refused")
    frame = pd.DataFrame(
        {
            "ticker": tickers,
            "ts_start": ts_start,
            "session_date": sessions["session_date"],
            **{key: values[key] for key in ("open", "high", "low", "close", "volume")},
            "is_regular_session": sessions["is_regular_session"],
            "source": FORMAT,
        }
    )[accepted]
    quarantined = sorted(
        [*rows.refused, *checks.quarantined()], key=lambda row: (row.line_number, row.field)
    )
    if np.any(off_session):
        days = sorted(set(sessions.loc[off_session, "session_date"].astype("str")))
        notes.append(f"{int(off_session.sum())} bars on non-sessions {', '.join(days)} quarantined")
    return ParsedFile(
        path=path,
        file_format=FORMAT,
        tables={tables.OHLCV_INTRADAY.name: conform(frame, tables.OHLCV_INTRADAY)},
        rows_read=rows.rows_read,
        quarantined=quarantined,
        notes=notes,
    )
