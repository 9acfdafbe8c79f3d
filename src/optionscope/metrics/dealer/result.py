"""The result of one dealer computation and its deterministic JSON payload.

``DealerMetrics`` carries the headline values (the typed-table columns: ``total_gex``,
``net_gex``, ``gamma_flip``, ``call_walls``, ``put_walls``, ``gex_slope``, ``dgpi``,
``dealer_position``, ``confidence``, ``model_version``), the detail objects behind them, the
arrays a report draws (gamma by strike, the profile), the effective parameters, the filter
counts and diagnostics. ``to_json()`` is deterministic: keys sorted, no whitespace, NaN and
infinities written as ``null`` (never as numbers), no wall-clock time.
"""

import datetime as dt
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from optionscope.metrics.dealer.compat import SeedMetrics, SeedWall
from optionscope.metrics.dealer.dgpi import Dgpi
from optionscope.metrics.dealer.exposure import Exposure
from optionscope.metrics.dealer.filters import FilterReport
from optionscope.metrics.dealer.position import Confidence, Position
from optionscope.metrics.dealer.profile import Crossing, GammaProfile
from optionscope.metrics.dealer.slope import Slope
from optionscope.metrics.dealer.walls import Walls

__all__ = ["TYPED_COLUMNS", "DealerMetrics", "Flip", "SeedWallSet", "json_ready"]

TYPED_COLUMNS = (
    "total_gex",
    "net_gex",
    "gamma_flip",
    "call_walls",
    "put_walls",
    "gex_slope",
    "dgpi",
    "dealer_position",
    "confidence",
    "model_version",
    "mode",
    "sign_policy",
    "flip_method",
    "primary_call_wall",
    "primary_put_wall",
    "absolute_gamma_strike",
    "net_to_gross",
    "confidence_score",
    "spot",
    "eligible_contracts",
)
"""Suggested columns of ``dealer_positioning_metrics`` (``DealerMetrics.typed_row``)."""


