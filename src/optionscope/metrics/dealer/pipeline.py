"""``compute``: every dealer metric of one ticker snapshot, from chain frames to a result.

Algorithm (issue 6, METHODOLOGY §1):

1. Build the contract frame: T from settlement instants, parity forward per expiry, our IV
   from mid quotes, greeks at spot (``chain``).
2. Apply the filters, recording what each removed (``filters``).
3. Per-contract GEX and Greeks exposures under the sign policy; totals, expiry slices,
   strike and expiry aggregates (``exposure``).
4. Re-priced gamma profile, its zeros refined by Brent's method, the flip nearest spot, the
   ex-next-expiry flip and the cumulative-strike crossings (``profile``).
5. Walls on the chosen expiry scope (``walls``); analytic slope (``slope``); DGPI
   (``dgpi``); position and confidence (``position``).
6. In ``seed_compat`` mode the headline values come from the seed's definitions (``compat``).
7. Validate the outputs (warnings in diagnostics) and return ``DealerMetrics``.

Bad data never raises: an empty chain, all contracts filtered, a missing spot or malformed
numbers give a result with ``confidence = "invalid"``, the reasons and the counts.
"""

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from optionscope.metrics.dealer.chain import ContractSet, build_contracts, merge_chain_tables
from optionscope.metrics.dealer.compat import SeedMetrics, compute_seed_metrics
from optionscope.metrics.dealer.dgpi import Dgpi, compute_dgpi, dgpi_band
from optionscope.metrics.dealer.exposure import (
    GEX_SCALE_PER_PCT,
    Exposure,
    add_contract_exposures,
    aggregate_exposures,
    slice_masks,
    total_exposure,
)
from optionscope.metrics.dealer.filters import FilterReport, apply_filters
from optionscope.metrics.dealer.params import MODEL_VERSION, DealerMode, DealerParams, MarketContext
from optionscope.metrics.dealer.position import (
    Confidence,
    Position,
    classify_position,
    combine_confidence,
    distance_component,
    expected_move_1d,
    model_agreement,
)
from optionscope.metrics.dealer.profile import (
    GammaProfile,
    compute_profile,
    cumulative_strike_crossings,
)
from optionscope.metrics.dealer.result import DealerMetrics, Flip, SeedWallSet
from optionscope.metrics.dealer.slope import compute_slope
from optionscope.metrics.dealer.walls import compute_walls
from optionscope.pricing import greeks

__all__ = ["compute"]

ChainInput = pd.DataFrame | Mapping[str, pd.DataFrame]
SPOT_FORWARD_GAP_WARNING = 0.01
"""Nearest-expiry forward this far from spot (relative) flags a spot stale vs the quotes."""
OWN_SOURCES = ("own", "own_itm_leg")


def _as_utc(as_of: dt.datetime) -> pd.Timestamp:
    stamp = pd.Timestamp(as_of)
    if stamp.tzinfo is None:
        raise ValueError(f"as_of {as_of!r} is naive: pass a timezone-aware instant")
    return stamp.tz_convert("UTC")


def _invalid(
    base: dict[str, Any],
    reasons: tuple[str, ...],
    *,
    filters: FilterReport | None = None,
    diagnostics: Mapping[str, Any] | None = None,
) -> DealerMetrics:
    confidence = Confidence("invalid", None, "inputs_insufficient", {}, reasons)
    position = Position("unknown", "inputs_insufficient", {})
    return DealerMetrics(
        **base,
        filters=filters,
        position=position,
        confidence_detail=confidence,
        diagnostics={**(diagnostics or {}), "invalid_reasons": list(reasons)},
    )


