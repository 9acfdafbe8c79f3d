"""A deterministic market simulator writing through the same store as real data.

Model, per ticker. The ticker's parameters and its bars draw from
`numpy.random.default_rng(SeedSequence([seed, ticker]))`, its chains from a generator of
the first child of that seed sequence (`SeedSequence.spawn`). So a ticker's path does not
depend on how many other tickers are simulated, and the bars are the same whether chains
are simulated or not (`SimulationSpec.chains`).

* Spot follows a GBM with a mean-reverting volatility regime:
  `sigma_t+1 = sigma_t + kappa (sigma_bar - sigma_t) + xi z'`, daily log return
  `(mu - sigma_t^2 / 2) dt + sigma_t sqrt(dt) z` with `dt = 1/252`, and rare jumps (a 1%
  chance a session). Open, high and low come from the close-to-close move plus a range term.
  The bar draws are standard normals, `BAR_DRAWS` per session, drawn `BAR_BLOCK` sessions at
  a time per ticker and vectorised across tickers (a session costs microseconds per ticker).
* Chains are snapshotted at 16:00 America/New_York on every session, for the next weekly
  Fridays and the third-Friday monthlies: `WEEKLY_EXPIRIES` + `MONTHLY_EXPIRIES` expiries.
* Implied vol: `sigma(k, T) = atm(T) * (1 - skew x + curvature x^2)`, `x = k / sqrt(T)`,
  `k = ln(K/F)`, `atm(T) = sigma_t * (1 + term_slope (sqrt(T) - sqrt(30/365)))`, clipped to
  [0.03, 3]. Prices and greeks come from `optionscope.pricing` (BSM with r, q).
* Bid/ask straddle the model price: half-spread `max(tick, 3% price)`, rounded outwards to
  the tick (0.01 under 3.00, else 0.05), bid floored at 0.
* Open interest: a bell in log-moneyness around the forward, heavier on round strikes and
  near expiries, times lognormal noise; volume is a random share of it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from optionscope.domain import tables
from optionscope.domain.calendar import settlement_instant, trading_sessions
from optionscope.domain.symbols import format_osi
from optionscope.pricing import greeks, price, time_to_expiry

TRADING_DAYS_PER_YEAR = 252
RATE = 0.04
DIVIDEND_YIELD = 0.012
WEEKLY_EXPIRIES = 4
MONTHLY_EXPIRIES = 6
STRIKES_PER_SIDE = 20
MULTIPLIER = 100.0
SOURCE = "simulator"
BAR_DRAWS = 8
"""Standard normals per ticker and session: vol shock, jump trigger, jump size, gap, return,
high extent, low extent, volume."""
BAR_BLOCK = 256
"""Sessions of bar draws generated at once per ticker (a constant, so paths never depend on it
through the number of sessions simulated)."""
JUMP_THRESHOLD = 2.3263478740408408
"""A session jumps when its trigger normal exceeds this: the 99% standard normal quantile."""


@dataclass(frozen=True, slots=True)
class SimulationSpec:
    """What to simulate.

    Attributes:
        tickers: Number of synthetic underlyings (named SIMAAA, SIMAAB, ...).
        sessions: Number of consecutive XNYS sessions.
        seed: Seed; the same spec gives the same market, byte for byte.
        start: First session (or the next session after it).
        chains: Simulate option chains (contracts, chain snapshots, quotes; about 8 ms per
            ticker and session). With `False` only the daily bars (`ohlcv_daily`) are yielded,
            at about 1 us per ticker and session; the bars are identical either way.
    """

    tickers: int
    sessions: int
    seed: int = 0
    start: date = date(2024, 1, 2)
    chains: bool = True

    @property
    def ticker_names(self) -> list[str]:
        """Return the synthetic tickers: SIM followed by three letters."""
        letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        return [
            "SIM" + letters[i // 676 % 26] + letters[i // 26 % 26] + letters[i % 26]
            for i in range(self.tickers)
        ]


@dataclass(slots=True)
class _TickerState:
    """A ticker's chain parameters and the chain draws (`rng`, independent of the bars)."""

    ticker: str
    rng: np.random.Generator
    skew: float
    curvature: float
    term_slope: float
    open_interest_scale: float
    listed: set[str] = field(default_factory=set)


