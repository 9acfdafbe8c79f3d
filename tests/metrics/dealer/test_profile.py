"""Gamma profile: re-pricing against the pricing core, zeros refined by Brent, the flip."""

import math

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from optionscope.metrics.dealer import _kernels
from optionscope.metrics.dealer.profile import (
    Crossing,
    compute_profile,
    cumulative_strike_crossings,
    find_crossings,
    nearest_crossing,
    profile_inputs,
)
from optionscope.pricing import greeks

T = 10 / 365
SETTLE = pd.Timestamp("2024-03-14 20:00", tz="UTC")


def frame(
    strikes: npt.ArrayLike,
    is_call: npt.ArrayLike,
    oi: npt.ArrayLike,
    *,
    sigma: npt.ArrayLike = 0.2,
    years: npt.ArrayLike = T,
    q: float = 0.0,
    settle: list[pd.Timestamp] | None = None,
) -> pd.DataFrame:
    n = np.size(strikes)
    return pd.DataFrame({
        "strike": np.asarray(strikes, dtype=float),
        "is_call": np.asarray(is_call, dtype=bool),
        "open_interest": np.asarray(oi, dtype=float),
        "multiplier": np.full(n, 100.0),
        "sigma": np.broadcast_to(np.asarray(sigma, dtype=float), (n,)).copy(),
        "years_to_expiry": np.broadcast_to(np.asarray(years, dtype=float), (n,)).copy(),
        "dividend_yield": np.full(n, q),
        "settlement_time": settle if settle is not None else [SETTLE] * n,
        "gamma_source": ["own"] * n,
    })  # fmt: skip


def weights(f: pd.DataFrame) -> np.ndarray:
    return np.where(f["is_call"], 1.0, -1.0)


def core_net_gex(f: pd.DataFrame, level: float, rate: float) -> float:
    """Net GEX at ``level`` from the pricing core's gamma, contract by contract."""
    g = greeks(S=level, K=f["strike"].to_numpy(), T=f["years_to_expiry"].to_numpy(), r=rate,
               q=f["dividend_yield"].to_numpy(), sigma=f["sigma"].to_numpy(),
               is_call=f["is_call"].to_numpy())["gamma"]  # fmt: skip
    units = weights(f) * f["open_interest"].to_numpy() * 100.0
    return float(np.sum(units * g * level * level * 0.01))


def test_profile_equals_the_pricing_core_at_every_level() -> None:
    rng = np.random.default_rng(7)
    n = 300
    f = frame(rng.uniform(3000, 5000, n), rng.random(n) < 0.5, rng.uniform(1, 5e4, n),
              sigma=rng.uniform(0.08, 0.6, n), years=rng.uniform(1e-4, 0.3, n),
              q=0.0)  # fmt: skip
    f["dividend_yield"] = rng.uniform(-0.02, 0.05, n)
    inputs = profile_inputs(f, weights(f), 0.045)
    levels = np.linspace(3200.0, 4800.0, 41)
    grid, _ = _kernels.profile_grid(levels, inputs.a, inputs.b, inputs.c, inputs.next_count)
    expected = np.array([core_net_gex(f, level, 0.045) for level in levels])
    scale = np.abs(expected).max()
    np.testing.assert_allclose(grid, expected, rtol=0, atol=1e-12 * scale)
    assert inputs.value(3999.5) == pytest.approx(core_net_gex(f, 3999.5, 0.045), rel=1e-12)


def test_call_and_put_of_one_strike_and_iv_share_a_coefficient_group() -> None:
    f = frame([100.0, 100.0, 110.0], [True, False, True], [10.0, 4.0, 1.0])
    inputs = profile_inputs(f, weights(f), 0.0)
    assert inputs.a.size == 2  # the two legs at 100 merged, net weight 6
    assert inputs.value(101.0) == pytest.approx(core_net_gex(f, 101.0, 0.0), rel=1e-13)


def test_flip_of_two_contracts_matches_the_closed_form_root() -> None:
    # Call at K1 (+), put at K2 (-), equal OI, one sigma and T, r = q = 0:
    # Γ1(L) = Γ2(L) where d1 terms are opposite: L* = √(K1·K2)·exp(-sigma²T/2).
    low, high, sigma = 4400.0, 4600.0, 0.25
    f = frame([low, high], [True, False], [1000.0, 1000.0], sigma=sigma)
    exact = math.sqrt(low * high) * math.exp(-(sigma**2) * T / 2)
    profile = compute_profile(f, weights(f), spot=4510.0, rate=0.0, range_pct=0.2, n_levels=401)
    assert len(profile.crossings) == 1
    assert profile.flip == pytest.approx(exact, abs=1e-7)
    assert profile.crossings[0].direction == "falling"  # call gamma dominates below
    # Perfiliev's linear interpolation between grid levels is far coarser than Brent.
    levels, values = profile.levels, profile.net_gex
    j = int(np.flatnonzero(np.sign(values[1:]) != np.sign(values[:-1]))[0])
    linear = levels[j + 1] - (levels[j + 1] - levels[j]) * values[j + 1] / (
        values[j + 1] - values[j]
    )
    assert profile.flip is not None
    assert abs(linear - exact) > 1e3 * abs(profile.flip - exact)