def json_ready(value: Any) -> Any:
    """Return ``value`` as JSON-ready Python values; NaN and infinities become ``None``."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, np.generic):
        return json_ready(value.item())
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, np.ndarray | list | tuple):
        return [json_ready(v) for v in value]
    if hasattr(value, "to_dict"):
        return json_ready(value.to_dict())
    raise TypeError(f"not JSON-ready: {type(value).__name__}")


def _columns(frame: pd.DataFrame) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_datetime64_any_dtype(column):
            out[str(name)] = [None if pd.isna(x) else pd.Timestamp(x).isoformat() for x in column]
        else:
            out[str(name)] = [json_ready(x) for x in column.tolist()]
    return out


@dataclass(frozen=True, slots=True)
class Flip:
    """The gamma flip and its alternatives (METHODOLOGY §1.6).

    Attributes:
        value: Headline flip: the profile zero nearest spot (default) or the seed's
            cumulative-strike crossing (seed mode); ``None`` when none exists.
        method: Definition of ``value``.
        none_reason: Why ``value`` is ``None``.
        profile_sign: Sign of the profile over the whole window when it has no zero.
        profile_flip: The profile zero nearest spot (either mode).
        profile_crossings: Every profile zero in the window.
        ex_next_expiry: The profile zero nearest spot without the next expiry.
        ex_next_expiry_crossings: Every zero of that profile.
        cumulative_strike: First crossing of the cumulative strike GEX (definition 2),
            interpolated, under the recorded sign policy (secondary, labelled).
        cumulative_strike_crossings: Every such crossing.
        distance_pct: ``(S - flip)/S``.
        distance_expected_moves: ``(S - flip)/EM_1d``.
    """

    value: float | None
    method: str
    none_reason: str | None
    profile_sign: str | None
    profile_flip: float | None
    profile_crossings: tuple[Crossing, ...]
    ex_next_expiry: float | None
    ex_next_expiry_crossings: tuple[Crossing, ...]
    cumulative_strike: float | None
    cumulative_strike_crossings: tuple[float, ...]
    distance_pct: float | None
    distance_expected_moves: float | None

    def to_dict(self) -> dict[str, Any]:
        """Return the flip as JSON-ready values."""
        return {
            "value": self.value,
            "method": self.method,
            "none_reason": self.none_reason,
            "profile_sign": self.profile_sign,
            "profile_flip": self.profile_flip,
            "profile_crossings": [c.to_dict() for c in self.profile_crossings],
            "ex_next_expiry": self.ex_next_expiry,
            "ex_next_expiry_crossings": [c.to_dict() for c in self.ex_next_expiry_crossings],
            "cumulative_strike": self.cumulative_strike,
            "cumulative_strike_crossings": list(self.cumulative_strike_crossings),
            "distance_pct": self.distance_pct,
            "distance_expected_moves": self.distance_expected_moves,
        }


@dataclass(frozen=True, slots=True)
class SeedWallSet:
    """The seed's walls in the JSON shape of ``Walls``."""

    max_moneyness: float
    call: tuple[SeedWall, ...]
    put: tuple[SeedWall, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return the walls as JSON-ready values."""
        return {
            "scope": "all",
            "method": "seed_proximity_weighted_abs_gex_ties_lower_strike",
            "max_moneyness": self.max_moneyness,
            "call": [wall.to_dict() for wall in self.call],
            "put": [wall.to_dict() for wall in self.put],
            "absolute_gamma_strike": None,
        }


@dataclass(frozen=True, eq=False)
class DealerMetrics:
    """Dealer positioning metrics of one ticker snapshot.

    Headline values (``None`` = NULL, with the reason in the detail objects):

    Attributes:
        model_version: ``dealer-<mode>-<MODEL_VERSION>``; distinct per mode so both can be
            stored under one (ticker, as_of) key.
        mode: ``default`` or ``seed_compat``.
        as_of: Valuation instant (UTC).
        spot: Spot used (currency units).
        sign_policy: Name of the dealer sign policy.
        total_gex: Gross GEX ($ per 1% move).
        net_gex: Dealer-signed net GEX at spot ($ per 1% move).
        gamma_flip: Headline flip (currency units).
        call_walls: Call wall strikes, primary first.
        put_walls: Put wall strikes, primary first.
        absolute_gamma_strike: Strike with the most unsigned gamma.
        gex_slope: Headline slope ($ per 1% move per $1 of spot).
        dgpi: Headline DGPI in [-100, 100].
        dealer_position: ``long_gamma``, ``short_gamma``, ``neutral`` or ``unknown``.
        confidence: ``high``, ``medium``, ``low`` or ``invalid``.
        confidence_score: Default mode's score in [0, 1].
        exposure: Totals, Greeks exposures and expiry slices.
        flip: Flip detail.
        walls: Wall detail (``Walls``, or ``SeedWallSet`` in seed mode).
        slope: Slope detail.
        dgpi_detail: DGPI detail.
        position: Position detail.
        confidence_detail: Confidence detail.
        seed: Every seed output (seed mode only).
        filters: Effective filters and counts.
        profile: The re-priced profile (levels and values).
        by_strike: Exposures by strike (the "gamma by strike" chart's data).
        by_expiry: Exposures by expiry.
        expiries: Per expiry series: time, forward, carry, ATM IV.
        parameters: Effective parameters.
        context: Market context given.
        diagnostics: Counts, sources, warnings.
        contracts: The eligible contracts with greeks and exposures (not serialised).
    """

    model_version: str
    mode: str
    as_of: pd.Timestamp
    spot: float | None
    sign_policy: str
    total_gex: float | None = None
    net_gex: float | None = None
    gamma_flip: float | None = None
    call_walls: tuple[float, ...] = ()
    put_walls: tuple[float, ...] = ()
    absolute_gamma_strike: float | None = None
    gex_slope: float | None = None
    dgpi: float | None = None
    dealer_position: str = "unknown"
    confidence: str = "invalid"
    confidence_score: float | None = None
    exposure: Exposure | None = None
    flip: Flip | None = None
    walls: Walls | SeedWallSet | None = None
    slope: Slope | None = None
    dgpi_detail: Dgpi | None = None
    position: Position | None = None
    confidence_detail: Confidence | None = None
    seed: SeedMetrics | None = None
    filters: FilterReport | None = None
    profile: GammaProfile | None = None
    by_strike: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    by_expiry: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    expiries: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    parameters: Mapping[str, Any] = field(default_factory=dict)
    context: Mapping[str, Any] = field(default_factory=dict)
    diagnostics: Mapping[str, Any] = field(default_factory=dict)
    contracts: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    @property
    def flip_method(self) -> str | None:
        """Return the definition of the headline flip."""
        return self.flip.method if self.flip else None

    def typed_row(self) -> dict[str, Any]:
        """Return the values of ``TYPED_COLUMNS`` (walls as lists of strikes)."""
        eligible = self.filters.eligible_contracts if self.filters else 0
        values = {
            "total_gex": self.total_gex,
            "net_gex": self.net_gex,
            "gamma_flip": self.gamma_flip,
            "call_walls": list(self.call_walls),
            "put_walls": list(self.put_walls),
            "gex_slope": self.gex_slope,
            "dgpi": self.dgpi,
            "dealer_position": self.dealer_position,
            "confidence": self.confidence,
            "model_version": self.model_version,
            "mode": self.mode,
            "sign_policy": self.sign_policy,
            "flip_method": self.flip_method,
            "primary_call_wall": self.call_walls[0] if self.call_walls else None,
            "primary_put_wall": self.put_walls[0] if self.put_walls else None,
            "absolute_gamma_strike": self.absolute_gamma_strike,
            "net_to_gross": self.exposure.net_to_gross if self.exposure else None,
            "confidence_score": self.confidence_score,
            "spot": self.spot,
            "eligible_contracts": eligible,
        }
        return {name: json_ready(values[name]) for name in TYPED_COLUMNS}

    def _profile_dict(self, include_arrays: bool) -> dict[str, Any] | None:
        if self.profile is None:
            return None
        out: dict[str, Any] = {
            "smile_dynamics": "sticky_strike",
            "levels_count": int(self.profile.levels.size),
            "excluded_contracts": self.profile.inputs.excluded_contracts,
            "value_at_spot": self.profile.value_at_spot,
        }
        if include_arrays:
            out["levels"] = self.profile.levels
            out["net_gex"] = self.profile.net_gex
            out["net_gex_ex_next_expiry"] = self.profile.net_gex_ex_next_expiry
        return out

    def to_dict(self, *, include_arrays: bool = True) -> dict[str, Any]:
        """Return the JSON payload as Python values (see ``to_json``)."""
        payload: dict[str, Any] = {
            "family": "dealer",
            "model_version": self.model_version,
            "mode": self.mode,
            "as_of": self.as_of,
            "spot": self.spot,
            "sign_policy": self.sign_policy,
            "headline": self.typed_row(),
            "exposure": self.exposure,
            "flip": self.flip,
            "walls": self.walls,
            "slope": self.slope,
            "dgpi": self.dgpi_detail,
            "position": self.position,
            "confidence": self.confidence_detail,
            "filters": self.filters,
            "profile": self._profile_dict(include_arrays),
            "parameters": self.parameters,
            "context": self.context,
            "diagnostics": self.diagnostics,
            "expiries": _columns(self.expiries) if include_arrays else None,
            "by_strike": _columns(self.by_strike) if include_arrays else None,
            "by_expiry": _columns(self.by_expiry) if include_arrays else None,
        }
        if self.seed is not None:
            payload["seed"] = {
                "gex_total": self.seed.gex_total,
                "gex_net": self.seed.gex_net,
                "gamma_flip": self.seed.gamma_flip,
                "gex_slope": self.seed.gex_slope,
                "dgpi": self.seed.dgpi,
                "position": self.seed.position,
                "confidence": self.seed.confidence,
            }
        return dict(json_ready(payload))

    def to_json(self, *, include_arrays: bool = True) -> str:
        """Return the deterministic JSON payload (sorted keys, compact, NaN as null).

        Args:
            include_arrays: Include the profile, by-strike, by-expiry and expiry arrays
                (what a report draws); without them the payload is a few kB.
        """
        return json.dumps(
            self.to_dict(include_arrays=include_arrays),
            sort_keys=True,
            separators=(",", ":"),
            allow_nan=False,
            ensure_ascii=False,
        )
