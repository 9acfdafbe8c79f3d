"""Dealer family: dealer positioning metrics of the latest chain snapshot of each session.

Per as-of session ``d`` (formulas in `metrics.dealer` and docs/research/dealer-metrics.md):

1. Spot ``S``, recorded in ``spot_source``: the family's spot override if set; else the spot
   the snapshot's own quotes imply (``chain_snapshots.parity_spot``: put-call parity at the
   nearest expiry), because GEX (``S^2``), the flip and the wall distances must use the spot
   the quotes were priced off, and a vendor's daily close may be split/dividend adjusted or
   stale against after-hours quotes; else ``ohlcv_daily.close`` of ``d``; none of them:
   ``S`` is missing.
2. Market context from the bars up to ``d``: ADV$ = mean of close·volume over the 20
   sessions ending at ``d``; ATR-14 = mean true range over the 14 sessions ending at ``d``
   (simple mean, so the value depends on 15 bars only); each NULL when a bar of its window is
   missing or invalid. Open-interest staleness: OCC open interest reflects the previous
   session's close, so a snapshot taken during session ``d`` has it as of the last close (0
   sessions) and one taken at or after ``d``'s close lags that close by 1 session.
3. ``metrics.dealer.compute`` on the session's chain snapshot (the latest, unless the run
   asked for an instant: `RunRequest.snapshot_time`; the engine loads only that one), valued
   at the snapshot instant capped at the session close (like the volatility family), with
   those inputs.
4. Sessions without a snapshot, or whose inputs cannot support the metrics (missing spot,
   everything filtered, ...), still get a row: ``confidence = "invalid"``, the reasons in
   ``dealer_metrics_json`` and ``null_reasons_json``; a session with a chain whose result is
   invalid has status ``invalid_input`` (a soft failure).

The family's `MetricFamily.version` is the integer stored in ``model_version``; the dealer
model's own version string (``dealer-default-1.0.0``) is in ``dealer_model_version``.
Non-default parameters make a different family object (`make_family`) whose rows would share
the default rows' key, so the CLI only computes them as a dry run (docs/metrics/dealer.md).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd

from optionscope.domain.tables import Column, LogicalType, TableSpec
from optionscope.metrics import dealer
from optionscope.metrics.dealer import DealerMetrics, DealerParams, MarketContext
from optionscope.metrics.family import (
    CompanionTable,
    Dataset,
    FamilyInputs,
    InputSpec,
    MetricFamily,
    ReasonBook,
    RowStatus,
    family_table,
)
from optionscope.metrics.implied import valuation_instant
from optionscope.metrics.windows import NO_BAR, SessionBars

logger = logging.getLogger(__name__)

NAME = "dealer"
VERSION = 1
TABLE_NAME = "dealer_positioning_metrics"

ADV_SESSIONS = 20
ATR_SESSIONS = 14
BAR_LOOKBACK_SESSIONS = max(ADV_SESSIONS - 1, ATR_SESSIONS)
"""ADV$ needs the 20 sessions ending at ``d``; ATR-14 needs 15 bars (14 true ranges)."""

SPOT_SOURCE_CLOSE = "ohlcv_daily.close"
SPOT_SOURCE_PARITY = "chain_snapshots.parity_spot"
SPOT_SOURCE_OVERRIDE = "override"
NO_CHAIN = "no_chain_snapshot"
DEALER_INVALID = "dealer_invalid"
NOT_COMPUTABLE = "not_computable"
NO_WALL = "no_wall_candidate"
NO_CRYPTO = "24/7"

_F = LogicalType.FLOAT
_T = LogicalType.TEXT
METRICS: tuple[Column, ...] = (
    Column("total_gex", _F, nullable=True, doc="Gross GEX: $ per 1% move, all dealer signs +."),
    Column("net_gex", _F, nullable=True, doc="Dealer-signed net GEX at spot ($ per 1% move)."),
    Column(
        "gamma_flip",
        _F,
        nullable=True,
        doc="Spot level where the re-priced net gamma profile crosses zero, nearest spot.",
    ),
    Column("gex_slope", _F, nullable=True, doc="d NetGEX / dS at spot ($ per 1% per $1)."),
    Column("dgpi", _F, nullable=True, doc="Dealer gamma pressure index in [-100, 100]."),
    Column("primary_call_wall", _F, nullable=True, doc="Call wall strike (call_walls[0])."),
    Column("primary_put_wall", _F, nullable=True, doc="Put wall strike (put_walls[0])."),
    Column("absolute_gamma_strike", _F, nullable=True, doc="Strike with the most unsigned gamma."),
    Column("net_to_gross", _F, nullable=True, doc="net_gex / total_gex."),
    Column("confidence_score", _F, nullable=True, doc="Confidence score in [0, 1]."),
    Column("spot", _F, nullable=True, doc="Spot used (see spot_source)."),
)
OTHER: tuple[Column, ...] = (
    Column("call_walls", _T, nullable=True, doc="JSON array of call wall strikes, primary first."),
    Column("put_walls", _T, nullable=True, doc="JSON array of put wall strikes, primary first."),
    Column(
        "dealer_position",
        _T,
        nullable=True,
        doc="long_gamma, short_gamma, neutral or unknown.",
    ),
    Column("confidence", _T, nullable=True, doc="high, medium, low or invalid."),
    Column(
        "dealer_model_version",
        _T,
        nullable=True,
        doc="Dealer model version string (dealer-<mode>-<version>).",
    ),
    Column("mode", _T, nullable=True, doc="default or seed_compat."),
    Column("sign_policy", _T, nullable=True, doc="Dealer sign policy name."),
    Column("flip_method", _T, nullable=True, doc="Definition of gamma_flip."),
    Column(
        "eligible_contracts",
        LogicalType.INT,
        nullable=True,
        doc="Contracts left after the filters.",
    ),
    Column(
        "chain_snapshot_time",
        LogicalType.TIMESTAMP,
        nullable=True,
        doc="Chain snapshot used (the session's latest or the one asked for; NULL when none).",
    ),
    Column(
        "spot_source",
        _T,
        nullable=True,
        doc="override, chain_snapshots.parity_spot or ohlcv_daily.close (NULL: none).",
    ),
    Column("adv_dollars", _F, nullable=True, doc="Mean close*volume, 20 sessions ending at as_of."),
    Column("atr_14", _F, nullable=True, doc="Mean true range, 14 sessions ending at as_of."),
    Column(
        "oi_stale_sessions",
        LogicalType.INT,
        nullable=True,
        doc="Sessions the open interest lags the last close (NULL without a chain).",
    ),
    Column(
        "dealer_metrics_json",
        _T,
        nullable=True,
        doc="The full dealer JSON payload (metrics.dealer DealerMetrics.to_json).",
    ),
)
METRIC_NAMES = tuple(column.name for column in METRICS)

SCHEMA = family_table(
    TABLE_NAME,
    METRICS,
    OTHER,
    doc="Dealer positioning (GEX, flip, walls, slope, DGPI, position), one row per session.",
)


DAILY_SNAPSHOTS = TableSpec(
    name="daily_snapshots",
    columns=(
        Column("ticker", _T, doc="Ticker."),
        Column("session_date", LogicalType.DATE, doc="Session of the chain snapshot."),
        Column(
            "dealer_metrics_json",
            _T,
            nullable=True,
            doc="Dealer JSON payload of the session's latest snapshot (default parameters).",
        ),
    ),
    primary_key=("ticker", "session_date"),
    doc="Per ticker and session, JSON payloads of the session's snapshot (dealer metrics).",
)
"""Written with the family's rows, in the same transaction, for sessions with a snapshot."""