def _vendor_iv_net_gex(frame: pd.DataFrame, spot: float, rate: float) -> float | None:
    """Net GEX with the vendor's IV where it has one (ours elsewhere); None if it rarely does."""
    vendor = frame["vendor_iv"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        has = np.isfinite(vendor) & (vendor > 0.0)
    gex = frame["gex"].to_numpy(dtype=np.float64)
    gross = float(np.nansum(gex))
    if gross <= 0.0 or float(np.nansum(gex[has])) < 0.5 * gross:
        return None
    vendor_gamma = greeks(
        S=spot, K=frame["strike"].to_numpy(), T=frame["years_to_expiry"].to_numpy(), r=rate,
        q=frame["dividend_yield"].to_numpy(), sigma=np.where(has, vendor, np.nan),
        is_call=frame["is_call"].to_numpy(),
    )["gamma"]  # fmt: skip
    gamma = np.where(has, vendor_gamma, frame["gamma"].to_numpy(dtype=np.float64))
    units = frame["open_interest"].to_numpy() * frame["multiplier"].to_numpy()
    net = frame["dealer_sign"].to_numpy() * gamma * units * spot * spot * GEX_SCALE_PER_PCT
    return float(np.nansum(net))


def _data_quality(
    eligible: pd.DataFrame,
    exposure: Exposure,
    *,
    spot: float,
    expected_move: float | None,
    gamma_oi_share: float,
    context: MarketContext,
) -> tuple[float, dict[str, Any]]:
    """Return the data component of the confidence and its parts (position module doc)."""
    gross = exposure.total_gex
    gex = eligible["gex"].to_numpy(dtype=np.float64)
    own = eligible["gamma_source"].isin(OWN_SOURCES).to_numpy()
    own_share = float(np.nansum(gex[own])) / gross if gross > 0.0 else 0.0
    stale = context.open_interest_stale_sessions
    freshness = 0.5 ** max(stale or 0, 0)
    share_0dte = exposure.slices["0dte"].gross_gex / gross if gross > 0.0 else 0.0
    strike_gap = _strike_gap(eligible, spot)
    if strike_gap == 0.0:
        strike_cover = 1.0
    else:
        strike_cover = math.exp(-strike_gap / expected_move) if expected_move else 0.0
    data = freshness * own_share * gamma_oi_share * (1.0 - 0.5 * share_0dte) * strike_cover
    return data, {
        "freshness": freshness,
        "open_interest_stale_sessions": stale,
        "staleness_assumed": stale is None,
        "own_iv_gross_share": own_share,
        "gamma_open_interest_share": gamma_oi_share,
        "share_0dte": share_0dte,
        "spot_outside_strikes_by": strike_gap,
        "strike_coverage": strike_cover,
    }


def _alternatives(
    eligible: pd.DataFrame,
    exposure: Exposure,
    profile: GammaProfile,
    *,
    spot: float,
    rate: float,
    expected_move: float | None,
) -> dict[str, float]:
    """Return net GEX at spot under each alternative specification that can be computed."""
    alternatives: dict[str, float] = {}
    vendor_net = _vendor_iv_net_gex(eligible, spot, rate)
    if vendor_net is not None:
        alternatives["vendor_iv"] = vendor_net
    if exposure.slices["ex_next_expiry"].contracts:
        alternatives["ex_next_expiry"] = exposure.slices["ex_next_expiry"].net_gex
    if expected_move:
        half = 0.5 * expected_move
        alternatives["spot_minus_half_expected_move"] = profile.inputs.value(spot - half)
        alternatives["spot_plus_half_expected_move"] = profile.inputs.value(spot + half)
    return alternatives


def _confidence(
    eligible: pd.DataFrame,
    exposure: Exposure,
    profile: GammaProfile,
    *,
    spot: float,
    rate: float,
    expected_move: float | None,
    gamma_oi_share: float,
    params: DealerParams,
    context: MarketContext,
) -> Confidence:
    gross = exposure.total_gex
    reasons: list[str] = []
    with_gamma = int(np.count_nonzero(np.isfinite(eligible["gamma"].to_numpy())))
    if with_gamma < params.min_contracts:
        reasons.append("too_few_contracts_with_gamma")
    if not gross > 0.0:
        reasons.append("zero_gross_gex")
    data, data_detail = _data_quality(
        eligible, exposure, spot=spot, expected_move=expected_move,
        gamma_oi_share=gamma_oi_share, context=context,
    )  # fmt: skip
    alternatives = _alternatives(
        eligible, exposure, profile, spot=spot, rate=rate, expected_move=expected_move
    )
    model, model_detail = model_agreement(exposure.net_gex, alternatives)
    components = {
        "magnitude": abs(exposure.net_to_gross) if gross > 0.0 else None,
        "distance": distance_component(spot, profile.flip, expected_move),
        "data": data,
        "model": model,
    }
    extra = {
        "data_detail": data_detail,
        "model_detail": model_detail,
        "contracts_with_gamma": with_gamma,
    }
    return combine_confidence(components, params, tuple(reasons), extra)


def _strike_gap(eligible: pd.DataFrame, spot: float) -> float:
    """Return how far spot lies outside the eligible strikes (0 inside), currency units."""
    strikes = eligible["strike"].to_numpy(dtype=np.float64)
    return max(float(strikes.min()) - spot, spot - float(strikes.max()), 0.0)


def _gamma_oi_share(frame: pd.DataFrame, eligible: pd.DataFrame, params: DealerParams) -> float:
    """Return the eligible open interest over that of the contracts passing all but gamma."""
    without_gamma_filter, _ = apply_filters(frame, replace(params, require_gamma=False))
    total = float(np.nansum(without_gamma_filter["open_interest"].to_numpy()))
    return float(np.nansum(eligible["open_interest"].to_numpy())) / total if total > 0 else 0.0


def _flip(
    profile: GammaProfile,
    cumulative: tuple[float, ...],
    *,
    spot: float,
    expected_move: float | None,
    seed: SeedMetrics | None,
) -> Flip:
    if seed is None:
        value, method = profile.flip, "profile_zero_crossing_nearest_spot"
    else:
        value, method = seed.gamma_flip, "seed_cumulative_strike_first_crossing"
    none_reason = None
    if value is None:
        none_reason = "no_zero_crossing_in_window" if seed is None else "cumulative_never_crosses"
    return Flip(
        value=value,
        method=method,
        none_reason=none_reason,
        profile_sign=profile.sign_without_crossing,
        profile_flip=profile.flip,
        profile_crossings=profile.crossings,
        ex_next_expiry=profile.flip_ex_next_expiry,
        ex_next_expiry_crossings=profile.crossings_ex_next_expiry,
        cumulative_strike=cumulative[0] if cumulative else None,
        cumulative_strike_crossings=cumulative,
        distance_pct=(spot - value) / spot if value is not None else None,
        distance_expected_moves=(
            (spot - value) / expected_move if value is not None and expected_move else None
        ),
    )


def _diagnostics(
    contracts: ContractSet,
    eligible: pd.DataFrame,
    profile: GammaProfile,
    exposure: Exposure,
    spot: float,
    expected_move: float | None,
) -> dict[str, Any]:
    expiries = contracts.expiries[contracts.expiries["priced"]]
    warnings: list[str] = []
    gap = None
    if not expiries.empty:
        nearest = expiries.sort_values("years_to_expiry").iloc[0]
        gap = float(nearest["forward"]) / spot - 1.0
        if abs(gap) > SPOT_FORWARD_GAP_WARNING:
            warnings.append("spot_far_from_nearest_forward")
    if contracts.diagnostics.get("rate_clipped"):
        warnings.append("rate_clipped")
    if exposure.contracts_without_delta:
        warnings.append("some_contracts_use_vendor_gamma")
    if _strike_gap(eligible, spot) > 0.0:
        warnings.append("spot_outside_strike_range")
    sources = eligible["gamma_source"].value_counts()
    return {
        **contracts.diagnostics,
        "rate": contracts.rate,
        "rate_source": contracts.rate_source,
        "atm_iv": contracts.atm_iv,
        "expected_move_1d": expected_move,
        "spot_forward_gap_nearest_expiry": gap,
        "eligible_gamma_sources": {str(k): int(v) for k, v in sources.items() if v},
        "profile_excluded_contracts": profile.inputs.excluded_contracts,
        "profile_value_at_spot": profile.value_at_spot,
        "warnings": warnings,
    }


def _validate(metrics: DealerMetrics) -> list[str]:
    """Return violations of the output invariants (empty when all hold)."""
    problems = []
    exposure = metrics.exposure
    if exposure is not None:
        if not all(math.isfinite(v) for v in (exposure.total_gex, exposure.net_gex)):
            problems.append("non_finite_gex")
        elif exposure.total_gex > 0 and abs(exposure.net_to_gross) > 1.0 + 1e-9:
            problems.append("net_exceeds_gross")
    if metrics.profile is not None and metrics.flip is not None:
        levels = metrics.profile.levels
        if any(not levels[0] <= c.level <= levels[-1] for c in metrics.flip.profile_crossings):
            problems.append("flip_outside_window")
    if metrics.slope is not None and metrics.slope.relative_difference > 1e-4:
        problems.append("slope_disagrees_with_profile")
    return problems


def compute(
    chain: ChainInput,
    *,
    spot: float | None,
    as_of: dt.datetime,
    params: DealerParams | None = None,
    context: MarketContext | None = None,
) -> DealerMetrics:
    """Return the dealer positioning metrics of one ticker snapshot.

    Args:
        chain: The snapshot's contracts: ``option_chain_snapshots`` joined with
            ``option_contracts`` (one frame), or both canonical frames by table name
            (e.g. ``read_file(path).tables``).
        spot: Underlying price ``S`` contemporaneous with the quotes (``ohlcv_daily.close``
            or an override); ``None``/NaN/<= 0 gives an invalid result.
        as_of: Valuation instant, timezone-aware (the snapshot time).
        params: Definitions and thresholds (``DealerParams()`` by default).
        context: Rate, ADV$, ATR, IV rank, OI staleness, spot source (all optional).

    Returns:
        ``DealerMetrics``; ``confidence == "invalid"`` with reasons when the data cannot
        support the metrics.

    Raises:
        ValueError: ``as_of`` is naive, the chain frame lacks required columns or holds
            several snapshot times (contract errors, not data problems).
    """
    params = params or DealerParams()
    context = context or MarketContext()
    as_of_utc = _as_utc(as_of)
    policy = params.effective_sign_policy
    spot_value = float(spot) if spot is not None else math.nan
    base: dict[str, Any] = {
        "model_version": f"dealer-{params.mode}-{MODEL_VERSION}",
        "mode": str(params.mode),
        "as_of": as_of_utc,
        "spot": spot_value if math.isfinite(spot_value) else None,
        "sign_policy": policy.name,
        "parameters": params.to_dict(),
        "context": context.to_dict(),
    }
    frame = merge_chain_tables(chain) if isinstance(chain, Mapping) else chain
    if "snapshot_time" in frame.columns and frame["snapshot_time"].nunique() > 1:
        raise ValueError("the chain holds several snapshots: pass one snapshot_time at a time")
    if not (math.isfinite(spot_value) and spot_value > 0.0):
        return _invalid(base, ("missing_spot",), diagnostics={"input_rows": len(frame)})
    if frame.empty:
        return _invalid(base, ("empty_chain",), diagnostics={"input_rows": 0})
    contracts = build_contracts(
        frame, spot=spot_value, as_of=as_of_utc, rate=context.rate,
        t_min_years=params.t_min_years, allow_vendor_fallback=params.allow_vendor_fallback,
        atm_iv_days=params.atm_iv_days, price_expired=not params.exclude_expired,
        max_dte_days=params.max_dte_days,
    )  # fmt: skip
    eligible, report = apply_filters(contracts.frame, params)
    if eligible.empty:
        return _invalid(base, ("all_filtered",), filters=report, diagnostics=contracts.diagnostics)
    return _compute_eligible(base, contracts, eligible, report, spot_value, params, context)


def _compute_eligible(
    base: dict[str, Any],
    contracts: ContractSet,
    eligible: pd.DataFrame,
    report: FilterReport,
    spot: float,
    params: DealerParams,
    context: MarketContext,
) -> DealerMetrics:
    weights = params.effective_sign_policy.weights(eligible["is_call"].to_numpy(dtype=bool))
    eligible = add_contract_exposures(eligible, weights, spot)
    exposure = total_exposure(eligible)
    by_strike = aggregate_exposures(eligible, "strike")
    profile = compute_profile(
        eligible, weights, spot=spot, rate=contracts.rate,
        range_pct=params.profile_range_pct, n_levels=params.profile_levels,
    )  # fmt: skip
    cumulative = cumulative_strike_crossings(
        by_strike["strike"].to_numpy(dtype=np.float64),
        by_strike["net_gex"].to_numpy(dtype=np.float64),
    )
    expected_move = expected_move_1d(spot, contracts.atm_iv)
    scope = params.walls_expiry_scope
    scoped = (
        by_strike
        if scope == "all"
        else aggregate_exposures(eligible[slice_masks(eligible)[scope]], "strike")
    )
    walls = compute_walls(scoped, spot=spot, top_n=params.walls_top_n,
                          max_moneyness=params.walls_max_moneyness, scope=scope)  # fmt: skip
    slope = compute_slope(
        eligible, profile.inputs, spot=spot, rate=contracts.rate,
        window_pct=params.gex_slope_range_pct, check_step_pct=params.slope_check_step_pct,
    )  # fmt: skip
    dgpi = compute_dgpi(
        exposure.net_gex, adv=context.adv_dollars, scale=params.dgpi_scale, spot=spot,
        flip=profile.flip, atr=context.atr, atr_multiple=params.dgpi_position_atr_multiple,
    )  # fmt: skip
    confidence = _confidence(
        eligible, exposure, profile, spot=spot, rate=contracts.rate,
        expected_move=expected_move,
        gamma_oi_share=_gamma_oi_share(contracts.frame, eligible, params),
        params=params, context=context,
    )  # fmt: skip
    position = classify_position(
        net_gex=exposure.net_gex, net_to_gross=exposure.net_to_gross, dgpi=dgpi.value,
        spot=spot, flip=profile.flip, expected_move=expected_move, params=params,
    )  # fmt: skip
    if confidence.label == "invalid":
        position = Position("unknown", position.method, position.components)
    seed = None
    if params.mode == DealerMode.SEED_COMPAT:
        seed = compute_seed_metrics(
            eligible, spot=spot, iv_rank=context.iv_rank, walls_top_n=params.walls_top_n,
            gex_slope_range_pct=params.gex_slope_range_pct,
            walls_max_moneyness=params.seed_walls_max_moneyness,
            neutral_band=params.seed_neutral_band,
        )  # fmt: skip
    flip = _flip(profile, cumulative, spot=spot, expected_move=expected_move, seed=seed)
    details: dict[str, Any] = {
        "exposure": exposure,
        "flip": flip,
        "walls": walls,
        "slope": slope,
        "dgpi_detail": dgpi,
        "position": position,
        "confidence_detail": confidence,
        "profile": profile,
        "seed": seed,
        "filters": report,
        "by_strike": by_strike,
        "by_expiry": aggregate_exposures(eligible, "expiry"),
        "expiries": contracts.expiries.reset_index(),
        "diagnostics": _diagnostics(contracts, eligible, profile, exposure, spot, expected_move),
        "contracts": eligible,
        "absolute_gamma_strike": walls.absolute_gamma_strike,
        "total_gex": exposure.total_gex,
        "net_gex": exposure.net_gex,
        "gamma_flip": flip.value,
        "call_walls": tuple(w.strike for w in walls.call),
        "put_walls": tuple(w.strike for w in walls.put),
        "gex_slope": slope.value,
        "dgpi": dgpi.value,
        "dealer_position": position.label,
        "confidence": confidence.label,
        "confidence_score": confidence.score,
    }
    if seed is not None:
        details.update(_seed_headline(seed, slope_detail=slope, dgpi_detail=dgpi, params=params))
    metrics = DealerMetrics(**base, **details)
    problems = _validate(metrics)
    if problems:
        diagnostics = dict(metrics.diagnostics)
        diagnostics["warnings"] = [*diagnostics["warnings"], *problems]
        metrics = replace(metrics, diagnostics=diagnostics)
    return metrics


def _seed_headline(
    seed: SeedMetrics, *, slope_detail: Any, dgpi_detail: Dgpi, params: DealerParams
) -> dict[str, Any]:
    """Return the headline fields and details that seed mode replaces."""
    return {
        "total_gex": seed.gex_total,
        "net_gex": seed.gex_net,
        "call_walls": tuple(w.strike for w in seed.call_walls),
        "put_walls": tuple(w.strike for w in seed.put_walls),
        "walls": SeedWallSet(params.seed_walls_max_moneyness, seed.call_walls, seed.put_walls),
        "gex_slope": seed.gex_slope,
        "slope": replace(slope_detail, value=seed.gex_slope,
                         method="seed_strike_bucket_difference"),
        "dgpi": seed.dgpi,
        "dgpi_detail": replace(dgpi_detail, value=seed.dgpi, method="seed_log10_scaled",
                               band=dgpi_band(seed.dgpi), ratio=None, none_reason=None),
        "dealer_position": seed.position,
        "position": Position(seed.position, "seed_net_gex_band",
                             {"net_gex": seed.gex_net, "neutral_band": params.seed_neutral_band}),
        "confidence": seed.confidence,
        "confidence_score": None,
        "confidence_detail": Confidence(
            seed.confidence, None, "seed_contract_count_and_oi",
            {"contracts_with_gamma": seed.contracts_with_gamma,
             "total_open_interest": seed.total_open_interest},
        ),
    }  # fmt: skip
