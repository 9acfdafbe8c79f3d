"""Scalar helpers that normalise (S, K, T, r, q) to forward form without losing digits.

Put-call parity maps an in-the-money quote to its out-of-the-money twin by subtracting the
discounted intrinsic value ``D·(F - K) = S·e^(-qT) - K·e^(-rT)``. Written that way it loses
about ``ε·(S + K)`` to rounding, which for deep in-the-money options dominates the error of
the implied volatility (``δsigma ≈ δprice/vega``). Here it is evaluated as

    D·(F - K) = (S - K) + (S·expm1(-qT) - K·expm1(-rT))

with error-free sums (Knuth's TwoSum), so the only rounding left is ``ε`` times the small
carry term. Source: D. E. Knuth, *The Art of Computer Programming* vol. 2, §4.2.2 (TwoSum);
T. Ogita, S. M. Rump, S. Oishi, "Accurate sum and dot product", SIAM J. Sci. Comput. 26 (2005).
"""

import math

from optionscope.pricing._jit import scalar_kernel


@scalar_kernel
def two_sum(a: float, b: float) -> tuple[float, float]:
    """Return (s, e) with s = fl(a + b) and s + e = a + b exactly."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


@scalar_kernel
def log_moneyness(S: float, K: float, T: float, r: float, q: float) -> float:
    """Return ``x = ln(F/K) = ln(S/K) + (r - q)T`` without the rounding of ``S/K`` near 1.

    Near the money ``S - K`` is exact (Sterbenz) and ``log1p((S - K)/K)`` keeps the relative
    accuracy of x, whose absolute error would otherwise be ``ε`` (the rounding of ``S/K``) and
    reach the price through ``∂ln(price)/∂x``, large for short-dated quotes.
    """
    ratio = S / K
    if 0.5 < ratio < 2.0:
        return math.log1p((S - K) / K) + (r - q) * T
    return math.log(ratio) + (r - q) * T


@scalar_kernel
def forward_terms(
    S: float, K: float, T: float, r: float, q: float
) -> tuple[float, float, float, float, float]:
    """Return ``(x, S·e^(-qT), K·e^(-rT), gap_hi, gap_lo)``.

    ``x = ln(F/K) = ln(S/K) + (r - q)T`` is the log-moneyness and ``gap_hi + gap_lo`` equals
    ``D·(F - K) = S·e^(-qT) - K·e^(-rT)`` to within ``ε·|S·expm1(-qT) - K·expm1(-rT)|``.
    """
    em1_q = math.expm1(-q * T)
    em1_r = math.expm1(-r * T)
    hi, lo = two_sum(S, -K)
    hi, lo2 = two_sum(hi, S * em1_q - K * em1_r)
    return log_moneyness(S, K, T, r, q), S + S * em1_q, K + K * em1_r, hi, lo + lo2
