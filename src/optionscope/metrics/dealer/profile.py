"""Gamma profile over spot levels and the gamma flip (METHODOLOGY §1.4, §1.6).

Profile (Perfiliev's method with the fixes of §1.4): on ``n`` levels ``L`` geometrically
spaced over ``[S(1 - w), S(1 + w)]`` (default ``w = 0.20``, 401 levels: a constant ratio of
1.00101 between neighbours, about 0.1% of spot; Perfiliev spaces 60 levels evenly), every
eligible contract is re-priced at ``L`` with its own ``K, T, r, q`` and IV held fixed
(sticky strike) and

    G(L) = Σ_i s_i·OI_i·M_i·Γ_i(L)·L²·0.01      ($ per 1% move, S² re-evaluated at L)

is summed over a contracts x levels grid (``_kernels``: an exact recurrence, two
multiplications per cell on geometric levels). The same
sum without the nearest expiry gives the ex-next-expiry profile (what the next expiration
removes).

Flip (definition 1 of §1.6): every sign change between adjacent levels brackets a root,
refined by Brent's method (``scipy.optimize.brentq``) on the exact ``G``, not interpolated
on the grid; all roots in the window are reported and the one nearest spot (either side,
§1.6 rules) is the flip. No root in the window gives ``None`` plus the profile's sign,
never 0 or a window edge. Two roots closer than one grid step (0.1% of spot by default)
can be missed: the grid is the resolution limit.

Secondary (definition 2 of §1.6): the cumulative-by-strike crossings of ``C_K = Σ_{K'<=K}
net GEX_{K'}`` at current spot, linearly interpolated between strikes (the seed story's
flip). It locates the GEX centroid, not where dealer gamma changes sign.

Contracts whose gamma is the vendor's (no IV to re-price with) stay out of the profile and
are counted in ``excluded_contracts``.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import brentq

from optionscope.metrics.dealer._kernels import profile_derivative, profile_grid, profile_value

__all__ = [
    "Crossing",
    "GammaProfile",
    "ProfileInputs",
    "compute_profile",
    "cumulative_strike_crossings",
    "find_crossings",
    "nearest_crossing",
    "profile_inputs",
]

FloatArray = npt.NDArray[np.float64]
ROOT_XTOL_SPOT = 1e-10
"""Brent's absolute tolerance, as a fraction of spot."""
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@dataclass(frozen=True, slots=True)
class Crossing:
    """A zero of a profile.

    Attributes:
        level: Spot level of the zero (currency units).
        direction: ``rising`` (negative below, positive above) or ``falling``.
    """

    level: float
    direction: str

    def to_dict(self) -> dict[str, Any]:
        """Return the crossing as JSON-ready values."""
        return {"level": self.level, "direction": self.direction}


@dataclass(frozen=True, eq=False)
class ProfileInputs:
    """Spot-free coefficients of the profile (``_kernels`` docstring), next expiry first.

    Attributes:
        a: ``a_i`` per contract group.
        b: ``b_i = 1/(sigma_i·√T_i)``.
        c: ``c_i`` (dealer-signed; call and put of one strike with one IV share a group).
        next_count: Groups ``[0, next_count)`` belong to the nearest expiry.
        excluded_contracts: Eligible contracts without an IV (not re-priceable).
    """

    a: FloatArray
    b: FloatArray
    c: FloatArray
    next_count: int
    excluded_contracts: int

    def value(self, level: float, *, ex_next_expiry: bool = False) -> float:
        """Return ``G(level)`` ($ per 1% move), optionally without the next expiry."""
        skip = self.next_count if ex_next_expiry else 0
        return profile_value(level, self.a, self.b, self.c, skip)

    def derivative(self, level: float) -> float:
        """Return ``G'(level)`` ($ per 1% move per $1 of spot)."""
        return profile_derivative(level, self.a, self.b, self.c)


