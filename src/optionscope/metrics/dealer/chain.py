"""Contract frame for the dealer metrics: time, forward, our own IV and greeks per contract.

From a chain snapshot (``option_chain_snapshots`` rows joined with ``option_contracts``,
docs/data-model.md) at the valuation instant ``as_of`` and a spot ``S``:

1. ``T``: years of 365 days from ``as_of`` to each contract's settlement instant
   (``optionscope.domain.calendar.settlement_instant``: AM-settled index monthlies 09:30 ET,
   PM otherwise), floored at ``t_min_years`` so 0DTE gamma stays finite (METHODOLOGY §0.1);
   ``dte_days`` is the calendar-day count from the New York session date of ``as_of``.
2. Mid quote ``(bid + ask)/2`` where ``0 < bid <= ask``; otherwise no mid (§3.5). Coin-quoted
   options (Deribit) are first converted with the row's forward, ``c_usd = c_coin·F`` (§3.7).
3. Per expiry series (root, settlement instant): the forward ``F`` from put-call parity on
   mid quotes (``pricing.forward_from_parity``, §3.8) with one rate ``r`` for the chain:
   given in the context, or the median parity-fitted rate over European expiries of 30 days
   to a year (else of 7 days or more, else 0), clipped to [-5%, 25%] and flagged if it had to
   be. American parity is only an inequality (§7.1), so American chains need the rate in the
   context (e.g. the 3-month T-bill). The implied carry ``q = r - ln(F/S)/T`` makes
   ``S·e^((r - q)T) = F``: gamma then depends on the forward, not on how stale ``S`` is.
4. IV: Black-76 on ``(mid, F, K, T, r)`` (``pricing.black76_implied_vol_with_reasons``),
   solved on the out-of-the-money leg of each strike and given to its in-the-money twin
   (§3.5; the ITM leg carries the early-exercise premium of American options and little time
   value); the ITM leg's own IV only where the OTM leg has none. Fallbacks, each recorded
   per contract in ``gamma_source``: the vendor's IV, then the vendor's gamma (that contract
   then has no IV, so it enters spot aggregates but not the re-priced profile).
5. Greeks at ``S`` with ``(K, T, r, q, sigma)`` from ``pricing.greeks`` (Black-Scholes-Merton
   with a continuous yield): delta, gamma, vanna, charm.

``gamma_source`` values: ``own`` (our IV, OTM leg), ``own_itm_leg``, ``vendor_iv``,
``vendor_gamma``, ``none``. Only series that can pass the series-level filters (expired,
``max_dte_days``) are priced; the others say ``not_priced``.
"""

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from optionscope.domain.calendar import NEW_YORK, settlement_instants
from optionscope.domain.instruments import EQUITY_OPTION_MULTIPLIER
from optionscope.pricing import (
    SECONDS_PER_YEAR,
    T_MIN_YEARS,
    IVReason,
    ParityStatus,
    black76_implied_vol_with_reasons,
    forward_from_parity,
    greeks,
)

__all__ = [
    "GAMMA_SOURCES",
    "REQUIRED_COLUMNS",
    "ContractSet",
    "build_contracts",
    "merge_chain_tables",
]

REQUIRED_COLUMNS = ("expiry", "strike", "option_right", "bid", "ask", "open_interest")
"""Columns a chain frame must have; the others are optional (see ``build_contracts``)."""

GAMMA_SOURCES = ("own", "own_itm_leg", "vendor_iv", "vendor_gamma", "none")
"""How a priced contract got its gamma (module docstring); unpriced ones say ``not_priced``."""

_SOURCE_LABELS = (*GAMMA_SOURCES, "not_priced")
_OWN, _OWN_ITM, _VENDOR_IV, _VENDOR_GAMMA, _NONE, _NOT_PRICED = range(len(_SOURCE_LABELS))

RATE_FIT_MIN_YEARS = 30 / 365
"""Parity-fitted rates of expiries at least this far out enter the chain's median rate."""

