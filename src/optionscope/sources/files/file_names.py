"""Facts a file's name may carry: the ticker (SPY_1min.csv) and a capture instant.

Both are fallbacks, used only when the rows do not say it and the caller did not pass it.
"""

from __future__ import annotations

import re
from datetime import UTC, timedelta, timezone
from pathlib import Path

import pandas as pd

NAME_WORDS: frozenset[str] = frozenset(
    {
        "alphavantage",
        "av",
        "yf",
        "yfinance",
        "yahoo",
        "adjusted",
        "unadjusted",
        "daily",
        "intraday",
        "min",
        "minute",
        "1min",
        "ohlcv",
        "eod",
        "optionsdx",
        "chain",
        "chains",
        "full",
        "calls",
        "puts",
        "options",
        "option",
        "data",
        "quotedata",
        "ext",
        "hours",
        "sparse",
        "like",
        "es",
        "bars",
        "commit",
        "dl",
        "asof",
        "exp",
        "csv",
        "txt",
        "lumibot",
        "pinn",
        "dsh",
        "the",
        "and",
        "raw",
        "clean",
        "history",
        "prices",
    }
)
"""Lower-case words in file names that are never tickers."""

TICKER_ALIASES: dict[str, str] = {
    "BTCUSD": "BTC",
    "ETHUSD": "ETH",
    "BTCUSDT": "BTC",
    "ETHUSDT": "ETH",
    "XBTUSD": "BTC",
}
"""File-name spellings of crypto pairs, mapped to the underlying ticker."""

_INSTANT = re.compile(
    r"(?<!\d)(\d{4})-(\d{2})-(\d{2})T(\d{2}):?(\d{2})(?::?(\d{2}))?"
    r"(Z|[+-]\d{2}:?\d{2})"
)


def ticker_from_file_name(path: Path | str) -> str | None:
    """Return the ticker a file name carries, or None.

    The stem is split on '_', '-', '.' and spaces; the first token of 1-6 letters that is
    not a known vendor or layout word is the ticker (tokens written in upper case are
    preferred: ``yf_adjusted_AAPL_daily`` -> AAPL, ``spy_eod_2022-12-30`` -> SPY,
    ``9dsh_BTCUSD_daily`` -> BTC).
    """
    tokens = [token for token in re.split(r"[_\-.\s]+", Path(path).stem) if token]
    candidates = [
        token
        for token in tokens
        if re.fullmatch(r"[A-Za-z]{1,7}", token) and token.lower() not in NAME_WORDS
    ]
    upper = [token for token in candidates if token.isupper()]
    for token in upper or candidates:
        name = TICKER_ALIASES.get(token.upper(), token.upper())
        if len(name) <= 6:
            return name
    return None


def instant_from_file_name(path: Path | str) -> pd.Timestamp | None:
    """Return a capture instant written in a file name with its UTC offset, or None.

    Recognises ISO-like stamps with an explicit offset, e.g.
    ``options_data_commit2026-03-16T1742-0300.csv`` -> 2026-03-16 20:42 UTC. A date without
    a time or offset is not an instant and gives None.
    """
    match = _INSTANT.search(Path(path).name)
    if match is None:
        return None
    year, month, day, hour, minute = (int(match[index]) for index in range(1, 6))
    second = int(match[6] or 0)
    zone_text = match[7]
    if zone_text == "Z":
        zone = UTC
    else:
        sign = -1 if zone_text[0] == "-" else 1
        digits = zone_text[1:].replace(":", "")
        zone = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        stamp = pd.Timestamp(
            year=year, month=month, day=day, hour=hour, minute=minute, second=second, tz=zone
        )
    except ValueError:
        return None
    return stamp.tz_convert("UTC")
