"""Black-Scholes-Merton prices and analytic greeks with a continuous dividend yield.

Symbols (used as keyword-only arguments throughout ``optionscope.pricing``):

* ``S``: spot price of the underlying (currency units), ``S > 0``;
* ``K``: strike (currency units), ``K > 0``;
* ``T``: time to expiry in years of 365 days, ``T > 0`` (see ``optionscope.pricing.expiry``);
* ``r``: continuously compounded risk-free rate per year (0.05 = 5%);
* ``q``: continuous dividend (or borrow) yield per year;
* ``sigma``: Black-Scholes volatility per √year as a decimal (0.20 = 20%);
* ``is_call``: ``True`` for calls, ``False`` for puts;
* ``N``/``Φ`` the standard normal CDF and ``φ`` its density.

Formulas (Hull, *Options, Futures, and Other Derivatives*, chapters 15, 17 and 19; Haug,
*The Complete Guide to Option Pricing Formulas*, 2nd ed., §2.1-2.3)::

    F  = S·exp((r - q)T),   D = exp(-rT),   D_q = exp(-qT)
    d1 = [ln(S/K) + (r - q + sigma²/2)T]/(sigma·√T),   d2 = d1 - sigma·√T
    call = S·D_q·Φ(d1) - K·D·Φ(d2),   put = K·D·Φ(-d2) - S·D_q·Φ(-d1)

``price`` evaluates the out-of-the-money leg as ``D·√(F·K)·b(ln(F/K), sigma·√T)`` with
Jäckel's normalised Black function ``b`` and adds the discounted intrinsic value by put-call
parity for the in-the-money leg, which keeps relative accuracy down to prices of 1e-300
(the textbook form above loses it: docs/accuracy.md). The greeks use the formulas directly.

Every function takes NumPy arrays (or scalars) that broadcast against each other and
returns float64 arrays of the broadcast shape (0-d for all-scalar input). Elements outside
the domain (``S``, ``K``, ``T`` or ``sigma`` not strictly positive, or any input not finite)
give NaN; no warning or exception is raised for them. The loops run in compiled numba
kernels, on all cores from ``_jit.PARALLEL_MIN_SIZE`` elements up and on the calling thread
(without the GIL) below.
"""

import math
from typing import TypedDict

import numba
import numpy as np

from optionscope.pricing._arrays import (
    ArrayLike,
    BoolArray,
    FloatArray,
    as_flag,
    as_float,
    flatten_broadcast,
)
from optionscope.pricing._forward import forward_terms
from optionscope.pricing._jit import parallel_kernel, run_kernel, scalar_kernel
from optionscope.pricing._lets_be_rational import normalised_black_call
from optionscope.pricing._normal import norm_cdf_given_pdf, norm_pdf

__all__ = ["GREEK_NAMES", "Greeks", "greeks", "price"]

GREEK_NAMES = ("delta", "gamma", "vega", "theta", "rho", "vanna", "charm", "vomma")


class Greeks(TypedDict):
    """Analytic sensitivities, each a float64 array of the broadcast input shape.

    Units (no display scaling is applied here):

    * ``delta``: ∂V/∂S (per 1 unit of spot; Black-76: ∂V/∂F);
    * ``gamma``: ∂²V/∂S² (per unit of spot, squared);
    * ``vega``: ∂V/∂sigma per 1.00 of volatility (divide by 100 for "per vol point");
    * ``theta``: ∂V/∂t = -∂V/∂T per year of calendar time (divide by 365 for per day);
    * ``rho``: ∂V/∂r per 1.00 of rate (BSM: spot held fixed; Black-76: forward held fixed);
    * ``vanna``: ∂²V/∂S∂sigma = ∂delta/∂sigma;
    * ``charm``: ∂delta/∂t = -∂delta/∂T per year of calendar time;
    * ``vomma``: ∂²V/∂sigma² = ∂vega/∂sigma per 1.00 of volatility.
    """

    delta: FloatArray
    gamma: FloatArray
    vega: FloatArray
    theta: FloatArray
    rho: FloatArray
    vanna: FloatArray
    charm: FloatArray
    vomma: FloatArray


@scalar_kernel
def _valid(S: float, K: float, T: float, r: float, q: float, sigma: float) -> bool:
    return (
        0.0 < S < math.inf
        and 0.0 < K < math.inf
        and 0.0 < T < math.inf
        and 0.0 < sigma < math.inf
        and math.isfinite(r)
        and math.isfinite(q)
    )


