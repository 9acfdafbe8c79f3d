"""Shared assembly of option-chain files into the three chain tables.

Every chain importer reduces its layout to one long frame, one row per contract (the
`CHAIN_COLUMNS`), plus one `SnapshotInfo` per underlying; `assemble_chain` turns those into
`option_contracts`, `option_chain_snapshots` and `chain_snapshots` rows.

Spot check: `parity_spot` is the median of ``C_mid - P_mid + K`` over the `PARITY_STRIKES`
strikes nearest the header spot, on the nearest expiry (on or after the session date, at
most `PARITY_MAX_EXPIRY_DAYS` calendar days out so carry stays below ~0.15 %) that has at
least `PARITY_MIN_STRIKES` strike with two-sided call and put quotes. The nearest expiry is
preferred over a better-populated later one: after the close a 0DTE expiry often keeps only
one or two two-sided strikes, yet it is the one free of carry and of a dividend going ex
before the next expiry (SPY 2023-09-14: the 09-15 expiry sits 0.31 % below spot, the ex-date
drop). The header spot "disagrees" when ``|parity_spot / header_spot - 1| >
SPOT_CHECK_TOLERANCE``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from optionscope.domain import tables
from optionscope.domain.calendar import settlement_instants
from optionscope.domain.instruments import CRYPTO_CALENDAR, XNYS, exercise_style_of_root
from optionscope.sources.files.frames import conform

SPOT_CHECK_TOLERANCE = 0.002
"""Largest |parity_spot / header_spot - 1| still called "ok" (0.20 %)."""

PARITY_STRIKES = 5
"""Strikes nearest the header spot whose parity values are averaged (median)."""

PARITY_MIN_STRIKES = 1
"""Fewest two-sided call/put strike pairs an expiry needs to be used for parity."""

PARITY_MAX_EXPIRY_DAYS = 10
"""Farthest expiry (calendar days after the session) parity may use: carry stays small."""

CHAIN_COLUMNS: tuple[str, ...] = (
    "underlying",
    "contract_symbol",
    "root",
    "expiry",
    "strike",
    "option_right",
    "bid",
    "ask",
    "last",
    "mark",
    "volume",
    "open_interest",
    "vendor_iv",
    "vendor_delta",
    "vendor_gamma",
    "vendor_vega",
    "vendor_theta",
    "underlying_price",
    "ts_event",
)
"""Columns of the long per-contract frame every chain importer builds."""

FLAG_HEADER_DISAGREES = "header_spot_disagrees_with_quotes"
FLAG_HEADER_MISSING = "header_spot_missing"
FLAG_PARITY_UNAVAILABLE = "parity_spot_unavailable"
FLAG_EXPIRED_LISTED = "expired_contracts_listed"
FLAG_ROWS_QUARANTINED = "rows_quarantined"
FLAG_SNAPSHOT_TIME_SUPPLIED = "snapshot_time_supplied"
FLAG_SNAPSHOT_TIME_FROM_FILE_NAME = "snapshot_time_from_file_name"
FLAG_ROOT_ASSUMED = "option_root_assumed"


@dataclass(frozen=True, slots=True)
class ParityEstimate:
    """A put-call-parity spot estimate and how it was obtained.

    Attributes:
        spot: Median of C_mid - P_mid + K (currency units), or None.
        expiry: Expiry used.
        root: Option root used.
        strikes_used: Number of strikes in the median.
        reason: Why no estimate was made (None when `spot` is set).
    """

    spot: float | None
    expiry: date | None = None
    root: str | None = None
    strikes_used: int = 0
    reason: str | None = None


@dataclass(slots=True)
class SnapshotInfo:
    """What an importer knows about one underlying's snapshot in a file.

    Attributes:
        underlying: Ticker of the underlying.
        snapshot_time: Capture instant (UTC).
        session_date: Session the quotes reflect.
        header_spot: Underlying price as the file states it (None if absent or zero).
        header_bid: Underlying bid as the file states it.
        header_ask: Underlying ask as the file states it.
        calendar: XNYS or 24/7 (decides what "expired" means).
        check_parity: Whether prices are in the underlying's currency, so that
            C - P + K estimates spot (False for coin-priced Deribit chains).
        flags: Importer-specific quality flags to record.
    """

    underlying: str
    snapshot_time: pd.Timestamp
    session_date: date
    header_spot: float | None = None
    header_bid: float | None = None
    header_ask: float | None = None
    calendar: str = XNYS
    check_parity: bool = True
    flags: list[str] = field(default_factory=list)


def estimate_parity_spot(
    chain: pd.DataFrame, *, reference_spot: float | None, session_date: date
) -> ParityEstimate:
    """Estimate the spot from put-call parity on the nearest expiry's near-the-money strikes.

    Args:
        chain: Contract rows of one underlying: root, expiry, strike, option_right, bid, ask.
        reference_spot: Strikes nearest this price are used (the header spot); when None,
            the strike where |C_mid - P_mid| is smallest is the centre.
        session_date: Expiries before this date are ignored.
    """
    quoted = chain[(chain["bid"] > 0) & (chain["ask"] > 0)]
    quoted = quoted.assign(mid=(quoted["bid"] + quoted["ask"]) / 2.0)
    keys = ["root", "expiry", "strike"]
    calls = quoted.loc[quoted["option_right"] == "C", [*keys, "mid"]]
    puts = quoted.loc[quoted["option_right"] == "P", [*keys, "mid"]]
    pairs = calls.merge(puts, on=keys, suffixes=("_call", "_put"))
    pairs = pairs[pairs["expiry"] >= session_date]
    if pairs.empty:
        return ParityEstimate(None, reason="no strike with two-sided call and put quotes")
    counts = pairs.groupby(["root", "expiry"]).size().rename("pairs").reset_index()
    counts = counts[counts["pairs"] >= PARITY_MIN_STRIKES]
    if counts.empty:
        return ParityEstimate(None, reason=f"no expiry with {PARITY_MIN_STRIKES} quoted pairs")
    counts = counts.sort_values(["expiry", "pairs", "root"], ascending=[True, False, True])
    root, expiry = str(counts.iloc[0]["root"]), counts.iloc[0]["expiry"]
    days_out = (expiry - session_date).days
    if days_out > PARITY_MAX_EXPIRY_DAYS:
        return ParityEstimate(
            None, expiry, root, reason=f"nearest quoted expiry is {days_out} days out"
        )
    group = pairs[(pairs["root"] == root) & (pairs["expiry"] == expiry)]
    difference = group["mid_call"] - group["mid_put"]
    if reference_spot is not None:
        center = reference_spot
    else:
        center = float(group["strike"].to_numpy()[int(np.argmin(np.abs(difference)))])
    distance = (group["strike"] - center).abs()
    nearest = (
        group.assign(distance=distance).sort_values(["distance", "strike"]).head(PARITY_STRIKES)
    )
    values = nearest["mid_call"] - nearest["mid_put"] + nearest["strike"]
    return ParityEstimate(float(np.median(values)), expiry, root, len(nearest))


def spot_check(header_spot: float | None, parity: ParityEstimate) -> str:
    """Return "ok", "disagrees" or "unchecked" for a header spot against its parity spot."""
    if header_spot is None or parity.spot is None:
        return "unchecked"
    ratio = parity.spot / header_spot
    return "ok" if abs(ratio - 1.0) <= SPOT_CHECK_TOLERANCE else "disagrees"


def assemble_chain(
    chain: pd.DataFrame,
    snapshots: Sequence[SnapshotInfo],
    *,
    source: str,
    source_file: str,
    price_currency: str | pd.Series,
    premium_currency: str | pd.Series,
    multiplier: float,
    any_quarantined: bool,
) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Return the chain tables of accepted contract rows, and notes on unchecked spots.

    Args:
        chain: Accepted rows with `CHAIN_COLUMNS` plus `snapshot_time` (UTC); ts_event may
            be NaT (the snapshot time is used). Index must be unique.
        snapshots: One entry per (underlying, snapshot_time) present in `chain`.
        source: Value of the `source` column (importer and layout).
        source_file: File name recorded in chain_snapshots.
        price_currency: Currency of bid/ask/last/mark, one for all or per row.
        premium_currency: Currency premiums are paid in, one for all or per row.
        multiplier: Units of underlying per contract.
        any_quarantined: Whether the file had refused rows (flag recorded).
    """
    quotes = chain.assign(
        snapshot_time=pd.to_datetime(chain["snapshot_time"], utc=True),
        price_currency=price_currency,
        source=source,
    )
    quotes["ts_event"] = pd.to_datetime(quotes["ts_event"], utc=True).fillna(
        quotes["snapshot_time"]
    )
    settlement = settlement_instants(chain["root"], chain["expiry"])
    styles = {root: str(exercise_style_of_root(str(root))) for root in chain["root"].unique()}
    contracts = chain.assign(
        settlement_time=settlement["settlement_time"],
        settlement_type=settlement["settlement_type"],
        exercise_style=chain["root"].map(styles),
        multiplier=multiplier,
        premium_currency=premium_currency,
    ).drop_duplicates("contract_symbol")
    rows, notes = [], []
    for info in snapshots:
        selected = (quotes["underlying"] == info.underlying) & (
            quotes["snapshot_time"] == info.snapshot_time
        )
        row, note = _snapshot_row(
            quotes[selected],
            settlement,
            info,
            source=source,
            source_file=source_file,
            any_quarantined=any_quarantined,
        )
        rows.append(row)
        if note is not None:
            notes.append(note)
    parsed = {
        tables.OPTION_CONTRACTS.name: conform(contracts, tables.OPTION_CONTRACTS),
        tables.OPTION_CHAIN_SNAPSHOTS.name: conform(quotes, tables.OPTION_CHAIN_SNAPSHOTS),
        tables.CHAIN_SNAPSHOTS.name: conform(pd.DataFrame(rows), tables.CHAIN_SNAPSHOTS),
    }
    return parsed, notes


