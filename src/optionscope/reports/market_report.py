"""The market report: what the store holds per underlying, with charts of its latest chains.

Building the report model is separate from rendering it (`reports.html`), so tests can check
the numbers without parsing HTML.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from optionscope.domain import tables
from optionscope.reports.html import Page, Section, Table
from optionscope.reports.metric_sections import metric_sections
from optionscope.storage import Store

STRIKE_WINDOW = 0.15
"""Charts of a chain show strikes within +-15% of the reference spot."""


@dataclass(frozen=True, slots=True)
class SnapshotSummary:
    """Totals of one chain snapshot.

    Attributes:
        underlying: Ticker.
        snapshot_time: Capture instant (UTC).
        session_date: Session the quotes reflect.
        header_spot: Spot as the file's header says.
        parity_spot: Spot implied by put-call parity (None when not computable).
        spot_check: ok | disagrees | unchecked.
        flags: Data-quality flags.
        contracts: Contracts in the snapshot.
        expiries: Distinct expiries.
        call_open_interest: Sum of call open interest (contracts).
        put_open_interest: Sum of put open interest (contracts).
    """

    underlying: str
    snapshot_time: datetime
    session_date: date
    header_spot: float | None
    parity_spot: float | None
    spot_check: str
    flags: tuple[str, ...]
    contracts: int
    expiries: int
    call_open_interest: float
    put_open_interest: float

    @property
    def reference_spot(self) -> float | None:
        """Return the parity spot when known, else the header spot."""
        return self.parity_spot if self.parity_spot is not None else self.header_spot

    @property
    def put_call_open_interest_ratio(self) -> float | None:
        """Return put OI / call OI, None when there is no call OI."""
        if self.call_open_interest <= 0:
            return None
        return self.put_open_interest / self.call_open_interest


def read_chain(store: Store, underlying: str, snapshot_time: datetime) -> pd.DataFrame:
    """Return one snapshot's rows joined with their contracts' expiry, strike and right."""
    quotes = store.read(
        tables.OPTION_CHAIN_SNAPSHOTS,
        where={"underlying": underlying, "snapshot_time": snapshot_time},
    )
    contracts = store.read(tables.OPTION_CONTRACTS, where={"underlying": underlying})
    terms = contracts.loc[:, ["contract_symbol", "expiry", "strike", "option_right"]]
    return quotes.merge(terms, on="contract_symbol", how="left", validate="many_to_one")


def summarize_snapshots(store: Store, underlying: str) -> list[SnapshotSummary]:
    """Return a summary per stored snapshot of `underlying`, oldest first."""
    snapshots = store.read(
        tables.CHAIN_SNAPSHOTS, where={"underlying": underlying}, order_by=["snapshot_time"]
    )
    summaries = []
    for snapshot in snapshots.to_dict("records"):
        snapshot_time = pd.Timestamp(snapshot["snapshot_time"]).to_pydatetime()
        chain = read_chain(store, underlying, snapshot_time)
        is_call = chain["option_right"] == "C"
        summaries.append(
            SnapshotSummary(
                underlying=underlying,
                snapshot_time=snapshot_time,
                session_date=pd.Timestamp(snapshot["session_date"]).date(),
                header_spot=_optional_float(snapshot["header_spot"]),
                parity_spot=_optional_float(snapshot["parity_spot"]),
                spot_check=str(snapshot["spot_check"]),
                flags=tuple(json.loads(str(snapshot["quality_flags"]))),
                contracts=len(chain),
                expiries=int(chain["expiry"].nunique()),
                call_open_interest=float(chain.loc[is_call, "open_interest"].sum()),
                put_open_interest=float(chain.loc[~is_call, "open_interest"].sum()),
            )
        )
    return summaries


def build_market_report(store: Store, *, title: str = "optionscope market report") -> Page:
    """Return the report page: per underlying, its snapshots, bars and latest chain charts."""
    underlyings = sorted(
        set(store.read(tables.CHAIN_SNAPSHOTS)["underlying"])
        | set(store.read(tables.OHLCV_DAILY)["ticker"])
    )
    page = Page(title=title, subtitle=f"Store: {store.url}")
    page.sections.append(_store_section(store))
    for underlying in underlyings:
        summaries = summarize_snapshots(store, underlying)
        bars = store.read(
            tables.OHLCV_DAILY, where={"ticker": underlying}, order_by=["session_date"]
        )
        page.sections.extend(_underlying_sections(store, underlying, summaries, bars))
    return page


def _store_section(store: Store) -> Section:
    counts = store.table_row_counts()
    files = store.read(tables.INGESTED_FILES, order_by=["file_name"])
    return Section(
        title="What the store holds",
        tables=(
            Table(
                columns=("table", "rows"),
                rows=[(name, f"{count:,}") for name, count in sorted(counts.items())],
            ),
            Table(
                columns=("file", "format", "rows read", "rows written", "quarantined"),
                rows=[
                    (
                        str(row.file_name),
                        str(row.file_format),
                        f"{row.rows_read:,}",
                        f"{row.rows_written:,}",
                        f"{row.rows_quarantined:,}",
                    )
                    for row in files.itertuples(index=False)
                ],
            ),
        ),
    )


def _underlying_sections(
    store: Store, underlying: str, summaries: list[SnapshotSummary], bars: pd.DataFrame
) -> list[Section]:
    sections = []
    if summaries:
        sections.append(
            Section(
                title=f"{underlying}: option chain snapshots",
                text="Header spot is what the file says; parity spot is what the quotes imply "
                "(put-call parity at the nearest expiry). A disagreement is flagged, never "
                "silently trusted.",
                tables=(_snapshot_table(summaries),),
            )
        )
    if len(bars):
        sections.append(
            Section(
                title=f"{underlying}: daily close",
                charts=(_close_chart(underlying, bars, summaries),),
            )
        )
    sections.extend(metric_sections(store, underlying))
    if summaries:
        latest = summaries[-1]
        chain = read_chain(store, underlying, latest.snapshot_time)
        sections.append(
            Section(
                title=f"{underlying}: open interest by strike, session {latest.session_date}",
                charts=(_open_interest_chart(chain, latest),),
                notes=(
                    f"Strikes within +-{STRIKE_WINDOW:.0%} of the reference spot "
                    f"{latest.reference_spot:.2f}; puts drawn below zero.",
                ),
            )
        )
        sections.append(
            Section(
                title=f"{underlying}: vendor ATM implied volatility by expiry",
                charts=(_term_structure_chart(store, underlying, summaries),),
                notes=(
                    "Vendor IV (Cboe) at the strike nearest the reference spot, mean of "
                    "call and put where both are quoted.",
                ),
            )
        )
    return sections


def _snapshot_table(summaries: list[SnapshotSummary]) -> Table:
    rows = []
    for summary in summaries:
        ratio = summary.put_call_open_interest_ratio
        check = summary.spot_check if summary.spot_check == "ok" else f"!{summary.spot_check}"
        rows.append(
            (
                str(summary.session_date),
                summary.snapshot_time.strftime("%Y-%m-%d %H:%M UTC"),
                _format_price(summary.header_spot),
                _format_price(summary.parity_spot),
                check,
                f"{summary.contracts:,}",
                str(summary.expiries),
                f"{summary.call_open_interest:,.0f}",
                f"{summary.put_open_interest:,.0f}",
                "-" if ratio is None else f"{ratio:.2f}",
                "; ".join(flag.replace("_", " ") for flag in summary.flags) or "-",
            )
        )
    return Table(
        columns=(
            "session",
            "captured",
            "header spot",
            "parity spot",
            "spot check",
            "contracts",
            "expiries",
            "call OI",
            "put OI",
            "put/call OI",
            "flags",
        ),
        rows=rows,
    )


def _close_chart(
    underlying: str, bars: pd.DataFrame, summaries: list[SnapshotSummary]
) -> go.Figure:
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=bars["session_date"],
            y=bars["close"],
            mode="lines",
            name=f"{underlying} close",
            line={"width": 1.5},
        )
    )
    if summaries:
        closes = bars.set_index("session_date")["close"]
        marked = [s.session_date for s in summaries if s.session_date in closes.index]
        figure.add_trace(
            go.Scatter(
                x=marked,
                y=[closes[d] for d in marked],
                mode="markers",
                name="chain snapshot",
                marker={"size": 9},
            )
        )
    figure.update_layout(height=380, margin={"t": 20}, yaxis_title="close", template="plotly_white")
    return figure


def _open_interest_chart(chain: pd.DataFrame, summary: SnapshotSummary) -> go.Figure:
    spot = summary.reference_spot or float(chain["strike"].median())
    near = chain[(chain["strike"] - spot).abs() <= STRIKE_WINDOW * spot]
    by_strike = near.pivot_table(
        index="strike", columns="option_right", values="open_interest", aggfunc="sum"
    ).fillna(0.0)
    figure = go.Figure()
    if "C" in by_strike:
        figure.add_trace(go.Bar(x=by_strike.index, y=by_strike["C"], name="calls"))
    if "P" in by_strike:
        figure.add_trace(go.Bar(x=by_strike.index, y=-by_strike["P"], name="puts"))
    figure.add_vline(x=spot, line_dash="dash", annotation_text=f"spot {spot:.2f}")
    figure.update_layout(
        barmode="relative",
        height=420,
        margin={"t": 20},
        xaxis_title="strike",
        yaxis_title="open interest (contracts)",
        template="plotly_white",
    )
    return figure


def _term_structure_chart(
    store: Store, underlying: str, summaries: list[SnapshotSummary]
) -> go.Figure:
    figure = go.Figure()
    for summary in summaries:
        chain = read_chain(store, underlying, summary.snapshot_time)
        term = vendor_atm_iv_by_expiry(chain, summary)
        figure.add_trace(
            go.Scatter(
                x=term["days_to_expiry"],
                y=term["atm_iv"],
                mode="lines+markers",
                name=str(summary.session_date),
            )
        )
    figure.update_layout(
        height=400,
        margin={"t": 20},
        xaxis_title="days to expiry",
        yaxis_title="ATM IV (vendor)",
        yaxis_tickformat=".0%",
        template="plotly_white",
    )
    return figure


def vendor_atm_iv_by_expiry(chain: pd.DataFrame, summary: SnapshotSummary) -> pd.DataFrame:
    """Return per expiry the vendor IV at the strike nearest the reference spot.

    Returns:
        Columns expiry, days_to_expiry (calendar days from the session date), atm_iv
        (decimal, mean of the call and put IV quoted there; expiries with none are dropped).
    """
    spot = summary.reference_spot
    quoted = chain[chain["vendor_iv"].notna() & (chain["vendor_iv"] > 0)]
    if spot is None or quoted.empty:
        return pd.DataFrame({"expiry": [], "days_to_expiry": [], "atm_iv": []})
    rows = []
    for expiry, group in quoted.groupby("expiry", sort=True):
        distance = (group["strike"] - spot).abs()
        at_the_money = group[distance == distance.min()]
        days = (pd.Timestamp(str(expiry)) - pd.Timestamp(summary.session_date)).days
        rows.append((expiry, days, float(np.mean(at_the_money["vendor_iv"]))))
    return pd.DataFrame(rows, columns=["expiry", "days_to_expiry", "atm_iv"])


def _optional_float(value: object) -> float | None:
    if value is None or pd.isna(value):  # type: ignore[call-overload]
        return None
    return float(value)  # type: ignore[arg-type]


def _format_price(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"