RATE_FIT_MAX_YEARS = 1.0
"""Expiries beyond a year do not enter the first rate fit (the short rate is the one that
matters); they do enter the fallback when nothing shorter has a fit."""

RATE_FALLBACK_MIN_YEARS = 7 / 365
"""Without such expiries, those at least this far out do; nearer ones cannot resolve a rate
(over hours, a cent of quote noise is a rate error of several percent)."""

RATE_BOUNDS = (-0.05, 0.25)
"""A fitted rate outside these bounds (per year) is clipped and flagged."""

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class ContractSet:
    """Contracts with time, forward, IV and greeks, plus one row per expiry series.

    Attributes:
        frame: One row per contract (columns in ``build_contracts``).
        expiries: One row per expiry series: ``series``, ``root``, ``expiry``,
            ``settlement_time``, ``years_to_expiry``, ``dte_days``, ``forward``,
            ``forward_source``, ``parity_status``, ``dividend_yield``, ``atm_iv``.
        rate: Rate used for every expiry (per year, continuously compounded).
        rate_source: ``context``, ``parity_median_30d`` (30 days to a year),
            ``parity_median_7d`` (7 days or more) or ``default_zero`` (no European expiry of
            7 days or more with a parity fit).
        atm_iv: ATM implied vol at the requested tenor (NaN when no expiry has one).
        diagnostics: Counts and flags (malformed values, IV reasons, sources).
    """

    frame: pd.DataFrame
    expiries: pd.DataFrame
    rate: float
    rate_source: str
    atm_iv: float
    diagnostics: dict[str, Any] = field(default_factory=dict)


