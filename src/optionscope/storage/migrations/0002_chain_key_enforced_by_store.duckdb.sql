-- 0002 chain key enforced by store, DuckDB variant (PostgreSQL runs the shared
-- 0002_chain_key_enforced_by_store.sql, which changes nothing).
--
-- Rebuilds option_chain_snapshots without a declared PRIMARY KEY: DuckDB cannot drop a
-- primary key in place, so the rows move to a new table that takes the old one's name, in
-- the migration's single transaction. The key ("underlying", "snapshot_time",
-- "contract_symbol") stays the table's key: DuckDBStore refuses repeated keys and upserts
-- on it in its write path (docs/storage.md, "Keys on DuckDB"); rows written to this table
-- by other means than the store are not checked. Frozen once released.

CREATE TABLE "option_chain_snapshots_0002" (
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
    "ts_ingested" TIMESTAMPTZ NOT NULL
);

INSERT INTO "option_chain_snapshots_0002" (
    "underlying", "snapshot_time", "contract_symbol", "bid", "ask", "last", "mark",
    "price_currency", "volume", "open_interest", "vendor_iv", "vendor_delta", "vendor_gamma",
    "vendor_vega", "vendor_theta", "underlying_price", "source", "ts_event", "ts_ingested"
)
SELECT
    "underlying", "snapshot_time", "contract_symbol", "bid", "ask", "last", "mark",
    "price_currency", "volume", "open_interest", "vendor_iv", "vendor_delta", "vendor_gamma",
    "vendor_vega", "vendor_theta", "underlying_price", "source", "ts_event", "ts_ingested"
FROM "option_chain_snapshots";

DROP TABLE "option_chain_snapshots";

ALTER TABLE "option_chain_snapshots_0002" RENAME TO "option_chain_snapshots";
