"""Self-contained HTML pages: tables and Plotly charts with the chart library embedded.

A page renders offline: plotly.js is inlined once, no CDN, no network. Output is
deterministic (chart ids are derived from their position), so the same report model gives the
same bytes.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 1100px; color: #1f2933; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.2rem; margin-top: 2.2rem; border-bottom: 1px solid #d9e2ec; }
p.lede { color: #52606d; margin-top: 0; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.9rem; }
th, td { padding: 0.3rem 0.7rem; border-bottom: 1px solid #e4e7eb; text-align: right; }
th { background: #f5f7fa; } td:first-child, th:first-child { text-align: left; }
.flag { color: #b44d12; font-weight: 600; }
.note { color: #52606d; font-size: 0.85rem; }
"""


@dataclass(frozen=True, slots=True)
class Table:
    """A table section: header cells and rows of already formatted cells."""

    columns: Sequence[str]
    rows: Sequence[Sequence[str]]


@dataclass(frozen=True, slots=True)
class Section:
    """A titled block of a page: an optional paragraph, tables and charts, in that order."""

    title: str
    text: str = ""
    tables: Sequence[Table] = ()
    charts: Sequence[go.Figure] = ()
    notes: Sequence[str] = ()


@dataclass(slots=True)
class Page:
    """A report page."""

    title: str
    subtitle: str = ""
    sections: list[Section] = field(default_factory=list)


@cache
def _plotly_js() -> str:
    script: str = get_plotlyjs()
    return script


def render_page(page: Page) -> str:
    """Return the page as one self-contained HTML document (plotly.js inlined once)."""
    body: list[str] = [f"<h1>{html.escape(page.title)}</h1>"]
    if page.subtitle:
        body.append(f'<p class="lede">{html.escape(page.subtitle)}</p>')
    chart_number = 0
    for section in page.sections:
        body.append(f"<h2>{html.escape(section.title)}</h2>")
        if section.text:
            body.append(f"<p>{html.escape(section.text)}</p>")
        body.extend(_render_table(table) for table in section.tables)
        for figure in section.charts:
            chart_number += 1
            body.append(
                pio.to_html(
                    figure,
                    full_html=False,
                    include_plotlyjs=False,
                    div_id=f"chart-{chart_number}",
                    config={"displaylogo": False, "responsive": True},
                )
            )
        body.extend(f'<p class="note">{html.escape(note)}</p>' for note in section.notes)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(page.title)}</title>\n<style>{_STYLE}</style>\n"
        f'<script type="text/javascript">{_plotly_js()}</script>\n</head>\n<body>\n'
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _render_table(table: Table) -> str:
    head = "".join(f"<th>{html.escape(column)}</th>" for column in table.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{_cell(cell)}</td>" for cell in row) + "</tr>" for row in table.rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _cell(cell: str) -> str:
    if cell.startswith("!"):
        return f'<span class="flag">{html.escape(cell[1:])}</span>'
    return html.escape(cell)
