"""Run planning: which as-of sessions each ticker gets, for an event, a batch or a range.

The three ways in differ only here; everything after planning is one code path:

* **event** (a ticker joined the watchlist or got new data): the last `event_sessions`
  sessions of the ticker's own data (bars or chain snapshots), not before its first one;
* **batch**: one session for every ticker: ``as_of``, or by default the latest session any
  of them has data for (taken from the store, never from the clock), so a ticker without data
  that day still gets a row saying so;
* **range**: the sessions in ``[start, end]`` that lie within the ticker's data span.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

import pandas as pd

from optionscope.domain import tables
from optionscope.domain.instruments import describe_ticker
from optionscope.engine.sessions import is_session, sessions_between, sessions_ending
from optionscope.storage import Between, Store

DEFAULT_EVENT_SESSIONS = 252
"""Sessions an event computes: a year of rows, enough for IV rank and charts at once."""

DEFAULT_CHUNK_SESSIONS = 63
"""Sessions of one ticker loaded and computed together (a quarter): bounds the chains held
in memory by a long range; results do not depend on it."""


class RunMode(StrEnum):
    """The three ways into the engine."""

    EVENT = "event"
    BATCH = "batch"
    RANGE = "range"


class PlanError(ValueError):
    """A run request cannot be planned (bad dates, no tickers)."""


@dataclass(frozen=True, slots=True)
class RunRequest:
    """What to compute.

    Attributes:
        mode: event, batch or range.
        tickers: Tickers to compute; None means the watchlist.
        as_of: Batch session; None means the latest session with data.
        start: First session of a range (inclusive).
        end: Last session of a range (inclusive).
        families: Family names to run; None means the whole catalog.
        dry_run: Compute and return the rows without writing anything.
        event_sessions: Sessions an event computes.
        chunk_sessions: Sessions per work unit (a ticker's sessions are computed in date
            chunks of this size, in date order).
        snapshot_time: Batch only: the chain snapshot instant (tz-aware) to compute instead
            of the session's latest; the session is that snapshot's. Every ticker must have
            a snapshot at exactly that instant.
    """

    mode: RunMode
    tickers: tuple[str, ...] | None = None
    as_of: date | None = None
    start: date | None = None
    end: date | None = None
    families: tuple[str, ...] | None = None
    dry_run: bool = False
    event_sessions: int = DEFAULT_EVENT_SESSIONS
    chunk_sessions: int = DEFAULT_CHUNK_SESSIONS
    snapshot_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class TickerPlan:
    """The sessions one ticker gets.

    Attributes:
        ticker: The ticker.
        calendar: Its calendar (XNYS or 24/7).
        as_of_dates: Sessions to compute, ascending (empty: skipped, see ``note``).
        note: Why the ticker is skipped, if it is.
    """

    ticker: str
    calendar: str
    as_of_dates: tuple[date, ...]
    note: str | None = None


@dataclass(frozen=True, slots=True)
class RunPlan:
    """A planned run: the request and one `TickerPlan` per ticker."""

    request: RunRequest
    tickers: tuple[TickerPlan, ...] = field(default_factory=tuple)

    @property
    def as_of_first(self) -> date | None:
        """Return the earliest planned session, or None when nothing is planned."""
        days = [plan.as_of_dates[0] for plan in self.tickers if plan.as_of_dates]
        return min(days) if days else None

    @property
    def as_of_last(self) -> date | None:
        """Return the latest planned session, or None when nothing is planned."""
        days = [plan.as_of_dates[-1] for plan in self.tickers if plan.as_of_dates]
        return max(days) if days else None

    @property
    def rows(self) -> int:
        """Return the number of (ticker, session) rows per family."""
        return sum(len(plan.as_of_dates) for plan in self.tickers)

    def rounds(self) -> list[list[TickerPlan]]:
        """Return the work units: round ``r`` holds the ``r``-th date chunk of every ticker.

        Rounds run in order, so a unit's earlier sessions (which its own history may need)
        are computed, and written, before it. A skipped ticker is one empty unit.
        """
        size = max(self.request.chunk_sessions, 1)
        rounds: list[list[TickerPlan]] = []
        for plan in self.tickers:
            days = plan.as_of_dates
            pieces = [days[start : start + size] for start in range(0, len(days), size)]
            for index, piece in enumerate(pieces or [()]):
                if len(rounds) <= index:
                    rounds.append([])
                rounds[index].append(
                    TickerPlan(plan.ticker, plan.calendar, tuple(piece), plan.note)
                )
        return rounds

    @property
    def units(self) -> int:
        """Return the number of work units (see `rounds`)."""
        return sum(len(units) for units in self.rounds())


def watchlist(store: Store) -> tuple[str, ...]:
    """Return the watchlist tickers, sorted."""
    frame = store.read(tables.TICKERS, where={"is_watchlist": True}, order_by=["ticker"])
    return tuple(str(ticker) for ticker in frame["ticker"])


def ticker_calendars(store: Store, tickers: Sequence[str]) -> dict[str, str]:
    """Return each ticker's calendar (from `tickers`, else inferred from the symbol)."""
    known = store.read(tables.TICKERS, where={"ticker": list(tickers)})
    calendars = dict(zip(known["ticker"], known["calendar"], strict=True))
    return {t: str(calendars.get(t, describe_ticker(t).calendar)) for t in tickers}


