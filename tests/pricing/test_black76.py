"""Black-76 on a forward and Deribit coin-denominated quotes."""

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from QuantLib import BlackCalculator, Option, PlainVanillaPayoff

from optionscope.pricing import (
    GREEK_NAMES,
    IVReason,
    black76_greeks,
    black76_price,
    coin_price,
    greeks,
    implied_vol_from_coin_price,
    price,
)

option = st.tuples(
    st.floats(1.0, 100_000.0),  # F
    st.floats(0.3, 3.0),  # K/F
    st.floats(1.0 / 8760.0, 5.0),  # T
    st.floats(0.01, 5.0),  # sigma
    st.floats(-0.02, 0.10),  # r
    st.booleans(),
)
QL_TOLERANCE = 1e-10  # absolute below 1, relative above
EPS = np.finfo(float).eps


@settings(max_examples=60, deadline=None)
@given(st.lists(option, min_size=1, max_size=40))
def test_black76_matches_quantlib(options):
    F, m, T, sigma, r, call = (np.array(c) for c in zip(*options, strict=True))
    data = {"F": F, "K": F * m, "T": T, "r": r, "sigma": sigma, "is_call": call}
    ours = dict(black76_greeks(**data))
    ours["price"] = black76_price(**data)
    for i, row in enumerate(options):
        f, k_over_f, t, vol, rate, is_call = row
        payoff = PlainVanillaPayoff(Option.Call if is_call else Option.Put, f * k_over_f)
        calc = BlackCalculator(payoff, f, vol * math.sqrt(t), math.exp(-rate * t))
        expected = {
            "price": calc.value(),
            "delta": calc.deltaForward(),
            "gamma": calc.gammaForward(),
            "vega": calc.vega(t),
            # Forward held fixed: theta and rho come from the discount factor and variance only.
            "theta": -(-rate * calc.value() + 0.5 * vol * calc.vega(t) / t),
            "rho": -t * calc.value(),
        }
        # QuantLib's textbook formula rounds to about eps·(F + K) in absolute terms, which at
        # BTC-sized forwards (1e5) exceeds 1e-10 for the price and rho = -T·price.
        oracle_rounding = 4 * EPS * (f + f * k_over_f)
        for name, value in expected.items():
            tolerance = QL_TOLERANCE * max(1.0, abs(value))
            if name in {"price", "rho", "theta"}:
                tolerance += oracle_rounding * max(1.0, t, rate)
            assert abs(ours[name][i] - value) <= tolerance, (name, row)


@settings(max_examples=60, deadline=None)
@given(st.lists(option, min_size=1, max_size=40))
def test_black76_is_bsm_with_dividend_yield_equal_to_rate(options):
    F, m, T, sigma, r, call = (np.array(c) for c in zip(*options, strict=True))
    forward = {"F": F, "K": F * m, "T": T, "r": r, "sigma": sigma, "is_call": call}
    spot = {"S": F, "K": F * m, "T": T, "r": r, "q": r, "sigma": sigma, "is_call": call}
    assert np.array_equal(black76_price(**forward), price(**spot))
    g76, gbsm = black76_greeks(**forward), greeks(**spot)
    for name in GREEK_NAMES:
        if name == "rho":  # BSM rho holds the spot, Black-76 rho the forward
            continue
        assert np.array_equal(g76[name], gbsm[name]), name


def test_deribit_normalisation_vector():
    # METHODOLOGY §9: F = 60000, K = 65000, sigma = 0.6, T = 45/365, r = 0.
    usd = black76_price(F=60_000, K=65_000, T=45 / 365, r=0.0, sigma=0.6, is_call=True)
    coin = coin_price(F=60_000, K=65_000, T=45 / 365, sigma=0.6, is_call=True)
    assert abs(float(usd) - 3115.5436) < 5e-5
    assert abs(float(coin) - 0.0519257) < 5e-8
    assert abs(float(coin) * 60_000 - float(usd)) < 1e-9


def test_coin_quotes_round_trip_and_flag_bad_elements():
    F = np.array([60_000.0, 60_000.0, 60_000.0, 0.0, 60_000.0])
    K = np.array([50_000.0, 65_000.0, 80_000.0, 65_000.0, 65_000.0])
    coins = coin_price(F=F, K=K, T=30 / 365, sigma=0.55, is_call=[False, True, True, True, True])
    coins[4] = 1.5  # a call cannot be worth more than one coin
    result = implied_vol_from_coin_price(
        price_coin=coins, F=F, K=K, T=30 / 365, is_call=[False, True, True, True, True]
    )
    np.testing.assert_allclose(result.vol[:3], 0.55, rtol=0, atol=1e-12)
    assert [IVReason(code) for code in result.reason] == [
        IVReason.OK,
        IVReason.OK,
        IVReason.OK,
        IVReason.BAD_INPUT,
        IVReason.ABOVE_MAXIMUM,
    ]
