"""Parameters of the dealer metrics and the market context they may use.

``DealerParams`` holds every tunable choice, each with its default (docs/research/
dealer-metrics.md gives the reasons); ``MarketContext`` holds inputs that come from other
tables (rate, liquidity, IV rank, open-interest staleness), all optional.
"""

import math
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from optionscope.metrics.dealer.sign import DEFAULT_SIGN_POLICY, SEED_SIGN_POLICY, SignPolicy
from optionscope.pricing import T_MIN_YEARS

__all__ = [
    "MODEL_VERSION",
    "SLICE_NAMES",
    "DealerMode",
    "DealerParams",
    "MarketContext",
]

MODEL_VERSION = "1.0.0"
"""Formula version; bumped whenever a definition or default changes."""

SLICE_NAMES = ("0dte", "le_7d", "le_30d", "all", "ex_next_expiry")
"""Expiry slices: same-day expiries, <= 7 and <= 30 calendar days, all, all but the nearest."""


class DealerMode(StrEnum):
    """Which definitions the headline fields use."""

    DEFAULT = "default"
    """Profile flip, analytic slope, liquidity-normalised DGPI, data-quality confidence
    (METHODOLOGY §1.4-1.10)."""
    SEED_COMPAT = "seed_compat"
    """The seed story's definitions exactly (METHODOLOGY §1.12), opposite sign included."""


