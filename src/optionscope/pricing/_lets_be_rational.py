"""Jäckel's "Let's Be Rational" normalised Black function and its inverse (numba scalars).

Notation (Jäckel 2015): for a forward ``F``, strike ``K``, total volatility ``s = sigma·√T``,

    x = ln(F/K),   h = x/s,   t = s/2,
    b(x, s) = Φ(x/s + s/2)·exp(x/2) - Φ(x/s - s/2)·exp(-x/2),

so that the undiscounted Black call price is ``c = √(F·K)·b(x, s)``. ``b`` rises from the
normalised intrinsic value at ``s = 0`` to ``b_max = exp(x/2)`` as ``s → ∞`` and its
derivative (normalised vega) is ``∂b/∂s = φ(x/s)·φ(s/2)·√(2π) = exp(-(h² + t²)/2)/√(2π)``.

The inverse follows the paper: a four-segment rational-cubic initial guess in transformed
coordinates, then at most two Householder(3) steps, which reach the attainable accuracy of
IEEE double precision for all inputs. The callers in ``implied_vol.py`` pass the
out-of-the-money leg only (``x ≤ 0`` calls, after the reciprocal-strike put/call map), so
no intrinsic value is subtracted here and no cancellation occurs.

Sources:
    P. Jäckel, "Let's Be Rational", Wilmott (January 2015) 40-53,
    http://www.jaeckel.org/LetsBeRational.pdf, and its reference implementation
    (www.jaeckel.org/LetsBeRational.7z), "Copyright © 2013-2014 Peter Jäckel. Permission to
    use, copy, modify, and distribute this software is freely granted, provided that this
    notice is preserved." The structure also follows the MIT-licensed Python port
    py_lets_be_rational 1.0.1 (© 2017 Gammon Capital LLC); its misindented upper-segment
    loop is written here as in the reference code.
    M. Abramowitz and I. Stegun, Handbook of Mathematical Functions, 26.2.12 (asymptotic
    expansion of Φ in the far tail).
"""

import math

import numpy as np

from optionscope.pricing._jit import scalar_kernel
from optionscope.pricing._normal import (
    ONE_OVER_SQRT_TWO,
    ONE_OVER_SQRT_TWO_PI,
    SQRT_PI_OVER_TWO,
    SQRT_TWO_PI,
    erfcx,
    inverse_norm_cdf,
    norm_cdf,
    norm_pdf,
)

DBL_EPSILON = 2.220446049250313e-16
DBL_MIN = 2.2250738585072014e-308
DBL_MAX = 1.7976931348623157e308
SQRT_DBL_MIN = math.sqrt(DBL_MIN)
SQRT_DBL_MAX = math.sqrt(DBL_MAX)
_SIXTEENTH_ROOT_DBL_EPSILON = DBL_EPSILON**0.0625
_ASYMPTOTIC_EXPANSION_THRESHOLD = -10.0  # eta in the paper
_SMALL_T_EXPANSION_THRESHOLD = 2.0 * _SIXTEENTH_ROOT_DBL_EPSILON  # tau in the paper
_SQRT_THREE = 1.732050807568877293527446341505872366942805253810
_SQRT_ONE_OVER_THREE = 0.577350269189625764509148780501957455647601751270
_TWO_PI = 6.283185307179586476925286766559005768394338798750
_TWO_PI_OVER_SQRT_TWENTY_SEVEN = 1.209199576156145233729385505094770488189377498728
_PI_OVER_SIX = 0.523598775598298873077107230546583814032861566563
_RC_MIN = -(1.0 - math.sqrt(DBL_EPSILON))  # rational cubic control parameter bounds
_RC_MAX = 2.0 / (DBL_EPSILON * DBL_EPSILON)
MAX_ITERATIONS = 2


