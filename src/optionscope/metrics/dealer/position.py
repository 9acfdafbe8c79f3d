"""Dealer position (long / short / neutral gamma) and confidence (METHODOLOGY §1.10) [P].

Position, under the recorded sign policy:

* ``long_gamma`` if ``NetGEX(S) > 0`` and ``DGPI >= τ``; ``short_gamma`` if ``NetGEX(S) < 0``
  and ``DGPI <= -τ``; otherwise ``neutral`` (default ``τ = 10``);
* without ADV$ (no DGPI) the same test on ``net_to_gross`` against its threshold (0.10);
* ``neutral`` whenever spot is within ``0.25·EM_1d`` of the flip (the flip zone), where
  ``EM_1d = S·sigma_ATM·√(1/252)`` is the one-day expected move;
* ``unknown`` when the confidence is ``invalid``.

The regime is the sign of ``G(S)`` (net GEX at spot), not "spot above the flip", which can
disagree with it (§1.6).

Confidence ``c ∈ [0, 1]`` is the geometric mean of the available components:

* ``magnitude = |net_to_gross|``: how one-sided the book is;
* ``distance = 1 - exp(-|S - S_flip|/EM_1d)``; 1 when the window has no flip;
* ``data = freshness x coverage x (1 - 0.5·share_0dte) x strike_coverage`` with
  ``freshness = 0.5^stale sessions`` of open interest, ``coverage`` = (share of gross GEX
  with our own IV) x (share of the filtered open interest that has a gamma), ``share_0dte``
  the 0DTE share of gross GEX (its open interest is stale intraday) and ``strike_coverage =
  exp(-gap/EM_1d)`` where ``gap`` is how far spot lies outside the eligible strikes (1
  inside: a chain whose strikes do not reach spot says little about gamma at spot);
* ``model``: the fraction of alternative specifications agreeing on the sign of
  ``NetGEX(S)``: the vendor's IV instead of ours, the chain without the next expiry, and the
  profile half a day's expected move either side of spot.

Labels: ``high`` at ``c >= 0.60``, ``medium`` at ``c >= 0.30``, else ``low``; ``invalid``
when the inputs cannot support a number (no spot, no eligible contracts, fewer than
``min_contracts`` with gamma, zero gross GEX).
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from optionscope.metrics.dealer.params import DealerParams

__all__ = [
    "Confidence",
    "Position",
    "classify_position",
    "combine_confidence",
    "distance_component",
    "expected_move_1d",
    "model_agreement",
]

TRADING_DAYS_PER_YEAR = 252


@dataclass(frozen=True, slots=True)
class Position:
    """Dealer gamma position.

    Attributes:
        label: ``long_gamma``, ``short_gamma``, ``neutral`` or ``unknown``.
        method: Definition used.
        components: The inputs of the decision (JSON-ready).
    """

    label: str
    method: str
    components: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """Return the position as JSON-ready values."""
        return {"label": self.label, "method": self.method, "components": dict(self.components)}


@dataclass(frozen=True, slots=True)
class Confidence:
    """Confidence in the dealer metrics.

    Attributes:
        label: ``high``, ``medium``, ``low`` or ``invalid``.
        score: Geometric mean of the components (``None`` when invalid or in seed mode).
        method: Definition used.
        components: Each component's value (``None`` when not computable).
        reasons: Why the label is ``invalid`` (empty otherwise).
    """

    label: str
    score: float | None
    method: str
    components: Mapping[str, Any]
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return the confidence as JSON-ready values."""
        return {
            "label": self.label,
            "score": self.score,
            "method": self.method,
            "components": dict(self.components),
            "reasons": list(self.reasons),
        }


def expected_move_1d(spot: float, atm_iv: float) -> float | None:
    """Return ``S·sigma_ATM·√(1/252)``, the one-day 1-sigma move; ``None`` without an IV.

    Examples:
        >>> round(expected_move_1d(5000.0, 0.16), 4)
        50.3953
    """
    if not (math.isfinite(atm_iv) and atm_iv > 0.0):
        return None
    return spot * atm_iv * math.sqrt(1.0 / TRADING_DAYS_PER_YEAR)


