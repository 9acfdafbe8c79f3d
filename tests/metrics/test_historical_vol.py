"""Historical vol estimators against hand-computed values, pandas and METHODOLOGY vectors."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from optionscope.metrics import historical_vol as hv

# Four bars; values below computed by hand with `math` and `statistics` (n = 3 bars/returns,
# annualized by sqrt(252)); Yang-Zhang k(3) = 0.34/(1.34 + 4/2) = 0.1017964.
OPEN = [99.0, 101.0, 102.0, 102.5]
HIGH = [101.0, 103.0, 104.0, 103.0]
LOW = [98.0, 100.0, 101.0, 99.0]
CLOSE = [100.0, 102.0, 103.0, 100.0]
HAND = {
    hv.Estimator.CLOSE_TO_CLOSE: 0.41411625566522664,
    hv.Estimator.PARKINSON: 0.3161636187015392,
    hv.Estimator.GARMAN_KLASS: 0.33548488159215517,
    hv.Estimator.ROGERS_SATCHELL: 0.3256103293206159,
    hv.Estimator.YANG_ZHANG: 0.34609028937465863,
}


@pytest.mark.parametrize("estimator", list(HAND), ids=lambda e: e.name.lower())
def test_estimators_match_hand_computed_values(estimator: hv.Estimator) -> None:
    values = hv.rolling_vol(estimator, open_=OPEN, high=HIGH, low=LOW, close=CLOSE, window=3)

    assert values[-1] == pytest.approx(HAND[estimator], rel=1e-13)
    needs_previous_close = estimator in (hv.Estimator.CLOSE_TO_CLOSE, hv.Estimator.YANG_ZHANG)
    assert np.isnan(values[: 3 if needs_previous_close else 2]).all()
    assert np.isfinite(values[3 if needs_previous_close else 2 :]).all()


@pytest.mark.parametrize(("window", "expected"), [(20, 0.139044), (30, 0.141139), (60, 0.143224)])
def test_yang_zhang_k_equals_the_methodology_test_vectors(window: int, expected: float) -> None:
    assert hv.yang_zhang_k(window) == pytest.approx(expected, abs=5e-7)


def test_close_to_close_equals_pandas_rolling_std(make_bars: Callable[..., pd.DataFrame]) -> None:
    close = make_bars(300, seed=4)["close"]
    oracle = np.log(close).diff().rolling(20).std() * math.sqrt(252)

    ours = hv.close_to_close_vol(close.to_numpy(), 20)

    np.testing.assert_allclose(ours, oracle.to_numpy(), rtol=1e-10, atol=1e-12)


def test_yang_zhang_is_the_paper_formula_not_the_volest_variant(
    make_bars: Callable[..., pd.DataFrame],
) -> None:
    bars = make_bars(120, seed=8, style="gaps")
    o, h, lo, c = (bars[n].to_numpy() for n in ("open", "high", "low", "close"))
    n = 30
    window = slice(len(c) - n, len(c))
    overnight = np.log(o[window] / c[len(c) - n - 1 : -1])
    intraday = np.log(c[window] / o[window])
    rogers = (np.log(h / c) * np.log(h / o) + np.log(lo / c) * np.log(lo / o))[window]
    k = hv.yang_zhang_k(n)
    paper = math.sqrt(
        252 * (overnight.var(ddof=1) + k * intraday.var(ddof=1) + (1 - k) * rogers.mean())
    )

    ours = hv.yang_zhang_vol(o, h, lo, c, n)[-1]

    assert ours == pytest.approx(paper, rel=1e-12)
    close_returns = np.log(c[window] / c[len(c) - n - 1 : -1])
    volest = math.sqrt(
        252
        * (
            (overnight**2).sum() / (n - 1)
            + k * (close_returns**2).sum() / (n - 1)
            + (1 - k) * rogers.mean()
        )
    )
    assert abs(ours - volest) > 1e-4  # the two definitions do differ on gapped data


@pytest.mark.parametrize("estimator", list(hv.Estimator), ids=lambda e: e.name.lower())
def test_estimators_are_scale_invariant(
    make_bars: Callable[..., pd.DataFrame], estimator: hv.Estimator
) -> None:
    bars = make_bars(80, seed=2, style="gaps")
    prices = {n: bars[n].to_numpy() for n in ("open", "high", "low", "close")}
    split = {n: values * 10.0 for n, values in prices.items()}

    base = hv.rolling_vol(
        estimator,
        open_=prices["open"],
        high=prices["high"],
        low=prices["low"],
        close=prices["close"],
        window=20,
    )
    scaled = hv.rolling_vol(
        estimator,
        open_=split["open"],
        high=split["high"],
        low=split["low"],
        close=split["close"],
        window=20,
    )

    np.testing.assert_allclose(scaled, base, rtol=1e-9, atol=1e-12)


def test_crypto_annualization_uses_365_days() -> None:
    daily = hv.close_to_close_vol(CLOSE, 3, periods_per_year=1)[-1]

    assert hv.close_to_close_vol(CLOSE, 3, hv.CALENDAR_DAYS_PER_YEAR)[-1] == pytest.approx(
        daily * math.sqrt(365), rel=1e-14
    )


def test_flat_bars_have_zero_volatility_not_nan(make_bars: Callable[..., pd.DataFrame]) -> None:
    bars = make_bars(40, seed=1, style="flat")
    o, h, lo, c = (bars[n].to_numpy() for n in ("open", "high", "low", "close"))

    for estimator in hv.Estimator:
        value = hv.rolling_vol(estimator, open_=o, high=h, low=lo, close=c, window=20)[-1]
        assert value == 0.0, estimator


def test_window_below_two_is_refused() -> None:
    with pytest.raises(ValueError, match="window must be an integer >= 2"):
        hv.close_to_close_vol(CLOSE, 1)
