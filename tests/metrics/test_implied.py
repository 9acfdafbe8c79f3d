"""Implied vol from chains: synthetic European chains, real Cboe SPY chains, interpolation."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optionscope import pricing
from optionscope.app import sample_files
from optionscope.metrics.implied import (
    NO_ELIGIBLE_EXPIRY,
    TENOR_BEYOND_LAST_EXPIRY,
    ChainParameters,
    compute_expiry_table,
    interpolate_constant_maturity,
    iv_percentile,
    iv_rank,
    valuation_instant,
)
from optionscope.sources.files import read_file

TESTS_DATA = Path(__file__).resolve().parents[1] / "data" / "cboe"
VALUATION = datetime(2024, 3, 1, 21, 0, tzinfo=UTC)
SPOT, RATE, DIVIDEND = 100.0, 0.04, 0.01


def smile(log_moneyness: np.ndarray, days: float) -> np.ndarray:
    return 0.20 + 0.01 * days / 30 - 0.10 * log_moneyness + 0.30 * log_moneyness**2


def synthetic_chain(days_list: tuple[float, ...] = (10.0, 30.0, 60.0)) -> pd.DataFrame:
    """European BSM quotes (bid/ask +-0.005 around the model) on a known smile."""
    frames = []
    for days in days_list:
        expiry_years = days / 365.0
        forward = SPOT * math.exp((RATE - DIVIDEND) * expiry_years)
        strikes = np.arange(70.0, 131.0, 1.0)
        sigma = smile(np.log(strikes / forward), days)
        for right, is_call in (("C", True), ("P", False)):
            value = pricing.price(
                S=SPOT, K=strikes, T=expiry_years, r=RATE, q=DIVIDEND, sigma=sigma, is_call=is_call
            )
            frames.append(
                pd.DataFrame(
                    {
                        "contract_symbol": [f"X{days:g}{right}{k:g}" for k in strikes],
                        "settlement_time": VALUATION + timedelta(days=days),
                        "expiry": (VALUATION + timedelta(days=days)).date(),
                        "strike": strikes,
                        "option_right": right,
                        "bid": value - 0.005,
                        "ask": value + 0.005,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def test_synthetic_chain_recovers_forward_atm_and_25_delta_vols() -> None:
    table = compute_expiry_table(synthetic_chain(), VALUATION, ChainParameters(discount_rate=RATE))

    assert list(np.round(table["expiry_years"] * 365, 9)) == [10.0, 30.0, 60.0]
    for row in table.itertuples():
        days = row.expiry_years * 365
        forward = SPOT * math.exp((RATE - DIVIDEND) * row.expiry_years)
        assert row.forward == pytest.approx(forward, abs=1e-6)
        assert row.atm_iv == pytest.approx(smile(np.array(0.0), days), abs=5e-5)
        for target, column in ((0.25, "iv_25delta_call"), (-0.25, "iv_25delta_put")):
            k = 0.0  # fixed point k = -N^-1(delta)·sigma·sqrt(T) + sigma^2 T/2 (METHODOLOGY §2.6)
            call_delta = target if target > 0 else 1 + target
            z = _inverse_normal(call_delta)
            for _ in range(50):
                sigma = float(smile(np.array(k), days))
                k = -z * sigma * math.sqrt(row.expiry_years) + 0.5 * sigma**2 * row.expiry_years
            assert getattr(row, column) == pytest.approx(float(smile(np.array(k), days)), abs=1e-3)


def _inverse_normal(p: float) -> float:
    low, high = -10.0, 10.0
    for _ in range(200):
        middle = 0.5 * (low + high)
        if 0.5 * math.erfc(-middle / math.sqrt(2)) < p:
            low = middle
        else:
            high = middle
    return 0.5 * (low + high)


def test_constant_maturity_interpolates_total_variance_linearly_in_time() -> None:
    t1, t2, s1, s2 = 10 / 365, 40 / 365, 0.20, 0.25
    expected = math.sqrt(
        (s1**2 * t1 * (t2 - 30 / 365) + s2**2 * t2 * (30 / 365 - t1)) / ((t2 - t1) * 30 / 365)
    )

    result = interpolate_constant_maturity([t2, t1], [s2, s1], 30)

    assert result.vol == pytest.approx(expected, rel=1e-14)
    assert (result.reason, result.calendar_arbitrage, result.extrapolated) == (None, False, False)


def test_constant_maturity_extrapolation_rules() -> None:
    years, vols = [10 / 365, 40 / 365], [0.20, 0.25]

    short = interpolate_constant_maturity(years, vols, 7)
    exact = interpolate_constant_maturity(years, vols, 40)
    near_back = interpolate_constant_maturity(years, vols, 42, max_extrapolation_days=3)
    far_back = interpolate_constant_maturity(years, vols, 60, max_extrapolation_days=3)
    nothing = interpolate_constant_maturity([], [], 30)

    assert (short.vol, short.extrapolated) == (0.20, True)  # flat vol below the first expiry
    assert (exact.vol, exact.extrapolated) == (0.25, False)
    assert (near_back.vol, near_back.extrapolated) == (0.25, True)
    assert math.isnan(far_back.vol)
    assert far_back.reason == TENOR_BEYOND_LAST_EXPIRY
    assert math.isnan(nothing.vol)
    assert nothing.reason == NO_ELIGIBLE_EXPIRY


def test_decreasing_total_variance_is_flagged_as_calendar_arbitrage() -> None:
    result = interpolate_constant_maturity([10 / 365, 40 / 365], [0.40, 0.15], 30)

    assert result.calendar_arbitrage
    assert math.isfinite(result.vol)


def test_iv_rank_and_percentile() -> None:
    history = [0.10, 0.20, 0.30, np.nan, 0.40]

    assert iv_rank(0.25, history) == pytest.approx(0.5)
    assert iv_percentile(0.25, history) == pytest.approx(0.5)  # 2 of 4 strictly below
    assert iv_rank(0.50, history) == pytest.approx(4 / 3)  # a new high is outside [0, 1]
    assert math.isnan(iv_rank(0.2, [0.2, 0.2]))
    assert math.isnan(iv_percentile(0.2, []))


@pytest.mark.parametrize(
    ("snapshot", "session", "calendar", "expected"),
    [
        (
            datetime(2025, 4, 30, 20, 35, tzinfo=UTC),
            date(2025, 4, 30),
            "XNYS",
            datetime(2025, 4, 30, 20, 0, tzinfo=UTC),
        ),  # 16:35 ET capture: the 16:00 close
        (
            datetime(2025, 4, 30, 15, 0, tzinfo=UTC),
            date(2025, 4, 30),
            "XNYS",
            datetime(2025, 4, 30, 15, 0, tzinfo=UTC),
        ),  # intraday capture
        (
            datetime(2025, 9, 1, 22, 50, tzinfo=UTC),
            date(2025, 8, 29),
            "XNYS",
            datetime(2025, 8, 29, 20, 0, tzinfo=UTC),
        ),  # Labor Day capture: Friday's close
        (
            datetime(2025, 9, 1, 22, 50, tzinfo=UTC),
            date(2025, 9, 1),
            "24/7",
            datetime(2025, 9, 1, 22, 50, tzinfo=UTC),
        ),
    ],
)
def test_valuation_instant_is_the_capture_or_the_session_close(
    snapshot: datetime, session: date, calendar: str, expected: datetime
) -> None:
    assert valuation_instant(snapshot, session, calendar) == expected


REAL_CHAINS = [
    ("SPY_quotedata_2025-04-30_2035ET.csv", 0.015),
    ("SPY_quotedata_2025-05-06_1814ET.csv", 0.015),
    ("SPY_quotedata_2025-06-09_1652ET.csv", 0.015),
    ("SPY_quotedata_2025-09-25_2105ET.csv", 0.015),
    ("SPY_quotedata_2025-09-01_1850ET.csv", 0.025),  # Labor Day capture of Friday's quotes
    # Header relabelled to 05-08 while the quotes are 05-07's (the importer flags it): our T
    # is one day short, the vendor used a stale spot; both push the two IVs apart.
    ("SPY_quotedata_2025-05-08_1657ET.csv", 0.035),
]


def chain_path(name: str) -> Path:
    bundled = {path.name: path for path in sample_files()}
    return bundled.get(name, TESTS_DATA / name)


@pytest.mark.parametrize(("name", "band"), REAL_CHAINS)
def test_atm_iv_near_30_days_agrees_with_cboe_at_the_atm_strike(name: str, band: float) -> None:
    parsed = read_file(chain_path(name))
    quotes = parsed.tables["option_chain_snapshots"]
    terms = parsed.tables["option_contracts"]
    chain = quotes.merge(terms, on="contract_symbol")
    snapshot = parsed.tables["chain_snapshots"].iloc[0]
    valuation = valuation_instant(
        pd.Timestamp(snapshot["snapshot_time"]).to_pydatetime(), snapshot["session_date"], "XNYS"
    )

    table = compute_expiry_table(chain, valuation, ChainParameters())
    usable = table[table["eligible"] & table["atm_iv"].notna()]
    row = usable.loc[(usable["expiry_years"] * 365 - 30).abs().idxmin()]
    same_expiry = chain[(chain["expiry"] == row["expiry"]) & (chain["vendor_iv"] > 0)]
    strike = same_expiry["strike"].iloc[(same_expiry["strike"] - row["forward"]).abs().argmin()]
    vendor = same_expiry.loc[same_expiry["strike"] == strike, "vendor_iv"].mean()

    assert 20 <= row["expiry_years"] * 365 <= 31
    assert abs(row["forward"] / strike - 1) < 0.002
    assert abs(row["atm_iv"] / vendor - 1) <= band, (row["atm_iv"], vendor)
    assert len(usable) >= 9  # almost every listed expiry gets an ATM IV


def test_real_chain_iv30_lies_between_its_bracketing_expiries() -> None:
    parsed = read_file(chain_path("SPY_quotedata_2025-09-25_2105ET.csv"))
    chain = parsed.tables["option_chain_snapshots"].merge(
        parsed.tables["option_contracts"], on="contract_symbol"
    )
    valuation = datetime(2025, 9, 25, 20, 0, tzinfo=UTC)
    table = compute_expiry_table(chain, valuation, ChainParameters())
    eligible = table[table["eligible"]]

    iv30 = interpolate_constant_maturity(eligible["expiry_years"], eligible["atm_iv"], 30)

    below = eligible[eligible["expiry_years"] * 365 < 30].iloc[-1]
    above = eligible[eligible["expiry_years"] * 365 > 30].iloc[0]
    assert (
        min(below["atm_iv"], above["atm_iv"]) <= iv30.vol <= max(below["atm_iv"], above["atm_iv"])
    )
    assert iv30.reason is None
    assert not iv30.extrapolated
