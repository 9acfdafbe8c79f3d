"""Call and put walls and the absolute gamma strike (METHODOLOGY §1.5 proxies).

On the strike aggregates of one expiry scope (``walls_expiry_scope``, recorded):

* call wall: ``argmax_K CallGEX(K)``, unsigned call-only GEX ($ per 1% move);
* put wall: ``argmax_K |PutGEX(K)|``;
* absolute gamma strike: ``argmax_K (|CallGEX(K)| + |PutGEX(K)|)`` (calls and puts not
  netted, SpotGamma's definition).

The top N strikes per side are reported, primary first; ties (equal GEX) go to the strike
nearer spot, then to the lower strike. Only strikes with ``|K/S - 1| <= max_moneyness``
compete (default 20%), which guards against the absurd far walls of an unconstrained
argmax (§1.5). These are gamma walls: an open-interest maximum is not one.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["Wall", "Walls", "compute_walls", "rank_strikes"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Wall:
    """One wall strike.

    Attributes:
        strike: Strike (currency units).
        gex: Unsigned GEX of that side at the strike ($ per 1% move).
        share: ``gex`` over the side's total GEX in scope (0-1).
        open_interest: Open contracts of that side at the strike.
        contracts: Listed contracts of that side at the strike (one per expiry).
        distance_pct: ``(K - S)/S``.
    """

    strike: float
    gex: float
    share: float
    open_interest: float
    contracts: int
    distance_pct: float

    def to_dict(self) -> dict[str, Any]:
        """Return the wall as JSON-ready values."""
        return {
            "strike": self.strike,
            "gex": self.gex,
            "share": self.share,
            "open_interest": self.open_interest,
            "contracts": self.contracts,
            "distance_pct": self.distance_pct,
        }


@dataclass(frozen=True, slots=True)
class Walls:
    """Walls of both sides and the absolute gamma strike.

    Attributes:
        scope: Expiry slice the walls were computed on.
        method: Definition used (``gamma_argmax_ties_toward_spot``).
        max_moneyness: Candidate window ``|K/S - 1|`` (``None``: unlimited).
        call: Call walls, primary first.
        put: Put walls, primary first.
        absolute_gamma_strike: The absolute gamma strike, ``None`` without candidates.
    """

    scope: str
    method: str
    max_moneyness: float | None
    call: tuple[Wall, ...]
    put: tuple[Wall, ...]
    absolute_gamma_strike: float | None

    def to_dict(self) -> dict[str, Any]:
        """Return the walls as JSON-ready values."""
        return {
            "scope": self.scope,
            "method": self.method,
            "max_moneyness": self.max_moneyness,
            "call": [wall.to_dict() for wall in self.call],
            "put": [wall.to_dict() for wall in self.put],
            "absolute_gamma_strike": self.absolute_gamma_strike,
        }


def rank_strikes(
    strikes: FloatArray,
    values: FloatArray,
    spot: float,
    top_n: int,
    max_moneyness: float | None,
) -> npt.NDArray[np.intp]:
    """Return the indices of the ``top_n`` largest positive ``values``, ties toward spot.

    Args:
        strikes: Strikes (currency units).
        values: Non-negative score per strike (e.g. unsigned call GEX).
        spot: Spot ``S``.
        top_n: How many to return (fewer when fewer candidates exist).
        max_moneyness: Only strikes with ``|K/S - 1|`` at most this compete.

    Returns:
        Indices into ``strikes``, best first: larger value, then nearer spot, then lower.
    """
    with np.errstate(invalid="ignore"):
        candidate = np.isfinite(values) & (values > 0.0)
        if max_moneyness is not None:
            candidate &= np.abs(strikes / spot - 1.0) <= max_moneyness
    index = np.flatnonzero(candidate)
    order = np.lexsort((strikes[index], np.abs(strikes[index] - spot), -values[index]))
    return index[order[:top_n]]


def _side(
    by_strike: pd.DataFrame, side: str, spot: float, top_n: int, window: float | None
) -> tuple[Wall, ...]:
    strikes = by_strike["strike"].to_numpy(dtype=np.float64)
    gex = np.abs(by_strike[f"{side}_gex"].to_numpy(dtype=np.float64))
    oi = by_strike[f"{side}_open_interest"].to_numpy(dtype=np.float64)
    contracts = by_strike[f"{side}_contracts"].to_numpy()
    total = float(gex.sum())
    return tuple(
        Wall(
            strike=float(strikes[i]),
            gex=float(gex[i]),
            share=float(gex[i] / total) if total > 0.0 else float("nan"),
            open_interest=float(oi[i]),
            contracts=int(contracts[i]),
            distance_pct=float(strikes[i] / spot - 1.0),
        )
        for i in rank_strikes(strikes, gex, spot, top_n, window)
    )


def compute_walls(
    by_strike: pd.DataFrame,
    *,
    spot: float,
    top_n: int,
    max_moneyness: float | None,
    scope: str,
) -> Walls:
    """Return the call walls, put walls and absolute gamma strike of one scope.

    Args:
        by_strike: Strike aggregates of the scope (``exposure.aggregate_exposures``).
        spot: Spot ``S``.
        top_n: Walls per side.
        max_moneyness: Candidate window ``|K/S - 1|``; ``None`` for none.
        scope: Name of the expiry slice, recorded.
    """
    strikes = by_strike["strike"].to_numpy(dtype=np.float64)
    absolute = np.abs(by_strike["call_gex"].to_numpy(dtype=np.float64)) + np.abs(
        by_strike["put_gex"].to_numpy(dtype=np.float64)
    )
    best = rank_strikes(strikes, absolute, spot, 1, max_moneyness)
    return Walls(
        scope=scope,
        method="gamma_argmax_ties_toward_spot",
        max_moneyness=max_moneyness,
        call=_side(by_strike, "call", spot, top_n, max_moneyness),
        put=_side(by_strike, "put", spot, top_n, max_moneyness),
        absolute_gamma_strike=float(strikes[best[0]]) if best.size else None,
    )
