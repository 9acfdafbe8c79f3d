"""yfinance-style option chain CSVs (format ``yfinance_chain``).

yfinance's `Ticker.option_chain()` frames saved with extra columns by their authors. The
importer reads columns by name, so every layout seen works:

* full chain (ZOOMKB): ticker, expiry, option_type, strike, ..., S, spot_date,
  downloaded_at_utc, contractSymbol, lastTradeDate, ...
* chain with spot (jacksonfraser, ruizsantiago 2026-03-16): contractSymbol, ..., type,
  expiry|expiration, underlying|ticker, spot|spot_price
* compact (ruizsantiago later files): ticker, type, strike, lastPrice, bid, ask, volume,
  openInterest, impliedVolatility, change, pct_change, expiration, spot_price (no symbol:
  built as ticker + date + right + strike, root = ticker)
* plain calls/puts frame (ebtrader): index, contractSymbol, lastTradeDate, strike, ...

Capture instant, first found: `snapshot_time=` (flag ``snapshot_time_supplied``), a
``downloaded_at_utc`` column, an ISO stamp with offset in the file name (ruizsantiago's
``commit2026-03-16T1742-0300``, flag ``snapshot_time_from_file_name``); none -> the file is
refused (FileFormatError on field ``snapshot_time``). The session is the XNYS session that
instant reflects (a Sunday download reflects Friday's close).

Null rules: bid/ask/lastPrice 0 -> NULL; volume/openInterest blank -> NULL (0 kept);
impliedVolatility <= 0.0001 -> NULL (Yahoo writes 1e-05 when it has no vol; values > 2 on
deep in-the-money strikes are Yahoo's and kept). No greeks. The spot column (S, spot,
spot_price) is the header spot and each row's underlying price.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from optionscope.domain.calendar import session_date_of
from optionscope.domain.instruments import (
    AssetClass,
    classify_ticker,
    describe_ticker,
    underlying_of_root,
)
from optionscope.domain.symbols import parse_osi_series
from optionscope.sources import ParsedFile
from optionscope.sources.files.chains import (
    CHAIN_COLUMNS,
    FLAG_ROOT_ASSUMED,
    FLAG_SNAPSHOT_TIME_FROM_FILE_NAME,
    FLAG_SNAPSHOT_TIME_SUPPLIED,
    SnapshotInfo,
    assemble_chain,
)
from optionscope.sources.files.file_names import instant_from_file_name
from optionscope.sources.files.lines import (
    TextFile,
    find_column,
    header_cells,
    read_text_file,
    unique_names,
)
from optionscope.sources.files.options import ReadOptions
from optionscope.sources.files.rows import RowChecks, parse_numbers, read_rows

FORMAT = "yfinance_chain"

YAHOO_NO_IV = 1e-4
"""Implied vols at or below this are Yahoo's "no value" (it writes 1e-05)."""

FLAG_LAST_TRADE_AFTER_SNAPSHOT = "last_trade_after_snapshot_time"
CAPTURE_COLUMNS = ("downloaded_at_utc", "downloaded_at", "fetched_at_utc", "snapshot_time")
SPOT_COLUMNS = ("S", "spot", "spot_price", "underlyingPrice", "underlying_price")
NUMBER_COLUMNS = {
    "bid": ("bid",),
    "ask": ("ask",),
    "last": ("lastPrice",),
    "volume": ("volume",),
    "open_interest": ("openInterest",),
    "vendor_iv": ("impliedVolatility",),
    "spot": SPOT_COLUMNS,
}
REQUIRED = ("bid", "ask", "vendor_iv")


def _capture_time(
    text: TextFile, cells: pd.DataFrame, names: list[str], options: ReadOptions
) -> tuple[pd.Series, list[str]]:
    if options.snapshot_time is not None:
        return pd.Series(options.snapshot_time, index=cells.index), [FLAG_SNAPSHOT_TIME_SUPPLIED]
    column = find_column(names, *CAPTURE_COLUMNS)
    if column is not None:
        stamps = pd.to_datetime(
            cells[column].astype("str").str.strip(), utc=True, errors="coerce", format="ISO8601"
        )
        if stamps.notna().any():
            return stamps, []
    from_name = instant_from_file_name(text.path)
    if from_name is not None:
        return pd.Series(from_name, index=cells.index), [FLAG_SNAPSHOT_TIME_FROM_FILE_NAME]
    raise text.error(
        None,
        "snapshot_time",
        "no capture instant: no downloaded_at_utc column and no ISO time with UTC "
        "offset in the file name; pass snapshot_time=",
    )


