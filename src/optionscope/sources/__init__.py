"""Sources: file importers, vendor adapters and the market simulator.

Every file importer turns one file into a `ParsedFile`: canonical frames per table (columns of
`optionscope.domain.tables`, without `ts_ingested`, which the ingest service stamps), the number
of data rows it read, and the rows it refused (`QuarantinedRow`). A file it cannot read at all
(wrong header, truncated, unknown layout) raises `FileFormatError` naming file, line and field,
and nothing of that file is written.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import pandas as pd


class FileFormatError(ValueError):
    """A file cannot be imported at all; names the file, the 1-based line and the field."""

    def __init__(
        self, path: Path | str, line_number: int | None, field_name: str | None, message: str
    ) -> None:
        self.path = Path(path)
        self.line_number = line_number
        self.field_name = field_name
        self.message = message
        where = f"{self.path.name}"
        if line_number is not None:
            where += f", line {line_number}"
        if field_name is not None:
            where += f", field {field_name!r}"
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True, slots=True)
class QuarantinedRow:
    """A data row an importer refused, and why.

    Attributes:
        line_number: 1-based line of the file.
        field: Offending field, or "*" when the whole row is at fault (e.g. a duplicate).
        reason: Human-readable reason ("bid 2.10 > ask 1.95", "not a number: 'abc'").
        raw_line: The raw text of the line, when the format has lines.
    """

    line_number: int
    field: str
    reason: str
    raw_line: str | None = None


@dataclass(slots=True)
class ParsedFile:
    """What an importer made of one file.

    Attributes:
        path: The file.
        file_format: Importer name (cboe_quotedata, yfinance_chain, ...).
        tables: Canonical frames keyed by table name, columns as in `domain.tables` minus
            `ts_ingested`; timestamps tz-aware UTC, dates as `datetime.date`.
        rows_read: Data rows read (header, preamble and blank lines excluded); always
            `rows_read == accepted rows + len(quarantined)`. A line holding a call and a
            put (Cboe, OptionsDX) is one row, accepted or refused whole, and gives two
            `option_chain_snapshots` rows.
        quarantined: Rows refused, one per refused row, with line, field and reason.
        notes: Decisions the importer made that a reader of the import log should see
            (e.g. "bars labelled by their end minute; shifted back 1 minute").
    """

    path: Path
    file_format: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    rows_read: int = 0
    quarantined: list[QuarantinedRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


_SUBPACKAGES = frozenset({"cboe", "files", "simulator"})


def __getattr__(name: str) -> ModuleType:
    """Import a source subpackage on first access (``sources.cboe.read_quotedata(path)``)."""
    if name in _SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