def merge_chain_tables(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Return ``option_chain_snapshots`` rows joined with their ``option_contracts`` terms.

    Args:
        tables: Canonical frames by table name (e.g. ``read_file(path).tables``), holding
            ``option_chain_snapshots`` and ``option_contracts``.
    """
    quotes = tables["option_chain_snapshots"]
    terms = tables["option_contracts"]
    extra = [c for c in terms.columns if c == "contract_symbol" or c not in quotes.columns]
    return quotes.merge(terms.loc[:, extra], on="contract_symbol", how="left")


def _numeric(frame: pd.DataFrame, name: str, counts: dict[str, int]) -> FloatArray:
    if name not in frame.columns:
        return np.full(len(frame), np.nan)
    raw = frame[name]
    if raw.dtype == np.float64:
        return np.asarray(raw.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    values = pd.to_numeric(raw, errors="coerce").astype("float64")
    bad = int((values.isna() & raw.notna()).sum())
    if bad:
        counts[name] = bad
    return np.asarray(values.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)


def _settlement_times(frame: pd.DataFrame, expiry: pd.Series) -> pd.Series:
    if "settlement_time" in frame.columns:
        return pd.to_datetime(frame["settlement_time"], utc=True)
    roots = frame["root"] if "root" in frame.columns else frame["underlying"]
    return settlement_instants(roots.astype(str), expiry.dt.date)["settlement_time"]


def _utc(instant: dt.datetime) -> pd.Timestamp:
    stamp = pd.Timestamp(instant)
    if stamp.tzinfo is None:
        raise ValueError(f"as_of {instant!r} is naive: pass a timezone-aware instant")
    return stamp.tz_convert("UTC")


def _labels(chain: pd.DataFrame, names: tuple[str, ...]) -> "pd.Categorical[str]":
    for name in names:
        if name in chain.columns:
            return pd.Categorical(chain[name].astype(str))
    return pd.Categorical([""] * len(chain))


def _usd_quotes(
    chain: pd.DataFrame, malformed: dict[str, int]
) -> tuple[FloatArray, FloatArray, int]:
    """Return bid and ask in the underlying's currency and how many were converted.

    Coin-quoted options (Deribit: ``price_currency`` BTC or ETH) are converted with the row's
    ``underlying_price``, the expiry's forward: ``c_usd = c_coin·F`` (METHODOLOGY §3.7);
    without one the quote is dropped (NaN), so the vendor's IV stands in, recorded.
    """
    bid = _numeric(chain, "bid", malformed)
    ask = _numeric(chain, "ask", malformed)
    if "price_currency" not in chain.columns:
        return bid, ask, 0
    coin = chain["price_currency"].astype(str).str.upper().to_numpy() != "USD"
    if not coin.any():
        return bid, ask, 0
    forward = _numeric(chain, "underlying_price", malformed)
    factor = np.where(coin, forward, 1.0)  # NaN where a coin quote has no forward
    return bid * factor, ask * factor, int(np.count_nonzero(coin & np.isfinite(forward)))


def _normalise(chain: pd.DataFrame, as_of: pd.Timestamp, t_min_years: float) -> pd.DataFrame:
    missing = [c for c in REQUIRED_COLUMNS if c not in chain.columns]
    if missing:
        raise ValueError(f"chain frame lacks columns {missing}")
    malformed: dict[str, int] = {}
    expiry = pd.to_datetime(chain["expiry"])
    settle = _settlement_times(chain, expiry)
    seconds = (settle - as_of).dt.total_seconds().to_numpy(dtype=np.float64)
    years_signed = seconds / SECONDS_PER_YEAR
    session = pd.Timestamp(as_of.tz_convert(NEW_YORK).date())
    right = chain["option_right"].astype(str).str.strip().str.upper().str[:1].to_numpy()
    multiplier = _numeric(chain, "multiplier", malformed)
    strike = _numeric(chain, "strike", malformed)
    bid, ask, converted = _usd_quotes(chain, malformed)
    frame = pd.DataFrame(
        {
            "contract_symbol": (
                chain["contract_symbol"].array
                if "contract_symbol" in chain.columns
                else np.full(len(chain), "", dtype=object)
            ),
            "root": _labels(chain, ("root", "underlying")),
            "expiry": expiry.to_numpy(dtype="datetime64[ns]"),
            "settlement_time": settle.array,
            "strike": strike,
            "is_call": right == "C",
            "multiplier": np.where(np.isfinite(multiplier), multiplier, EQUITY_OPTION_MULTIPLIER),
            "bid": bid,
            "ask": ask,
            "volume": _numeric(chain, "volume", malformed),
            "open_interest": _numeric(chain, "open_interest", malformed),
            "vendor_iv": _numeric(chain, "vendor_iv", malformed),
            "vendor_gamma": _numeric(chain, "vendor_gamma", malformed),
            "years_to_settlement": years_signed,
            "years_to_expiry": np.maximum(years_signed, t_min_years),
            "dte_days": (expiry - session).dt.days.to_numpy(dtype=np.int64),
            "european": (
                chain["exercise_style"].astype(str).str.lower().to_numpy() != "american"
                if "exercise_style" in chain.columns
                else np.ones(len(chain), dtype=bool)
            ),
        }
    )
    with np.errstate(invalid="ignore"):
        valid = ((right == "C") | (right == "P")) & (strike > 0.0) & np.isfinite(strike)
    valid &= np.isfinite(years_signed)
    kept: pd.DataFrame = frame.loc[valid].reset_index(drop=True)
    kept.attrs["malformed"] = malformed
    kept.attrs["coin_quotes_converted"] = converted
    kept.attrs["dropped_rows"] = len(chain) - len(kept)
    return kept


def _mid(bid: FloatArray, ask: FloatArray) -> FloatArray:
    with np.errstate(invalid="ignore"):
        quoted = (bid > 0.0) & (ask >= bid) & np.isfinite(bid + ask)
    return np.where(quoted, 0.5 * (bid + ask), np.nan)


def _strike_groups(frame: pd.DataFrame) -> npt.NDArray[np.int64]:
    """Return a (series, strike) group id per row of a frame sorted by series and strike."""
    series = frame["series"].to_numpy()
    strike = frame["strike"].to_numpy()
    if series.size == 0:
        return np.zeros(0, dtype=np.int64)
    change = np.r_[True, (series[1:] != series[:-1]) | (strike[1:] != strike[:-1])]
    return np.cumsum(change) - 1


def _strike_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Return one row per (series, strike) group with the call and put mid quotes."""
    groups = frame["strike_group"].to_numpy()
    n = int(groups[-1]) + 1 if groups.size else 0
    first = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]]) if groups.size else groups
    is_call = frame["is_call"].to_numpy(dtype=bool)
    mid = frame["mid"].to_numpy()
    call_mid = np.full(n, np.nan)
    put_mid = np.full(n, np.nan)
    call_mid[groups[is_call]] = mid[is_call]
    put_mid[groups[~is_call]] = mid[~is_call]
    return pd.DataFrame(
        {
            "series": frame["series"].to_numpy()[first],
            "strike": frame["strike"].to_numpy()[first],
            "mid_call": call_mid,
            "mid_put": put_mid,
        }
    )