@dataclass(slots=True)
class _Bars:
    """Every ticker's bar state, as arrays over tickers, and its bar draws.

    `spot` is the unrounded last close (USD), `vol` and `long_run_vol` annualised volatility
    (0.2 = 20%), `open_interest_scale` contracts; `draws` holds the current block of standard
    normals, shape `(tickers, BAR_BLOCK, BAR_DRAWS)` (8 MB for 500 tickers).
    """

    tickers: list[str]
    rngs: list[np.random.Generator]
    spot: np.ndarray
    vol: np.ndarray
    long_run_vol: np.ndarray
    open_interest_scale: np.ndarray
    draws: np.ndarray = field(default_factory=lambda: np.empty((0, BAR_BLOCK, BAR_DRAWS)))
    position: int = BAR_BLOCK

    def next_draws(self) -> np.ndarray:
        """Return this session's standard normals, shape `(tickers, BAR_DRAWS)`."""
        if self.position == BAR_BLOCK:
            self.draws = np.stack(
                [rng.standard_normal((BAR_BLOCK, BAR_DRAWS)) for rng in self.rngs]
            )
            self.position = 0
        out = self.draws[:, self.position, :]
        self.position += 1
        return out


def simulate_sessions(spec: SimulationSpec) -> Iterator[tuple[date, dict[str, pd.DataFrame]]]:
    """Yield, session by session, the canonical frames of that session (all tickers).

    With `spec.chains` the frames are `ohlcv_daily`, `option_contracts`, `chain_snapshots` and
    `option_chain_snapshots`; without, `ohlcv_daily` only. Memory stays bounded by one
    session's chains (and one block of bar draws) whatever the number of sessions.
    """
    bars, states = _initial_states(spec.seed, spec.ticker_names)
    for session in trading_sessions(spec.start, spec.sessions):
        day = _simulate_bars(bars, session)
        if not spec.chains:
            yield session, {tables.OHLCV_DAILY.name: day}
            continue
        frames: dict[str, list[pd.DataFrame]] = {}
        closes = day["close"].to_numpy()
        for index, state in enumerate(states):
            chain = _simulate_day(
                state, session, close=float(closes[index]), vol=float(bars.vol[index])
            )
            for name, frame in chain.items():
                frames.setdefault(name, []).append(frame)
        yield (
            session,
            {
                tables.OHLCV_DAILY.name: day,
                **{name: pd.concat(parts, ignore_index=True) for name, parts in frames.items()},
            },
        )


def _initial_states(seed: int, names: list[str]) -> tuple[_Bars, list[_TickerState]]:
    rngs, spots, vols, states = [], [], [], []
    for index, name in enumerate(names):
        sequence = np.random.SeedSequence([seed, index])
        rng = np.random.default_rng(sequence)
        vols.append(float(rng.uniform(0.12, 0.55)))
        spots.append(float(np.exp(rng.uniform(np.log(20.0), np.log(800.0)))))
        rngs.append(rng)
        states.append(
            _TickerState(
                ticker=name,
                rng=np.random.default_rng(sequence.spawn(1)[0]),
                skew=float(rng.uniform(0.05, 0.25)),
                curvature=float(rng.uniform(0.02, 0.12)),
                term_slope=float(rng.uniform(-0.15, 0.25)),
                open_interest_scale=float(np.exp(rng.uniform(np.log(200.0), np.log(20_000.0)))),
            )
        )
    bars = _Bars(
        tickers=list(names),
        rngs=rngs,
        spot=np.array(spots, dtype=float),
        vol=np.array(vols, dtype=float),
        long_run_vol=np.array(vols, dtype=float),
        open_interest_scale=np.array([s.open_interest_scale for s in states], dtype=float),
    )
    return bars, states


