"""The engine on DuckDB and PostgreSQL: event = batch = range, idempotence, soft failures."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from datetime import date

import pandas as pd
import pytest

from optionscope.domain import tables
from optionscope.engine import (
    METRIC_RUNS,
    PlanError,
    RunMode,
    RunRequest,
    SchemaDriftError,
    run_metrics,
)
from optionscope.engine.sessions import sessions_between
from optionscope.metrics.families import technical, volatility
from optionscope.metrics.family import FamilyInputs, MetricFamily, family_table
from optionscope.storage import Store
from optionscope.storage.rows import prepare_rows, rows_to_frame

Market = dict[str, pd.DataFrame]
FAMILIES = (technical.FAMILY, volatility.FAMILY)
"""The engine's own contract is checked on two families; the dealer family (a second chain
reader, ~20 ms per snapshot) has its own engine test in tests/engine/test_dealer.py."""
TICKERS = ("SIMAAA", "SIMAAB")


def canonical(family: MetricFamily, frame: pd.DataFrame) -> pd.DataFrame:
    """Return rows as the store returns them, sorted by key (for exact comparisons)."""
    rows = rows_to_frame(family.schema, prepare_rows(family.schema, frame))
    return rows.sort_values(["ticker", "as_of"], ignore_index=True)


def stored(store: Store, family: MetricFamily) -> pd.DataFrame:
    return store.read(family.schema, order_by=["ticker", "as_of"])


def row_hash(frame: pd.DataFrame) -> str:
    text = frame.to_csv(index=False, float_format="%.17g")
    return hashlib.sha256(text.encode()).hexdigest()


def only(frame: pd.DataFrame, days: set[date]) -> pd.DataFrame:
    return frame[frame["as_of"].isin(days)].reset_index(drop=True)


def test_event_batch_and_range_give_identical_rows_and_reruns_change_nothing(
    market_store: Store,
) -> None:
    store = market_store
    sessions = sessions_between(date(2023, 1, 3), date(2024, 12, 31), "XNYS")[:270]
    middle, last = sessions[-8], sessions[-1]

    ranged = run_metrics(
        store, FAMILIES, RunRequest(RunMode.RANGE, start=sessions[0], end=last, dry_run=True)
    )
    batch_before = [
        run_metrics(store, FAMILIES, RunRequest(RunMode.BATCH, as_of=last, dry_run=True))
    ]
    event = run_metrics(store, FAMILIES, RunRequest(RunMode.EVENT, tickers=TICKERS))
    after_event = {family.name: stored(store, family) for family in FAMILIES}
    batch_after = [
        run_metrics(store, FAMILIES, RunRequest(RunMode.BATCH, as_of=day)) for day in (middle, last)
    ]
    run_metrics(store, FAMILIES, RunRequest(RunMode.EVENT, tickers=TICKERS))
    run_metrics(store, FAMILIES, RunRequest(RunMode.RANGE, start=sessions[-12], end=middle))

    event_days = set(sessions[-252:])
    assert event.rows_written == 2 * 2 * 252
    assert event.soft_failed == 0
    assert {o.ticker for o in batch_after[0].outcomes} == set(TICKERS)
    for family in FAMILIES:
        from_event = after_event[family.name]
        assert set(from_event["as_of"]) == event_days
        pd.testing.assert_frame_equal(
            only(canonical(family, ranged.frames[family.name]), event_days),
            from_event,
            check_exact=True,
        )
        for dry in batch_before:
            rows = canonical(family, dry.frames[family.name])
            pd.testing.assert_frame_equal(
                rows, only(from_event, set(rows["as_of"])), check_exact=True
            )
        assert row_hash(stored(store, family)) == row_hash(from_event)  # reruns: no change
    volatility = after_event["volatility"]
    ranked = volatility[volatility["iv_rank_252d"].notna()]
    assert len(ranked) == 2 * 14
    assert middle in set(ranked["as_of"])
    with_chain = volatility["chain_snapshot_time"].notna()
    assert with_chain.sum() == 2 * 140
    assert volatility.loc[with_chain, "iv_30d"].notna().all()
    assert store.table_row_counts()[METRIC_RUNS.name] == 5


def test_a_batch_of_many_soft_fails_a_corrupted_ticker_and_a_raising_one(
    store: Store, bars_only: Callable[..., Market], write: Callable[[Store, Market], None]
) -> None:
    names = [f"T{index:02d}" for index in range(10)]
    frames = bars_only(names, 260)
    bars = frames[tables.OHLCV_DAILY.name]
    last = bars["session_date"].max()
    corrupt = (bars["ticker"] == "T03") & (bars["session_date"] == last)
    bars.loc[corrupt, "high"] = bars.loc[corrupt, "low"] - 1.0  # high below low
    write(store, frames)

    def explode(inputs: FamilyInputs) -> pd.DataFrame:
        if inputs.ticker == "T07":
            raise ZeroDivisionError("planted failure")
        return technical.compute(inputs)

    raising = dataclasses.replace(
        technical.FAMILY,
        name="explosive",
        compute=explode,
        schema=family_table("explosive_metrics", technical.METRICS, technical.INPUTS, doc=""),
    )

    summary = run_metrics(
        store, (technical.FAMILY, raising), RunRequest(RunMode.BATCH), chunk_tickers=4
    )

    assert (summary.processed, summary.soft_failed, summary.succeeded) == (10, 2, 8)
    rows = stored(store, technical.FAMILY).set_index("ticker")
    assert rows.loc["T03", "status"] == "invalid_input"
    assert rows.loc["T03", "status_reason"] == f"invalid_bar: {last} high below open/close/low"
    assert pd.isna(rows.loc["T03", "rsi_14d"])
    exploded = stored(store, raising).set_index("ticker")
    assert exploded.loc["T07", "status"] == "failed"
    assert exploded.loc["T07", "status_reason"] == "ZeroDivisionError: planted failure"
    assert (exploded.drop(index=["T03", "T07"])["status"] == "ok").all()
    runs = store.read(METRIC_RUNS)
    assert (int(runs["tickers"].iloc[0]), int(runs["soft_failed"].iloc[0])) == (10, 2)


def test_a_dry_run_writes_nothing(
    store: Store, bars_only: Callable[..., Market], write: Callable[[Store, Market], None]
) -> None:
    write(store, bars_only(["AAA"], 255))

    summary = run_metrics(
        store, FAMILIES, RunRequest(RunMode.EVENT, tickers=("AAA",), dry_run=True)
    )

    assert len(summary.frames["technical"]) == 252
    assert summary.rows_written == 0
    assert not {METRIC_RUNS.name, "volatility_metrics"} & set(store.table_row_counts())


def test_plans_clip_to_the_data_and_skip_non_sessions(
    store: Store, bars_only: Callable[..., Market], write: Callable[[Store, Market], None]
) -> None:
    write(store, bars_only(["AAA", "BBB"], 30))
    days = sessions_between(date(2023, 1, 3), date(2023, 3, 31), "XNYS")[:30]

    event = run_metrics(store, FAMILIES, RunRequest(RunMode.EVENT, tickers=("AAA",), dry_run=True))
    batch = run_metrics(store, FAMILIES, RunRequest(RunMode.BATCH, dry_run=True))
    saturday = run_metrics(
        store, FAMILIES, RunRequest(RunMode.BATCH, as_of=date(2023, 1, 7), dry_run=True)
    )
    ranged = run_metrics(
        store,
        FAMILIES,
        RunRequest(RunMode.RANGE, start=date(2022, 1, 1), end=days[4], dry_run=True),
    )

    assert event.plan.tickers[0].as_of_dates == tuple(days)  # not before the first bar
    assert batch.plan.as_of_first == batch.plan.as_of_last == days[-1]
    assert saturday.skipped == 2
    assert "not a XNYS session" in str(saturday.outcomes[0].note)
    assert ranged.plan.tickers[0].as_of_dates == tuple(days[:5])
    assert set(event.frames["technical"]["status"]) == {"empty"}  # 30 bars < 252: NULLs
    with pytest.raises(PlanError):
        run_metrics(store, FAMILIES, RunRequest(RunMode.RANGE, start=days[3], end=days[1]))


def test_a_table_that_drifted_from_its_spec_is_refused(store: Store) -> None:
    narrow = dataclasses.replace(
        technical.SCHEMA, columns=technical.SCHEMA.columns[:3] + technical.SCHEMA.columns[-4:]
    )
    store.ensure_table(narrow)

    with pytest.raises(SchemaDriftError, match="ohlcv_technical_metrics"):
        run_metrics(store, FAMILIES, RunRequest(RunMode.BATCH, tickers=("SPY",)))
