"""Volatility family: historical vol of daily bars and implied vol of the session's chain.

Per as-of session ``d`` (formulas in `metrics.historical_vol`, `metrics.implied` and
docs/metrics/volatility.md):

1. Historical vol over the sessions ending at ``d`` (each needs all its bars): close-to-close
   10/20/30/60 days; Parkinson, Garman-Klass, Rogers-Satchell and Yang-Zhang over 20 and 30
   days; annualized by sqrt(252), sqrt(365) for 24/7 (crypto) calendars.
2. From the latest chain snapshot of session ``d`` (none: NULL, ``no_chain_snapshot``): ATM
   IV per expiry at the parity forward from mid quotes, constant-maturity IV at 7, 14, 30,
   60, 90 and 180 days, the 25-delta call and put IV and risk reversal at 30 days.
3. Ratios: IV30/HV20 and IV30/HV30 (close-to-close), IV30/IV90 and the 30-90 day slope.
4. IV rank and percentile of IV30 against the IV30 of the 252 sessions before ``d`` (today
   excluded), with at least 126 observations. Those earlier values come from the family's own
   history (`HistorySpec`): stored rows, or the same chain computation for sessions without
   one, so the rank does not depend on which runs came before.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime

import numpy as np
import numpy.typing as npt
import pandas as pd

from optionscope.domain.tables import Column, LogicalType
from optionscope.metrics.family import (
    Dataset,
    FamilyInputs,
    HistorySpec,
    InputSpec,
    MetricFamily,
    ReasonBook,
    RowStatus,
    canonical_json,
    family_table,
)
from optionscope.metrics.historical_vol import (
    CALENDAR_DAYS_PER_YEAR,
    TRADING_SESSIONS_PER_YEAR,
    Estimator,
    bars_needed,
    rolling_vol,
)
from optionscope.metrics.implied import (
    ChainParameters,
    Interpolated,
    compute_expiry_table,
    expiry_records,
    interpolate_constant_maturity,
    iv_percentile,
    iv_rank,
    valuation_instant,
)
from optionscope.metrics.windows import INVALID_BAR, NO_BAR, SessionBars, insufficient_history

NAME = "volatility"
VERSION = 1
TABLE_NAME = "volatility_metrics"

CLOSE_WINDOWS = (10, 20, 30, 60)
RANGE_WINDOWS = (20, 30)
RANGE_ESTIMATORS: tuple[tuple[str, Estimator], ...] = (
    ("parkinson", Estimator.PARKINSON),
    ("garman_klass", Estimator.GARMAN_KLASS),
    ("rogers_satchell", Estimator.ROGERS_SATCHELL),
    ("yang_zhang", Estimator.YANG_ZHANG),
)
TENOR_DAYS = (7, 14, 30, 60, 90, 180)
IV_RANK_SESSIONS = 252
IV_RANK_MIN_OBSERVATIONS = 126
CHAIN_PARAMETERS = ChainParameters()
CRYPTO_CALENDAR = "24/7"

HV_SERIES: tuple[tuple[str, Estimator, int], ...] = (
    *((f"hv_close_{n}d", Estimator.CLOSE_TO_CLOSE, n) for n in CLOSE_WINDOWS),
    *(
        (f"hv_{name}_{n}d", estimator, n)
        for name, estimator in RANGE_ESTIMATORS
        for n in RANGE_WINDOWS
    ),
)
BAR_LOOKBACK_SESSIONS = max(bars_needed(e, n) for _, e, n in HV_SERIES) - 1

NO_CHAIN = "no_chain_snapshot"
NULL_INPUT = "input_null"
ZERO_DENOMINATOR = "zero_denominator"
INSUFFICIENT_IV_HISTORY = "insufficient_iv_history"
FLAT_IV_HISTORY = "flat_iv_history"
NEGATIVE_VARIANCE = "negative_variance_estimate"

_F = LogicalType.FLOAT
_HV_DOCS = {
    "close": "Close-to-close vol of log returns (ddof 1)",
    "parkinson": "Parkinson high-low vol",
    "garman_klass": "Garman-Klass vol",
    "rogers_satchell": "Rogers-Satchell vol",
    "yang_zhang": "Yang-Zhang vol (paper: open-to-close term, demeaned)",
}
METRICS: tuple[Column, ...] = (
    *(
        Column(
            name,
            _F,
            nullable=True,
            doc=f"{_HV_DOCS[name[3:].rsplit('_', 1)[0]]}, {n} sessions, annualized.",
        )
        for name, _, n in HV_SERIES
    ),
    *(
        Column(
            f"iv_{d}d",
            _F,
            nullable=True,
            doc=f"ATM-forward IV at constant maturity {d} calendar days (decimal).",
        )
        for d in TENOR_DAYS
    ),
    Column("iv_hv_ratio_30d_20d", _F, nullable=True, doc="iv_30d / hv_close_20d."),
    Column("iv_hv_ratio_30d_30d", _F, nullable=True, doc="iv_30d / hv_close_30d."),
    Column("iv_term_ratio_30d_90d", _F, nullable=True, doc="iv_30d / iv_90d (> 1: inverted)."),
    Column(
        "iv_term_slope_30d_90d",
        _F,
        nullable=True,
        doc="(iv_90d - iv_30d) / (60/365 years): vol per year of maturity.",
    ),
    Column(
        "iv_rank_252d",
        _F,
        nullable=True,
        doc="(iv_30d - min)/(max - min) over the 252 prior sessions (fraction).",
    ),
    Column(
        "iv_percentile_252d",
        _F,
        nullable=True,
        doc="Share of the 252 prior sessions' iv_30d strictly below today's (0-1).",
    ),
    Column("iv_25delta_call_30d", _F, nullable=True, doc="IV of the +25 delta call, 30 days."),
    Column("iv_25delta_put_30d", _F, nullable=True, doc="IV of the -25 delta put, 30 days."),
    Column(
        "risk_reversal_25delta_30d",
        _F,
        nullable=True,
        doc="iv_25delta_call_30d - iv_25delta_put_30d (usually < 0 for equities).",
    ),
)
INPUTS: tuple[Column, ...] = (
    Column(
        "input_last_session",
        LogicalType.DATE,
        nullable=True,
        doc="Last bar used (the as-of session; NULL when it has no bar).",
    ),
    Column(
        "chain_snapshot_time",
        LogicalType.TIMESTAMP,
        nullable=True,
        doc="Chain snapshot used (the session's latest; NULL when none).",
    ),
    Column(
        "chain_expiries_used",
        LogicalType.INT,
        nullable=True,
        doc="Eligible expiries with an ATM IV (NULL without a chain).",
    ),
    Column(
        "iv_history_observations",
        LogicalType.INT,
        nullable=True,
        doc="IV30 observations in the 252 prior sessions (NULL on a failed row).",
    ),
    Column(
        "atm_iv_by_expiry_json",
        LogicalType.TEXT,
        nullable=True,
        doc="JSON array: per expiry days, forward, ATM and 25-delta IVs, reason.",
    ),
    Column(
        "quality_flags_json",
        LogicalType.TEXT,
        nullable=True,
        doc="JSON array, e.g. calendar_arbitrage_30d, extrapolated_7d (NULL if failed).",
    ),
)
METRIC_NAMES = tuple(column.name for column in METRICS)
IV_COLUMNS = tuple(f"iv_{d}d" for d in TENOR_DAYS)
SKEW_COLUMNS = ("iv_25delta_call_30d", "iv_25delta_put_30d", "risk_reversal_25delta_30d")

SCHEMA = family_table(
    TABLE_NAME,
    METRICS,
    INPUTS,
    doc="Historical and implied volatility, one row per ticker, session and version.",
)


@dataclass(frozen=True, slots=True)
class ChainMetrics:
    """What one chain snapshot gives: per-expiry table and constant-maturity values."""

    snapshot_time: datetime
    table: pd.DataFrame
    tenors: dict[int, Interpolated]
    call_25delta: Interpolated
    put_25delta: Interpolated
    flags: list[str] = field(default_factory=list)


def periods_per_year(calendar: str) -> int:
    """Return the annualization of a calendar: 365 for 24/7, else 252 sessions."""
    return CALENDAR_DAYS_PER_YEAR if calendar == CRYPTO_CALENDAR else TRADING_SESSIONS_PER_YEAR


def parameters(inputs: FamilyInputs) -> Mapping[str, object]:
    """Return the effective parameters (annualization depends on the ticker's calendar)."""
    return {
        "close_windows": list(CLOSE_WINDOWS),
        "range_windows": list(RANGE_WINDOWS),
        "periods_per_year": periods_per_year(inputs.calendar),
        "tenor_days": list(TENOR_DAYS),
        "iv_rank_sessions": IV_RANK_SESSIONS,
        "iv_rank_min_observations": IV_RANK_MIN_OBSERVATIONS,
        "iv_source": "mid quotes, Black-76 on the parity forward, out-of-the-money legs",
        "delta": "forward delta N(d1), premium unadjusted",
        "valuation_time": "snapshot instant, or the session close if captured after it",
        **asdict(CHAIN_PARAMETERS),
    }


def compute_chain_metrics(
    chain: pd.DataFrame, snapshot_time: datetime, session: date, calendar: str
) -> ChainMetrics:
    """Return the implied-vol results of one snapshot's rows (see `metrics.implied`)."""
    valuation = valuation_instant(snapshot_time, session, calendar)
    table = compute_expiry_table(chain, valuation, CHAIN_PARAMETERS)
    eligible = table[table["eligible"].astype(bool)] if len(table) else table
    years = eligible["expiry_years"].to_numpy(dtype=np.float64) if len(eligible) else np.empty(0)

    def at(column: str, days: int) -> Interpolated:
        vols = eligible[column].to_numpy(dtype=np.float64) if len(eligible) else np.empty(0)
        return interpolate_constant_maturity(
            years, vols, days, max_extrapolation_days=CHAIN_PARAMETERS.max_extrapolation_days
        )

    tenors = {days: at("atm_iv", days) for days in TENOR_DAYS}
    flags = [f"calendar_arbitrage_{d}d" for d, r in tenors.items() if r.calendar_arbitrage]
    flags += [f"extrapolated_{d}d" for d, r in tenors.items() if r.extrapolated]
    return ChainMetrics(
        snapshot_time, table, tenors, at("iv_25delta_call", 30), at("iv_25delta_put", 30), flags
    )


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


def compute_iv_history(inputs: FamilyInputs) -> pd.DataFrame:
    """Return ``iv_30d`` per as-of session from its chain alone (the `HistorySpec` compute)."""
    chains = _session_chains(inputs)
    values = [
        compute_chain_metrics(chains[day][1], chains[day][0], day, inputs.calendar).tenors[30].vol
        if day in chains
        else math.nan
        for day in inputs.as_of_dates
    ]
    return pd.DataFrame({"iv_30d": values}, index=pd.Index(inputs.as_of_dates, name="as_of"))


class _Rows:
    """Mutable per-row state of one compute call."""

    def __init__(self, inputs: FamilyInputs) -> None:
        self.dates = inputs.as_of_dates
        self.book = ReasonBook(self.dates, METRIC_NAMES)
        self.values = {name: np.full(len(self.dates), np.nan) for name in METRIC_NAMES}
        self.last_session: list[object] = [None] * len(self.dates)
        self.has_bar = np.zeros(len(self.dates), dtype=bool)


def _historical(inputs: FamilyInputs, rows: _Rows) -> None:
    """Fill the HV columns; a row's value is the series at its bar when its window is usable.

    Reasons are given only where a value stays NULL (reasons of non-NULL values are never
    emitted, and no other step explains these columns).
    """
    bars = SessionBars(inputs.frame(Dataset.OHLCV_DAILY), inputs.sessions)
    prices = bars.values
    scale = periods_per_year(inputs.calendar)
    for name, estimator, window in HV_SERIES:
        series = rolling_vol(
            estimator,
            open_=prices["open"],
            high=prices["high"],
            low=prices["low"],
            close=prices["close"],
            window=window,
            periods_per_year=scale,
        )
        needed = bars_needed(estimator, window)
        windows = bars.windows(rows.dates, needed)
        rows.has_bar |= windows.bar >= 0
        usable = windows.complete & ~windows.invalid
        values = rows.values[name]
        values[usable] = series[windows.bar[usable]]
        no_bar = windows.bar < 0
        rows.book.explain_rows(np.flatnonzero(no_bar).tolist(), [name], NO_BAR)
        for row in np.flatnonzero(~no_bar & ~windows.complete).tolist():
            reason = insufficient_history(int(windows.present[row]), needed)
            rows.book.explain(row, [name], reason)
        for row in np.flatnonzero(windows.invalid).tolist():
            invalid = bars.first_invalid(int(windows.start[row]), int(windows.end[row]))
            if invalid is not None:  # always: the window holds an invalid bar
                rows.book.mark(row, RowStatus.INVALID_INPUT, invalid)
            rows.book.explain(row, [name], INVALID_BAR)
        negative = np.flatnonzero(usable & np.isnan(values))
        rows.book.explain_rows(negative.tolist(), [name], NEGATIVE_VARIANCE)
    rows.last_session = [
        day if has_bar else None for day, has_bar in zip(rows.dates, rows.has_bar, strict=True)
    ]


@dataclass(frozen=True, slots=True)
class _ChainColumns:
    snapshot: datetime | None = None
    expiries: int | None = None
    expiry_json: str | None = None
    flags: list[str] = field(default_factory=list)


def _implied(chains: dict[date, ChainMetrics], rows: _Rows) -> list[_ChainColumns]:
    without = [row for row, day in enumerate(rows.dates) if day not in chains]
    rows.book.explain_rows(without, [*IV_COLUMNS, *SKEW_COLUMNS], NO_CHAIN)
    for row in without:
        if not rows.has_bar[row]:
            rows.book.mark(row, RowStatus.NO_DATA, f"{NO_BAR} and {NO_CHAIN}: {rows.dates[row]}")
    extra = [_ChainColumns()] * len(rows.dates)
    for row, day in enumerate(rows.dates):
        result = chains.get(day)
        if result is None:
            continue
        for days, value in result.tenors.items():
            rows.values[f"iv_{days}d"][row] = value.vol
            rows.book.explain(row, [f"iv_{days}d"], value.reason or "")
        call, put = result.call_25delta, result.put_25delta
        rows.values["iv_25delta_call_30d"][row] = call.vol
        rows.values["iv_25delta_put_30d"][row] = put.vol
        rows.values["risk_reversal_25delta_30d"][row] = call.vol - put.vol
        rows.book.explain(row, ["iv_25delta_call_30d"], call.reason or "no_25_delta_bracket")
        rows.book.explain(row, ["iv_25delta_put_30d"], put.reason or "no_25_delta_bracket")
        rows.book.explain(row, ["risk_reversal_25delta_30d"], NULL_INPUT)
        table = result.table
        used = (
            int((table["eligible"].astype(bool) & table["atm_iv"].notna()).sum())
            if len(table)
            else 0
        )
        extra[row] = _ChainColumns(
            snapshot=result.snapshot_time,
            expiries=used,
            expiry_json=canonical_json(expiry_records(table)),
            flags=result.flags,
        )
    return extra


def _ratio(rows: _Rows, name: str, numerator: str, denominator: str) -> None:
    """Set ``numerator / denominator`` (NULL when an input is NULL or the denominator is 0)."""
    top, bottom = rows.values[numerator], rows.values[denominator]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(bottom != 0.0, top / bottom, np.nan)
    rows.values[name] = ratio
    # Only NULL values need a reason; a NULL input makes the ratio NULL.
    top_null, bottom_null = np.isnan(top), np.isnan(bottom)
    other = np.isnan(ratio) & ~top_null & ~bottom_null
    book = rows.book
    book.explain_rows(np.flatnonzero(top_null).tolist(), [name], f"{NULL_INPUT}: {numerator}")
    missing = np.flatnonzero(bottom_null & ~top_null).tolist()
    book.explain_rows(missing, [name], f"{NULL_INPUT}: {denominator}")
    book.explain_rows(np.flatnonzero(other).tolist(), [name], ZERO_DENOMINATOR)


def _derived(rows: _Rows) -> None:
    _ratio(rows, "iv_hv_ratio_30d_20d", "iv_30d", "hv_close_20d")
    _ratio(rows, "iv_hv_ratio_30d_30d", "iv_30d", "hv_close_30d")
    _ratio(rows, "iv_term_ratio_30d_90d", "iv_30d", "iv_90d")
    slope = (rows.values["iv_90d"] - rows.values["iv_30d"]) / ((90 - 30) / 365.0)
    rows.values["iv_term_slope_30d_90d"] = slope
    null = np.flatnonzero(np.isnan(slope)).tolist()
    rows.book.explain_rows(null, ["iv_term_slope_30d_90d"], f"{NULL_INPUT}: iv_30d or iv_90d")


def _rank(inputs: FamilyInputs, rows: _Rows) -> npt.NDArray[np.int64]:
    """Set IV rank and percentile; return the IV30 observations of each row's prior window.

    The IV30 series (own history, then this call's values, which win) is placed on
    ``inputs.sessions``; a row's sample is the finite values of the `IV_RANK_SESSIONS`
    sessions before it, in session order.
    """
    history = inputs.frame(Dataset.OWN_HISTORY)
    series: dict[date, float] = {}
    if len(history):
        series.update(zip(history["as_of"], history["iv_30d"].astype(float), strict=True))
    current = rows.values["iv_30d"]
    series.update(zip(rows.dates, current, strict=True))
    aligned = np.array([series.get(day, math.nan) for day in inputs.sessions], dtype=np.float64)
    finite = np.isfinite(aligned)
    finite_before = np.concatenate([[0], np.cumsum(finite, dtype=np.int64)])
    position = {day: index for index, day in enumerate(inputs.sessions)}
    ends = np.array([position[day] for day in rows.dates], dtype=np.int64)
    starts = np.maximum(ends - IV_RANK_SESSIONS, 0)
    observations: npt.NDArray[np.int64] = finite_before[ends] - finite_before[starts]
    rank, percentile = rows.values["iv_rank_252d"], rows.values["iv_percentile_252d"]
    enough = observations >= IV_RANK_MIN_OBSERVATIONS
    for row in np.flatnonzero(~np.isnan(current) & enough).tolist():
        window = aligned[starts[row] : ends[row]]
        sample = window[finite[starts[row] : ends[row]]]
        rank[row] = iv_rank(float(current[row]), sample)
        percentile[row] = iv_percentile(float(current[row]), sample)
    # Only NULL values need a reason (no other step explains these columns).
    for row in np.flatnonzero(np.isnan(rank) | np.isnan(percentile)).tolist():
        if np.isnan(current[row]):
            reason = f"{NULL_INPUT}: iv_30d"
        elif not enough[row]:
            reason = f"{INSUFFICIENT_IV_HISTORY}: {observations[row]} of {IV_RANK_MIN_OBSERVATIONS}"
        else:
            reason = FLAT_IV_HISTORY
        rows.book.explain(row, ["iv_rank_252d", "iv_percentile_252d"], reason)
    return observations


def compute(inputs: FamilyInputs) -> pd.DataFrame:
    """Return one row per as-of session: historical and implied vol, NULLs with reasons."""
    rows = _Rows(inputs)
    _historical(inputs, rows)
    chains = {
        day: compute_chain_metrics(rows_, snapshot, day, inputs.calendar)
        for day, (snapshot, rows_) in _session_chains(inputs).items()
    }
    extra = _implied(chains, rows)
    _derived(rows)
    observations = _rank(inputs, rows)
    index = pd.Index(rows.dates, name="as_of")
    frame = pd.DataFrame(rows.values, index=index).loc[:, list(METRIC_NAMES)]
    frame["input_last_session"] = pd.Series(rows.last_session, index=index, dtype=object)
    frame["chain_snapshot_time"] = pd.to_datetime(
        pd.Series([e.snapshot for e in extra], index=index, dtype=object), utc=True
    )
    expiries_used: list[int | None] = [e.expiries for e in extra]
    frame["chain_expiries_used"] = pd.array(expiries_used, dtype="Int64")
    frame["iv_history_observations"] = observations
    frame["atm_iv_by_expiry_json"] = pd.Series(
        [e.expiry_json for e in extra], index=index, dtype=object
    )
    no_flags = canonical_json([])
    frame["quality_flags_json"] = [canonical_json(e.flags) if e.flags else no_flags for e in extra]
    return pd.concat([frame, rows.book.finish(rows.values)], axis=1)


FAMILY = MetricFamily(
    name=NAME,
    version=VERSION,
    inputs=(
        InputSpec(
            Dataset.OHLCV_DAILY,
            BAR_LOOKBACK_SESSIONS,
            doc="Daily bars: the as-of session and the 60 before it (HV60 needs 61).",
        ),
        InputSpec(Dataset.OPTION_CHAINS, 0, doc="The latest chain snapshot of the session."),
    ),
    schema=SCHEMA,
    metric_columns=METRIC_NAMES,
    compute=compute,
    parameters=parameters,
    history=HistorySpec(
        columns=("iv_30d",),
        lookback_sessions=IV_RANK_SESSIONS,
        dataset=Dataset.OPTION_CHAINS,
        compute=compute_iv_history,
        marker_column="chain_snapshot_time",
    ),
    doc="Historical vol (close-to-close, Parkinson, Garman-Klass, Rogers-Satchell, "
    "Yang-Zhang), ATM IV per expiry and at constant maturity from mid quotes, IV/HV and term "
    "ratios, IV rank and percentile over 252 sessions, 25-delta risk reversal at 30 days.",
)
