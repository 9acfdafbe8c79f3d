"""Black-Scholes-Merton prices and greeks: QuantLib oracle, textbook values, properties."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from QuantLib import BlackCalculator, Option, PlainVanillaPayoff

from optionscope.pricing import GREEK_NAMES, greeks, price

# Domain of the issue: strikes 0.3-3.0 x spot, 1 hour to 5 years, vols 1%-500%.
option = st.tuples(
    st.floats(1.0, 1000.0),  # S
    st.floats(0.3, 3.0),  # K/S
    st.floats(1.0 / 8760.0, 5.0),  # T
    st.floats(0.01, 5.0),  # sigma
    st.floats(-0.02, 0.10),  # r
    st.floats(0.0, 0.08),  # q
    st.booleans(),  # is_call
)
QL_TOLERANCE = 1e-10  # absolute below 1, relative above
EPS = np.finfo(float).eps


def columns(options: list[tuple[float, ...]]) -> dict[str, np.ndarray]:
    S, m, T, sigma, r, q, call = (np.array(c) for c in zip(*options, strict=True))
    return {"S": S, "K": S * m, "T": T, "sigma": sigma, "r": r, "q": q, "is_call": call}


def quantlib_values(S, K, T, sigma, r, q, is_call) -> dict[str, float]:
    forward = S * math.exp((r - q) * T)
    payoff = PlainVanillaPayoff(Option.Call if is_call else Option.Put, K)
    calc = BlackCalculator(payoff, forward, sigma * math.sqrt(T), math.exp(-r * T))
    return {
        "price": calc.value(),
        "delta": calc.delta(S),
        "gamma": calc.gamma(S),
        "vega": calc.vega(T),
        "theta": calc.theta(S, T),
        "rho": calc.rho(T),
        "vanna": calc.vanna(S, T),
        # QuantLib's volga is vega·d1·d2/(sigma·√T), i.e. d²V/dsigma² divided by √T.
        "vomma": calc.volga(T) * math.sqrt(T),
    }


@settings(max_examples=60, deadline=None)
@given(st.lists(option, min_size=1, max_size=40))
def test_price_and_greeks_match_quantlib(options):
    data = columns(options)
    ours = dict(greeks(**data))
    ours["price"] = price(**data)
    for i, row in enumerate(options):
        S, m, T, sigma, r, q, call = row
        expected = quantlib_values(S, S * m, T, sigma, r, q, call)
        for name, value in expected.items():
            tolerance = QL_TOLERANCE * max(1.0, abs(value))
            if name == "theta":
                # QuantLib forms theta from ln(D)/T and ln(F/S)/T, whose rounding is absolute:
                # its own error is about eps·(V + S·|delta|)/T (3e-10 at T = 1 hour, V = 150).
                tolerance += 4 * EPS * (expected["price"] + S * abs(expected["delta"])) / T
            assert abs(ours[name][i] - value) <= tolerance, (name, row)


@pytest.mark.parametrize(
    ("source", "inputs", "name", "expected", "tolerance"),
    [
        ("Hull Ex 15.6 call", (42, 40, 0.5, 0.10, 0.0, 0.2, True), "price", 4.7594, 5e-5),
        ("Hull Ex 15.6 put", (42, 40, 0.5, 0.10, 0.0, 0.2, False), "price", 0.8086, 5e-5),
        ("Hull Ex 17.1 index", (930, 900, 2 / 12, 0.08, 0.03, 0.2, True), "price", 51.83, 5e-3),
        ("py_vollib doctest", (100, 90, 0.5, 0.01, 0.0, 0.2, True), "price", 12.111581435, 1e-9),
        ("Hull Ex 19.1 delta", (49, 50, 0.3846, 0.05, 0.0, 0.2, True), "delta", 0.522, 5e-4),
        ("Hull Ex 19.4 gamma", (49, 50, 0.3846, 0.05, 0.0, 0.2, True), "gamma", 0.066, 5e-4),
        ("Hull Ex 19.6 vega", (49, 50, 0.3846, 0.05, 0.0, 0.2, True), "vega", 12.1, 0.05),
        ("Hull Ex 19.2 theta", (49, 50, 0.3846, 0.05, 0.0, 0.2, True), "theta", -4.31, 5e-3),
        ("Hull Ex 19.7 rho", (49, 50, 0.3846, 0.05, 0.0, 0.2, True), "rho", 8.91, 5e-3),
        ("METHODOLOGY 9 gamma", (100, 100, 30 / 365, 0, 0, 0.2, True), "gamma", 0.0695484, 5e-8),
        ("METHODOLOGY 9 S=500", (500, 500, 30 / 365, 0, 0, 0.2, False), "gamma", 0.0139097, 5e-8),
    ],
)
def test_textbook_values(source, inputs, name, expected, tolerance):
    S, K, T, r, q, sigma, call = inputs
    args = {"S": S, "K": K, "T": T, "r": r, "q": q, "sigma": sigma, "is_call": call}
    value = price(**args) if name == "price" else greeks(**args)[name]
    assert abs(float(value) - expected) <= tolerance, source


@settings(max_examples=60, deadline=None)
@given(st.lists(option, min_size=1, max_size=40))
def test_put_call_parity(options):
    data = columns(options)
    data.pop("is_call")
    calls = price(**data, is_call=True)
    puts = price(**data, is_call=False)
    S, K, T, r, q = data["S"], data["K"], data["T"], data["r"], data["q"]
    parity = S * np.exp(-q * T) - K * np.exp(-r * T)
    assert np.all(np.abs((calls - puts) - parity) <= 1e-12 * (S + K))


@settings(max_examples=60, deadline=None)
@given(st.lists(option, min_size=1, max_size=40))
def test_prices_respect_no_arbitrage_bounds(options):
    data = columns(options)
    S, K, T, r, q, call = data["S"], data["K"], data["T"], data["r"], data["q"], data["is_call"]
    value = price(**data)
    s_dq, k_dr = S * np.exp(-q * T), K * np.exp(-r * T)
    lower = np.where(call, np.maximum(s_dq - k_dr, 0.0), np.maximum(k_dr - s_dq, 0.0))
    upper = np.where(call, s_dq, k_dr)
    slack = 1e-12 * (S + K)
    assert np.all(value >= lower - slack)
    assert np.all(value <= upper + slack)


def test_price_is_monotone_in_sigma_strike_and_spot():
    sigma = np.linspace(0.01, 3.0, 400)
    for call in (True, False):
        by_vol = price(S=100, K=110, T=0.5, r=0.03, q=0.01, sigma=sigma, is_call=call)
        assert np.all(np.diff(by_vol) > 0)
    strikes = np.linspace(40, 250, 400)
    by_strike_call = price(S=100, K=strikes, T=0.5, r=0.03, q=0.01, sigma=0.3, is_call=True)
    by_strike_put = price(S=100, K=strikes, T=0.5, r=0.03, q=0.01, sigma=0.3, is_call=False)
    assert np.all(np.diff(by_strike_call) < 0)
    assert np.all(np.diff(by_strike_put) > 0)
    spots = np.linspace(40, 250, 400)
    assert np.all(
        np.diff(price(S=spots, K=100, T=0.5, r=0.03, q=0.01, sigma=0.3, is_call=True)) > 0
    )
    assert np.all(
        np.diff(price(S=spots, K=100, T=0.5, r=0.03, q=0.01, sigma=0.3, is_call=False)) < 0
    )


well_conditioned = st.tuples(
    st.floats(20.0, 500.0),  # S
    st.floats(0.5, 2.0),  # K/S
    st.floats(0.02, 3.0),  # T
    st.floats(0.05, 1.5),  # sigma
    st.floats(-0.02, 0.10),  # r
    st.floats(0.0, 0.08),  # q
    st.booleans(),
)


def central(f, x, h):
    return (f(x + h) - f(x - h)) / (2.0 * h)


@settings(max_examples=80, deadline=None)
@given(well_conditioned)
def test_greeks_match_central_differences(row):
    S, m, T, sigma, r, q, call = row
    K = S * m
    base = {"S": S, "K": K, "T": T, "r": r, "q": q, "sigma": sigma, "is_call": call}
    g = greeks(**base)

    def value(**change):
        return float(price(**(base | change)))

    def greek(name, **change):
        return float(greeks(**(base | change))[name])

    h_spot = 1e-4 * S * sigma * np.sqrt(T)  # delta varies on the scale S·sigma·√T
    numeric = {
        "delta": central(lambda x: value(S=x), S, h_spot),
        "gamma": central(lambda x: greek("delta", S=x), S, h_spot),
        "vega": central(lambda x: value(sigma=x), sigma, 1e-5),
        "theta": -central(lambda x: value(T=x), T, 1e-6),
        "rho": central(lambda x: value(r=x), r, 1e-6),
        "vanna": central(lambda x: greek("delta", sigma=x), sigma, 1e-5),
        "charm": -central(lambda x: greek("delta", T=x), T, 1e-6),
        "vomma": central(lambda x: greek("vega", sigma=x), sigma, 1e-5),
    }
    scale = {"delta": 1.0, "gamma": 1.0 / S, "vanna": 1.0, "charm": 1.0}
    for name, estimate in numeric.items():
        tolerance = 1e-6 * max(abs(estimate), scale.get(name, S))
        assert abs(float(g[name]) - estimate) <= tolerance, (name, row)


def test_vectorised_call_equals_scalar_calls():
    rng = np.random.default_rng(7)
    n = 200
    data = {
        "S": rng.uniform(50, 150, n),
        "K": rng.uniform(30, 300, n),
        "T": rng.uniform(0.001, 3, n),
        "r": rng.uniform(-0.01, 0.06, n),
        "q": rng.uniform(0, 0.04, n),
        "sigma": rng.uniform(0.05, 2, n),
        "is_call": rng.random(n) < 0.5,
    }
    vector_price = price(**data)
    vector_greeks = greeks(**data)
    for i in range(n):
        one = {key: values[i] for key, values in data.items()}
        assert price(**one) == vector_price[i]
        scalar_greeks = greeks(**one)
        for name in GREEK_NAMES:
            assert scalar_greeks[name] == vector_greeks[name][i]


def test_inputs_broadcast_to_a_common_shape():
    strikes = np.array([[90.0], [100.0], [110.0]])
    vols = np.array([0.1, 0.2, 0.3, 0.4])
    out = price(S=100, K=strikes, T=0.5, r=0.01, q=0.0, sigma=vols, is_call=True)
    assert out.shape == (3, 4)
    assert out[1, 2] == price(S=100, K=100, T=0.5, r=0.01, q=0.0, sigma=0.3, is_call=True)
    g = greeks(S=[100, 101], K=100, T=0.5, r=0.01, q=0.0, sigma=0.2, is_call=[True, False])
    assert set(g) == set(GREEK_NAMES)
    assert all(g[name].shape == (2,) for name in GREEK_NAMES)
    assert price(S=100, K=100, T=1, r=0, q=0, sigma=0.2, is_call=True).shape == ()
    assert price(S=np.empty(0), K=100, T=1, r=0, q=0, sigma=0.2, is_call=True).shape == (0,)


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("S", 0.0),
        ("S", -1.0),
        ("K", 0.0),
        ("T", 0.0),
        ("T", -0.1),
        ("sigma", 0.0),
        ("sigma", -0.2),
        ("S", np.nan),
        ("K", np.inf),
        ("T", np.nan),
        ("r", np.nan),
        ("q", np.inf),
        ("sigma", np.inf),
    ],
)
def test_out_of_domain_elements_give_nan_without_warnings(field, bad):
    data = {"S": [100.0, 100.0], "K": 100.0, "T": 0.5, "r": 0.02, "q": 0.0, "sigma": 0.2}
    data[field] = [bad, data[field] if field != "S" else 100.0]
    for call in (True, False):
        value = price(**data, is_call=call)
        assert np.isnan(value[0])
        assert np.isfinite(value[1])
        g = greeks(**data, is_call=call)
        for name in GREEK_NAMES:
            assert np.isnan(g[name][0])
            assert np.isfinite(g[name][1])


def test_is_call_must_be_boolean_and_shapes_must_broadcast():
    with pytest.raises(TypeError, match="is_call"):
        price(S=100, K=100, T=1, r=0, q=0, sigma=0.2, is_call=np.array(["c", "p"]))
    with pytest.raises(ValueError, match="broadcast"):
        price(S=[1.0, 2.0], K=[1.0, 2.0, 3.0], T=1, r=0, q=0, sigma=0.2, is_call=True)
    assert price(S=100, K=100, T=1, r=0, q=0, sigma=0.2, is_call=1) == price(
        S=100, K=100, T=1, r=0, q=0, sigma=0.2, is_call=True
    )


def test_zero_dte_greeks_stay_finite_at_the_time_floor():
    five_minutes = 5 / 525_600
    g = greeks(
        S=4500, K=[4450, 4500, 4550], T=five_minutes, r=0.05, q=0.0, sigma=0.15, is_call=True
    )
    for name in GREEK_NAMES:
        assert np.all(np.isfinite(g[name]))
    assert g["gamma"][1] > 0.1  # 1/(S·sigma·√T)·φ(0) is large but finite
