"""The seed story's dealer logic, reproduced exactly as the ``seed_compat`` mode.

Source: the public repository the dealer story came from (vkapella/kapman-trader,
``docs/research_inputs/dealer_metrics.py`` as called by ``core/metrics/dealer_metrics_calc.py``),
as written down in METHODOLOGY §1.12 and the repository's rule catalog. Given the eligible
contracts (gamma, open interest) and the spot:

* contract GEX ``= gamma·OI·S²·0.01·100`` with **calls negated, puts positive** ("dealers
  short calls"): the opposite of the standard convention, so this mode's ``long_gamma`` is
  what the default mode (and Perfiliev, SpotGamma) calls short gamma. Missing gamma or
  ``OI <= 0`` contributes 0. The multiplier is the seed's fixed 100.
* strike GEX = sum per strike; total = ``Σ|strike GEX|`` (netted within a strike); net =
  ``Σ strike GEX``; both rounded to 2 decimals.
* flip = the first zero crossing of the cumulative strike GEX from the lowest strike
  (``prev < 0 <= cum`` or ``prev > 0 >= cum``), linearly interpolated, rounded to 2
  decimals; ``None`` when it never crosses.
* walls per side: strikes with ``|K - S|/S <= 0.20``, ``|strike GEX of that side|`` times a
  proximity weight (1.0 up to 5%, 0.7 up to 10%, 0.4 up to 15%, 0.2 up to 20%, bounds
  inclusive), top 3 by weighted GEX, ties to the lower strike.
* slope = ``(Σ strike GEX on [S, 1.02S] - Σ on [0.98S, S))/(0.04S)``, rounded to 4.
* DGPI = ``sign(net)·log10(|net| + 1)·10``, times ``1 + clamp(0.01·slope, -0.3, 0.3)`` when
  the slope is non-zero, times ``0.7 + IV rank/333`` when the IV rank is known, clamped to
  [-100, 100], rounded to 2; 0 when net is 0.
* position: ``neutral`` when ``|net| < 1e6`` ($ per 1%, whatever the underlying), else
  ``long_gamma``/``short_gamma`` by the sign of net.
* confidence: ``invalid`` with fewer than 5 contracts with gamma; ``high`` with at least 10
  and total OI >= 1,000; ``medium`` with at least 5.

The seed rounds with Python's ``round`` (half to even on the binary value); so does this
module. The wall record's fields beyond the ranking (strike, gex, weighted_gex, OI,
contracts, moneyness, distance) follow METHODOLOGY §1.12's list; their exact rounding in
the seed was not readable [I].
"""

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "SEED_MULTIPLIER",
    "SeedMetrics",
    "SeedWall",
    "compute_seed_metrics",
    "seed_confidence",
    "seed_contract_gex",
    "seed_dgpi",
    "seed_gamma_flip",
    "seed_gex_slope",
    "seed_position",
    "seed_proximity_weight",
    "seed_strike_gex",
    "seed_walls",
]

SEED_MULTIPLIER = 100.0
SEED_NEUTRAL_BAND = 1_000_000.0
SEED_MIN_CONTRACTS = 5
SEED_HIGH_CONTRACTS = 10
SEED_HIGH_OPEN_INTEREST = 1_000.0
_PROXIMITY_TIERS = ((0.05, 1.0), (0.10, 0.7), (0.15, 0.4), (0.20, 0.2))

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class SeedWall:
    """One wall as the seed ranks it.

    Attributes:
        strike: Strike.
        gex: The side's seed-signed strike GEX (calls negative, puts positive).
        weighted_gex: ``|gex|`` times the proximity weight (the ranking key).
        open_interest: Open contracts of that side at the strike.
        contracts: Contracts of that side at the strike.
        moneyness: ``|K - S|/S``.
        distance_from_spot: ``K - S``.
    """

    strike: float
    gex: float
    weighted_gex: float
    open_interest: float
    contracts: int
    moneyness: float
    distance_from_spot: float

    def to_dict(self) -> dict[str, Any]:
        """Return the wall as JSON-ready values."""
        return {
            "strike": self.strike,
            "gex": self.gex,
            "weighted_gex": self.weighted_gex,
            "open_interest": self.open_interest,
            "contracts": self.contracts,
            "moneyness": self.moneyness,
            "distance_from_spot": self.distance_from_spot,
        }