@scalar_kernel
def _asymptotic_expansion(h: float, t: float) -> float:
    # Region h < eta: b = φ-scaled [Y(h+t) - Y(h-t)] expanded to 17th order (A&S 26.2.12).
    e = (t / h) * (t / h)
    r = (h + t) * (h - t)
    q = (h / r) * (h / r)
    # fmt: off
    s = (2.0 + q * (-6.0e0 - 2.0 * e + 3.0 * q * (1.0e1 + e * (2.0e1 + 2.0 * e) + 5.0 * q * (-1.4e1 + e * (-7.0e1 + e * (-4.2e1 - 2.0 * e)) + 7.0 * q * (1.8e1 + e * (1.68e2 + e * (2.52e2 + e * (7.2e1 + 2.0 * e))) + 9.0 * q * (-2.2e1 + e * (-3.3e2 + e * (-9.24e2 + e * (-6.6e2 + e * (-1.1e2 - 2.0 * e)))) + 1.1e1 * q * (2.6e1 + e * (5.72e2 + e * (2.574e3 + e * (3.432e3 + e * (1.43e3 + e * (1.56e2 + 2.0 * e))))) + 1.3e1 * q * (-3.0e1 + e * (-9.1e2 + e * (-6.006e3 + e * (-1.287e4 + e * (-1.001e4 + e * (-2.73e3 + e * (-2.1e2 - 2.0 * e)))))) + 1.5e1 * q * (3.4e1 + e * (1.36e3 + e * (1.2376e4 + e * (3.8896e4 + e * (4.862e4 + e * (2.4752e4 + e * (4.76e3 + e * (2.72e2 + 2.0 * e))))))) + 1.7e1 * q * (-3.8e1 + e * (-1.938e3 + e * (-2.3256e4 + e * (-1.00776e5 + e * (-1.84756e5 + e * (-1.51164e5 + e * (-5.4264e4 + e * (-7.752e3 + e * (-3.42e2 - 2.0 * e)))))))) + 1.9e1 * q * (4.2e1 + e * (2.66e3 + e * (4.0698e4 + e * (2.3256e5 + e * (5.8786e5 + e * (7.05432e5 + e * (4.0698e5 + e * (1.08528e5 + e * (1.197e4 + e * (4.2e2 + 2.0 * e))))))))) + 2.1e1 * q * (-4.6e1 + e * (-3.542e3 + e * (-6.7298e4 + e * (-4.90314e5 + e * (-1.63438e6 + e * (-2.704156e6 + e * (-2.288132e6 + e * (-9.80628e5 + e * (-2.01894e5 + e * (-1.771e4 + e * (-5.06e2 - 2.0 * e)))))))))) + 2.3e1 * q * (5.0e1 + e * (4.6e3 + e * (1.0626e5 + e * (9.614e5 + e * (4.08595e6 + e * (8.9148e6 + e * (1.04006e7 + e * (6.53752e6 + e * (2.16315e6 + e * (3.542e5 + e * (2.53e4 + e * (6.0e2 + 2.0 * e))))))))))) + 2.5e1 * q * (-5.4e1 + e * (-5.85e3 + e * (-1.6146e5 + e * (-1.77606e6 + e * (-9.37365e6 + e * (-2.607579e7 + e * (-4.01166e7 + e * (-3.476772e7 + e * (-1.687257e7 + e * (-4.44015e6 + e * (-5.9202e5 + e * (-3.51e4 + e * (-7.02e2 - 2.0 * e)))))))))))) + 2.7e1 * q * (5.8e1 + e * (7.308e3 + e * (2.3751e5 + e * (3.12156e6 + e * (2.003001e7 + e * (6.919458e7 + e * (1.3572783e8 + e * (1.5511752e8 + e * (1.0379187e8 + e * (4.006002e7 + e * (8.58429e6 + e * (9.5004e5 + e * (4.7502e4 + e * (8.12e2 + 2.0 * e))))))))))))) + 2.9e1 * q * (-6.2e1 + e * (-8.99e3 + e * (-3.39822e5 + e * (-5.25915e6 + e * (-4.032015e7 + e * (-1.6934463e8 + e * (-4.1250615e8 + e * (-6.0108039e8 + e * (-5.3036505e8 + e * (-2.8224105e8 + e * (-8.870433e7 + e * (-1.577745e7 + e * (-1.472562e6 + e * (-6.293e4 + e * (-9.3e2 - 2.0 * e)))))))))))))) + 3.1e1 * q * (6.6e1 + e * (1.0912e4 + e * (4.74672e5 + e * (8.544096e6 + e * (7.71342e7 + e * (3.8707344e8 + e * (1.14633288e9 + e * (2.07431664e9 + e * (2.33360622e9 + e * (1.6376184e9 + e * (7.0963464e8 + e * (1.8512208e8 + e * (2.7768312e7 + e * (2.215136e6 + e * (8.184e4 + e * (1.056e3 + 2.0 * e))))))))))))))) + 3.3e1 * (-7.0e1 + e * (-1.309e4 + e * (-6.49264e5 + e * (-1.344904e7 + e * (-1.4121492e8 + e * (-8.344518e8 + e * (-2.9526756e9 + e * (-6.49588632e9 + e * (-9.0751353e9 + e * (-8.1198579e9 + e * (-4.6399188e9 + e * (-1.6689036e9 + e * (-3.67158792e8 + e * (-4.707164e7 + e * (-3.24632e6 + e * (-1.0472e5 + e * (-1.19e3 - 2.0 * e))))))))))))))))) * q)))))))))))))))))  # noqa: E501
    # fmt: on
    b = ONE_OVER_SQRT_TWO_PI * math.exp(-0.5 * (h * h + t * t)) * (t / r) * s
    return max(b, 0.0)


