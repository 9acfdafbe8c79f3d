"""Report sections drawn from the metric families' tables: technicals, HV, IV term structure.

Each section reads the newest model version stored for the ticker; a family whose table does
not exist yet (no run has written it) simply contributes no section.
"""

from __future__ import annotations

import json
import math

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from optionscope.domain.tables import TableSpec
from optionscope.metrics.families import technical, volatility
from optionscope.reports.html import Section, Table
from optionscope.storage import Store

HV_LINES: tuple[tuple[str, str], ...] = (
    ("hv_close_20d", "close-to-close 20d"),
    ("hv_close_60d", "close-to-close 60d"),
    ("hv_parkinson_20d", "Parkinson 20d"),
    ("hv_yang_zhang_20d", "Yang-Zhang 20d"),
)
TERM_COLUMNS: tuple[str, ...] = tuple(f"iv_{days}d" for days in volatility.TENOR_DAYS)


def read_latest_version(store: Store, table: TableSpec, ticker: str) -> pd.DataFrame:
    """Return the ticker's rows of the newest stored model version (empty if none)."""
    try:
        store.reflect_table(table.name)
    except KeyError:
        return pd.DataFrame(columns=list(table.column_names))
    rows = store.read(table, where={"ticker": ticker}, order_by=["as_of"])
    if rows.empty:
        return rows
    newest = rows["model_version"].max()
    latest: pd.DataFrame = rows[rows["model_version"] == newest].reset_index(drop=True)
    return latest


def metric_sections(store: Store, ticker: str) -> list[Section]:
    """Return the technical, historical-vol and IV term-structure sections of `ticker`."""
    sections = []
    indicators = read_latest_version(store, technical.SCHEMA, ticker)
    computed = indicators[indicators["status"] == "ok"] if len(indicators) else indicators
    if len(computed):
        sections.append(_technical_section(ticker, computed))
    vols = read_latest_version(store, volatility.SCHEMA, ticker)
    if len(vols):
        sections.append(_historical_vol_section(ticker, vols))
        with_chain = vols[vols["chain_snapshot_time"].notna()]
        if len(with_chain):
            sections.append(_term_structure_section(ticker, with_chain))
    return sections


def _number(value: object, digits: int = 2, *, percent: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    number = float(value)  # type: ignore[arg-type]
    return f"{number:.{digits}%}" if percent else f"{number:,.{digits}f}"


def _technical_section(ticker: str, rows: pd.DataFrame) -> Section:
    figure = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.06,
        subplot_titles=("RSI(14)", "MACD(12,26,9)", "ATR(14)"),
    )
    x = rows["as_of"]
    figure.add_trace(go.Scatter(x=x, y=rows["rsi_14d"], name="RSI 14", mode="lines"), 1, 1)
    for level in (30, 70):
        figure.add_hline(y=level, line_dash="dot", line_color="#9aa5b1", row=1, col=1)
    figure.add_trace(
        go.Bar(x=x, y=rows["macd_histogram"], name="MACD histogram", marker_color="#9fb3c8"), 2, 1
    )
    figure.add_trace(go.Scatter(x=x, y=rows["macd_12_26d"], name="MACD line", mode="lines"), 2, 1)
    figure.add_trace(go.Scatter(x=x, y=rows["macd_signal_9d"], name="signal", mode="lines"), 2, 1)
    figure.add_trace(go.Scatter(x=x, y=rows["atr_14d"], name="ATR 14", mode="lines"), 3, 1)
    figure.update_layout(height=640, margin={"t": 40}, template="plotly_white")
    last = rows.iloc[-1]
    table = Table(
        columns=(
            "as of",
            "RSI 14",
            "MACD",
            "signal",
            "histogram",
            "ADX 14",
            "+DI",
            "-DI",
            "ATR 14",
            "OBV (252d)",
        ),
        rows=[
            (
                str(last["as_of"]),
                _number(last["rsi_14d"]),
                _number(last["macd_12_26d"], 3),
                _number(last["macd_signal_9d"], 3),
                _number(last["macd_histogram"], 3),
                _number(last["adx_14d"]),
                _number(last["plus_di_14d"]),
                _number(last["minus_di_14d"]),
                _number(last["atr_14d"], 3),
                _number(last["obv_252d"], 0),
            )
        ],
    )
    return Section(
        title=f"{ticker}: technical indicators ({technical.FAMILY.key})",
        text="TA-Lib semantics, each value computed over the 252 sessions ending that day.",
        tables=(table,),
        charts=(figure,),
    )


