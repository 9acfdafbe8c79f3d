"""What a metric family is: a frozen spec (name, version, inputs, output table) plus a pure compute.

A family module builds one `MetricFamily` constant and the catalog lists it. The engine reads
the family's declared inputs from the store for one ticker and a list of as-of sessions, calls
``compute(inputs)`` and writes the rows it returns into the family's own table; the family
never sees the store, the clock or the network.

Contract of ``compute(inputs) -> frame`` (checked for every catalogued family by
tests/metrics/test_catalog.py):

* one row per ``inputs.as_of_dates`` entry, in that order, indexed by those dates;
* exactly the schema's columns other than `ENGINE_COLUMNS` (the engine adds ticker, as_of,
  model_version and parameters_json);
* a row depends only on inputs dated at or before its as-of session (no look-ahead), and only
  on the declared lookback (results do not change when more history is supplied);
* NULL metric values come with a reason in ``null_reasons_json``; nothing is filled with 0;
* the inputs are not modified.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

import numpy as np
import numpy.typing as npt
import pandas as pd

from optionscope.domain.tables import Column, LogicalType, TableSpec

ENGINE_COLUMNS: tuple[str, ...] = ("ticker", "as_of", "model_version", "parameters_json")
"""Columns the engine fills; a family's compute returns every other column of its table."""

STATUS_COLUMNS: tuple[str, ...] = ("status", "status_reason", "null_reasons_json")
"""Row status columns every family table ends with (before parameters_json)."""


class Dataset(StrEnum):
    """Inputs the engine can serve to a family."""

    OHLCV_DAILY = "ohlcv_daily"
    """Daily bars: session_date, open, high, low, close, volume (ascending)."""
    OPTION_CHAINS = "option_chains"
    """The latest chain snapshot of each session: quotes joined with contract terms."""
    OWN_HISTORY = "own_history"
    """The family's own earlier values (`HistorySpec.columns`) for sessions before the run."""


class RowStatus(StrEnum):
    """What a metric row's values are worth."""

    OK = "ok"
    """Every metric has a value."""
    PARTIAL = "partial"
    """Some metrics are NULL; ``null_reasons_json`` says why for each."""
    EMPTY = "empty"
    """Every metric is NULL (e.g. too little history); ``null_reasons_json`` says why."""
    NO_DATA = "no_data"
    """No input at all for the as-of session (no bar, no chain)."""
    INVALID_INPUT = "invalid_input"
    """An input the row needs failed validation (``status_reason`` names it)."""
    FAILED = "failed"
    """The computation raised; the engine wrote NULLs and the error (a soft failure)."""


SOFT_FAILURES: frozenset[str] = frozenset({RowStatus.INVALID_INPUT, RowStatus.FAILED})
"""Statuses that count as a soft failure in a run summary."""


@dataclass(frozen=True, slots=True)
class InputSpec:
    """One dataset a family reads and how far back before each as-of session.

    Attributes:
        dataset: What to read.
        lookback_sessions: Sessions before the first as-of session that must be loaded
            (0: the as-of sessions only).
        doc: One line for docs.
    """

    dataset: Dataset
    lookback_sessions: int
    doc: str = ""


@dataclass(frozen=True, slots=True)
class FamilyInputs:
    """Everything one `compute` call sees: one ticker, a run of as-of sessions, its data.

    Attributes:
        ticker: The ticker.
        calendar: Its session calendar (``XNYS`` or ``24/7``).
        sessions: Calendar sessions, ascending, from the start of the loaded lookback through
            the last as-of session (a session without data is still listed).
        as_of_dates: Sessions to compute, ascending, a subset of ``sessions``.
        frames: Dataset -> frame, as described by `Dataset`; missing datasets are empty.
    """

    ticker: str
    calendar: str
    sessions: tuple[date, ...]
    as_of_dates: tuple[date, ...]
    frames: Mapping[Dataset, pd.DataFrame] = field(default_factory=dict)

    def frame(self, dataset: Dataset) -> pd.DataFrame:
        """Return the frame of `dataset` (an empty frame when none was loaded)."""
        return self.frames.get(dataset, pd.DataFrame())


Compute = Callable[[FamilyInputs], pd.DataFrame]
Parameters = Callable[[FamilyInputs], Mapping[str, object]]