@scalar_kernel
def _small_t_expansion(h: float, t: float) -> float:
    # Region t < tau: Y(h+t) - Y(h-t) expanded to 12th order in t, with a = 1 + h·Y(h).
    a = 1.0 + h * (0.5 * SQRT_TWO_PI) * erfcx(-ONE_OVER_SQRT_TWO * h)
    w = t * t
    h2 = h * h
    # fmt: off
    expansion = 2.0 * t * (a + w * ((-1.0 + 3.0 * a + a * h2) / 6.0 + w * ((-7.0 + 15.0 * a + h2 * (-1.0 + 10.0 * a + a * h2)) / 120.0 + w * ((-57.0 + 105.0 * a + h2 * (-18.0 + 105.0 * a + h2 * (-1.0 + 21.0 * a + a * h2))) / 5040.0 + w * ((-561.0 + 945.0 * a + h2 * (-285.0 + 1260.0 * a + h2 * (-33.0 + 378.0 * a + h2 * (-1.0 + 36.0 * a + a * h2)))) / 362880.0 + w * ((-6555.0 + 10395.0 * a + h2 * (-4680.0 + 17325.0 * a + h2 * (-840.0 + 6930.0 * a + h2 * (-52.0 + 990.0 * a + h2 * (-1.0 + 55.0 * a + a * h2))))) / 39916800.0 + ((-89055.0 + 135135.0 * a + h2 * (-82845.0 + 270270.0 * a + h2 * (-20370.0 + 135135.0 * a + h2 * (-1926.0 + 25740.0 * a + h2 * (-75.0 + 2145.0 * a + h2 * (-1.0 + 78.0 * a + a * h2)))))) * w) / 6227020800.0))))))  # noqa: E501
    # fmt: on
    b = ONE_OVER_SQRT_TWO_PI * math.exp(-0.5 * (h * h + t * t)) * expansion
    return max(b, 0.0)


@scalar_kernel
def _black_using_norm_cdf(x: float, s: float) -> float:
    h = x / s
    t = 0.5 * s
    b_max = math.exp(0.5 * x)
    b = norm_cdf(h + t) * b_max - norm_cdf(h - t) / b_max
    return max(b, 0.0)


@scalar_kernel
def _black_using_erfcx(h: float, t: float) -> float:
    # b = exp(-(h²+t²)/2)/2 · [erfcx(-(h+t)/√2) - erfcx(-(h-t)/√2)]: one exponential only.
    b = (
        0.5
        * math.exp(-0.5 * (h * h + t * t))
        * (erfcx(-ONE_OVER_SQRT_TWO * (h + t)) - erfcx(-ONE_OVER_SQRT_TWO * (h - t)))
    )
    return max(b, 0.0)