def _tickers(cells: pd.Series) -> pd.Series:
    # Yahoo spells indexes with a caret (^SPX); the option underlying is SPX.
    return cells.astype("str").str.strip().str.upper().str.removeprefix("^")


def _symbols(
    cells: pd.DataFrame, names: list[str], checks: RowChecks, text: TextFile
) -> tuple[pd.DataFrame, bool]:
    symbol_column = find_column(names, "contractSymbol")
    ticker_column = find_column(names, "ticker", "underlying")
    right_column = find_column(names, "option_type", "type", "optionType")
    expiry_column = find_column(names, "expiry", "expiration", "expirationDate")
    strike_column = find_column(names, "strike")
    right = None
    if right_column is not None:
        right = cells[right_column].astype("str").str.strip().str.upper().str[:1]
        checks.refuse(
            ~right.isin(["C", "P"]),
            right_column,
            "not call/put: " + cells[right_column].astype("str"),
        )
    strike, strike_bad = (
        parse_numbers(cells[strike_column]) if strike_column is not None else (None, None)
    )
    if strike_column is not None and strike is not None and strike_bad is not None:
        checks.refuse_invalid_numbers(cells[strike_column], strike_bad, strike_column)
    expiry = None
    if expiry_column is not None:
        expiry = pd.to_datetime(
            cells[expiry_column].astype("str").str.strip().str[:10],
            format="%Y-%m-%d",
            errors="coerce",
        )
        checks.refuse(
            expiry.isna(), expiry_column, "not a date: " + cells[expiry_column].astype("str")
        )
    if symbol_column is not None:
        symbols = parse_osi_series(cells[symbol_column])
        checks.refuse(
            ~symbols["is_valid"],
            symbol_column,
            "not an OSI symbol: " + cells[symbol_column].astype("str"),
        )
        valid = symbols["is_valid"]
        if right is not None:
            checks.refuse(
                valid & right.ne(symbols["option_right"]),
                right_column or "type",
                "call/put differs from the symbol",
            )
        if strike is not None:
            checks.refuse(
                valid & (strike - symbols["strike"]).abs().gt(1e-6),
                strike_column or "strike",
                "strike differs from the symbol",
            )
        if expiry is not None:
            checks.refuse(
                valid & pd.to_datetime(symbols["expiry"]).ne(expiry),
                expiry_column or "expiry",
                "expiry differs from the symbol",
            )
        from_root = symbols["root"].map(underlying_of_root, na_action="ignore")
        if ticker_column is None:
            return symbols.assign(underlying=from_root), False
        underlying = _tickers(cells[ticker_column])
        checks.refuse(
            valid & from_root.ne(underlying),
            symbol_column,
            "symbol root is not an option on " + underlying,
        )
        return symbols.assign(underlying=underlying), False
    if ticker_column is None or right is None or expiry is None or strike is None:
        raise text.error(
            1,
            "contractSymbol",
            "no contractSymbol column and not all of ticker, type, expiration, strike to build one",
        )
    ticker = _tickers(cells[ticker_column])
    built = (
        ticker
        + expiry.dt.strftime("%y%m%d").fillna("000000")
        + right
        + (strike * 1000).round().fillna(0).astype("int64").astype("str").str.zfill(8)
    )
    symbols = parse_osi_series(built.where(~checks.refused, ""))
    checks.refuse(~symbols["is_valid"], ticker_column, "cannot form an OSI symbol")
    return symbols.assign(underlying=ticker), True


