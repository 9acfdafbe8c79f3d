"""Load what the families of a run read, for a chunk of tickers, with a few bulk reads.

Algorithm for one chunk:

1. Per ticker, the sessions to serve: from the largest declared lookback (inputs and own
   history) before its first as-of session, through its last.
2. Bars: one read of `ohlcv_daily` for the chunk over the union of those spans.
3. Chain snapshots: one read of `chain_snapshots`; per (ticker, session) the latest snapshot
   is *the* snapshot of that session.
4. Own history (families with a `HistorySpec`): one read of the family's table (same
   version) for the sessions before each ticker's first as-of session. A stored row counts
   only when it was computed from the snapshot selected now (its `HistorySpec.marker_column`
   matches) and did not fail; sessions with a snapshot and no such row are computed by the family's
   history function from their chain (nothing is written for them).
5. Chain rows: one read of `option_chain_snapshots` for the selected snapshots, joined with
   `option_contracts` (expiry, settlement, strike, right).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import pandas as pd

from optionscope.domain import tables
from optionscope.engine.plan import TickerPlan
from optionscope.engine.sessions import session_before, sessions_between
from optionscope.metrics.family import (
    Dataset,
    FamilyInputs,
    HistorySpec,
    MetricFamily,
    RowStatus,
)
from optionscope.storage import Between, Store

HistoryCache = dict[tuple[str, str], pd.DataFrame]
"""(family name, ticker) -> rows of the family's table computed earlier in the same run."""

BAR_FRAME_COLUMNS: tuple[str, ...] = ("session_date", "open", "high", "low", "close", "volume")
CHAIN_FRAME_COLUMNS: tuple[str, ...] = (
    "session_date",
    "snapshot_time",
    "contract_symbol",
    "expiry",
    "settlement_time",
    "strike",
    "option_right",
    "bid",
    "ask",
    "open_interest",
    "volume",
    "vendor_iv",
    "vendor_gamma",
    "parity_spot",
)


@dataclass(slots=True)
class TickerData:
    """Everything loaded for one ticker of a chunk.

    Attributes:
        plan: The ticker's plan.
        sessions: Calendar sessions from the largest lookback through the last as-of.
        bars: Daily bars of those sessions (`BAR_FRAME_COLUMNS`).
        chains: Chain rows of the as-of sessions' snapshots (`CHAIN_FRAME_COLUMNS`).
        history: Family name -> own history frame (``as_of`` plus the history columns).
    """

    plan: TickerPlan
    sessions: tuple[date, ...]
    bars: pd.DataFrame
    chains: pd.DataFrame
    history: dict[str, pd.DataFrame] = field(default_factory=dict)

    def inputs(self, family: MetricFamily) -> FamilyInputs:
        """Return the `FamilyInputs` of `family` for this ticker."""
        frames: dict[Dataset, pd.DataFrame] = {}
        for spec in family.inputs:
            frames[spec.dataset] = self.bars if spec.dataset is Dataset.OHLCV_DAILY else self.chains
        if family.history is not None:
            frames[Dataset.OWN_HISTORY] = self.history.get(family.name, pd.DataFrame())
        return FamilyInputs(
            ticker=self.plan.ticker,
            calendar=self.plan.calendar,
            sessions=self.sessions,
            as_of_dates=self.plan.as_of_dates,
            frames=frames,
        )


def _lookback(families: Sequence[MetricFamily], dataset: Dataset | None) -> int:
    values = [0]
    for family in families:
        values.extend(
            spec.lookback_sessions
            for spec in family.inputs
            if dataset is None or spec.dataset is dataset
        )
        if family.history is not None and dataset is None:
            values.append(family.history.lookback_sessions)
    return max(values)


def _needs(families: Sequence[MetricFamily], dataset: Dataset) -> bool:
    return any(spec.dataset is dataset for family in families for spec in family.inputs)


