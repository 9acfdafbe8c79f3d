"""docs/data-model.md is generated from the table specs and must not drift."""

from __future__ import annotations

from pathlib import Path

from optionscope.domain.tables import CORE_TABLES, data_model_markdown

MARKER = "<!-- generated from optionscope.domain.tables: do not edit by hand -->\n\n"


def test_data_model_reference_matches_the_specs() -> None:
    document = (Path(__file__).parents[2] / "docs" / "data-model.md").read_text(encoding="utf-8")
    assert document.split(MARKER, 1)[1] == data_model_markdown()


def test_every_primary_key_column_exists_and_is_not_nullable() -> None:
    for table in CORE_TABLES:
        for name in table.primary_key:
            assert not table.column(name).nullable, (table.name, name)