@scalar_kernel
def _price_one(S: float, K: float, T: float, r: float, q: float, sigma: float, call: bool) -> float:
    if not _valid(S, K, T, r, q, sigma):
        return math.nan
    # Out-of-the-money leg from the normalised Black function (relative accuracy), plus the
    # discounted intrinsic D·(F - K) by parity when in the money (see _forward.py).
    x, s_dq, k_dr, gap_hi, gap_lo = forward_terms(S, K, T, r, q)
    otm = math.sqrt(s_dq) * math.sqrt(k_dr) * normalised_black_call(-abs(x), sigma * math.sqrt(T))
    if call and x > 0.0:
        return max((otm + gap_lo) + gap_hi, 0.0)
    if not call and x < 0.0:
        return max((otm - gap_lo) - gap_hi, 0.0)
    return otm


@scalar_kernel
def _price_serial(
    S: FloatArray,
    K: FloatArray,
    T: FloatArray,
    r: FloatArray,
    q: FloatArray,
    sigma: FloatArray,
    call: BoolArray,
    forward_model: bool,
    out: FloatArray,
) -> None:
    # Stride 0 for length-1 inputs: scalars broadcast without being copied.
    s0, s1, s2, s3 = int(S.size > 1), int(K.size > 1), int(T.size > 1), int(r.size > 1)
    s4, s5, s6 = int(q.size > 1), int(sigma.size > 1), int(call.size > 1)
    for i in range(out.size):
        ri = r[i * s3]
        qi = ri if forward_model else q[i * s4]
        out[i] = _price_one(S[i * s0], K[i * s1], T[i * s2], ri, qi, sigma[i * s5], call[i * s6])


@parallel_kernel
def _price_parallel(
    S: FloatArray,
    K: FloatArray,
    T: FloatArray,
    r: FloatArray,
    q: FloatArray,
    sigma: FloatArray,
    call: BoolArray,
    forward_model: bool,
    out: FloatArray,
) -> None:
    # Stride 0 for length-1 inputs: scalars broadcast without being copied.
    s0, s1, s2, s3 = int(S.size > 1), int(K.size > 1), int(T.size > 1), int(r.size > 1)
    s4, s5, s6 = int(q.size > 1), int(sigma.size > 1), int(call.size > 1)
    for i in numba.prange(out.size):
        ri = r[i * s3]
        qi = ri if forward_model else q[i * s4]
        out[i] = _price_one(S[i * s0], K[i * s1], T[i * s2], ri, qi, sigma[i * s5], call[i * s6])


@scalar_kernel
def _greeks_into(
    out: FloatArray,
    i: int,
    Si: float,
    Ki: float,
    Ti: float,
    ri: float,
    qi: float,
    vi: float,
    ci: bool,
    forward_model: bool,
) -> None:
    # Writes the eight greeks of element i into out[:, i] (rows in GREEK_NAMES order).
    if not _valid(Si, Ki, Ti, ri, qi, vi):
        for j in range(8):
            out[j, i] = math.nan
        return
    sqrt_t = math.sqrt(Ti)
    vt = vi * sqrt_t
    inv_vt = 1.0 / vt  # reciprocals once: divisions dominate this loop's cost
    inv_t = 1.0 / Ti
    # Plain ln(S/K): its absolute rounding (eps) moves d1 by eps/(sigma·√T), far below what
    # the greeks can resolve; price() needs the log1p form, the greeks do not.
    d1 = (math.log(Si / Ki) + (ri - qi) * Ti) * inv_vt + 0.5 * vt
    d2 = d1 - vt
    dq = math.exp(-qi * Ti)
    dr = math.exp(-ri * Ti)
    pdf1 = norm_pdf(d1)
    # φ(d2) = φ(d1)·F/K saves an exponential unless φ(d1) is (nearly) subnormal.
    pdf2 = pdf1 * (Si * dq) / (Ki * dr) if pdf1 > 1e-290 else norm_pdf(d2)
    # Φ(±d) from φ(d) by rational functions only (no erfc, no further exp); sign = +1
    # for calls, -1 for puts turns every call formula into its put counterpart.
    sign = 1.0 if ci else -1.0
    n1 = norm_cdf_given_pdf(sign * d1, pdf1)
    n2 = norm_cdf_given_pdf(sign * d2, pdf2)
    dq_pdf = dq * pdf1
    s_dq_n1 = Si * dq * n1
    k_dr_n2 = Ki * dr * n2
    vega = Si * dq_pdf * sqrt_t
    value = sign * (s_dq_n1 - k_dr_n2)
    out[0, i] = sign * dq * n1
    out[1, i] = dq_pdf * inv_vt / Si
    out[2, i] = vega
    out[3, i] = -0.5 * vega * vi * inv_t + sign * (qi * s_dq_n1 - ri * k_dr_n2)
    # Black-76 rho holds the forward fixed: only the discount factor moves.
    out[4, i] = -Ti * value if forward_model else sign * Ti * k_dr_n2
    out[5, i] = -dq_pdf * d2 * sqrt_t * inv_vt
    # Charm: delta drift as calendar time passes (Haug §2.2.4).
    out[6, i] = sign * qi * dq * n1 - dq_pdf * ((ri - qi) * inv_vt - 0.5 * d2 * inv_t)
    out[7, i] = vega * d1 * d2 * sqrt_t * inv_vt


