-- 0001 core tables: the canonical tables of optionscope.domain.tables.CORE_TABLES.
-- Written in the SQL both DuckDB and PostgreSQL accept. Frozen once released: change the
-- schema with a new numbered migration, never by editing this file (a test holds its hash).

CREATE TABLE "tickers" (
    "ticker" TEXT NOT NULL,
    "asset_class" TEXT NOT NULL,
    "currency" TEXT NOT NULL,
    "option_multiplier" DOUBLE PRECISION NOT NULL,
    "is_watchlist" BOOLEAN NOT NULL,
    "calendar" TEXT NOT NULL,
    "name" TEXT,
    PRIMARY KEY ("ticker")
);

CREATE TABLE "ohlcv_daily" (
    "ticker" TEXT NOT NULL,
    "session_date" DATE NOT NULL,
    "open" DOUBLE PRECISION NOT NULL,
    "high" DOUBLE PRECISION NOT NULL,
    "low" DOUBLE PRECISION NOT NULL,
    "close" DOUBLE PRECISION NOT NULL,
    "volume" DOUBLE PRECISION NOT NULL,
    "is_adjusted" BOOLEAN NOT NULL,
    "source" TEXT NOT NULL,
    "ts_ingested" TIMESTAMPTZ NOT NULL,
    PRIMARY KEY ("ticker", "session_date")
);

CREATE TABLE "ohlcv_intraday" (
    "ticker" TEXT NOT NULL,
    "ts_start" TIMESTAMPTZ NOT NULL,
    "session_date" DATE NOT NULL,
    "open" DOUBLE PRECISION NOT NULL,
    "high" DOUBLE PRECISION NOT NULL,
    "low" DOUBLE PRECISION NOT NULL,
    "close" DOUBLE PRECISION NOT NULL,
    "volume" DOUBLE PRECISION NOT NULL,
    "is_regular_session" BOOLEAN NOT NULL,
    "source" TEXT NOT NULL,
    "ts_ingested" TIMESTAMPTZ NOT NULL,
    PRIMARY KEY ("ticker", "ts_start")
);

CREATE TABLE "option_contracts" (
    "contract_symbol" TEXT NOT NULL,
    "underlying" TEXT NOT NULL,
    "root" TEXT NOT NULL,
    "expiry" DATE NOT NULL,
    "settlement_time" TIMESTAMPTZ NOT NULL,
    "settlement_type" TEXT NOT NULL,
    "strike" DOUBLE PRECISION NOT NULL,
    "option_right" TEXT NOT NULL,
    "exercise_style" TEXT NOT NULL,
    "multiplier" DOUBLE PRECISION NOT NULL,
    "premium_currency" TEXT NOT NULL,
    PRIMARY KEY ("contract_symbol")
);

CREATE TABLE "option_chain_snapshots" (
    "underlying" TEXT NOT NULL,
    "snapshot_time" TIMESTAMPTZ NOT NULL,
    "contract_symbol" TEXT NOT NULL,
    "bid" DOUBLE PRECISION,
    "ask" DOUBLE PRECISION,
    "last" DOUBLE PRECISION,
    "mark" DOUBLE PRECISION,
    "price_currency" TEXT NOT NULL,
    "volume" DOUBLE PRECISION,
    "open_interest" DOUBLE PRECISION,
    "vendor_iv" DOUBLE PRECISION,
    "vendor_delta" DOUBLE PRECISION,
    "vendor_gamma" DOUBLE PRECISION,
    "vendor_vega" DOUBLE PRECISION,
    "vendor_theta" DOUBLE PRECISION,
    "underlying_price" DOUBLE PRECISION,
    "source" TEXT NOT NULL,
    "ts_event" TIMESTAMPTZ NOT NULL,
    "ts_ingested" TIMESTAMPTZ NOT NULL,
    PRIMARY KEY ("underlying", "snapshot_time", "contract_symbol")
);

CREATE TABLE "chain_snapshots" (
    "underlying" TEXT NOT NULL,
    "snapshot_time" TIMESTAMPTZ NOT NULL,
    "session_date" DATE NOT NULL,
    "source" TEXT NOT NULL,
    "source_file" TEXT,
    "header_spot" DOUBLE PRECISION,
    "header_bid" DOUBLE PRECISION,
    "header_ask" DOUBLE PRECISION,
    "parity_spot" DOUBLE PRECISION,
    "spot_check" TEXT NOT NULL,
    "quality_flags" TEXT NOT NULL,
    "contract_count" BIGINT NOT NULL,
    "ts_ingested" TIMESTAMPTZ NOT NULL,
    PRIMARY KEY ("underlying", "snapshot_time")
);

CREATE TABLE "ingested_files" (
    "file_sha256" TEXT NOT NULL,
    "file_name" TEXT NOT NULL,
    "file_format" TEXT NOT NULL,
    "rows_read" BIGINT NOT NULL,
    "rows_written" BIGINT NOT NULL,
    "rows_quarantined" BIGINT NOT NULL,
    "ts_ingested" TIMESTAMPTZ NOT NULL,
    PRIMARY KEY ("file_sha256")
);

CREATE TABLE "ingest_quarantine" (
    "file_sha256" TEXT NOT NULL,
    "line_number" BIGINT NOT NULL,
    "field" TEXT NOT NULL,
    "file_name" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "raw_line" TEXT,
    "ts_ingested" TIMESTAMPTZ NOT NULL,
    PRIMARY KEY ("file_sha256", "line_number", "field")
);