def _series_slices(series: npt.NDArray[np.int64]) -> list[tuple[int, int, int]]:
    """Return (series id, start, stop) of each run of equal ids in a sorted array."""
    if series.size == 0:
        return []
    starts = np.flatnonzero(np.r_[True, series[1:] != series[:-1]])
    stops = np.r_[starts[1:], series.size]
    return [(int(series[a]), int(a), int(b)) for a, b in zip(starts, stops, strict=True)]


def _fit_rate(
    pairs: pd.DataFrame, years: FloatArray, rate: float | None
) -> tuple[float, str, bool]:
    """Return the chain's rate, its source and whether it was clipped."""
    if rate is not None:
        return float(rate), "context", False
    strikes = pairs["strike"].to_numpy()
    calls = pairs["mid_call"].to_numpy()
    puts = pairs["mid_put"].to_numpy()
    slices = _series_slices(pairs["series"].to_numpy())
    for source, min_years, max_years in (
        ("parity_median_30d", RATE_FIT_MIN_YEARS, RATE_FIT_MAX_YEARS),
        ("parity_median_7d", RATE_FALLBACK_MIN_YEARS, math.inf),
    ):
        rates = []
        for series, a, b in slices:
            series_years = float(years[series])
            if not min_years <= series_years <= max_years:
                continue
            fit = forward_from_parity(
                K=strikes[a:b], call_price=calls[a:b], put_price=puts[a:b], T=series_years
            )
            if fit.status is ParityStatus.OK:
                rates.append(fit.rate)
        if rates:
            fitted = float(np.median(rates))
            clipped = float(np.clip(fitted, *RATE_BOUNDS))
            return clipped, source, clipped != fitted
    return 0.0, "default_zero", False


def _forwards(pairs: pd.DataFrame, expiries: pd.DataFrame, spot: float, rate: float) -> None:
    """Add ``forward``, ``forward_source``, ``parity_status``, ``dividend_yield`` columns."""
    years = expiries["years_to_expiry"].to_numpy(dtype=np.float64)
    forward = spot * np.exp(rate * years)
    source = np.full(len(expiries), "spot_carry_q0", dtype=object)
    status = np.full(len(expiries), "no_quotes", dtype=object)
    strikes = pairs["strike"].to_numpy()
    calls = pairs["mid_call"].to_numpy()
    puts = pairs["mid_put"].to_numpy()
    for series, a, b in _series_slices(pairs["series"].to_numpy()):
        fit = forward_from_parity(
            K=strikes[a:b], call_price=calls[a:b], put_price=puts[a:b], T=float(years[series]),
            r=rate, S=spot,
        )  # fmt: skip
        status[series] = str(fit.status)
        if fit.status is ParityStatus.OK and fit.forward > 0.0:
            forward[series] = fit.forward
            source[series] = "parity"
    source[~expiries["priced"].to_numpy(dtype=bool)] = "not_priced"
    expiries["forward"] = forward
    expiries["forward_source"] = source
    expiries["parity_status"] = status
    expiries["dividend_yield"] = rate - np.log(forward / spot) / years