def read_yfinance_chain(path: Path, options: ReadOptions) -> ParsedFile:
    """Parse a yfinance-style option chain CSV.

    Args:
        path: The file.
        options: `snapshot_time` when the file and its name carry no capture instant.

    Raises:
        FileFormatError: Required columns missing, no capture instant, no data rows,
            truncated file.
    """
    text = read_text_file(path)
    names = unique_names(header_cells(text.line(1)))
    columns = {key: find_column(names, *candidates) for key, candidates in NUMBER_COLUMNS.items()}
    for key in REQUIRED:
        if columns[key] is None:
            name = NUMBER_COLUMNS[key][0]
            raise text.error(1, name, f"missing column {name!r}")
    rows = read_rows(text, 2, names)
    cells = rows.frame
    checks = RowChecks(rows.line_numbers, text.raw_lines(rows.line_numbers))
    symbols, root_assumed = _symbols(cells, names, checks, text)
    snapshot_time, flags = _capture_time(text, cells, names, options)
    checks.refuse(
        snapshot_time.isna(),
        find_column(names, *CAPTURE_COLUMNS) or "snapshot_time",
        "not an instant",
    )
    values: dict[str, pd.Series] = {}
    for key, column in columns.items():
        if column is None:
            values[key] = pd.Series(np.nan, index=cells.index)
            continue
        values[key], invalid = parse_numbers(cells[column])
        checks.refuse_invalid_numbers(cells[column], invalid, column)
        if key != "vendor_iv":
            checks.refuse_negative(values[key], column)
    bid = values["bid"].where(values["bid"] > 0)
    ask = values["ask"].where(values["ask"] > 0)
    checks.refuse_bid_above_ask(bid, ask, columns["bid"] or "bid")
    checks.refuse_duplicates(
        pd.DataFrame(
            {
                "underlying": symbols["underlying"],
                "symbol": symbols["contract_symbol"],
                "time": snapshot_time,
            }
        ),
        "contract",
    )
    iv = values["vendor_iv"]
    chain = pd.DataFrame(
        {
            "underlying": symbols["underlying"],
            "contract_symbol": symbols["contract_symbol"],
            "root": symbols["root"],
            "expiry": symbols["expiry"],
            "strike": symbols["strike"],
            "option_right": symbols["option_right"],
            "bid": bid,
            "ask": ask,
            "last": values["last"].where(values["last"] > 0),
            "mark": np.nan,
            "volume": values["volume"],
            "open_interest": values["open_interest"],
            "vendor_iv": iv.where(iv > YAHOO_NO_IV),
            "vendor_delta": np.nan,
            "vendor_gamma": np.nan,
            "vendor_vega": np.nan,
            "vendor_theta": np.nan,
            "underlying_price": values["spot"].where(values["spot"] > 0),
            "ts_event": pd.NaT,
            "snapshot_time": snapshot_time,
        }
    )[~checks.refused].reset_index(drop=True)
    quarantined = sorted(
        [*rows.refused, *checks.quarantined()], key=lambda row: (row.line_number, row.field)
    )
    if chain.empty:
        raise text.error(None, None, "every data row was refused")
    last_trade = _last_trade_times(cells, names)[~checks.refused].reset_index(drop=True)
    snapshots = []
    for (underlying, _), group in chain.groupby(["underlying", "snapshot_time"], sort=True):
        stamp = pd.to_datetime(group["snapshot_time"], utc=True).min()
        snapshot_flags = list(flags)
        if root_assumed and classify_ticker(str(underlying)) is AssetClass.INDEX:
            snapshot_flags.append(FLAG_ROOT_ASSUMED)
        if bool((last_trade[group.index] > stamp).any()):
            snapshot_flags.append(FLAG_LAST_TRADE_AFTER_SNAPSHOT)
        spot = group["underlying_price"].dropna()
        snapshots.append(
            SnapshotInfo(
                str(underlying),
                stamp,
                session_date_of(stamp),
                header_spot=float(spot.iloc[0]) if len(spot) else None,
                flags=snapshot_flags,
            )
        )
    multipliers = {
        info.underlying: describe_ticker(info.underlying).option_multiplier for info in snapshots
    }
    parsed_tables, notes = assemble_chain(
        chain.loc[:, [*CHAIN_COLUMNS, "snapshot_time"]],
        snapshots,
        source=FORMAT,
        source_file=path.name,
        price_currency="USD",
        premium_currency="USD",
        multiplier=max(multipliers.values()),
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


def _last_trade_times(cells: pd.DataFrame, names: list[str]) -> pd.Series:
    column = find_column(names, "lastTradeDate")
    if column is None:
        return pd.Series(pd.NaT, index=cells.index, dtype="datetime64[ns, UTC]")
    # yfinance writes UTC; older versions without the offset.
    return pd.to_datetime(
        cells[column].astype("str").str.strip(), utc=True, errors="coerce", format="ISO8601"
    )
