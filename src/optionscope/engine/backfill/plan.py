"""Backfill planning: requested minus covered, cut into units (family, tickers, window)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd

from optionscope.engine.ledger import (
    BackfillRequest,
    Unit,
    as_day,
    ensure_ledger,
    job_exists,
    read_coverage,
    save_job,
)
from optionscope.engine.plan import RunMode, RunRequest, plan_run
from optionscope.engine.runlog import Clock, utc_now
from optionscope.engine.sessions import sessions_between
from optionscope.metrics.catalog import select_families
from optionscope.metrics.family import MetricFamily
from optionscope.storage import Store

DEFAULT_UNIT_TICKERS = 25
"""Most tickers in one unit."""
DEFAULT_UNIT_SESSIONS = 1260
"""XNYS sessions in one unit's window (five years)."""
WINDOW_CALENDAR = "XNYS"
"""Calendar whose sessions cut a request into unit windows."""


def unit_windows(start: date, end: date, unit_sessions: int) -> list[tuple[date, date]]:
    """Return windows cutting ``[start, end]`` every `unit_sessions` XNYS sessions.

    The windows cover every day of the range (weekends included, for 24/7 tickers): the
    first starts at `start`, each next one at its first XNYS session, the last ends at `end`.
    """
    sessions = sessions_between(start, end, WINDOW_CALENDAR)
    starts = [start, *sessions[unit_sessions :: max(unit_sessions, 1)]]
    starts = sorted(set(starts))
    ends = [pd.Timestamp(later).date() - pd.Timedelta(days=1) for later in starts[1:]]
    return list(zip(starts, [*ends, end], strict=True))


def _covered_mask(days: np.ndarray, coverage: pd.DataFrame) -> np.ndarray:
    covered = np.zeros(days.size, dtype=bool)
    for first, last in zip(coverage["first_session"], coverage["last_session"], strict=True):
        low = np.datetime64(as_day(first), "D")
        high = np.datetime64(as_day(last), "D")
        covered |= (days >= low) & (days <= high)
    return covered


def plan_units(
    store: Store, families: Sequence[MetricFamily], request: BackfillRequest
) -> list[Unit]:
    """Return the units of `request` that are not covered yet (see the module docstring)."""
    plan = plan_run(
        store,
        RunRequest(RunMode.RANGE, tickers=request.tickers, start=request.start, end=request.end),
    )
    windows = unit_windows(request.start, request.end, request.unit_sessions)
    units: list[Unit] = []
    for family in families:
        coverage = read_coverage(store, family.name, family.version, request.tickers)
        by_ticker = dict(tuple(coverage.groupby("ticker"))) if len(coverage) else {}
        missing: dict[int, list[str]] = {}
        for ticker_plan in plan.tickers:
            days = np.array(ticker_plan.as_of_dates, dtype="datetime64[D]")
            if ticker_plan.ticker in by_ticker:
                days = days[~_covered_mask(days, by_ticker[ticker_plan.ticker])]
            for index, (first, last) in enumerate(windows):
                inside = (days >= np.datetime64(first, "D")) & (days <= np.datetime64(last, "D"))
                if inside.any():
                    missing.setdefault(index, []).append(ticker_plan.ticker)
        for index, (first, last) in enumerate(windows):
            tickers = missing.get(index, [])
            for offset in range(0, len(tickers), request.unit_tickers):
                group = tuple(tickers[offset : offset + request.unit_tickers])
                units.append(Unit(len(units), family.name, group, first, last))
    return units


def plan_backfill(
    store: Store,
    catalog: Sequence[MetricFamily],
    families: Sequence[str],
    tickers: Sequence[str],
    start: date,
    end: date,
    *,
    unit_tickers: int = DEFAULT_UNIT_TICKERS,
    unit_sessions: int = DEFAULT_UNIT_SESSIONS,
    clock: Clock = utc_now,
) -> str:
    """Record the job of this request and its units; return the job id at once.

    A request already recorded keeps its job and units (nothing is planned or written).

    Raises:
        UnknownFamilyError: A family is not in the catalog.
        PlanError: The range is inconsistent or no ticker is given.
    """
    request = BackfillRequest.of(
        families, tickers, start, end, unit_tickers=unit_tickers, unit_sessions=unit_sessions
    )
    selected = select_families(catalog, request.families)
    ensure_ledger(store)
    if not job_exists(store, request.job_id):
        save_job(store, request, plan_units(store, selected, request), clock=clock)
    return request.job_id
