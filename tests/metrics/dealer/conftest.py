"""Synthetic chain snapshots priced by Black-Scholes-Merton, in the canonical merged layout.

``make_chain`` builds ``option_chain_snapshots`` rows joined with ``option_contracts`` terms:
one call and one put per (expiry, strike), quoted at the model price ± 0.1% (so the mid is
the model price), PM-settled at 16:00 New York on each expiry date. Known inputs make our
IV, forward and gamma checkable: the IV recovered from the mid is ``sigma``.
"""

import datetime as dt
import math
from collections.abc import Callable, Sequence
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from optionscope.domain.calendar import settlement_instant
from optionscope.pricing import greeks, price, year_fraction

NEW_YORK = ZoneInfo("America/New_York")
AS_OF = dt.datetime(2024, 3, 4, 15, 0, tzinfo=NEW_YORK)
"""Monday 15:00 ET: one hour before the PM settlement of a same-day expiry."""

MakeChain = Callable[..., pd.DataFrame]


def build_chain(
    *,
    spot: float,
    strikes: Sequence[float],
    expiry_days: Sequence[int] = (7,),
    sigma: float | Callable[[np.ndarray], np.ndarray] = 0.20,
    r: float = 0.04,
    q: float = 0.01,
    call_oi: float | Sequence[float] = 1_000.0,
    put_oi: float | Sequence[float] = 1_000.0,
    volume: float = 10.0,
    as_of: dt.datetime = AS_OF,
    root: str = "XYZ",
    vendor: bool = True,
) -> pd.DataFrame:
    """Return a merged chain frame; OI may be per strike (same for every expiry)."""
    rows = []
    strike = np.asarray(strikes, dtype=float)
    for days in expiry_days:
        expiry = as_of.date() + dt.timedelta(days=days)
        settle = settlement_instant(expiry, "PM")
        years = float(year_fraction(start=as_of, end=settle))
        vols = sigma(strike) if callable(sigma) else np.full(strike.size, sigma)
        for is_call, oi in ((True, call_oi), (False, put_oi)):
            model = price(S=spot, K=strike, T=years, r=r, q=q, sigma=vols, is_call=is_call)
            gamma = greeks(S=spot, K=strike, T=years, r=r, q=q, sigma=vols, is_call=is_call)[
                "gamma"
            ]
            ois = np.broadcast_to(np.asarray(oi, dtype=float), strike.shape)
            right = "C" if is_call else "P"
            for k, p, g, v, o in zip(strike, model, gamma, vols, ois, strict=True):
                rows.append(
                    {
                        "contract_symbol": f"{root}{expiry:%y%m%d}{right}{int(k * 1000):08d}",
                        "underlying": root,
                        "root": root,
                        "expiry": expiry,
                        "settlement_time": settle,
                        "settlement_type": "PM",
                        "strike": float(k),
                        "option_right": right,
                        "multiplier": 100.0,
                        "bid": p * 0.999,
                        "ask": p * 1.001,
                        "volume": volume,
                        "open_interest": float(o),
                        "vendor_iv": float(v) if vendor else math.nan,
                        "vendor_gamma": float(g) if vendor else math.nan,
                    }
                )
    frame = pd.DataFrame(rows)
    frame["settlement_time"] = pd.to_datetime(frame["settlement_time"], utc=True)
    return frame


@pytest.fixture
def make_chain() -> MakeChain:
    """Return ``build_chain`` (a factory fixture)."""
    return build_chain


@pytest.fixture
def as_of() -> dt.datetime:
    """Return the synthetic chains' valuation instant (Monday 15:00 New York)."""
    return AS_OF