@dataclass(frozen=True, eq=False)
class GammaProfile:
    """The re-priced profile and its zeros.

    Attributes:
        levels: Spot levels (currency units).
        net_gex: ``G(L)`` at each level ($ per 1% move, dealer-signed).
        net_gex_ex_next_expiry: The same without the nearest expiry.
        crossings: All zeros of ``G`` in the window, ascending.
        flip: The zero nearest spot, ``None`` when there is none.
        sign_without_crossing: ``positive``/``negative``/``zero`` when there is no zero.
        crossings_ex_next_expiry: Zeros of the ex-next-expiry profile.
        flip_ex_next_expiry: Its zero nearest spot.
        value_at_spot: ``G(S)`` (equals the net GEX of the re-priceable contracts).
        inputs: The coefficients, for evaluating ``G`` anywhere.
    """

    levels: FloatArray
    net_gex: FloatArray
    net_gex_ex_next_expiry: FloatArray
    crossings: tuple[Crossing, ...]
    flip: float | None
    sign_without_crossing: str | None
    crossings_ex_next_expiry: tuple[Crossing, ...]
    flip_ex_next_expiry: float | None
    value_at_spot: float
    inputs: ProfileInputs


def profile_inputs(frame: pd.DataFrame, weights: FloatArray, rate: float) -> ProfileInputs:
    """Return the profile coefficients of the eligible contracts.

    Args:
        frame: Eligible contracts (``strike``, ``years_to_expiry``, ``dividend_yield``,
            ``sigma``, ``open_interest``, ``multiplier``, ``settlement_time``,
            ``gamma_source``).
        weights: Dealer sign per contract.
        rate: The chain's rate ``r`` per year.
    """
    sigma = frame["sigma"].to_numpy(dtype=np.float64)
    settle = frame["settlement_time"].to_numpy(dtype="datetime64[ns]")
    nearest = settle == settle.min() if len(frame) else np.zeros(0, dtype=bool)
    with np.errstate(invalid="ignore"):
        usable = (
            np.isfinite(sigma)
            & (sigma > 0.0)
            & (frame["gamma_source"] != "vendor_gamma").to_numpy(dtype=bool)
        )
    strike = frame["strike"].to_numpy(dtype=np.float64)[usable]
    years = frame["years_to_expiry"].to_numpy(dtype=np.float64)[usable]
    q = frame["dividend_yield"].to_numpy(dtype=np.float64)[usable]
    sig = sigma[usable]
    units = frame["open_interest"].to_numpy(dtype=np.float64) * frame["multiplier"].to_numpy()
    w = np.asarray(weights, dtype=np.float64)[usable] * units[usable]
    b = 1.0 / (sig * np.sqrt(years))
    a = (-np.log(strike) + (rate - q + 0.5 * sig * sig) * years) * b
    c = w * np.exp(-q * years) * b * _INV_SQRT_2PI
    is_next = nearest[usable]
    keep = c != 0.0
    a, b, c, is_next = a[keep], b[keep], c[keep], is_next[keep]
    order = np.lexsort((b, a, ~is_next))  # next expiry first, then by (a, b)
    a, b, c, is_next = a[order], b[order], c[order], is_next[order]
    if a.size:
        same = (a[1:] == a[:-1]) & (b[1:] == b[:-1]) & (is_next[1:] == is_next[:-1])
        starts = np.flatnonzero(np.r_[True, ~same])
        a, b, is_next = a[starts], b[starts], is_next[starts]
        c = np.add.reduceat(c, starts)
    return ProfileInputs(
        a=np.ascontiguousarray(a),
        b=np.ascontiguousarray(b),
        c=np.ascontiguousarray(c),
        next_count=int(is_next.sum()),
        excluded_contracts=int(np.count_nonzero(~usable)),
    )


def _root(func: Callable[[float], float], lo: float, hi: float, xtol: float) -> float:
    f_lo, f_hi = func(lo), func(hi)
    if f_lo == 0.0:
        return lo
    if f_hi == 0.0 or (f_lo > 0.0) == (f_hi > 0.0):
        # The grid saw a sign change that rounding removes: the zero is at an end point.
        return lo if abs(f_lo) < abs(f_hi) else hi
    return float(brentq(func, lo, hi, xtol=xtol, maxiter=200))


