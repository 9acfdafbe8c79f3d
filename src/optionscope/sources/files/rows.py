"""Data rows of a CSV body as text, and the per-row checks that quarantine bad rows.

`read_rows` hands the body to pyarrow's CSV reader (every cell as text) so the main path has
no per-row Python loop; only rows that fail end up in Python lists. Blank lines (empty or only
commas and spaces) are not data rows. Each physical line is one row: a line with an odd
number of quote characters is quarantined rather than allowed to swallow the next line.

`RowChecks` collects, per row, the FIRST problem found (field and reason); refused rows become
`QuarantinedRow`s, so `rows_read == rows_accepted + len(quarantined)` holds by construction.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from optionscope.sources import QuarantinedRow
from optionscope.sources.files.lines import TextFile

MISSING_TEXT: frozenset[str] = frozenset({"", "nan", "none", "null", "n/a", "na"})
"""Cell texts (case-insensitive, stripped) that mean "no value" rather than a bad value."""


@dataclass(slots=True)
class StringRows:
    """Data rows as text cells.

    Attributes:
        frame: One row per accepted physical line, one str column per expected field, named
            as given to `read_rows`; index 0..n-1.
        line_numbers: 1-based file line of each frame row.
        rows_read: Non-blank data lines seen (accepted rows plus refused ones).
        refused: Lines refused while splitting (wrong field count, unbalanced quote).
    """

    frame: pd.DataFrame
    line_numbers: np.ndarray
    rows_read: int
    refused: list[QuarantinedRow]


def read_rows(text: TextFile, first_line: int, columns: Sequence[str]) -> StringRows:
    """Split the lines from `first_line` on into text cells, one column per name.

    Args:
        text: The file.
        first_line: 1-based line of the first data row.
        columns: Names for the expected fields, in file order (need not match the header).

    Returns:
        The rows; wrong-width and unbalanced-quote lines are refused with a reason.

    Raises:
        FileFormatError: No data rows, or the last line is cut short (no final newline and
            too few fields): a truncated file is refused whole.
    """
    body = text.lines[first_line - 1 :]
    numbers = np.arange(first_line, first_line + len(body))
    all_lines = pd.Series(body, dtype=object)
    kept = ~all_lines.str.fullmatch(r"[,\s]*").fillna(value=True).to_numpy(dtype=bool)
    if not kept.any():
        raise text.error(
            first_line - 1 if first_line > 1 else None, None, "no data rows after the header"
        )
    lines = all_lines[kept]
    line_numbers = numbers[kept]
    _refuse_truncated_tail(text, lines, line_numbers, len(columns))
    odd_quotes = (lines.str.count('"') % 2 == 1).to_numpy()
    refused = [
        QuarantinedRow(int(number), "*", "unbalanced quote character", line)
        for number, line in zip(line_numbers[odd_quotes], lines[odd_quotes], strict=True)
    ]
    parsed_lines = lines[~odd_quotes]
    parsed_numbers = line_numbers[~odd_quotes]
    frame, bad_positions = _parse_cells(list(parsed_lines), columns)
    for position, actual in bad_positions:
        refused.append(
            QuarantinedRow(
                int(parsed_numbers[position]),
                "*",
                f"expected {len(columns)} fields, found {actual}",
                parsed_lines.iloc[position],
            )
        )
    good = np.ones(len(parsed_numbers), dtype=bool)
    good[[position for position, _ in bad_positions]] = False
    refused.sort(key=lambda row: row.line_number)
    return StringRows(frame, parsed_numbers[good], int(kept.sum()), refused)


def _refuse_truncated_tail(
    text: TextFile, lines: pd.Series, numbers: np.ndarray, width: int
) -> None:
    if text.ends_with_newline or not len(lines):
        return
    last = str(lines.iloc[-1])
    fields = last.count(",") + 1
    if fields < width or last.count('"') % 2 == 1:
        raise text.error(
            int(numbers[-1]),
            None,
            f"file ends mid-row ({fields} of {width} fields, no final newline): truncated",
        )


def _parse_cells(
    lines: list[str], columns: Sequence[str]
) -> tuple[pd.DataFrame, list[tuple[int, int]]]:
    names = [f"c{index}" for index in range(len(columns))]
    if not lines:
        return pd.DataFrame({name: pd.Series(dtype="str") for name in columns}), []
    bad: list[tuple[int, int]] = []

    def on_invalid(row: pa_csv.InvalidRow) -> str:
        if row.number is None:  # unknown only when parsing in parallel, which we do not
            return "error"
        bad.append((int(row.number) - 1, int(row.actual_columns)))
        return "skip"

    table = pa_csv.read_csv(
        io.BytesIO("\n".join(lines).encode("utf-8") + b"\n"),
        read_options=pa_csv.ReadOptions(use_threads=False, column_names=names),
        parse_options=pa_csv.ParseOptions(invalid_row_handler=on_invalid, ignore_empty_lines=False),
        convert_options=pa_csv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    frame = table.to_pandas()
    frame.columns = list(columns)
    return frame, bad


def parse_numbers(cells: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Return cells as float64 (NaN where missing) and a mask of cells that are not numbers.

    Missing means an empty cell or one of `MISSING_TEXT`; "inf" and other non-finite values
    count as not numbers.
    """
    text = cells.astype("str").str.strip()
    missing = text.str.lower().isin(MISSING_TEXT)
    values = pd.to_numeric(text.where(~missing), errors="coerce").astype("float64")
    invalid = ~missing & ~np.isfinite(values.fillna(0.0))
    invalid = invalid | (~missing & values.isna())
    return values.where(~invalid), invalid.astype(bool)


