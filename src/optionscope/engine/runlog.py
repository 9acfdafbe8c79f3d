"""The run log: one row per metric run that wrote (when, what, how it went).

The only place a wall-clock instant is recorded: metric rows never carry one, so two runs
over the same inputs write identical rows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pandas as pd

from optionscope.domain.tables import Column, LogicalType, TableSpec

Clock = Callable[[], datetime]

_T = LogicalType
METRIC_RUNS = TableSpec(
    name="metric_runs",
    columns=(
        Column("run_id", _T.TEXT, doc="Random identifier of the run."),
        Column("started_at", _T.TIMESTAMP, doc="Wall-clock start (UTC)."),
        Column("finished_at", _T.TIMESTAMP, doc="Wall-clock end (UTC)."),
        Column("mode", _T.TEXT, doc="event | batch | range."),
        Column("as_of_first", _T.DATE, nullable=True, doc="Earliest session computed."),
        Column("as_of_last", _T.DATE, nullable=True, doc="Latest session computed."),
        Column("families_json", _T.TEXT, doc="JSON array of name@vN computed."),
        Column("tickers", _T.INT, doc="Tickers processed."),
        Column("succeeded", _T.INT, doc="Tickers without a failed or invalid row."),
        Column("soft_failed", _T.INT, doc="Tickers with a failed or invalid-input row."),
        Column("skipped", _T.INT, doc="Tickers with nothing to compute."),
        Column("rows_written", _T.INT, doc="Metric rows upserted (all families)."),
        Column("seconds", _T.FLOAT, doc="Elapsed wall-clock seconds."),
    ),
    primary_key=("run_id",),
    doc="One row per metric run that wrote to the store.",
)


def utc_now() -> datetime:
    """Return the current instant, tz-aware UTC, to the microsecond (for the run log only)."""
    return pd.Timestamp.now(tz="UTC").floor("us").to_pydatetime()
