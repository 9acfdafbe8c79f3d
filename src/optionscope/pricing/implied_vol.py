"""Implied volatility of European options with Jäckel's "Let's Be Rational" solver.

Each quote is normalised to Black (forward) form (METHODOLOGY §3.1)::

    D = e^(-rT),   F = S·e^((r - q)T),   c = price/D   (undiscounted)

then checked against the no-arbitrage bounds (§3.2) on the forward::

    call: max(F - K, 0) < c < F        put: max(K - F, 0) < c < K

An in-the-money quote is mapped to its out-of-the-money twin through put-call parity,
``c_otm = c - |F - K|`` (§3.5), and a put is mapped to a call with the reciprocal strike
(``b_put(x, s) = b_call(-x, s)``), so the solver only sees out-of-the-money calls. The
normalised price ``β = c_otm/√(F·K)`` is inverted to ``s = sigma·√T`` by
``_lets_be_rational.implied_normalised_volatility_otm`` (Jäckel 2015: rational-cubic initial
guess plus at most two Householder(3) steps), and ``sigma = s/√T``. The parity terms are
summed without cancellation (``_forward.forward_terms``), so deep in-the-money quotes keep
the digits of their time value.

The absolute error of sigma is at the level of the input's own rounding, ``ε·price/vega``:
below 1e-9 wherever vega (per 1.00 of vol) exceeds 1e-4 on prices of order 100 (see
docs/accuracy.md for the measured figures).

Source: P. Jäckel, "Let's Be Rational", Wilmott (January 2015) 40-53.
"""

import math
from enum import IntEnum
from typing import NamedTuple

import numba
import numpy as np
import numpy.typing as npt

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
from optionscope.pricing._lets_be_rational import implied_normalised_volatility_otm

__all__ = ["IVReason", "ImpliedVol", "implied_vol", "implied_vol_with_reasons"]

ReasonArray = npt.NDArray[np.int8]


class IVReason(IntEnum):
    """Why an implied volatility is (or is not) available, stored as int8 per element."""

    OK = 0
    """A volatility was found."""
    BELOW_INTRINSIC = 1
    """The price is at or below the forward intrinsic value: no time value to invert.

    Also used when the time value is too small to resolve in double precision: below the
    rounding of the in-the-money to out-of-the-money parity conversion, or subnormal.
    """
    ABOVE_MAXIMUM = 2
    """The price is at or above its upper bound (``S·e^(-qT)`` for calls, ``K·e^(-rT)`` puts)."""
    NO_CONVERGENCE = 3
    """The solver produced no finite positive volatility (not observed in testing)."""
    NON_POSITIVE_TIME = 4
    """``T <= 0``: the option has expired (floor T with ``expiry.time_to_expiry``)."""
    BAD_INPUT = 5
    """An input is NaN or infinite, ``S`` or ``K`` is not positive, or the price is negative."""


class ImpliedVol(NamedTuple):
    """Implied volatilities with the reason code of each element."""

    vol: FloatArray
    """Volatility per √year as a decimal; NaN unless ``reason == IVReason.OK``."""
    reason: ReasonArray
    """``IVReason`` values as int8, same shape as ``vol``."""


_EPSILON = float(np.finfo(np.float64).eps)
_DBL_MIN = float(np.finfo(np.float64).tiny)
_OK = np.int8(IVReason.OK)
_BELOW_INTRINSIC = np.int8(IVReason.BELOW_INTRINSIC)
_ABOVE_MAXIMUM = np.int8(IVReason.ABOVE_MAXIMUM)
_NO_CONVERGENCE = np.int8(IVReason.NO_CONVERGENCE)
_NON_POSITIVE_TIME = np.int8(IVReason.NON_POSITIVE_TIME)
_BAD_INPUT = np.int8(IVReason.BAD_INPUT)


@scalar_kernel
def _implied_vol_one(
    p: float, Si: float, Ki: float, Ti: float, ri: float, qi: float, call: bool
) -> tuple[float, np.int8]:
    if not (
        math.isfinite(p)
        and math.isfinite(Si)
        and math.isfinite(Ki)
        and math.isfinite(Ti)
        and math.isfinite(ri)
        and math.isfinite(qi)
        and p >= 0.0
        and Si > 0.0
        and Ki > 0.0
    ):
        return math.nan, _BAD_INPUT
    if Ti <= 0.0:
        return math.nan, _NON_POSITIVE_TIME
    x, s_dq, k_dr, gap_hi, gap_lo = forward_terms(Si, Ki, Ti, ri, qi)
    # Out-of-the-money twin by parity, gap = D·(F - K) kept in two parts; a put at x is
    # the call at -x, so the solver sees an out-of-the-money call at -|x|.
    if call:
        upper = s_dq
        otm = (p - gap_hi) - gap_lo if x > 0.0 else p
    else:
        upper = k_dr
        otm = (p + gap_hi) + gap_lo if x < 0.0 else p
    if p >= upper:
        return math.nan, _ABOVE_MAXIMUM
    # No resolvable time value: none at all, less than the rounding of the parity
    # conversion (about eps times the carry terms), or a subnormal normalised price.
    conversion_noise = 4.0 * _EPSILON * (abs(Si - s_dq) + abs(Ki - k_dr)) if otm != p else 0.0
    beta = otm / (math.sqrt(s_dq) * math.sqrt(k_dr))
    if otm <= conversion_noise or not beta >= _DBL_MIN:
        return math.nan, _BELOW_INTRINSIC
    x_otm = -abs(x)
    if beta >= math.exp(0.5 * x_otm):
        return math.nan, _ABOVE_MAXIMUM
    s = implied_normalised_volatility_otm(beta, x_otm)
    sigma = s / math.sqrt(Ti)
    if 0.0 < sigma < math.inf:
        return sigma, _OK
    return math.nan, _NO_CONVERGENCE


