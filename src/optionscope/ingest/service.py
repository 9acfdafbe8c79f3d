"""Import files into a store: parse, stamp, write each file in one transaction.

Algorithm for one file:

1. Hash its bytes (SHA-256): the file's identity for the ledger and the quarantine.
2. Parse it with the detected (or forced) importer into canonical frames
   (`optionscope.sources.ParsedFile`). A file that cannot be read at all raises
   `FileFormatError` naming file, line and field; nothing of it is written.
3. Stamp `ts_ingested`, derive the `tickers` rows of the underlyings it mentions.
4. In ONE transaction: insert missing tickers, upsert every canonical frame, the quarantined
   rows and the file's ledger row. Any failure rolls the whole file back.

Re-importing a file changes nothing: every write is an upsert keyed by the primary key, and
rows whose values did not change keep their first `ts_ingested`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

from optionscope.domain import tables
from optionscope.domain.instruments import tickers_frame
from optionscope.sources import FileFormatError, ParsedFile
from optionscope.sources.files import read_file
from optionscope.storage import Store

Clock = Callable[[], datetime]

FACT_TABLES: tuple[str, ...] = (
    tables.OPTION_CHAIN_SNAPSHOTS.name,
    tables.OHLCV_DAILY.name,
    tables.OHLCV_INTRADAY.name,
)
"""Tables whose rows count as "written" in a file summary."""

WRITE_ORDER: tuple[tables.TableSpec, ...] = (
    tables.OPTION_CONTRACTS,
    tables.CHAIN_SNAPSHOTS,
    tables.OPTION_CHAIN_SNAPSHOTS,
    tables.OHLCV_DAILY,
    tables.OHLCV_INTRADAY,
)


def utc_now() -> datetime:
    """Return the current instant, tz-aware UTC (the only wall clock ingest reads)."""
    return pd.Timestamp.now(tz="UTC").floor("us").to_pydatetime()


@dataclass(frozen=True, slots=True)
class FileSummary:
    """What importing one file did.

    Attributes:
        path: The file.
        file_format: Importer used (None when detection failed).
        rows_read: Data rows in the file.
        rows_written: Canonical fact rows written (chain snapshot rows, bars).
        rows_quarantined: Data rows refused, recorded in `ingest_quarantine`.
        table_rows: Rows written per table.
        flags: Data-quality flags raised by the importer (e.g. a stale header spot).
        error: Why nothing was written, or None on success.
        tickers: Underlyings and equities the file had rows for (what changed for them).
    """

    path: Path
    file_format: str | None
    rows_read: int = 0
    rows_written: int = 0
    rows_quarantined: int = 0
    table_rows: dict[str, int] = field(default_factory=dict)
    flags: tuple[str, ...] = ()
    error: str | None = None
    tickers: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Return True when the file was written."""
        return self.error is None


