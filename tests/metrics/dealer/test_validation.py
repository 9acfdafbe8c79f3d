"""Parameter checks, output validation, warnings and JSON conversion details."""

import datetime as dt
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from optionscope.metrics import dealer
from optionscope.metrics.dealer.compat import seed_gex_slope
from optionscope.metrics.dealer.pipeline import _validate
from optionscope.metrics.dealer.profile import Crossing
from optionscope.metrics.dealer.result import json_ready

MakeChain = Callable[..., pd.DataFrame]
STRIKES = np.arange(90.0, 111.0, 2.5)


def chain_of(make_chain: MakeChain, **kwargs: object) -> pd.DataFrame:
    return make_chain(strikes=STRIKES, call_oi=np.where(STRIKES > 100, 3e4, 5e3),
                      put_oi=np.where(STRIKES < 100, 3e4, 5e3), **kwargs)  # fmt: skip


@pytest.mark.parametrize(
    "overrides",
    [
        {"walls_expiry_scope": "weekly"},
        {"profile_range_pct": 1.5},
        {"profile_levels": 2},
        {"walls_top_n": 0},
        {"dgpi_scale": 0.0},
        {"gex_slope_range_pct": float("nan")},
    ],
)
def test_bad_parameters_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="must"):
        dealer.DealerParams(**overrides)  # type: ignore[arg-type]


def test_parameters_serialise_with_the_policy_name() -> None:
    values = dealer.DealerParams(overrides=("min_volume",), min_volume=None).to_dict()
    assert values["sign_policy"] == "dealer_long_calls_short_puts"
    assert values["mode"] == "default"
    assert values["overrides"] == ["min_volume"]
    assert values["min_volume"] is None


def test_too_few_contracts_with_gamma_is_invalid(make_chain: MakeChain, as_of: dt.datetime) -> None:
    chain = make_chain(spot=100.0, strikes=[100.0, 102.0], expiry_days=(7,))
    result = dealer.compute(chain, spot=100.0, as_of=as_of)
    assert result.confidence == "invalid"
    assert result.dealer_position == "unknown"
    assert result.confidence_detail is not None
    assert result.confidence_detail.reasons == ("too_few_contracts_with_gamma",)
    assert result.net_gex is not None  # the numbers are still there, flagged


def test_a_spot_far_from_the_forward_is_flagged(make_chain: MakeChain, as_of: dt.datetime) -> None:
    chain = chain_of(make_chain, spot=100.0)
    stale = dealer.compute(chain, spot=97.0, as_of=as_of)  # quotes say 100
    assert "spot_far_from_nearest_forward" in stale.diagnostics["warnings"]
    forward = 100.0 * np.exp((0.04 - 0.01) * 7 / 365)  # the chain's r - q over 7 days
    gap = stale.diagnostics["spot_forward_gap_nearest_expiry"]
    assert gap == pytest.approx(forward / 97.0 - 1.0, rel=1e-6)


def test_validation_reports_broken_invariants(make_chain: MakeChain, as_of: dt.datetime) -> None:
    result = dealer.compute(chain_of(make_chain, spot=100.0), spot=100.0, as_of=as_of)
    assert _validate(result) == []
    assert result.exposure is not None
    assert result.flip is not None
    assert result.slope is not None
    broken = replace(result, exposure=replace(result.exposure, net_gex=float("nan")))
    assert _validate(broken) == ["non_finite_gex"]
    lopsided = replace(result, exposure=replace(result.exposure, net_to_gross=1.5))
    assert _validate(lopsided) == ["net_exceeds_gross"]
    outside = replace(result.flip, profile_crossings=(Crossing(1e6, "rising"),))
    assert _validate(replace(result, flip=outside)) == ["flip_outside_window"]
    slope = replace(result.slope, relative_difference=0.5)
    assert _validate(replace(result, slope=slope)) == ["slope_disagrees_with_profile"]


def test_json_ready_converts_or_refuses() -> None:
    assert json_ready(dt.date(2024, 3, 4)) == "2024-03-04"
    assert json_ready(np.float32(0.5)) == 0.5
    assert json_ready(float("inf")) is None
    assert json_ready({"a": (1, np.int64(2))}) == {"a": [1, 2]}
    with pytest.raises(TypeError, match="not JSON-ready"):
        json_ready(object())


def test_seed_slope_without_strikes_is_none() -> None:
    assert seed_gex_slope(np.zeros(0), np.zeros(0), 100.0, 0.02) is None