def _historical_vol_section(ticker: str, rows: pd.DataFrame) -> Section:
    figure = go.Figure()
    for column, label in HV_LINES:
        figure.add_trace(go.Scatter(x=rows["as_of"], y=rows[column], name=label, mode="lines"))
    with_iv = rows[rows["iv_30d"].notna()]
    if len(with_iv):
        figure.add_trace(
            go.Scatter(
                x=with_iv["as_of"],
                y=with_iv["iv_30d"],
                mode="markers",
                name="IV 30d (chain)",
                marker={"size": 10},
            )
        )
    figure.update_layout(
        height=380,
        margin={"t": 20},
        yaxis_title="annualized vol",
        yaxis_tickformat=".0%",
        template="plotly_white",
    )
    last = rows.iloc[-1]
    table = Table(
        columns=(
            "as of",
            "HV 10d",
            "HV 20d",
            "HV 30d",
            "HV 60d",
            "Parkinson 20d",
            "Garman-Klass 20d",
            "Rogers-Satchell 20d",
            "Yang-Zhang 20d",
        ),
        rows=[
            (
                str(last["as_of"]),
                *(
                    _number(last[c], 1, percent=True)
                    for c in (
                        "hv_close_10d",
                        "hv_close_20d",
                        "hv_close_30d",
                        "hv_close_60d",
                        "hv_parkinson_20d",
                        "hv_garman_klass_20d",
                        "hv_rogers_satchell_20d",
                        "hv_yang_zhang_20d",
                    )
                ),
            )
        ],
    )
    return Section(
        title=f"{ticker}: historical volatility ({volatility.FAMILY.key})",
        text="Annualized by sqrt(252); IV 30d marks the sessions with a chain snapshot.",
        tables=(table,),
        charts=(figure,),
    )


def _term_structure_section(ticker: str, rows: pd.DataFrame) -> Section:
    figure = go.Figure()
    table_rows = []
    for row in rows.itertuples(index=False):
        expiries = json.loads(str(row.atm_iv_by_expiry_json))
        points = [(e["days"], e["atm_iv"]) for e in expiries if e["atm_iv"] is not None]
        figure.add_trace(
            go.Scatter(
                x=[p[0] for p in points],
                y=[p[1] for p in points],
                mode="lines+markers",
                name=f"{row.as_of} per expiry",
            )
        )
        tenors = [(d, getattr(row, f"iv_{d}d")) for d in volatility.TENOR_DAYS]
        figure.add_trace(
            go.Scatter(
                x=[d for d, v in tenors if not math.isnan(v)],
                y=[v for _, v in tenors if not math.isnan(v)],
                mode="markers",
                marker={"symbol": "diamond", "size": 11},
                name=f"{row.as_of} constant maturity",
            )
        )
        table_rows.append(
            (
                str(row.as_of),
                *(_number(getattr(row, c), 1, percent=True) for c in TERM_COLUMNS),
                _number(row.risk_reversal_25delta_30d, 1, percent=True),
                _number(row.iv_hv_ratio_30d_20d, 2),
                _number(row.iv_term_ratio_30d_90d, 2),
            )
        )
    figure.update_layout(
        height=420,
        margin={"t": 20},
        xaxis_title="days to expiry",
        yaxis_title="ATM-forward IV",
        yaxis_tickformat=".0%",
        template="plotly_white",
    )
    return Section(
        title=f"{ticker}: implied volatility term structure ({volatility.FAMILY.key})",
        text="IV solved from mid quotes at each expiry's parity forward (out-of-the-money "
        "legs, Black-76); constant maturity by linear interpolation in total variance. A dash "
        "is a value the chain cannot give (e.g. no expiry that far out).",
        tables=(
            Table(
                columns=(
                    "session",
                    *(f"IV {d}d" for d in volatility.TENOR_DAYS),
                    "RR 25d 30d",
                    "IV30/HV20",
                    "IV30/IV90",
                ),
                rows=table_rows,
            ),
        ),
        charts=(figure,),
    )
