"""Per-contract GEX units, strike and expiry aggregation, totals, slices, sign policies."""

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from optionscope.metrics import dealer
from optionscope.metrics.dealer.exposure import (
    add_contract_exposures,
    aggregate_exposures,
    total_exposure,
)
from optionscope.metrics.dealer.sign import (
    DEFAULT_SIGN_POLICY,
    SEED_SIGN_POLICY,
    FixedSignPolicy,
    get_sign_policy,
)
from optionscope.pricing import greeks

MakeChain = Callable[..., pd.DataFrame]

T_30D = 30 / 365


def contracts(**columns: object) -> pd.DataFrame:
    n = max(len(v) for v in columns.values() if isinstance(v, list))
    base: dict[str, object] = {
        "delta": [0.5] * n, "vanna": [0.0] * n, "charm": [0.0] * n,
        "open_interest": [1000.0] * n, "multiplier": [100.0] * n, "is_call": [True] * n,
        "dte_days": [30] * n,
        "settlement_time": [pd.Timestamp("2024-04-05 20:00", tz="UTC")] * n,
    }  # fmt: skip
    base.update(columns)
    return pd.DataFrame(base)


def test_gex_units_at_spot_500_match_methodology_test_vector() -> None:
    # METHODOLOGY §9: S = K = 500, sigma 0.2, T 30/365, OI 1000, M 100 (S != 100 on purpose:
    # at 100 the $1 and 1% units coincide).
    gamma = float(greeks(S=500, K=500, T=T_30D, r=0, q=0, sigma=0.2, is_call=True)["gamma"])
    assert gamma == pytest.approx(0.0139097, abs=5e-8)
    out = add_contract_exposures(contracts(gamma=[gamma]), np.array([1.0]), 500.0)
    assert out["share_gamma"][0] == pytest.approx(1390.97, abs=0.005)
    assert out["share_gamma"][0] * 500 == pytest.approx(695_484.41, abs=0.005)  # $ per $1
    assert out["gex"][0] == pytest.approx(3_477_422.04, abs=0.005)  # $ per 1%
    assert out["net_gex"][0] == out["gex"][0]


def test_gex_per_pct_is_dollar_gamma_times_one_pct_of_spot() -> None:
    out = add_contract_exposures(contracts(gamma=[0.002, 0.003]), np.array([1.0, -1.0]), 4321.0)
    per_dollar = out["share_gamma"] * 4321.0
    np.testing.assert_allclose(out["gex"], per_dollar * 0.01 * 4321.0, rtol=1e-15)
    np.testing.assert_allclose(out["net_gex"], [out["gex"][0], -out["gex"][1]], rtol=1e-15)


def test_greek_exposures_have_stated_units() -> None:
    frame = contracts(gamma=[0.01], delta=[0.4], vanna=[0.2], charm=[-0.5], open_interest=[10.0])
    out = add_contract_exposures(frame, np.array([-1.0]), 250.0)
    assert out["dex"][0] == pytest.approx(-0.4 * 10 * 100 * 250)  # $ delta notional
    assert out["vanna_exposure"][0] == pytest.approx(-0.2 * 10 * 100 * 250 * 0.01)
    assert out["charm_exposure"][0] == pytest.approx(0.5 * 10 * 100 * 250 / 365)


def _exposures() -> pd.DataFrame:
    frame = contracts(
        strike=[95.0, 95.0, 105.0, 105.0, 105.0],
        is_call=[True, False, True, False, True],
        gamma=[0.01, 0.02, 0.03, 0.04, 0.05],
        open_interest=[100.0, 200.0, 300.0, 400.0, 500.0],
        dte_days=[0, 0, 5, 5, 40],
        expiry=pd.to_datetime(["2024-03-04"] * 2 + ["2024-03-09"] * 2 + ["2024-04-13"]),
        settlement_time=pd.to_datetime(
            ["2024-03-04 21:00"] * 2 + ["2024-03-09 21:00"] * 2 + ["2024-04-13 20:00"], utc=True
        ),
    )
    weights = DEFAULT_SIGN_POLICY.weights(frame["is_call"].to_numpy())
    return add_contract_exposures(frame, weights, 120.0)


