"""Report sections from the metric families' tables: technicals, HV, IV term structure, dealer.

Each section reads the newest model version stored for the ticker; a family whose table does
not exist yet (no run has written it) simply contributes no section.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from optionscope.domain.tables import TableSpec
from optionscope.metrics.families import dealer, technical, volatility
from optionscope.reports.html import Section, Table
from optionscope.storage import Store

HV_LINES: tuple[tuple[str, str], ...] = (
    ("hv_close_20d", "close-to-close 20d"),
    ("hv_close_60d", "close-to-close 60d"),
    ("hv_parkinson_20d", "Parkinson 20d"),
    ("hv_yang_zhang_20d", "Yang-Zhang 20d"),
)
TERM_COLUMNS: tuple[str, ...] = tuple(f"iv_{days}d" for days in volatility.TENOR_DAYS)
DEALER_CHART_RANGE_PCT = 0.08
"""Strikes within this fraction of spot are drawn in the gamma-by-strike chart."""
BILLION = 1e9


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
    """Return the technical, historical-vol, IV term-structure and dealer sections of `ticker`."""
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
    positioning = read_latest_version(store, dealer.SCHEMA, ticker)
    if len(positioning):
        with_chain = positioning[positioning["chain_snapshot_time"].notna()]
        if len(with_chain):
            sections.append(_dealer_section(ticker, with_chain))
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


def _walls(text: object) -> str:
    strikes = json.loads(str(text)) if text is not None else []
    return ", ".join(f"{k:,.0f}" if float(k).is_integer() else f"{k:,.2f}" for k in strikes) or "-"


def _billions(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{float(value) / BILLION:,.2f}"  # type: ignore[arg-type]


def _gamma_by_strike_chart(payload: dict[str, Any], row: pd.Series) -> go.Figure:
    by_strike = pd.DataFrame(payload.get("by_strike") or {})
    spot = float(row["spot"]) if not pd.isna(row["spot"]) else math.nan
    figure = go.Figure()
    if len(by_strike) and math.isfinite(spot):
        near = by_strike[(by_strike["strike"] - spot).abs() <= DEALER_CHART_RANGE_PCT * spot]
        for column, label, color in (
            ("call_gex", "calls (dealer long)", "#3e8e41"),
            ("put_gex", "puts (dealer short)", "#c0392b"),
        ):
            sign = 1.0 if column == "call_gex" else -1.0
            figure.add_trace(
                go.Bar(
                    x=near["strike"],
                    y=sign * near[column].abs() / BILLION,
                    name=label,
                    marker_color=color,
                    opacity=0.55,
                )
            )
        figure.add_trace(
            go.Scatter(
                x=near["strike"],
                y=near["net_gex"] / BILLION,
                name="net GEX",
                mode="lines+markers",
                line={"color": "#243b53"},
            )
        )
    marks: list[tuple[float, str, str, str]] = [(spot, "spot", "#243b53", "solid")]
    if not pd.isna(row["gamma_flip"]):
        marks.append((float(row["gamma_flip"]), "gamma flip", "#d97706", "dash"))
    for index, strike in enumerate(json.loads(str(row["call_walls"]))):
        label = "call wall" if index == 0 else f"call wall {index + 1}"
        marks.append((float(strike), label, "#3e8e41", "solid" if index == 0 else "dot"))
    for index, strike in enumerate(json.loads(str(row["put_walls"]))):
        label = "put wall" if index == 0 else f"put wall {index + 1}"
        marks.append((float(strike), label, "#c0392b", "solid" if index == 0 else "dot"))
    for level, label, color, dash in marks:
        if math.isfinite(level):
            figure.add_vline(
                x=level,
                line_color=color,
                line_dash=dash,
                annotation_text=f"{label} {level:,.2f}",
                annotation_textangle=-90,
                annotation_font_size=10,
            )
    figure.update_layout(
        barmode="relative",
        height=460,
        margin={"t": 30},
        xaxis_title="strike",
        yaxis_title="GEX ($bn per 1% move)",
        template="plotly_white",
    )
    return figure


def _dealer_section(ticker: str, rows: pd.DataFrame) -> Section:
    latest = rows.iloc[-1]
    payload = json.loads(str(latest["dealer_metrics_json"]))
    table_rows = [
        (
            str(row["as_of"]),
            _number(row["spot"]),
            _billions(row["total_gex"]),
            _billions(row["net_gex"]),
            _number(row["gamma_flip"]),
            _walls(row["call_walls"]),
            _walls(row["put_walls"]),
            _number(row["gex_slope"] / BILLION * row["spot"] * 0.01, 3)
            if not pd.isna(row["gex_slope"])
            else "-",
            _number(row["dgpi"], 1),
            str(row["dealer_position"]),
            f"{row['confidence']} ({_number(row['confidence_score'], 2)})",
        )
        for _, row in rows.iterrows()
    ]
    return Section(
        title=f"{ticker}: dealer positioning, gamma by strike ({dealer.FAMILY.key})",
        text=(
            f"Latest snapshot {latest['chain_snapshot_time']} (session {latest['as_of']}), "
            f"spot {_number(latest['spot'])} ({latest['spot_source']}). GEX in $bn per 1% "
            "move, sign policy "
            f"{latest['sign_policy']} (an assumption: dealers long calls, short puts); the flip "
            "is where the re-priced net gamma profile crosses zero nearest spot; walls are the "
            "strikes with the most call (put) gamma. Open interest is as of the prior close. "
            "Slope: change of net GEX ($bn per 1%) for a 1% move of spot. Method: "
            "docs/research/dealer-metrics.md."
        ),
        tables=(
            Table(
                columns=(
                    "session",
                    "spot",
                    "total GEX",
                    "net GEX",
                    "gamma flip",
                    "call walls",
                    "put walls",
                    "slope",
                    "DGPI",
                    "position",
                    "confidence",
                ),
                rows=table_rows,
            ),
        ),
        charts=(_gamma_by_strike_chart(payload, latest),),
    )
