"""Fixtures of the engine tests: a simulated market with chains, and cheap bar-only tickers.

- `market`: 2 simulated tickers x 270 sessions of bars, daily chains on the last 140 (210k
  quote rows),
  simulated once per test session; `market_store` is a fresh store (each backend) holding
  it, both tickers on the watchlist; `write(store, frames)` writes table frames.
- `bars_only(tickers, sessions)`: seeded GBM daily bars and ticker rows (no chains).
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optionscope.domain import tables
from optionscope.domain.calendar import trading_sessions
from optionscope.domain.instruments import tickers_frame
from optionscope.sources.simulator import SimulationSpec, simulate_sessions
from optionscope.storage import Store, open_store

# The backfill tests name their catalogs by reference ("backfill_catalogs:flaky_catalog");
# worker processes (the pool's forkserver, Dask's spawned workers) import them by name, so
# this folder goes on the path here and, inherited through the environment, on theirs.
HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
os.environ["PYTHONPATH"] = os.pathsep.join(
    part for part in (HERE, os.environ.get("PYTHONPATH")) if part
)

INGESTED = pd.Timestamp("2024-03-01 00:00", tz="UTC")
MARKET_START = date(2023, 1, 3)
MARKET_SESSIONS = 270
CHAIN_SESSIONS = 140

Market = dict[str, pd.DataFrame]
WRITE_ORDER = (
    tables.OHLCV_DAILY,
    tables.OPTION_CONTRACTS,
    tables.CHAIN_SNAPSHOTS,
    tables.OPTION_CHAIN_SNAPSHOTS,
)


@pytest.fixture(scope="session")
def market() -> Market:
    spec = SimulationSpec(tickers=2, sessions=MARKET_SESSIONS, seed=11, start=MARKET_START)
    parts: dict[str, list[pd.DataFrame]] = {}
    for _, frames in simulate_sessions(spec):
        for name, frame in frames.items():
            parts.setdefault(name, []).append(frame)
    market = {name: pd.concat(frames, ignore_index=True) for name, frames in parts.items()}
    # Chains on the last CHAIN_SESSIONS sessions only: enough for IV rank (126 prior
    # observations) at the end, and the tests stay fast.
    first_chain = trading_sessions(MARKET_START, MARKET_SESSIONS)[-CHAIN_SESSIONS]
    snapshots = market[tables.CHAIN_SNAPSHOTS.name]
    market[tables.CHAIN_SNAPSHOTS.name] = snapshots[snapshots["session_date"] >= first_chain]
    quotes = market[tables.OPTION_CHAIN_SNAPSHOTS.name]
    kept = set(market[tables.CHAIN_SNAPSHOTS.name]["snapshot_time"])
    market[tables.OPTION_CHAIN_SNAPSHOTS.name] = quotes[quotes["snapshot_time"].isin(kept)]
    for spec_ in WRITE_ORDER:
        market[spec_.name] = (
            market[spec_.name].assign(ts_ingested=INGESTED).loc[:, list(spec_.column_names)]
        )
    market[tables.TICKERS.name] = tickers_frame(spec.ticker_names).assign(is_watchlist=True)
    return market


def make_bars_only(names: Sequence[str], sessions: int, start: date = MARKET_START) -> Market:
    days = trading_sessions(start, sessions)
    frames = []
    for index, name in enumerate(names):
        rng = np.random.default_rng(index + 100)
        close = np.round(40.0 * np.exp(np.cumsum(rng.normal(0, 0.012, sessions))), 2)
        open_ = np.round(np.r_[close[0], close[:-1]] * np.exp(rng.normal(0, 0.003, sessions)), 2)
        spread = np.abs(rng.normal(0, 0.008, sessions))
        frames.append(
            pd.DataFrame(
                {
                    "ticker": name,
                    "session_date": days,
                    "open": open_,
                    "high": np.round(np.maximum(open_, close) * (1 + spread), 2),
                    "low": np.round(np.minimum(open_, close) * (1 - spread), 2),
                    "close": close,
                    "volume": np.round(rng.lognormal(14, 0.4, sessions)),
                    "is_adjusted": False,
                    "source": "test",
                    "ts_ingested": INGESTED,
                }
            )
        )
    return {
        tables.OHLCV_DAILY.name: pd.concat(frames, ignore_index=True),
        tables.TICKERS.name: tickers_frame(list(names)).assign(is_watchlist=True),
    }


@pytest.fixture(scope="session")
def bars_only() -> Callable[..., Market]:
    return make_bars_only


def write_frames(store: Store, frames: Market) -> None:
    """Write `frames` (table name -> rows) through `store` in one transaction."""
    with store.transaction() as transaction:
        for spec in (tables.TICKERS, *WRITE_ORDER):
            frame = frames.get(spec.name)
            if frame is not None and len(frame):
                transaction.upsert(spec, frame)


@pytest.fixture
def market_store(store: Store, market: Market) -> Store:
    """A fresh store (each backend) holding the simulated market, tickers on the watchlist."""
    write_frames(store, market)
    return store


@pytest.fixture(scope="session")
def write() -> Callable[[Store, Market], None]:
    return write_frames


MakeBarTarget = Callable[..., str]


@pytest.fixture
def make_bar_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeBarTarget]:
    """Make migrated stores holding bars-only tickers, named by target (as workers open them).

    ``make(backend, tickers, sessions, start)`` returns a DuckDB file path (``duckdb``) or the
    URL of a fresh database on the suite's PostgreSQL server (``postgresql``; dropped after
    the test).
    """
    created: list[str] = []
    files = itertools.count()

    def make(
        backend: str, tickers: Sequence[str], sessions: int, start: date = MARKET_START
    ) -> str:
        if backend == "duckdb":
            url = str(tmp_path / f"bars-{next(files)}.duckdb")
        else:
            databases = request.getfixturevalue("postgres_databases")
            name = databases.create(migrated=True)
            created.append(name)
            url = databases.server.url(name)
        with open_store(url) as store:
            store.migrate()
            write_frames(store, make_bars_only(tickers, sessions, start))
        return url

    yield make
    for name in created:
        request.getfixturevalue("postgres_databases").drop(name)
