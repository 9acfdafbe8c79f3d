"""Canonical tables: column names, logical types, nullability and primary keys.

This module is the single description of the data model (docs/data-model.md explains it in
prose). Storage backends render DDL from these specs, importers validate frames against them
before writing, and the migration test checks that a migrated database matches them.

Logical types map onto both backends and onto Arrow:

| logical     | DuckDB      | PostgreSQL        | Arrow / pandas                 |
|-------------|-------------|-------------------|--------------------------------|
| text        | VARCHAR     | TEXT              | string                         |
| float       | DOUBLE      | DOUBLE PRECISION  | float64                        |
| int         | BIGINT      | BIGINT            | int64                          |
| bool        | BOOLEAN     | BOOLEAN           | bool                           |
| date        | DATE        | DATE              | date32 / datetime64[ns] naive  |
| timestamp   | TIMESTAMPTZ | TIMESTAMPTZ       | timestamp[us, tz=UTC]          |
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class LogicalType(StrEnum):
    """Column types that both storage backends and Arrow represent exactly."""

    TEXT = "text"
    FLOAT = "float"
    INT = "int"
    BOOL = "bool"
    DATE = "date"
    TIMESTAMP = "timestamp"


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a canonical table.

    Attributes:
        name: Column name, spelled out (units in the name where the type does not carry them).
        type: Logical type, rendered per backend.
        nullable: Whether NULL is a legal value. NULL always means "not known", never zero.
        doc: One line for docs/data-model.md.
    """

    name: str
    type: LogicalType
    nullable: bool = False
    doc: str = ""


@dataclass(frozen=True, slots=True)
class TableSpec:
    """A canonical table: its columns, primary key and, optionally, a time column.

    Attributes:
        name: Table name.
        columns: Columns in storage order.
        primary_key: Columns whose values identify a row; every write upserts on them.
        time_column: The column a TimescaleDB hypertable partitions on (None: plain table).
        doc: One paragraph for docs/data-model.md.
    """

    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    time_column: str | None = None
    doc: str = ""

    @property
    def column_names(self) -> tuple[str, ...]:
        """Return the column names in storage order."""
        return tuple(column.name for column in self.columns)

    @property
    def value_columns(self) -> tuple[str, ...]:
        """Return the columns outside the primary key (the ones an upsert may change)."""
        return tuple(name for name in self.column_names if name not in self.primary_key)

    def column(self, name: str) -> Column:
        """Return the column called `name`.

        Raises:
            KeyError: The table has no such column.
        """
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name} has no column {name!r}")


T = LogicalType

INGESTED_DOC = "When the row's current values were first written (UTC); a re-import keeps it."

TICKERS = TableSpec(
    name="tickers",
    columns=(
        Column("ticker", T.TEXT, doc="Underlying or equity symbol as traded (SPY, SPX, BTC)."),
        Column("asset_class", T.TEXT, doc="equity | etf | index | crypto."),
        Column("currency", T.TEXT, doc="Currency the underlying is quoted in (USD, BTC)."),
        Column("option_multiplier", T.FLOAT, doc="Default option contract multiplier (100; 1)."),
        Column("is_watchlist", T.BOOL, doc="Whether the nightly batch computes this ticker."),
        Column("calendar", T.TEXT, doc="Exchange calendar of its sessions (XNYS, 24/7)."),
        Column("name", T.TEXT, nullable=True, doc="Descriptive name, as the vendor gave it."),
    ),
    primary_key=("ticker",),
    doc="One row per underlying or equity the store knows about.",
)

OHLCV_DAILY = TableSpec(
    name="ohlcv_daily",
    columns=(
        Column("ticker", T.TEXT),
        Column("session_date", T.DATE, doc="Exchange trading date of the bar."),
        Column("open", T.FLOAT),
        Column("high", T.FLOAT),
        Column("low", T.FLOAT),
        Column("close", T.FLOAT),
        Column("volume", T.FLOAT, doc="Shares (or coins) traded in the session."),
        Column("is_adjusted", T.BOOL, doc="True if split/dividend adjusted by the vendor."),
        Column("source", T.TEXT, doc="Importer or vendor that produced the row."),
        Column("ts_ingested", T.TIMESTAMP, doc=INGESTED_DOC),
    ),
    primary_key=("ticker", "session_date"),
    time_column="session_date",
    doc="Daily bars, one per ticker and session.",
)

