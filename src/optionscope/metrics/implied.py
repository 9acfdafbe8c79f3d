"""Implied volatility from one chain snapshot: ATM IV per expiry, constant maturity, skew, rank.

IVs are solved here from mid quotes with the project's pricing core, never taken from a vendor
column. Per expiry (one settlement instant; METHODOLOGY §2.3, §2.6, §3):

1. ``T`` = years of 365 days from the valuation instant to the contract's settlement instant
   (`pricing.year_fraction`); expired expiries are dropped. The valuation instant is the
   capture instant, or the session's close when the capture came later (an evening or holiday
   snapshot holds the close's quotes: measuring ``T`` from the capture would shorten it by
   the hours, or days, the market was shut, and inflate the IV by sqrt of that ratio).
2. Mid = (bid + ask)/2 where ``bid > 0`` and ``ask >= bid``; other quotes are not used.
3. Forward ``F`` from put-call parity on the near-the-money mids at the given discount rate
   (`pricing.forward_from_parity`: ``F_i = K_i + (C_i - P_i)/D``, outliers rejected).
4. IV of the out-of-the-money leg at each strike (puts below ``F``, calls at or above),
   Black-76 on ``(mid, F, K, T, r)`` (`pricing.black76_implied_vol_with_reasons`): the OTM leg
   carries no early-exercise premium worth speaking of, so American chains are usable.
5. ATM IV at ``K = F``: linear in log-moneyness ``k = ln(K/F)`` between the nearest strikes
   with an IV on each side of ``F`` (each within ``atm_max_log_moneyness`` of it).
6. 25-delta IVs: forward deltas ``N(d1)`` (calls) and ``N(d1) - 1`` (puts) of the OTM strikes
   at their own IV, and the IV interpolated linearly in delta where the delta crosses
   +0.25 / -0.25 (the first crossing moving away from the money).

Across expiries, `interpolate_constant_maturity` interpolates total variance
``w = sigma^2·T`` linearly in ``T`` (the VIX scheme):
``sigma_c^2 = [w1 (T2 - Tc) + w2 (Tc - T1)]/[(T2 - T1) Tc]``; below the first eligible expiry
the vol is held flat (``sigma_c = sigma_1``); past the last one it is held flat for at most
``max_extrapolation_days``, beyond that there is no value (``tenor_beyond_last_expiry``):
optionscope does not extrapolate the back of the curve.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import numpy.typing as npt
import pandas as pd

from optionscope import pricing
from optionscope.domain.calendar import settlement_instant
from optionscope.domain.instruments import SettlementType

FloatArray = npt.NDArray[np.float64]

DAYS_PER_YEAR = 365.0
"""IV horizons are calendar days over 365 (METHODOLOGY §0.1)."""

CHAIN_COLUMNS: tuple[str, ...] = (
    "contract_symbol",
    "settlement_time",
    "expiry",
    "strike",
    "option_right",
    "bid",
    "ask",
)
"""Columns `compute_expiry_table` reads from a chain snapshot."""

NO_USABLE_QUOTES = "no_usable_quotes"
NO_PARITY_FORWARD = "no_parity_forward"
NO_ATM_BRACKET = "no_atm_bracket"
NO_25_DELTA_BRACKET = "no_25_delta_bracket"
NO_ELIGIBLE_EXPIRY = "no_eligible_expiry"
TENOR_BEYOND_LAST_EXPIRY = "tenor_beyond_last_expiry"

_SQRT2 = math.sqrt(2.0)
CRYPTO_CALENDAR = "24/7"


def valuation_instant(snapshot_time: datetime, session: date, calendar: str) -> datetime:
    """Return the instant a snapshot's quotes describe: capture, or the session's close.

    Args:
        snapshot_time: Capture instant (tz-aware).
        session: Session the quotes belong to (``chain_snapshots.session_date``).
        calendar: The underlying's calendar; 24/7 markets never close, so the capture
            instant is returned.
    """
    if calendar == CRYPTO_CALENDAR:
        return snapshot_time
    close = settlement_instant(session, SettlementType.PM).to_pydatetime()
    return min(snapshot_time, close)


@dataclass(frozen=True, slots=True)
class ChainParameters:
    """How a chain snapshot is turned into implied vols (recorded in every row).

    Attributes:
        discount_rate: Continuously compounded rate per year for ``D = e^(-rT)`` (decimal).
            It only undiscounts mids and weights parity: at 30 days a 1% error moves the ATM
            IV by about 0.1% of itself.
        min_expiry_days: Expiries closer than this (calendar days) are left out of the
            constant-maturity and skew interpolation (their IV is dominated by the next
            hours' events and quote noise).
        atm_max_log_moneyness: How far from ``F`` (in ``|ln K/F|``) the strikes that
            bracket the money may be.
        parity_strikes: Strikes nearest the money used in the parity fit.
        max_extrapolation_days: How far past the last eligible expiry (calendar days) a
            constant-maturity tenor may take that expiry's vol (a chain listed out to 29.8
            days still has an IV30); further out there is no value.
    """

    discount_rate: float = 0.04
    min_expiry_days: float = 2.0
    atm_max_log_moneyness: float = 0.05
    parity_strikes: int = 12
    max_extrapolation_days: float = 3.0


def _normal_cdf(values: FloatArray) -> FloatArray:
    return np.array([0.5 * math.erfc(-float(x) / _SQRT2) for x in values], dtype=np.float64)


def _interpolate_at_delta(deltas: FloatArray, vols: FloatArray, target: float) -> float:
    """Return the vol where |delta| first crosses |target| moving away from the money."""
    magnitude = np.abs(deltas)
    for i in range(len(magnitude) - 1):
        upper, lower = magnitude[i], magnitude[i + 1]
        if upper >= abs(target) >= lower and upper > lower:
            weight = (upper - abs(target)) / (upper - lower)
            return float(vols[i] + weight * (vols[i + 1] - vols[i]))
    return math.nan


def _skew_vols(
    strikes: FloatArray, vols: FloatArray, forward: float, expiry_years: float
) -> tuple[float, float]:
    """Return (25-delta call IV, 25-delta put IV) of one expiry's OTM smile."""
    ok = np.isfinite(vols)
    sqrt_t = math.sqrt(expiry_years)
    d1 = (np.log(forward / strikes) + 0.5 * vols**2 * expiry_years) / (vols * sqrt_t)
    calls = ok & (strikes >= forward)
    puts = ok & (strikes < forward)
    call_order = np.flatnonzero(calls)  # ascending strike: delta falls from ~0.5 to 0
    put_order = np.flatnonzero(puts)[::-1]  # descending strike: |delta| falls likewise
    call_iv = _interpolate_at_delta(_normal_cdf(d1[call_order]), vols[call_order], 0.25)
    put_iv = _interpolate_at_delta(_normal_cdf(d1[put_order]) - 1.0, vols[put_order], -0.25)
    return call_iv, put_iv


