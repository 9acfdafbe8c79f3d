"""The family pages in docs/metrics/ carry the column tables generated from the specs."""

from __future__ import annotations

from pathlib import Path

import pytest

from optionscope.metrics.catalog import FAMILIES
from optionscope.metrics.family import MetricFamily, columns_markdown

DOCS = Path(__file__).resolve().parents[2] / "docs" / "metrics"


@pytest.mark.parametrize("family", FAMILIES, ids=[family.name for family in FAMILIES])
def test_family_page_has_the_generated_column_table(family: MetricFamily) -> None:
    page = (DOCS / f"{family.name}.md").read_text(encoding="utf-8")

    assert columns_markdown(family) in page, (
        f"docs/metrics/{family.name}.md: paste metrics.family.columns_markdown(FAMILY) "
        "into its Columns section"
    )
    assert f"`{family.key}`" in page
