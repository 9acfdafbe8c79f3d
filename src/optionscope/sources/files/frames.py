"""Shape importer output into the canonical frames of `domain.tables` (minus ts_ingested)."""

from __future__ import annotations

import pandas as pd

from optionscope.domain.tables import LogicalType, TableSpec

INGEST_STAMP_COLUMN = "ts_ingested"
"""Column the ingest service stamps; importers never fill it."""


def importer_columns(spec: TableSpec) -> list[str]:
    """Return the columns an importer produces for a table: all but `ts_ingested`."""
    return [name for name in spec.column_names if name != INGEST_STAMP_COLUMN]


def conform(frame: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """Return `frame` with exactly the importer columns of `spec`, in order and typed.

    Floats become float64 (NaN = NULL), ints int64, bools bool, timestamps
    datetime64[us, UTC]; dates stay `datetime.date` objects and text stays as given.

    Raises:
        ValueError: A column is missing, or a non-nullable column holds a null (an importer
            bug: importers must quarantine such rows first).
    """
    missing = [name for name in importer_columns(spec) if name not in frame.columns]
    if missing:
        raise ValueError(f"{spec.name}: importer frame lacks columns {missing}")
    out = frame.loc[:, importer_columns(spec)].reset_index(drop=True)
    for name in importer_columns(spec):
        column = spec.column(name)
        if column.type is LogicalType.FLOAT:
            out[name] = out[name].astype("float64")
        elif column.type is LogicalType.INT:
            out[name] = out[name].astype("int64")
        elif column.type is LogicalType.BOOL:
            out[name] = out[name].astype(bool)
        elif column.type is LogicalType.TIMESTAMP:
            out[name] = pd.to_datetime(out[name], utc=True).dt.as_unit("us")
        if not column.nullable and bool(out[name].isna().any()):
            raise ValueError(f"{spec.name}.{name} is not nullable but has nulls")
    return out
