"""The engine's log: a header once, heartbeats by count and by time, a final summary."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable

import pandas as pd
import pytest

from optionscope.engine import RunMode, RunRequest, run_metrics
from optionscope.metrics.families import technical
from optionscope.storage import DuckDBStore

Market = dict[str, pd.DataFrame]
ENGINE_LOGGER = "optionscope.engine.run"


def test_a_run_logs_its_header_heartbeats_and_summary(
    bars_only: Callable[..., Market],
    write: Callable[[DuckDBStore, Market], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    names = [f"T{index:02d}" for index in range(30)]
    ticks = itertools.chain([0.0, 1.0, 2.0, 70.0], itertools.count(71.0))
    with DuckDBStore() as store:
        store.migrate()
        write(store, bars_only(names, 40))
        caplog.set_level(logging.INFO, logger=ENGINE_LOGGER)

        summary = run_metrics(
            store,
            (technical.FAMILY,),
            RunRequest(RunMode.BATCH, dry_run=True),
            timer=lambda: next(ticks),
            header={"overrides": "none"},
        )

    messages = [r.getMessage() for r in caplog.records if r.name == ENGINE_LOGGER]
    assert all(r.levelno == logging.INFO for r in caplog.records if r.name == ENGINE_LOGGER)
    header, *beats, final = messages
    assert header.startswith(f"metric run {summary.run_id[:8]}: mode batch (dry run); sessions ")
    assert "families technical@v1; 30 ticker(s): T00, T01," in header
    assert header.endswith("T29; overrides: none")
    # By time: 68 s after the start at unit 3; by count: unit 25; nothing after.
    assert beats == [
        "progress: 3/30 ticker units (10%), 0 soft-failed so far",
        "progress: 25/30 ticker units (83%), 0 soft-failed so far",
    ]
    assert final.startswith(
        f"metric run {summary.run_id[:8]} done: 30 processed, 30 succeeded, 0 soft-failed, "
        "0 skipped; 30 rows computed, 0 written; "
    )
    assert final.endswith(" s total")
