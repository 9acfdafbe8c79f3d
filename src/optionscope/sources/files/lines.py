"""A text file as numbered lines: decoding, line splitting, CSV header cells."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from optionscope.sources import FileFormatError


@dataclass(frozen=True, slots=True)
class TextFile:
    r"""The lines of a text file, without terminators; `lines[i]` is line `i + 1`.

    Attributes:
        path: The file.
        lines: Lines without their '\\n' / '\\r\\n' terminators.
        ends_with_newline: Whether the last line was terminated (False hints a cut file).
        notes: Decoding decisions worth reporting (e.g. a cp1252 fallback).
    """

    path: Path
    lines: list[str]
    ends_with_newline: bool
    notes: list[str] = field(default_factory=list)

    def line(self, line_number: int) -> str:
        """Return the text of a 1-based line ('' past the end)."""
        if 1 <= line_number <= len(self.lines):
            return self.lines[line_number - 1]
        return ""

    def raw_lines(self, line_numbers: np.ndarray) -> np.ndarray:
        """Return the texts of many 1-based lines at once (object array)."""
        texts: np.ndarray = np.asarray(self.lines, dtype=object)
        positions: np.ndarray = np.asarray(line_numbers, dtype=np.int64) - 1
        return np.take(texts, positions)

    def error(
        self, line_number: int | None, field_name: str | None, message: str
    ) -> FileFormatError:
        """Return a FileFormatError about this file (to raise)."""
        return FileFormatError(self.path, line_number, field_name, message)


def decode_bytes(path: Path, data: bytes) -> tuple[str, list[str]]:
    """Return the text of a file's bytes: UTF-8 (BOM allowed), else cp1252 with a note.

    Raises:
        FileFormatError: The bytes are binary (contain NUL) or decode as neither.
    """
    if b"\x00" in data[:65536]:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise FileFormatError(path, line, None, "binary content (NUL byte): not a text file")
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError as fallback:
            raise FileFormatError(path, line, None, "not UTF-8 or cp1252 text") from fallback
        return text, [f"not UTF-8 (first bad byte on line {line}); decoded as cp1252"]


def read_text_file(path: Path | str) -> TextFile:
    """Read a file as numbered lines.

    Raises:
        FileFormatError: The file is missing, empty, binary or undecodable.
    """
    file_path = Path(path)
    try:
        data = file_path.read_bytes()
    except OSError as error:
        raise FileFormatError(file_path, None, None, f"cannot read: {error}") from error
    if not data.strip():
        raise FileFormatError(file_path, 1, None, "empty file")
    text, notes = decode_bytes(file_path, data)
    ends_with_newline = text.endswith("\n")
    lines = text.split("\n")
    if ends_with_newline:
        lines.pop()
    return TextFile(
        file_path, [line.removesuffix("\r") for line in lines], ends_with_newline, notes
    )


def split_csv_line(line: str, delimiter: str = ",") -> list[str]:
    """Return the cells of one CSV line (quotes honoured, surrounding spaces kept)."""
    return next(csv.reader([line], delimiter=delimiter), [])


def header_cells(line: str) -> list[str]:
    """Return a header line's names, stripped, with trailing empty cells dropped."""
    cells = [cell.strip() for cell in split_csv_line(line)]
    while cells and not cells[-1]:
        cells.pop()
    return cells


def find_column(names: list[str], *candidates: str) -> str | None:
    """Return the first of `candidates` present in `names` (case-insensitive), as spelled there."""
    by_lower = {name.lower(): name for name in names}
    for candidate in candidates:
        if candidate.lower() in by_lower:
            return by_lower[candidate.lower()]
    return None


def unique_names(names: list[str]) -> list[str]:
    """Return header names made unique (a repeated or empty name gets a numeric suffix)."""
    seen: dict[str, int] = {}
    out = []
    for position, name in enumerate(names):
        base = name or f"column_{position + 1}"
        count = seen.get(base, 0)
        seen[base] = count + 1
        out.append(base if count == 0 else f"{base}.{count}")
    return out