@scalar_kernel
def _greeks_serial(
    S: FloatArray,
    K: FloatArray,
    T: FloatArray,
    r: FloatArray,
    q: FloatArray,
    sigma: FloatArray,
    call: BoolArray,
    forward_model: bool,
    out: FloatArray,
) -> None:
    # Stride 0 for length-1 inputs: scalars broadcast without being copied.
    s0, s1, s2, s3 = int(S.size > 1), int(K.size > 1), int(T.size > 1), int(r.size > 1)
    s4, s5, s6 = int(q.size > 1), int(sigma.size > 1), int(call.size > 1)
    for i in range(out.shape[1]):
        ri = r[i * s3]
        qi = ri if forward_model else q[i * s4]
        _greeks_into(
            out,
            i,
            S[i * s0],
            K[i * s1],
            T[i * s2],
            ri,
            qi,
            sigma[i * s5],
            call[i * s6],
            forward_model,
        )


@parallel_kernel
def _greeks_parallel(
    S: FloatArray,
    K: FloatArray,
    T: FloatArray,
    r: FloatArray,
    q: FloatArray,
    sigma: FloatArray,
    call: BoolArray,
    forward_model: bool,
    out: FloatArray,
) -> None:
    # Stride 0 for length-1 inputs: scalars broadcast without being copied.
    s0, s1, s2, s3 = int(S.size > 1), int(K.size > 1), int(T.size > 1), int(r.size > 1)
    s4, s5, s6 = int(q.size > 1), int(sigma.size > 1), int(call.size > 1)
    for i in numba.prange(out.shape[1]):
        ri = r[i * s3]
        qi = ri if forward_model else q[i * s4]
        _greeks_into(
            out,
            i,
            S[i * s0],
            K[i * s1],
            T[i * s2],
            ri,
            qi,
            sigma[i * s5],
            call[i * s6],
            forward_model,
        )


def compute_price(
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
    *,
    forward_model: bool,
) -> FloatArray:
    """Broadcast the inputs and run the price kernel (shared by BSM and Black-76)."""
    shape, flat = flatten_broadcast(
        [
            as_float(S),
            as_float(K),
            as_float(T),
            as_float(r),
            as_float(q),
            as_float(sigma),
            as_flag(is_call),
        ]
    )
    out = np.empty(math.prod(shape), dtype=np.float64)
    S_, K_, T_, r_, q_, sigma_, call_ = flat
    run_kernel(
        _price_serial,
        _price_parallel,
        out.size,
        S_,
        K_,
        T_,
        r_,
        q_,
        sigma_,
        call_,
        forward_model,
        out,
    )
    return out.reshape(shape)


def compute_greeks(
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
    *,
    forward_model: bool,
) -> Greeks:
    """Broadcast the inputs and run the greeks kernel (shared by BSM and Black-76)."""
    shape, flat = flatten_broadcast(
        [
            as_float(S),
            as_float(K),
            as_float(T),
            as_float(r),
            as_float(q),
            as_float(sigma),
            as_flag(is_call),
        ]
    )
    out = np.empty((len(GREEK_NAMES), math.prod(shape)), dtype=np.float64)
    S_, K_, T_, r_, q_, sigma_, call_ = flat
    run_kernel(
        _greeks_serial,
        _greeks_parallel,
        out.shape[1],
        S_,
        K_,
        T_,
        r_,
        q_,
        sigma_,
        call_,
        forward_model,
        out,
    )
    return Greeks(
        delta=out[0].reshape(shape),
        gamma=out[1].reshape(shape),
        vega=out[2].reshape(shape),
        theta=out[3].reshape(shape),
        rho=out[4].reshape(shape),
        vanna=out[5].reshape(shape),
        charm=out[6].reshape(shape),
        vomma=out[7].reshape(shape),
    )


