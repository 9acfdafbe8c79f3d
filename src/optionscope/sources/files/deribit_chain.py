"""Deribit option chain CSVs (format ``deribit_chain``), five layouts read by column name.

* ticker_dump (public/ticker results): instrument_name, timestamp, greeks, best_bid_price;
  coin prices; capture = max(timestamp), epoch ms.
* instrument_ticker: instrument_name, expiration_timestamp, spot_ref, mark_iv; coin prices;
  no capture instant (pass snapshot_time=).
* book_summary_derived: instrument_name, T_years, market_price_btc; coin prices; capture
  estimated from T_years (below).
* book_summary (get_book_summary_by_currency): instrument_name, creation_timestamp,
  mark_price, bid_price; coin prices; capture = max(creation_timestamp), epoch ms.
* usd_chain: Instrument, Bid Price (USD), Ask Price (USD); USD prices; no capture instant.

Conversions: IVs are percent -> decimal; epoch milliseconds -> UTC; coin prices keep
``price_currency`` BTC/ETH (the settlement currency), USD-converted ones say USD. Contracts:
underlying and root = the base currency, multiplier 1, European, settlement FIXED at 08:00
UTC; the session is the UTC date.

Null rules: bid/ask/last/mark 0 or blank -> NULL (Deribit has no zero price: an empty book
side); IV 0 or blank -> NULL; the ticker dump's ``'volume': None`` -> NULL; greeks as given
(Deribit computes them from the mark IV, so a 0.0 is a rounded value). Deribit chains are not
parity-checked (coin prices; no single spot): ``spot_check`` is "unchecked"; the header spot
is the index price where the file has one (estimated_delivery_price, index_price, spot_ref).

A supplied instant earlier than an instrument's creation_timestamp (instrument_ticker) is
flagged ``instrument_created_after_snapshot_time``.

book_summary_derived (heston-bitcoin-pricing's extract script) has no time column, but its
``T_years = round((expiry 08:00 UTC - utcnow) / 365 days, 5)``; every row bounds the capture
instant to +-158 s and the intersection over all rows is used (flag
``snapshot_time_estimated``); inconsistent T_years refuse the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from optionscope.domain.instruments import CRYPTO_CALENDAR, CRYPTO_OPTION_MULTIPLIER
from optionscope.domain.symbols import parse_deribit_series
from optionscope.sources import ParsedFile
from optionscope.sources.files.chains import (
    CHAIN_COLUMNS,
    FLAG_SNAPSHOT_TIME_SUPPLIED,
    SnapshotInfo,
    assemble_chain,
)
from optionscope.sources.files.lines import (
    TextFile,
    header_cells,
    read_text_file,
    unique_names,
)
from optionscope.sources.files.options import ReadOptions
from optionscope.sources.files.rows import RowChecks, parse_numbers, read_rows

FORMAT = "deribit_chain"

FLAG_SNAPSHOT_TIME_ESTIMATED = "snapshot_time_estimated"
FLAG_CREATED_AFTER_SNAPSHOT = "instrument_created_after_snapshot_time"
T_YEARS_DAYS = 365.0
"""Days per year in book_summary_derived's T_years."""
T_YEARS_HALF_STEP = 0.000005
"""Half of T_years' rounding step (5 decimals), in years."""

GREEK_KEYS = ("delta", "gamma", "vega", "theta")


@dataclass(frozen=True, slots=True)
class DeribitLayout:
    """Where one Deribit layout keeps each field (None: absent).

    Attributes:
        name: Layout name (recorded in `source`).
        signature: Columns whose presence identifies the layout.
        columns: Canonical field -> file column.
        price_currency: "coin" (the settlement currency) or "USD".
        iv_percent: Whether IV columns are in percent.
        capture: How the capture instant is found: "max_ms:<column>", "t_years" or "none".
        header_spot: Column whose median is the header spot, or None.
    """

    name: str
    signature: frozenset[str]
    columns: dict[str, str] = field(default_factory=dict)
    price_currency: str = "coin"
    iv_percent: bool = True
    capture: str = "none"
    header_spot: str | None = None


