"""Black-76 prices, greeks and implied volatility on a forward, and Deribit coin quotes.

Symbols: ``F`` forward (or futures) price for the option's expiry, ``K`` strike, ``T`` years
of 365 days, ``r`` continuously compounded discount rate, ``sigma`` volatility per √year,
``is_call`` True for calls. With ``D = e^(-rT)`` (Black 1976; Hull ch. 18)::

    d1 = [ln(F/K) + sigma²T/2]/(sigma·√T),   d2 = d1 - sigma·√T
    call = D·[F·Φ(d1) - K·Φ(d2)],   put = D·[K·Φ(-d2) - F·Φ(-d1)]

This is Black-Scholes-Merton with ``S = F`` and ``q = r``; the functions share its kernels.
Greeks are taken with the forward held fixed: ``delta = ∂V/∂F``, ``gamma = ∂²V/∂F²``,
``theta = -∂V/∂T``, ``rho = ∂V/∂r = -T·V``; units as in ``black_scholes.Greeks``.

Deribit inverse (coin-settled) options quote ``price_coin`` in BTC or ETH per 1 coin of
underlying. Deribit's displayed IV uses the expiry's forward (``underlying_price``) as the
underlying and r = 0 (METHODOLOGY §3.7, Deribit "Inverse Options" support note), so
``price_usd = price_coin·F`` and ``price_coin = Φ(d1) - (K/F)·Φ(d2)`` for a call. Multiplying
by the index instead biases the IV whenever futures trade at a basis.
"""

import numpy as np

from optionscope.pricing._arrays import ArrayLike, FloatArray, as_float
from optionscope.pricing.black_scholes import Greeks, compute_greeks, compute_price
from optionscope.pricing.implied_vol import ImpliedVol, compute_implied_vol

__all__ = [
    "coin_price",
    "greeks",
    "implied_vol",
    "implied_vol_from_coin_price",
    "implied_vol_with_reasons",
    "price",
]


def price(
    *, F: ArrayLike, K: ArrayLike, T: ArrayLike, r: ArrayLike, sigma: ArrayLike, is_call: ArrayLike
) -> FloatArray:
    """Return the Black-76 price ``D·[F·Φ(d1) - K·Φ(d2)]`` (call) of European options.

    Args:
        F: Forward or futures price for the expiry (currency units).
        K: Strike (currency units).
        T: Time to expiry in years of 365 days.
        r: Continuously compounded discount rate per year.
        sigma: Volatility per √year as a decimal.
        is_call: True for calls, False for puts.

    Returns:
        Discounted prices, NaN where an input is outside the domain.

    Examples:
        Hull, Example 18.6: a put futures option with ``F0 = K = 20, r = 9%, T = 4 months,
        sigma = 25%`` is worth 1.12.

        >>> round(float(price(F=20, K=20, T=4 / 12, r=0.09, sigma=0.25, is_call=False)), 2)
        1.12
    """
    return compute_price(F, K, T, r, r, sigma, is_call, forward_model=True)


def greeks(
    *, F: ArrayLike, K: ArrayLike, T: ArrayLike, r: ArrayLike, sigma: ArrayLike, is_call: ArrayLike
) -> Greeks:
    """Return the analytic Black-76 greeks with the forward held fixed.

    ``delta = D·Φ(d1)`` (call) or ``-D·Φ(-d1)`` (put), ``gamma = D·φ(d1)/(F·sigma·√T)``,
    ``vega = D·F·φ(d1)·√T``, ``rho = -T·V``; theta, vanna, charm and vomma are the
    Black-Scholes-Merton formulas with ``S = F`` and ``q = r``.

    Args:
        F: Forward or futures price for the expiry.
        K: Strike.
        T: Time to expiry in years of 365 days.
        r: Continuously compounded discount rate per year.
        sigma: Volatility per √year as a decimal.
        is_call: True for calls, False for puts.

    Returns:
        A ``Greeks`` mapping (units in ``black_scholes.Greeks``; delta and gamma per unit of F).

    Examples:
        >>> g = greeks(F=20, K=20, T=4 / 12, r=0.09, sigma=0.25, is_call=False)
        >>> round(float(g["delta"]), 4), round(float(g["rho"]), 4)
        (-0.4573, -0.3722)
    """
    return compute_greeks(F, K, T, r, r, sigma, is_call, forward_model=True)