@dataclass(frozen=True, eq=False)
class SeedMetrics:
    """The seed's outputs for one chain (module docstring).

    Attributes:
        gex_total: ``Σ|strike GEX|``, rounded to 2 ($ per 1%); ``None`` when invalid.
        gex_net: ``Σ strike GEX``, rounded to 2; ``None`` when invalid.
        gamma_flip: Cumulative-strike flip, rounded to 2, or ``None``.
        call_walls: Call walls, best first.
        put_walls: Put walls, best first.
        gex_slope: Strike-bucket slope, rounded to 4, or ``None``.
        dgpi: Seed DGPI in [-100, 100], rounded to 2, or ``None``.
        position: ``long_gamma``, ``short_gamma``, ``neutral`` or ``unknown``.
        confidence: ``high``, ``medium``, ``low`` or ``invalid``.
        strikes: Ascending strikes of the strike ladder.
        strike_gex: Seed-signed GEX per strike (unrounded).
        contracts_with_gamma: Contracts with a gamma (confidence input).
        total_open_interest: Their total open interest (confidence input).
    """

    gex_total: float | None
    gex_net: float | None
    gamma_flip: float | None
    call_walls: tuple[SeedWall, ...]
    put_walls: tuple[SeedWall, ...]
    gex_slope: float | None
    dgpi: float | None
    position: str
    confidence: str
    strikes: FloatArray
    strike_gex: FloatArray
    contracts_with_gamma: int = 0
    total_open_interest: float = 0.0


def seed_contract_gex(
    gamma: FloatArray, open_interest: FloatArray, is_call: npt.NDArray[np.bool_], spot: float
) -> FloatArray:
    """Return ``±gamma·OI·S²·0.01·100`` per contract, calls negated; 0 without gamma or OI.

    Examples:
        >>> seed_contract_gex(np.array([0.01, 0.01, np.nan]), np.array([10.0, 10.0, 10.0]),
        ...                   np.array([True, False, True]), 200.0)
        array([-4000.,  4000.,     0.])
    """
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(gamma) & (open_interest > 0.0)
        gex = np.where(valid, gamma * open_interest * (spot**2) * 0.01 * SEED_MULTIPLIER, 0.0)
    return np.where(valid & is_call, -gex, gex)  # the seed returns 0.0 before negating


