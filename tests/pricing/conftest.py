"""Fixtures for the pricing tests: the shared real-data folder and small chain readers.

The readers take only the columns these tests need; the production importers live in
``optionscope.sources.files`` and are deliberately not used here.

- ``shared_data``: ``<repo>/../shared/data`` as a Path; the test is skipped when it is absent.
- ``read_cboe``: reads a Cboe "quotedata" CSV into a ``CboeChain`` (snapshot time from the
  header ``Date:`` line, spot from ``Last:``, one row per strike with call and put columns).
- ``read_deribit``: reads the tessicin Deribit chain into a frame.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from optionscope.domain.calendar import NEW_YORK

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

# English headers only: "September 14, 2023 at 4:31 PM EDT", "February 5 2022, 8:26 PM EST",
# "July 12, 2022, 11:55 AM EDT". Spanish/French headers do not match and are not used.
_DATE_RE = re.compile(
    r"Date:\s*([A-Za-z]+)\s+(\d{1,2}),?\s+(\d{4}),?\s+(?:at\s+)?(\d{1,2}):(\d{2})\s*(AM|PM)\s+(?:EDT|EST)"
)
_LAST_RE = re.compile(r"Last:\s*([0-9.]+)")


@dataclass(frozen=True)
class CboeChain:
    """One Cboe quotedata snapshot: header fields and the strike table."""

    snapshot: dt.datetime
    spot: float
    table: pd.DataFrame
    """Columns: root, expiry (date), strike, call_bid, call_ask, call_iv, call_gamma, call_oi,
    put_bid, put_ask, put_iv, put_gamma, put_oi."""


def _read_cboe(path: Path) -> CboeChain:
    with path.open(encoding="utf-8") as handle:
        head = [handle.readline() for _ in range(4)]
    header_row = next(i for i, line in enumerate(head) if line.startswith("Expiration Date"))
    match = _DATE_RE.search(head[header_row - 1])
    if match is None:
        msg = f"no English 'Date:' header in {path}"
        raise ValueError(msg)
    month, day, year, hour, minute, half = match.groups()
    snapshot = dt.datetime.strptime(f"{month} {day} {year}", "%B %d %Y").replace(
        hour=int(hour) % 12 + (12 if half == "PM" else 0), minute=int(minute), tzinfo=NEW_YORK
    )
    spot_match = _LAST_RE.search(head[header_row - 2])
    assert spot_match is not None
    raw = pd.read_csv(path, skiprows=header_row)
    table = pd.DataFrame(
        {
            "root": raw["Calls"].str.extract(r"^([A-Z]+)\d", expand=False),
            "expiry": pd.to_datetime(raw["Expiration Date"], format="%a %b %d %Y").dt.date,
            "strike": raw["Strike"].astype(float),
            "call_bid": raw["Bid"],
            "call_ask": raw["Ask"],
            "call_iv": raw["IV"],
            "call_gamma": raw["Gamma"],
            "call_oi": raw["Open Interest"],
            "put_bid": raw["Bid.1"],
            "put_ask": raw["Ask.1"],
            "put_iv": raw["IV.1"],
            "put_gamma": raw["Gamma.1"],
            "put_oi": raw["Open Interest.1"],
        }
    )
    return CboeChain(snapshot=snapshot, spot=float(spot_match.group(1)), table=table)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture(scope="session")
def read_cboe() -> Callable[[Path], CboeChain]:
    return _read_cboe


@pytest.fixture(scope="session")
def read_deribit() -> Callable[[Path], pd.DataFrame]:
    def read(path: Path) -> pd.DataFrame:
        columns = ["instrument_name", "type", "strike", "expiration_timestamp", "mark_price"]
        columns += ["underlying_price", "spot_ref", "mark_iv"]
        return pd.read_csv(path, usecols=columns)

    return read
