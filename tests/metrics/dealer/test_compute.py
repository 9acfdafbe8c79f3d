"""``dealer.compute`` end to end: edge cases, soft failures, JSON payload, invariants."""

import datetime as dt
import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optionscope.domain.calendar import NEW_YORK
from optionscope.metrics import dealer
from optionscope.pricing import T_MIN_YEARS
from optionscope.sources.files import read_file

MakeChain = Callable[..., pd.DataFrame]

REPO_CHAIN = (
    Path(__file__).resolve().parents[2] / "data" / "cboe" / "SPY_quotedata_2025-09-01_1850ET.csv"
)
STRIKES = np.arange(80.0, 121.0, 2.5)


def skewed(make_chain: MakeChain, **kwargs: object) -> pd.DataFrame:
    """Calls heavy above spot, puts heavy below: a profile with one zero near 100."""
    return make_chain(strikes=STRIKES, call_oi=np.where(STRIKES > 100, 3e4, 5e3),
                      put_oi=np.where(STRIKES < 100, 3e4, 5e3), **kwargs)  # fmt: skip


def test_a_typical_chain_gives_every_metric(make_chain: MakeChain, as_of: dt.datetime) -> None:
    chain = skewed(make_chain, spot=101.0, expiry_days=(0, 3, 17, 45))
    context = dealer.MarketContext(adv_dollars=5e9, atr=1.5, open_interest_stale_sessions=0)
    result = dealer.compute(chain, spot=101.0, as_of=as_of, context=context)
    assert result.confidence in {"high", "medium", "low"}
    assert result.exposure is not None
    assert result.profile is not None
    assert result.flip is not None
    assert result.total_gex == pytest.approx(result.by_strike["gross_gex"].sum())
    assert result.net_gex == pytest.approx(result.profile.value_at_spot, rel=1e-12)
    assert result.gamma_flip is not None
    assert 95.0 < result.gamma_flip < 105.0
    assert result.flip.method == "profile_zero_crossing_nearest_spot"
    assert result.gamma_flip is not None
    assert result.net_gex is not None
    assert result.flip.distance_pct == pytest.approx((101.0 - result.gamma_flip) / 101.0)
    assert len(result.call_walls) == 3
    assert len(result.put_walls) == 3
    assert result.dgpi == pytest.approx(100 * math.tanh(result.net_gex / 5e9 / 0.05))
    assert result.dgpi_detail is not None
    assert result.dgpi_detail.positional is not None
    assert result.exposure.slices["0dte"].contracts == len(STRIKES) * 2
    assert result.confidence_detail is not None
    components = result.confidence_detail.components
    assert components["data_detail"]["share_0dte"] > 0
    assert components["data_detail"]["staleness_assumed"] is False
    assert result.profile.levels.size == 401
    assert result.profile.levels[0] == pytest.approx(101.0 * 0.8)
    assert result.diagnostics["warnings"] == []


def test_json_payload_is_deterministic_and_has_no_nan(
    make_chain: MakeChain, as_of: dt.datetime
) -> None:
    chain = skewed(make_chain, spot=101.0, expiry_days=(3, 17))
    first = dealer.compute(chain, spot=101.0, as_of=as_of).to_json()
    second = dealer.compute(chain.sample(frac=1.0, random_state=1), spot=101.0, as_of=as_of)
    assert first == second.to_json()  # same inputs in another row order: same bytes

    def refuse(token: str) -> float:
        raise AssertionError(f"non-finite number {token} in the payload")

    payload = json.loads(first, parse_constant=refuse)
    assert payload["model_version"] == "dealer-default-1.0.0"
    assert payload["sign_policy"] == "dealer_long_calls_short_puts"
    assert payload["dgpi"]["value"] is None
    assert payload["dgpi"]["none_reason"]
    assert set(payload["headline"]) == set(dealer.TYPED_COLUMNS)
    assert payload["parameters"]["max_dte_days"] == 90
    assert next(s["name"] for s in payload["filters"]["steps"]) == "expired"
    assert len(payload["profile"]["levels"]) == 401
    assert len(payload["by_strike"]["strike"]) == len(STRIKES)
    assert payload["as_of"] == "2024-03-04T20:00:00+00:00"
    small = json.loads(second.to_json(include_arrays=False))
    assert small["by_strike"] is None
    assert "levels" not in small["profile"]