def _atm_iv_by_series(
    pairs: pd.DataFrame, strike_sigma: FloatArray, expiries: pd.DataFrame
) -> FloatArray:
    """Return the ATM IV of each series: OTM-leg strike IVs interpolated linearly at F.

    Beyond the strikes with an IV, the nearest one's IV is used (flat extrapolation).
    """
    out = np.full(len(expiries), np.nan)
    forward = expiries["forward"].to_numpy()
    strikes = pairs["strike"].to_numpy()
    for series, a, b in _series_slices(pairs["series"].to_numpy()):
        sigma = strike_sigma[a:b]
        known = np.isfinite(sigma)
        quoted = strikes[a:b][known]
        if quoted.size:  # flat beyond the quoted strikes (np.interp clamps)
            out[series] = float(np.interp(forward[series], quoted, sigma[known]))
    return out


def _atm_iv_at_tenor(expiries: pd.DataFrame, days: float) -> float:
    """Return ATM IV at ``days``: total variance linear in T between bracketing expiries."""
    usable = expiries[np.isfinite(expiries["atm_iv"]) & (expiries["years_to_expiry"] >= 1 / 365)]
    if usable.empty:
        return math.nan
    years = usable["years_to_expiry"].to_numpy()
    order = np.argsort(years, kind="stable")
    years, sigma = years[order], usable["atm_iv"].to_numpy()[order]
    target = days / 365
    if target <= years[0]:
        return float(sigma[0])
    if target >= years[-1]:
        return float(sigma[-1])
    variance = np.interp(target, years, sigma**2 * years)
    return float(math.sqrt(variance / target))


def _implied_vols(frame: pd.DataFrame, rate: float) -> tuple[FloatArray, npt.NDArray[np.int8]]:
    result = black76_implied_vol_with_reasons(
        price=frame["mid"].to_numpy(),
        F=frame["forward"].to_numpy(),
        K=frame["strike"].to_numpy(),
        T=frame["years_to_expiry"].to_numpy(),
        r=rate,
        is_call=frame["is_call"].to_numpy(),
    )
    return result.vol, result.reason


def _assign_sigma(sub: pd.DataFrame, n_groups: int, allow_vendor: bool) -> FloatArray:
    """Give each strike the OTM leg's IV (§3.5), else fall back as the module says.

    Sets ``sigma`` and ``gamma_source`` on ``sub``; returns the OTM-leg IV per strike group.
    """
    own = sub["sigma_own"].to_numpy()
    ok = sub["iv_reason"].to_numpy() == IVReason.OK
    groups = sub["strike_group"].to_numpy()
    otm_leg = sub["is_call"].to_numpy() == (sub["strike"] >= sub["forward"]).to_numpy()
    candidate = otm_leg & ok
    strike_sigma = np.full(n_groups, np.nan)
    strike_sigma[groups[candidate]] = own[candidate]
    twin = strike_sigma[groups]
    has_twin = np.isfinite(twin)
    sigma = np.where(has_twin, twin, np.where(ok, own, np.nan))
    source = np.where(has_twin, _OWN, np.where(ok, _OWN_ITM, _NONE)).astype(np.int8)
    if allow_vendor:
        vendor = sub["vendor_iv"].to_numpy()
        with np.errstate(invalid="ignore"):
            use = ~np.isfinite(sigma) & (vendor > 0.0) & np.isfinite(vendor)
        sigma = np.where(use, vendor, sigma)
        source[use] = _VENDOR_IV
    sub["sigma"] = sigma
    sub["source_code"] = source
    return strike_sigma


def _add_greeks(sub: pd.DataFrame, spot: float, rate: float, allow_vendor: bool) -> None:
    values = greeks(
        S=spot,
        K=sub["strike"].to_numpy(),
        T=sub["years_to_expiry"].to_numpy(),
        r=rate,
        q=sub["dividend_yield"].to_numpy(),
        sigma=sub["sigma"].to_numpy(),
        is_call=sub["is_call"].to_numpy(),
    )
    for name in ("delta", "gamma", "vanna", "charm"):
        sub[name] = values[name]
    if allow_vendor:
        vendor = sub["vendor_gamma"].to_numpy()
        with np.errstate(invalid="ignore"):
            use = ~np.isfinite(values["gamma"]) & np.isfinite(vendor) & (vendor >= 0.0)
        sub["gamma"] = np.where(use, vendor, values["gamma"])
        source = sub["source_code"].to_numpy().copy()
        source[use] = _VENDOR_GAMMA
        sub["source_code"] = source


