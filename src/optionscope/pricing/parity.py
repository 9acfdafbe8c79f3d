"""Forward, discount and implied dividend (or borrow) yield from put-call parity.

European put-call parity on one expiry (Hull ch. 11; METHODOLOGY §3.8)::

    C(K) - P(K) = D·F - D·K,   D = e^(-rT)

is a straight line in the strike with slope ``-D`` and intercept ``D·F``. From mid quotes of
the strikes nearest the money, ``forward_from_parity``:

1. takes the strike ``K*`` where ``|C - P|`` is smallest (the VIX white paper's choice) and
   the ``n_strikes`` valid strikes nearest to it;
2. with a known rate, computes one forward per strike, ``F_i = K_i + (C_i - P_i)/D``;
   without one, fits the line by Theil-Sen (median of pairwise slopes, then median
   intercept; P. K. Sen, JASA 63 (1968) 1379-1389), which tolerates up to ~29% bad quotes;
3. rejects strikes whose residual exceeds ``reject_at`` robust standard deviations
   (1.4826·MAD) and refits on the rest by least squares (mean of ``F_i`` with a known rate);
4. reports ``q = r - ln(F/S)/T`` when the spot is given: the yield that reconciles spot and
   forward, which absorbs dividends, borrow cost and (for American options) early exercise.

For American single-name options parity holds only as an inequality (METHODOLOGY §7.1), so
the implied yield there is a fitted quantity, not a dividend forecast.
"""

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from optionscope.pricing._arrays import ArrayLike, FloatArray, as_float

__all__ = ["ParityFit", "ParityStatus", "forward_from_parity"]

_MAD_TO_SIGMA = 1.4826  # standard deviation per median absolute deviation, normal errors


class ParityStatus(StrEnum):
    """Outcome of a parity fit; anything but OK comes with NaN estimates."""

    OK = "ok"
    TOO_FEW_STRIKES = "too_few_strikes"
    """Fewer than 2 valid strikes (3 when the discount factor is fitted)."""
    NON_POSITIVE_TIME = "non_positive_time"
    IMPLAUSIBLE_DISCOUNT = "implausible_discount"
    """The fitted slope gave a discount factor outside (0, 2)."""


@dataclass(frozen=True)
class ParityFit:
    """Forward and carry implied by one expiry's call and put quotes.

    Attributes:
        forward: Forward price ``F`` for the expiry (currency units).
        discount: Discount factor ``D = e^(-rT)`` (given or fitted).
        rate: Continuously compounded rate per year, ``-ln(D)/T``.
        dividend_yield: ``q = r - ln(F/S)/T`` per year; NaN when no spot was given.
        atm_strike: ``K*``, the strike with the smallest ``|C - P|``.
        n_used: Strikes kept in the final fit.
        n_rejected: Strikes rejected as outliers among the ``n_strikes`` nearest ``K*``.
        residual_scale: Robust standard deviation of the parity residuals (price units).
        status: ``ParityStatus.OK`` or why the estimates are NaN.
    """

    forward: float
    discount: float
    rate: float
    dividend_yield: float
    atm_strike: float
    n_used: int
    n_rejected: int
    residual_scale: float
    status: ParityStatus


def _failed(status: ParityStatus, atm_strike: float = math.nan) -> ParityFit:
    nan = math.nan
    return ParityFit(nan, nan, nan, nan, atm_strike, 0, 0, nan, status)


def _robust_scale(residuals: FloatArray) -> float:
    return float(_MAD_TO_SIGMA * np.median(np.abs(residuals - np.median(residuals))))


def _theil_sen(K: FloatArray, y: FloatArray) -> tuple[float, float]:
    i, j = np.triu_indices(K.size, k=1)
    dk = K[j] - K[i]
    keep = dk != 0.0
    slope = float(np.median((y[j] - y[i])[keep] / dk[keep]))
    return slope, float(np.median(y - slope * K))