def _simulate_bars(bars: _Bars, session: date) -> pd.DataFrame:
    """Advance every ticker one session; return the session's `ohlcv_daily` rows."""
    z = bars.next_draws()
    dt = 1.0 / TRADING_DAYS_PER_YEAR
    root_dt = np.sqrt(dt)
    previous = bars.spot
    vol = np.clip(bars.vol + 0.05 * (bars.long_run_vol - bars.vol) + 0.02 * z[:, 0], 0.05, 1.5)
    jump = np.where(z[:, 1] > JUMP_THRESHOLD, z[:, 2] * 3 * vol * root_dt, 0.0)
    gap = 0.2 * vol * root_dt * z[:, 3]
    log_return = (0.06 - 0.5 * vol**2) * dt + vol * root_dt * z[:, 4] + jump
    close = previous * np.exp(log_return)
    open_ = previous * np.exp(gap)
    high = np.maximum(open_, close) * np.exp(np.abs(z[:, 5]) * 0.5 * vol * root_dt)
    low = np.minimum(open_, close) * np.exp(-np.abs(z[:, 6]) * 0.5 * vol * root_dt)
    volume = np.round(bars.open_interest_scale * 500 * np.exp(0.3 * z[:, 7]))
    bars.vol, bars.spot = vol, close
    return pd.DataFrame(
        {
            "ticker": bars.tickers,
            "session_date": [session] * len(bars.tickers),
            "open": np.round(open_, 2),
            "high": np.round(high, 2),
            "low": np.round(low, 2),
            "close": np.round(close, 2),
            "volume": volume,
            "is_adjusted": False,
            "source": SOURCE,
        }
    )


def _expiries(session: date) -> list[date]:
    fridays = pd.date_range(pd.Timestamp(session) + pd.Timedelta(days=1), periods=400, freq="W-FRI")
    weeklies = [d.date() for d in fridays[:WEEKLY_EXPIRIES]]
    monthlies = [d.date() for d in fridays if 15 <= d.day <= 21][:MONTHLY_EXPIRIES]
    return sorted(set(weeklies) | set(monthlies))


def _strike_step(spot: float) -> float:
    for limit, step in ((25.0, 0.5), (100.0, 1.0), (250.0, 2.5), (1000.0, 5.0)):
        if spot < limit:
            return step
    return 10.0


