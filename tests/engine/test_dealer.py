"""The dealer family through the engine, on both backends, with the bundled real SPY data."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from optionscope.app import compute_dealer_metrics, sample_files
from optionscope.domain import tables
from optionscope.engine import PlanError, RunMode, RunRequest, run_metrics
from optionscope.ingest.service import ingest_paths
from optionscope.metrics.dealer import TYPED_COLUMNS, DealerMode, DealerParams
from optionscope.metrics.families import dealer
from optionscope.storage import DuckDBStore, Store

pytestmark = pytest.mark.integration

CHAIN_DAY = date(2025, 9, 25)
FAMILIES = (dealer.FAMILY,)


def sample(prefix: str) -> Path:
    return next(path for path in sample_files() if path.name.startswith(prefix))


def test_the_dealer_row_of_a_real_spy_chain(store: Store) -> None:
    ingest_paths(store, [sample("yf_adjusted_SPY"), sample("SPY_quotedata_2025-09-25")])

    summary = run_metrics(
        store, FAMILIES, RunRequest(RunMode.BATCH, tickers=("SPY",), as_of=CHAIN_DAY)
    )
    rows = store.read(dealer.SCHEMA, where={"ticker": "SPY"})

    assert summary.soft_failed == 0
    assert len(rows) == 1
    row = rows.iloc[0]
    assert row["as_of"] == CHAIN_DAY
    assert row["status"] == "ok"
    # The spot the quotes imply, not the (dividend-adjusted) close of 656.11.
    assert row["spot_source"] == "chain_snapshots.parity_spot"
    assert row["spot"] == pytest.approx(658.585, abs=1e-9)
    assert row["oi_stale_sessions"] == 1  # captured after the close
    assert row["primary_call_wall"] == 670.0
    assert row["primary_put_wall"] == 655.0
    assert json.loads(row["call_walls"]) == [670.0, 665.0, 660.0]
    assert json.loads(row["put_walls"]) == [655.0, 650.0, 640.0]
    assert row["dealer_position"] == "short_gamma"
    assert row["confidence"] == "medium"
    spot = row["spot"]
    assert abs(row["gamma_flip"] - spot) / spot < 0.20  # inside the profile window
    assert row["gamma_flip"] > spot  # short gamma below the flip
    assert row["net_gex"] < 0 < row["total_gex"]
    payload = json.loads(row["dealer_metrics_json"])
    headline = payload["headline"]
    assert set(headline) == set(TYPED_COLUMNS)
    for name in ("total_gex", "net_gex", "gamma_flip", "gex_slope", "dgpi", "spot"):
        assert headline[name] == pytest.approx(row[name], rel=1e-12), name
    assert headline["call_walls"] == json.loads(row["call_walls"])
    assert headline["confidence"] == row["confidence"]
    assert headline["dealer_position"] == row["dealer_position"]
    assert headline["model_version"] == row["dealer_model_version"] == "dealer-default-1.0.0"
    assert payload["context"]["spot_source"] == "chain_snapshots.parity_spot"
    assert payload["context"]["adv_dollars"] == pytest.approx(row["adv_dollars"])

    snapshots = store.read(dealer.DAILY_SNAPSHOTS, where={"ticker": "SPY"})
    assert list(snapshots["session_date"]) == [CHAIN_DAY]
    assert snapshots.iloc[0]["dealer_metrics_json"] == row["dealer_metrics_json"]

    rerun = run_metrics(
        store, FAMILIES, RunRequest(RunMode.BATCH, tickers=("SPY",), as_of=CHAIN_DAY)
    )
    again = store.read(dealer.SCHEMA, where={"ticker": "SPY"})
    assert rerun.soft_failed == 0
    assert again.equals(rows)  # idempotent upsert
    assert store.read(dealer.DAILY_SNAPSHOTS).equals(snapshots)


def test_a_chain_without_bars_uses_the_spot_its_quotes_imply(store: Store) -> None:
    ingest_paths(store, [sample("SPY_quotedata_2025-09-25")])

    summary = run_metrics(
        store, FAMILIES, RunRequest(RunMode.BATCH, tickers=("SPY",), as_of=CHAIN_DAY)
    )
    row = store.read(dealer.SCHEMA, where={"ticker": "SPY"}).iloc[0]

    assert summary.soft_failed == 0
    assert row["spot_source"] == "chain_snapshots.parity_spot"
    assert row["primary_call_wall"] == 670.0
    assert math.isnan(row["adv_dollars"])  # no bars: no ADV$, so no DGPI
    assert math.isnan(row["dgpi"])


def test_a_chain_without_any_spot_completes_as_invalid(store: Store) -> None:
    ingest_paths(store, [sample("SPY_quotedata_2025-09-25")])
    snapshot = store.read(tables.CHAIN_SNAPSHOTS, where={"underlying": "SPY"})
    store.upsert(tables.CHAIN_SNAPSHOTS, snapshot.assign(parity_spot=math.nan))

    summary = run_metrics(
        store, FAMILIES, RunRequest(RunMode.BATCH, tickers=("SPY",), as_of=CHAIN_DAY)
    )
    rows = store.read(dealer.SCHEMA, where={"ticker": "SPY"})

    assert len(rows) == 1
    row = rows.iloc[0]
    assert row["confidence"] == "invalid"
    assert row["dealer_position"] == "unknown"
    assert row["status"] == "invalid_input"
    assert row["status_reason"] == "dealer_invalid: missing_spot"
    assert math.isnan(row["net_gex"])
    assert json.loads(row["null_reasons_json"])["net_gex"] == "dealer_invalid: missing_spot"
    payload = json.loads(row["dealer_metrics_json"])
    assert payload["headline"]["confidence"] == "invalid"
    assert payload["diagnostics"]["invalid_reasons"] == ["missing_spot"]
    assert summary.soft_failed == 1  # counted, and the run completed
    snapshots = store.read(dealer.DAILY_SNAPSHOTS, where={"ticker": "SPY"})
    assert json.loads(snapshots.iloc[0]["dealer_metrics_json"])["spot"] is None


def test_a_dry_run_with_overrides_writes_no_dealer_rows(store: Store) -> None:
    ingest_paths(store, [sample("yf_adjusted_SPY"), sample("SPY_quotedata_2025-09-25")])
    family = dealer.make_family(DealerParams(min_volume=0.0), spot_override=660.0)

    summary = run_metrics(
        store,
        (family,),
        RunRequest(RunMode.BATCH, tickers=("SPY",), as_of=CHAIN_DAY, dry_run=True),
    )

    row = summary.frames["dealer"].iloc[0]
    assert row["spot"] == 660.0
    assert row["spot_source"] == "override"
    assert json.loads(row["parameters_json"])["min_volume"] == 0.0
    with pytest.raises(KeyError):
        store.reflect_table(dealer.DAILY_SNAPSHOTS.name)


def test_a_dealer_run_logs_its_parameters_and_at_debug_the_filters(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with DuckDBStore() as store:
        store.migrate()
        ingest_paths(store, [sample("yf_adjusted_SPY"), sample("SPY_quotedata_2025-09-25")])
        caplog.set_level(logging.DEBUG, logger="optionscope")
        params = DealerParams(min_volume=0.0, overrides=("min_volume",))
        request = RunRequest(RunMode.BATCH, tickers=("SPY",), as_of=CHAIN_DAY, dry_run=True)

        compute_dealer_metrics(store, request, params, spot_override=660.0)

    records = [r for r in caplog.records if r.name.startswith("optionscope.")]
    headers = [r.getMessage() for r in records if " ticker(s): " in r.getMessage()]
    assert len(headers) == 1
    assert "sessions 2025-09-25; families dealer@v1; 1 ticker(s): SPY" in headers[0]
    assert "'min_volume': 0.0" in headers[0]
    assert "'spot_override': 660.0" in headers[0]
    assert headers[0].endswith("overrides: min_volume, spot_override")
    debug = [r.getMessage() for r in records if r.levelno == logging.DEBUG]
    assert (
        "dealer SPY 2025-09-25 (snapshot 2025-09-26 01:05:00+00:00): filters: 3716 contracts, "
        "expired -0, max_dte_days -0, gamma_available -0, open_interest_positive -1416, "
        "min_open_interest -735, min_volume -0 -> 1565"
    ) in debug
    assert any("net_gex " in m and "confidence " in m for m in debug)


def test_a_snapshot_instant_selects_that_snapshot_not_the_sessions_latest(store: Store) -> None:
    chain = sample("SPY_quotedata_2025-09-25")
    ingest_paths(store, [sample("yf_adjusted_SPY"), chain])  # captured 2025-09-26 01:05Z
    intraday = datetime(2025, 9, 25, 19, 0, tzinfo=UTC)  # 15:00 in New York
    ingest_paths(store, [chain], snapshot_time=intraday)

    latest = run_metrics(
        store, FAMILIES, RunRequest(RunMode.BATCH, tickers=("SPY",), as_of=CHAIN_DAY, dry_run=True)
    )
    chosen = run_metrics(
        store, FAMILIES, RunRequest(RunMode.BATCH, tickers=("SPY",), snapshot_time=intraday)
    )

    assert latest.frames["dealer"].iloc[0]["oi_stale_sessions"] == 1
    row = store.read(dealer.SCHEMA, where={"ticker": "SPY"}).iloc[0]
    assert chosen.soft_failed == 0
    assert row["as_of"] == CHAIN_DAY
    assert row["chain_snapshot_time"] == pd.Timestamp(intraday)
    assert row["oi_stale_sessions"] == 0  # captured during the session
    missing = datetime(2025, 9, 25, 19, 30, tzinfo=UTC)
    with pytest.raises(PlanError, match=r"no chain snapshot of SPY at 2025-09-25T19:30:00\+00:00"):
        run_metrics(
            store, FAMILIES, RunRequest(RunMode.BATCH, tickers=("SPY",), snapshot_time=missing)
        )


def test_the_seed_compat_mode_computes_as_a_dry_run_under_its_own_model_version() -> None:
    with DuckDBStore() as store:
        store.migrate()
        ingest_paths(store, [sample("yf_adjusted_SPY"), sample("SPY_quotedata_2025-09-25")])
        request = RunRequest(RunMode.BATCH, tickers=("SPY",), as_of=CHAIN_DAY)
        params = DealerParams(mode=DealerMode.SEED_COMPAT, overrides=("mode",))

        with pytest.raises(ValueError, match="dry run only"):
            compute_dealer_metrics(store, request, params)
        summary = compute_dealer_metrics(store, dataclasses.replace(request, dry_run=True), params)

        row = summary.frames["dealer"].iloc[0]
        assert row["dealer_model_version"] == "dealer-seed_compat-1.0.0"
        assert row["mode"] == "seed_compat"
        assert row["sign_policy"] != "dealer_long_calls_short_puts"  # the seed's opposite sign
        assert json.loads(row["parameters_json"])["mode"] == "seed_compat"
        with pytest.raises(KeyError):
            store.reflect_table(dealer.SCHEMA.name)