def find_crossings(
    levels: FloatArray, values: FloatArray, func: Callable[[float], float], xtol: float
) -> tuple[Crossing, ...]:
    """Return every zero of ``func`` bracketed by a sign change of ``values`` on ``levels``.

    Args:
        levels: Ascending spot levels.
        values: ``func`` on ``levels`` (exact zeros are skipped: the bracket spans them).
        func: The exact profile, evaluated by Brent's method inside each bracket.
        xtol: Absolute tolerance of each root (currency units).

    Returns:
        The zeros, ascending, each with its direction.
    """
    nonzero = np.flatnonzero(np.isfinite(values) & (values != 0.0))
    signs = np.sign(values[nonzero])
    changes = np.flatnonzero(signs[1:] != signs[:-1])
    out: list[Crossing] = []
    for k in changes:
        lo, hi = float(levels[nonzero[k]]), float(levels[nonzero[k + 1]])
        direction = "rising" if signs[k] < 0 else "falling"
        out.append(Crossing(_root(func, lo, hi, xtol), direction))
    return tuple(out)


def nearest_crossing(crossings: tuple[Crossing, ...], spot: float) -> float | None:
    """Return the crossing level nearest ``spot`` (the lower one on an exact tie)."""
    if not crossings:
        return None
    return min((abs(c.level - spot), c.level) for c in crossings)[1]


def _sign_label(values: FloatArray) -> str:
    if np.all(values == 0.0):
        return "zero"
    return "positive" if np.nanmax(values) > 0.0 else "negative"


def compute_profile(
    frame: pd.DataFrame,
    weights: FloatArray,
    *,
    spot: float,
    rate: float,
    range_pct: float,
    n_levels: int,
) -> GammaProfile:
    """Return the re-priced gamma profile, its zeros and the flip.

    Args:
        frame: Eligible contracts (see ``profile_inputs``).
        weights: Dealer sign per contract.
        spot: Spot ``S`` (currency units).
        rate: The chain's rate per year.
        range_pct: Window half-width as a fraction of spot.
        n_levels: Number of levels.
    """
    inputs = profile_inputs(frame, weights, rate)
    levels = spot * np.exp(np.linspace(math.log1p(-range_pct), math.log1p(range_pct), n_levels))
    total, head = profile_grid(levels, inputs.a, inputs.b, inputs.c, inputs.next_count)
    ex_next = total - head
    xtol = ROOT_XTOL_SPOT * spot
    crossings = find_crossings(levels, total, inputs.value, xtol)

    def ex_next_value(level: float) -> float:
        return inputs.value(level, ex_next_expiry=True)

    crossings_ex = find_crossings(levels, ex_next, ex_next_value, xtol)
    return GammaProfile(
        levels=levels,
        net_gex=total,
        net_gex_ex_next_expiry=ex_next,
        crossings=crossings,
        flip=nearest_crossing(crossings, spot),
        sign_without_crossing=None if crossings else _sign_label(total),
        crossings_ex_next_expiry=crossings_ex,
        flip_ex_next_expiry=nearest_crossing(crossings_ex, spot),
        value_at_spot=inputs.value(spot),
        inputs=inputs,
    )


def cumulative_strike_crossings(strikes: FloatArray, net_gex: FloatArray) -> tuple[float, ...]:
    """Return the zero crossings of the cumulative strike GEX, interpolated between strikes.

    ``C_k = Σ_{j<=k} net_gex_j`` over ascending strikes; a crossing between strikes ``k-1``
    and ``k`` is where ``C`` goes from ``< 0`` to ``>= 0`` or from ``> 0`` to ``<= 0`` (the
    seed story's test), at ``K_(k-1) + |C_(k-1)|/|C_k - C_(k-1)|·(K_k - K_(k-1))``.

    Args:
        strikes: Ascending strikes.
        net_gex: Dealer-signed GEX per strike ($ per 1% move).
    """
    cumulative = np.cumsum(net_gex)
    prev, cur = cumulative[:-1], cumulative[1:]
    crossed = ((prev < 0.0) & (cur >= 0.0)) | ((prev > 0.0) & (cur <= 0.0))
    index = np.flatnonzero(crossed & (cur != prev))
    ratio = np.abs(prev[index]) / np.abs(cur[index] - prev[index])
    levels = strikes[index] + ratio * (strikes[index + 1] - strikes[index])
    return tuple(float(x) for x in levels)
