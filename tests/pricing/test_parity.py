"""Forward, discount and implied yield from put-call parity."""

import math

import numpy as np
import pytest

from optionscope.pricing import ParityStatus, forward_from_parity, price

S, T, R, Q, SIGMA = 4500.0, 0.25, 0.05, 0.015, 0.18
FORWARD = S * math.exp((R - Q) * T)
STRIKES = np.arange(4200.0, 4805.0, 25.0)


def chain(strikes=STRIKES, sigma=SIGMA):
    calls = price(S=S, K=strikes, T=T, r=R, q=Q, sigma=sigma, is_call=True)
    puts = price(S=S, K=strikes, T=T, r=R, q=Q, sigma=sigma, is_call=False)
    return calls, puts


@pytest.mark.parametrize("rate", [R, None])
def test_exact_quotes_recover_forward_rate_and_yield(rate):
    calls, puts = chain()
    fit = forward_from_parity(K=STRIKES, call_price=calls, put_price=puts, T=T, r=rate, S=S)
    assert fit.status is ParityStatus.OK
    assert abs(fit.forward - FORWARD) <= 1e-9 * FORWARD
    assert abs(fit.rate - R) <= 1e-9
    assert abs(fit.dividend_yield - Q) <= 1e-9
    assert abs(fit.discount - math.exp(-R * T)) <= 1e-12
    assert fit.n_used == 12
    assert fit.n_rejected == 0
    assert 4500.0 <= fit.atm_strike <= 4600.0


@pytest.mark.parametrize("rate", [R, None])
def test_outliers_among_the_nearest_strikes_are_rejected(rate):
    calls, puts = chain()
    rng = np.random.default_rng(3)
    noisy_calls = calls + rng.normal(0.0, 0.02, calls.size)  # half-cent-ish quote noise
    near = np.argsort(np.abs(STRIKES - FORWARD))[:12]
    noisy_calls[near[[1, 4, 7]]] += [6.0, -9.0, 15.0]  # three of twelve stale quotes
    fit = forward_from_parity(K=STRIKES, call_price=noisy_calls, put_price=puts, T=T, r=rate, S=S)
    assert fit.status is ParityStatus.OK
    assert fit.n_rejected == 3
    assert abs(fit.forward - FORWARD) <= (0.05 if rate is not None else 0.5)
    assert fit.residual_scale < 0.05


def test_missing_and_zero_quotes_are_skipped():
    calls, puts = chain()
    calls[[2, 9]] = np.nan
    puts[[3, 10]] = 0.0
    fit = forward_from_parity(K=STRIKES, call_price=calls, put_price=puts, T=T, r=R)
    assert fit.status is ParityStatus.OK
    assert abs(fit.forward - FORWARD) <= 1e-9 * FORWARD
    assert math.isnan(fit.dividend_yield)  # no spot given


@pytest.mark.parametrize(
    ("case", "strikes", "rate", "T", "status"),
    [
        ("one strike, known rate", STRIKES[:1], R, T, ParityStatus.TOO_FEW_STRIKES),
        ("two strikes, fitted rate", STRIKES[:2], None, T, ParityStatus.TOO_FEW_STRIKES),
        ("repeated strike, fitted rate", np.full(5, 4500.0), None, T, ParityStatus.TOO_FEW_STRIKES),
        ("expired", STRIKES, R, 0.0, ParityStatus.NON_POSITIVE_TIME),
        ("NaN time", STRIKES, R, math.nan, ParityStatus.NON_POSITIVE_TIME),
    ],
)
def test_unusable_inputs_give_nan_with_a_status(case, strikes, rate, T, status):
    calls, puts = chain(strikes)
    fit = forward_from_parity(K=strikes, call_price=calls, put_price=puts, T=T, r=rate, S=S)
    assert fit.status is status, case
    assert math.isnan(fit.forward)
    assert math.isnan(fit.discount)


def test_crossed_parity_slope_is_flagged_as_implausible():
    calls, puts = chain()
    fit = forward_from_parity(K=STRIKES, call_price=puts, put_price=calls, T=T, S=S)
    assert fit.status is ParityStatus.IMPLAUSIBLE_DISCOUNT
    assert math.isnan(fit.forward)