def price(
    *,
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
) -> FloatArray:
    """Return the Black-Scholes-Merton price of European options.

    ``call = S·e^(-qT)·Φ(d1) - K·e^(-rT)·Φ(d2)``, ``put = K·e^(-rT)·Φ(-d2) - S·e^(-qT)·Φ(-d1)``
    with ``d1 = [ln(S/K) + (r - q + sigma²/2)T]/(sigma·√T)`` and ``d2 = d1 - sigma·√T``
    (Hull, eq. 15.20-15.21 and 17.4-17.5; Merton 1973).

    Args:
        S: Spot price (currency units).
        K: Strike (currency units).
        T: Time to expiry in years of 365 days.
        r: Continuously compounded risk-free rate per year.
        q: Continuous dividend or borrow yield per year.
        sigma: Volatility per √year as a decimal.
        is_call: True for calls, False for puts (bool or 0/1 integers).

    Returns:
        Prices in the currency of ``S`` and ``K``, NaN where an input is outside the domain.

    Examples:
        Hull, Example 15.6: ``S0 = 42, K = 40, r = 10%, sigma = 20%, T = 0.5`` gives c = 4.76
        and p = 0.81.

        >>> import numpy as np
        >>> np.round(price(S=42, K=40, T=0.5, r=0.10, q=0.0, sigma=0.2, is_call=[True, False]), 4)
        array([4.7594, 0.8086])

        Hull, Example 17.1 (index option with a 3% dividend yield): c = 51.83.

        >>> round(float(price(S=930, K=900, T=2 / 12, r=0.08, q=0.03, sigma=0.2, is_call=True)), 2)
        51.83

        py_vollib's doctest value, and NaN for a non-positive time:

        >>> print(price(S=100, K=[90, 90], T=[0.5, 0.0], r=0.01, q=0, sigma=0.2, is_call=True))
        [12.11158143         nan]
    """
    return compute_price(S, K, T, r, q, sigma, is_call, forward_model=False)


def greeks(
    *,
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
) -> Greeks:
    """Return the analytic Black-Scholes-Merton greeks (units in ``Greeks``).

    With ``D_q = e^(-qT)``, ``D = e^(-rT)`` and ``φ = φ(d1)`` (Hull ch. 19; Haug §2.2)::

        delta = D_q·Φ(d1)  (call),  -D_q·Φ(-d1)  (put)
        gamma = D_q·φ/(S·sigma·√T)
        vega  = S·D_q·φ·√T
        theta = -S·D_q·φ·sigma/(2√T) - r·K·D·Φ(d2) + q·S·D_q·Φ(d1)       (call)
                -S·D_q·φ·sigma/(2√T) + r·K·D·Φ(-d2) - q·S·D_q·Φ(-d1)     (put)
        rho   = K·T·D·Φ(d2)  (call),  -K·T·D·Φ(-d2)  (put)
        vanna = -D_q·φ·d2/sigma
        charm = q·D_q·Φ(d1) - D_q·φ·[2(r - q)T - d2·sigma·√T]/(2T·sigma·√T)     (call)
                -q·D_q·Φ(-d1) - D_q·φ·[2(r - q)T - d2·sigma·√T]/(2T·sigma·√T)   (put)
        vomma = vega·d1·d2/sigma

    Args:
        S: Spot price (currency units).
        K: Strike (currency units).
        T: Time to expiry in years of 365 days.
        r: Continuously compounded risk-free rate per year.
        q: Continuous dividend or borrow yield per year.
        sigma: Volatility per √year as a decimal.
        is_call: True for calls, False for puts.

    Returns:
        A ``Greeks`` mapping of float64 arrays, NaN where an input is outside the domain.

    Examples:
        Hull, Examples 19.1-19.6 (S0 = 49, K = 50, r = 5%, sigma = 20%, 20 weeks): delta 0.522,
        gamma 0.066, vega 12.1 per 1.00 of vol (0.121 per vol point), theta -4.31 per year
        (-0.0118 per calendar day), rho 8.91 per 1.00 of rate.

        >>> g = greeks(S=49, K=50, T=0.3846, r=0.05, q=0, sigma=0.2, is_call=True)
        >>> [round(float(g[k]), 3) for k in ("delta", "gamma", "vega", "theta", "rho")]
        [0.522, 0.066, 12.105, -4.305, 8.907]

        METHODOLOGY §9: at-the-money gamma with ``S = K = 100, sigma = 0.2, T = 30/365, r = q = 0``.

        >>> g = greeks(S=100, K=100, T=30 / 365, r=0, q=0, sigma=0.2, is_call=False)
        >>> round(float(g["gamma"]), 7)
        0.0695484
    """
    return compute_greeks(S, K, T, r, q, sigma, is_call, forward_model=False)
