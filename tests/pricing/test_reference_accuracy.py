"""Accuracy against a slow, obviously correct 60-digit reference (``decimal``).

The reference evaluates Black-Scholes-Merton on the exact binary values of the inputs with
60 significant digits: Φ by its Taylor series (|x| < 8) or the Laplace continued fraction of
the Mills ratio (|x| >= 8, Abramowitz & Stegun 26.2.14), so rounding in the reference is
~1e-40 and every difference measured here belongs to the double-precision code.
"""

import math
from decimal import Decimal, localcontext

import numpy as np
import pytest

from optionscope.pricing import IVReason, greeks, implied_vol_with_reasons, price

DIGITS = 60
PI = Decimal("3.141592653589793238462643383279502884197169399375105820974944592307816")
EPS = np.finfo(float).eps


def reference_cdf(x: Decimal) -> Decimal:
    if x > 0:
        return 1 - reference_cdf(-x)
    density = (-(x * x) / 2).exp() / (2 * PI).sqrt()
    if x > -8:
        term, total, n = x, x, 0
        while abs(term) > Decimal(10) ** -(DIGITS + 5):
            n += 1
            term = term * x * x / (2 * n + 1)
            total += term
        return Decimal("0.5") + density * total
    t = -x
    fraction = t
    for k in range(400, 0, -1):
        fraction = t + k / fraction
    return density / fraction


def reference_price(S, K, T, r, q, sigma, call) -> Decimal:
    with localcontext() as context:
        context.prec = DIGITS
        S, K, T, r, q, sigma = (Decimal(float(v)) for v in (S, K, T, r, q, sigma))
        vt = sigma * T.sqrt()
        d1 = ((S / K).ln() + (r - q) * T) / vt + vt / 2
        d2 = d1 - vt
        s_dq, k_dr = S * (-q * T).exp(), K * (-r * T).exp()
        if call:
            return s_dq * reference_cdf(d1) - k_dr * reference_cdf(d2)
        return k_dr * reference_cdf(-d2) - s_dq * reference_cdf(-d1)


def reference_implied_vol(quote, S, K, T, r, q, call, start) -> Decimal:
    """Newton in 60 digits from a close start: the exact implied vol of the double quote."""
    with localcontext() as context:
        context.prec = DIGITS
        target = Decimal(float(quote))
        sigma = Decimal(float(start))
        Sd, Kd, Td, rd, qd = (Decimal(float(v)) for v in (S, K, T, r, q))
        for _ in range(6):
            vt = sigma * Td.sqrt()
            d1 = ((Sd / Kd).ln() + (rd - qd) * Td) / vt + vt / 2
            vega = Sd * (-qd * Td).exp() * (-(d1 * d1) / 2).exp() / (2 * PI).sqrt() * Td.sqrt()
            sigma -= (reference_price(S, K, T, r, q, sigma, call) - target) / vega
        return sigma


def sample(n: int, seed: int) -> list[tuple[float, ...]]:
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        T = math.exp(rng.uniform(math.log(1 / 8760), math.log(5.0)))
        r, q = rng.uniform(-0.01, 0.08), rng.uniform(0.0, 0.05)
        K = 100.0 * math.exp((r - q) * T) * math.exp(rng.uniform(math.log(0.3), math.log(3.0)))
        sigma = math.exp(rng.uniform(math.log(0.01), math.log(5.0)))
        rows.append((100.0, K, T, r, q, sigma, bool(rng.random() < 0.5)))
    return rows


@pytest.fixture(scope="module")
def rows_with_reference():
    rows = sample(300, seed=11)
    return [(row, reference_price(*row)) for row in rows]


def test_prices_are_accurate_to_their_conditioning(rows_with_reference):
    ulps = []
    for row, exact in rows_with_reference:
        S, K, T, r, q, sigma, call = row
        ours = float(price(S=S, K=K, T=T, r=r, q=q, sigma=sigma, is_call=call))
        exact_float = float(exact)
        if exact_float < 1e-300:  # below the normal range of doubles
            assert ours < 1e-290
            continue
        # Relative accuracy holds even for tiny out-of-the-money prices; the rounding of
        # ln(F/K) alone moves exp(-d²/2) by about d²·eps, hence the (1 + d1²) factor.
        vt = sigma * math.sqrt(T)
        d1 = (math.log(S / K) + (r - q) * T) / vt + vt / 2
        assert abs(ours - exact_float) <= 8 * EPS * (1 + d1 * d1) * exact_float, row
        ulps.append(abs(ours - exact_float) / math.ulp(exact_float))
    assert np.median(ulps) <= 1.0
    assert len(ulps) >= 200


def test_implied_vol_is_exact_for_the_double_quote(rows_with_reference):
    checked = 0
    for row, _ in rows_with_reference:
        S, K, T, r, q, sigma, call = row
        base = {"S": S, "K": K, "T": T, "r": r, "q": q, "is_call": call}
        quote = price(**base, sigma=sigma)
        vega = float(greeks(**base, sigma=sigma)["vega"])
        result = implied_vol_with_reasons(price=quote, **base)
        if result.reason != IVReason.OK or vega < 1e-6:
            continue
        exact = float(reference_implied_vol(quote, S, K, T, r, q, call, result.vol))
        # Solver error only: the implied vol of this very double, not of the generating sigma.
        tolerance = 1e-13 * exact + 4 * EPS * float(quote) / vega
        assert abs(float(result.vol) - exact) <= tolerance, row
        checked += 1
    assert checked >= 80