def classify_position(
    *,
    net_gex: float,
    net_to_gross: float,
    dgpi: float | None,
    spot: float,
    flip: float | None,
    expected_move: float | None,
    params: DealerParams,
) -> Position:
    """Return the dealer position (module docstring) with its components."""
    if dgpi is not None:
        basis, score, threshold = "dgpi", dgpi, params.position_threshold
    else:
        basis, score = "net_to_gross", net_to_gross
        threshold = params.position_net_to_gross_threshold
    in_zone = (
        flip is not None
        and expected_move is not None
        and abs(spot - flip) < params.flip_zone_expected_moves * expected_move
    )
    if in_zone:
        label = "neutral"
    elif net_gex > 0.0 and score >= threshold:
        label = "long_gamma"
    elif net_gex < 0.0 and score <= -threshold:
        label = "short_gamma"
    else:
        label = "neutral"
    components = {
        "net_gex": net_gex,
        "basis": basis,
        "score": score,
        "threshold": threshold,
        "flip": flip,
        "expected_move_1d": expected_move,
        "flip_zone_half_width": (
            params.flip_zone_expected_moves * expected_move if expected_move else None
        ),
        "in_flip_zone": in_zone,
    }
    return Position(label, "sign_of_net_gex_with_dgpi_threshold_and_flip_zone", components)


def distance_component(
    spot: float, flip: float | None, expected_move: float | None
) -> float | None:
    """Return ``1 - exp(-|S - S_flip|/EM_1d)``; 1 without a flip; ``None`` without EM."""
    if flip is None:
        return 1.0
    if expected_move is None or expected_move <= 0.0:
        return None
    return 1.0 - math.exp(-abs(spot - flip) / expected_move)


def model_agreement(
    primary: float, alternatives: Mapping[str, float]
) -> tuple[float, dict[str, Any]]:
    """Return the share of specifications (the primary included) agreeing on ``sign(primary)``.

    Args:
        primary: Net GEX at spot of the primary specification.
        alternatives: Net GEX at spot of each alternative that could be computed.
    """
    sign = math.copysign(1.0, primary) if primary != 0.0 else 0.0
    agree = {
        name: (math.copysign(1.0, v) if v != 0.0 else 0.0) == sign
        for name, v in alternatives.items()
    }
    share = (1 + sum(agree.values())) / (1 + len(agree))
    return share, {"alternatives": dict(alternatives), "agree": agree}


def combine_confidence(
    components: Mapping[str, float | None],
    params: DealerParams,
    reasons: Sequence[str] = (),
    extra: Mapping[str, Any] | None = None,
) -> Confidence:
    """Return the confidence: geometric mean of the non-``None`` components, labelled.

    Args:
        components: ``magnitude``, ``distance``, ``data``, ``model`` values in [0, 1].
        params: Thresholds (``confidence_high``, ``confidence_medium``).
        reasons: Reasons for ``invalid``; any reason makes the label ``invalid``.
        extra: More JSON-ready detail to record beside the components.

    Examples:
        >>> c = combine_confidence({"magnitude": 0.5, "distance": 1.0, "data": 0.8,
        ...                         "model": None}, DealerParams())
        >>> c.label, round(c.score, 6)
        ('high', 0.736806)
    """
    recorded = {**components, **(extra or {})}
    method = "geometric_mean(magnitude, distance, data, model)"
    if reasons:
        return Confidence("invalid", None, method, recorded, tuple(reasons))
    values = [v for v in components.values() if v is not None]
    if not values:
        return Confidence("invalid", None, method, recorded, ("no_components",))
    if min(values) <= 0.0:
        score = 0.0
    else:
        score = math.exp(sum(math.log(min(v, 1.0)) for v in values) / len(values))
    if score >= params.confidence_high:
        label = "high"
    elif score >= params.confidence_medium:
        label = "medium"
    else:
        label = "low"
    return Confidence(label, score, method, recorded)