def test_empty_chain_missing_spot_and_all_filtered_are_soft_failures(
    make_chain: MakeChain, as_of: dt.datetime
) -> None:
    chain = skewed(make_chain, spot=100.0)
    empty = dealer.compute(chain.iloc[0:0], spot=100.0, as_of=as_of)
    assert (empty.confidence, empty.dealer_position) == ("invalid", "unknown")
    assert empty.diagnostics["invalid_reasons"] == ["empty_chain"]
    for spot in (None, math.nan, 0.0, -5.0):
        missing = dealer.compute(chain, spot=spot, as_of=as_of)
        assert missing.diagnostics["invalid_reasons"] == ["missing_spot"]
        assert missing.spot is None or missing.spot <= 0
    filtered = dealer.compute(chain, spot=100.0, as_of=as_of,
                              params=dealer.DealerParams(min_open_interest=1e9))  # fmt: skip
    assert filtered.diagnostics["invalid_reasons"] == ["all_filtered"]
    assert filtered.filters is not None
    assert filtered.filters.eligible_contracts == 0
    payload = json.loads(filtered.to_json())
    assert payload["headline"]["confidence"] == "invalid"
    assert payload["headline"]["gamma_flip"] is None
    assert payload["headline"]["net_gex"] is None


def test_missing_gamma_is_filtered_and_counted(make_chain: MakeChain, as_of: dt.datetime) -> None:
    chain = skewed(make_chain, spot=100.0, vendor=False)
    chain.loc[chain["strike"] >= 115, ["bid", "ask"]] = 0.0
    result = dealer.compute(chain, spot=100.0, as_of=as_of)
    assert result.filters is not None
    steps = {s.name: s.removed for s in result.filters.steps}
    assert steps["gamma_available"] == 6  # 115, 117.5, 120: both legs
    assert result.confidence_detail is not None
    share = result.confidence_detail.components["data_detail"]["gamma_open_interest_share"]
    assert share == pytest.approx(1 - 6 * 5e3 / (4 * 3e4 * 1 + 17 * 5e3 + 4 * 3e4 * 0 + 0), rel=0.5)
    assert share < 1.0


def test_single_strike_chain(make_chain: MakeChain, as_of: dt.datetime) -> None:
    chain = make_chain(spot=100.0, strikes=[100.0], expiry_days=(3, 10, 30), call_oi=2e3,
                       put_oi=1e3)  # fmt: skip
    result = dealer.compute(chain, spot=100.0, as_of=as_of)
    assert result.confidence != "invalid"
    assert result.call_walls == (100.0,)
    assert result.put_walls == (100.0,)
    assert result.absolute_gamma_strike == 100.0
    assert result.gamma_flip is None  # calls outweigh puts at every level
    assert result.flip is not None
    assert result.flip.profile_sign == "positive"
    assert result.flip.none_reason == "no_zero_crossing_in_window"
    assert result.flip.cumulative_strike is None


