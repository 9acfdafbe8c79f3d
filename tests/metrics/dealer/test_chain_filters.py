"""Contract frame (T, parity forward, our IV and gamma, fallbacks) and the filters."""

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from optionscope.domain.calendar import NEW_YORK, settlement_instant
from optionscope.metrics.dealer import DealerParams, apply_filters, build_contracts
from optionscope.pricing import SECONDS_PER_YEAR, greeks

MakeChain = Callable[..., pd.DataFrame]


def smile(strike: np.ndarray) -> np.ndarray:
    moneyness = np.log(strike / 420.0)
    return 0.18 + 0.3 * moneyness**2 - 0.1 * moneyness


def test_own_iv_forward_and_gamma_recover_the_generating_model(
    make_chain: MakeChain, as_of: dt.datetime
) -> None:
    chain = make_chain(spot=420.0, strikes=np.arange(380.0, 461.0, 5.0), expiry_days=(7, 35, 63),
                       sigma=smile, r=0.04, q=0.01)  # fmt: skip
    built = build_contracts(chain, spot=420.0, as_of=as_of)
    frame, expiries = built.frame, built.expiries
    assert built.rate_source == "parity_median_30d"
    assert built.rate == pytest.approx(0.04, abs=1e-9)
    years = expiries["years_to_expiry"].to_numpy()
    np.testing.assert_allclose(expiries["forward"], 420.0 * np.exp(0.03 * years), rtol=1e-11)
    np.testing.assert_allclose(expiries["dividend_yield"], 0.01, atol=1e-8)
    assert (frame["gamma_source"] == "own").all()
    np.testing.assert_allclose(frame["sigma"], smile(frame["strike"].to_numpy()), atol=1e-9)
    expected = greeks(S=420.0, K=frame["strike"].to_numpy(), T=frame["years_to_expiry"].to_numpy(),
                      r=0.04, q=0.01, sigma=smile(frame["strike"].to_numpy()),
                      is_call=frame["is_call"].to_numpy())["gamma"]  # fmt: skip
    np.testing.assert_allclose(frame["gamma"], expected, rtol=1e-7)
    # T from instants: 16:00 EDT on 11 March is exactly 7 days after 15:00 EST on 4 March
    # (clocks went forward on 10 March 2024).
    assert years[0] == pytest.approx(7 * 86400 / SECONDS_PER_YEAR, rel=1e-12)
    assert expiries["dte_days"].tolist() == [7, 35, 63]
    assert built.atm_iv == pytest.approx(0.18, abs=2e-3)


def test_itm_twin_takes_the_otm_leg_iv(make_chain: MakeChain, as_of: dt.datetime) -> None:
    chain = make_chain(spot=420.0, strikes=np.arange(380.0, 461.0, 5.0), r=0.0, q=0.0)
    itm_call = (chain["strike"] == 400.0) & (chain["option_right"] == "C")
    chain.loc[itm_call, ["bid", "ask"]] += 0.40  # an early-exercise-like premium
    frame = build_contracts(chain, spot=420.0, as_of=as_of, rate=0.0).frame
    row = frame[(frame["strike"] == 400.0) & frame["is_call"]].iloc[0]
    assert row["sigma_own"] > 0.25  # its own quote says so ...
    assert row["sigma"] == pytest.approx(0.20, abs=1e-9)  # ... but the OTM put's IV is used
    assert row["gamma_source"] == "own"


def test_fallbacks_are_vendor_iv_then_vendor_gamma_and_recorded(
    make_chain: MakeChain, as_of: dt.datetime
) -> None:
    chain = make_chain(spot=100.0, strikes=np.arange(90.0, 111.0, 2.0), r=0.0, q=0.0)
    chain.loc[chain["strike"] == 96.0, ["bid", "ask"]] = 0.0
    no_quotes_no_iv = chain["strike"] == 104.0
    chain.loc[no_quotes_no_iv, ["bid", "ask", "vendor_iv"]] = [0.0, 0.0, np.nan]
    built = build_contracts(chain, spot=100.0, as_of=as_of, rate=0.0)
    by_strike = built.frame.set_index(["strike", "is_call"])["gamma_source"]
    assert by_strike[(96.0, True)] == "vendor_iv"
    assert by_strike[(104.0, False)] == "vendor_gamma"
    assert built.diagnostics["gamma_sources"]["vendor_gamma"] == 2
    strict = build_contracts(chain, spot=100.0, as_of=as_of, rate=0.0, allow_vendor_fallback=False)
    assert set(strict.frame.loc[strict.frame["strike"].isin([96.0, 104.0]), "gamma_source"]) == {
        "none"
    }
    assert strict.frame.loc[strict.frame["strike"] == 96.0, "gamma"].isna().all()


