"""`PostgresStore`: the server backend (psycopg 3), with TimescaleDB where it is installed.

Bulk loads use binary COPY (`postgres_copy`). Unless the batch's first key is stored already
(a re-import), the batch is first copied straight into its table inside a savepoint: when
none of its keys is stored yet (the usual append) that is the whole write. If a key is stored,
the COPY fails with a unique violation and the savepoint is rolled back. Either way the batch
then goes the general way: a check for keys repeated inside it, COPY into a temporary staging
table, then INSERT ... SELECT ... ON CONFLICT (key) DO UPDATE ... WHERE (values changed) /
DO NOTHING.

After the migrations, when the server offers the `timescaledb` extension, the store creates
it and turns every canonical table that has a time column into a hypertable; otherwise the
tables stay plain and `describe()` says why.
"""

from __future__ import annotations

import io
import itertools
from typing import Any, ClassVar

import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv
from psycopg import errors

from optionscope.domain.tables import TABLES_BY_NAME, TableSpec
from optionscope.storage.postgres_copy import iter_copy_binary
from optionscope.storage.rows import arrow_schema, check_unique_keys
from optionscope.storage.sql import Dialect, column_list, insert_select_sql, quote
from optionscope.storage.sql_store import Parameters, SqlStore
from optionscope.storage.store import OnConflict

TIMESCALE_EXTENSION = "timescaledb"

_MIGRATION_LOCK_KEY = 7_310_240_001  # pg_advisory_xact_lock key of optionscope migrations
_staging_names = itertools.count(1)