@scalar_kernel
def normalised_black_call(x: float, s: float) -> float:
    """Return the normalised Black call b(x, s) for x ≤ 0 in four accuracy regions.

    The regions (Jäckel 2015, §3) are: an asymptotic expansion for h = x/s < -10, a
    small-t expansion for t = s/2 < 0.21, the plain formula when b exceeds about 85% of its
    maximum, and a single-exponential form with erfcx otherwise. Callers map in-the-money
    options to their out-of-the-money twins first, so x > 0 is not handled.
    """
    if s <= 0.0:
        return 0.0
    if x < s * _ASYMPTOTIC_EXPANSION_THRESHOLD and 0.5 * s * s + x < s * (
        _SMALL_T_EXPANSION_THRESHOLD + _ASYMPTOTIC_EXPANSION_THRESHOLD
    ):
        return _asymptotic_expansion(x / s, 0.5 * s)
    if 0.5 * s < _SMALL_T_EXPANSION_THRESHOLD:
        return _small_t_expansion(x / s, 0.5 * s)
    if x + 0.5 * s * s > s * 0.85:
        return _black_using_norm_cdf(x, s)
    return _black_using_erfcx(x / s, 0.5 * s)


@scalar_kernel
def normalised_vega(x: float, s: float) -> float:
    """Return ∂b/∂s = exp(-((x/s)² + (s/2)²)/2)/√(2π)."""
    ax = abs(x)
    if ax <= 0.0:
        return ONE_OVER_SQRT_TWO_PI * math.exp(-0.125 * s * s)
    if s <= 0.0 or s <= ax * SQRT_DBL_MIN:
        return 0.0
    h = x / s
    t = 0.5 * s
    return ONE_OVER_SQRT_TWO_PI * math.exp(-0.5 * (h * h + t * t))


@scalar_kernel
def _householder_factor(newton: float, halley: float, hh3: float) -> float:
    return (1.0 + 0.5 * halley * newton) / (1.0 + newton * (halley + hh3 * newton / 6.0))


@scalar_kernel
def _f_lower_map(x: float, s: float) -> tuple[float, float, float]:
    # f(s) = 2π/√27·|x|·Φ(-z)³ with z = |x|/(s√3), and its first two derivatives in b.
    ax = abs(x)
    z = _SQRT_ONE_OVER_THREE * ax / s
    y = z * z
    s2 = s * s
    cdf = norm_cdf(-z)
    pdf = norm_pdf(z)
    growth = math.exp(y + 0.125 * s2)  # exp(2y + s²/4) below is its square
    fpp = (
        _PI_OVER_SIX
        * y
        / (s2 * s)
        * cdf
        * (8.0 * _SQRT_THREE * s * ax + (3.0 * s2 * (s2 - 8.0) - 8.0 * x * x) * cdf / pdf)
        * (growth * growth)
    )
    cdf2 = cdf * cdf
    fp = _TWO_PI * y * cdf2 * growth
    f = _TWO_PI_OVER_SQRT_TWENTY_SEVEN * ax * (cdf2 * cdf)
    return f, fp, fpp


@scalar_kernel
def _inverse_f_lower_map(x: float, f: float) -> float:
    if f <= 0.0:
        return 0.0
    return abs(
        x / (_SQRT_THREE * inverse_norm_cdf(np.cbrt(f / (_TWO_PI_OVER_SQRT_TWENTY_SEVEN * abs(x)))))
    )


@scalar_kernel
def _f_upper_map(x: float, s: float) -> tuple[float, float, float]:
    # f(s) = Φ(-s/2) and its first two derivatives in b.
    f = norm_cdf(-0.5 * s)
    if x == 0.0:
        return f, -0.5, 0.0
    w = (x / s) * (x / s)
    fp = -0.5 * math.exp(0.5 * w)
    fpp = SQRT_PI_OVER_TWO * math.exp(w + 0.125 * s * s) * w / s
    return f, fp, fpp