def implied_vol_with_reasons(
    *, price: ArrayLike, F: ArrayLike, K: ArrayLike, T: ArrayLike, r: ArrayLike, is_call: ArrayLike
) -> ImpliedVol:
    """Return Black-76 implied volatilities and an ``IVReason`` code per element.

    Bounds: ``D·max(F - K, 0) < call < D·F`` and ``D·max(K - F, 0) < put < D·K``.

    Args:
        price: Discounted option price (currency units).
        F: Forward or futures price for the expiry.
        K: Strike.
        T: Time to expiry in years of 365 days.
        r: Continuously compounded discount rate per year.
        is_call: True for calls, False for puts.

    Returns:
        ``ImpliedVol(vol, reason)`` with NaN vols wherever the reason is not OK.
    """
    return compute_implied_vol(price, F, K, T, r, r, is_call, forward_model=True)


def implied_vol(
    *, price: ArrayLike, F: ArrayLike, K: ArrayLike, T: ArrayLike, r: ArrayLike, is_call: ArrayLike
) -> FloatArray:
    """Return Black-76 implied volatilities, NaN where no volatility exists.

    Args:
        price: Discounted option price (currency units).
        F: Forward or futures price for the expiry.
        K: Strike.
        T: Time to expiry in years of 365 days.
        r: Continuously compounded discount rate per year.
        is_call: True for calls, False for puts.

    Returns:
        Volatility per √year as a decimal.

    Examples:
        >>> round(float(implied_vol(price=1.1166, F=20, K=20, T=4 / 12, r=0.09, is_call=False)), 4)
        0.25
    """
    return implied_vol_with_reasons(price=price, F=F, K=K, T=T, r=r, is_call=is_call).vol


def coin_price(
    *, F: ArrayLike, K: ArrayLike, T: ArrayLike, sigma: ArrayLike, is_call: ArrayLike
) -> FloatArray:
    """Return the coin-denominated price of a Deribit inverse option (r = 0).

    ``price_coin = Black76(F, K, T, sigma, r = 0)/F``, i.e. ``Φ(d1) - (K/F)·Φ(d2)`` for a call.

    Args:
        F: Forward of the expiry in USD (Deribit ``underlying_price``).
        K: Strike in USD.
        T: Time to expiry in years of 365 days (Deribit settles at 08:00 UTC).
        sigma: Volatility per √year as a decimal (Deribit ``mark_iv`` / 100).
        is_call: True for calls, False for puts.

    Returns:
        Price in coins per coin of underlying.

    Examples:
        METHODOLOGY §9: ``F = 60000, K = 65000, sigma = 0.6, T = 45/365`` gives 3115.5436 USD,
        i.e. 0.0519257 BTC.

        >>> round(float(coin_price(F=60000, K=65000, T=45 / 365, sigma=0.6, is_call=True)), 7)
        0.0519257
        >>> round(float(price(F=60000, K=65000, T=45 / 365, r=0, sigma=0.6, is_call=True)), 4)
        3115.5436
    """
    forward = as_float(F)
    usd = compute_price(forward, K, T, 0.0, 0.0, sigma, is_call, forward_model=True)
    with np.errstate(all="ignore"):  # F <= 0 or NaN already gave NaN prices
        return usd / forward


def implied_vol_from_coin_price(
    *, price_coin: ArrayLike, F: ArrayLike, K: ArrayLike, T: ArrayLike, is_call: ArrayLike
) -> ImpliedVol:
    """Return the implied volatility of Deribit coin-denominated quotes, with reasons.

    The quote is converted with the expiry's forward, ``price_usd = price_coin·F``, and
    inverted with Black-76 at r = 0, which is how Deribit's ``mark_iv`` is defined.

    Args:
        price_coin: Option price in coins (e.g. ``mark_price`` in BTC).
        F: Forward of the expiry in USD (``underlying_price``), not the index.
        K: Strike in USD.
        T: Time to expiry in years of 365 days.
        is_call: True for calls, False for puts.

    Returns:
        ``ImpliedVol(vol, reason)``; multiply vol by 100 to compare with ``mark_iv``.

    Examples:
        >>> res = implied_vol_from_coin_price(
        ...     price_coin=0.0519257, F=60000, K=65000, T=45 / 365, is_call=True)
        >>> round(float(res.vol), 5), int(res.reason)
        (0.6, 0)
    """
    forward = as_float(F)
    with np.errstate(all="ignore"):  # inf·0 becomes NaN, which the solver flags as bad input
        price_usd = as_float(price_coin) * forward
    return compute_implied_vol(price_usd, forward, K, T, 0.0, 0.0, is_call, forward_model=True)
