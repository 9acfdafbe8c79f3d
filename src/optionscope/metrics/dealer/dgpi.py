"""DGPI, the Dealer Gamma Pressure Index, normalised by liquidity (METHODOLOGY §1.9).

No public definition of "DGPI" exists (§1.9, §11); this is the brief's proposal [P]:

    ratio = NetGEX_1%(S)/ADV$_20          # share of a typical day's dollar volume dealers
                                          # trade per 1% move
    DGPI  = 100·tanh(ratio/κ)             # κ = 0.05 by default: 5% of ADV per 1% -> 76

and its positional companion (a "Dealer Control Index"-like reading of where spot sits):

    DGPI_pos = 100·tanh((S - S_flip)/(c·ATR_14))

Liquidity normalisation follows Barbon & Buraschi ("Gamma Fragility", 2020: the gamma
imbalance relative to average dollar volume predicts intraday momentum/reversal) and makes
SPX and a small cap comparable, unlike the seed's log scale. ``ADV$`` is the 20-session
mean of close·volume of the underlying; for cash indices use a tradable proxy (SPY + ES
notional) and say so. Calibrate κ per universe (about the 90th percentile of ``|ratio|``).
Without ``ADV$`` the DGPI is NULL with a reason, never 0.

Bands on ``|DGPI|`` (the seed's cut points, kept so readers of both modes share words):
``< 10`` low, ``10-30`` moderate, ``30-60`` significant, ``> 60`` extreme.
"""

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Dgpi", "adv_dollars", "compute_dgpi", "dgpi_band", "dgpi_positional"]

ADV_WINDOW_SESSIONS = 20


@dataclass(frozen=True, slots=True)
class Dgpi:
    """DGPI and its inputs.

    Attributes:
        value: DGPI in [-100, 100]; ``None`` with ``none_reason`` when not computable.
        method: Definition of ``value``.
        band: ``low``/``moderate``/``significant``/``extreme`` for ``|value|``.
        ratio: Net GEX over ADV$ (per 1% move), ``None`` without ADV$.
        scale: ``κ``.
        adv_dollars: The ADV$ used.
        positional: ``DGPI_pos``; ``None`` without a flip or an ATR.
        none_reason: Why ``value`` is ``None``.
    """

    value: float | None
    method: str
    band: str | None
    ratio: float | None
    scale: float
    adv_dollars: float | None
    positional: float | None
    none_reason: str | None

    def to_dict(self) -> dict[str, Any]:
        """Return the DGPI as JSON-ready values."""
        return {
            "value": self.value,
            "method": self.method,
            "band": self.band,
            "ratio": self.ratio,
            "scale": self.scale,
            "adv_dollars": self.adv_dollars,
            "positional": self.positional,
            "none_reason": self.none_reason,
        }


def dgpi_band(value: float | None) -> str | None:
    """Return the band of ``|value|``: low (<10), moderate (<30), significant (<=60), extreme."""
    if value is None or not math.isfinite(value):
        return None
    size = abs(value)
    if size < 10.0:
        return "low"
    if size < 30.0:
        return "moderate"
    return "significant" if size <= 60.0 else "extreme"


def adv_dollars(
    close: npt.ArrayLike, volume: npt.ArrayLike, window: int = ADV_WINDOW_SESSIONS
) -> float | None:
    """Return the mean of ``close·volume`` over the last ``window`` sessions.

    Args:
        close: Daily closes, oldest first (currency units).
        volume: Daily share volumes, aligned with ``close``.
        window: Sessions averaged (20).

    Returns:
        ADV in currency units; ``None`` with fewer than ``window`` finite sessions.

    Examples:
        >>> adv_dollars([10.0] * 20, [1_000.0] * 20)
        10000.0
    """
    dollars = np.asarray(close, dtype=np.float64) * np.asarray(volume, dtype=np.float64)
    dollars = dollars[np.isfinite(dollars)]
    if dollars.size < window:
        return None
    return float(dollars[-window:].mean())


def dgpi_positional(
    spot: float, flip: float | None, atr: float | None, multiple: float
) -> float | None:
    """Return ``100·tanh((S - S_flip)/(c·ATR))``; ``None`` without a flip or a positive ATR."""
    if flip is None or atr is None or not (atr > 0.0 and math.isfinite(atr)):
        return None
    return 100.0 * math.tanh((spot - flip) / (multiple * atr))


def compute_dgpi(
    net_gex: float,
    *,
    adv: float | None,
    scale: float,
    spot: float,
    flip: float | None,
    atr: float | None,
    atr_multiple: float,
) -> Dgpi:
    """Return ``DGPI = 100·tanh((NetGEX/ADV$)/κ)`` and its positional companion.

    Args:
        net_gex: Dealer-signed net GEX at spot ($ per 1% move).
        adv: ADV$ (20-session mean dollar volume); ``None`` if unknown.
        scale: ``κ``.
        spot: Spot ``S``.
        flip: The gamma flip, or ``None``.
        atr: ATR_14 of the underlying (price units), or ``None``.
        atr_multiple: ``c`` of the positional DGPI.

    Examples:
        Net GEX equal to 5% of ADV$ per 1% move, with ``κ = 0.05``:

        >>> round(compute_dgpi(5e8, adv=1e10, scale=0.05, spot=100.0, flip=None, atr=None,
        ...                    atr_multiple=1.0).value, 4)
        76.1594
    """
    positional = dgpi_positional(spot, flip, atr, atr_multiple)
    method = "100*tanh(net_gex/adv_dollars/scale)"
    if adv is None or not (adv > 0.0 and math.isfinite(adv)):
        return Dgpi(None, method, None, None, scale, adv, positional, "adv_dollars_missing")
    if not math.isfinite(net_gex):
        return Dgpi(None, method, None, None, scale, adv, positional, "net_gex_missing")
    ratio = net_gex / adv
    value = 100.0 * math.tanh(ratio / scale)
    return Dgpi(value, method, dgpi_band(value), ratio, scale, adv, positional, None)