def _parity_spot(found: tuple[datetime, pd.DataFrame] | None) -> float | None:
    """Return the chain's parity spot (one value per snapshot), None when unknown."""
    if found is None or "parity_spot" not in found[1] or found[1].empty:
        return None
    value = float(found[1]["parity_spot"].iloc[0])
    return value if math.isfinite(value) else None


def daily_snapshot_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Return the `DAILY_SNAPSHOTS` rows of the family's table rows (sessions with a chain)."""
    kept = rows[rows["chain_snapshot_time"].notna()]
    return pd.DataFrame(
        {
            "ticker": kept["ticker"].to_numpy(dtype=object),
            "session_date": kept["as_of"].to_numpy(dtype=object),
            "dealer_metrics_json": kept["dealer_metrics_json"].to_numpy(dtype=object),
        }
    )


@dataclass(frozen=True, slots=True)
class _Context:
    spot: float | None
    spot_source: str | None
    adv: float | None
    atr: float | None


def _window_values(bars: SessionBars, day: date, size: int) -> tuple[int, int] | None:
    bounds = bars.window(day, size)
    if isinstance(bounds, str) or bars.first_invalid(*bounds) is not None:
        return None
    return bounds


def market_context(
    bars: SessionBars,
    day: date,
    spot_override: float | None,
    parity_spot: float | None = None,
) -> _Context:
    """Return spot, ADV$ and ATR-14 of session `day` from the bars up to it.

    Spot: `spot_override`, else `parity_spot` (the snapshot's quotes), else the session close.
    """
    index = bars.bar_index(day)
    close = bars.values["close"]
    spot: float | None = None
    source: str | None = None
    if spot_override is not None:
        spot, source = float(spot_override), SPOT_SOURCE_OVERRIDE
    elif parity_spot is not None and math.isfinite(parity_spot) and parity_spot > 0.0:
        spot, source = float(parity_spot), SPOT_SOURCE_PARITY
    elif index is not None and math.isfinite(close[index]) and close[index] > 0.0:
        spot, source = float(close[index]), SPOT_SOURCE_CLOSE
    adv: float | None = None
    bounds = _window_values(bars, day, ADV_SESSIONS)
    if bounds is not None:
        start, end = bounds
        adv = float(np.mean(close[start:end] * bars.values["volume"][start:end]))
    atr: float | None = None
    bounds = _window_values(bars, day, ATR_SESSIONS + 1)
    if bounds is not None:
        start, end = bounds
        high, low = bars.values["high"][start + 1 : end], bars.values["low"][start + 1 : end]
        previous = close[start : end - 1]
        true_range = np.maximum(high, previous) - np.minimum(low, previous)
        atr = float(np.mean(true_range))
    return _Context(spot, source, adv, atr)


