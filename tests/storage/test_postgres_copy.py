"""Binary COPY encoding: exact bytes for small cases, and a real server for the rest."""

from __future__ import annotations

import datetime as dt

import psycopg
import pyarrow as pa
import pytest

from optionscope.storage.postgres_copy import (
    HEADER,
    TRAILER,
    encode_copy_binary,
    encode_rows,
    iter_copy_binary,
)


def test_an_empty_table_is_header_and_trailer_only() -> None:
    empty = pa.table({"a": pa.array([], pa.int64())})
    assert encode_copy_binary(empty) == HEADER + TRAILER
    assert HEADER[:11] == b"PGCOPY\n\xff\r\n\x00"
    assert HEADER[11:] == bytes(8)
    assert TRAILER[:] == b"\xff\xff"


def test_one_row_encodes_to_the_documented_layout() -> None:
    row = pa.table(
        {
            "n": pa.array([1], pa.int64()),
            "t": pa.array(["ab"]),
            "missing": pa.array([None], pa.float64()),
            "flag": pa.array([True]),
            "day": pa.array([dt.date(2000, 1, 2)], pa.date32()),
            "at": pa.array(
                [dt.datetime(2000, 1, 1, 0, 0, 1, tzinfo=dt.UTC)], pa.timestamp("us", tz="UTC")
            ),
        }
    )
    assert encode_rows(row) == (
        b"\x00\x06"  # six fields
        + b"\x00\x00\x00\x08" + (1).to_bytes(8, "big")
        + b"\x00\x00\x00\x02" + b"ab"
        + b"\xff\xff\xff\xff"  # NULL: length -1, no bytes
        + b"\x00\x00\x00\x01" + b"\x01"
        + b"\x00\x00\x00\x04" + (1).to_bytes(4, "big")  # days since 2000-01-01
        + b"\x00\x00\x00\x08" + (1_000_000).to_bytes(8, "big")  # microseconds since 2000
    )  # fmt: skip


def test_pieces_cover_every_row_once() -> None:
    rows = pa.table({"n": pa.array(range(10), pa.int64())})
    pieces = list(iter_copy_binary(rows, rows_per_message=4))
    assert len(pieces) == 5  # header, 4 + 4 + 2 rows, trailer
    assert b"".join(pieces) == encode_copy_binary(rows)


def _edge_rows() -> pa.Table:
    many_lengths = ["x" * length for length in range(40)]  # more lengths than the grouped path
    text = ["", None, 'héllo\n"q"\t\\', "ü" * 3, *many_lengths]
    count = len(text)
    floats = [1.5, None, float("inf"), -0.0, 5e-324, float("-inf")]
    dates = [dt.date(2024, 2, 29), None, dt.date(1999, 12, 31), dt.date(1900, 1, 1)]
    stamps = [
        dt.datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC),
        None,
        dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
    ]
    return pa.table(
        {
            "t": pa.array(text, pa.string()),
            "f": pa.array([floats[i % len(floats)] for i in range(count)], pa.float64()),
            "i": pa.array([(-1) ** i * 2**62 if i % 5 else None for i in range(count)], pa.int64()),
            "b": pa.array([None if i % 7 == 0 else i % 2 == 0 for i in range(count)]),
            "d": pa.array([dates[i % len(dates)] for i in range(count)], pa.date32()),
            "s": pa.array(
                [stamps[i % len(stamps)] for i in range(count)], pa.timestamp("us", tz="UTC")
            ),
        }
    )


@pytest.mark.postgres
@pytest.mark.parametrize("offset", [0, 3], ids=["whole", "sliced"])
def test_the_server_reads_back_exactly_what_was_encoded(postgres_url: str, offset: int) -> None:
    rows = _edge_rows().slice(offset)
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute("SET TIME ZONE 'UTC'")
        connection.execute(
            "CREATE TABLE edge (t TEXT, f DOUBLE PRECISION, i BIGINT, b BOOLEAN, d DATE, "
            "s TIMESTAMPTZ)"
        )
        with (
            connection.cursor() as cursor,
            cursor.copy("COPY edge FROM STDIN (FORMAT BINARY)") as copy,
        ):
            for piece in iter_copy_binary(rows, rows_per_message=5):
                copy.write(piece)
        stored = connection.execute("SELECT t, f, i, b, d, s FROM edge").fetchall()
    expected = [tuple(row.values()) for row in rows.to_pylist()]
    assert stored == expected


def test_unsupported_types_are_refused() -> None:
    with pytest.raises(TypeError, match="no binary COPY encoding"):
        encode_rows(pa.table({"x": pa.array([1], pa.int8())}))