@scalar_kernel
def _minimum_rc_parameter(d_l: float, d_r: float, s: float, prefer_shape: bool) -> float:
    monotonic = d_l * s >= 0.0 and d_r * s >= 0.0
    convex = d_l <= s <= d_r
    concave = d_l >= s >= d_r
    if not monotonic and not convex and not concave:
        return _RC_MIN
    d_r_m_d_l = d_r - d_l
    d_r_m_s = d_r - s
    s_m_d_l = s - d_l
    r1 = -DBL_MAX
    r2 = r1
    if monotonic:
        if abs(s) >= DBL_MIN:
            r1 = (d_r + d_l) / s
        elif prefer_shape:
            r1 = _RC_MAX
    if convex or concave:
        if not (abs(s_m_d_l) < DBL_MIN or abs(d_r_m_s) < DBL_MIN):
            r2 = max(abs(d_r_m_d_l / d_r_m_s), abs(d_r_m_d_l / s_m_d_l))
        elif prefer_shape:
            r2 = _RC_MAX
    elif monotonic and prefer_shape:
        r2 = _RC_MAX
    return max(_RC_MIN, max(r1, r2))


@scalar_kernel
def _rc_parameter_left(
    x_l: float,
    x_r: float,
    y_l: float,
    y_r: float,
    d_l: float,
    d_r: float,
    second_derivative_l: float,
    prefer_shape: bool,
) -> float:
    # Control parameter matching the second derivative at the left end, kept convex.
    h = x_r - x_l
    numerator = 0.5 * h * second_derivative_l + (d_r - d_l)
    denominator = (y_r - y_l) / h - d_l
    if abs(numerator) < DBL_MIN:
        r = 0.0
    elif abs(denominator) < DBL_MIN:
        r = _RC_MAX if numerator > 0.0 else _RC_MIN
    else:
        r = numerator / denominator
    return max(r, _minimum_rc_parameter(d_l, d_r, (y_r - y_l) / h, prefer_shape))


@scalar_kernel
def _rc_parameter_right(
    x_l: float,
    x_r: float,
    y_l: float,
    y_r: float,
    d_l: float,
    d_r: float,
    second_derivative_r: float,
    prefer_shape: bool,
) -> float:
    # Control parameter matching the second derivative at the right end, kept convex.
    h = x_r - x_l
    numerator = 0.5 * h * second_derivative_r + (d_r - d_l)
    denominator = d_r - (y_r - y_l) / h
    if abs(numerator) < DBL_MIN:
        r = 0.0
    elif abs(denominator) < DBL_MIN:
        r = _RC_MAX if numerator > 0.0 else _RC_MIN
    else:
        r = numerator / denominator
    return max(r, _minimum_rc_parameter(d_l, d_r, (y_r - y_l) / h, prefer_shape))


@scalar_kernel
def _rc_interpolation(
    x: float, x_l: float, x_r: float, y_l: float, y_r: float, d_l: float, d_r: float, r: float
) -> float:
    # Delbourgo-Gregory rational cubic, formula (2.4)/(2.5) of Jäckel's paper.
    h = x_r - x_l
    if abs(h) <= 0.0:
        return 0.5 * (y_l + y_r)
    t = (x - x_l) / h
    if not r >= _RC_MAX:
        omt = 1.0 - t
        t2 = t * t
        omt2 = omt * omt
        return (
            y_r * t2 * t
            + (r * y_r - h * d_r) * t2 * omt
            + (r * y_l + h * d_l) * t * omt2
            + y_l * omt2 * omt
        ) / (1.0 + (r - 3.0) * t * omt)
    return y_r * t + y_l * (1.0 - t)


