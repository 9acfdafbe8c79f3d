"""Write the market simulator's sessions through a store, one transaction per session."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pandas as pd

from optionscope.domain import tables
from optionscope.domain.instruments import tickers_frame
from optionscope.ingest.service import Clock, stamp_ingested, utc_now
from optionscope.sources.simulator import SimulationSpec, simulate_sessions
from optionscope.storage import Store


@dataclass(slots=True)
class SimulationResult:
    """Rows written by `write_simulation`."""

    tickers: int = 0
    sessions: int = 0
    bars: int = 0
    contracts: int = 0
    quotes: int = 0


def write_simulation(
    store: Store,
    spec: SimulationSpec,
    *,
    on_session_done: Callable[[date], None] | None = None,
    clock: Clock = utc_now,
) -> SimulationResult:
    """Simulate `spec` and write it through `store`, one transaction per session.

    Args:
        store: Target store (migrated).
        spec: What to simulate.
        on_session_done: Called after each session is written (progress reporting).
        clock: Source of `ts_ingested`.
    """
    result = SimulationResult(tickers=spec.tickers)
    store.upsert(tables.TICKERS, tickers_frame(spec.ticker_names), on_conflict="ignore")
    order = (
        tables.OHLCV_DAILY,
        tables.OPTION_CONTRACTS,
        tables.CHAIN_SNAPSHOTS,
        tables.OPTION_CHAIN_SNAPSHOTS,
    )
    for session, simulated in simulate_sessions(spec):
        frames = stamp_ingested(simulated, pd.Timestamp(clock()))
        with store.transaction() as transaction:
            for table in order:
                frame = frames.get(table.name)
                if frame is not None and len(frame):
                    transaction.upsert(table, frame)
        result.sessions += 1
        result.bars += len(frames[tables.OHLCV_DAILY.name])
        result.contracts += len(frames.get(tables.OPTION_CONTRACTS.name, ()))
        result.quotes += len(frames[tables.OPTION_CHAIN_SNAPSHOTS.name])
        if on_session_done is not None:
            on_session_done(session)
    return result