def test_settlement_instant_comes_from_the_root_when_absent(
    make_chain: MakeChain, as_of: dt.datetime
) -> None:
    chain = make_chain(spot=5000.0, strikes=[4900.0, 5000.0, 5100.0], expiry_days=(11,),
                       root="SPX").drop(columns="settlement_time")  # fmt: skip
    built = build_contracts(chain, spot=5000.0, as_of=as_of, rate=0.0)
    # 2024-03-15 is a third Friday: SPX monthlies settle at the 09:30 ET opening print.
    expected = settlement_instant(dt.date(2024, 3, 15), "AM")
    assert built.expiries["settlement_time"].iloc[0] == expected
    seconds = (expected - pd.Timestamp(as_of)).total_seconds()
    assert built.frame["years_to_expiry"].iloc[0] == pytest.approx(seconds / SECONDS_PER_YEAR)


def test_malformed_values_are_counted_and_bad_rows_dropped(
    make_chain: MakeChain, as_of: dt.datetime
) -> None:
    chain = make_chain(spot=100.0, strikes=[95.0, 100.0, 105.0]).astype({"open_interest": object})
    chain.loc[0, "open_interest"] = "n/a"
    chain.loc[1, "option_right"] = "X"
    built = build_contracts(chain, spot=100.0, as_of=as_of)
    assert built.diagnostics["malformed_values"] == {"open_interest": 1}
    assert built.diagnostics["dropped_rows_bad_strike_right_or_expiry"] == 1
    assert len(built.frame) == 5


def test_contract_errors_raise(make_chain: MakeChain) -> None:
    chain = make_chain(spot=100.0, strikes=[100.0])
    with pytest.raises(ValueError, match="naive"):
        build_contracts(chain, spot=100.0, as_of=dt.datetime(2024, 3, 4, 15))  # noqa: DTZ001
    with pytest.raises(ValueError, match="lacks columns"):
        build_contracts(chain.drop(columns="bid"), spot=100.0,
                        as_of=dt.datetime(2024, 3, 4, 15, tzinfo=NEW_YORK))  # fmt: skip


def test_filters_remove_in_order_and_report_counts(
    make_chain: MakeChain, as_of: dt.datetime
) -> None:
    strikes = np.array([95.0, 100.0, 105.0])
    chain = pd.concat(
        [
            make_chain(spot=100.0, strikes=strikes, expiry_days=(-1,)),  # expired
            make_chain(spot=100.0, strikes=strikes, expiry_days=(120,)),  # beyond 90 days
            make_chain(spot=100.0, strikes=strikes, expiry_days=(14,),
                       call_oi=[0.0, 50.0, 500.0], put_oi=[500.0, 500.0, 500.0]),
        ],
        ignore_index=True,
    )  # fmt: skip
    chain.loc[(chain["strike"] == 105.0) & (chain["option_right"] == "P"), "volume"] = np.nan
    built = build_contracts(chain, spot=100.0, as_of=as_of, max_dte_days=90)
    eligible, report = apply_filters(built.frame, DealerParams())
    steps = {step.name: step.removed for step in report.steps}
    assert [step.name for step in report.steps] == [
        "expired", "max_dte_days", "gamma_available", "open_interest_positive",
        "min_open_interest", "min_volume",
    ]  # fmt: skip
    assert steps == {
        "expired": 6,
        "max_dte_days": 6,
        "gamma_available": 0,
        "open_interest_positive": 1,
        "min_open_interest": 1,
        "min_volume": 1,
    }
    assert report.input_contracts == 18
    assert report.eligible_contracts == len(eligible) == 3
    assert (built.frame.loc[built.frame["dte_days"] == 120, "gamma_source"] == "not_priced").all()
    relaxed = DealerParams(max_dte_days=None, min_open_interest=None, min_volume=None,
                           exclude_expired=False)  # fmt: skip
    everything = build_contracts(chain, spot=100.0, as_of=as_of, price_expired=True)
    kept, relaxed_report = apply_filters(everything.frame, relaxed)
    assert len(kept) == 17  # only the zero-OI call goes
    assert not relaxed_report.steps[0].enabled
    assert relaxed_report.steps[0].removed == 0
    assert relaxed_report.to_dict()["steps"][3] == {
        "name": "open_interest_positive", "parameter": True, "enabled": True, "removed": 1,
        "remaining": 17,
    }  # fmt: skip