LAYOUTS: tuple[DeribitLayout, ...] = (
    DeribitLayout(
        "ticker_dump",
        frozenset({"instrument_name", "timestamp", "greeks", "best_bid_price"}),
        {
            "symbol": "instrument_name",
            "right": "option_type",
            "strike": "strike",
            "expiry": "expiration_timestamp",
            "bid": "best_bid_price",
            "ask": "best_ask_price",
            "last": "last_price",
            "mark": "mark_price",
            "open_interest": "open_interest",
            "iv": "mark_iv",
            "underlying_price": "underlying_price",
            "ts_event": "timestamp",
            "greeks": "greeks",
            "stats": "stats",
        },
        capture="max_ms:timestamp",
        header_spot="index_price",
    ),
    DeribitLayout(
        "instrument_ticker",
        frozenset({"instrument_name", "expiration_timestamp", "spot_ref", "mark_iv"}),
        {
            "symbol": "instrument_name",
            "right": "type",
            "strike": "strike",
            "expiry": "expiration_timestamp",
            "bid": "best_bid_price",
            "ask": "best_ask_price",
            "mark": "mark_price",
            "open_interest": "open_interest",
            "volume": "volume",
            "iv": "mark_iv",
            "underlying_price": "underlying_price",
            "delta": "delta",
            "gamma": "gamma",
            "theta": "theta",
            "vega": "vega",
            "created": "creation_timestamp",
        },
        header_spot="spot_ref",
    ),
    DeribitLayout(
        "book_summary_derived",
        frozenset({"instrument_name", "T_years", "market_price_btc"}),
        {
            "symbol": "instrument_name",
            "right": "type",
            "strike": "strike",
            "expiry": "expiry_date",
            "bid": "bid_btc",
            "ask": "ask_btc",
            "mark": "market_price_btc",
            "open_interest": "open_interest",
            "iv": "mark_iv",
            "underlying_price": "S0",
        },
        capture="t_years",
    ),
    DeribitLayout(
        "book_summary",
        frozenset({"instrument_name", "creation_timestamp", "mark_price", "bid_price"}),
        {
            "symbol": "instrument_name",
            "right": "option_type",
            "strike": "strike_price",
            "expiry": "expire_date",
            "bid": "bid_price",
            "ask": "ask_price",
            "last": "last",
            "mark": "mark_price",
            "open_interest": "open_interest",
            "volume": "volume",
            "iv": "mark_iv",
            "underlying_price": "underlying_price",
            "ts_event": "creation_timestamp",
        },
        capture="max_ms:creation_timestamp",
        header_spot="estimated_delivery_price",
    ),
    DeribitLayout(
        "usd_chain",
        frozenset({"Instrument", "Bid Price (USD)", "Ask Price (USD)"}),
        {
            "symbol": "Instrument",
            "right": "Option Type",
            "strike": "Strike Price",
            "expiry": "Expiration Date",
            "bid": "Bid Price (USD)",
            "ask": "Ask Price (USD)",
            "last": "Last Price (USD)",
            "open_interest": "open_interest",
            "volume": "total traded volume",
            "delta": "Delta",
            "gamma": "Gamma",
            "theta": "Theta",
            "vega": "Vega",
        },
        price_currency="USD",
    ),
)

NUMERIC_FIELDS = (
    "strike",
    "bid",
    "ask",
    "last",
    "mark",
    "open_interest",
    "volume",
    "iv",
    "underlying_price",
    "delta",
    "gamma",
    "theta",
    "vega",
)
NON_NEGATIVE_FIELDS = ("bid", "ask", "last", "mark", "open_interest", "volume")


def detect_layout(names: list[str]) -> DeribitLayout | None:
    """Return the Deribit layout whose signature columns are all in `names`, or None."""
    present = set(names)
    return next((layout for layout in LAYOUTS if layout.signature <= present), None)


def _dict_number(cells: pd.Series, key: str) -> tuple[pd.Series, pd.Series]:
    extracted = cells.astype("str").str.extract(rf"'{key}'\s*:\s*([^,}}\s]+)")[0]
    return parse_numbers(extracted.fillna(""))


def _parse_expiry(cells: pd.Series) -> pd.Series:
    text = cells.astype("str").str.strip()
    milliseconds = pd.to_numeric(text, errors="coerce")
    parsed = pd.to_datetime(milliseconds, unit="ms", utc=True).dt.tz_localize(None)
    for layout in ("%Y-%m-%d", "%d%b%y", "%d-%b-%y"):
        missing = parsed.isna()
        if not missing.any():
            break
        parsed[missing] = pd.to_datetime(
            text[missing].str[:10].str.title(), format=layout, errors="coerce"
        )
    return parsed.dt.normalize()


