"""GEX slope near spot: the analytic derivative of the re-priced profile (METHODOLOGY §1.8).

Sticky strike, with ``∂Γ/∂S = -(Γ/S)(1 + d1/(sigma√T))``, so ``∂(Γ·S²)/∂S = Γ·S·(1 -
d1/(sigma√T))`` and

    dNetGEX/dS = Σ_i s_i·OI_i·M_i·0.01·Γ_i·S·(1 - d1_i/(sigma_i·√T_i))

in $ per 1% move per $1 of spot (``analytic``; ``per_pct = analytic·0.01·S`` expresses it
per 1% move of spot). Reported beside it, from the exact profile ``G``:

* ``window_secant = (G(S(1 + w)) - G(S(1 - w)))/(2wS)`` with ``w = gex_slope_range_pct``
  (default 2%): the mean of the analytic slope over the window, less sensitive to the
  sharp 0DTE gamma near spot;
* ``finite_difference``: the same with a small step ``h`` (default 0.001%), a check that the
  analytic sum and the profile agree (``relative_difference``).

A positive slope means a rally adds long dealer gamma; a negative slope with spot near the
flip means fragility [I]. Vendor-gamma contracts (no IV) have no slope and are left out.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from optionscope.metrics.dealer.exposure import GEX_SCALE_PER_PCT
from optionscope.metrics.dealer.profile import ProfileInputs

__all__ = ["Slope", "analytic_slope", "compute_slope"]


@dataclass(frozen=True, slots=True)
class Slope:
    """GEX slope around spot (units in the module docstring).

    Attributes:
        value: The headline slope ($ per 1% per $1): ``analytic`` by default, the seed's
            strike-bucket difference in seed mode.
        method: Definition of ``value``.
        analytic: ``dNetGEX/dS`` at spot.
        per_pct: ``analytic·0.01·S`` ($ per 1% move per 1% move of spot).
        window_secant: Secant of the profile over ``[S(1 - w), S(1 + w)]``.
        window_pct: ``w``.
        finite_difference: Central difference of the profile with step ``h``.
        finite_difference_step_pct: ``h``.
        relative_difference: ``|analytic - finite_difference|/|analytic|``.
    """

    value: float | None
    method: str
    analytic: float
    per_pct: float
    window_secant: float
    window_pct: float
    finite_difference: float
    finite_difference_step_pct: float
    relative_difference: float

    def to_dict(self) -> dict[str, Any]:
        """Return the slope as JSON-ready values."""
        return {
            "value": self.value,
            "method": self.method,
            "analytic": self.analytic,
            "per_pct": self.per_pct,
            "window_secant": self.window_secant,
            "window_pct": self.window_pct,
            "finite_difference": self.finite_difference,
            "finite_difference_step_pct": self.finite_difference_step_pct,
            "relative_difference": self.relative_difference,
            "units": "USD per 1% move per 1 unit of spot (per_pct: per 1% move of spot)",
        }


def analytic_slope(frame: pd.DataFrame, *, spot: float, rate: float) -> float:
    """Return ``Σ s·OI·M·0.01·Γ·S·(1 - d1/(sigma√T))`` over contracts with an IV.

    Args:
        frame: Contracts with ``gamma``, ``sigma``, ``strike``, ``years_to_expiry``,
            ``dividend_yield``, ``open_interest``, ``multiplier``, ``dealer_sign``,
            ``gamma_source`` columns.
        spot: Spot ``S``.
        rate: The chain's rate per year.

    Examples:
        METHODOLOGY §9: ``S = 100, K = 103, sigma = 0.25, T = 20/365``, one contract of
        multiplier 100, dealer sign +1: 55.58537.

        >>> from optionscope.pricing import greeks
        >>> g = greeks(S=100, K=103, T=20 / 365, r=0, q=0, sigma=0.25, is_call=True)
        >>> f = pd.DataFrame({"gamma": [float(g["gamma"])], "sigma": [0.25], "strike": [103.0],
        ...     "years_to_expiry": [20 / 365], "dividend_yield": [0.0], "open_interest": [1.0],
        ...     "multiplier": [100.0], "dealer_sign": [1.0], "gamma_source": ["own"]})
        >>> round(analytic_slope(f, spot=100.0, rate=0.0), 5)
        55.58537
    """
    sigma = frame["sigma"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        usable = (
            np.isfinite(sigma)
            & (sigma > 0.0)
            & (frame["gamma_source"] != "vendor_gamma").to_numpy(dtype=bool)
        )
    years = frame["years_to_expiry"].to_numpy(dtype=np.float64)[usable]
    sig = sigma[usable]
    q = frame["dividend_yield"].to_numpy(dtype=np.float64)[usable]
    strike = frame["strike"].to_numpy(dtype=np.float64)[usable]
    vol_time = sig * np.sqrt(years)
    d1 = (np.log(spot / strike) + (rate - q + 0.5 * sig * sig) * years) / vol_time
    gamma = frame["gamma"].to_numpy(dtype=np.float64)[usable]
    units = (
        frame["dealer_sign"].to_numpy(dtype=np.float64)[usable]
        * frame["open_interest"].to_numpy(dtype=np.float64)[usable]
        * frame["multiplier"].to_numpy(dtype=np.float64)[usable]
    )
    return float(np.sum(units * GEX_SCALE_PER_PCT * gamma * spot * (1.0 - d1 / vol_time)))


def compute_slope(
    frame: pd.DataFrame,
    inputs: ProfileInputs,
    *,
    spot: float,
    rate: float,
    window_pct: float,
    check_step_pct: float,
) -> Slope:
    """Return the analytic slope at spot with its window secant and finite-difference check.

    Args:
        frame: Eligible contracts with exposure columns (see ``analytic_slope``).
        inputs: Profile coefficients of the same contracts.
        spot: Spot ``S``.
        rate: The chain's rate per year.
        window_pct: ``w`` of the secant (``gex_slope_range_pct``).
        check_step_pct: ``h`` of the finite-difference check.
    """
    analytic = analytic_slope(frame, spot=spot, rate=rate)

    def secant(h: float) -> float:
        up, down = inputs.value(spot * (1.0 + h)), inputs.value(spot * (1.0 - h))
        return (up - down) / (2.0 * h * spot)

    check = secant(check_step_pct)
    scale = max(abs(analytic), abs(check))
    return Slope(
        value=analytic,
        method="analytic_derivative_at_spot",
        analytic=analytic,
        per_pct=analytic * GEX_SCALE_PER_PCT * spot,
        window_secant=secant(window_pct),
        window_pct=window_pct,
        finite_difference=check,
        finite_difference_step_pct=check_step_pct,
        relative_difference=abs(analytic - check) / scale if scale > 0.0 else 0.0,
    )
