"""The dealer family through the engine, on both backends, with the bundled real SPY data."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import pytest

from optionscope.app import sample_files
from optionscope.domain import tables
from optionscope.engine import RunMode, RunRequest, run_metrics
from optionscope.ingest.service import ingest_paths
from optionscope.metrics.dealer import TYPED_COLUMNS, DealerParams
from optionscope.metrics.families import dealer
from optionscope.storage import Store

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