@scalar_kernel
def _iterate_lower(beta: float, x: float, s: float, s_left: float, s_right: float) -> float:
    # Objective g(s) = 1/ln(b(s)) - 1/ln(beta) on the lowest segment.
    ds = -DBL_MAX
    ds_previous = 0.0
    direction_reversal_count = 0
    iterations = 0
    ln_beta = math.log(beta)
    while iterations < MAX_ITERATIONS and abs(ds) > DBL_EPSILON * s:
        if ds * ds_previous < 0.0:
            direction_reversal_count += 1
        if iterations > 0 and (direction_reversal_count == 3 or not s_left < s < s_right):
            s = 0.5 * (s_left + s_right)
            if s_right - s_left <= DBL_EPSILON * s:
                break
            direction_reversal_count = 0
            ds = 0.0
        ds_previous = ds
        b = normalised_black_call(x, s)
        bp = normalised_vega(x, s)
        if b > beta and s < s_right:
            s_right = s
        elif b < beta and s > s_left:
            s_left = s
        if b <= 0.0 or bp <= 0.0:
            ds = 0.5 * (s_left + s_right) - s
        else:
            ln_b = math.log(b)
            bpob = bp / b
            h = x / s
            b_halley = h * h / s - s / 4.0
            newton = (ln_beta - ln_b) * ln_b / ln_beta / bpob
            halley = b_halley - bpob * (1.0 + 2.0 / ln_b)
            b_hh3 = b_halley * b_halley - 3.0 * (h / s) * (h / s) - 0.25
            hh3 = (
                b_hh3
                + 2.0 * bpob * bpob * (1.0 + 3.0 / ln_b * (1.0 + 1.0 / ln_b))
                - 3.0 * b_halley * bpob * (1.0 + 2.0 / ln_b)
            )
            ds = newton * _householder_factor(newton, halley, hh3)
        ds = max(-0.5 * s, ds)
        s += ds
        iterations += 1
    return s


@scalar_kernel
def _iterate_upper(
    beta: float, x: float, s: float, s_left: float, s_right: float, b_max: float
) -> float:
    # Objective g(s) = ln(b_max - beta) - ln(b_max - b(s)) on the upper segment.
    ds = -DBL_MAX
    ds_previous = 0.0
    direction_reversal_count = 0
    iterations = 0
    while iterations < MAX_ITERATIONS and abs(ds) > DBL_EPSILON * s:
        if ds * ds_previous < 0.0:
            direction_reversal_count += 1
        if iterations > 0 and (direction_reversal_count == 3 or not s_left < s < s_right):
            s = 0.5 * (s_left + s_right)
            if s_right - s_left <= DBL_EPSILON * s:
                break
            direction_reversal_count = 0
            ds = 0.0
        ds_previous = ds
        b = normalised_black_call(x, s)
        bp = normalised_vega(x, s)
        if b > beta and s < s_right:
            s_right = s
        elif b < beta and s > s_left:
            s_left = s
        if b >= b_max or bp <= DBL_MIN:
            ds = 0.5 * (s_left + s_right) - s
        else:
            b_max_minus_b = b_max - b
            g = math.log((b_max - beta) / b_max_minus_b)
            gp = bp / b_max_minus_b
            b_halley = (x / s) * (x / s) / s - s / 4.0
            b_hh3 = b_halley * b_halley - 3.0 * (x / (s * s)) * (x / (s * s)) - 0.25
            newton = -g / gp
            halley = b_halley + gp
            hh3 = b_hh3 + gp * (2.0 * gp + 3.0 * b_halley)
            ds = newton * _householder_factor(newton, halley, hh3)
        ds = max(-0.5 * s, ds)
        s += ds
        iterations += 1
    return s


