"""DGPI, dealer position and confidence."""

import math

import pytest

from optionscope.metrics.dealer.dgpi import adv_dollars, compute_dgpi, dgpi_band, dgpi_positional
from optionscope.metrics.dealer.params import DealerParams
from optionscope.metrics.dealer.position import (
    Position,
    classify_position,
    combine_confidence,
    distance_component,
    expected_move_1d,
    model_agreement,
)

PARAMS = DealerParams()


def test_dgpi_is_tanh_of_net_gex_over_dollar_volume() -> None:
    result = compute_dgpi(-2e8, adv=1e10, scale=0.05, spot=100.0, flip=102.0, atr=2.0,
                          atr_multiple=1.0)  # fmt: skip
    assert result.ratio == pytest.approx(-0.02)
    assert result.value == pytest.approx(100 * math.tanh(-0.4), abs=1e-12)  # -37.9949
    assert result.band == "significant"
    assert result.positional == pytest.approx(100 * math.tanh(-1.0))
    assert result.none_reason is None


def test_dgpi_without_dollar_volume_is_null_with_a_reason() -> None:
    result = compute_dgpi(1e9, adv=None, scale=0.05, spot=100.0, flip=None, atr=None,
                          atr_multiple=1.0)  # fmt: skip
    assert result.value is None
    assert result.none_reason == "adv_dollars_missing"
    nan_net = compute_dgpi(math.nan, adv=1e9, scale=0.05, spot=1.0, flip=None, atr=None,
                           atr_multiple=1.0)  # fmt: skip
    assert nan_net.value is None
    assert nan_net.none_reason == "net_gex_missing"


def test_dgpi_helpers() -> None:
    assert [dgpi_band(v) for v in (5.0, -20.0, 45.0, 60.0, -80.0, None)] == [
        "low", "moderate", "significant", "significant", "extreme", None,
    ]  # fmt: skip
    assert adv_dollars([2.0] * 25, list(range(25))) == pytest.approx(2 * sum(range(5, 25)) / 20)
    assert adv_dollars([1.0] * 5, [1.0] * 5) is None
    assert dgpi_positional(100.0, None, 1.0, 1.0) is None
    assert dgpi_positional(100.0, 99.0, 0.0, 1.0) is None


def position(net: float, ntg: float, dgpi: float | None, flip: float | None = None) -> Position:
    return classify_position(net_gex=net, net_to_gross=ntg, dgpi=dgpi, spot=100.0, flip=flip,
                             expected_move=2.0, params=PARAMS)  # fmt: skip


def test_position_needs_sign_and_dgpi_beyond_threshold() -> None:
    assert position(1e9, 0.3, 25.0).label == "long_gamma"
    assert position(-1e9, -0.3, -25.0).label == "short_gamma"
    assert position(1e9, 0.3, 5.0).label == "neutral"
    assert position(-1e9, -0.3, 15.0).label == "neutral"  # sign and DGPI disagree
    no_dgpi = position(1e9, 0.05, None)
    assert no_dgpi.label == "neutral"
    assert no_dgpi.components["basis"] == "net_to_gross"
    assert position(1e9, 0.15, None).label == "long_gamma"


def test_flip_zone_is_neutral() -> None:
    inside = position(1e9, 0.5, 50.0, flip=99.6)  # |S - flip| = 0.4 < 0.25 x 2.0
    assert inside.label == "neutral"
    assert inside.components["in_flip_zone"] is True
    assert position(1e9, 0.5, 50.0, flip=99.4).label == "long_gamma"


def test_expected_move_and_distance_component() -> None:
    assert expected_move_1d(252.0, 0.2) == pytest.approx(252 * 0.2 / math.sqrt(252))
    assert expected_move_1d(100.0, math.nan) is None
    assert distance_component(100.0, None, 2.0) == 1.0
    assert distance_component(100.0, 98.0, 2.0) == pytest.approx(1 - math.exp(-1))
    assert distance_component(100.0, 98.0, None) is None


def test_model_agreement_counts_the_primary() -> None:
    share, detail = model_agreement(5.0, {"a": 1.0, "b": -2.0, "c": 3.0})
    assert share == pytest.approx(3 / 4)
    assert detail["agree"] == {"a": True, "b": False, "c": True}
    assert model_agreement(5.0, {})[0] == 1.0


def test_confidence_is_the_geometric_mean_with_labels() -> None:
    high = combine_confidence({"magnitude": 0.8, "distance": 0.9, "data": 1.0, "model": 1.0},
                              PARAMS)  # fmt: skip
    assert high.score == pytest.approx((0.8 * 0.9) ** 0.25)
    assert high.label == "high"
    medium = combine_confidence({"magnitude": 0.1, "distance": 1.0, "data": 1.0, "model": 1.0},
                                PARAMS)  # fmt: skip
    assert medium.score == pytest.approx(0.1**0.25)
    assert medium.label == "medium"
    low = combine_confidence({"magnitude": 0.0, "distance": 1.0, "data": 1.0, "model": 1.0},
                             PARAMS)  # fmt: skip
    assert low.score == 0.0
    assert low.label == "low"
    invalid = combine_confidence({"magnitude": 1.0}, PARAMS, ("zero_gross_gex",))
    assert invalid.label == "invalid"
    assert invalid.reasons == ("zero_gross_gex",)
    assert combine_confidence({"magnitude": None}, PARAMS).label == "invalid"
