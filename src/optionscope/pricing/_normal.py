"""Scalar normal-distribution kernels (numba) shared by the pricing modules.

Symbols: ``Φ`` is the standard normal CDF, ``φ`` its density, ``erfcx(z) = exp(z²)·erfc(z)``.

Sources:
    W. J. Cody, "Rational Chebyshev approximations for the error function",
    Math. Comp. 23 (1969) 631-638 (``erfcx``); M. J. Wichura, "Algorithm AS 241: the
    percentage points of the normal distribution", Appl. Statist. 37 (1988) 477-484
    (``inverse_norm_cdf``). Coefficients as used in P. Jäckel's LetsBeRational reference
    code (www.jaeckel.org, 2013), whose notice reads: "Copyright © 2013-2014 Peter Jäckel.
    Permission to use, copy, modify, and distribute this software is freely granted,
    provided that this notice is preserved."

Every function here is a scalar ``numba.njit`` kernel compiled lazily on first use and cached
on disk (``cache=True``); callers are other kernels, never Python loops.
"""

import math

from optionscope.pricing._jit import scalar_kernel

ONE_OVER_SQRT_TWO = 0.7071067811865475244008443621048490392848359376887
ONE_OVER_SQRT_TWO_PI = 0.3989422804014326779399460599343818684758586311649
SQRT_TWO_PI = 2.506628274631000502415765284811045253006986740610
SQRT_PI_OVER_TWO = 1.253314137315500251207882642405522626503493370305
_SQRPI = 0.56418958354775628695  # 1/sqrt(pi)

# Cody (1969) erfc/erfcx coefficients, three intervals of |z|.
_A0, _A1, _A2, _A3, _A4 = (
    3.1611237438705656,
    113.864154151050156,
    377.485237685302021,
    3209.37758913846947,
    0.185777706184603153,
)
_B0, _B1, _B2, _B3 = (
    23.6012909523441209,
    244.024637934444173,
    1282.61652607737228,
    2844.23683343917062,
)
_C0, _C1, _C2, _C3, _C4, _C5, _C6, _C7, _C8 = (
    0.564188496988670089,
    8.88314979438837594,
    66.1191906371416295,
    298.635138197400131,
    881.95222124176909,
    1712.04761263407058,
    2051.07837782607147,
    1230.33935479799725,
    2.15311535474403846e-8,
)
_D0, _D1, _D2, _D3, _D4, _D5, _D6, _D7 = (
    15.7449261107098347,
    117.693950891312499,
    537.181101862009858,
    1621.38957456669019,
    3290.79923573345963,
    4362.61909014324716,
    3439.36767414372164,
    1230.33935480374942,
)
_P0, _P1, _P2, _P3, _P4, _P5 = (
    0.305326634961232344,
    0.360344899949804439,
    0.125781726111229246,
    0.0160837851487422766,
    6.58749161529837803e-4,
    0.0163153871373020978,
)
_Q0, _Q1, _Q2, _Q3, _Q4 = (
    2.56852019228982242,
    1.87295284992346047,
    0.527905102951428412,
    0.0605183413124413191,
    0.00233520497626869185,
)
_ERFCX_XNEG = -26.628  # erfcx overflows below this
_ERFCX_XHUGE = 6.71e7  # erfcx(z) = 1/(z·sqrt(pi)) to machine precision above this


@scalar_kernel
def norm_pdf(z: float) -> float:
    """Return φ(z) = exp(-z²/2)/√(2π)."""
    return ONE_OVER_SQRT_TWO_PI * math.exp(-0.5 * z * z)


@scalar_kernel
def norm_cdf(z: float) -> float:
    """Return Φ(z) = erfc(-z/√2)/2, relatively accurate in the lower tail (libm erfc)."""
    return 0.5 * math.erfc(-z * ONE_OVER_SQRT_TWO)


@scalar_kernel
def _exp_squared(y: float) -> float:
    # exp(y²) split as exp(a²)·exp((y-a)(y+a)), a = y rounded to 1/16, to keep all digits;
    # below y = 1 the rounding of y² costs at most one ulp and one exponential is enough.
    if y < 1.0:
        return math.exp(y * y)
    a = math.floor(y * 16.0) / 16.0 if y > 0.0 else -math.floor(-y * 16.0) / 16.0
    return math.exp(a * a) * math.exp((y - a) * (y + a))


@scalar_kernel
def _erf_small(y: float) -> float:
    # erf(y) for |y| <= 0.46875 (Cody's first interval), relative accuracy near 1e-16.
    ysq = y * y
    xnum = _A4 * ysq
    xden = ysq
    xnum = (xnum + _A0) * ysq
    xden = (xden + _B0) * ysq
    xnum = (xnum + _A1) * ysq
    xden = (xden + _B1) * ysq
    xnum = (xnum + _A2) * ysq
    xden = (xden + _B2) * ysq
    return y * (xnum + _A3) / (xden + _B3)


