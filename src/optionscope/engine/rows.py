"""Turn a family's computed frame into table rows; build the rows of a failed computation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd

from optionscope.domain.tables import Column, LogicalType
from optionscope.metrics.family import MetricFamily, RowStatus, canonical_json

COMPUTE_FAILED = "compute_failed"


class FamilyOutputError(ValueError):
    """A family's compute returned rows that break its contract."""


def table_rows(
    family: MetricFamily,
    ticker: str,
    dates: Sequence[date],
    computed: pd.DataFrame,
    parameters_json: str,
) -> pd.DataFrame:
    """Return `computed` as rows of the family's table (engine columns added, spec order).

    Raises:
        FamilyOutputError: The rows are not one per date in order, or the columns differ
            from the family's computed columns.
    """
    if list(computed.index) != list(dates):
        raise FamilyOutputError(
            f"{family.key}: compute returned {len(computed)} rows, not one per as-of session"
        )
    expected = family.computed_columns
    if set(computed.columns) != set(expected) or len(computed.columns) != len(expected):
        extra = sorted(set(computed.columns) - set(expected))
        missing = sorted(set(expected) - set(computed.columns))
        raise FamilyOutputError(f"{family.key}: columns differ (extra {extra}, missing {missing})")
    frame = computed.reset_index(drop=True)
    frame["ticker"] = ticker
    frame["as_of"] = pd.Series(list(dates), dtype=object)
    frame["model_version"] = np.int64(family.version)
    frame["parameters_json"] = parameters_json
    return frame.loc[:, list(family.schema.column_names)]


def _null_column(column: Column, count: int) -> pd.Series:
    if column.type is LogicalType.FLOAT:
        return pd.Series(np.full(count, np.nan))
    if column.type is LogicalType.INT:
        return pd.Series(pd.array([None] * count, dtype="Int64"))
    if column.type is LogicalType.TIMESTAMP:
        return pd.Series(pd.NaT, index=range(count), dtype="datetime64[us, UTC]")
    if column.type is LogicalType.BOOL:
        return pd.Series(pd.array([None] * count, dtype="boolean"))
    return pd.Series([None] * count, dtype=object)


def failed_rows(
    family: MetricFamily,
    ticker: str,
    dates: Sequence[date],
    parameters_json: str,
    reason: str,
) -> pd.DataFrame:
    """Return rows saying the computation failed: every value NULL, the error as the reason."""
    count = len(dates)
    frame = pd.DataFrame(
        {column.name: _null_column(column, count) for column in family.schema.columns}
    )
    frame["ticker"] = ticker
    frame["as_of"] = pd.Series(list(dates), dtype=object)
    frame["model_version"] = np.int64(family.version)
    frame["status"] = str(RowStatus.FAILED)
    frame["status_reason"] = reason
    frame["null_reasons_json"] = canonical_json(
        dict.fromkeys(sorted(family.metric_columns), COMPUTE_FAILED)
    )
    frame["parameters_json"] = parameters_json
    return frame