def _session_chains(inputs: FamilyInputs) -> dict[date, tuple[datetime, pd.DataFrame]]:
    chains = inputs.frame(Dataset.OPTION_CHAINS)
    if chains.empty:
        return {}
    wanted = set(inputs.as_of_dates)
    found: dict[date, tuple[datetime, pd.DataFrame]] = {}
    for _, rows in chains.groupby(["session_date", "snapshot_time"], sort=True):
        session = rows["session_date"].iloc[0]
        if session in wanted:  # the latest snapshot of a session wins (sorted ascending)
            snapshot = pd.Timestamp(rows["snapshot_time"].iloc[0]).to_pydatetime()
            found[session] = (snapshot, rows)
    return found


def _session_end(day: date, calendar: str) -> datetime:
    late = datetime(day.year, day.month, day.day, 23, 59, tzinfo=UTC)
    return valuation_instant(late, day, calendar)


def oi_stale_sessions(snapshot_time: datetime, session: date, calendar: str) -> int:
    """Return 1 for a snapshot at or after the session close, else 0 (module docstring)."""
    if calendar == NO_CRYPTO:
        return 0
    return 1 if valuation_instant(snapshot_time, session, calendar) < snapshot_time else 0


def invalid_reasons(result: DealerMetrics) -> list[str]:
    """Return why `result` is invalid (diagnostics, else the confidence detail)."""
    found = list(result.diagnostics.get("invalid_reasons", []))
    if not found and result.confidence_detail is not None:
        found = list(result.confidence_detail.reasons)
    return found


