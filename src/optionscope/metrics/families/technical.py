"""Technical family: RSI, MACD, ADX with +DI/-DI, ATR and OBV of daily bars (TA-Lib semantics).

Each row for session ``d`` is TA-Lib's last value over the `WINDOW_SESSIONS` sessions ending at
``d`` (every one of which must have a bar): the indicators with memory (Wilder smoothing, EMAs,
OBV's running sum) are started at the window's first bar, so a row depends on that window only
and is the same whether it is computed alone or in a backfill. Formulas: `metrics.technical`
and docs/metrics/technical.md.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from optionscope.domain.tables import Column, LogicalType
from optionscope.metrics.family import (
    Dataset,
    FamilyInputs,
    InputSpec,
    MetricFamily,
    ReasonBook,
    RowStatus,
    family_table,
)
from optionscope.metrics.kernels import technical_window_last
from optionscope.metrics.windows import INVALID_BAR, NO_BAR, SessionBars, insufficient_history

NAME = "technical"
VERSION = 1
TABLE_NAME = "ohlcv_technical_metrics"

WINDOW_SESSIONS = 252
"""Bars (sessions) each row is computed over: about one year; >= 5x every period (warm-up)."""
RSI_PERIOD = 14
MACD_FAST, MACD_SLOW, MACD_SIGNAL = 12, 26, 9
ADX_PERIOD = 14
ATR_PERIOD = 14

WARM_UP = "warm_up"

_F = LogicalType.FLOAT
METRICS: tuple[Column, ...] = (
    Column("rsi_14d", _F, nullable=True, doc="Wilder RSI(14), 0-100 (TA-Lib RSI)."),
    Column("macd_12_26d", _F, nullable=True, doc="MACD line EMA12 - EMA26, price units."),
    Column("macd_signal_9d", _F, nullable=True, doc="EMA9 of the MACD line, price units."),
    Column("macd_histogram", _F, nullable=True, doc="MACD line - signal, price units."),
    Column("adx_14d", _F, nullable=True, doc="Average directional index(14), 0-100."),
    Column("plus_di_14d", _F, nullable=True, doc="+DI(14), 0-100 (TA-Lib PLUS_DI)."),
    Column("minus_di_14d", _F, nullable=True, doc="-DI(14), 0-100 (TA-Lib MINUS_DI)."),
    Column("atr_14d", _F, nullable=True, doc="Wilder ATR(14), price units."),
    Column(
        "obv_252d",
        _F,
        nullable=True,
        doc="On-balance volume from the window's first bar (starts at its volume), shares.",
    ),
)
INPUTS: tuple[Column, ...] = (
    Column(
        "input_first_session",
        LogicalType.DATE,
        nullable=True,
        doc="First bar of the window the values use (NULL when not computed).",
    ),
    Column(
        "input_last_session",
        LogicalType.DATE,
        nullable=True,
        doc="Last bar used: the as-of session (NULL when it has no bar).",
    ),
    Column(
        "input_bars",
        LogicalType.INT,
        nullable=True,
        doc="Bars present in the window's sessions (NULL on a failed row).",
    ),
)
METRIC_NAMES = tuple(column.name for column in METRICS)

SCHEMA = family_table(
    TABLE_NAME,
    METRICS,
    INPUTS,
    doc="Technical indicators of daily bars, one row per ticker, session and version.",
)


def parameters(inputs: FamilyInputs) -> Mapping[str, object]:
    """Return the effective parameters (the same for every ticker)."""
    del inputs
    return {
        "window_sessions": WINDOW_SESSIONS,
        "rsi_period": RSI_PERIOD,
        "macd_fast": MACD_FAST,
        "macd_slow": MACD_SLOW,
        "macd_signal": MACD_SIGNAL,
        "adx_period": ADX_PERIOD,
        "atr_period": ATR_PERIOD,
        "semantics": "TA-Lib (default compatibility, unstable periods 0)",
    }


def compute(inputs: FamilyInputs) -> pd.DataFrame:
    """Return one row per as-of session: the nine indicators or NULLs with reasons."""
    bars = SessionBars(inputs.frame(Dataset.OHLCV_DAILY), inputs.sessions)
    dates = inputs.as_of_dates
    book = ReasonBook(dates, METRIC_NAMES)
    values = np.full((len(dates), len(METRICS)), np.nan)
    windows = bars.windows(dates, WINDOW_SESSIONS)
    usable = windows.complete & ~windows.invalid
    for row in np.flatnonzero(~usable).tolist():  # rows not computed, and why
        if windows.bar[row] < 0:
            book.mark(row, RowStatus.NO_DATA, f"{NO_BAR}: {dates[row]}")
            book.explain(row, METRIC_NAMES, NO_BAR)
        elif not windows.complete[row]:
            reason = insufficient_history(int(windows.present[row]), WINDOW_SESSIONS)
            book.explain(row, METRIC_NAMES, reason)
        else:
            invalid = bars.first_invalid(int(windows.start[row]), int(windows.end[row]))
            if invalid is not None:  # always: the window holds an invalid bar
                book.mark(row, RowStatus.INVALID_INPUT, invalid)
            book.explain(row, METRIC_NAMES, INVALID_BAR)
    rows = np.flatnonzero(usable)
    if rows.size:
        periods = np.array(
            [RSI_PERIOD, MACD_FAST, MACD_SLOW, MACD_SIGNAL, ADX_PERIOD, ATR_PERIOD],
            dtype=np.int64,
        )
        v = bars.values
        values[rows] = technical_window_last(
            v["high"],
            v["low"],
            v["close"],
            v["volume"],
            windows.start[rows],
            windows.end[rows],
            periods,
        )
    missing = np.isnan(values)
    for row in np.flatnonzero(usable & missing.any(axis=1)).tolist():
        nulls = [name for name, nan in zip(METRIC_NAMES, missing[row], strict=True) if nan]
        book.explain(row, nulls, WARM_UP)
    first_session = [
        bars.dates[start] if ok else None
        for start, ok in zip(windows.start.tolist(), usable.tolist(), strict=True)
    ]
    last_session = [
        day if bar >= 0 else None for day, bar in zip(dates, windows.bar.tolist(), strict=True)
    ]
    columns = {name: values[:, index] for index, name in enumerate(METRIC_NAMES)}
    frame = pd.DataFrame(columns, index=pd.Index(dates, name="as_of"))
    frame["input_first_session"] = pd.Series(first_session, index=frame.index, dtype=object)
    frame["input_last_session"] = pd.Series(last_session, index=frame.index, dtype=object)
    frame["input_bars"] = windows.present
    status = book.finish(columns)
    return pd.concat([frame, status], axis=1)


FAMILY = MetricFamily(
    name=NAME,
    version=VERSION,
    inputs=(
        InputSpec(
            Dataset.OHLCV_DAILY,
            WINDOW_SESSIONS - 1,
            doc="Daily bars of the window: the as-of session and the 251 before it.",
        ),
    ),
    schema=SCHEMA,
    metric_columns=METRIC_NAMES,
    compute=compute,
    parameters=parameters,
    doc="RSI(14), MACD(12,26,9), ADX/+DI/-DI(14), ATR(14) and OBV of daily bars with "
    "TA-Lib's semantics, each computed over the 252 sessions ending at the as-of session.",
)
