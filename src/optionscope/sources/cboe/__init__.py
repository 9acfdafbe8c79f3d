"""Cboe delayed quotes: a saved quotedata.csv as one chain frame plus snapshot metadata.

`read_quotedata(path)` is the analyst's entry point; it runs the ``cboe_quotedata`` file
importer (`optionscope.sources.files`) and joins its tables into one frame per contract.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from optionscope.domain import tables
from optionscope.sources import ParsedFile
from optionscope.sources.files import read_file

CHAIN_FRAME_COLUMNS: tuple[str, ...] = (
    "contract_symbol",
    "root",
    "expiry",
    "settlement_time",
    "settlement_type",
    "strike",
    "option_right",
    "bid",
    "ask",
    "last",
    "volume",
    "open_interest",
    "vendor_iv",
    "vendor_delta",
    "vendor_gamma",
)
"""Columns of `QuoteData.chain`, one row per contract (NULL as NaN)."""


@dataclass(frozen=True, slots=True)
class ChainSnapshot:
    """Snapshot metadata of one quotedata file (the `chain_snapshots` row).

    Attributes:
        underlying: Ticker (SPX for a file of SPX and SPXW contracts).
        snapshot_time: Capture instant from the "Date:" line, UTC.
        session_date: Session the quotes reflect (XNYS rule of `session_date_of`).
        header_spot: "Last:" as the file says (None when absent or 0).
        header_bid: "Bid:" (None for indexes, which show 0).
        header_ask: "Ask:".
        parity_spot: Put-call-parity spot of the nearest expiry (None when not estimable).
        spot_check: "ok", "disagrees" or "unchecked".
        quality_flags: Flags such as header_spot_disagrees_with_quotes.
        contract_count: Contracts in the chain.
        source_file: File name.
    """

    underlying: str
    snapshot_time: pd.Timestamp
    session_date: date
    header_spot: float | None
    header_bid: float | None
    header_ask: float | None
    parity_spot: float | None
    spot_check: str
    quality_flags: tuple[str, ...]
    contract_count: int
    source_file: str


@dataclass(frozen=True, slots=True)
class QuoteData:
    """A parsed quotedata.csv.

    Attributes:
        chain: One row per contract (`CHAIN_FRAME_COLUMNS`), sorted by expiry, strike, right.
        snapshot: The snapshot's metadata and checks.
        parsed: The importer's canonical tables, row counts and quarantine.
    """

    chain: pd.DataFrame
    snapshot: ChainSnapshot
    parsed: ParsedFile


def _optional(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def read_quotedata(path: Path | str, *, snapshot_time: datetime | str | None = None) -> QuoteData:
    """Read a Cboe delayed-quotes quotedata.csv into a chain frame and snapshot metadata.

    Args:
        path: The file (any locale of the "Date:" line, Excel-resaved variant included).
        snapshot_time: Replace the header's capture instant (tz-aware); flagged.

    Raises:
        FileFormatError: The file cannot be read (names file, line and field).
    """
    parsed = read_file(path, file_format="cboe_quotedata", snapshot_time=snapshot_time)
    quotes = parsed.tables[tables.OPTION_CHAIN_SNAPSHOTS.name]
    contracts = parsed.tables[tables.OPTION_CONTRACTS.name]
    chain = quotes.merge(contracts, on=["contract_symbol", "underlying"], how="left")
    chain = chain.sort_values(["expiry", "strike", "option_right", "root"])
    chain = chain.loc[:, list(CHAIN_FRAME_COLUMNS)].reset_index(drop=True)
    row = parsed.tables[tables.CHAIN_SNAPSHOTS.name].iloc[0]
    snapshot = ChainSnapshot(
        underlying=str(row["underlying"]),
        snapshot_time=pd.Timestamp(row["snapshot_time"]),
        session_date=row["session_date"],
        header_spot=_optional(row["header_spot"]),
        header_bid=_optional(row["header_bid"]),
        header_ask=_optional(row["header_ask"]),
        parity_spot=_optional(row["parity_spot"]),
        spot_check=str(row["spot_check"]),
        quality_flags=tuple(json.loads(str(row["quality_flags"]))),
        contract_count=int(row["contract_count"]),
        source_file=str(row["source_file"]),
    )
    return QuoteData(chain=chain, snapshot=snapshot, parsed=parsed)


__all__ = ["CHAIN_FRAME_COLUMNS", "ChainSnapshot", "QuoteData", "read_quotedata"]
