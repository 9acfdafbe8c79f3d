"""Walls (ordering, ties toward spot, window, scope) and the GEX slope (analytic vs FD)."""

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from optionscope.metrics import dealer
from optionscope.metrics.dealer.profile import profile_inputs
from optionscope.metrics.dealer.slope import analytic_slope, compute_slope
from optionscope.metrics.dealer.walls import compute_walls, rank_strikes
from optionscope.pricing import greeks

MakeChain = Callable[..., pd.DataFrame]


def strike_table(strikes: list[float], call_gex: list[float], put_gex: list[float]) -> pd.DataFrame:
    n = len(strikes)
    return pd.DataFrame({
        "strike": np.asarray(strikes, dtype=float),
        "call_gex": np.asarray(call_gex, dtype=float),
        "put_gex": np.asarray(put_gex, dtype=float),
        "call_open_interest": np.arange(n, dtype=float) * 10,
        "put_open_interest": np.arange(n, dtype=float) * 20,
        "call_contracts": np.ones(n, dtype=np.int64),
        "put_contracts": np.full(n, 2, dtype=np.int64),
    })  # fmt: skip


def test_walls_are_ordered_by_gex_with_ties_toward_spot_then_lower() -> None:
    table = strike_table(
        [95.0, 99.0, 100.0, 103.0, 104.0, 140.0],
        [5.0, 7.0, 9.0, 7.0, 9.0, 50.0],  # 140 is outside the 20% window
        [8.0, 1.0, 0.0, 1.0, 2.0, 0.0],
    )
    walls = compute_walls(table, spot=101.0, top_n=4, max_moneyness=0.2, scope="all")
    # 100 and 104 tie on 9: 100 is nearer spot; 99 and 103 tie on 7 and distance: lower first.
    assert [w.strike for w in walls.call] == [100.0, 104.0, 99.0, 103.0]
    assert [w.strike for w in walls.put] == [95.0, 104.0, 99.0, 103.0]
    assert walls.call[0].gex == 9.0
    assert walls.call[0].share == pytest.approx(9.0 / 87.0)
    assert walls.call[0].distance_pct == pytest.approx(100.0 / 101.0 - 1.0)
    assert walls.call[0].contracts == 1
    assert walls.put[0].contracts == 2
    assert walls.put[0].open_interest == 0.0
    assert walls.absolute_gamma_strike == 95.0  # 5 + 8 = 13 beats 9 + 2 and 9 + 0
    unlimited = compute_walls(table, spot=101.0, top_n=1, max_moneyness=None, scope="all")
    assert unlimited.call[0].strike == 140.0
    assert unlimited.to_dict()["call"][0]["strike"] == 140.0


def test_rank_strikes_skips_zero_and_non_finite_and_limits_count() -> None:
    strikes = np.array([90.0, 100.0, 110.0])
    order = rank_strikes(strikes, np.array([0.0, np.nan, 3.0]), 100.0, 3, None)
    assert order.tolist() == [2]
    assert rank_strikes(strikes, np.zeros(3), 100.0, 3, None).size == 0


def test_wall_scope_is_recorded_and_changes_candidates(
    make_chain: MakeChain, as_of: dt.datetime
) -> None:
    strikes = np.arange(90.0, 111.0, 1.0)
    near = make_chain(spot=100.0, strikes=strikes, expiry_days=(2,),
                      call_oi=np.where(strikes == 104.0, 9e4, 1e3))  # fmt: skip
    far = make_chain(spot=100.0, strikes=strikes, expiry_days=(60,),
                     call_oi=np.where(strikes == 108.0, 9e5, 1e3))  # fmt: skip
    chain = pd.concat([near, far], ignore_index=True)
    everything = dealer.compute(chain, spot=100.0, as_of=as_of)
    weekly = dealer.compute(chain, spot=100.0, as_of=as_of,
                            params=dealer.DealerParams(walls_expiry_scope="le_7d"))  # fmt: skip
    assert everything.call_walls[0] == 108.0
    assert weekly.call_walls[0] == 104.0
    assert weekly.walls is not None
    assert weekly.to_dict()["walls"]["scope"] == "le_7d"


def test_analytic_slope_matches_methodology_test_vector() -> None:
    # METHODOLOGY §9: S = 100, K = 103, sigma = 0.25, T = 20/365, OI = 1 -> 55.58537.
    gamma = float(greeks(S=100, K=103, T=20 / 365, r=0, q=0, sigma=0.25, is_call=True)["gamma"])
    frame = pd.DataFrame({"gamma": [gamma], "sigma": [0.25], "strike": [103.0],
                          "years_to_expiry": [20 / 365], "dividend_yield": [0.0],
                          "open_interest": [1.0], "multiplier": [100.0], "dealer_sign": [1.0],
                          "gamma_source": ["own"], "settlement_time": [pd.Timestamp(0, tz="UTC")],
                          "is_call": [True]})  # fmt: skip
    assert analytic_slope(frame, spot=100.0, rate=0.0) == pytest.approx(55.58537, abs=5e-6)
    inputs = profile_inputs(frame, np.array([1.0]), 0.0)
    slope = compute_slope(frame, inputs, spot=100.0, rate=0.0, window_pct=0.02,
                          check_step_pct=1e-5)  # fmt: skip
    assert slope.finite_difference == pytest.approx(55.58537, abs=5e-5)
    assert slope.relative_difference < 1e-7  # rounding of G over a 1e-5 step
    assert inputs.derivative(100.0) == pytest.approx(slope.analytic, rel=1e-12)
    assert slope.per_pct == pytest.approx(slope.analytic * 0.01 * 100.0)


def test_window_secant_is_the_mean_analytic_slope_over_the_window(
    make_chain: MakeChain, as_of: dt.datetime
) -> None:
    strikes = np.arange(3800.0, 4201.0, 25.0)
    chain = make_chain(spot=4010.0, strikes=strikes, expiry_days=(3, 17),
                       call_oi=np.where(strikes >= 4000, 4e3, 1e3),
                       put_oi=np.where(strikes < 4000, 4e3, 1e3))  # fmt: skip
    result = dealer.compute(chain, spot=4010.0, as_of=as_of)
    assert result.slope is not None
    assert result.profile is not None
    assert result.slope.relative_difference < 1e-6
    assert result.gex_slope == result.slope.analytic
    grid = np.linspace(4010.0 * 0.98, 4010.0 * 1.02, 2001)
    derivative = np.array([result.profile.inputs.derivative(x) for x in grid])
    mean = float(np.sum((derivative[1:] + derivative[:-1]) / 2 * np.diff(grid))) / (
        grid[-1] - grid[0]
    )
    assert result.slope.window_secant == pytest.approx(mean, rel=1e-5)