@dataclass(frozen=True)
class DealerParams:
    """Every tunable choice of the dealer metrics.

    Filters (each disabled with ``None``/``False``; applied in this order, counts recorded):

    Attributes:
        mode: Definitions of the headline fields (``DealerMode``).
        sign_policy: Dealer sign policy; ``None`` takes the mode's own (default mode: calls +,
            puts -; seed mode: calls -, puts +).
        exclude_expired: Drop contracts whose settlement instant is at or before ``as_of``.
        require_gamma: Drop contracts without a gamma (no IV from quotes nor vendor).
        require_positive_open_interest: Drop contracts with open interest <= 0 or missing.
        max_dte_days: Drop expiries more than this many calendar days after the session
            date of ``as_of`` (America/New_York).
        min_open_interest: Drop contracts with fewer open contracts.
        min_volume: Drop contracts with fewer contracts traded in the session (missing
            volume counts as 0, like the seed).
        allow_vendor_fallback: Use the vendor's IV, then the vendor's gamma, where our own
            IV from mid quotes is unavailable (recorded per contract).
        t_min_years: Floor of the time to expiry (years of 365 days) so 0DTE gamma is finite.
        profile_range_pct: Half-width of the gamma-profile window as a fraction of spot
            (0.20: levels from 0.8·S to 1.2·S, Perfiliev's window).
        profile_levels: Number of spot levels of the profile grid (geometric spacing; 401
            levels over ±20% are about 0.1% of spot apart).
        walls_top_n: Walls reported per side.
        walls_expiry_scope: Slice of expiries the walls are computed on (``SLICE_NAMES``).
        walls_max_moneyness: Only strikes with ``|K/S - 1|`` at most this are wall
            candidates (guards against absurd far walls); ``None`` for no limit.
        gex_slope_range_pct: Half-width of the window of the secant GEX slope (0.02 = ±2%).
        slope_check_step_pct: Relative step ``h`` of the central finite difference that
            checks the analytic slope.
        dgpi_scale: ``κ`` of ``DGPI = 100·tanh(ratio/κ)``, ratio = net GEX / ADV$ (0.05:
            5% of a day's dollar volume per 1% move gives DGPI ≈ 76).
        dgpi_position_atr_multiple: ``c`` of the positional DGPI ``100·tanh((S -
            S_flip)/(c·ATR))``.
        position_threshold: ``τ``: long (short) gamma needs DGPI >= τ (<= -τ).
        position_net_to_gross_threshold: Threshold on net/gross GEX used instead of DGPI
            when no dollar volume is known.
        flip_zone_expected_moves: Neutral when spot is within this many 1-day expected moves
            of the flip.
        min_contracts: Fewer eligible contracts with gamma than this gives confidence
            ``invalid`` (the seed's 5).
        confidence_high: Confidence score at or above which the label is ``high``.
        confidence_medium: Score at or above which it is ``medium`` (else ``low``).
        atm_iv_days: Tenor (calendar days) of the ATM IV used for the 1-day expected move.
        seed_neutral_band: Seed mode: ``|net GEX|`` below this ($ per 1%) is ``neutral``.
        seed_walls_max_moneyness: Seed mode: wall candidates within this ``|K - S|/S``.
    """

    mode: DealerMode = DealerMode.DEFAULT
    sign_policy: SignPolicy | None = None
    exclude_expired: bool = True
    require_gamma: bool = True
    require_positive_open_interest: bool = True
    max_dte_days: int | None = 90
    min_open_interest: float | None = 100.0
    min_volume: float | None = 1.0
    allow_vendor_fallback: bool = True
    t_min_years: float = T_MIN_YEARS
    profile_range_pct: float = 0.20
    profile_levels: int = 401
    walls_top_n: int = 3
    walls_expiry_scope: str = "all"
    walls_max_moneyness: float | None = 0.20
    gex_slope_range_pct: float = 0.02
    slope_check_step_pct: float = 1e-5
    dgpi_scale: float = 0.05
    dgpi_position_atr_multiple: float = 1.0
    position_threshold: float = 10.0
    position_net_to_gross_threshold: float = 0.10
    flip_zone_expected_moves: float = 0.25
    min_contracts: int = 5
    confidence_high: float = 0.60
    confidence_medium: float = 0.30
    atm_iv_days: float = 30.0
    seed_neutral_band: float = 1_000_000.0
    seed_walls_max_moneyness: float = 0.20
    overrides: tuple[str, ...] = field(default=(), compare=False)
    """Names of the parameters set explicitly by the caller (recorded, not used)."""

    def __post_init__(self) -> None:
        """Normalise the mode and check ranges that would otherwise fail deep inside."""
        object.__setattr__(self, "mode", DealerMode(self.mode))
        if (
            self.mode == DealerMode.SEED_COMPAT
            and self.sign_policy is not None
            and self.sign_policy.name != SEED_SIGN_POLICY.name
        ):
            raise ValueError("seed_compat mode uses the seed's sign policy; do not override it")
        if self.walls_expiry_scope not in SLICE_NAMES:
            raise ValueError(f"walls_expiry_scope must be one of {SLICE_NAMES}")
        if not 0.0 < self.profile_range_pct < 1.0:
            raise ValueError("profile_range_pct must be in (0, 1)")
        if self.profile_levels < 3:
            raise ValueError("profile_levels must be at least 3")
        if self.walls_top_n < 1:
            raise ValueError("walls_top_n must be at least 1")
        for name in ("gex_slope_range_pct", "slope_check_step_pct", "dgpi_scale", "t_min_years"):
            value = getattr(self, name)
            if not (value > 0.0 and math.isfinite(value)):
                raise ValueError(f"{name} must be positive and finite")

    @property
    def effective_sign_policy(self) -> SignPolicy:
        """Return the sign policy in force: the explicit one, else the mode's."""
        if self.sign_policy is not None:
            return self.sign_policy
        return SEED_SIGN_POLICY if self.mode == DealerMode.SEED_COMPAT else DEFAULT_SIGN_POLICY

    def to_dict(self) -> dict[str, Any]:
        """Return the parameters as JSON-ready values (the sign policy by name)."""
        values = asdict(self)
        values["mode"] = str(DealerMode(self.mode))
        values["sign_policy"] = self.effective_sign_policy.name
        values["overrides"] = sorted(self.overrides)
        return values


@dataclass(frozen=True)
class MarketContext:
    """Inputs from other tables; every one optional (what is missing is recorded).

    Attributes:
        rate: Continuously compounded risk-free rate per year; ``None`` fits it from
            put-call parity (median over expiries of 30 days or more).
        adv_dollars: 20-session mean of close·volume of the underlying ($), the DGPI
            denominator (METHODOLOGY §1.9); for indices a tradable proxy (document it).
        atr: 14-session ATR of the underlying (price units), for the positional DGPI.
        iv_rank: IV rank 0-100, used only by the seed mode's DGPI.
        open_interest_stale_sessions: Sessions the open interest lags the last close
            (0: as of the last close); ``None`` if unknown (then assumed 0, recorded).
        spot_source: Where the spot came from (e.g. ``ohlcv_daily.close``, ``override``).
    """

    rate: float | None = None
    adv_dollars: float | None = None
    atr: float | None = None
    iv_rank: float | None = None
    open_interest_stale_sessions: int | None = None
    spot_source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the context as JSON-ready values."""
        return asdict(self)