def test_spot_outside_the_strike_range(make_chain: MakeChain, as_of: dt.datetime) -> None:
    chain = skewed(make_chain, spot=135.0, expiry_days=(30, 60), sigma=0.35)
    result = dealer.compute(chain, spot=135.0, as_of=as_of)
    assert result.confidence == "low"  # strikes end 15 (five daily moves) below spot
    assert "spot_outside_strike_range" in result.diagnostics["warnings"]
    assert result.confidence_detail is not None
    assert result.profile is not None
    detail = result.confidence_detail.components["data_detail"]
    assert detail["spot_outside_strikes_by"] == 15.0
    assert detail["strike_coverage"] == pytest.approx(
        math.exp(-15.0 / result.diagnostics["expected_move_1d"])
    )
    assert all(k <= 120.0 for k in result.call_walls + result.put_walls)
    assert all(abs(k / 135.0 - 1) <= 0.2 for k in result.call_walls + result.put_walls)
    assert np.isfinite(result.profile.net_gex).all()
    far = dealer.compute(chain, spot=300.0, as_of=as_of)
    assert far.call_walls == ()
    assert far.absolute_gamma_strike is None
    assert far.confidence == "low"
    assert far.confidence_score is not None
    assert far.confidence_score < 0.01


def test_near_zero_net_gex_is_neutral_with_low_confidence(
    make_chain: MakeChain, as_of: dt.datetime
) -> None:
    chain = make_chain(spot=100.0, strikes=STRIKES, expiry_days=(7, 21))  # equal OI both sides
    context = dealer.MarketContext(adv_dollars=1e9)
    result = dealer.compute(chain, spot=100.0, as_of=as_of, context=context)
    assert result.exposure is not None
    assert abs(result.exposure.net_to_gross) < 1e-12
    assert result.dealer_position == "neutral"
    assert result.confidence == "low"
    assert result.confidence_score == pytest.approx(0.0, abs=1e-3)
    assert result.dgpi is not None
    assert abs(result.dgpi) < 1e-6


def test_zero_dte_only(make_chain: MakeChain) -> None:
    midday = dt.datetime(2024, 3, 4, 14, 0, tzinfo=NEW_YORK)
    chain = skewed(make_chain, spot=101.0, expiry_days=(0,), as_of=midday)
    result = dealer.compute(chain, spot=101.0, as_of=midday)
    assert result.exposure is not None
    assert result.confidence != "invalid"
    assert result.exposure.slices["0dte"].gross_gex == pytest.approx(result.total_gex)
    assert result.exposure.slices["ex_next_expiry"].contracts == 0
    assert result.confidence_detail is not None
    assert result.confidence_detail.components["data_detail"]["share_0dte"] == 1.0
    late = dt.datetime(2024, 3, 4, 15, 58, tzinfo=NEW_YORK)  # 2 minutes left: T floored
    floored = dealer.compute(chain, spot=101.0, as_of=late)
    assert (floored.contracts["years_to_expiry"] == T_MIN_YEARS).all()
    assert floored.diagnostics["rate_source"] == "default_zero"  # no expiry can resolve r
    assert floored.confidence != "invalid"
    closed = dealer.compute(
        chain, spot=101.0, as_of=dt.datetime(2024, 3, 4, 16, 30, tzinfo=NEW_YORK)
    )
    assert closed.diagnostics["invalid_reasons"] == ["all_filtered"]


def test_naive_as_of_raises(make_chain: MakeChain) -> None:
    with pytest.raises(ValueError, match="naive"):
        dealer.compute(skewed(make_chain, spot=100.0), spot=100.0,
                       as_of=dt.datetime(2024, 3, 4, 15))  # noqa: DTZ001  # fmt: skip


# make_chain is a pure factory: sharing it across examples is safe.
@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(scale=st.floats(0.5, 50.0), spot=st.floats(97.0, 104.0))
def test_scaling_open_interest_scales_gex_and_keeps_the_flip(
    make_chain: MakeChain, scale: float, spot: float
) -> None:
    as_of = dt.datetime(2024, 3, 4, 15, 0, tzinfo=NEW_YORK)
    params = dealer.DealerParams(min_open_interest=None)
    chain = skewed(make_chain, spot=spot, expiry_days=(3, 17))
    base = dealer.compute(chain, spot=spot, as_of=as_of, params=params)
    chain["open_interest"] *= scale
    scaled = dealer.compute(chain, spot=spot, as_of=as_of, params=params)
    assert base.net_gex is not None
    assert base.total_gex is not None
    assert scaled.net_gex == pytest.approx(scale * base.net_gex, rel=1e-10)
    assert scaled.total_gex == pytest.approx(scale * base.total_gex, rel=1e-10)
    assert (scaled.gamma_flip is None) == (base.gamma_flip is None)
    if base.gamma_flip is not None:
        assert scaled.gamma_flip == pytest.approx(base.gamma_flip, abs=1e-7 * spot)