def _simulate_day(
    state: _TickerState, session: date, *, close: float, vol: float
) -> dict[str, pd.DataFrame]:
    """Return one ticker's chain frames at the session's close (`close` in USD, `vol` annual)."""
    snapshot_time = settlement_instant(session, settlement_type="PM")
    expiries = _expiries(session)
    step = _strike_step(close)
    center = np.round(close / step) * step
    strikes = center + step * np.arange(-STRIKES_PER_SIDE, STRIKES_PER_SIDE + 1)
    strikes = strikes[strikes > 0]
    expiry_grid = np.repeat(np.array(expiries, dtype=object), strikes.size * 2)
    strike_grid = np.tile(np.repeat(strikes, 2), len(expiries))
    is_call = np.tile(np.array([True, False]), strikes.size * len(expiries))
    settlement = [settlement_instant(e, settlement_type="PM") for e in expiries]
    years = time_to_expiry(now=snapshot_time, expiry=settlement)
    expiry_years = np.repeat(years, strikes.size * 2)
    forward = close * np.exp((RATE - DIVIDEND_YIELD) * expiry_years)
    x = np.log(strike_grid / forward) / np.sqrt(expiry_years)
    atm = vol * (1 + state.term_slope * (np.sqrt(expiry_years) - np.sqrt(30 / 365)))
    sigma = np.clip(atm * (1 - state.skew * x + state.curvature * x**2), 0.03, 3.0)
    inputs = {
        "S": close,
        "K": strike_grid,
        "T": expiry_years,
        "r": RATE,
        "q": DIVIDEND_YIELD,
        "sigma": sigma,
        "is_call": is_call,
    }
    model = price(**inputs)
    sensitivities = greeks(**inputs)
    bid, ask = _quotes(np.asarray(model, dtype=float))
    open_interest = _open_interest(state, x, strike_grid, expiry_years)
    volume = np.floor(open_interest * state.rng.uniform(0.0, 0.3, size=x.size))
    rights = np.where(is_call, "C", "P")
    symbols = [
        format_osi(state.ticker, e, r, k)
        for e, r, k in zip(expiry_grid, rights, strike_grid, strict=True)
    ]
    quotes = pd.DataFrame(
        {
            "underlying": state.ticker,
            "snapshot_time": snapshot_time,
            "contract_symbol": symbols,
            "bid": bid,
            "ask": ask,
            "last": np.nan,
            "mark": np.nan,
            "price_currency": "USD",
            "volume": volume,
            "open_interest": open_interest,
            "vendor_iv": sigma,
            "vendor_delta": sensitivities["delta"],
            "vendor_gamma": sensitivities["gamma"],
            "vendor_vega": sensitivities["vega"],
            "vendor_theta": sensitivities["theta"],
            "underlying_price": close,
            "source": SOURCE,
            "ts_event": snapshot_time,
        }
    )
    new = [i for i, symbol in enumerate(symbols) if symbol not in state.listed]
    state.listed.update(symbols[i] for i in new)
    contracts = pd.DataFrame(
        {
            "contract_symbol": [symbols[i] for i in new],
            "underlying": state.ticker,
            "root": state.ticker,
            "expiry": [expiry_grid[i] for i in new],
            "settlement_time": [
                settlement_instant(expiry_grid[i], settlement_type="PM") for i in new
            ],
            "settlement_type": "PM",
            "strike": strike_grid[new],
            "option_right": rights[new],
            "exercise_style": "american",
            "multiplier": MULTIPLIER,
            "premium_currency": "USD",
        }
    )
    snapshot = pd.DataFrame(
        {
            "underlying": [state.ticker],
            "snapshot_time": [snapshot_time],
            "session_date": [session],
            "source": [SOURCE],
            "source_file": [None],
            "header_spot": [close],
            "header_bid": [np.nan],
            "header_ask": [np.nan],
            "parity_spot": [np.nan],
            "spot_check": ["unchecked"],
            "quality_flags": [json.dumps([])],
            "contract_count": [len(symbols)],
        }
    )
    return {
        tables.OPTION_CONTRACTS.name: contracts,
        tables.CHAIN_SNAPSHOTS.name: snapshot,
        tables.OPTION_CHAIN_SNAPSHOTS.name: quotes,
    }


def _quotes(model: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    tick = np.where(model < 3.0, 0.01, 0.05)
    half_spread = np.maximum(tick, 0.03 * model)
    bid = np.maximum(np.floor((model - half_spread) / tick) * tick, 0.0)
    ask = np.ceil((model + half_spread) / tick) * tick
    return np.round(bid, 2), np.round(ask, 2)


def _open_interest(
    state: _TickerState, x: np.ndarray, strikes: np.ndarray, expiry_years: np.ndarray
) -> np.ndarray:
    bell = np.exp(-0.5 * (x / 0.35) ** 2)
    round_strike = np.where(
        np.isclose(np.mod(strikes, 10 * _strike_step(float(strikes[0]))), 0.0), 2.0, 1.0
    )
    near_expiry = 1.0 / (1.0 + 4.0 * expiry_years)
    noise = state.rng.lognormal(0.0, 0.6, size=x.size)
    return np.floor(state.open_interest_scale * bell * round_strike * near_expiry * noise)
