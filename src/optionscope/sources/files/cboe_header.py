"""The preamble of a Cboe delayed-quotes file: underlying name, Last/Bid/Ask, capture date.

The "Date:" line comes in the locale of the browser that saved the page. Seen so far:

    April 30, 2025 at 8:35 PM EDT        February 5 2022, 8:26 PM EST
    June 11, 2022, 8:47 PM EDT           23 de marzo de 2022, 10:11 GMT-4
    10 novembre 2023 à 18:55 UTC\u22125   (a Unicode minus; volume "130 859 611")

`parse_header_instant` reads English, Spanish, French, German, Italian and Portuguese month
names, 12- or 24-hour times and the zones EDT/EST/CDT/CST (fixed offsets), ET (New York
local time) and UTC/GMT with an optional offset. A date without a zone is refused: guessing
it would move every session boundary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo

import pandas as pd

from optionscope.domain.calendar import NEW_YORK
from optionscope.sources.files.lines import split_csv_line

MONTHS: dict[str, int] = {
    **{
        name: number
        for number, names in enumerate(
            (
                ("january", "jan", "enero", "janvier", "januar", "gennaio", "janeiro"),
                (
                    "february",
                    "feb",
                    "febrero",
                    "février",
                    "fevrier",
                    "februar",
                    "febbraio",
                    "fevereiro",
                ),
                ("march", "mar", "marzo", "mars", "märz", "marz", "março", "marco"),
                ("april", "apr", "abril", "avril", "aprile"),
                ("may", "mayo", "mai", "maggio", "maio"),
                ("june", "jun", "junio", "juin", "juni", "giugno", "junho"),
                ("july", "jul", "julio", "juillet", "juli", "luglio", "julho"),
                ("august", "aug", "agosto", "août", "aout"),
                (
                    "september",
                    "sep",
                    "sept",
                    "septiembre",
                    "setiembre",
                    "septembre",
                    "settembre",
                    "setembro",
                ),
                ("october", "oct", "octubre", "octobre", "oktober", "ottobre", "outubro"),
                ("november", "nov", "noviembre", "novembre", "novembro"),
                (
                    "december",
                    "dec",
                    "diciembre",
                    "décembre",
                    "decembre",
                    "dezember",
                    "dicembre",
                    "dezembro",
                ),
            ),
            start=1,
        )
        for name in names
    },
}
"""Month names and abbreviations (lower case) in the locales Cboe pages are saved in."""

ZONE_OFFSETS_HOURS: dict[str, int] = {"edt": -4, "est": -5, "cdt": -5, "cst": -6}
"""US zone abbreviations and their fixed UTC offsets."""

_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(?:([ap])\.?\s*m\.?)?(?![a-z])")
_ZONE = re.compile(
    r"(?<![a-z])(edt|est|cdt|cst|et|utc|gmt|z)(?![a-z])\s*"
    r"(?:([+-])\s*(\d{1,2})(?::?(\d{2}))?)?"
)
_NUMBER = re.compile(r"[-+]?\d[\d.,\s\u202f\xa0]*")


class HeaderDateError(ValueError):
    """A Cboe "Date:" text cannot be read as an instant."""


@dataclass(frozen=True, slots=True)
class CboeHeader:
    """What the preamble of a Cboe quotedata file says.

    Attributes:
        name: Underlying's descriptive name ("Standard & Poors 500 Index").
        last: "Last:" price (None when absent or 0).
        bid: "Bid:" price (None when absent or 0: indexes have no bid).
        ask: "Ask:" price (None when absent or 0).
        captured_at: Instant of the "Date:" text, UTC.
        date_text: The "Date:" text as written.
    """

    name: str
    last: float | None
    bid: float | None
    ask: float | None
    captured_at: pd.Timestamp
    date_text: str


def parse_header_instant(text: str) -> pd.Timestamp:
    """Return the UTC instant of a Cboe "Date:" text in any supported locale.

    >>> parse_header_instant("23 de marzo de 2022, 10:11 GMT-4")
    Timestamp('2022-03-23 14:11:00+0000', tz='UTC')

    Raises:
        HeaderDateError: No day, month, year, time or zone can be found.
    """
    cleaned = (
        text.replace("\u2212", "-").replace("\u202f", " ").replace("\xa0", " ").strip().lower()
    )
    cleaned = cleaned.removeprefix("date:").strip()
    time_match = _TIME.search(cleaned)
    if time_match is None:
        raise HeaderDateError(f"no time of day in {text!r}")
    hour, minute = int(time_match[1]), int(time_match[2])
    second = int(time_match[3] or 0)
    if time_match[4] is not None:
        if not 1 <= hour <= 12:
            raise HeaderDateError(f"hour {hour} with AM/PM in {text!r}")
        hour = hour % 12 + (12 if time_match[4] == "p" else 0)
    rest = cleaned[: time_match.start()] + " " + cleaned[time_match.end() :]
    zone_match = _ZONE.search(rest)
    if zone_match is None:
        raise HeaderDateError(f"no time zone in {text!r}")
    rest = rest[: zone_match.start()] + " " + rest[zone_match.end() :]
    year_match = re.search(r"(?<!\d)(\d{4})(?!\d)", rest)
    if year_match is None:
        raise HeaderDateError(f"no four-digit year in {text!r}")
    rest = rest[: year_match.start()] + " " + rest[year_match.end() :]
    words = re.findall(r"[^\W\d_]+", rest)
    months = [MONTHS[word] for word in words if word in MONTHS]
    day_match = re.search(r"(?<!\d)(\d{1,2})(?!\d)", rest)
    if not months or day_match is None:
        raise HeaderDateError(f"no day and month name in {text!r}")
    try:
        local = datetime(
            int(year_match[1]),
            months[0],
            int(day_match[1]),
            hour,
            minute,
            second,
            tzinfo=_zone_of(zone_match),
        )
    except ValueError as error:
        raise HeaderDateError(f"impossible date in {text!r}: {error}") from error
    return pd.Timestamp(local).tz_convert("UTC")


def _zone_of(match: re.Match[str]) -> tzinfo:
    abbreviation = match[1]
    if abbreviation == "et":
        return NEW_YORK
    hours = ZONE_OFFSETS_HOURS.get(abbreviation, 0)
    if match[2] is not None:
        sign = -1 if match[2] == "-" else 1
        return timezone(
            timedelta(hours=hours)
            + sign * timedelta(hours=int(match[3]), minutes=int(match[4] or 0))
        )
    return timezone(timedelta(hours=hours))


def parse_header_number(cell: str, label: str) -> float | None:
    """Return the number after `label:` in a preamble cell (None when absent or zero).

    Thousands separators (',', spaces, narrow no-break spaces) are removed first.
    """
    text = cell.strip()
    if not text.lower().startswith(label.lower() + ":"):
        return None
    match = _NUMBER.search(text[len(label) + 1 :])
    if match is None:
        return None
    digits = re.sub(r"[,\s\u202f\xa0]", "", match.group(0))
    try:
        value = float(digits)
    except ValueError:
        return None
    return value if value > 0 else None


def labelled_cell(cells: list[str], label: str) -> str | None:
    """Return the first cell starting with `label:` (case-insensitive), or None."""
    prefix = label.lower() + ":"
    return next((cell for cell in cells if cell.strip().lower().startswith(prefix)), None)


def split_preamble_line(line: str) -> list[str]:
    """Return the cells of a preamble line (trailing empty cells of Excel saves dropped)."""
    cells = split_csv_line(line)
    while cells and not cells[-1].strip():
        cells.pop()
    return cells