def _atm_vol(
    strikes: FloatArray, vols: FloatArray, forward: float, max_log_moneyness: float
) -> float:
    ok = np.isfinite(vols)
    log_moneyness = np.log(strikes / forward)
    below = np.flatnonzero(ok & (log_moneyness < 0) & (log_moneyness >= -max_log_moneyness))
    above = np.flatnonzero(ok & (log_moneyness >= 0) & (log_moneyness <= max_log_moneyness))
    if above.size and log_moneyness[above[0]] == 0.0:
        return float(vols[above[0]])
    if not below.size or not above.size:
        return math.nan
    lower, upper = below[-1], above[0]
    weight = (0.0 - log_moneyness[lower]) / (log_moneyness[upper] - log_moneyness[lower])
    return float(vols[lower] + weight * (vols[upper] - vols[lower]))


def _one_expiry(
    strike: FloatArray,
    is_call_quote: npt.NDArray[np.bool_],
    mid: FloatArray,
    expiry_years: float,
    parameters: ChainParameters,
) -> dict[str, object]:
    """Return forward, ATM and 25-delta IVs of one expiry's quotes (strike-sorted)."""
    strikes = np.unique(strike)
    call_mid = np.full(strikes.size, np.nan)
    put_mid = np.full(strikes.size, np.nan)
    call_mid[np.searchsorted(strikes, strike[is_call_quote])] = mid[is_call_quote]
    put_mid[np.searchsorted(strikes, strike[~is_call_quote])] = mid[~is_call_quote]
    row: dict[str, object] = {
        "forward": math.nan,
        "atm_iv": math.nan,
        "iv_25delta_call": math.nan,
        "iv_25delta_put": math.nan,
        "otm_quotes": 0,
        "reason": None,
    }
    if not np.isfinite(call_mid).any() and not np.isfinite(put_mid).any():
        row["reason"] = NO_USABLE_QUOTES
        return row
    fit = pricing.forward_from_parity(
        K=strikes,
        call_price=call_mid,
        put_price=put_mid,
        T=expiry_years,
        r=parameters.discount_rate,
        n_strikes=parameters.parity_strikes,
    )
    if fit.status is not pricing.ParityStatus.OK:
        row["reason"] = f"{NO_PARITY_FORWARD}: {fit.status}"
        return row
    forward = fit.forward
    is_call = strikes >= forward
    otm_mid = np.where(is_call, call_mid, put_mid)
    quoted = np.isfinite(otm_mid)
    vols = np.full(strikes.size, np.nan)
    if quoted.any():
        solved = pricing.black76_implied_vol_with_reasons(
            price=otm_mid[quoted],
            F=forward,
            K=strikes[quoted],
            T=expiry_years,
            r=parameters.discount_rate,
            is_call=is_call[quoted],
        )
        vols[quoted] = solved.vol
    atm = _atm_vol(strikes, vols, forward, parameters.atm_max_log_moneyness)
    call_iv, put_iv = _skew_vols(strikes, vols, forward, expiry_years)
    row.update(
        forward=forward,
        atm_iv=atm,
        iv_25delta_call=call_iv,
        iv_25delta_put=put_iv,
        otm_quotes=int(np.isfinite(vols).sum()),
        reason=None if math.isfinite(atm) else NO_ATM_BRACKET,
    )
    return row


