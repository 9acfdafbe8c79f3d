"""Writing the simulator through a store: chains or bars only."""

from __future__ import annotations

from datetime import date

import pytest

from optionscope.domain import tables
from optionscope.domain.calendar import trading_sessions
from optionscope.ingest import simulation
from optionscope.ingest.simulation import SimulationResult, write_simulation
from optionscope.sources.simulator import SimulationSpec
from optionscope.storage import Store


def test_bars_only_writes_bars_and_no_option_rows(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A small batch size, so the 30 sessions take several transactions and a partial last one.
    monkeypatch.setattr(simulation, "BARS_SESSIONS_PER_TRANSACTION", 7)
    spec = SimulationSpec(tickers=3, sessions=30, seed=2, start=date(2024, 1, 2), chains=False)
    done: list[date] = []

    result = write_simulation(store, spec, on_session_done=done.append)

    assert result == SimulationResult(tickers=3, sessions=30, bars=90, contracts=0, quotes=0)
    assert done == trading_sessions(spec.start, 30)
    bars = store.read(tables.OHLCV_DAILY)
    assert len(bars) == 90
    assert set(bars["ticker"]) == set(spec.ticker_names)
    for table in (tables.OPTION_CONTRACTS, tables.CHAIN_SNAPSHOTS, tables.OPTION_CHAIN_SNAPSHOTS):
        assert len(store.read(table)) == 0
    assert len(store.read(tables.TICKERS)) == 3


def test_with_chains_writes_the_same_bars_and_the_chains(store: Store) -> None:
    spec = SimulationSpec(tickers=2, sessions=2, seed=2)

    result = write_simulation(store, spec)

    assert result.sessions == 2
    assert result.bars == 4
    assert result.contracts > 0
    assert result.quotes == len(store.read(tables.OPTION_CHAIN_SNAPSHOTS)) > 0
    assert len(store.read(tables.CHAIN_SNAPSHOTS)) == 4
