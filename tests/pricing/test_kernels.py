"""The private scalar kernels at the edges of their domains, against scipy.special."""

import math

import numpy as np
import pytest
from scipy import special

from optionscope.pricing import _lets_be_rational as lbr
from optionscope.pricing import _normal

EPS = np.finfo(float).eps


@pytest.mark.parametrize(
    "z", [-26.0, -10.0, -3.0, -0.9, -0.3, 0.0, 0.2, 0.46875, 0.5, 3.9, 4.1, 30.0, 1e5, 1e8]
)
def test_erfcx_matches_scipy(z):
    assert _normal.erfcx(z) == pytest.approx(special.erfcx(z), rel=8 * EPS * max(1.0, z * z))


def test_erfcx_overflows_to_infinity_below_its_range():
    assert _normal.erfcx(-27.0) == math.inf


@pytest.mark.parametrize("z", [-37.0, -12.0, -5.0, -1.0, -0.5, -0.1, 0.0, 0.3, 0.7, 2.0, 9.0])
def test_norm_cdf_given_pdf_matches_scipy(z):
    value = _normal.norm_cdf_given_pdf(z, _normal.norm_pdf(z))
    assert value == pytest.approx(special.ndtr(z), rel=4 * EPS * max(1.0, z * z), abs=0.0)


@pytest.mark.parametrize("u", [1e-300, 1e-20, 1e-5, 0.02, 0.3, 0.5, 0.7, 0.98, 1 - 1e-12])
def test_inverse_norm_cdf_matches_scipy(u):
    assert _normal.inverse_norm_cdf(u) == pytest.approx(special.ndtri(u), rel=1e-14, abs=1e-15)


def test_inverse_norm_cdf_is_infinite_at_the_ends():
    assert _normal.inverse_norm_cdf(0.0) == -math.inf
    assert _normal.inverse_norm_cdf(1.0) == math.inf


def plain_black(x: float, s: float) -> float:
    h, t = x / s, s / 2
    return special.ndtr(h + t) * math.exp(x / 2) - special.ndtr(h - t) * math.exp(-x / 2)


@pytest.mark.parametrize(
    ("x", "s"),
    [
        (-0.5, 0.03),  # asymptotic expansion region (h < -10)
        (-0.05, 0.2),  # small-t expansion
        (-0.01, 2.0),  # plain formula (b near its maximum)
        (-1.0, 0.8),  # erfcx form
        (0.0, 0.5),
    ],
)
def test_normalised_black_regions_agree_with_the_plain_formula(x, s):
    # Where the plain formula keeps its digits, all four regions must reproduce it.
    assert lbr.normalised_black_call(x, s) == pytest.approx(plain_black(x, s), rel=1e-9)
    assert lbr.normalised_black_call(x, 0.0) == 0.0


def test_normalised_vega_edges():
    assert lbr.normalised_vega(0.0, 1.0) == pytest.approx(math.exp(-0.125) / math.sqrt(2 * math.pi))
    assert lbr.normalised_vega(-1.0, 0.0) == 0.0
    assert lbr.normalised_vega(-1.0, 1e-200) == 0.0


@pytest.mark.parametrize("x", [-1e-12, -1e-3, -0.7, -5.0, -60.0, -400.0, -700.0])
@pytest.mark.parametrize("fraction", [1e-300, 1e-100, 1e-20, 1e-5, 0.3, 0.9, 0.999999])
def test_normalised_inverse_round_trips_over_extreme_moneyness(x, fraction):
    beta = fraction * math.exp(0.5 * x)
    if beta < 1e-300:
        return
    s = lbr.implied_normalised_volatility_otm(beta, x)
    assert math.isfinite(s)
    assert s > 0
    back = lbr.normalised_black_call(x, s)
    # Relative accuracy of beta, limited by b's own conditioning (d ln b/d ln s) at s.
    conditioning = abs(lbr.normalised_vega(x, s) * s / beta)
    assert back == pytest.approx(beta, rel=64 * EPS * max(1.0, conditioning, x * x))


def test_rational_cubic_degenerate_cases():
    assert lbr._rc_interpolation(0.5, 1.0, 1.0, 2.0, 4.0, 0.0, 0.0, 1.0) == 3.0
    linear = lbr._rc_interpolation(0.25, 0.0, 1.0, 0.0, 4.0, 9.0, 9.0, lbr._RC_MAX)
    assert linear == pytest.approx(1.0)
    # Slopes inconsistent with the secant: no shape-preserving control parameter exists.
    assert lbr._minimum_rc_parameter(1.0, -1.0, 2.0, False) == lbr._RC_MIN
    assert lbr._minimum_rc_parameter(0.0, 1.0, 0.0, True) == lbr._RC_MAX
    assert lbr._minimum_rc_parameter(1.0, 1.0, 1.0, True) == lbr._RC_MAX
    assert lbr._minimum_rc_parameter(2.0, 1.0, 3.0, True) == lbr._RC_MAX
    assert lbr._rc_parameter_left(0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, False) >= lbr._RC_MIN
    assert lbr._rc_parameter_left(0.0, 1.0, 0.0, 1.0, 1.0, 2.0, 0.0, False) == lbr._RC_MAX
    assert lbr._rc_parameter_right(0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, False) >= lbr._RC_MIN
    # Zero denominator with a negative numerator: the convexity floor (d_r + d_l)/s wins.
    assert lbr._rc_parameter_right(0.0, 1.0, 0.0, 1.0, 2.0, 1.0, 0.0, False) == 3.0
