"""The seed story's logic (METHODOLOGY §1.12) reproduced by the seed_compat mode."""

import datetime as dt
from collections.abc import Callable
from typing import cast

import numpy as np
import pandas as pd
import pytest

from optionscope.metrics import dealer
from optionscope.metrics.dealer.compat import (
    compute_seed_metrics,
    seed_confidence,
    seed_dgpi,
    seed_gamma_flip,
    seed_position,
    seed_proximity_weight,
)

MakeChain = Callable[..., pd.DataFrame]
SEED_MODE = cast("dealer.DealerMode", "seed_compat")

SPOT = 200.0


def seed_frame() -> pd.DataFrame:
    # GEX = gamma·OI·S²·0.01·100 = gamma·OI·40,000; calls negative, puts positive.
    rows = [  # strike, is_call, gamma, OI
        (180.0, False, 0.02, 500.0),   # +400,000, moneyness 0.10 -> weight 0.7
        (190.0, True, 0.01, 100.0),    # -40,000
        (190.0, False, 0.02, 50.0),    # +40,000 (strike 190 nets to 0)
        (200.0, True, 0.03, 200.0),    # -240,000
        (210.0, True, 0.02, 300.0),    # -240,000 (ties 200 on weighted GEX)
        (230.0, True, 0.005, 1000.0),  # -200,000, moneyness 0.15 -> weight 0.4
        (160.0, False, 0.001, 10.0),   # +400, moneyness 0.20 -> weight 0.2 (inclusive)
        (150.0, False, 0.01, 100.0),   # +40,000, moneyness 0.25: no wall
        (220.0, True, np.nan, 500.0),  # no gamma: contributes 0, no wall
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["strike", "is_call", "gamma", "open_interest"])


def test_seed_metrics_match_hand_calculation() -> None:
    seed = compute_seed_metrics(seed_frame(), spot=SPOT, iv_rank=50.0)
    assert seed.gex_total == 1_120_400.0  # Σ|strike GEX|, netted within a strike
    assert seed.gex_net == -239_600.0
    # Cumulative from the lowest strike: ..., 200,400 at 200, -39,600 at 210.
    assert seed.gamma_flip == pytest.approx(200 + 10 * 200_400 / 240_000, abs=0.005)
    assert seed.gamma_flip == 208.35
    # Slope: (Σ on [200, 204] - Σ on [196, 200))/(0.04·200) = -240,000/8.
    assert seed.gex_slope == -30_000.0
    # DGPI: -log10(239,601)·10 x (1 - 0.3) x (0.7 + 50/333), rounded.
    assert seed.dgpi == -32.01
    assert seed.position == "neutral"  # |net| < 1e6
    assert seed.confidence == "medium"  # 8 contracts with gamma (< 10)
    assert seed.contracts_with_gamma == 8


def test_seed_walls_are_proximity_weighted_with_ties_to_the_lower_strike() -> None:
    seed = compute_seed_metrics(seed_frame(), spot=SPOT)
    assert [w.strike for w in seed.call_walls] == [200.0, 210.0, 230.0]
    assert [w.strike for w in seed.put_walls] == [180.0, 190.0, 160.0]
    first = seed.call_walls[0]
    assert (first.gex, first.weighted_gex, first.open_interest, first.contracts) == (
        -240_000.0, 240_000.0, 200.0, 1,
    )  # fmt: skip
    assert seed.call_walls[2].weighted_gex == pytest.approx(80_000.0)
    assert seed.put_walls[0].weighted_gex == pytest.approx(280_000.0)
    assert seed.put_walls[0].distance_from_spot == -20.0
    assert seed.put_walls[2].moneyness == pytest.approx(0.2)
    assert seed_proximity_weight(0.05) == 1.0
    assert seed_proximity_weight(0.0501) == 0.7
    assert seed_proximity_weight(0.21) == 0.0


def test_seed_thresholds() -> None:
    assert seed_position(999_999.0) == "neutral"
    assert seed_position(1_000_000.0) == "long_gamma"
    assert seed_position(-2e6) == "short_gamma"
    assert seed_confidence(4, 1e9) == "invalid"
    assert seed_confidence(10, 999.0) == "medium"
    assert seed_confidence(10, 1000.0) == "high"
    assert seed_dgpi(None, None, None) is None
    assert seed_dgpi(0.0, 5.0, 90.0) == 0.0
    assert seed_dgpi(1e30, 100.0, None) == 100.0  # clamped
    assert seed_gamma_flip(np.array([1.0, 2.0]), np.array([1.0, 1.0])) is None
    # prev > 0 and cum <= 0 crosses; an exact zero is the crossing point itself.
    assert seed_gamma_flip(np.array([10.0, 20.0]), np.array([5.0, -5.0])) == 20.0


def test_seed_metrics_of_an_empty_chain_are_invalid() -> None:
    empty = compute_seed_metrics(seed_frame().iloc[0:0], spot=SPOT)
    assert empty.confidence == "invalid"
    assert empty.position == "unknown"
    assert empty.gex_net is None
    assert compute_seed_metrics(seed_frame(), spot=0.0).confidence == "invalid"


def test_compat_mode_through_compute_has_the_opposite_sign(
    make_chain: MakeChain, as_of: dt.datetime
) -> None:
    strikes = np.arange(80.0, 121.0, 2.5)
    chain = make_chain(spot=101.0, strikes=strikes, call_oi=np.where(strikes > 100, 3e4, 5e3),
                       put_oi=np.where(strikes < 100, 3e4, 5e3))  # fmt: skip
    default = dealer.compute(chain, spot=101.0, as_of=as_of)
    params = dealer.DealerParams(mode=dealer.DealerMode.SEED_COMPAT)
    seed = dealer.compute(chain, spot=101.0, as_of=as_of, params=params,
                          context=dealer.MarketContext(iv_rank=30.0))  # fmt: skip
    assert seed.mode == "seed_compat"
    assert seed.model_version == "dealer-seed_compat-1.0.0"
    assert default.model_version == "dealer-default-1.0.0"
    assert seed.sign_policy == "dealer_short_calls_long_puts"
    assert default.net_gex is not None
    assert seed.net_gex == round(-default.net_gex, 2)
    assert seed.flip is not None
    assert seed.flip.method == "seed_cumulative_strike_first_crossing"
    assert seed.gamma_flip == (
        round(seed.flip.cumulative_strike, 2) if seed.flip.cumulative_strike else None
    )
    assert seed.flip.profile_flip == pytest.approx(default.gamma_flip)
    expected = compute_seed_metrics(seed.contracts, spot=101.0, iv_rank=30.0)
    assert (seed.total_gex, seed.gex_slope, seed.dgpi, seed.dealer_position, seed.confidence) == (
        expected.gex_total, expected.gex_slope, expected.dgpi, expected.position,
        expected.confidence,
    )  # fmt: skip
    assert seed.call_walls == tuple(w.strike for w in expected.call_walls)
    payload = seed.to_dict(include_arrays=False)
    assert payload["walls"]["method"].startswith("seed_proximity")
    assert payload["seed"]["dgpi"] == seed.dgpi
    assert payload["headline"]["confidence_score"] is None


def test_compat_mode_refuses_another_sign_policy() -> None:
    with pytest.raises(ValueError, match="seed's sign policy"):
        dealer.DealerParams(mode=SEED_MODE, sign_policy=dealer.DEFAULT_SIGN_POLICY)
    # A plain string (as a CLI passes it) is normalised to the enum.
    assert dealer.DealerParams(mode=SEED_MODE).mode is dealer.DealerMode.SEED_COMPAT
