"""Write the market simulator's sessions through a store, one transaction per session.

Bars-only simulations (`SimulationSpec.chains=False`) batch `BARS_SESSIONS_PER_TRANSACTION`
sessions per transaction instead: a session is then a few hundred rows, and a transaction
per session would cost more than the simulation itself.
"""

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

BARS_SESSIONS_PER_TRANSACTION = 250
"""Sessions per transaction of a bars-only simulation (bounds memory: 250 x tickers rows)."""

_ORDER = (
    tables.OHLCV_DAILY,
    tables.OPTION_CONTRACTS,
    tables.CHAIN_SNAPSHOTS,
    tables.OPTION_CHAIN_SNAPSHOTS,
)


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
    """Simulate `spec` and write it through `store`.

    One transaction per session; a bars-only spec (`spec.chains` false) writes
    `BARS_SESSIONS_PER_TRANSACTION` sessions per transaction.

    Args:
        store: Target store (migrated).
        spec: What to simulate.
        on_session_done: Called after each session is written (progress reporting; in
            bars-only mode, for every session of a batch once the batch is committed).
        clock: Source of `ts_ingested`.
    """
    result = SimulationResult(tickers=spec.tickers)
    store.upsert(tables.TICKERS, tickers_frame(spec.ticker_names), on_conflict="ignore")
    per_transaction = 1 if spec.chains else BARS_SESSIONS_PER_TRANSACTION
    pending: list[tuple[date, dict[str, pd.DataFrame]]] = []
    for session, simulated in simulate_sessions(spec):
        pending.append((session, stamp_ingested(simulated, pd.Timestamp(clock()))))
        if len(pending) == per_transaction:
            _write_batch(store, pending, result, on_session_done)
            pending = []
    if pending:
        _write_batch(store, pending, result, on_session_done)
    return result


def _write_batch(
    store: Store,
    batch: list[tuple[date, dict[str, pd.DataFrame]]],
    result: SimulationResult,
    on_session_done: Callable[[date], None] | None,
) -> None:
    """Write the sessions of `batch` in one transaction, then count them in `result`."""
    with store.transaction() as transaction:
        for table in _ORDER:
            parts = [frames[table.name] for _, frames in batch if len(frames.get(table.name, ()))]
            if parts:
                frame = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
                transaction.upsert(table, frame)
    for session, frames in batch:
        result.sessions += 1
        result.bars += len(frames.get(tables.OHLCV_DAILY.name, ()))
        result.contracts += len(frames.get(tables.OPTION_CONTRACTS.name, ()))
        result.quotes += len(frames.get(tables.OPTION_CHAIN_SNAPSHOTS.name, ()))
        if on_session_done is not None:
            on_session_done(session)