@pytest.mark.skipif(not REPO_CHAIN.exists(), reason="vendored Cboe chain missing")
def test_vendored_real_chain_through_the_canonical_tables() -> None:
    parsed = read_file(REPO_CHAIN)
    snapshot = parsed.tables["chain_snapshots"].iloc[0]
    spot = float(snapshot["parity_spot"])
    result = dealer.compute(parsed.tables, spot=spot, as_of=snapshot["snapshot_time"])
    assert result.confidence != "invalid"
    eligible = result.diagnostics["eligible_gamma_sources"]
    # The rest are bid-0 quotes (no mid) where the vendor's IV stands in, recorded.
    assert eligible["own"] + eligible.get("own_itm_leg", 0) > 0.9 * sum(eligible.values())
    assert result.diagnostics["rate_source"] == "default_zero"  # SPY is American
    assert result.gamma_flip is not None
    assert result.profile is not None
    assert result.total_gex is not None
    assert abs(result.profile.inputs.value(result.gamma_flip)) < 1e-6 * result.total_gex
    assert result.slope is not None
    assert result.slope.relative_difference < 1e-5
    merged = dealer.merge_chain_tables(parsed.tables)
    assert dealer.compute(merged, spot=spot, as_of=snapshot["snapshot_time"]).to_json() == (
        result.to_json()
    )
    row = result.typed_row()
    assert row["primary_call_wall"] == result.call_walls[0]
    assert isinstance(pd.Timestamp(json.loads(result.to_json())["as_of"]), pd.Timestamp)


def test_several_snapshots_in_one_frame_are_refused(
    make_chain: MakeChain, as_of: dt.datetime
) -> None:
    chain = skewed(make_chain, spot=100.0)
    chain["snapshot_time"] = pd.Timestamp(as_of)
    chain.loc[0, "snapshot_time"] = pd.Timestamp(as_of) - pd.Timedelta(minutes=1)
    with pytest.raises(ValueError, match="several snapshots"):
        dealer.compute(chain, spot=100.0, as_of=as_of)


DERIBIT = Path(__file__).resolve().parents[2] / "data" / "deribit"


@pytest.mark.skipif(not DERIBIT.exists(), reason="vendored Deribit chain missing")
def test_coin_quoted_deribit_chain_is_converted_with_the_forward() -> None:
    parsed = read_file(DERIBIT / "hestonbtc_BTC_option_chain_2025-12-05.csv")
    quotes = parsed.tables["option_chain_snapshots"]
    spot = float(np.nanmedian(quotes["underlying_price"]))
    params = dealer.DealerParams(min_volume=None, min_open_interest=1.0)
    result = dealer.compute(
        parsed.tables, spot=spot, as_of=quotes["snapshot_time"].iloc[0], params=params,
        context=dealer.MarketContext(rate=0.0),
    )  # fmt: skip
    assert result.diagnostics["coin_quotes_converted"] == len(quotes)
    assert result.confidence != "invalid"
    own = result.contracts[result.contracts["gamma_source"] == "own"]
    # Our IV from coin quotes x forward against Deribit's mark IV: within 0.1% (median).
    ratio = (own["sigma"] / own["vendor_iv"]).to_numpy()
    assert abs(float(np.median(ratio)) - 1.0) < 1e-3
    assert result.gamma_flip is not None