class PostgresStore(SqlStore):
    """A `Store` in a PostgreSQL database (the connection's current schema).

    Args:
        conninfo: `postgresql://` URL or libpq connection string.
        display_url: What `url` shows (the caller passes the redacted form).
    """

    backend: ClassVar[str] = "postgresql"
    dialect: ClassVar[Dialect] = Dialect(placeholder="%s", text_order=' COLLATE "C"')

    def __init__(self, conninfo: str, *, display_url: str | None = None) -> None:
        self._connection = psycopg.connect(conninfo, autocommit=True)
        self._connection.execute("SET TIME ZONE 'UTC'")
        self._failure: str | None = None
        super().__init__(url=display_url or "postgresql (connection string)")

    def _execute(self, statement: str, parameters: Parameters = ()) -> None:
        self._connection.execute(statement, list(parameters) or None)

    def _query(self, statement: str, parameters: Parameters = ()) -> list[tuple[Any, ...]]:
        return self._connection.execute(statement, list(parameters) or None).fetchall()

    def _begin(self) -> None:
        self._connection.execute("BEGIN")

    def _commit(self) -> None:
        self._connection.execute("COMMIT")

    def _rollback(self) -> None:
        if not self._connection.closed:
            self._connection.execute("ROLLBACK")

    def _write(self, table: TableSpec, rows: pa.Table, on_conflict: OnConflict) -> None:
        if self._first_key_is_stored(table, rows):  # e.g. a file imported again
            check_unique_keys(table, rows)
            self._write_through_staging(table, rows, on_conflict)
            return
        self._execute("SAVEPOINT optionscope_append")
        try:
            self._copy(quote(table.name), table, rows)
        except errors.UniqueViolation:
            self._execute("ROLLBACK TO SAVEPOINT optionscope_append")
            self._execute("RELEASE SAVEPOINT optionscope_append")
            check_unique_keys(table, rows)  # the violation may be a repeat inside the batch
            self._write_through_staging(table, rows, on_conflict)
        else:
            self._execute("RELEASE SAVEPOINT optionscope_append")

    def _first_key_is_stored(self, table: TableSpec, rows: pa.Table) -> bool:
        key = rows.slice(0, 1).select(list(table.primary_key)).to_pylist()[0]
        condition = " AND ".join(f"{quote(name)} = %s" for name in table.primary_key)
        found = self._query(
            f"SELECT 1 FROM {quote(table.name)} WHERE {condition} LIMIT 1", list(key.values())
        )
        return bool(found)

    def _write_through_staging(
        self, table: TableSpec, rows: pa.Table, on_conflict: OnConflict
    ) -> None:
        staging = f"optionscope_incoming_{next(_staging_names)}"
        self._execute(f"CREATE TEMPORARY TABLE {staging} (LIKE {quote(table.name)}) ON COMMIT DROP")
        self._copy(staging, table, rows)
        self._execute(insert_select_sql(table, staging, on_conflict=on_conflict))
        self._execute(f"DROP TABLE {staging}")

    def _copy(self, target: str, table: TableSpec, rows: pa.Table) -> None:
        statement = f"COPY {target} ({column_list(table)}) FROM STDIN (FORMAT BINARY)"
        with self._connection.cursor() as cursor, cursor.copy(statement) as copy:
            for piece in iter_copy_binary(rows):
                copy.write(piece)

    def _fetch_arrow(self, table: TableSpec, statement: str, parameters: Parameters) -> pa.Table:
        # COPY TO + Arrow's CSV reader is far faster than fetching Python tuples; COPY takes
        # no parameters, so psycopg binds them client-side (quoted literals).
        literal = psycopg.ClientCursor(self._connection).mogrify(statement, list(parameters))
        buffer = io.BytesIO()
        with self._connection.cursor() as cursor:
            copy_sql = f"COPY ({literal}) TO STDOUT (FORMAT CSV)"
            with cursor.copy(copy_sql) as copy:
                for data in copy:
                    buffer.write(data)
        schema = arrow_schema(table)
        if buffer.tell() == 0:
            return schema.empty_table()
        buffer.seek(0)
        return pa_csv.read_csv(
            buffer,
            read_options=pa_csv.ReadOptions(column_names=schema.names),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                column_types=schema,
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
                true_values=["t"],
                false_values=["f"],
            ),
        )

    def _is_transient(self, error: Exception) -> bool:
        """Connection losses, lock timeouts, deadlocks and serialization failures may pass."""
        return isinstance(error, psycopg.OperationalError)

    def _server_version(self) -> str:
        return f"PostgreSQL {self._query('SHOW server_version')[0][0]}"

    def _lock_for_migrations(self) -> None:
        self._execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK_KEY,))

    def _after_migrations(self) -> None:
        if not self._timescale_available():
            return
        self._execute("SAVEPOINT optionscope_timescale")
        try:
            self._execute(f"CREATE EXTENSION IF NOT EXISTS {TIMESCALE_EXTENSION}")
            stored = self._table_names()
            for spec in TABLES_BY_NAME.values():
                if spec.time_column and spec.name in stored:
                    self._execute(
                        "SELECT create_hypertable(%s::regclass, %s::name, "
                        "if_not_exists => TRUE, migrate_data => TRUE)",
                        (spec.name, spec.time_column),
                    )
        except psycopg.Error as error:
            self._execute("ROLLBACK TO SAVEPOINT optionscope_timescale")
            self._failure = f"timescaledb is available but could not be used: {error}"
        finally:
            self._execute("RELEASE SAVEPOINT optionscope_timescale")

    def _partition_by_time(self, table: TableSpec) -> None:
        installed = self._query(
            "SELECT 1 FROM pg_extension WHERE extname = %s", (TIMESCALE_EXTENSION,)
        )
        if not installed or table.time_column is None:
            return  # migrate() installs the extension when the server offers it
        self._execute("SAVEPOINT optionscope_timescale_table")
        try:
            self._execute(
                "SELECT create_hypertable(%s::regclass, %s::name, "
                "if_not_exists => TRUE, migrate_data => TRUE)",
                (table.name, table.time_column),
            )
        except psycopg.Error as error:
            self._execute("ROLLBACK TO SAVEPOINT optionscope_timescale_table")
            self._failure = f"{table.name} stays a plain table: {error}"
        finally:
            self._execute("RELEASE SAVEPOINT optionscope_timescale_table")

    def _partitioning(self) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
        installed = self._query(
            "SELECT 1 FROM pg_extension WHERE extname = %s", (TIMESCALE_EXTENSION,)
        )
        if not installed:
            if self._failure:
                note = self._failure
            elif self._timescale_available():
                note = "timescaledb is available but not installed here: run migrate"
            else:
                note = "timescaledb is not available on this server: plain tables"
            return "none", (), (note,)
        rows = self._query(
            "SELECT hypertable_name FROM timescaledb_information.hypertables "
            "WHERE hypertable_schema = current_schema() ORDER BY hypertable_name"
        )
        hypertables = tuple(str(row[0]) for row in rows)
        notes = (self._failure,) if self._failure else ()
        return ("timescaledb" if hypertables else "none"), hypertables, notes

    def _timescale_available(self) -> bool:
        rows = self._query(
            "SELECT 1 FROM pg_available_extensions WHERE name = %s", (TIMESCALE_EXTENSION,)
        )
        return bool(rows)

    def _close_connection(self) -> None:
        self._connection.close()
