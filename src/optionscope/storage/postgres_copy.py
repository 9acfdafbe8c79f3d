"""Encode canonical Arrow rows as PostgreSQL binary COPY data, vectorised with NumPy.

The binary format (PostgreSQL docs, "COPY ... File Formats") is a 19-byte header, then per
row a big-endian int16 field count and, per field, an int32 byte length (-1 for NULL)
followed by the value in the type's binary send format, then an int16 -1 trailer:

| logical   | PostgreSQL type  | value bytes                                      |
|-----------|------------------|--------------------------------------------------|
| text      | text             | UTF-8                                            |
| float     | double precision | IEEE 754 float64, big-endian                     |
| int       | bigint           | int64, big-endian                                |
| bool      | boolean          | one byte, 0 or 1                                 |
| date      | date             | int32 days since 2000-01-01                      |
| timestamp | timestamptz      | int64 microseconds since 2000-01-01 00:00 UTC    |

Rows have different lengths (text, NULLs), so each row's start is a cumulative sum, and
values are scattered into one output buffer column by column. To keep the number of scatters
small, runs of fixed-size items (a row's field count, length prefixes, non-NULL fixed-width
values) are packed into one NumPy record per row and written with a single scatter, through
an unaligned view of the buffer with a one-byte stride. Text of one length is written with
one scatter per distinct length.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
"""Signature, flags (no OIDs) and header-extension length."""

TRAILER = (-1).to_bytes(2, "big", signed=True)
"""Field count -1: end of data."""

_EPOCH_2000_MICROSECONDS = 946_684_800_000_000
_EPOCH_2000_DAYS = 10_957
_MAX_TEXT_LENGTHS_FOR_GROUPING = 32

Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class _Fixed:
    """A fixed-size item present in every row: `values` is a scalar or one value per row."""

    dtype: np.dtype[np.generic]
    values: object


@dataclass(frozen=True, slots=True)
class _NullableValue:
    """A fixed-width value absent (NULL) in the rows where `valid` is False."""

    values: npt.NDArray[np.generic]
    valid: BoolArray


@dataclass(frozen=True, slots=True)
class _Text:
    """UTF-8 payloads: row i is data[starts[i] : starts[i] + lengths[i]] (length -1: NULL)."""

    data: npt.NDArray[np.uint8]
    starts: Int64Array
    lengths: Int64Array


_Item = _Fixed | _NullableValue | _Text


def iter_copy_binary(rows: pa.Table, *, rows_per_message: int = 65_536) -> Iterator[bytes]:
    """Yield `rows` as binary COPY data, header first and trailer last, in bounded pieces.

    Args:
        rows: Canonical Arrow rows (see `storage.rows.ARROW_TYPES`), in the COPY column order.
        rows_per_message: Rows encoded per yielded piece (bounds the memory in flight).
    """
    yield HEADER
    for offset in range(0, rows.num_rows, rows_per_message):
        yield encode_rows(rows.slice(offset, rows_per_message))
    yield TRAILER


def encode_copy_binary(rows: pa.Table) -> bytes:
    """Return `rows` as one complete binary COPY payload (header, rows, trailer)."""
    return b"".join(iter_copy_binary(rows, rows_per_message=max(rows.num_rows, 1)))


def encode_rows(rows: pa.Table) -> bytes:
    """Return the binary COPY tuples of `rows`, without header or trailer."""
    count = rows.num_rows
    if count == 0:
        return b""
    items: list[_Item] = [_Fixed(np.dtype(">i2"), rows.num_columns)]
    for column in rows.columns:
        items.extend(_field_items(column.combine_chunks()))
    sizes = np.zeros(count, dtype=np.int64)
    for item in items:
        sizes += _item_sizes(item)
    starts = np.zeros(count, dtype=np.int64)
    np.cumsum(sizes[:-1], out=starts[1:])
    output = np.empty(int(starts[-1] + sizes[-1]), dtype=np.uint8)
    _write_items(output, starts, items)
    return output.tobytes()


def _field_items(array: pa.Array) -> list[_Item]:
    valid = None if array.null_count == 0 else _valid_mask(array)
    if pa.types.is_string(array.type):
        return _text_items(array, valid)
    values, width = _fixed_values(array)
    if valid is None:
        return [_Fixed(np.dtype(">i4"), width), _Fixed(values.dtype, values)]
    lengths = np.where(valid, width, -1).astype(">i4")
    return [_Fixed(lengths.dtype, lengths), _NullableValue(values, valid)]


def _valid_mask(array: pa.Array) -> BoolArray:
    mask: BoolArray = array.is_valid().to_numpy(zero_copy_only=False)
    return mask


def _fixed_values(array: pa.Array) -> tuple[npt.NDArray[np.generic], int]:
    kind = array.type
    if pa.types.is_timestamp(kind):
        micros = array.cast(pa.int64()).fill_null(0).to_numpy() - _EPOCH_2000_MICROSECONDS
        return micros.astype(">i8"), 8
    if pa.types.is_date32(kind):
        days = array.cast(pa.int32()).fill_null(0).to_numpy() - _EPOCH_2000_DAYS
        return days.astype(">i4"), 4
    if pa.types.is_float64(kind):
        return array.fill_null(0.0).to_numpy().astype(">f8"), 8
    if pa.types.is_int64(kind):
        return array.fill_null(0).to_numpy().astype(">i8"), 8
    if pa.types.is_boolean(kind):
        flags = array.fill_null(False).to_numpy(zero_copy_only=False)
        return flags.astype(np.uint8), 1
    raise TypeError(f"no binary COPY encoding for Arrow type {kind}")


def _text_items(array: pa.Array, valid: BoolArray | None) -> list[_Item]:
    _, offsets_buffer, data_buffer = array.buffers()
    count = len(array)
    offsets = np.frombuffer(
        offsets_buffer, dtype=np.int32, count=count + 1, offset=array.offset * 4
    ).astype(np.int64)
    lengths = np.diff(offsets)
    if valid is not None:
        lengths = np.where(valid, lengths, -1)
    data = (
        np.frombuffer(data_buffer, dtype=np.uint8)
        if data_buffer is not None
        else np.zeros(0, dtype=np.uint8)
    )
    prefix = lengths.astype(">i4")
    return [_Fixed(prefix.dtype, prefix), _Text(data, offsets[:-1], lengths)]


def _item_sizes(item: _Item) -> Int64Array | int:
    if isinstance(item, _Fixed):
        return item.dtype.itemsize
    if isinstance(item, _NullableValue):
        return np.where(item.valid, item.values.dtype.itemsize, 0)
    return np.maximum(item.lengths, 0)


def _write_items(output: npt.NDArray[np.uint8], starts: Int64Array, items: list[_Item]) -> None:
    cursor = starts.copy()
    run: list[_Fixed] = []
    for item in items:
        if isinstance(item, _Fixed):
            run.append(item)
            continue
        cursor += _write_run(output, cursor, run)
        run = []
        if isinstance(item, _NullableValue):
            _scatter(output, cursor[item.valid], item.values[item.valid])
            cursor += np.where(item.valid, item.values.dtype.itemsize, 0)
        else:
            _write_text(output, cursor, item)
            cursor += np.maximum(item.lengths, 0)
    _write_run(output, cursor, run)


def _write_run(output: npt.NDArray[np.uint8], cursor: Int64Array, run: list[_Fixed]) -> int:
    if not run:
        return 0
    names = [f"f{index}" for index in range(len(run))]
    offsets = np.cumsum([0] + [item.dtype.itemsize for item in run[:-1]]).tolist()
    record_type = np.dtype(
        {"names": names, "formats": [item.dtype for item in run], "offsets": offsets}
    )
    records = np.empty(len(cursor), dtype=record_type)
    for name, item in zip(names, run, strict=True):
        records[name] = item.values
    _scatter(output, cursor, records.view(np.dtype((np.void, record_type.itemsize))))
    return record_type.itemsize


def _write_text(output: npt.NDArray[np.uint8], cursor: Int64Array, text: _Text) -> None:
    present = text.lengths > 0
    distinct = np.unique(text.lengths[present])
    if len(distinct) <= _MAX_TEXT_LENGTHS_FOR_GROUPING:
        for length in distinct.tolist():
            rows = text.lengths == length
            source = _unaligned_view(text.data, np.dtype((np.void, length)))
            _scatter(output, cursor[rows], source[text.starts[rows]])
        return
    # Many distinct lengths (free text): copy byte by byte with one flat index.
    lengths = np.where(present, text.lengths, 0)
    total = int(lengths.sum())
    within = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    output[np.repeat(cursor, lengths) + within] = text.data[
        np.repeat(text.starts, lengths) + within
    ]


def _unaligned_view(buffer: npt.NDArray[np.uint8], dtype: np.dtype[np.generic]) -> np.ndarray:
    """Return a view whose element i is the `dtype.itemsize` bytes starting at byte i."""
    count = max(len(buffer) - dtype.itemsize + 1, 0)
    return np.ndarray(shape=(count,), dtype=dtype, buffer=buffer, strides=(1,))


def _scatter(output: npt.NDArray[np.uint8], positions: Int64Array, values: np.ndarray) -> None:
    if len(positions):
        _unaligned_view(output, values.dtype)[positions] = values
