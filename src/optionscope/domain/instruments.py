"""Instrument vocabulary: asset classes, option roots, settlement and exercise conventions.

Everything here is a lookup on a ticker or an option root; nothing reads files or the clock.
The tables are deliberately short and explicit: a ticker not listed is an equity (multiplier
100, American, PM-settled, XNYS), which is right for every US single stock and wrong only for
ETFs we have not listed (their conventions are the same as equities, so only `asset_class`
would be off).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

import pandas as pd


class AssetClass(StrEnum):
    """What kind of underlying a ticker is."""

    INDEX = "index"
    ETF = "etf"
    EQUITY = "equity"
    CRYPTO = "crypto"


class SettlementType(StrEnum):
    """How the settlement value of an option is fixed.

    AM: special opening quotation on the expiry date (09:30 America/New_York).
    PM: closing value on the expiry date (16:00 America/New_York, earlier on half days).
    FIXED: a venue fixing at a set instant (Deribit: 08:00 UTC).
    """

    AM = "AM"
    PM = "PM"
    FIXED = "FIXED"


class ExerciseStyle(StrEnum):
    """When an option may be exercised."""

    AMERICAN = "american"
    EUROPEAN = "european"


XNYS = "XNYS"
"""Calendar of US listed equities, ETFs, index options (sessions of the NYSE)."""

CRYPTO_CALENDAR = "24/7"
"""Calendar of crypto underlyings: every UTC day is a session."""

INDEX_TICKERS: frozenset[str] = frozenset(
    {"SPX", "NDX", "RUT", "XSP", "VIX", "DJX", "OEX", "XEO", "XND", "MRUT"}
)
ETF_TICKERS: frozenset[str] = frozenset(
    {
        "SPY",
        "QQQ",
        "IWM",
        "DIA",
        "TLT",
        "GLD",
        "SLV",
        "EEM",
        "EFA",
        "HYG",
        "LQD",
        "IEF",
        "SHY",
        "XLF",
        "XLE",
        "XLK",
        "XLV",
        "XLI",
        "XLY",
        "XLP",
        "XLU",
        "XLB",
        "XLRE",
        "XLC",
        "SMH",
        "SOXX",
        "ARKK",
        "USO",
        "UNG",
        "GDX",
        "GDXJ",
        "KRE",
        "XBI",
        "XOP",
        "VXX",
        "UVXY",
        "SVXY",
        "TQQQ",
        "SQQQ",
        "SPXL",
        "SPXS",
        "SOXL",
        "SOXS",
        "FXI",
        "EWZ",
        "IBIT",
        "VOO",
        "VTI",
        "IVV",
        "MDY",
    }
)
CRYPTO_TICKERS: frozenset[str] = frozenset(
    {"BTC", "ETH", "SOL", "XRP", "BNB", "PAXG", "MATIC", "DOGE", "ADA", "AVAX", "LTC"}
)

ROOT_UNDERLYINGS: dict[str, str] = {
    "SPXW": "SPX",
    "SPXQ": "SPX",
    "SPXPM": "SPX",
    "NDXP": "NDX",
    "RUTW": "RUT",
    "VIXW": "VIX",
    "XSPW": "XSP",
}
"""Option roots whose underlying has another name (weekly / PM-settled series)."""

AM_SETTLED_ROOTS: frozenset[str] = frozenset({"SPX", "NDX", "RUT", "DJX", "VIX"})
"""Roots whose standard series settle on the opening quotation. XSP is PM-settled."""

AMERICAN_INDEX_ROOTS: frozenset[str] = frozenset({"OEX"})
"""Index option roots that are American-style (all other index options are European)."""

EQUITY_OPTION_MULTIPLIER = 100.0
"""Shares per standard US listed option contract."""

CRYPTO_OPTION_MULTIPLIER = 1.0
"""Coins per Deribit option contract."""

_ADJUSTED_ROOT = re.compile(r"^([A-Z]+)\d$")


@dataclass(frozen=True, slots=True)
class TickerDescription:
    """Static facts about a ticker, as the `tickers` table stores them.

    Attributes:
        ticker: The ticker as given, upper case.
        asset_class: index | etf | equity | crypto.
        currency: Currency the underlying is quoted in (USD for crypto too: BTC in USD).
        option_multiplier: Units of underlying per option contract (100 listed; 1 coin).
        calendar: Calendar of its sessions (XNYS or 24/7).
        exercise_style: Exercise style of its standard options.
    """

    ticker: str
    asset_class: AssetClass
    currency: str
    option_multiplier: float
    calendar: str
    exercise_style: ExerciseStyle


def _crypto_base(ticker: str) -> str | None:
    base = re.split(r"[-_]", ticker, maxsplit=1)[0]
    return base if base in CRYPTO_TICKERS else None


def classify_ticker(ticker: str) -> AssetClass:
    """Return the asset class of a ticker (crypto instruments such as BTC-PERPETUAL too).

    Args:
        ticker: Underlying or equity symbol, any case.

    Returns:
        INDEX, ETF or CRYPTO for listed names; EQUITY for everything else.
    """
    name = ticker.strip().upper()
    if name in INDEX_TICKERS:
        return AssetClass.INDEX
    if name in ETF_TICKERS:
        return AssetClass.ETF
    if _crypto_base(name) is not None:
        return AssetClass.CRYPTO
    return AssetClass.EQUITY


def describe_ticker(ticker: str) -> TickerDescription:
    """Return the static description of a ticker (class, currency, multiplier, calendar).

    Args:
        ticker: Underlying or equity symbol, any case.
    """
    name = ticker.strip().upper()
    asset_class = classify_ticker(name)
    if asset_class is AssetClass.CRYPTO:
        return TickerDescription(
            name,
            asset_class,
            "USD",
            CRYPTO_OPTION_MULTIPLIER,
            CRYPTO_CALENDAR,
            ExerciseStyle.EUROPEAN,
        )
    return TickerDescription(
        name, asset_class, "USD", EQUITY_OPTION_MULTIPLIER, XNYS, exercise_style_of_root(name)
    )


def underlying_of_root(root: str) -> str:
    """Return the underlying ticker of an option root.

    SPXW -> SPX, NDXP -> NDX, RUTW -> RUT, XSP -> XSP, SPY -> SPY. An adjusted equity root
    (a letter root followed by one digit, e.g. SPY7 after a special dividend) maps to its
    letters; its deliverable is non-standard, which this function cannot know.

    Args:
        root: OSI option root, any case.
    """
    name = root.strip().upper()
    if name in ROOT_UNDERLYINGS:
        return ROOT_UNDERLYINGS[name]
    adjusted = _ADJUSTED_ROOT.match(name)
    if adjusted is not None and name not in INDEX_TICKERS:
        return adjusted.group(1)
    return name


def settlement_type_of_root(root: str) -> SettlementType:
    """Return how a root's options settle: AM for SPX/NDX/RUT/DJX/VIX, FIXED for crypto.

    Args:
        root: OSI option root (SPX, SPXW, NDXP, XSP, AAPL) or a Deribit currency (BTC).
    """
    name = root.strip().upper()
    if _crypto_base(name) is not None:
        return SettlementType.FIXED
    if name in AM_SETTLED_ROOTS:
        return SettlementType.AM
    return SettlementType.PM


def exercise_style_of_root(root: str) -> ExerciseStyle:
    """Return the exercise style of a root's options (index and crypto European).

    Args:
        root: OSI option root or ticker, any case.
    """
    underlying = underlying_of_root(root)
    asset_class = classify_ticker(underlying)
    if asset_class is AssetClass.CRYPTO:
        return ExerciseStyle.EUROPEAN
    if asset_class is AssetClass.INDEX and underlying not in AMERICAN_INDEX_ROOTS:
        return ExerciseStyle.EUROPEAN
    return ExerciseStyle.AMERICAN


def tickers_frame(tickers: list[str]) -> pd.DataFrame:
    """Return `tickers` table rows describing `tickers` (not on the watchlist, no name).

    Args:
        tickers: Underlying or equity symbols.
    """
    described = [describe_ticker(ticker) for ticker in tickers]
    return pd.DataFrame(
        {
            "ticker": [d.ticker for d in described],
            "asset_class": [str(d.asset_class) for d in described],
            "currency": [d.currency for d in described],
            "option_multiplier": [d.option_multiplier for d in described],
            "is_watchlist": [False] * len(described),
            "calendar": [d.calendar for d in described],
            "name": pd.Series([None] * len(described), dtype="object"),
        }
    )
