"""Option pricing math: vectorised BSM and Black-76 prices, greeks, implied vol, parity, time.

Public API (keyword-only arguments, NumPy arrays that broadcast against each other):

* ``price(S=, K=, T=, r=, q=, sigma=, is_call=)`` and ``greeks(...)``: Black-Scholes-Merton
  with a continuous dividend yield; ``greeks`` returns a mapping of arrays (delta, gamma,
  vega per 1.00 vol, theta per year, rho per 1.00 rate, vanna, charm per year, vomma).
* ``implied_vol(price=, S=, K=, T=, r=, q=, is_call=)``: NaN where no volatility exists;
  ``implied_vol_with_reasons`` also returns an ``IVReason`` code per element.
* ``black76_price``, ``black76_greeks``, ``black76_implied_vol`` (and ``_with_reasons``) on a
  forward ``F``; ``coin_price`` and ``implied_vol_from_coin_price`` for Deribit coin quotes.
* ``forward_from_parity``: forward, discount and implied yield of one expiry.
* ``time_to_expiry``, ``year_fraction``: years of 365 days between timezone-aware instants,
  floored at ``T_MIN_YEARS``; settlement instants come from ``optionscope.domain.calendar``.

Symbols and units are defined in ``optionscope.pricing.black_scholes``. The array loops are
numba kernels compiled on first use and cached on disk; importing this package compiles
nothing (see docs/pricing.md for the measured import and first-call costs).
"""

from optionscope.pricing import black76
from optionscope.pricing.black_scholes import GREEK_NAMES, Greeks, greeks, price
from optionscope.pricing.expiry import (
    SECONDS_PER_YEAR,
    T_MIN_YEARS,
    time_to_expiry,
    year_fraction,
)
from optionscope.pricing.implied_vol import (
    ImpliedVol,
    IVReason,
    implied_vol,
    implied_vol_with_reasons,
)
from optionscope.pricing.parity import ParityFit, ParityStatus, forward_from_parity

black76_price = black76.price
black76_greeks = black76.greeks
black76_implied_vol = black76.implied_vol
black76_implied_vol_with_reasons = black76.implied_vol_with_reasons
coin_price = black76.coin_price
implied_vol_from_coin_price = black76.implied_vol_from_coin_price

__all__ = [
    "GREEK_NAMES",
    "SECONDS_PER_YEAR",
    "T_MIN_YEARS",
    "Greeks",
    "IVReason",
    "ImpliedVol",
    "ParityFit",
    "ParityStatus",
    "black76",
    "black76_greeks",
    "black76_implied_vol",
    "black76_implied_vol_with_reasons",
    "black76_price",
    "coin_price",
    "forward_from_parity",
    "greeks",
    "implied_vol",
    "implied_vol_from_coin_price",
    "implied_vol_with_reasons",
    "price",
    "time_to_expiry",
    "year_fraction",
]