def _snapshot_row(
    chain: pd.DataFrame,
    settlement: pd.DataFrame,
    info: SnapshotInfo,
    *,
    source: str,
    source_file: str,
    any_quarantined: bool,
) -> tuple[dict[str, object], str | None]:
    flags = list(info.flags)
    note = None
    parity = ParityEstimate(None, reason="not checked for this layout")
    if info.check_parity:
        parity = estimate_parity_spot(
            chain, reference_spot=info.header_spot, session_date=info.session_date
        )
        if info.header_spot is None:
            flags.append(FLAG_HEADER_MISSING)
        if parity.spot is None:
            flags.append(FLAG_PARITY_UNAVAILABLE)
            note = f"{info.underlying} {info.snapshot_time}: no parity spot ({parity.reason})"
    check = spot_check(info.header_spot, parity)
    if check == "disagrees":
        flags.append(FLAG_HEADER_DISAGREES)
        note = (
            f"{info.underlying} {info.snapshot_time}: header spot {info.header_spot:g} vs "
            f"parity spot {parity.spot:g} ({parity.root} {parity.expiry})"
        )
    if info.calendar == CRYPTO_CALENDAR:
        expired = settlement.loc[chain.index, "settlement_time"] < info.snapshot_time
    else:
        expired = chain["expiry"] < info.session_date
    if bool(expired.any()):
        flags.append(FLAG_EXPIRED_LISTED)
    if any_quarantined:
        flags.append(FLAG_ROWS_QUARANTINED)
    row: dict[str, object] = {
        "underlying": info.underlying,
        "snapshot_time": info.snapshot_time,
        "session_date": info.session_date,
        "source": source,
        "source_file": source_file,
        "header_spot": info.header_spot,
        "header_bid": info.header_bid,
        "header_ask": info.header_ask,
        "parity_spot": parity.spot,
        "spot_check": check,
        "quality_flags": json.dumps(list(dict.fromkeys(flags))),
        "contract_count": len(chain),
    }
    return row, note