OHLCV_INTRADAY = TableSpec(
    name="ohlcv_intraday",
    columns=(
        Column("ticker", T.TEXT),
        Column("ts_start", T.TIMESTAMP, doc="Bar open instant (UTC); bars are 1 minute long."),
        Column("session_date", T.DATE, doc="Exchange trading date the bar belongs to."),
        Column("open", T.FLOAT),
        Column("high", T.FLOAT),
        Column("low", T.FLOAT),
        Column("close", T.FLOAT),
        Column("volume", T.FLOAT),
        Column("is_regular_session", T.BOOL, doc="False for pre- and post-market bars."),
        Column("source", T.TEXT),
        Column("ts_ingested", T.TIMESTAMP, doc=INGESTED_DOC),
    ),
    primary_key=("ticker", "ts_start"),
    time_column="ts_start",
    doc="One-minute bars, including extended hours where the source has them.",
)

OPTION_CONTRACTS = TableSpec(
    name="option_contracts",
    columns=(
        Column(
            "contract_symbol",
            T.TEXT,
            doc="OSI symbol without padding (SPXW230914C04500000) or Deribit name "
            "(BTC-27MAY25-98000-P).",
        ),
        Column("underlying", T.TEXT, doc="Ticker of the underlying (SPX for SPXW roots)."),
        Column("root", T.TEXT, doc="Option root (SPX, SPXW, NDXP, BTC)."),
        Column("expiry", T.DATE, doc="Expiration date (the date in the symbol)."),
        Column("settlement_time", T.TIMESTAMP, doc="Instant the settlement value is fixed (UTC)."),
        Column("settlement_type", T.TEXT, doc="AM (opening print) | PM (close) | FIXED."),
        Column("strike", T.FLOAT, doc="Strike in the underlying's currency."),
        Column("option_right", T.TEXT, doc="C | P."),
        Column("exercise_style", T.TEXT, doc="american | european."),
        Column("multiplier", T.FLOAT, doc="Units of underlying per contract (100; 1 coin)."),
        Column("premium_currency", T.TEXT, doc="Currency premiums are quoted in (USD, BTC)."),
    ),
    primary_key=("contract_symbol",),
    doc="Static terms of every option contract seen in any snapshot.",
)

OPTION_CHAIN_SNAPSHOTS = TableSpec(
    name="option_chain_snapshots",
    columns=(
        Column("underlying", T.TEXT),
        Column("snapshot_time", T.TIMESTAMP, doc="Instant the chain was captured (UTC)."),
        Column("contract_symbol", T.TEXT),
        Column("bid", T.FLOAT, nullable=True, doc="Best bid; NULL when the vendor had none."),
        Column("ask", T.FLOAT, nullable=True),
        Column("last", T.FLOAT, nullable=True, doc="Last sale price; NULL if never traded."),
        Column("mark", T.FLOAT, nullable=True, doc="Venue mark price (Deribit); NULL elsewhere."),
        Column("price_currency", T.TEXT, doc="Currency of bid/ask/last/mark (USD, BTC)."),
        Column("volume", T.FLOAT, nullable=True, doc="Contracts traded in the session."),
        Column("open_interest", T.FLOAT, nullable=True, doc="Contracts open (prior close)."),
        Column("vendor_iv", T.FLOAT, nullable=True, doc="Vendor implied vol, decimal (0.20)."),
        Column("vendor_delta", T.FLOAT, nullable=True),
        Column("vendor_gamma", T.FLOAT, nullable=True, doc="Per 1 unit of underlying."),
        Column("vendor_vega", T.FLOAT, nullable=True, doc="As the vendor quotes it."),
        Column("vendor_theta", T.FLOAT, nullable=True, doc="As the vendor quotes it."),
        Column("underlying_price", T.FLOAT, nullable=True, doc="Underlying as quoted with row."),
        Column("source", T.TEXT),
        Column("ts_event", T.TIMESTAMP, doc="Vendor time of the quote (UTC)."),
        Column("ts_ingested", T.TIMESTAMP, doc=INGESTED_DOC),
    ),
    primary_key=("underlying", "snapshot_time", "contract_symbol"),
    time_column="snapshot_time",
    doc="Quotes, volume, open interest and vendor greeks of each contract in a chain snapshot.",
)