@scalar_kernel
def _iterate_middle(beta: float, x: float, s: float, s_left: float, s_right: float) -> float:
    # Objective g(s) = b(s) - beta on the two middle segments.
    ds = -DBL_MAX
    ds_previous = 0.0
    direction_reversal_count = 0
    iterations = 0
    while iterations < MAX_ITERATIONS and abs(ds) > DBL_EPSILON * s:
        if ds * ds_previous < 0.0:
            direction_reversal_count += 1
        if iterations > 0 and (direction_reversal_count == 3 or not s_left < s < s_right):
            s = 0.5 * (s_left + s_right)
            if s_right - s_left <= DBL_EPSILON * s:
                break
            direction_reversal_count = 0
            ds = 0.0
        ds_previous = ds
        b = normalised_black_call(x, s)
        bp = normalised_vega(x, s)
        if b > beta and s < s_right:
            s_right = s
        elif b < beta and s > s_left:
            s_left = s
        newton = (beta - b) / bp
        halley = (x / s) * (x / s) / s - s / 4.0
        hh3 = halley * halley - 3.0 * (x / (s * s)) * (x / (s * s)) - 0.25
        ds = max(-0.5 * s, newton * _householder_factor(newton, halley, hh3))
        s += ds
        iterations += 1
    return s


@scalar_kernel
def implied_normalised_volatility_otm(beta: float, x: float) -> float:
    """Return s = sigma·√T solving b(x, s) = beta for an out-of-the-money call.

    Requires x ≤ 0 and 0 < beta < e^(x/2). Callers check the bounds; inputs outside them
    give a meaningless (possibly non-finite) result.
    """
    b_max = math.exp(0.5 * x)
    s_c = math.sqrt(abs(2.0 * x))
    b_c = normalised_black_call(x, s_c)
    v_c = normalised_vega(x, s_c)
    if beta < b_c:
        s_l = s_c - b_c / v_c
        b_l = normalised_black_call(x, s_l)
        if beta < b_l:
            f_l, fp_l, fpp_l = _f_lower_map(x, s_l)
            r_ll = _rc_parameter_right(0.0, b_l, 0.0, f_l, 1.0, fp_l, fpp_l, True)
            f = _rc_interpolation(beta, 0.0, b_l, 0.0, f_l, 1.0, fp_l, r_ll)
            if not f > 0.0:
                # Round-off for extreme |x|: quadratic through f(0)=0, f(b_l), f'(0)=1.
                t = beta / b_l
                f = (f_l * t + b_l * (1.0 - t)) * t
            s = _inverse_f_lower_map(x, f)
            return _iterate_lower(beta, x, s, DBL_MIN, s_l)
        v_l = normalised_vega(x, s_l)
        r_lm = _rc_parameter_right(b_l, b_c, s_l, s_c, 1.0 / v_l, 1.0 / v_c, 0.0, False)
        s = _rc_interpolation(beta, b_l, b_c, s_l, s_c, 1.0 / v_l, 1.0 / v_c, r_lm)
        return _iterate_middle(beta, x, s, s_l, s_c)
    s_h = s_c + (b_max - b_c) / v_c if v_c > DBL_MIN else s_c
    b_h = normalised_black_call(x, s_h)
    if beta <= b_h:
        v_h = normalised_vega(x, s_h)
        r_hm = _rc_parameter_left(b_c, b_h, s_c, s_h, 1.0 / v_c, 1.0 / v_h, 0.0, False)
        s = _rc_interpolation(beta, b_c, b_h, s_c, s_h, 1.0 / v_c, 1.0 / v_h, r_hm)
        return _iterate_middle(beta, x, s, s_c, s_h)
    f_h, fp_h, fpp_h = _f_upper_map(x, s_h)
    f = -DBL_MAX
    if -SQRT_DBL_MAX < fpp_h < SQRT_DBL_MAX:
        r_hh = _rc_parameter_left(b_h, b_max, f_h, 0.0, fp_h, -0.5, fpp_h, True)
        f = _rc_interpolation(beta, b_h, b_max, f_h, 0.0, fp_h, -0.5, r_hh)
    if f <= 0.0:
        # Quadratic through f(b_h), f(b_max)=0 and f'(b_max)=-1/2.
        h = b_max - b_h
        t = (beta - b_h) / h
        f = (f_h * (1.0 - t) + 0.5 * h * t) * (1.0 - t)
    s = -2.0 * inverse_norm_cdf(f)
    if beta > 0.5 * b_max:
        return _iterate_upper(beta, x, s, s_h, DBL_MAX, b_max)
    return _iterate_middle(beta, x, s, s_h, DBL_MAX)