def test_strike_aggregation_sums_sides_and_signs() -> None:
    frame = _exposures()
    scale = 100 * 120.0**2 * 0.01
    by_strike = aggregate_exposures(frame, "strike")
    assert by_strike["strike"].tolist() == [95.0, 105.0]
    np.testing.assert_allclose(by_strike["call_gex"], [1 * scale, (9 + 25) * scale])
    np.testing.assert_allclose(by_strike["put_gex"], [4 * scale, 16 * scale])
    np.testing.assert_allclose(by_strike["net_gex"], [-3 * scale, 18 * scale])
    np.testing.assert_allclose(by_strike["gross_gex"], [5 * scale, 50 * scale])
    assert by_strike["call_contracts"].tolist() == [1, 2]
    assert by_strike["put_contracts"].tolist() == [1, 1]
    np.testing.assert_allclose(by_strike["call_open_interest"], [100, 800])
    by_expiry = aggregate_exposures(frame, "expiry")
    np.testing.assert_allclose(by_expiry["net_gex"], [-3 * scale, -7 * scale, 25 * scale])


def test_totals_are_gross_unsigned_and_net_signed_with_slices() -> None:
    totals = total_exposure(_exposures())
    scale = 100 * 120.0**2 * 0.01
    assert totals.total_gex == pytest.approx(55 * scale)
    assert totals.net_gex == pytest.approx(15 * scale)
    assert totals.net_to_gross == pytest.approx(15 / 55)
    assert totals.slices["0dte"].net_gex == pytest.approx(-3 * scale)
    assert totals.slices["0dte"].contracts == 2
    assert totals.slices["le_7d"].gross_gex == pytest.approx(30 * scale)
    assert totals.slices["le_30d"].contracts == 4
    assert totals.slices["all"].net_gex == pytest.approx(totals.net_gex)
    assert totals.slices["ex_next_expiry"].net_gex == pytest.approx(18 * scale)
    assert totals.total_share_gamma == pytest.approx(55 * 100)


def test_empty_frame_aggregates_to_empty_table() -> None:
    frame = _exposures().iloc[0:0]
    assert aggregate_exposures(frame, "strike").empty


def test_sign_policies_are_named_and_opposite() -> None:
    is_call = np.array([True, False])
    assert DEFAULT_SIGN_POLICY.weights(is_call).tolist() == [1.0, -1.0]
    assert SEED_SIGN_POLICY.weights(is_call).tolist() == [-1.0, 1.0]
    assert get_sign_policy("dealer_short_calls_long_puts") is SEED_SIGN_POLICY
    with pytest.raises(KeyError, match="known"):
        get_sign_policy("nope")
    assert isinstance(FixedSignPolicy("x", "y", 0.5, -0.5), dealer.SignPolicy)


def test_seed_policy_negates_net_keeps_gross_and_flip(
    make_chain: MakeChain, as_of: dt.datetime
) -> None:
    strikes = np.arange(200.0, 301.0, 5.0)
    chain = make_chain(spot=250.0, strikes=strikes, call_oi=np.where(strikes >= 245, 5e3, 5e2),
                       put_oi=np.where(strikes < 245, 5e3, 5e2))  # fmt: skip
    default = dealer.compute(chain, spot=250.0, as_of=as_of)
    other = dealer.compute(
        chain, spot=250.0, as_of=as_of, params=dealer.DealerParams(sign_policy=SEED_SIGN_POLICY)
    )
    assert other.sign_policy == "dealer_short_calls_long_puts"
    assert default.net_gex is not None
    assert other.net_gex == pytest.approx(-default.net_gex, rel=1e-12)
    assert other.total_gex == pytest.approx(default.total_gex, rel=1e-12)
    assert default.gamma_flip is not None
    assert other.gamma_flip is not None
    assert other.gamma_flip == pytest.approx(default.gamma_flip, rel=1e-10)
    assert default.flip is not None
    assert other.flip is not None
    directions = [c.direction for c in default.flip.profile_crossings]
    flipped = [c.direction for c in other.flip.profile_crossings]
    assert flipped == [{"rising": "falling", "falling": "rising"}[d] for d in directions]