@dataclass(frozen=True, slots=True)
class HistorySpec:
    """A family's dependence on its own earlier values (e.g. IV rank over 252 sessions).

    The engine serves `Dataset.OWN_HISTORY` from the family's stored rows of the same version;
    for sessions that have inputs but no stored row it calls ``compute`` on those sessions'
    inputs (not written), so a row never depends on which runs happened before it.

    Attributes:
        columns: Columns of the family's table the history carries.
        lookback_sessions: Sessions before the first as-of session the history covers.
        dataset: Dataset whose presence on a session means the history value can exist.
        compute: Pure function giving ``columns`` for ``inputs.as_of_dates`` from those
            sessions' inputs alone; must equal the values ``MetricFamily.compute`` writes.
        marker_column: Column of a stored row that names the input it was computed from
            (a snapshot instant); a stored row whose marker differs from the input selected
            now is recomputed. None: stored rows are always used.
    """

    columns: tuple[str, ...]
    lookback_sessions: int
    dataset: Dataset
    compute: Compute
    marker_column: str | None = None


@dataclass(frozen=True, slots=True)
class CompanionTable:
    """Another table a family's rows are copied into, in the same transaction as its own.

    Attributes:
        schema: The companion table (created by the engine like the family's own table).
        rows: Pure function from the family's table rows (one ticker, a run of sessions) to
            rows of the companion table (any subset; an upsert on its key).
    """

    schema: TableSpec
    rows: Callable[[pd.DataFrame], pd.DataFrame]


@dataclass(frozen=True, slots=True)
class MetricFamily:
    """A metric family: identity, inputs, output table and pure computation.

    Attributes:
        name: Family name (unique in a catalog).
        version: Model version stored in every row; bump it whenever any output value would
            change (formula, default, input selection). Rows of older versions stay until
            pruned.
        inputs: Datasets read and their lookbacks.
        schema: Output table: ``(ticker, as_of, model_version)`` key, one column per metric.
        metric_columns: The schema's metric columns (NULL only with a reason).
        compute: The pure computation (see the module docstring for its contract).
        parameters: Effective parameters of a computation (recorded as JSON in each row).
        history: Dependence on the family's own earlier values, if any.
        companions: Tables the rows are also copied into (same transaction, not in dry runs).
        doc: One paragraph for docs and `optionscope metrics list`.
    """

    name: str
    version: int
    inputs: tuple[InputSpec, ...]
    schema: TableSpec
    metric_columns: tuple[str, ...]
    compute: Compute
    parameters: Parameters
    history: HistorySpec | None = None
    companions: tuple[CompanionTable, ...] = ()
    doc: str = ""

    @property
    def key(self) -> str:
        """Return ``name@vN``, the family's identity in logs and docs."""
        return f"{self.name}@v{self.version}"

    def lookback_sessions(self, dataset: Dataset) -> int | None:
        """Return the lookback declared for `dataset`, or None when it is not an input."""
        found = [spec.lookback_sessions for spec in self.inputs if spec.dataset is dataset]
        return max(found) if found else None

    @property
    def computed_columns(self) -> tuple[str, ...]:
        """Return the columns `compute` must return (the schema minus `ENGINE_COLUMNS`)."""
        return tuple(name for name in self.schema.column_names if name not in ENGINE_COLUMNS)


def family_table(
    name: str,
    metrics: Sequence[Column],
    inputs: Sequence[Column],
    *,
    doc: str,
) -> TableSpec:
    """Return a family's table spec: key, metric columns, input as-of columns, status.

    Layout: ``ticker, as_of, model_version, <metrics>, <inputs>, status, status_reason,
    null_reasons_json, parameters_json``; key ``(ticker, as_of, model_version)``; time column
    ``as_of`` (a hypertable on TimescaleDB).
    """
    columns = (
        Column("ticker", LogicalType.TEXT, doc="Ticker the row describes."),
        Column("as_of", LogicalType.DATE, doc="Session the values describe (inputs up to it)."),
        Column("model_version", LogicalType.INT, doc="Family version that computed the row."),
        *metrics,
        *inputs,
        Column(
            "status",
            LogicalType.TEXT,
            doc="ok, partial, empty, no_data, invalid_input or failed.",
        ),
        Column("status_reason", LogicalType.TEXT, nullable=True, doc="Why the status is not ok."),
        Column(
            "null_reasons_json",
            LogicalType.TEXT,
            doc="JSON object: NULL metric column -> reason code (empty when none).",
        ),
        Column(
            "parameters_json",
            LogicalType.TEXT,
            doc="JSON object of the effective parameters (sorted keys).",
        ),
    )
    return TableSpec(
        name=name,
        columns=columns,
        primary_key=("ticker", "as_of", "model_version"),
        time_column="as_of",
        doc=doc,
    )