_PRICED_COLUMNS = ("sigma_own", "sigma", "delta", "gamma", "vanna", "charm")


def _price(
    frame: pd.DataFrame, spot: float, rate: float, allow_vendor: bool
) -> tuple[pd.DataFrame, FloatArray]:
    """Add IVs and greeks to the priced rows; the others get NaN and ``not_priced``.

    Returns the frame and the OTM-leg IV per strike group.
    """
    mask = frame["priced"].to_numpy(dtype=bool)
    groups = frame["strike_group"].to_numpy()
    n_groups = int(groups[-1]) + 1 if groups.size else 0
    sub = frame.loc[mask].copy()
    sub["sigma_own"], sub["iv_reason"] = _implied_vols(sub, rate)
    strike_sigma = _assign_sigma(sub, n_groups, allow_vendor)
    _add_greeks(sub, spot, rate, allow_vendor)
    for name in _PRICED_COLUMNS:
        values = np.full(len(frame), np.nan)
        values[mask] = sub[name].to_numpy(dtype=np.float64)
        frame[name] = values
    reason = np.full(len(frame), -1, dtype=np.int8)
    reason[mask] = sub["iv_reason"].to_numpy()
    frame["iv_reason"] = reason
    source = np.full(len(frame), _NOT_PRICED, dtype=np.int8)
    source[mask] = sub["source_code"].to_numpy()
    frame["gamma_source"] = pd.Categorical.from_codes(source, categories=pd.Index(_SOURCE_LABELS))
    return frame, strike_sigma


def _expiry_table(frame: pd.DataFrame) -> pd.DataFrame:
    series = frame["series"].to_numpy()
    first = np.flatnonzero(np.r_[True, series[1:] != series[:-1]]) if series.size else series
    rows = frame.iloc[first]
    return pd.DataFrame(
        {
            "root": rows["root"].to_numpy(),
            "expiry": rows["expiry"].to_numpy(),
            "settlement_time": rows["settlement_time"].array,
            "years_to_expiry": rows["years_to_expiry"].to_numpy(),
            "dte_days": rows["dte_days"].to_numpy(),
            "expired": rows["expired"].to_numpy(),
            "european": np.bincount(
                series, weights=~frame["european"].to_numpy(dtype=bool), minlength=len(rows)
            )
            == 0,
            "contracts": np.bincount(series, minlength=len(rows)).astype(np.int64),
        },
        index=pd.RangeIndex(len(rows), name="series"),
    )