def compute_expiry_table(
    chain: pd.DataFrame, valuation_time: datetime, parameters: ChainParameters
) -> pd.DataFrame:
    """Return one row per unexpired settlement instant of a chain snapshot.

    Args:
        chain: Rows of one snapshot with `CHAIN_COLUMNS` (option_right ``C``/``P``;
            settlement_time tz-aware).
        valuation_time: Instant the quotes describe (tz-aware): the capture instant, or the
            session's close when the capture came after it (see `valuation_instant`).
        parameters: Discount rate and thresholds.

    Returns:
        Columns ``expiry`` (date), ``settlement_time``, ``expiry_years``, ``eligible``
        (``T >= min_expiry_days``), ``forward``, ``atm_iv``, ``iv_25delta_call``,
        ``iv_25delta_put`` (decimals; NaN where not computable), ``otm_quotes`` (strikes
        with an IV) and ``reason`` (why ``atm_iv`` is NaN, else None), ordered by ``T``.
        Duplicate (settlement, strike, right) quotes keep the first contract symbol.
    """
    columns = [
        "expiry",
        "settlement_time",
        "expiry_years",
        "eligible",
        "forward",
        "atm_iv",
        "iv_25delta_call",
        "iv_25delta_put",
        "otm_quotes",
        "reason",
    ]
    if chain.empty:
        return pd.DataFrame(columns=columns)
    settle_all = pd.to_datetime(chain["settlement_time"], utc=True)
    settle_ns = settle_all.to_numpy(dtype="datetime64[ns]").view(np.int64)
    strikes = chain["strike"].to_numpy(dtype=np.float64)
    is_call = (chain["option_right"] == "C").to_numpy(dtype=bool)
    symbol_rank = np.empty(len(chain), dtype=np.int64)
    symbol_rank[np.argsort(chain["contract_symbol"].to_numpy(dtype=object), kind="stable")] = (
        np.arange(len(chain))
    )
    order = np.lexsort((symbol_rank, is_call, strikes, settle_ns))
    settle_ns, strikes, is_call = settle_ns[order], strikes[order], is_call[order]
    repeat = np.zeros(order.size, dtype=bool)
    repeat[1:] = (
        (settle_ns[1:] == settle_ns[:-1])
        & (strikes[1:] == strikes[:-1])
        & (is_call[1:] == is_call[:-1])
    )
    keep = order[~repeat]
    settle_ns, strikes, is_call = settle_ns[~repeat], strikes[~repeat], is_call[~repeat]
    bid = chain["bid"].to_numpy(dtype=np.float64)[keep]
    ask = chain["ask"].to_numpy(dtype=np.float64)[keep]
    with np.errstate(invalid="ignore"):
        usable = np.isfinite(bid) & np.isfinite(ask) & (bid > 0) & (ask >= bid)
    mids = np.where(usable, (bid + ask) / 2.0, np.nan)
    expiries = chain["expiry"].to_numpy()[keep]
    settlement = settle_all.iloc[keep]
    bounds = np.flatnonzero(np.diff(settle_ns)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [settle_ns.size]])
    instants = pd.to_datetime(settlement.iloc[starts], utc=True)
    years = pricing.year_fraction(
        start=valuation_time, end=instants.to_numpy(dtype="datetime64[ns]")
    )
    rows = []
    for group, (start, end) in enumerate(zip(starts, ends, strict=True)):
        expiry_years = float(years[group])
        if not expiry_years > 0.0:
            continue
        part = slice(int(start), int(end))
        result = _one_expiry(strikes[part], is_call[part], mids[part], expiry_years, parameters)
        rows.append(
            {
                "expiry": expiries[start],
                "settlement_time": instants.iloc[group],
                "expiry_years": expiry_years,
                "eligible": expiry_years * DAYS_PER_YEAR >= parameters.min_expiry_days,
                **result,
            }
        )
    return pd.DataFrame(rows, columns=columns)