def test_no_crossing_gives_none_and_the_profile_sign() -> None:
    calls = frame([90.0, 100.0, 110.0], [True] * 3, [100.0] * 3)
    profile = compute_profile(calls, weights(calls), spot=100.0, rate=0.0, range_pct=0.2,
                              n_levels=101)  # fmt: skip
    assert profile.flip is None
    assert profile.crossings == ()
    assert profile.sign_without_crossing == "positive"
    negative = compute_profile(calls, -weights(calls), spot=100.0, rate=0.0, range_pct=0.2,
                               n_levels=101)  # fmt: skip
    assert negative.flip is None
    assert negative.sign_without_crossing == "negative"


def test_several_crossings_are_all_reported_and_the_nearest_is_the_flip() -> None:
    f = frame([90.0, 100.0, 110.0], [True, False, True], [1000.0, 1500.0, 1000.0])
    profile = compute_profile(f, weights(f), spot=101.0, rate=0.0, range_pct=0.2, n_levels=401)
    levels = [c.level for c in profile.crossings]
    assert len(levels) == 2
    assert levels[0] < 100.0 < levels[1]
    assert [c.direction for c in profile.crossings] == ["falling", "rising"]
    assert profile.flip == min(levels, key=lambda x: abs(x - 101.0))
    for level in levels:
        assert abs(profile.inputs.value(level)) < 1e-9 * np.abs(profile.net_gex).max()
    # From a spot below 100 the lower crossing is the nearer one: either side of spot counts.
    lower = compute_profile(f, weights(f), spot=96.0, rate=0.0, range_pct=0.2, n_levels=401)
    assert lower.flip == pytest.approx(levels[0], abs=1e-9)


def test_ex_next_expiry_profile_equals_the_profile_without_that_expiry() -> None:
    later = pd.Timestamp("2024-04-19 20:00", tz="UTC")
    f = frame([95.0, 100.0, 105.0, 100.0], [False, True, True, False], [500.0, 800.0, 300.0, 900.0],
              years=[T, T, 40 / 365, 40 / 365], settle=[SETTLE, SETTLE, later, later])  # fmt: skip
    profile = compute_profile(f, weights(f), spot=100.0, rate=0.01, range_pct=0.1, n_levels=51)
    rest = f.iloc[2:].reset_index(drop=True)
    alone = compute_profile(rest, weights(rest), spot=100.0, rate=0.01, range_pct=0.1, n_levels=51)
    np.testing.assert_allclose(profile.net_gex_ex_next_expiry, alone.net_gex, rtol=1e-12,
                               atol=1e-9)  # fmt: skip
    assert profile.inputs.next_count == 2
    assert profile.inputs.value(100.0, ex_next_expiry=True) == pytest.approx(alone.value_at_spot)


def test_geometric_recurrence_matches_one_exponential_per_cell() -> None:
    # Narrow and wide Gaussians, peaks inside and on both sides outside the window.
    rng = np.random.default_rng(3)
    n = 3000
    years = np.exp(rng.uniform(np.log(1e-5), np.log(2.0), n))
    sigma = rng.uniform(0.05, 1.5, n)
    b = 1.0 / (sigma * np.sqrt(years))
    a = -np.log(rng.uniform(50.0, 200.0, n)) * b + 0.5 * sigma * np.sqrt(years)
    c = rng.normal(0.0, 1e6, n) * b
    levels = 100.0 * np.exp(np.linspace(np.log(0.8), np.log(1.2), 401))
    total, head = _kernels.profile_grid(levels, a, b, c, 700)
    exact_total, exact_head = _kernels.profile_grid_exact(levels, a, b, c, 700)
    scale = np.abs(exact_total).max()
    np.testing.assert_allclose(total, exact_total, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(head, exact_head, rtol=0, atol=1e-12 * scale)
    again, _ = _kernels.profile_grid(levels, a, b, c, 700)
    assert np.array_equal(total, again)  # serial, fixed order: bit-identical reruns
    at = _kernels.profile_value(float(levels[123]), a, b, c, 0)
    assert at == pytest.approx(float(exact_total[123]), rel=1e-12, abs=1e-12 * scale)


def test_vendor_gamma_contracts_stay_out_of_the_profile() -> None:
    f = frame([100.0, 105.0], [True, True], [10.0, 10.0])
    f.loc[1, "gamma_source"] = "vendor_gamma"
    f.loc[1, "sigma"] = np.nan
    inputs = profile_inputs(f, weights(f), 0.0)
    assert inputs.excluded_contracts == 1
    assert inputs.a.size == 1


def test_find_crossings_handles_exact_zeros_and_rounding() -> None:
    levels = np.array([1.0, 2.0, 3.0, 4.0])
    values = np.array([-1.0, 0.0, 1.0, 2.0])
    out = find_crossings(levels, values, lambda x: x - 2.0, 1e-12)
    assert len(out) == 1
    assert out[0].level == pytest.approx(2.0)
    assert out[0].direction == "rising"
    # A grid sign change that the exact function does not confirm lands on an end point.
    out = find_crossings(np.array([1.0, 2.0]), np.array([-1e-30, 1.0]), lambda x: x, 1e-12)
    assert out[0].level == 1.0
    assert nearest_crossing((), 1.0) is None
    tie = (Crossing(1.0, "rising"), Crossing(3.0, "falling"))
    assert nearest_crossing(tie, 2.0) == 1.0


def test_cumulative_strike_crossings_interpolate_between_strikes() -> None:
    strikes = np.array([90.0, 100.0, 110.0, 120.0])
    net = np.array([-3.0, 1.0, 4.0, -5.0])  # cumulative -3, -2, 2, -3
    assert cumulative_strike_crossings(strikes, net) == pytest.approx((105.0, 114.0))
    assert cumulative_strike_crossings(strikes, np.array([1.0, 1.0, 1.0, 1.0])) == ()