def build_contracts(
    chain: pd.DataFrame,
    *,
    spot: float,
    as_of: dt.datetime,
    rate: float | None = None,
    t_min_years: float = T_MIN_YEARS,
    allow_vendor_fallback: bool = True,
    atm_iv_days: float = 30.0,
    price_expired: bool = False,
    max_dte_days: int | None = None,
) -> ContractSet:
    """Return the contract frame (time, forward, IV, greeks at ``spot``) of one snapshot.

    Args:
        chain: One snapshot's contracts: ``option_chain_snapshots`` joined with
            ``option_contracts`` (``merge_chain_tables``). Required columns:
            ``REQUIRED_COLUMNS``; optional: ``settlement_time`` (else from ``root`` and
            ``expiry``), ``root``, ``multiplier`` (default 100), ``volume``, ``vendor_iv``,
            ``vendor_gamma``, ``contract_symbol``.
        spot: Underlying price ``S`` (currency units), contemporaneous with the quotes.
        as_of: Valuation instant (timezone-aware); the snapshot time.
        rate: Risk-free rate per year; ``None`` fits it from parity.
        t_min_years: Floor of the time to expiry (years).
        allow_vendor_fallback: Use vendor IV, then vendor gamma, where ours is missing.
        atm_iv_days: Tenor (calendar days) of the reported ATM IV.
        price_expired: Also price expired series (at the floored T).
        max_dte_days: Leave series further out than this unpriced (the filter drops them).

    Returns:
        A ``ContractSet``. Frame columns: ``contract_symbol``, ``root``, ``series``,
        ``expiry`` (datetime64), ``settlement_time``, ``strike``, ``is_call``,
        ``multiplier``, ``bid``, ``ask``, ``mid``, ``volume``, ``open_interest``,
        ``vendor_iv``, ``vendor_gamma``, ``years_to_settlement`` (signed),
        ``years_to_expiry`` (floored), ``dte_days``, ``expired``, ``priced``, ``forward``,
        ``dividend_yield``, ``sigma_own``, ``iv_reason``, ``sigma``, ``gamma_source``
        (``GAMMA_SOURCES`` or ``not_priced``), ``delta``, ``gamma``, ``vanna``, ``charm``.

    Raises:
        ValueError: ``as_of`` is naive or a required column is missing (contract errors;
            bad values are counted, not raised).
    """
    as_of_utc = _utc(as_of)
    frame = _normalise(chain, as_of_utc, t_min_years)
    diagnostics: dict[str, Any] = {
        "input_rows": len(chain),
        "dropped_rows_bad_strike_right_or_expiry": int(frame.attrs.get("dropped_rows", 0)),
        "malformed_values": dict(sorted(frame.attrs.get("malformed", {}).items())),
        "coin_quotes_converted": int(frame.attrs.get("coin_quotes_converted", 0)),
    }
    frame["expired"] = frame["years_to_settlement"] <= 0.0
    frame["mid"] = _mid(frame["bid"].to_numpy(), frame["ask"].to_numpy())
    frame["series"] = frame.groupby(["root", "settlement_time"], sort=True, observed=True).ngroup()
    frame = frame.sort_values(["series", "strike", "is_call"], kind="stable", ignore_index=True)
    frame["strike_group"] = _strike_groups(frame)
    expiries = _expiry_table(frame)
    priced_series = np.ones(len(expiries), dtype=bool)
    if not price_expired:
        priced_series &= ~expiries["expired"].to_numpy(dtype=bool)
    if max_dte_days is not None:
        priced_series &= expiries["dte_days"].to_numpy() <= max_dte_days
    expiries["priced"] = priced_series
    frame["priced"] = priced_series[frame["series"].to_numpy()]
    pairs = _strike_table(frame)
    priced_pairs = pairs[priced_series[pairs["series"].to_numpy()]]
    years = expiries["years_to_expiry"].to_numpy(dtype=np.float64)
    # American parity is an inequality (§7.1): only European expiries can reveal the rate.
    european = expiries["european"].to_numpy(dtype=bool)[priced_pairs["series"].to_numpy()]
    chain_rate, rate_source, clipped = _fit_rate(priced_pairs[european], years, rate)
    diagnostics["rate_clipped"] = clipped
    _forwards(priced_pairs, expiries, spot, chain_rate)
    series = frame["series"].to_numpy()
    frame["forward"] = expiries["forward"].to_numpy()[series]
    frame["dividend_yield"] = expiries["dividend_yield"].to_numpy()[series]
    frame, strike_sigma = _price(frame, spot, chain_rate, allow_vendor_fallback)
    expiries["atm_iv"] = _atm_iv_by_series(pairs, strike_sigma, expiries)
    priced = frame[frame["priced"]]
    codes, counts = np.unique(priced["iv_reason"].to_numpy(), return_counts=True)
    diagnostics["iv_reasons"] = {
        IVReason(int(code)).name.lower(): int(count)
        for code, count in zip(codes, counts, strict=True)
    }
    sources = priced["gamma_source"].value_counts()  # categorical: every label counted
    diagnostics["gamma_sources"] = {s: int(sources.get(s, 0)) for s in GAMMA_SOURCES}
    return ContractSet(
        frame=frame,
        expiries=expiries,
        rate=chain_rate,
        rate_source=rate_source,
        atm_iv=_atm_iv_at_tenor(expiries[expiries["priced"]], atm_iv_days),
        diagnostics=diagnostics,
    )
