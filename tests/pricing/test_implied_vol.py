"""Implied volatility: accuracy over the issue's domain, round trips, reasons, bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optionscope.pricing import (
    IVReason,
    black76_implied_vol_with_reasons,
    black76_price,
    greeks,
    implied_vol,
    implied_vol_with_reasons,
    price,
)

VOL_TOLERANCE = 1e-9  # absolute, wherever vega (per 1.00 vol) > VEGA_FLOOR
VEGA_FLOOR = 1e-4


def seeded_domain(n: int, seed: int) -> dict[str, np.ndarray]:
    """Options over the issue's domain: K/F 0.3-3.0, T 1 hour-5 years, sigma 1%-500%."""
    rng = np.random.default_rng(seed)
    S = np.full(n, 100.0)
    T = np.exp(rng.uniform(np.log(1 / 8760), np.log(5.0), n))
    r = rng.uniform(-0.01, 0.08, n)
    q = rng.uniform(0.0, 0.05, n)
    forward = S * np.exp((r - q) * T)
    return {
        "S": S,
        "K": forward * np.exp(rng.uniform(np.log(0.3), np.log(3.0), n)),
        "T": T,
        "r": r,
        "q": q,
        "sigma": np.exp(rng.uniform(np.log(0.01), np.log(5.0), n)),
        "is_call": rng.random(n) < 0.5,
    }


def test_accuracy_over_the_issue_domain():
    data = seeded_domain(200_000, seed=20240501)
    sigma = data.pop("sigma")
    quote = price(**data, sigma=sigma)
    vega = greeks(**data, sigma=sigma)["vega"]
    result = implied_vol_with_reasons(price=quote, **data)
    ok = result.reason == IVReason.OK
    assert np.all(np.isnan(result.vol[~ok]))

    # Every element that has no vol is a quote with no time value left in double precision
    # (deep in/out of the money, tiny sigma·√T) or one at its upper bound.
    S, K, T, r, q, call = (data[k] for k in ("S", "K", "T", "r", "q", "is_call"))
    s_dq, k_dr = S * np.exp(-q * T), K * np.exp(-r * T)
    intrinsic = np.where(call, np.maximum(s_dq - k_dr, 0.0), np.maximum(k_dr - s_dq, 0.0))
    upper = np.where(call, s_dq, k_dr)
    slack = 1e-13 * (S + K)
    no_time_value = quote - intrinsic <= slack
    at_upper = upper - quote <= slack
    assert np.all((no_time_value | at_upper)[~ok])
    assert np.all(vega[~ok] < VEGA_FLOOR)

    measured = vega > VEGA_FLOOR
    error = np.abs(result.vol - sigma)[measured]
    assert np.all(ok[measured])
    assert error.max() <= VOL_TOLERANCE
    assert measured.sum() > 60_000  # about 36% of the log-uniform domain has vega > 1e-4