def _values(cells: pd.DataFrame, layout: DeribitLayout, checks: RowChecks) -> dict[str, pd.Series]:
    values: dict[str, pd.Series] = {}
    for key in NUMERIC_FIELDS:
        column = layout.columns.get(key)
        if column is None or column not in cells.columns:
            values[key] = pd.Series(np.nan, index=cells.index)
            continue
        values[key], invalid = parse_numbers(cells[column])
        checks.refuse_invalid_numbers(cells[column], invalid, column)
    greeks_column = layout.columns.get("greeks")
    if greeks_column is not None:
        for key in GREEK_KEYS:
            values[key], invalid = _dict_number(cells[greeks_column], key)
            checks.refuse_invalid_numbers(cells[greeks_column], invalid, greeks_column)
    stats_column = layout.columns.get("stats")
    if stats_column is not None:
        values["volume"], invalid = _dict_number(cells[stats_column], "volume")
        checks.refuse_invalid_numbers(cells[stats_column], invalid, stats_column)
    for key in NON_NEGATIVE_FIELDS:
        checks.refuse_negative(values[key], layout.columns.get(key, key))
    return values


def _estimate_capture(text: TextFile, cells: pd.DataFrame, expiry_time: pd.Series) -> pd.Timestamp:
    years, invalid = parse_numbers(cells["T_years"])
    usable = ~invalid & (years > 0.0001) & expiry_time.notna()
    if not usable.any():
        raise text.error(None, "T_years", "no usable T_years to estimate the capture instant")
    day = pd.Timedelta(days=1)
    center = expiry_time[usable] - years[usable] * T_YEARS_DAYS * day
    half = T_YEARS_HALF_STEP * T_YEARS_DAYS * day
    lower, upper = (center - half).max(), (center + half).min()
    if lower > upper:
        raise text.error(
            None, "T_years", "T_years values bound no common capture instant; pass snapshot_time="
        )
    return (lower + (upper - lower) / 2).floor("s")


def _capture_time(
    text: TextFile,
    cells: pd.DataFrame,
    layout: DeribitLayout,
    options: ReadOptions,
    expiry_time: pd.Series,
    ts_event: pd.Series,
) -> tuple[pd.Timestamp, list[str], list[str]]:
    if options.snapshot_time is not None:
        return options.snapshot_time, [FLAG_SNAPSHOT_TIME_SUPPLIED], []
    if layout.capture.startswith("max_ms:"):
        if ts_event.notna().any():
            return pd.Timestamp(ts_event.max()), [], []
        raise text.error(None, layout.capture.removeprefix("max_ms:"), "no valid timestamp")
    if layout.capture == "t_years":
        stamp = _estimate_capture(text, cells, expiry_time)
        note = f"capture instant {stamp} estimated from T_years (+-158 s per row)"
        return stamp, [FLAG_SNAPSHOT_TIME_ESTIMATED], [note]
    raise text.error(
        None,
        "snapshot_time",
        f"Deribit {layout.name} layout has no capture instant; pass snapshot_time=",
    )