CHAIN_SNAPSHOTS = TableSpec(
    name="chain_snapshots",
    columns=(
        Column("underlying", T.TEXT),
        Column("snapshot_time", T.TIMESTAMP),
        Column("session_date", T.DATE, doc="Trading session the quotes and volumes reflect."),
        Column("source", T.TEXT),
        Column("source_file", T.TEXT, nullable=True, doc="File name the snapshot came from."),
        Column("header_spot", T.FLOAT, nullable=True, doc="Underlying last as the file says."),
        Column("header_bid", T.FLOAT, nullable=True),
        Column("header_ask", T.FLOAT, nullable=True),
        Column(
            "parity_spot",
            T.FLOAT,
            nullable=True,
            doc="Spot implied by put-call parity on the nearest expiry's ATM quotes.",
        ),
        Column("spot_check", T.TEXT, doc="ok | disagrees | unchecked (header vs parity)."),
        Column("quality_flags", T.TEXT, doc="JSON array of flags (e.g. header_spot_stale)."),
        Column("contract_count", T.INT),
        Column("ts_ingested", T.TIMESTAMP, doc=INGESTED_DOC),
    ),
    primary_key=("underlying", "snapshot_time"),
    doc="One row per chain snapshot: when, which session, the header spot and its checks.",
)

INGESTED_FILES = TableSpec(
    name="ingested_files",
    columns=(
        Column("file_sha256", T.TEXT, doc="Content hash: the file's identity."),
        Column("file_name", T.TEXT),
        Column("file_format", T.TEXT, doc="Detected or forced importer format."),
        Column("rows_read", T.INT),
        Column("rows_written", T.INT),
        Column("rows_quarantined", T.INT),
        Column("ts_ingested", T.TIMESTAMP, doc=INGESTED_DOC),
    ),
    primary_key=("file_sha256",),
    doc="One row per imported file, with its row accounting.",
)

INGEST_QUARANTINE = TableSpec(
    name="ingest_quarantine",
    columns=(
        Column("file_sha256", T.TEXT),
        Column("line_number", T.INT, doc="1-based line in the file."),
        Column("field", T.TEXT, doc="Offending field (or '*' for the whole row)."),
        Column("file_name", T.TEXT),
        Column("reason", T.TEXT),
        Column("raw_line", T.TEXT, nullable=True),
        Column("ts_ingested", T.TIMESTAMP, doc=INGESTED_DOC),
    ),
    primary_key=("file_sha256", "line_number", "field"),
    doc="Rows an importer refused, with the reason; counted in the per-file summary.",
)

CORE_TABLES: tuple[TableSpec, ...] = (
    TICKERS,
    OHLCV_DAILY,
    OHLCV_INTRADAY,
    OPTION_CONTRACTS,
    OPTION_CHAIN_SNAPSHOTS,
    CHAIN_SNAPSHOTS,
    INGESTED_FILES,
    INGEST_QUARANTINE,
)
"""Every table the first migration creates, in creation order."""

TABLES_BY_NAME: dict[str, TableSpec] = {table.name: table for table in CORE_TABLES}


def data_model_markdown() -> str:
    """Return the reference part of docs/data-model.md, generated from `CORE_TABLES`.

    A test checks that the committed document contains exactly this text, so the document
    cannot drift from the specs.
    """
    parts: list[str] = []
    for table in CORE_TABLES:
        key = ", ".join(table.primary_key)
        parts.append(
            f"### `{table.name}`\n\n{table.doc}\n\nPrimary key: ({key})."
            + (f" Time column: `{table.time_column}`." if table.time_column else "")
        )
        lines = ["| column | type | null | meaning |", "|---|---|---|---|"]
        lines.extend(
            f"| `{c.name}` | {c.type.value} | {'yes' if c.nullable else 'no'} | {c.doc} |"
            for c in table.columns
        )
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"