@scalar_kernel
def _erfcx_large(y: float) -> float:
    # erfcx(y) for y > 0.46875 from Cody's rational functions alone (no exponential).
    if y <= 4.0:
        xnum = _C8 * y
        xden = y
        xnum = (xnum + _C0) * y
        xden = (xden + _D0) * y
        xnum = (xnum + _C1) * y
        xden = (xden + _D1) * y
        xnum = (xnum + _C2) * y
        xden = (xden + _D2) * y
        xnum = (xnum + _C3) * y
        xden = (xden + _D3) * y
        xnum = (xnum + _C4) * y
        xden = (xden + _D4) * y
        xnum = (xnum + _C5) * y
        xden = (xden + _D5) * y
        xnum = (xnum + _C6) * y
        xden = (xden + _D6) * y
        return (xnum + _C7) / (xden + _D7)
    if y >= _ERFCX_XHUGE:
        return _SQRPI / y
    ysq = 1.0 / (y * y)
    xnum = _P5 * ysq
    xden = ysq
    xnum = (xnum + _P0) * ysq
    xden = (xden + _Q0) * ysq
    xnum = (xnum + _P1) * ysq
    xden = (xden + _Q1) * ysq
    xnum = (xnum + _P2) * ysq
    xden = (xden + _Q2) * ysq
    xnum = (xnum + _P3) * ysq
    xden = (xden + _Q3) * ysq
    return (_SQRPI - ysq * (xnum + _P4) / (xden + _Q4)) / y


@scalar_kernel
def erfcx(z: float) -> float:
    """Return the scaled complementary error function exp(z²)·erfc(z) (Cody 1969)."""
    y = abs(z)
    if y <= 0.46875:
        return math.exp(y * y) * (1.0 - _erf_small(z))
    result = _erfcx_large(y)
    if z < 0.0:
        if z < _ERFCX_XNEG:
            return math.inf
        e = _exp_squared(y)
        return e + e - result
    return result


@scalar_kernel
def norm_cdf_given_pdf(z: float, pdf: float) -> float:
    """Return Φ(z) given φ(z), with rational functions only (no further exponential).

    ``Φ(-|z|) = erfc(|z|/√2)/2 = √(π/2)·φ(z)·erfcx(|z|/√2)``; near zero
    ``Φ(z) = (1 + erf(z/√2))/2``. Used where φ(z) is needed anyway (greeks).
    """
    y = abs(z) * ONE_OVER_SQRT_TWO
    if y <= 0.46875:
        return 0.5 + 0.5 * _erf_small(z * ONE_OVER_SQRT_TWO)
    tail = SQRT_PI_OVER_TWO * pdf * _erfcx_large(y)
    return 1.0 - tail if z > 0.0 else tail


# Wichura (1988) AS 241 coefficients.
_SPLIT1 = 0.425
_SPLIT2 = 5.0
_CONST1 = 0.180625
_CONST2 = 1.6
_IA = (
    3.3871328727963666080e0,
    1.3314166789178437745e2,
    1.9715909503065514427e3,
    1.3731693765509461125e4,
    4.5921953931549871457e4,
    6.7265770927008700853e4,
    3.3430575583588128105e4,
    2.5090809287301226727e3,
)
_IB = (
    1.0,
    4.2313330701600911252e1,
    6.8718700749205790830e2,
    5.3941960214247511077e3,
    2.1213794301586595867e4,
    3.9307895800092710610e4,
    2.8729085735721942674e4,
    5.2264952788528545610e3,
)
_IC = (
    1.42343711074968357734e0,
    4.63033784615654529590e0,
    5.76949722146069140550e0,
    3.64784832476320460504e0,
    1.27045825245236838258e0,
    2.41780725177450611770e-1,
    2.27238449892691845833e-2,
    7.74545014278341407640e-4,
)
_ID = (
    1.0,
    2.05319162663775882187e0,
    1.67638483018380384940e0,
    6.89767334985100004550e-1,
    1.48103976427480074590e-1,
    1.51986665636164571966e-2,
    5.47593808499534494600e-4,
    1.05075007164441684324e-9,
)
_IE = (
    6.65790464350110377720e0,
    5.46378491116411436990e0,
    1.78482653991729133580e0,
    2.96560571828504891230e-1,
    2.65321895265761230930e-2,
    1.24266094738807843860e-3,
    2.71155556874348757815e-5,
    2.01033439929228813265e-7,
)
_IF = (
    1.0,
    5.99832206555887937690e-1,
    1.36929880922735805310e-1,
    1.48753612908506148525e-2,
    7.86869131145613259100e-4,
    1.84631831751005468180e-5,
    1.42151175831644588870e-7,
    2.04426310338993978564e-15,
)


@scalar_kernel
def _ratio7(r: float, num: tuple[float, ...], den: tuple[float, ...]) -> float:
    n = num[7]
    d = den[7]
    for j in range(6, -1, -1):
        n = n * r + num[j]
        d = d * r + den[j]
    return n / d


@scalar_kernel
def inverse_norm_cdf(u: float) -> float:
    """Return z with Φ(z) = u (Wichura 1988, AS 241, about 16 digits); ±inf at 0 and 1."""
    if u <= 0.0:
        return -math.inf
    if u >= 1.0:
        return math.inf
    q = u - 0.5
    if abs(q) <= _SPLIT1:
        r = _CONST1 - q * q
        return q * _ratio7(r, _IA, _IB)
    r = u if q < 0.0 else 1.0 - u
    r = math.sqrt(-math.log(r))
    ret = _ratio7(r - _CONST2, _IC, _ID) if r < _SPLIT2 else _ratio7(r - _SPLIT2, _IE, _IF)
    return -ret if q < 0.0 else ret