def seed_strike_gex(strikes: FloatArray, contract_gex: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Return ascending strikes and the sum of contract GEX at each."""
    unique, codes = np.unique(strikes, return_inverse=True)
    sums = np.bincount(codes, weights=contract_gex, minlength=unique.size)
    return unique, np.asarray(sums, dtype=np.float64)


def seed_gamma_flip(strikes: FloatArray, strike_gex: FloatArray) -> float | None:
    """Return the first cumulative-strike zero crossing, interpolated, rounded to 2.

    Examples:
        >>> seed_gamma_flip(np.array([90.0, 100.0, 110.0]), np.array([-3.0, 1.0, 4.0]))
        105.0
    """
    cumulative = 0.0
    prev_strike = math.nan
    prev_cumulative: float | None = None
    for strike, gex in zip(strikes.tolist(), strike_gex.tolist(), strict=True):
        cumulative += gex
        if (
            prev_cumulative is not None
            and cumulative != prev_cumulative
            and ((prev_cumulative < 0 <= cumulative) or (prev_cumulative > 0 >= cumulative))
        ):
            ratio = abs(prev_cumulative) / abs(cumulative - prev_cumulative)
            return round(float(prev_strike + ratio * (strike - prev_strike)), 2)
        prev_strike, prev_cumulative = strike, cumulative
    return None


def seed_proximity_weight(moneyness: float) -> float:
    """Return the seed's wall weight of ``|K - S|/S`` (bounds inclusive), 0 beyond 20%."""
    for bound, weight in _PROXIMITY_TIERS:
        if moneyness <= bound:
            return weight
    return 0.0


def seed_walls(
    frame: pd.DataFrame,
    *,
    call: bool,
    spot: float,
    top_n: int,
    max_moneyness: float,
) -> tuple[SeedWall, ...]:
    """Return the seed's walls of one side (module docstring).

    Args:
        frame: Eligible contracts (``strike``, ``is_call``, ``gamma``, ``open_interest``).
        call: Call walls if True, put walls otherwise.
        spot: Spot ``S``.
        top_n: Walls returned.
        max_moneyness: Candidates need ``|K - S|/S <= max_moneyness``.
    """
    side = frame[frame["is_call"].to_numpy(dtype=bool) == call]
    strikes = side["strike"].to_numpy(dtype=np.float64)
    oi = side["open_interest"].to_numpy(dtype=np.float64)
    gamma = side["gamma"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        keep = (oi > 0.0) & np.isfinite(gamma) & (np.abs(strikes - spot) / spot <= max_moneyness)
    strikes, oi, gamma = strikes[keep], oi[keep], gamma[keep]
    gex = seed_contract_gex(gamma, oi, np.full(strikes.size, call), spot)
    unique, codes = np.unique(strikes, return_inverse=True)
    strike_gex = np.bincount(codes, weights=gex, minlength=unique.size)
    strike_oi = np.bincount(codes, weights=oi, minlength=unique.size)
    counts = np.bincount(codes, minlength=unique.size)
    walls = []
    for k, strike in enumerate(unique.tolist()):
        moneyness = abs(strike - spot) / spot
        weighted = abs(float(strike_gex[k])) * seed_proximity_weight(moneyness)
        walls.append(SeedWall(strike, float(strike_gex[k]), weighted, float(strike_oi[k]),
                              int(counts[k]), moneyness, strike - spot))  # fmt: skip
    walls.sort(key=lambda wall: (-wall.weighted_gex, wall.strike))
    return tuple(walls[:top_n])


def seed_gex_slope(
    strikes: FloatArray, strike_gex: FloatArray, spot: float, range_pct: float
) -> float | None:
    """Return ``(Σ GEX on [S, S(1+w)] - Σ on [S(1-w), S))/(2wS)``, rounded to 4.

    Examples:
        >>> seed_gex_slope(np.array([99.0, 101.0]), np.array([-100.0, 300.0]), 100.0, 0.02)
        100.0
    """
    if strikes.size == 0 or spot <= 0:
        return None
    lower_bound = spot * (1 - range_pct)
    upper_bound = spot * (1 + range_pct)
    lower = float(strike_gex[(strikes >= lower_bound) & (strikes < spot)].sum())
    upper = float(strike_gex[(strikes >= spot) & (strikes <= upper_bound)].sum())
    price_range = upper_bound - lower_bound
    if price_range <= 0:
        return None
    return round((upper - lower) / price_range, 4)


def seed_dgpi(
    net_gex: float | None, gex_slope: float | None, iv_rank: float | None
) -> float | None:
    """Return the seed's DGPI (module docstring), rounded to 2.

    Examples:
        Net GEX of $1bn per 1%: ``log10(1e9 + 1)·10 = 90``; a slope of 10 adds 10%:

        >>> seed_dgpi(1e9, None, None), seed_dgpi(1e9, 10.0, None), seed_dgpi(-1e9, 0.0, 50.0)
        (90.0, 99.0, -76.51)
    """
    if net_gex is None:
        return None
    if net_gex == 0:
        base = 0.0
    else:
        sign = 1 if net_gex > 0 else -1
        base = sign * math.log10(abs(net_gex) + 1) * 10
    if gex_slope is not None and gex_slope != 0:
        base *= 1 + max(-0.3, min(0.3, gex_slope * 0.01))
    if iv_rank is not None:
        base *= 0.7 + (iv_rank / 333)
    return round(max(-100.0, min(100.0, base)), 2)


def seed_position(net_gex: float, threshold: float = SEED_NEUTRAL_BAND) -> str:
    """Return ``neutral`` when ``|net| < threshold``, else long/short gamma by its sign."""
    if abs(net_gex) < threshold:
        return "neutral"
    return "long_gamma" if net_gex > 0 else "short_gamma"


def seed_confidence(contracts_with_gamma: int, total_open_interest: float) -> str:
    """Return the seed's confidence from the count of contracts with gamma and total OI."""
    if contracts_with_gamma < SEED_MIN_CONTRACTS:
        return "invalid"
    if (
        contracts_with_gamma >= SEED_HIGH_CONTRACTS
        and total_open_interest >= SEED_HIGH_OPEN_INTEREST
    ):
        return "high"
    if contracts_with_gamma >= SEED_HIGH_CONTRACTS // 2:
        return "medium"
    return "low"


def _invalid() -> SeedMetrics:
    empty = np.zeros(0)
    return SeedMetrics(None, None, None, (), (), None, None, "unknown", "invalid", empty, empty)


def compute_seed_metrics(
    frame: pd.DataFrame,
    *,
    spot: float,
    iv_rank: float | None = None,
    walls_top_n: int = 3,
    gex_slope_range_pct: float = 0.02,
    walls_max_moneyness: float = 0.20,
    neutral_band: float = SEED_NEUTRAL_BAND,
) -> SeedMetrics:
    """Return every seed metric of the eligible contracts (module docstring).

    Args:
        frame: Eligible contracts (``strike``, ``is_call``, ``gamma``, ``open_interest``).
        spot: Spot ``S``.
        iv_rank: IV rank 0-100 for the DGPI, or ``None``.
        walls_top_n: Walls per side (seed default 3).
        gex_slope_range_pct: Slope window (seed default 0.02).
        walls_max_moneyness: Wall candidate window (seed default 0.20).
        neutral_band: ``|net|`` below which the position is neutral (seed 1e6).
    """
    if frame.empty or not (spot > 0.0 and math.isfinite(spot)):
        return _invalid()
    gamma = frame["gamma"].to_numpy(dtype=np.float64)
    oi = frame["open_interest"].to_numpy(dtype=np.float64)
    is_call = frame["is_call"].to_numpy(dtype=bool)
    contract_gex = seed_contract_gex(gamma, oi, is_call, spot)
    strikes, strike_gex = seed_strike_gex(frame["strike"].to_numpy(dtype=np.float64), contract_gex)
    total = float(np.abs(strike_gex).sum())
    net = float(strike_gex.sum())
    slope = seed_gex_slope(strikes, strike_gex, spot, gex_slope_range_pct)
    with_gamma = int(np.count_nonzero(np.isfinite(gamma)))
    total_oi = float(np.nansum(oi))
    return SeedMetrics(
        gex_total=round(total, 2),
        gex_net=round(net, 2),
        gamma_flip=seed_gamma_flip(strikes, strike_gex),
        call_walls=seed_walls(frame, call=True, spot=spot, top_n=walls_top_n,
                              max_moneyness=walls_max_moneyness),
        put_walls=seed_walls(frame, call=False, spot=spot, top_n=walls_top_n,
                             max_moneyness=walls_max_moneyness),
        gex_slope=slope,
        dgpi=seed_dgpi(net, slope, iv_rank),
        position=seed_position(net, neutral_band),
        confidence=seed_confidence(with_gamma, total_oi),
        strikes=strikes,
        strike_gex=strike_gex,
        contracts_with_gamma=with_gamma,
        total_open_interest=total_oi,
    )  # fmt: skip