@dataclass(frozen=True, slots=True)
class Interpolated:
    """A constant-maturity value and how it was obtained.

    Attributes:
        vol: Vol (decimal), NaN when not computable.
        reason: Why ``vol`` is NaN, else None.
        calendar_arbitrage: The bracketing total variances decrease (``w2 < w1``).
        extrapolated: The tenor lies outside the expiries and the vol was held flat.
    """

    vol: float
    reason: str | None = None
    calendar_arbitrage: bool = False
    extrapolated: bool = False


def interpolate_constant_maturity(
    expiry_years: Sequence[float] | FloatArray,
    vols: Sequence[float] | FloatArray,
    tenor_days: float,
    *,
    max_extrapolation_days: float = 0.0,
) -> Interpolated:
    """Return the constant-maturity vol at ``tenor_days`` from per-expiry vols.

    Linear interpolation of total variance in time between the bracketing expiries; flat
    vol below the first expiry (METHODOLOGY §2.3); beyond the last expiry flat only up to
    ``max_extrapolation_days``, else no value.

    Args:
        expiry_years: Times to expiry (years of 365 days) of eligible expiries.
        vols: Their vols (decimals); NaN entries are ignored.
        tenor_days: Target horizon in calendar days.
        max_extrapolation_days: How far past the last expiry (calendar days) the last vol
            may be held flat.

    Returns:
        The value, or NaN with a reason; `Interpolated.calendar_arbitrage` flags decreasing
        total variance between the brackets (the value still reflects the quotes).

    >>> result = interpolate_constant_maturity([10 / 365, 40 / 365], [0.20, 0.25], 30)
    >>> round(result.vol, 6), result.reason, result.calendar_arbitrage
    (0.235849, None, False)
    """
    times = np.asarray(expiry_years, dtype=np.float64)
    sigma = np.asarray(vols, dtype=np.float64)
    keep = np.isfinite(times) & np.isfinite(sigma) & (times > 0)
    times, sigma = times[keep], sigma[keep]
    if times.size == 0:
        return Interpolated(math.nan, NO_ELIGIBLE_EXPIRY)
    order = np.argsort(times, kind="stable")
    times, sigma = times[order], sigma[order]
    target = tenor_days / DAYS_PER_YEAR
    if target < times[0]:
        return Interpolated(float(sigma[0]), extrapolated=True)
    if target > times[-1]:
        if (target - times[-1]) * DAYS_PER_YEAR <= max_extrapolation_days:
            return Interpolated(float(sigma[-1]), extrapolated=True)
        return Interpolated(math.nan, TENOR_BEYOND_LAST_EXPIRY)
    upper = int(np.searchsorted(times, target, side="left"))
    if times[upper] == target:
        return Interpolated(float(sigma[upper]))
    lower = upper - 1
    t1, t2 = times[lower], times[upper]
    w1, w2 = sigma[lower] ** 2 * t1, sigma[upper] ** 2 * t2
    variance = (w1 * (t2 - target) + w2 * (target - t1)) / ((t2 - t1) * target)
    return Interpolated(float(math.sqrt(variance)), calendar_arbitrage=bool(w2 < w1))


def iv_rank(current: float, history: Sequence[float] | FloatArray) -> float:
    """Return ``(IV - min)/(max - min)`` over `history` (today excluded by the caller).

    Outside [0, 1] when today's IV is a new high or low of the window. NaN when the window
    is flat (``max == min``) or empty.
    """
    values = np.asarray(history, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return math.nan
    low, high = float(values.min()), float(values.max())
    if high == low:
        return math.nan
    return (current - low) / (high - low)


def iv_percentile(current: float, history: Sequence[float] | FloatArray) -> float:
    """Return the share of `history` strictly below `current` (0-1; NaN when empty)."""
    values = np.asarray(history, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return math.nan
    return float(np.count_nonzero(values < current)) / float(values.size)


def expiry_records(table: pd.DataFrame) -> list[dict[str, object]]:
    """Return the per-expiry table as JSON-ready records (dates ISO, NaN as None, rounded)."""
    records: list[dict[str, object]] = []
    for row in table.to_dict("records"):
        expiry = row["expiry"]
        records.append(
            {
                "expiry": expiry.isoformat() if isinstance(expiry, date) else str(expiry),
                "days": _rounded(float(row["expiry_years"]) * DAYS_PER_YEAR, 6),
                "eligible": bool(row["eligible"]),
                "forward": _rounded(float(row["forward"]), 6),
                "atm_iv": _rounded(float(row["atm_iv"]), 8),
                "iv_25delta_call": _rounded(float(row["iv_25delta_call"]), 8),
                "iv_25delta_put": _rounded(float(row["iv_25delta_put"]), 8),
                "otm_quotes": int(row["otm_quotes"]),
                "reason": row["reason"] if isinstance(row["reason"], str) else None,
            }
        )
    return records


def _rounded(value: float, digits: int) -> float | None:
    return round(value, digits) if math.isfinite(value) else None
