"""Per-contract dealer exposures and their aggregation by strike, expiry and expiry slice.

Per contract i with gamma ``Γ``, delta ``Δ``, vanna ``∂Δ/∂sigma``, charm ``∂Δ/∂t`` (per year),
open interest ``OI``, multiplier ``M``, dealer sign ``s`` and spot ``S`` (METHODOLOGY §1.1,
§1.2, §1.7):

| quantity | formula | unit |
|---|---|---|
| ``share_gamma`` | ``Γ·OI·M`` | shares to trade per $1 move (unsigned) |
| ``gex`` | ``Γ·OI·M·S²·0.01`` | $ of underlying to trade per 1% move (unsigned) |
| ``net_gex`` | ``s·gex`` | $ per 1% move, dealer-signed |
| ``dex`` | ``s·Δ·OI·M·S`` | $ of underlying the dealers are long (delta notional) |
| ``vanna_exposure`` | ``s·vanna·OI·M·S·0.01`` | $ delta change per +1 vol point |
| ``charm_exposure`` | ``s·charm·OI·M·S/365`` | $ delta change per calendar day |

``GEX_1% = GEX_$1·(0.01·S)``: at S = 100 the two coincide, so tests use S != 100.

Totals: ``total_gex`` (gross) ``= Σ|gex_i|`` over contracts, calls and puts not netted
(SpotGamma's "absolute gamma"); ``net_gex = Σ s_i·gex_i``; ``net_to_gross ∈ [-1, 1]``.
Slices (by calendar days to expiry from the session date): ``0dte``, ``le_7d``, ``le_30d``,
``all`` and ``ex_next_expiry`` (all but the nearest settlement instant, Perfiliev's
"Ex-Next Expiry": what the next expiration removes).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from optionscope.metrics.dealer.params import SLICE_NAMES

__all__ = [
    "AGGREGATE_COLUMNS",
    "GEX_SCALE_PER_PCT",
    "Exposure",
    "SliceExposure",
    "add_contract_exposures",
    "aggregate_exposures",
    "slice_masks",
    "total_exposure",
]

GEX_SCALE_PER_PCT = 0.01
"""A 1% move of the underlying, as a fraction."""

DAYS_PER_YEAR = 365.0

AGGREGATE_COLUMNS = (
    "call_gex",
    "put_gex",
    "gross_gex",
    "net_gex",
    "share_gamma",
    "net_share_gamma",
    "dex",
    "vanna_exposure",
    "charm_exposure",
    "call_open_interest",
    "put_open_interest",
    "call_contracts",
    "put_contracts",
)

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class SliceExposure:
    """Net and gross GEX of one expiry slice ($ per 1% move) and its contract count."""

    net_gex: float
    gross_gex: float
    contracts: int

    def to_dict(self) -> dict[str, Any]:
        """Return the slice as JSON-ready values."""
        return {"net_gex": self.net_gex, "gross_gex": self.gross_gex, "contracts": self.contracts}


@dataclass(frozen=True, slots=True)
class Exposure:
    """Chain totals (units in the module table).

    Attributes:
        total_gex: Gross GEX ``Σ|gex_i|`` ($ per 1%).
        net_gex: Dealer-signed GEX ``Σ s_i·gex_i`` ($ per 1%).
        net_to_gross: ``net_gex/total_gex`` (NaN when gross is 0).
        total_share_gamma: ``Σ Γ·OI·M`` (shares per $1).
        net_share_gamma: ``Σ s·Γ·OI·M`` (shares per $1).
        dex: Dealer delta notional ($); NaN contributions (no delta) are skipped.
        vanna_exposure: $ delta change per +1 vol point.
        charm_exposure: $ delta change per calendar day.
        contracts_without_delta: Contracts whose delta, vanna and charm are unknown
            (vendor-gamma fallback), left out of the three sums above.
        slices: Net and gross GEX by ``SLICE_NAMES``.
    """

    total_gex: float
    net_gex: float
    net_to_gross: float
    total_share_gamma: float
    net_share_gamma: float
    dex: float
    vanna_exposure: float
    charm_exposure: float
    contracts_without_delta: int
    slices: Mapping[str, SliceExposure]

    def to_dict(self) -> dict[str, Any]:
        """Return the totals as JSON-ready values."""
        return {
            "total_gex": self.total_gex,
            "net_gex": self.net_gex,
            "net_to_gross": self.net_to_gross,
            "total_share_gamma": self.total_share_gamma,
            "net_share_gamma": self.net_share_gamma,
            "dex": self.dex,
            "vanna_exposure": self.vanna_exposure,
            "charm_exposure": self.charm_exposure,
            "contracts_without_delta": self.contracts_without_delta,
            "slices": {name: value.to_dict() for name, value in self.slices.items()},
            "units": {
                "gex": "USD per 1% move of the underlying",
                "share_gamma": "shares per 1 unit move of the underlying",
                "dex": "USD of underlying (delta notional)",
                "vanna_exposure": "USD of delta per +1 vol point",
                "charm_exposure": "USD of delta per calendar day",
            },
        }


def add_contract_exposures(frame: pd.DataFrame, weights: FloatArray, spot: float) -> pd.DataFrame:
    """Return ``frame`` with the per-contract exposure columns of the module table.

    Args:
        frame: Eligible contracts (``gamma``, ``delta``, ``vanna``, ``charm``,
            ``open_interest``, ``multiplier`` columns).
        weights: Dealer sign weight per contract (``SignPolicy.weights``).
        spot: Spot ``S`` (currency units).

    Returns:
        A copy with ``dealer_sign``, ``share_gamma``, ``gex``, ``net_gex``, ``dex``,
        ``vanna_exposure``, ``charm_exposure``.

    Examples:
        METHODOLOGY §9 at S = K = 500, sigma = 0.2, T = 30/365, OI = 1000, M = 100:

        >>> f = pd.DataFrame({"gamma": [0.0139097], "delta": [0.5], "vanna": [0.0],
        ...                   "charm": [0.0], "open_interest": [1000.0], "multiplier": [100.0]})
        >>> out = add_contract_exposures(f, np.array([1.0]), 500.0)
        >>> round(float(out["share_gamma"][0]), 2), round(float(out["gex"][0]), 0)
        (1390.97, 3477425.0)
    """
    out = frame.copy()
    units = out["open_interest"].to_numpy(dtype=np.float64) * out["multiplier"].to_numpy(
        dtype=np.float64
    )
    sign = np.asarray(weights, dtype=np.float64)
    share_gamma = out["gamma"].to_numpy(dtype=np.float64) * units
    gex = share_gamma * spot * spot * GEX_SCALE_PER_PCT
    out["dealer_sign"] = sign
    out["share_gamma"] = share_gamma
    out["gex"] = gex
    out["net_gex"] = sign * gex
    out["dex"] = sign * out["delta"].to_numpy(dtype=np.float64) * units * spot
    vanna = out["vanna"].to_numpy(dtype=np.float64)
    out["vanna_exposure"] = sign * vanna * units * spot * GEX_SCALE_PER_PCT
    out["charm_exposure"] = (
        sign * out["charm"].to_numpy(dtype=np.float64) * units * spot / DAYS_PER_YEAR
    )
    return out


def _sum_by(codes: npt.NDArray[np.intp], values: FloatArray, size: int) -> FloatArray:
    sums = np.bincount(codes, weights=np.nan_to_num(values, nan=0.0), minlength=size)
    return np.asarray(sums, dtype=np.float64)


def aggregate_exposures(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """Return exposures summed by ``key`` (``strike`` or ``expiry``), sorted by key.

    Args:
        frame: Contracts with the columns of ``add_contract_exposures``.
        key: Column to group on.

    Returns:
        One row per key value with ``AGGREGATE_COLUMNS``; ``call_gex`` and ``put_gex`` are
        unsigned, ``net_gex`` dealer-signed ($ per 1% move).
    """
    if frame.empty:
        return pd.DataFrame({key: [], **{name: [] for name in AGGREGATE_COLUMNS}})
    uniques, codes = np.unique(frame[key].to_numpy(), return_inverse=True)
    n = len(uniques)
    is_call = frame["is_call"].to_numpy(dtype=bool)
    gex = frame["gex"].to_numpy(dtype=np.float64)
    oi = frame["open_interest"].to_numpy(dtype=np.float64)
    sign = frame["dealer_sign"].to_numpy(dtype=np.float64)
    share = frame["share_gamma"].to_numpy(dtype=np.float64)
    columns: dict[str, Any] = {
        key: uniques,
        "call_gex": _sum_by(codes, np.where(is_call, gex, 0.0), n),
        "put_gex": _sum_by(codes, np.where(is_call, 0.0, gex), n),
        "gross_gex": _sum_by(codes, gex, n),
        "net_gex": _sum_by(codes, frame["net_gex"].to_numpy(dtype=np.float64), n),
        "share_gamma": _sum_by(codes, share, n),
        "net_share_gamma": _sum_by(codes, sign * share, n),
        "dex": _sum_by(codes, frame["dex"].to_numpy(dtype=np.float64), n),
        "vanna_exposure": _sum_by(codes, frame["vanna_exposure"].to_numpy(dtype=np.float64), n),
        "charm_exposure": _sum_by(codes, frame["charm_exposure"].to_numpy(dtype=np.float64), n),
        "call_open_interest": _sum_by(codes, np.where(is_call, oi, 0.0), n),
        "put_open_interest": _sum_by(codes, np.where(is_call, 0.0, oi), n),
        "call_contracts": np.bincount(codes[is_call], minlength=n).astype(np.int64),
        "put_contracts": np.bincount(codes[~is_call], minlength=n).astype(np.int64),
    }
    return pd.DataFrame(columns)


def slice_masks(frame: pd.DataFrame) -> dict[str, BoolArray]:
    """Return a contract mask per expiry slice (``SLICE_NAMES``)."""
    dte = frame["dte_days"].to_numpy()
    settle = frame["settlement_time"].to_numpy(dtype="datetime64[ns]")
    nearest = settle == settle.min() if len(frame) else np.zeros(0, dtype=bool)
    masks = {
        "0dte": dte <= 0,
        "le_7d": dte <= 7,
        "le_30d": dte <= 30,
        "all": np.ones(len(frame), dtype=bool),
        "ex_next_expiry": ~nearest,
    }
    return {name: masks[name] for name in SLICE_NAMES}


def _total(values: FloatArray) -> float:
    return float(np.nansum(values))


def total_exposure(frame: pd.DataFrame) -> Exposure:
    """Return the chain totals and the expiry slices of the eligible contracts."""
    gex = frame["gex"].to_numpy(dtype=np.float64)
    net = frame["net_gex"].to_numpy(dtype=np.float64)
    gross = _total(np.abs(gex))
    net_total = _total(net)
    slices = {
        name: SliceExposure(_total(net[mask]), _total(np.abs(gex[mask])), int(mask.sum()))
        for name, mask in slice_masks(frame).items()
    }
    sign = frame["dealer_sign"].to_numpy(dtype=np.float64)
    share = frame["share_gamma"].to_numpy(dtype=np.float64)
    return Exposure(
        total_gex=gross,
        net_gex=net_total,
        net_to_gross=net_total / gross if gross > 0.0 else float("nan"),
        total_share_gamma=_total(share),
        net_share_gamma=_total(sign * share),
        dex=_total(frame["dex"].to_numpy(dtype=np.float64)),
        vanna_exposure=_total(frame["vanna_exposure"].to_numpy(dtype=np.float64)),
        charm_exposure=_total(frame["charm_exposure"].to_numpy(dtype=np.float64)),
        contracts_without_delta=int(np.count_nonzero(~np.isfinite(frame["delta"].to_numpy()))),
        slices=slices,
    )