def _explain(book: ReasonBook, row: int, result: DealerMetrics, chain: bool) -> None:
    if result.confidence == "invalid" and result.total_gex is None:
        reasons = invalid_reasons(result)
        code = NO_CHAIN if not chain else f"{DEALER_INVALID}: {','.join(reasons)}"
        book.explain(row, [n for n in METRIC_NAMES if n != "spot"], code)
        book.explain(row, ["spot"], NO_BAR)
        return
    flip = result.flip
    book.explain(row, ["gamma_flip"], (flip.none_reason if flip else None) or NOT_COMPUTABLE)
    dgpi = result.dgpi_detail
    book.explain(row, ["dgpi"], (dgpi.none_reason if dgpi else None) or NOT_COMPUTABLE)
    book.explain(row, ["primary_call_wall", "primary_put_wall"], NO_WALL)
    book.explain(row, list(METRIC_NAMES), NOT_COMPUTABLE)


def _log_result(
    ticker: str, day: date, snapshot: datetime | None, spot_source: str | None,
    result: DealerMetrics, typed: Mapping[str, object],
) -> None:  # fmt: skip
    """DEBUG: the filter counts and the intermediate metrics of one ticker-session."""
    report = result.filters
    if report is None:
        steps = "no filters applied"
    else:
        removed = ", ".join(f"{step.name} -{step.removed}" for step in report.steps if step.enabled)
        steps = f"{report.input_contracts} contracts, {removed} -> {report.eligible_contracts}"
    logger.debug("dealer %s %s (snapshot %s): filters: %s", ticker, day, snapshot, steps)
    shown = ("spot", "total_gex", "net_gex", "gamma_flip", "gex_slope", "dgpi",
             "dealer_position", "confidence", "call_walls", "put_walls")  # fmt: skip
    metrics = ", ".join(f"{name} {typed.get(name)}" for name in shown)
    logger.debug("dealer %s %s: %s (spot source %s)", ticker, day, metrics, spot_source)