def read_deribit_chain(path: Path, options: ReadOptions) -> ParsedFile:
    """Parse a Deribit option chain CSV (any of `LAYOUTS`).

    Args:
        path: The file.
        options: `snapshot_time` for layouts without a capture instant (replaces it in the
            others, flagged).

    Raises:
        FileFormatError: Unknown layout, no capture instant, no data rows, truncated file.
    """
    text = read_text_file(path)
    names = unique_names(header_cells(text.line(1)))
    layout = detect_layout(names)
    if layout is None:
        raise text.error(1, "instrument_name", "not a known Deribit chain layout")
    rows = read_rows(text, 2, names)
    cells = rows.frame
    checks = RowChecks(rows.line_numbers, text.raw_lines(rows.line_numbers))
    symbol_column = layout.columns["symbol"]
    symbols = parse_deribit_series(cells[symbol_column])
    checks.refuse(
        ~symbols["is_valid"],
        symbol_column,
        "not a Deribit option name: " + cells[symbol_column].astype("str"),
    )
    valid = symbols["is_valid"]
    values = _values(cells, layout, checks)
    right_column = layout.columns.get("right")
    if right_column is not None and right_column in cells.columns:
        right = cells[right_column].astype("str").str.strip().str.upper().str[:1]
        checks.refuse(
            valid & right.ne(symbols["option_right"]),
            right_column,
            "call/put differs from the instrument name",
        )
    checks.refuse(
        valid & (values["strike"] - symbols["strike"]).abs().gt(1e-6),
        layout.columns["strike"],
        "strike differs from the instrument name",
    )
    expiry_column = layout.columns["expiry"]
    if expiry_column is not None and expiry_column in cells.columns:
        expiry = _parse_expiry(cells[expiry_column])
        checks.refuse(
            valid & expiry.ne(pd.to_datetime(symbols["expiry"])),
            expiry_column,
            "expiry differs from the instrument name",
        )
    bid = values["bid"].where(values["bid"] > 0)
    ask = values["ask"].where(values["ask"] > 0)
    checks.refuse_bid_above_ask(bid, ask, layout.columns["bid"])
    checks.refuse_duplicates(symbols["contract_symbol"], "instrument")
    ts_column = layout.columns.get("ts_event")
    ts_event = (
        pd.to_datetime(pd.to_numeric(cells[ts_column], errors="coerce"), unit="ms", utc=True)
        if ts_column is not None
        else pd.Series(pd.NaT, index=cells.index, dtype="datetime64[ns, UTC]")
    )
    expiry_time = pd.to_datetime(symbols["expiry"]).dt.tz_localize("UTC") + pd.Timedelta(hours=8)
    accepted = ~checks.refused
    snapshot_time, flags, notes = _capture_time(
        text, cells[accepted], layout, options, expiry_time[accepted], ts_event[accepted]
    )
    created_column = layout.columns.get("created")
    if created_column is not None and created_column in cells.columns:
        created = pd.to_datetime(
            pd.to_numeric(cells[created_column], errors="coerce"), unit="ms", utc=True
        )
        if bool((created[accepted] > snapshot_time).any()):
            flags.append(FLAG_CREATED_AFTER_SNAPSHOT)
    iv_scale = 0.01 if layout.iv_percent else 1.0
    settlement = symbols["settlement_currency"]
    price_currency = (
        settlement if layout.price_currency == "coin" else pd.Series("USD", index=cells.index)
    )
    chain = pd.DataFrame(
        {
            "underlying": symbols["currency"],
            "contract_symbol": symbols["contract_symbol"],
            "root": symbols["currency"],
            "expiry": symbols["expiry"],
            "strike": symbols["strike"],
            "option_right": symbols["option_right"],
            "bid": bid,
            "ask": ask,
            "last": values["last"].where(values["last"] > 0),
            "mark": values["mark"].where(values["mark"] > 0),
            "volume": values["volume"],
            "open_interest": values["open_interest"],
            "vendor_iv": (values["iv"] * iv_scale).where(values["iv"] > 0),
            "vendor_delta": values["delta"],
            "vendor_gamma": values["gamma"],
            "vendor_vega": values["vega"],
            "vendor_theta": values["theta"],
            "underlying_price": values["underlying_price"].where(values["underlying_price"] > 0),
            "ts_event": ts_event,
            "snapshot_time": snapshot_time,
            "price_currency": price_currency,
            "premium_currency": settlement,
        }
    )[accepted].reset_index(drop=True)
    quarantined = sorted(
        [*rows.refused, *checks.quarantined()], key=lambda row: (row.line_number, row.field)
    )
    if chain.empty:
        raise text.error(None, None, "every data row was refused")
    snapshots = [
        SnapshotInfo(
            str(underlying),
            snapshot_time,
            snapshot_time.date(),
            header_spot=_median_spot(cells[accepted], layout, group.index),
            calendar=CRYPTO_CALENDAR,
            check_parity=False,
            flags=list(flags),
        )
        for underlying, group in chain.groupby("underlying", sort=True)
    ]
    parsed_tables, chain_notes = assemble_chain(
        chain.loc[:, [*CHAIN_COLUMNS, "snapshot_time"]],
        snapshots,
        source=f"{FORMAT}:{layout.name}",
        source_file=path.name,
        price_currency=chain["price_currency"],
        premium_currency=chain["premium_currency"],
        multiplier=CRYPTO_OPTION_MULTIPLIER,
        any_quarantined=bool(quarantined),
    )
    return ParsedFile(
        path=path,
        file_format=FORMAT,
        tables=parsed_tables,
        rows_read=rows.rows_read,
        quarantined=quarantined,
        notes=[*text.notes, *notes, *chain_notes],
    )


def _median_spot(cells: pd.DataFrame, layout: DeribitLayout, positions: pd.Index) -> float | None:
    if layout.header_spot is None or layout.header_spot not in cells.columns:
        return None
    values, _ = parse_numbers(cells[layout.header_spot].reset_index(drop=True))
    selected = values.iloc[positions]
    selected = selected[selected > 0]
    return float(selected.median()) if len(selected) else None