option = st.tuples(
    st.floats(1.0, 1000.0),  # S
    st.floats(0.3, 3.0),  # K/F
    st.floats(1.0 / 8760.0, 5.0),  # T
    st.floats(0.01, 5.0),  # sigma
    st.floats(-0.02, 0.10),  # r
    st.floats(0.0, 0.08),  # q
    st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(option)
def test_round_trip_price_to_vol_to_price(row):
    S, m, T, sigma, r, q, call = row
    K = S * np.exp((r - q) * T) * m
    base = {"S": S, "K": K, "T": T, "r": r, "q": q, "is_call": call}
    quote = float(price(**base, sigma=sigma))
    vega = float(greeks(**base, sigma=sigma)["vega"])
    result = implied_vol_with_reasons(price=quote, **base)
    if result.reason != IVReason.OK:
        assert vega / S < VEGA_FLOOR / 100  # only quotes without usable time value fail
        return
    assert abs(float(price(**base, sigma=result.vol)) - quote) <= 1e-12 * max(S, K)
    if vega > VEGA_FLOOR * S / 100:
        assert abs(float(result.vol) - sigma) <= VOL_TOLERANCE


def test_in_the_money_quote_gives_the_vol_of_its_out_of_the_money_twin():
    strikes = np.linspace(60, 160, 41)
    base = {"S": 100.0, "K": strikes, "T": 0.75, "r": 0.045, "q": 0.015}
    calls = price(**base, sigma=0.37, is_call=True)
    puts = price(**base, sigma=0.37, is_call=False)
    call_vol = implied_vol(price=calls, **base, is_call=True)
    put_vol = implied_vol(price=puts, **base, is_call=False)
    np.testing.assert_allclose(call_vol, 0.37, rtol=0, atol=1e-12)
    np.testing.assert_allclose(put_vol, 0.37, rtol=0, atol=1e-12)


def test_extreme_but_valid_quotes_are_solved():
    # sigma·√T from 1e-4 (1% over an hour) to 11 (500% over 5 years). Out-of-the-money legs,
    # whose prices keep relative precision even at 1e-58 (K = 300, sigma·√T = 0.067).
    cases = [(100.0, 0.01, 1 / 8760), (100.0, 5.0, 5.0), (30.0, 5.0, 5.0), (300.0, 0.3, 0.05)]
    for K, sigma, T in cases:
        for call in [True, False] if K == 100.0 else [K > 100.0]:
            base = {"S": 100.0, "K": K, "T": T, "r": 0.0, "q": 0.0, "is_call": call}
            quote = price(**base, sigma=sigma)
            assert quote > 0.0
            vol = implied_vol(price=quote, **base)
            # Conditioning limit: a price known to a few ulps pins sigma to ~ulps/vega.
            vega = greeks(**base, sigma=sigma)["vega"]
            tolerance = 1e-12 * sigma + 8 * np.finfo(float).eps * quote / vega
            assert abs(float(vol) - sigma) <= tolerance, (K, sigma, T, call)


@pytest.mark.parametrize(
    ("case", "quote", "overrides", "reason"),
    [
        ("fair quote", 1.875, {}, IVReason.OK),
        ("zero price out of the money", 0.0, {"K": 30.0}, IVReason.BELOW_INTRINSIC),
        ("below forward intrinsic", 0.9, {"K": 20.0}, IVReason.BELOW_INTRINSIC),
        ("exactly the spot", 21.0, {}, IVReason.ABOVE_MAXIMUM),
        ("above the spot", 25.0, {}, IVReason.ABOVE_MAXIMUM),
        ("put above discounted strike", 20.0, {"is_call": False}, IVReason.ABOVE_MAXIMUM),
        ("negative price", -0.1, {}, IVReason.BAD_INPUT),
        ("NaN price", np.nan, {}, IVReason.BAD_INPUT),
        ("infinite price", np.inf, {}, IVReason.BAD_INPUT),
        ("NaN spot", 1.875, {"S": np.nan}, IVReason.BAD_INPUT),
        ("zero spot", 1.875, {"S": 0.0}, IVReason.BAD_INPUT),
        ("negative strike", 1.875, {"K": -20.0}, IVReason.BAD_INPUT),
        ("NaN rate", 1.875, {"r": np.nan}, IVReason.BAD_INPUT),
        ("infinite yield", 1.875, {"q": np.inf}, IVReason.BAD_INPUT),
        ("NaN time", 1.875, {"T": np.nan}, IVReason.BAD_INPUT),
        ("expired", 1.875, {"T": 0.0}, IVReason.NON_POSITIVE_TIME),
        ("negative time", 1.875, {"T": -0.01}, IVReason.NON_POSITIVE_TIME),
    ],
)
def test_reason_codes(case, quote, overrides, reason):
    # Hull §15.11: S0 = 21, K = 20, r = 10%, T = 0.25, c = 1.875 gives about 23.5%.
    base = {"S": 21.0, "K": 20.0, "T": 0.25, "r": 0.1, "q": 0.0, "is_call": True} | overrides
    result = implied_vol_with_reasons(price=quote, **base)
    assert IVReason(int(result.reason)) is reason, case
    assert np.isnan(result.vol) == (reason is not IVReason.OK)
    if reason is IVReason.OK:
        assert abs(float(result.vol) - 0.2345) < 5e-5


def test_bad_elements_do_not_spoil_their_neighbours():
    quotes = np.array([1.875, np.nan, -1.0, 1.875, 50.0, 0.0])
    T = np.array([0.25, 0.25, 0.25, -1.0, 0.25, 0.25])
    result = implied_vol_with_reasons(price=quotes, S=21, K=20, T=T, r=0.1, q=0, is_call=True)
    assert result.reason.dtype == np.int8
    assert [IVReason(code) for code in result.reason] == [
        IVReason.OK,
        IVReason.BAD_INPUT,
        IVReason.BAD_INPUT,
        IVReason.NON_POSITIVE_TIME,
        IVReason.ABOVE_MAXIMUM,
        IVReason.BELOW_INTRINSIC,
    ]
    assert np.isfinite(result.vol[0])
    assert np.all(np.isnan(result.vol[1:]))


def test_shapes_follow_broadcasting():
    strikes = np.array([[90.0], [100.0], [110.0]])
    quotes = price(S=100, K=strikes, T=[0.1, 0.5], r=0.02, q=0.0, sigma=0.25, is_call=True)
    result = implied_vol_with_reasons(
        price=quotes, S=100, K=strikes, T=[0.1, 0.5], r=0.02, q=0.0, is_call=True
    )
    assert result.vol.shape == result.reason.shape == (3, 2)
    np.testing.assert_allclose(result.vol, 0.25, rtol=0, atol=1e-12)
    assert implied_vol(price=5.0, S=100, K=100, T=0.5, r=0, q=0, is_call=True).shape == ()


@settings(max_examples=100, deadline=None)
@given(option)
def test_black76_round_trip(row):
    F, m, T, sigma, r, _, call = row
    base = {"F": F, "K": F * m, "T": T, "r": r, "is_call": call}
    quote = black76_price(**base, sigma=sigma)
    result = black76_implied_vol_with_reasons(price=quote, **base)
    if result.reason == IVReason.OK:
        back = float(black76_price(**base, sigma=result.vol))
        assert abs(back - float(quote)) <= 1e-12 * max(F, F * m)
    else:
        assert IVReason(int(result.reason)) in {IVReason.BELOW_INTRINSIC, IVReason.ABOVE_MAXIMUM}