@scalar_kernel
def _implied_vol_serial(
    price: FloatArray,
    S: FloatArray,
    K: FloatArray,
    T: FloatArray,
    r: FloatArray,
    q: FloatArray,
    call: BoolArray,
    forward_model: bool,
    vol: FloatArray,
    reason: ReasonArray,
) -> None:
    # Stride 0 for length-1 inputs: scalars broadcast without being copied.
    s0, s1, s2, s3 = int(price.size > 1), int(S.size > 1), int(K.size > 1), int(T.size > 1)
    s4, s5, s6 = int(r.size > 1), int(q.size > 1), int(call.size > 1)
    for i in range(vol.size):
        ri = r[i * s4]
        qi = ri if forward_model else q[i * s5]
        vol[i], reason[i] = _implied_vol_one(
            price[i * s0], S[i * s1], K[i * s2], T[i * s3], ri, qi, call[i * s6]
        )


@parallel_kernel
def _implied_vol_parallel(
    price: FloatArray,
    S: FloatArray,
    K: FloatArray,
    T: FloatArray,
    r: FloatArray,
    q: FloatArray,
    call: BoolArray,
    forward_model: bool,
    vol: FloatArray,
    reason: ReasonArray,
) -> None:
    # Stride 0 for length-1 inputs: scalars broadcast without being copied.
    s0, s1, s2, s3 = int(price.size > 1), int(S.size > 1), int(K.size > 1), int(T.size > 1)
    s4, s5, s6 = int(r.size > 1), int(q.size > 1), int(call.size > 1)
    for i in numba.prange(vol.size):
        ri = r[i * s4]
        qi = ri if forward_model else q[i * s5]
        vol[i], reason[i] = _implied_vol_one(
            price[i * s0], S[i * s1], K[i * s2], T[i * s3], ri, qi, call[i * s6]
        )


def compute_implied_vol(
    price: ArrayLike,
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    is_call: ArrayLike,
    *,
    forward_model: bool,
) -> ImpliedVol:
    """Broadcast the inputs and run the solver kernel (shared by BSM and Black-76)."""
    shape, flat = flatten_broadcast(
        [
            as_float(price),
            as_float(S),
            as_float(K),
            as_float(T),
            as_float(r),
            as_float(q),
            as_flag(is_call),
        ]
    )
    size = math.prod(shape)
    vol = np.empty(size, dtype=np.float64)
    reason = np.empty(size, dtype=np.int8)
    price_, S_, K_, T_, r_, q_, call_ = flat
    run_kernel(
        _implied_vol_serial, _implied_vol_parallel, size,
        price_, S_, K_, T_, r_, q_, call_, forward_model, vol, reason,
    )  # fmt: skip
    return ImpliedVol(vol.reshape(shape), reason.reshape(shape))


def implied_vol_with_reasons(
    *,
    price: ArrayLike,
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    is_call: ArrayLike,
) -> ImpliedVol:
    """Return Black-Scholes-Merton implied volatilities and a reason code per element.

    Args:
        price: Option price (currency units, discounted, as quoted).
        S: Spot price.
        K: Strike.
        T: Time to expiry in years of 365 days.
        r: Continuously compounded risk-free rate per year.
        q: Continuous dividend or borrow yield per year.
        is_call: True for calls, False for puts.

    Returns:
        ``ImpliedVol(vol, reason)``: vol is NaN wherever ``reason != IVReason.OK``. No
        exception or warning is raised for bad elements.

    Examples:
        >>> res = implied_vol_with_reasons(
        ...     price=[1.875, 0.5, 30.0, 1.0, np.nan],
        ...     S=21, K=20, T=[0.25, 0.25, 0.25, 0.0, 0.25], r=0.1, q=0, is_call=True)
        >>> [IVReason(code).name for code in res.reason]
        ['OK', 'BELOW_INTRINSIC', 'ABOVE_MAXIMUM', 'NON_POSITIVE_TIME', 'BAD_INPUT']
        >>> print(np.round(res.vol, 4))
        [0.2345    nan    nan    nan    nan]
    """
    return compute_implied_vol(price, S, K, T, r, q, is_call, forward_model=False)


def implied_vol(
    *,
    price: ArrayLike,
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    is_call: ArrayLike,
) -> FloatArray:
    """Return Black-Scholes-Merton implied volatilities, NaN where no volatility exists.

    Use ``implied_vol_with_reasons`` to learn why an element is NaN.

    Args:
        price: Option price (currency units, discounted, as quoted).
        S: Spot price.
        K: Strike.
        T: Time to expiry in years of 365 days.
        r: Continuously compounded risk-free rate per year.
        q: Continuous dividend or borrow yield per year.
        is_call: True for calls, False for puts.

    Returns:
        Volatility per √year as a decimal.

    Examples:
        Hull, §15.11: a call worth 1.875 with ``S0 = 21, K = 20, r = 10%, T = 0.25`` has an
        implied volatility of about 23.5%.

        >>> round(float(implied_vol(price=1.875, S=21, K=20, T=0.25, r=0.1, q=0, is_call=True)), 4)
        0.2345

        Round trip through ``price`` for a deep in-the-money put (solved on the call leg):

        >>> from optionscope.pricing.black_scholes import price as bsm_price
        >>> p = bsm_price(S=100, K=250, T=2.0, r=0.03, q=0.01, sigma=0.35, is_call=False)
        >>> iv = implied_vol(price=p, S=100, K=250, T=2.0, r=0.03, q=0.01, is_call=False)
        >>> abs(float(iv) - 0.35) < 1e-12
        True
    """
    return compute_implied_vol(price, S, K, T, r, q, is_call, forward_model=False).vol