def make_family(
    params: DealerParams | None = None, *, spot_override: float | None = None
) -> MetricFamily:
    """Return the dealer family computing with `params` (and a fixed spot, if given)."""
    params = params or DealerParams()

    def parameters(_inputs: FamilyInputs) -> Mapping[str, object]:
        return {
            **params.to_dict(),
            "spot_override": spot_override,
            "adv_sessions": ADV_SESSIONS,
            "atr_sessions": ATR_SESSIONS,
            "spot_precedence": (
                [SPOT_SOURCE_OVERRIDE]
                if spot_override is not None
                else [SPOT_SOURCE_PARITY, SPOT_SOURCE_CLOSE]
            ),
            "valuation_time": "snapshot instant, or the session close if captured after it",
            "open_interest_staleness": "1 session when captured at or after the close, else 0",
        }

    def compute(inputs: FamilyInputs) -> pd.DataFrame:
        dates = inputs.as_of_dates
        bars = SessionBars(inputs.frame(Dataset.OHLCV_DAILY), inputs.sessions)
        chains = _session_chains(inputs)
        book = ReasonBook(dates, METRIC_NAMES)
        values = {name: np.full(len(dates), np.nan) for name in METRIC_NAMES}
        other: dict[str, list[object]] = {column.name: [] for column in OTHER}
        for row, day in enumerate(dates):
            found = chains.get(day)
            context = market_context(bars, day, spot_override, _parity_spot(found))
            stale: int | None = None
            if found is None:
                chain: pd.DataFrame = pd.DataFrame()
                as_of = _session_end(day, inputs.calendar)
                snapshot: datetime | None = None
            else:
                snapshot, chain = found
                as_of = valuation_instant(snapshot, day, inputs.calendar)
                stale = oi_stale_sessions(snapshot, day, inputs.calendar)
            market = MarketContext(
                adv_dollars=context.adv,
                atr=context.atr,
                open_interest_stale_sessions=stale,
                spot_source=context.spot_source,
            )
            result = dealer.compute(chain, spot=context.spot, as_of=as_of, params=params,
                                    context=market)  # fmt: skip
            typed = result.typed_row()
            if logger.isEnabledFor(logging.DEBUG):
                _log_result(inputs.ticker, day, snapshot, context.spot_source, result, typed)
            for name in METRIC_NAMES:
                value = typed[name]
                values[name][row] = math.nan if value is None else float(value)
            _explain(book, row, result, found is not None)
            if found is None and bars.bar_index(day) is None:
                book.mark(row, RowStatus.NO_DATA, f"{NO_BAR} and {NO_CHAIN}: {day}")
            elif found is not None and result.confidence == "invalid":
                reasons = ",".join(invalid_reasons(result)) or "invalid"
                book.mark(row, RowStatus.INVALID_INPUT, f"{DEALER_INVALID}: {reasons}")
            other["call_walls"].append(json.dumps(typed["call_walls"]))
            other["put_walls"].append(json.dumps(typed["put_walls"]))
            for name in ("dealer_position", "confidence", "mode", "sign_policy", "flip_method"):
                other[name].append(typed[name])
            other["dealer_model_version"].append(typed["model_version"])
            other["eligible_contracts"].append(int(typed["eligible_contracts"] or 0))
            other["chain_snapshot_time"].append(snapshot)
            other["spot_source"].append(context.spot_source)
            other["adv_dollars"].append(math.nan if context.adv is None else context.adv)
            other["atr_14"].append(math.nan if context.atr is None else context.atr)
            other["oi_stale_sessions"].append(stale)
            other["dealer_metrics_json"].append(result.to_json())
        index = pd.Index(dates, name="as_of")
        frame = pd.DataFrame(values, index=index).loc[:, list(METRIC_NAMES)]
        for column in OTHER:
            data = other[column.name]
            if column.type is LogicalType.INT:
                frame[column.name] = pd.Series(data, index=index, dtype="Int64")
            elif column.type is LogicalType.TIMESTAMP:
                frame[column.name] = pd.to_datetime(
                    pd.Series(data, index=index, dtype=object), utc=True
                )
            elif column.type is LogicalType.FLOAT:
                frame[column.name] = np.asarray(data, dtype=np.float64)
            else:
                frame[column.name] = pd.Series(data, index=index, dtype=object)
        return pd.concat([frame, book.finish(values)], axis=1)

    return MetricFamily(
        name=NAME,
        version=VERSION,
        inputs=(
            InputSpec(
                Dataset.OHLCV_DAILY,
                BAR_LOOKBACK_SESSIONS,
                doc="Daily bars: spot (close of the session), ADV$ (20) and ATR-14 (15 bars).",
            ),
            InputSpec(Dataset.OPTION_CHAINS, 0, doc="The latest chain snapshot of the session."),
        ),
        schema=SCHEMA,
        metric_columns=METRIC_NAMES,
        compute=compute,
        parameters=parameters,
        companions=(CompanionTable(DAILY_SNAPSHOTS, daily_snapshot_rows),),
        doc="Dealer positioning from the session's latest chain: total and net GEX ($ per 1%), "
        "gamma flip, call/put walls, GEX slope, DGPI, dealer position and confidence; the full "
        "JSON payload alongside (docs/research/dealer-metrics.md).",
    )


def dealer_overrides(params: DealerParams) -> dict[str, object]:
    """Return the parameters of `params` that differ from the defaults."""
    default = DealerParams().to_dict()
    return {
        key: value
        for key, value in params.to_dict().items()
        if key != "overrides" and default.get(key) != value
    }


FAMILY = make_family()

__all__ = [
    "DAILY_SNAPSHOTS",
    "FAMILY",
    "SCHEMA",
    "TABLE_NAME",
    "daily_snapshot_rows",
    "dealer_overrides",
    "invalid_reasons",
    "make_family",
    "market_context",
    "oi_stale_sessions",
]