class RowChecks:
    """Collects the first problem of each row; refused rows become QuarantinedRows.

    Args:
        line_numbers: 1-based line of each row.
        raw_lines: Raw text of each row's line.
        field_prefix: Prefix for field names (e.g. "calls." while checking the call side of
            a line that holds a call and a put); may be changed between checks.
    """

    def __init__(
        self,
        line_numbers: np.ndarray,
        raw_lines: Sequence[str] | np.ndarray,
        field_prefix: str = "",
    ) -> None:
        self.line_numbers = np.asarray(line_numbers)
        self.raw_lines = np.asarray(raw_lines, dtype=object)
        self.field_prefix = field_prefix
        self._field = np.full(len(self.line_numbers), None, dtype=object)
        self._reason = np.full(len(self.line_numbers), None, dtype=object)

    @property
    def refused(self) -> np.ndarray:
        """Return a boolean mask of the rows refused so far."""
        return pd.notna(self._field)

    def refuse(
        self, mask: pd.Series | np.ndarray, field_name: str, reasons: str | pd.Series
    ) -> None:
        """Refuse rows where `mask` holds, unless an earlier check already refused them.

        Args:
            mask: Rows to refuse.
            field_name: Field at fault ('*' for the whole row).
            reasons: One reason for all, or a per-row Series aligned with `mask`.
        """
        chosen = np.asarray(mask, dtype=bool) & ~self.refused
        if not chosen.any():
            return
        self._field[chosen] = self.field_prefix + field_name
        if isinstance(reasons, str):
            self._reason[chosen] = reasons
        else:
            self._reason[chosen] = np.asarray(reasons, dtype=object)[chosen]

    def refuse_invalid_numbers(self, cells: pd.Series, invalid: pd.Series, field_name: str) -> None:
        """Refuse rows whose cell is not a number, quoting the cell."""
        mask = invalid.to_numpy(dtype=bool)
        if mask.any():
            reasons = pd.Series(np.full(len(mask), "", dtype=object))
            reasons[mask] = [f"not a number: {value!r}" for value in cells[mask]]
            self.refuse(mask, field_name, reasons)

    def refuse_negative(self, values: pd.Series, field_name: str) -> None:
        """Refuse rows where a value that cannot be negative is."""
        mask = (values < 0).fillna(value=False).to_numpy(dtype=bool)
        if mask.any():
            reasons = pd.Series(np.full(len(mask), "", dtype=object))
            reasons[mask] = [f"negative value {value:g}" for value in values[mask]]
            self.refuse(mask, field_name, reasons)

    def refuse_bid_above_ask(self, bid: pd.Series, ask: pd.Series, field_name: str) -> None:
        """Refuse rows with both sides quoted and bid > ask."""
        mask = (bid > ask).fillna(value=False).to_numpy(dtype=bool)
        if mask.any():
            reasons = pd.Series(np.full(len(mask), "", dtype=object))
            reasons[mask] = [
                f"bid {b:g} > ask {a:g}" for b, a in zip(bid[mask], ask[mask], strict=True)
            ]
            self.refuse(mask, field_name, reasons)

    def refuse_duplicates(self, keys: pd.Series | pd.DataFrame, what: str) -> None:
        """Refuse every repeat of a key after its first accepted row, naming that row's line.

        Rows refused by earlier checks take no part: the first row that survives them wins.
        """
        frame = keys.to_frame() if isinstance(keys, pd.Series) else keys
        frame = frame.reset_index(drop=True)
        candidates = np.flatnonzero(~self.refused)
        subset = frame.iloc[candidates]
        repeated_subset = subset.duplicated(keep="first").to_numpy()
        if not repeated_subset.any():
            return
        group = subset.groupby(list(subset.columns), sort=False, dropna=False).ngroup()
        first_line = (
            pd.Series(self.line_numbers[candidates])
            .groupby(group.to_numpy())
            .transform("first")
            .to_numpy()
        )
        repeated = np.zeros(len(frame), dtype=bool)
        repeated[candidates[repeated_subset]] = True
        reasons = pd.Series(np.full(len(frame), "", dtype=object))
        reasons[repeated] = [
            f"duplicate {what} (first on line {int(line)})" for line in first_line[repeated_subset]
        ]
        self.refuse(repeated, "*", reasons)

    def quarantined(self) -> list[QuarantinedRow]:
        """Return one QuarantinedRow per refused row, in row order."""
        positions = np.flatnonzero(self.refused)
        return [
            QuarantinedRow(
                int(self.line_numbers[i]),
                str(self._field[i]),
                str(self._reason[i]),
                str(self.raw_lines[i]),
            )
            for i in positions
        ]