def data_spans(
    store: Store, tickers: Sequence[str], start: date | None = None, end: date | None = None
) -> dict[str, tuple[date, date]]:
    """Return, per ticker with data in ``[start, end]``, its first and last data session.

    Data means a daily bar or a chain snapshot.
    """
    window = Between(start, end)
    bars = store.read(tables.OHLCV_DAILY, where={"ticker": list(tickers), "session_date": window})
    chains = store.read(
        tables.CHAIN_SNAPSHOTS, where={"underlying": list(tickers), "session_date": window}
    )
    dates = pd.concat(
        [
            bars.loc[:, ["ticker", "session_date"]],
            chains.loc[:, ["underlying", "session_date"]].rename(columns={"underlying": "ticker"}),
        ],
        ignore_index=True,
    )
    spans = {}
    for ticker, group in dates.groupby("ticker", sort=True):
        spans[str(ticker)] = (min(group["session_date"]), max(group["session_date"]))
    return spans


def plan_run(store: Store, request: RunRequest) -> RunPlan:
    """Return the sessions each ticker gets for `request`.

    Raises:
        PlanError: The request is inconsistent (a range without both ends, an event without
            tickers, a range that ends before it starts, a snapshot instant outside a batch
            or one that a ticker has no snapshot at).
    """
    if request.snapshot_time is not None and request.mode is not RunMode.BATCH:
        raise PlanError("a snapshot instant (--snapshot-time) selects one batch session")
    tickers = request.tickers if request.tickers is not None else watchlist(store)
    tickers = tuple(dict.fromkeys(t.strip().upper() for t in tickers))
    calendars = ticker_calendars(store, tickers) if tickers else {}
    if request.mode is RunMode.RANGE:
        if request.start is None or request.end is None or request.end < request.start:
            raise PlanError("a range needs --from and --to with from <= to")
        spans = data_spans(store, tickers, request.start, request.end) if tickers else {}
        plans = [_range_plan(t, calendars[t], spans.get(t)) for t in tickers]
    elif request.mode is RunMode.EVENT:
        if not tickers:
            raise PlanError("an event needs at least one ticker")
        spans = data_spans(store, tickers)
        plans = [
            _event_plan(t, calendars[t], spans.get(t), request.event_sessions) for t in tickers
        ]
    else:
        as_of = request.as_of
        if request.snapshot_time is not None:
            as_of = _snapshot_session(store, tickers, request.snapshot_time, as_of)
        if as_of is None and tickers:
            spans = data_spans(store, tickers)
            as_of = max((last for _, last in spans.values()), default=None)
        plans = [_batch_plan(t, calendars[t], as_of) for t in tickers]
    return RunPlan(request=request, tickers=tuple(plans))


def _snapshot_session(
    store: Store, tickers: Sequence[str], instant: datetime, as_of: date | None
) -> date:
    """Return the session of the snapshots at `instant`; every ticker must have one."""
    if instant.tzinfo is None:
        raise PlanError(f"snapshot instant {instant} needs a timezone")
    stamp = pd.Timestamp(instant).tz_convert("UTC")
    found = store.read(
        tables.CHAIN_SNAPSHOTS,
        where={"underlying": list(tickers), "snapshot_time": stamp.to_pydatetime()},
    )
    sessions = dict(zip(found["underlying"], found["session_date"], strict=True))
    for ticker in tickers:
        if ticker not in sessions:
            raise PlanError(_no_snapshot_message(store, ticker, stamp))
    days = set(sessions.values())
    if len(days) != 1 or (as_of is not None and as_of not in days):
        raise PlanError(
            f"the snapshots at {stamp.isoformat()} belong to session(s) "
            f"{', '.join(sorted(map(str, days)))}, not one session{f' {as_of}' if as_of else ''}"
        )
    day: date = days.pop()
    return day


def _no_snapshot_message(store: Store, ticker: str, stamp: pd.Timestamp) -> str:
    nearby = store.read(
        tables.CHAIN_SNAPSHOTS,
        where={
            "underlying": ticker,
            "snapshot_time": Between(
                (stamp - pd.Timedelta(days=3)).to_pydatetime(),
                (stamp + pd.Timedelta(days=3)).to_pydatetime(),
            ),
        },
        order_by=["snapshot_time"],
    )
    shown = ", ".join(pd.Timestamp(t).isoformat() for t in nearby["snapshot_time"])
    return f"no chain snapshot of {ticker} at {stamp.isoformat()}" + (
        f" (stored within 3 days: {shown})" if shown else " (none stored within 3 days)"
    )


def _range_plan(ticker: str, calendar: str, span: tuple[date, date] | None) -> TickerPlan:
    if span is None:
        return TickerPlan(ticker, calendar, (), note="no data in the range")
    return TickerPlan(ticker, calendar, tuple(sessions_between(span[0], span[1], calendar)))


def _event_plan(
    ticker: str, calendar: str, span: tuple[date, date] | None, count: int
) -> TickerPlan:
    if span is None:
        return TickerPlan(ticker, calendar, (), note="no data stored for this ticker")
    days = [d for d in sessions_ending(span[1], count, calendar) if d >= span[0]]
    return TickerPlan(ticker, calendar, tuple(days))


def _batch_plan(ticker: str, calendar: str, as_of: date | None) -> TickerPlan:
    if as_of is None:
        return TickerPlan(ticker, calendar, (), note="no data stored for any ticker")
    if not is_session(as_of, calendar):
        return TickerPlan(ticker, calendar, (), note=f"{as_of} is not a {calendar} session")
    return TickerPlan(ticker, calendar, (as_of,))
