"""Option contract symbols: OSI (listed US options) and Deribit instrument names.

Canonical forms:

* OSI, unpadded: root + YYMMDD + C/P + strike x 1000 as 8 digits, e.g.
  ``SPXW230914C04500000`` (strike 4500) or ``AAPL250221C00002500`` (strike 2.5).
  Accepted on input as well: the padded 21-character form (root left-justified in 6
  columns, ``'AAPL  250221C00250000'``) and Polygon's ``'O:'`` prefix.
* Deribit: CURRENCY-DMMMYY-STRIKE-C/P, e.g. ``BTC-27MAY25-98000-P``; the day has no leading
  zero (``BTC-6DEC25-80000-C``); a decimal strike is written with ``d`` (``XRP_USDC-...-0d5-C``);
  linear contracts name their settlement currency after ``_`` (``SOL_USDC``).

Two-digit OSI years are read as 20YY.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import pandas as pd

OSI_STRIKE_SCALE = 1000
"""OSI strikes are written in thousandths of a currency unit."""

OSI_MAX_STRIKE = 99_999.999
"""Largest strike eight OSI digits can hold."""

_OSI = re.compile(r"^(?P<root>[A-Z0-9]{1,6}) *(?P<date>\d{6})(?P<right>[CP])(?P<strike>\d{8})$")
_OSI_PATTERN = r"^(?:O:)?([A-Z0-9]{1,6}) *(\d{6})([CP])(\d{8})$"
_DERIBIT = re.compile(
    r"^(?P<currency>[A-Z0-9]+)(?:_(?P<settlement>[A-Z0-9]+))?-(?P<day>\d{1,2})(?P<month>[A-Z]{3})"
    r"(?P<year>\d{2})-(?P<strike>\d+(?:D\d+)?)-(?P<right>[CP])$"
)
_DERIBIT_PATTERN = (
    r"^([A-Z0-9]+)(?:_([A-Z0-9]+))?-(\d{1,2})([A-Z]{3})(\d{2})-(\d+(?:D\d+)?)-([CP])$"
)
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTH_NUMBER = {name: number for number, name in enumerate(_MONTHS, start=1)}


class SymbolError(ValueError):
    """A text is not a valid option symbol of the expected kind."""


@dataclass(frozen=True, slots=True)
class OsiSymbol:
    """Terms encoded in an OSI option symbol.

    Attributes:
        root: Option root (SPXW, SPY, AAPL), 1-6 characters.
        expiry: Expiration date.
        right: "C" or "P".
        strike: Strike in the underlying's currency (a multiple of 0.001).
    """

    root: str
    expiry: date
    right: str
    strike: float

    @property
    def canonical(self) -> str:
        """Return the unpadded OSI string."""
        return format_osi(self.root, self.expiry, self.right, self.strike)


@dataclass(frozen=True, slots=True)
class DeribitInstrument:
    """Terms encoded in a Deribit option instrument name.

    Attributes:
        currency: Base currency / underlying (BTC, ETH, SOL).
        settlement_currency: Currency premiums and settlement are paid in (BTC for inverse
            BTC options, USDC for linear ``SOL_USDC`` ones).
        expiry: Expiration date (settles 08:00 UTC).
        strike: Strike in USD.
        right: "C" or "P".
    """

    currency: str
    settlement_currency: str
    expiry: date
    strike: float
    right: str

    @property
    def name(self) -> str:
        """Return the Deribit instrument name."""
        return format_deribit_instrument(
            self.currency,
            self.expiry,
            self.strike,
            self.right,
            settlement_currency=self.settlement_currency,
        )


def _strip_osi(text: str) -> str:
    name = text.strip().upper()
    return name.removeprefix("O:")


def _osi_strike_digits(strike: float) -> str:
    thousandths = round(strike * OSI_STRIKE_SCALE)
    if not 0 < thousandths <= OSI_MAX_STRIKE * OSI_STRIKE_SCALE:
        raise SymbolError(f"strike {strike!r} does not fit OSI's 8 digits")
    if abs(thousandths - strike * OSI_STRIKE_SCALE) > 1e-6 * max(1.0, strike):
        raise SymbolError(f"strike {strike!r} is not a multiple of 0.001")
    return f"{thousandths:08d}"


def _check_right(right: str) -> str:
    value = right.strip().upper()
    if value not in ("C", "P"):
        raise SymbolError(f"option right must be 'C' or 'P', not {right!r}")
    return value


def format_osi(root: str, expiry: date, right: str, strike: float) -> str:
    """Return the canonical (unpadded) OSI symbol of a listed option.

    >>> format_osi("SPXW", date(2023, 9, 14), "C", 4500)
    'SPXW230914C04500000'

    Args:
        root: Option root, 1-6 letters or digits.
        expiry: Expiration date (years 2000-2099).
        right: "C" or "P".
        strike: Strike in currency units; a multiple of 0.001 below 100,000.

    Raises:
        SymbolError: A term cannot be written in OSI.
    """
    name = root.strip().upper()
    if not re.fullmatch(r"[A-Z0-9]{1,6}", name):
        raise SymbolError(f"OSI root must be 1-6 letters or digits, not {root!r}")
    if not 2000 <= expiry.year <= 2099:
        raise SymbolError(f"OSI years are 2000-2099, not {expiry.year}")
    return f"{name}{expiry:%y%m%d}{_check_right(right)}{_osi_strike_digits(float(strike))}"


def format_osi_padded(root: str, expiry: date, right: str, strike: float) -> str:
    """Return the 21-character OSI symbol (root left-justified in 6 columns).

    >>> format_osi_padded("AAPL", date(2025, 2, 21), "C", 250)
    'AAPL  250221C00250000'
    """
    canonical = format_osi(root, expiry, right, strike)
    return canonical[:-15].ljust(6) + canonical[-15:]


def parse_osi(text: str) -> OsiSymbol:
    """Return the terms of an OSI symbol (unpadded, padded or with Polygon's 'O:' prefix).

    >>> parse_osi("O:SPY251219P00650000")
    OsiSymbol(root='SPY', expiry=datetime.date(2025, 12, 19), right='P', strike=650.0)

    Raises:
        SymbolError: The text is not an OSI symbol (or its date does not exist).
    """
    match = _OSI.match(_strip_osi(text))
    if match is None:
        raise SymbolError(f"not an OSI option symbol: {text!r}")
    digits = match["date"]
    try:
        expiry = date(2000 + int(digits[:2]), int(digits[2:4]), int(digits[4:]))
    except ValueError as error:
        raise SymbolError(f"OSI symbol {text!r} has no valid date: {error}") from error
    strike = int(match["strike"]) / OSI_STRIKE_SCALE
    if strike <= 0:
        raise SymbolError(f"OSI symbol {text!r} has a zero strike")
    return OsiSymbol(match["root"], expiry, match["right"], strike)


def normalize_osi(text: str) -> str:
    """Return the canonical unpadded form of any accepted OSI spelling.

    Raises:
        SymbolError: The text is not an OSI symbol.
    """
    return parse_osi(text).canonical


def is_osi(text: str) -> bool:
    """Return True if `text` is an OSI symbol in any accepted spelling."""
    try:
        parse_osi(text)
    except SymbolError:
        return False
    return True


def _text_objects(text: pd.Series, valid: pd.Series) -> pd.Series:
    out = text.astype(object)
    out[~valid.to_numpy(dtype=bool)] = None
    return out


def _date_objects(stamps: pd.Series, valid: pd.Series) -> pd.Series:
    out = pd.Series(stamps.dt.date.to_numpy(dtype=object), index=stamps.index, dtype="object")
    out[~valid.to_numpy(dtype=bool)] = None
    return out


def parse_osi_series(symbols: pd.Series) -> pd.DataFrame:
    """Parse many OSI symbols at once (vectorised), marking the ones that are not OSI.

    Args:
        symbols: Symbols as text (any accepted spelling); missing values allowed.

    Returns:
        A frame on the same index with columns `contract_symbol` (canonical, None when
        invalid), `root`, `expiry` (datetime.date), `option_right`, `strike` (float) and
        `is_valid` (bool).
    """
    text = symbols.astype("string").str.strip().str.upper()
    parts = text.str.extract(_OSI_PATTERN)
    expiry = pd.to_datetime(parts[1], format="%y%m%d", errors="coerce")
    strike = pd.to_numeric(parts[3], errors="coerce").astype("float64") / OSI_STRIKE_SCALE
    valid = (parts[0].notna() & expiry.notna() & (strike > 0)).fillna(value=False)
    valid = valid.astype(bool)
    canonical = parts[0] + parts[1] + parts[2] + parts[3]
    return pd.DataFrame(
        {
            "contract_symbol": _text_objects(canonical, valid),
            "root": _text_objects(parts[0], valid),
            "expiry": _date_objects(expiry, valid),
            "option_right": _text_objects(parts[2], valid),
            "strike": strike.where(valid).astype("float64"),
            "is_valid": valid,
        },
        index=symbols.index,
    )


def _deribit_strike_text(strike: float) -> str:
    if strike <= 0:
        raise SymbolError(f"strike must be positive, not {strike!r}")
    if float(strike).is_integer():
        return str(int(strike))
    return f"{strike:.10f}".rstrip("0").replace(".", "d")


def format_deribit_instrument(
    currency: str,
    expiry: date,
    strike: float,
    right: str,
    *,
    settlement_currency: str | None = None,
) -> str:
    """Return a Deribit option instrument name.

    >>> format_deribit_instrument("BTC", date(2025, 5, 27), 98000, "P")
    'BTC-27MAY25-98000-P'

    Args:
        currency: Base currency (BTC, ETH, SOL).
        expiry: Expiration date (years 2000-2099).
        strike: Strike in USD; fractional strikes are written with 'd' (0.5 -> 0d5).
        right: "C" or "P".
        settlement_currency: For linear options, the settlement currency (USDC); None or
            equal to `currency` for inverse options.
    """
    base = currency.strip().upper()
    prefix = base
    if settlement_currency is not None and settlement_currency.upper() != base:
        prefix = f"{base}_{settlement_currency.upper()}"
    month = _MONTHS[expiry.month - 1]
    return (
        f"{prefix}-{expiry.day}{month}{expiry:%y}-{_deribit_strike_text(float(strike))}"
        f"-{_check_right(right)}"
    )


def parse_deribit_instrument(name: str) -> DeribitInstrument:
    """Return the terms of a Deribit option instrument name.

    >>> parse_deribit_instrument("BTC-6DEC25-80000-C").expiry
    datetime.date(2025, 12, 6)

    Raises:
        SymbolError: The name is not a Deribit option name.
    """
    match = _DERIBIT.match(name.strip().upper())
    if match is None or match["month"] not in _MONTH_NUMBER:
        raise SymbolError(f"not a Deribit option name: {name!r}")
    try:
        expiry = date(2000 + int(match["year"]), _MONTH_NUMBER[match["month"]], int(match["day"]))
    except ValueError as error:
        raise SymbolError(f"Deribit name {name!r} has no valid date: {error}") from error
    strike = float(match["strike"].replace("D", "."))
    if strike <= 0:
        raise SymbolError(f"Deribit name {name!r} has a zero strike")
    currency = match["currency"]
    return DeribitInstrument(
        currency, match["settlement"] or currency, expiry, strike, match["right"]
    )


def is_deribit_instrument(name: str) -> bool:
    """Return True if `name` is a Deribit option instrument name."""
    try:
        parse_deribit_instrument(name)
    except SymbolError:
        return False
    return True


def parse_deribit_series(names: pd.Series) -> pd.DataFrame:
    """Parse many Deribit option names at once (vectorised).

    Args:
        names: Instrument names as text; missing values allowed.

    Returns:
        A frame on the same index with columns `contract_symbol` (the name, upper case; None
        when invalid), `currency`, `settlement_currency`, `expiry` (datetime.date),
        `option_right`, `strike` (float) and `is_valid` (bool).
    """
    text = names.astype("string").str.strip().str.upper()
    parts = text.str.extract(_DERIBIT_PATTERN)
    month = parts[3].map(_MONTH_NUMBER, na_action="ignore").astype("float64")
    expiry = pd.to_datetime(
        pd.DataFrame(
            {
                "year": 2000 + pd.to_numeric(parts[4], errors="coerce").astype("float64"),
                "month": month,
                "day": pd.to_numeric(parts[2], errors="coerce").astype("float64"),
            }
        ),
        errors="coerce",
    )
    strike = pd.to_numeric(parts[5].str.replace("D", ".", regex=False), errors="coerce").astype(
        "float64"
    )
    valid = (parts[0].notna() & expiry.notna() & (strike > 0)).fillna(value=False).astype(bool)
    settlement = parts[1].fillna(parts[0])
    return pd.DataFrame(
        {
            "contract_symbol": _text_objects(
                text.str.replace(r"-(\d+)D(\d+)-", r"-\1d\2-", regex=True), valid
            ),
            "currency": _text_objects(parts[0], valid),
            "settlement_currency": _text_objects(settlement, valid),
            "expiry": _date_objects(expiry, valid),
            "option_right": _text_objects(parts[6], valid),
            "strike": strike.where(valid).astype("float64"),
            "is_valid": valid,
        },
        index=names.index,
    )