def forward_from_parity(
    *,
    K: ArrayLike,
    call_price: ArrayLike,
    put_price: ArrayLike,
    T: float,
    r: float | None = None,
    S: float | None = None,
    n_strikes: int = 12,
    reject_at: float = 4.0,
) -> ParityFit:
    """Return the forward (and discount, implied yield) of one expiry from parity.

    Args:
        K: Strikes of one expiry (currency units); NaN or non-positive entries are skipped.
        call_price: Call mid quotes per strike; non-positive or NaN entries are skipped.
        put_price: Put mid quotes per strike, aligned with ``call_price``.
        T: Time to expiry in years of 365 days.
        r: Known continuously compounded rate; ``None`` fits the discount factor too.
        S: Spot price, for the implied dividend/borrow yield; ``None`` leaves it NaN.
        n_strikes: How many valid strikes nearest ``K*`` enter the fit.
        reject_at: Residual cut-off in robust standard deviations.

    Returns:
        A ``ParityFit``; its ``status`` says why estimates are NaN, no exception is raised for
        unusable quotes.

    Examples:
        Quotes priced by Black-Scholes-Merton with ``S = 100, r = 5%, q = 2%, T = 0.5``, one
        of them corrupted; the forward is ``100·e^(0.015) = 101.5113``:

        >>> from optionscope.pricing.black_scholes import price
        >>> K = np.arange(90.0, 112.0, 2.0)
        >>> C = price(S=100, K=K, T=0.5, r=0.05, q=0.02, sigma=0.25, is_call=True)
        >>> P = price(S=100, K=K, T=0.5, r=0.05, q=0.02, sigma=0.25, is_call=False)
        >>> C[3] += 2.0
        >>> fit = forward_from_parity(K=K, call_price=C, put_price=P, T=0.5, S=100)
        >>> round(fit.forward, 4), round(fit.rate, 6), round(fit.dividend_yield, 6), fit.n_rejected
        (101.5113, 0.05, 0.02, 1)
    """
    strikes = as_float(K).ravel()
    calls = as_float(call_price).ravel()
    puts = as_float(put_price).ravel()
    if not (T > 0.0 and math.isfinite(T)):
        return _failed(ParityStatus.NON_POSITIVE_TIME)
    with np.errstate(invalid="ignore"):
        valid = (strikes > 0.0) & (calls > 0.0) & (puts > 0.0) & np.isfinite(strikes + calls + puts)
    strikes, y = strikes[valid], calls[valid] - puts[valid]
    fit_discount = r is None
    if strikes.size < (3 if fit_discount else 2):
        return _failed(ParityStatus.TOO_FEW_STRIKES)
    atm_strike = float(strikes[np.argmin(np.abs(y))])
    near = np.argsort(np.abs(strikes - atm_strike), kind="stable")[:n_strikes]
    strikes, y = strikes[near], y[near]
    if fit_discount and np.unique(strikes).size < 2:
        return _failed(ParityStatus.TOO_FEW_STRIKES, atm_strike)

    if r is None:
        slope, intercept = _theil_sen(strikes, y)
        residuals = y - (intercept + slope * strikes)
    else:
        discount = math.exp(-r * T)
        forwards = strikes + y / discount
        residuals = (forwards - np.median(forwards)) * discount
    scale = _robust_scale(residuals)
    tolerance = reject_at * max(scale, 1e-12 * float(np.max(np.abs(strikes))))
    inliers = np.abs(residuals) <= tolerance

    if r is None:
        if np.unique(strikes[inliers]).size < 2:
            return _failed(ParityStatus.TOO_FEW_STRIKES, atm_strike)
        k_in, y_in = strikes[inliers], y[inliers]
        k_centered = k_in - k_in.mean()
        slope = float(np.dot(k_centered, y_in - y_in.mean()) / np.dot(k_centered, k_centered))
        intercept = float(y_in.mean()) - slope * float(k_in.mean())
        discount = -slope
        if not 0.0 < discount < 2.0:
            return _failed(ParityStatus.IMPLAUSIBLE_DISCOUNT, atm_strike)
        forward = intercept / discount
        rate = -math.log(discount) / T
    else:
        forward = float(np.mean(strikes[inliers] + y[inliers] / discount))
        rate = r
    dividend_yield = (
        rate - math.log(forward / S) / T
        if S is not None and S > 0.0 and forward > 0.0
        else math.nan
    )
    n_used = int(np.count_nonzero(inliers))
    return ParityFit(
        forward=forward,
        discount=discount,
        rate=rate,
        dividend_yield=dividend_yield,
        atm_strike=atm_strike,
        n_used=n_used,
        n_rejected=strikes.size - n_used,
        residual_scale=scale,
        status=ParityStatus.OK,
    )
