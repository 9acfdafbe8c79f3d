"""The market simulator: deterministic, internally consistent chains."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from optionscope.domain import tables
from optionscope.pricing import implied_vol
from optionscope.sources.simulator import SimulationSpec, simulate_sessions


def _first_session(spec: SimulationSpec) -> dict[str, object]:
    _, frames = next(iter(simulate_sessions(spec)))
    return frames  # type: ignore[return-value]


def test_same_seed_same_market_and_ticker_paths_do_not_depend_on_universe_size() -> None:
    small = list(simulate_sessions(SimulationSpec(tickers=1, sessions=3, seed=11)))
    large = list(simulate_sessions(SimulationSpec(tickers=3, sessions=3, seed=11)))

    for (day_small, frames_small), (day_large, frames_large) in zip(small, large, strict=True):
        assert day_small == day_large
        bars_small = frames_small[tables.OHLCV_DAILY.name]
        bars_large = frames_large[tables.OHLCV_DAILY.name]
        assert bars_small.iloc[0].equals(bars_large.iloc[0])


def test_sessions_follow_the_exchange_calendar() -> None:
    days = [
        day
        for day, _ in simulate_sessions(
            SimulationSpec(tickers=1, sessions=3, start=date(2024, 12, 24))
        )
    ]
    assert days == [date(2024, 12, 24), date(2024, 12, 26), date(2024, 12, 27)]


def test_quotes_bracket_the_model_and_vendor_iv_is_recoverable() -> None:
    spec = SimulationSpec(tickers=1, sessions=1, seed=3)
    _, frames = next(iter(simulate_sessions(spec)))
    quotes = frames[tables.OPTION_CHAIN_SNAPSHOTS.name]
    contracts = frames[tables.OPTION_CONTRACTS.name].set_index("contract_symbol")
    assert (quotes["bid"] <= quotes["ask"]).all()
    assert (quotes["bid"] >= 0).all()
    assert (quotes["open_interest"] >= 0).all()
    terms = contracts.loc[quotes["contract_symbol"]]
    spot = float(quotes["underlying_price"].iloc[0])
    elapsed = pd.DatetimeIndex(terms["settlement_time"]) - pd.DatetimeIndex(quotes["snapshot_time"])
    years = elapsed.total_seconds().to_numpy() / (365 * 86400)
    from optionscope.pricing import price

    model = price(
        S=spot,
        K=terms["strike"].to_numpy(),
        T=years,
        r=0.04,
        q=0.012,
        sigma=quotes["vendor_iv"].to_numpy(),
        is_call=(terms["option_right"] == "C").to_numpy(),
    )
    assert (quotes["bid"].to_numpy() <= model + 1e-9).all()
    assert (model <= quotes["ask"].to_numpy() + 1e-9).all()
    # Deep in-the-money quotes carry no resolvable time value (the solver says so): skip them.
    liquid = quotes["vendor_vega"].to_numpy() > 1e-4 * spot
    recovered = implied_vol(
        price=model[liquid],
        S=spot,
        K=terms["strike"].to_numpy()[liquid],
        T=years[liquid],
        r=0.04,
        q=0.012,
        is_call=(terms["option_right"] == "C").to_numpy()[liquid],
    )
    np.testing.assert_allclose(recovered, quotes["vendor_iv"].to_numpy()[liquid], atol=1e-8)


def test_smile_has_put_skew() -> None:
    _, frames = next(iter(simulate_sessions(SimulationSpec(tickers=1, sessions=1, seed=5))))
    quotes = frames[tables.OPTION_CHAIN_SNAPSHOTS.name]
    contracts = frames[tables.OPTION_CONTRACTS.name].set_index("contract_symbol")
    terms = contracts.loc[quotes["contract_symbol"]].reset_index()
    front = terms["expiry"] == terms["expiry"].max()
    strikes = terms.loc[front, "strike"].to_numpy()
    vols = quotes.loc[front.to_numpy(), "vendor_iv"].to_numpy()
    assert vols[strikes.argmin()] > vols[np.abs(strikes - quotes["underlying_price"][0]).argmin()]


def _concat(spec: SimulationSpec) -> dict[str, pd.DataFrame]:
    parts: dict[str, list[pd.DataFrame]] = {}
    for _, frames in simulate_sessions(spec):
        for name, frame in frames.items():
            parts.setdefault(name, []).append(frame)
    return {name: pd.concat(frames, ignore_index=True) for name, frames in parts.items()}


def test_bars_are_the_same_with_and_without_chains() -> None:
    with_chains = _concat(SimulationSpec(tickers=3, sessions=30, seed=4))
    bars_only = _concat(SimulationSpec(tickers=3, sessions=30, seed=4, chains=False))

    assert set(bars_only) == {tables.OHLCV_DAILY.name}
    assert len(with_chains[tables.OPTION_CHAIN_SNAPSHOTS.name]) > 0
    assert len(bars_only[tables.OHLCV_DAILY.name]) == 3 * 30
    pd.testing.assert_frame_equal(
        bars_only[tables.OHLCV_DAILY.name], with_chains[tables.OHLCV_DAILY.name]
    )


def test_bars_do_not_depend_on_the_number_of_sessions() -> None:
    short = _concat(SimulationSpec(tickers=2, sessions=30, seed=9, chains=False))
    long = _concat(SimulationSpec(tickers=2, sessions=600, seed=9, chains=False))
    bars = long[tables.OHLCV_DAILY.name]

    pd.testing.assert_frame_equal(bars.iloc[:60], short[tables.OHLCV_DAILY.name])
    assert (bars["low"] <= bars[["open", "close"]].min(axis=1)).all()
    assert (bars["high"] >= bars[["open", "close"]].max(axis=1)).all()
    assert (bars["low"] > 0).all()
    assert bars.groupby("ticker")["close"].nunique().min() > 500  # the path keeps moving