def file_sha256(path: Path) -> str:
    """Return the hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ingest_file(
    store: Store,
    path: Path,
    *,
    file_format: str | None = None,
    snapshot_time: datetime | None = None,
    ticker: str | None = None,
    clock: Clock = utc_now,
) -> FileSummary:
    """Import one file into `store` in a single transaction.

    Args:
        store: Target store (migrated).
        path: File to import.
        file_format: Importer name; detected from the content when None.
        snapshot_time: Capture instant for chain files that do not carry one.
        ticker: Ticker for bar files whose rows and name do not say it.
        clock: Source of `ts_ingested`; injected so tests control it.

    Returns:
        The file's summary; `error` is set (and nothing written) when the file was refused.
    """
    try:
        parsed = read_file(
            path, file_format=file_format, snapshot_time=snapshot_time, ticker=ticker
        )
    except FileFormatError as error:
        return FileSummary(path=path, file_format=file_format, error=str(error))
    ts_ingested = pd.Timestamp(clock())
    frames = stamp_ingested(parsed.tables, ts_ingested)
    sha256 = file_sha256(path)
    quarantine = _quarantine_frame(parsed, sha256, ts_ingested)
    table_rows = {name: len(frame) for name, frame in frames.items() if len(frame)}
    rows_written = sum(table_rows.get(name, 0) for name in FACT_TABLES)
    ledger = pd.DataFrame(
        {
            "file_sha256": [sha256],
            "file_name": [path.name],
            "file_format": [parsed.file_format],
            "rows_read": [parsed.rows_read],
            "rows_written": [rows_written],
            "rows_quarantined": [len(parsed.quarantined)],
            "ts_ingested": [ts_ingested],
        }
    )
    new_tickers = _tickers_frame(frames)
    with store.transaction() as transaction:
        transaction.upsert(tables.TICKERS, new_tickers, on_conflict="ignore")
        for spec in WRITE_ORDER:
            frame = frames.get(spec.name)
            if frame is not None and len(frame):
                transaction.upsert(spec, frame)
        if len(quarantine):
            transaction.upsert(tables.INGEST_QUARANTINE, quarantine)
        transaction.upsert(tables.INGESTED_FILES, ledger)
    return FileSummary(
        path=path,
        file_format=parsed.file_format,
        rows_read=parsed.rows_read,
        rows_written=rows_written,
        rows_quarantined=len(parsed.quarantined),
        table_rows=table_rows,
        flags=_flags(frames),
        tickers=tuple(str(ticker) for ticker in new_tickers["ticker"]),
    )


def ingest_paths(
    store: Store,
    paths: Iterable[Path],
    *,
    file_format: str | None = None,
    snapshot_time: datetime | None = None,
    ticker: str | None = None,
    clock: Clock = utc_now,
    on_file_done: Callable[[FileSummary], None] | None = None,
) -> list[FileSummary]:
    """Import files one by one (one transaction each); a refused file does not stop the rest.

    Args:
        store: Target store (migrated).
        paths: Files, and directories whose files are imported in name order.
        file_format: Forced importer for every file; detected per file when None.
        snapshot_time: Capture instant for chain files that do not carry one.
        ticker: Ticker for bar files whose rows and name do not say it.
        clock: Source of `ts_ingested`.
        on_file_done: Called after each file (progress reporting).

    Returns:
        One summary per file, in the order imported.
    """
    summaries = []
    for path in expand_paths(paths):
        summary = ingest_file(
            store,
            path,
            file_format=file_format,
            snapshot_time=snapshot_time,
            ticker=ticker,
            clock=clock,
        )
        summaries.append(summary)
        if on_file_done is not None:
            on_file_done(summary)
    return summaries


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Return the files named, with directories replaced by their files in name order."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file() and not p.name.startswith(".") and p.suffix.lower() == ".csv"
                )
            )
        else:
            files.append(path)
    return files


def stamp_ingested(
    frames: dict[str, pd.DataFrame], ts_ingested: pd.Timestamp
) -> dict[str, pd.DataFrame]:
    """Return canonical frames with `ts_ingested` set and columns in storage order."""
    stamped = {}
    for name, frame in frames.items():
        spec = tables.TABLES_BY_NAME[name]
        out = frame.copy()
        out["ts_ingested"] = ts_ingested
        stamped[name] = out.loc[:, list(spec.column_names)]
    return stamped


def _quarantine_frame(parsed: ParsedFile, sha256: str, ts_ingested: pd.Timestamp) -> pd.DataFrame:
    rows = {
        (row.line_number, row.field): row for row in parsed.quarantined
    }  # one row per (line, field): the key of ingest_quarantine
    return pd.DataFrame(
        {
            "file_sha256": [sha256] * len(rows),
            "line_number": [line for line, _ in rows],
            "field": [name for _, name in rows],
            "file_name": [parsed.path.name] * len(rows),
            "reason": [row.reason for row in rows.values()],
            "raw_line": [row.raw_line for row in rows.values()],
            "ts_ingested": [ts_ingested] * len(rows),
        },
        columns=list(tables.INGEST_QUARANTINE.column_names),
    )


def _tickers_frame(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    symbols: set[str] = set()
    for name, column in (
        (tables.OPTION_CONTRACTS.name, "underlying"),
        (tables.OHLCV_DAILY.name, "ticker"),
        (tables.OHLCV_INTRADAY.name, "ticker"),
    ):
        if name in frames:
            symbols.update(frames[name][column].dropna().unique().tolist())
    return tickers_frame(sorted(symbols))


def _flags(frames: dict[str, pd.DataFrame]) -> tuple[str, ...]:
    snapshots = frames.get(tables.CHAIN_SNAPSHOTS.name)
    if snapshots is None:
        return ()
    flags: list[str] = []
    for raw in snapshots["quality_flags"]:
        flags.extend(json.loads(raw))
    return tuple(dict.fromkeys(flags))