def load_chunk(
    store: Store,
    families: Sequence[MetricFamily],
    plans: Sequence[TickerPlan],
    existing_tables: set[str],
    computed_history: HistoryCache | None = None,
    snapshot_time: datetime | None = None,
) -> dict[str, TickerData]:
    """Return the loaded inputs of every ticker of `plans` that has as-of sessions.

    Args:
        store: The store to read.
        families: Families of the run.
        plans: Ticker plans of the chunk.
        existing_tables: Tables that exist (a family table may not yet, in a dry run).
        computed_history: Rows this run already computed, (family, ticker) -> rows; used
            like stored rows (and before them), so a dry run or a later date chunk does not
            recompute what an earlier chunk of the run did.
        snapshot_time: The snapshot instant of the as-of sessions instead of their latest
            (`RunRequest.snapshot_time`; the planner checked it exists).
    """
    active = [plan for plan in plans if plan.as_of_dates]
    if not active:
        return {}
    total = _lookback(families, None)
    bar_lookback = _lookback(families, Dataset.OHLCV_DAILY)
    starts = {p.ticker: session_before(p.as_of_dates[0], total, p.calendar) for p in active}
    data = {
        p.ticker: TickerData(
            plan=p,
            sessions=tuple(sessions_between(starts[p.ticker], p.as_of_dates[-1], p.calendar)),
            bars=pd.DataFrame(columns=list(BAR_FRAME_COLUMNS)),
            chains=pd.DataFrame(columns=list(CHAIN_FRAME_COLUMNS)),
        )
        for p in active
    }
    tickers = [p.ticker for p in active]
    last = max(p.as_of_dates[-1] for p in active)
    if _needs(families, Dataset.OHLCV_DAILY):
        bar_starts = {
            p.ticker: session_before(p.as_of_dates[0], bar_lookback, p.calendar) for p in active
        }
        _load_bars(store, data, bar_starts, last)
    if _needs(families, Dataset.OPTION_CHAINS) or any(f.history for f in families):
        snapshots = _select_snapshots(store, tickers, min(starts.values()), last)
        if snapshot_time is not None:
            instant = pd.Timestamp(snapshot_time).tz_convert("UTC")
            for p in active:
                by_session = snapshots.setdefault(p.ticker, {})
                by_session.update(dict.fromkeys(p.as_of_dates, instant))
        wanted = _wanted_snapshots(
            store, families, data, snapshots, existing_tables, computed_history or {}
        )
        chains = _read_chains(store, tickers, wanted)
        for ticker, item in data.items():
            rows = chains.get(ticker)
            if rows is not None:
                as_of = set(item.plan.as_of_dates)
                item.chains = rows[rows["session_date"].isin(as_of)].reset_index(drop=True)
                _complete_history(families, item, rows)
    return data


def _load_bars(
    store: Store, data: dict[str, TickerData], starts: dict[str, date], last: date
) -> None:
    bars = store.read(
        tables.OHLCV_DAILY,
        where={"ticker": list(data), "session_date": Between(min(starts.values()), last)},
        order_by=["ticker", "session_date"],
    )
    for ticker, group in bars.groupby("ticker", sort=False):
        item = data[str(ticker)]
        end = item.plan.as_of_dates[-1]
        in_span = (group["session_date"] >= starts[item.plan.ticker]) & (
            group["session_date"] <= end
        )
        item.bars = group.loc[in_span, list(BAR_FRAME_COLUMNS)].reset_index(drop=True)


def _select_snapshots(
    store: Store, tickers: list[str], start: date, end: date
) -> dict[str, dict[date, pd.Timestamp]]:
    """Return ticker -> session -> the session's latest snapshot instant."""
    frame = store.read(
        tables.CHAIN_SNAPSHOTS,
        where={"underlying": tickers, "session_date": Between(start, end)},
        order_by=["underlying", "session_date", "snapshot_time"],
    )
    selected: dict[str, dict[date, pd.Timestamp]] = {}
    for underlying, session, instant in zip(
        frame["underlying"], frame["session_date"], frame["snapshot_time"], strict=True
    ):
        selected.setdefault(str(underlying), {})[session] = pd.Timestamp(instant)
    return selected


def _stored_history(
    store: Store, family: MetricFamily, data: dict[str, TickerData], existing: set[str]
) -> pd.DataFrame:
    if family.history is None or family.schema.name not in existing:
        return pd.DataFrame()
    firsts = [item.plan.as_of_dates[0] for item in data.values()]
    low = min(item.sessions[0] for item in data.values())
    return store.read(
        family.schema,
        where={
            "ticker": list(data),
            "model_version": family.version,
            "as_of": Between(low, max(firsts)),
        },
    )


def _wanted_snapshots(
    store: Store,
    families: Sequence[MetricFamily],
    data: dict[str, TickerData],
    snapshots: dict[str, dict[date, pd.Timestamp]],
    existing: set[str],
    computed: HistoryCache,
) -> dict[str, dict[date, pd.Timestamp]]:
    """Return the snapshots to read: as-of sessions', and history sessions not stored."""
    wanted: dict[str, dict[date, pd.Timestamp]] = {}
    reads_chains = _needs(families, Dataset.OPTION_CHAINS)
    for ticker, item in data.items():
        by_session = snapshots.get(ticker, {})
        chosen = wanted.setdefault(ticker, {})
        if reads_chains:
            chosen.update({d: by_session[d] for d in item.plan.as_of_dates if d in by_session})
    for family in families:
        if family.history is None:
            continue
        stored = _stored_history(store, family, data, existing)
        for ticker, item in data.items():
            first = item.plan.as_of_dates[0]
            by_session = snapshots.get(ticker, {})
            mine = stored[stored["ticker"] == ticker] if len(stored) else stored
            earlier = computed.get((family.name, ticker))
            if earlier is not None and len(earlier):
                parts = [frame for frame in (mine, earlier) if len(frame)]
                mine = pd.concat(parts, ignore_index=True).drop_duplicates("as_of", keep="last")
            usable = _usable_history(mine, by_session, first, family.history)
            item.history[family.name] = usable
            have = set(usable["as_of"]) if len(usable) else set()
            for day, instant in by_session.items():
                if item.sessions[0] <= day < first and day not in have:
                    wanted[ticker][day] = instant
    return wanted


