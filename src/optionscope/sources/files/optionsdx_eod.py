"""OptionsDX end-of-day chains (format ``optionsdx_eod``).

Layout: bracketed column names, cells with leading spaces, calls and puts side by side::

    [QUOTE_UNIXTIME],[QUOTE_READTIME],[QUOTE_DATE],...,[C_IV],[C_VOLUME],[C_LAST],[C_SIZE],
        [C_BID],[C_ASK],[STRIKE],[P_BID],...,[P_IV],[P_VOLUME],[STRIKE_DISTANCE],...
    1672434000, 2022-12-30 16:00,2022-12-30,16.0,382.44, 2022-12-30,...,  , 1.000000,229.68,
        2 x 2,232.25,232.4,150.0,0.0,0.01, 0 x 6559,...

Each line holds a call and a put; the line is one data row, accepted or quarantined whole
(the field names the side: ``calls.C_BID``, ``puts.P_IV``). The file
has no ticker and no option root: the ticker comes from `ticker=` or the file name
(``spy_eod_...`` -> SPY) and the root is the ticker (so SPX files get root SPX, AM
settlement, for every expiry: flagged ``option_root_assumed`` for index tickers). One chain
snapshot per QUOTE_UNIXTIME (monthly OptionsDX files hold many days).

Null rules: BID, ASK, LAST 0 -> NULL (no quote / no trade); VOLUME blank -> NULL, 0 kept;
IV blank, 0 or negative (OptionsDX writes small negatives such as -0.00008 when its solver
fails: 181 near-the-money 0DTE calls on 2022-12-30, with real quotes) -> NULL, and then
DELTA, GAMMA, VEGA, THETA are intrinsic-value fills (delta +-1, gamma 0, vega 0) -> NULL;
the row itself is kept. No open interest in this format (NULL). Sizes
("2 x 2") and rho are not stored.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from optionscope.domain.calendar import session_date_of
from optionscope.domain.instruments import AssetClass, classify_ticker, describe_ticker
from optionscope.domain.symbols import parse_osi_series
from optionscope.sources import ParsedFile
from optionscope.sources.files.chains import (
    CHAIN_COLUMNS,
    FLAG_ROOT_ASSUMED,
    SnapshotInfo,
    assemble_chain,
)
from optionscope.sources.files.file_names import ticker_from_file_name
from optionscope.sources.files.lines import TextFile, header_cells, read_text_file
from optionscope.sources.files.options import ReadOptions
from optionscope.sources.files.rows import RowChecks, StringRows, parse_numbers, read_rows

FORMAT = "optionsdx_eod"

SHARED_COLUMNS: tuple[str, ...] = ("QUOTE_UNIXTIME", "UNDERLYING_LAST", "EXPIRE_DATE", "STRIKE")
SIDE_COLUMNS: tuple[str, ...] = (
    "DELTA",
    "GAMMA",
    "VEGA",
    "THETA",
    "IV",
    "VOLUME",
    "LAST",
    "BID",
    "ASK",
)
"""Per-side columns read (prefixed C_ / P_); RHO and SIZE are present but not stored."""

NON_NEGATIVE: tuple[str, ...] = ("VOLUME", "LAST", "BID", "ASK")


def column_names(text: TextFile) -> list[str]:
    """Return the header names without brackets and spaces."""
    return [name.strip("[] ") for name in header_cells(text.line(1))]


def _check_columns(text: TextFile, names: list[str]) -> None:
    required = [*SHARED_COLUMNS, *(f"{side}_{name}" for side in "CP" for name in SIDE_COLUMNS)]
    for name in required:
        if name not in names:
            raise text.error(1, name, f"missing column [{name}]")


def _side(
    rows: StringRows,
    checks: RowChecks,
    side: str,
    ticker: str,
    shared: dict[str, pd.Series],
    shared_invalid: dict[str, pd.Series],
) -> pd.DataFrame:
    """Check one side of every line (refusals go to the shared `checks`); return its rows."""
    frame = rows.frame
    checks.field_prefix = "calls." if side == "C" else "puts."
    for column in ("QUOTE_UNIXTIME", "UNDERLYING_LAST", "STRIKE"):
        checks.refuse_invalid_numbers(frame[column], shared_invalid[column], column)
        checks.refuse(shared[column].isna() & ~shared_invalid[column], column, f"missing {column}")
    expiry = shared["EXPIRE_DATE"]
    checks.refuse(expiry.isna(), "EXPIRE_DATE", "not a date: " + frame["EXPIRE_DATE"].astype("str"))
    values: dict[str, pd.Series] = {}
    for column in SIDE_COLUMNS:
        cells = frame[f"{side}_{column}"]
        values[column], invalid = parse_numbers(cells)
        checks.refuse_invalid_numbers(cells, invalid, f"{side}_{column}")
    for column in NON_NEGATIVE:
        checks.refuse_negative(values[column], f"{side}_{column}")
    strike = shared["STRIKE"]
    checks.refuse(strike.le(0), "STRIKE", "strike must be positive")
    bid = values["BID"].where(values["BID"] > 0)
    ask = values["ASK"].where(values["ASK"] > 0)
    checks.refuse_bid_above_ask(bid, ask, f"{side}_BID")
    strike_digits = (strike * 1000).round().fillna(0).astype("int64").astype("str").str.zfill(8)
    built = ticker + expiry.dt.strftime("%y%m%d").fillna("") + side + strike_digits
    symbols = parse_osi_series(pd.Series(np.where(checks.refused, "", built), index=frame.index))
    checks.refuse(~symbols["is_valid"], "STRIKE", "strike or expiry not representable in OSI")
    checks.refuse_duplicates(
        pd.DataFrame({"time": shared["QUOTE_UNIXTIME"], "symbol": symbols["contract_symbol"]}),
        "contract",
    )
    iv = values["IV"].where(values["IV"] > 0)
    no_vol = iv.isna()
    return pd.DataFrame(
        {
            "underlying": ticker,
            "contract_symbol": symbols["contract_symbol"],
            "root": symbols["root"],
            "expiry": symbols["expiry"],
            "strike": symbols["strike"],
            "option_right": side,
            "bid": bid,
            "ask": ask,
            "last": values["LAST"].where(values["LAST"] > 0),
            "mark": np.nan,
            "volume": values["VOLUME"],
            "open_interest": np.nan,
            "vendor_iv": iv,
            "vendor_delta": values["DELTA"].mask(no_vol),
            "vendor_gamma": values["GAMMA"].mask(no_vol),
            "vendor_vega": values["VEGA"].mask(no_vol),
            "vendor_theta": values["THETA"].mask(no_vol),
            "underlying_price": shared["UNDERLYING_LAST"],
            "ts_event": pd.NaT,
            "snapshot_time": pd.to_datetime(shared["QUOTE_UNIXTIME"], unit="s", utc=True),
        }
    )


def read_optionsdx_eod(path: Path, options: ReadOptions) -> ParsedFile:
    """Parse an OptionsDX EOD chain file (a line, call and put, is accepted or refused whole).

    Args:
        path: The file.
        options: `ticker` names the underlying (else the file name must); a `snapshot_time`
            is not used (QUOTE_UNIXTIME is in every row).

    Raises:
        FileFormatError: Missing columns, no ticker, no data rows, truncated file.
    """
    text = read_text_file(path)
    names = column_names(text)
    _check_columns(text, names)
    ticker = options.ticker or ticker_from_file_name(path)
    if ticker is None:
        raise text.error(None, "ticker", "no ticker in the rows or the file name; pass ticker=")
    rows = read_rows(text, 2, names)
    shared: dict[str, pd.Series] = {}
    shared_invalid: dict[str, pd.Series] = {}
    for column in ("QUOTE_UNIXTIME", "UNDERLYING_LAST", "STRIKE"):
        shared[column], shared_invalid[column] = parse_numbers(rows.frame[column])
    shared["EXPIRE_DATE"] = pd.to_datetime(
        rows.frame["EXPIRE_DATE"].astype("str").str.strip(), format="%Y-%m-%d", errors="coerce"
    )
    checks = RowChecks(rows.line_numbers, text.raw_lines(rows.line_numbers))
    sides = [_side(rows, checks, side, ticker, shared, shared_invalid) for side in ("C", "P")]
    accepted = ~checks.refused
    if not accepted.any():
        raise text.error(None, None, "every data row was refused")
    chain = pd.concat([side[accepted] for side in sides], ignore_index=True)
    quarantined = sorted([*rows.refused, *checks.quarantined()], key=lambda row: row.line_number)
    flags = [FLAG_ROOT_ASSUMED] if classify_ticker(ticker) is AssetClass.INDEX else []
    snapshots = []
    for _, group in chain.groupby("snapshot_time", sort=True):
        stamp = pd.to_datetime(group["snapshot_time"], utc=True).min()
        snapshots.append(
            SnapshotInfo(
                ticker,
                stamp,
                session_date_of(stamp),
                header_spot=_first_positive(group["underlying_price"]),
                flags=list(flags),
            )
        )
    chain = chain.loc[:, [*CHAIN_COLUMNS, "snapshot_time"]]
    parsed_tables, notes = assemble_chain(
        chain,
        snapshots,
        source=FORMAT,
        source_file=path.name,
        price_currency="USD",
        premium_currency="USD",
        multiplier=describe_ticker(ticker).option_multiplier,
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


def _first_positive(values: pd.Series) -> float | None:
    positive = values[values > 0]
    return float(positive.iloc[0]) if len(positive) else None