def canonical_json(value: object) -> str:
    """Return `value` as JSON with sorted keys and no spaces (stable bytes for equal values)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


class ReasonBook:
    """Collects, per as-of row, why metric values are NULL and the row's status.

    A family fills metric arrays with NaN where it cannot compute, calls `explain` with the
    reason, and `finish` checks that every NaN has one (a NaN without a reason is a bug, and
    raises, which the engine reports as a failed row).
    """

    def __init__(self, as_of_dates: Sequence[date], metric_columns: Sequence[str]) -> None:
        self._dates = tuple(as_of_dates)
        self._columns = tuple(metric_columns)
        self._reasons: list[dict[str, str]] = [{} for _ in self._dates]
        self._status: list[RowStatus | None] = [None] * len(self._dates)
        self._status_reason: list[str | None] = [None] * len(self._dates)

    def explain(self, row: int, columns: Sequence[str], reason: str) -> None:
        """Record `reason` for NULLs of `columns` in `row` (the first reason given wins)."""
        for column in columns:
            self._reasons[row].setdefault(column, reason)

    def explain_rows(self, rows: Iterable[int], columns: Sequence[str], reason: str) -> None:
        """Record `reason` for NULLs of `columns` in each of `rows` (`explain`, row by row)."""
        for row in rows:
            reasons = self._reasons[row]
            for column in columns:
                reasons.setdefault(column, reason)

    def mark(self, row: int, status: RowStatus, reason: str) -> None:
        """Set the row's status (NO_DATA or INVALID_INPUT) and its reason, first one wins."""
        if self._status[row] is None:
            self._status[row] = status
            self._status_reason[row] = reason

    def finish(self, values: Mapping[str, npt.ArrayLike]) -> pd.DataFrame:
        """Return the status columns for `values` (metric column -> one value per row).

        Raises:
            ValueError: A metric value is NULL without a recorded reason.
        """
        names = sorted(set(self._columns))
        count = len(self._dates)
        nan = np.empty((count, len(names)), dtype=bool)
        for column, name in enumerate(names):
            nan[:, column] = np.isnan(np.asarray(values[name], dtype=np.float64))
        # Rows repeat a few NULL patterns and reasons: the names of each NaN pattern and the
        # JSON of each (names, reasons) pair are built once.
        patterns: dict[bytes, tuple[str, ...]] = {}
        texts: dict[tuple[tuple[str, ...], tuple[str | None, ...]], str] = {}
        statuses, null_reasons = [], []
        for row, as_of in enumerate(self._dates):
            mask = nan[row]
            pattern = mask.tobytes()
            nulls = patterns.get(pattern)
            if nulls is None:
                nulls = patterns[pattern] = tuple(
                    name for name, null in zip(names, mask, strict=True) if null
                )
            reasons = self._reasons[row]
            given = tuple(map(reasons.get, nulls))
            text = texts.get((nulls, given))
            if text is None:
                unexplained = [name for name, why in zip(nulls, given, strict=True) if why is None]
                if unexplained:
                    raise ValueError(f"{as_of}: NULL without a reason in {', '.join(unexplained)}")
                text = texts[(nulls, given)] = canonical_json(dict(zip(nulls, given, strict=True)))
            status = self._status[row]
            if status is None:
                status = _status_of(len(nulls), len(self._columns))
            statuses.append(str(status))
            null_reasons.append(text)
        return pd.DataFrame(
            {
                "status": statuses,
                "status_reason": list(self._status_reason),
                "null_reasons_json": null_reasons,
            },
            index=pd.Index(self._dates, name="as_of"),
        )


def _status_of(null_count: int, metric_count: int) -> RowStatus:
    if null_count == 0:
        return RowStatus.OK
    return RowStatus.EMPTY if null_count == metric_count else RowStatus.PARTIAL


def columns_markdown(family: MetricFamily) -> str:
    """Return the column table of a family's docs page (a test keeps the page in sync)."""
    lines = [
        f"Table `{family.schema.name}`, primary key ({', '.join(family.schema.primary_key)}), "
        f"time column `{family.schema.time_column}`.",
        "",
        "| column | type | null | meaning |",
        "|---|---|---|---|",
    ]
    lines.extend(
        f"| `{c.name}` | {c.type.value} | {'yes' if c.nullable else 'no'} | {c.doc} |"
        for c in family.schema.columns
    )
    return "\n".join(lines) + "\n"