def _usable_history(
    stored: pd.DataFrame,
    by_session: dict[date, pd.Timestamp],
    first: date,
    spec: HistorySpec,
) -> pd.DataFrame:
    columns = ["as_of", *spec.columns]
    if stored.empty:
        return pd.DataFrame(columns=columns)
    frame = stored.reset_index(drop=True)
    keep = []
    for position in range(len(frame)):
        day: date = frame["as_of"].iloc[position]
        if day >= first or frame["status"].iloc[position] == RowStatus.FAILED:
            keep.append(False)
        elif spec.marker_column is None:
            keep.append(True)
        else:
            marker = frame[spec.marker_column].iloc[position]
            expected = by_session.get(day)
            if expected is None:
                keep.append(bool(pd.isna(marker)))
            else:
                keep.append(not pd.isna(marker) and pd.Timestamp(marker) == expected)
    return frame.loc[keep, columns].reset_index(drop=True)


def _read_chains(
    store: Store, tickers: list[str], wanted: dict[str, dict[date, pd.Timestamp]]
) -> dict[str, pd.DataFrame]:
    instants = sorted(
        {instant for by_session in wanted.values() for instant in by_session.values()}
    )
    if not instants:
        return {}
    quotes = store.read(
        tables.OPTION_CHAIN_SNAPSHOTS,
        where={"underlying": tickers, "snapshot_time": [i.to_pydatetime() for i in instants]},
    )
    first_session = min(day for by_session in wanted.values() for day in by_session)
    contracts = store.read(
        tables.OPTION_CONTRACTS,
        where={"underlying": tickers, "expiry": Between(first_session, None)},
    )
    terms = contracts.loc[
        :, ["contract_symbol", "expiry", "settlement_time", "strike", "option_right"]
    ]
    joined = quotes.merge(terms, on="contract_symbol", how="inner", validate="many_to_one")
    spots = store.read(
        tables.CHAIN_SNAPSHOTS,
        where={"underlying": tickers, "snapshot_time": [i.to_pydatetime() for i in instants]},
    ).loc[:, ["underlying", "snapshot_time", "parity_spot"]]
    joined = joined.merge(spots, on=["underlying", "snapshot_time"], how="left")
    session_of = pd.DataFrame(
        [
            (ticker, instant, day)
            for ticker, by_session in wanted.items()
            for day, instant in by_session.items()
        ],
        columns=["underlying", "snapshot_time", "session_date"],
    )
    session_of["snapshot_time"] = pd.to_datetime(session_of["snapshot_time"], utc=True).astype(
        joined["snapshot_time"].dtype
    )
    joined = joined.merge(session_of, on=["underlying", "snapshot_time"], how="inner")
    result = {}
    for ticker, group in joined.groupby("underlying", sort=False):
        ordered = group.sort_values(["session_date", "contract_symbol"], kind="stable")
        result[str(ticker)] = ordered.loc[:, list(CHAIN_FRAME_COLUMNS)].reset_index(drop=True)
    return result


def _complete_history(
    families: Sequence[MetricFamily], item: TickerData, chains: pd.DataFrame
) -> None:
    """Add the history values of sessions without a usable stored row (computed, not stored)."""
    for family in families:
        spec = family.history
        if spec is None:
            continue
        first = item.plan.as_of_dates[0]
        stored = item.history.get(family.name, pd.DataFrame(columns=["as_of", *spec.columns]))
        have = set(stored["as_of"]) if len(stored) else set()
        missing = sorted(
            {d for d in chains["session_date"] if item.sessions[0] <= d < first and d not in have}
        )
        if not missing:
            continue
        inputs = FamilyInputs(
            ticker=item.plan.ticker,
            calendar=item.plan.calendar,
            sessions=tuple(missing),
            as_of_dates=tuple(missing),
            frames={spec.dataset: chains[chains["session_date"].isin(set(missing))]},
        )
        computed = spec.compute(inputs).reset_index()
        parts = [
            frame for frame in (stored, computed.loc[:, ["as_of", *spec.columns]]) if len(frame)
        ]
        item.history[family.name] = (
            pd.concat(parts, ignore_index=True)
            .sort_values("as_of", kind="stable")
            .reset_index(drop=True)
        )
