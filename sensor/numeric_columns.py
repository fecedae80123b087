"""A parsed table's acceleration columns as numpy (float32, written in place in Arrow's
memory), and the row that does not read (`UnreadableRow`): a cell that is no number is
named as written. Shared by the CSV and Parquet readers and the time column's parse."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sleepmove.base.errors import InputError


class UnreadableRow(InputError):
    """A row that does not read as a table's rows do: the wrong number of fields, a cell
    that is no number, or no time. In a damaged gzip file, where the damage garbled the
    text."""


def numeric_axes(
    path: str, table: pa.Table, axes: list[str], header_lines: int, decimal_point: str = "."
) -> np.ndarray:
    """The axes as one float32 (n, 3) array; a column that is not numeric is read from text
    (`decimal_point` as the file writes it) or refused naming its first cell that is not."""
    # float32 from the start: sensors resolve far less than its 7 digits, and a float64 copy
    # of a night's samples is the largest array the analysis would hold. Column order, as
    # Arrow holds it: the analysis works one axis at a time on contiguous columns.
    xyz = arrow_backed_empty(table.num_rows * 3, np.float32).reshape(3, -1).T
    for index, name in enumerate(axes):
        column = table.column(name)
        if not (pa.types.is_floating(column.type) or pa.types.is_integer(column.type)):
            column = _as_numbers(path, column, name, header_lines, decimal_point)
        start = 0
        for chunk in column.chunks:  # each chunk cast straight into place: no float64 copy
            values = numeric_values(chunk)
            with np.errstate(over="ignore"):  # beyond float32: inf, a row dropped later
                xyz[start : start + len(values), index] = values
            start += len(values)
    return xyz


def arrow_backed_empty(count: int, dtype: type[np.generic]) -> np.ndarray:
    """A writable 1-D array in Arrow's memory pool.

    After a parse the pool holds pages the parse has freed: an array there is written at
    memory speed, where numpy's allocator would have the kernel zero fresh pages (measured:
    8 against 12 ms for a night's samples and stamps, and up to 120 ms when the kernel must
    first assemble huge pages). The pool gets its memory back when the array is dropped.
    """
    itemsize = np.dtype(dtype).itemsize
    return np.frombuffer(pa.allocate_buffer(count * itemsize), dtype=dtype, count=count)


def numeric_values(chunk: pa.Array) -> np.ndarray:
    """A numeric Arrow array as numpy, empty fields as NaN, without a copy where possible.

    Read from the array's buffers: Arrow's own conversions import pandas, about 0.35 s of
    CPU that would compete with the parse for the cores.
    """
    kind = chunk.type
    if pa.types.is_floating(kind):
        dtype = np.dtype(f"float{kind.bit_width}")
    else:
        dtype = np.dtype(f"{'' if pa.types.is_signed_integer(kind) else 'u'}int{kind.bit_width}")
    validity, data = chunk.buffers()[:2]
    values = np.frombuffer(data, dtype, count=len(chunk), offset=chunk.offset * dtype.itemsize)
    if not chunk.null_count:
        return values
    bits = np.unpackbits(np.frombuffer(validity, np.uint8), bitorder="little")
    present = bits[chunk.offset : chunk.offset + len(chunk)].astype(bool)
    return np.where(present, values, np.nan)


def _as_numbers(
    path: str, column: pa.ChunkedArray, name: str, header_lines: int, decimal_point: str = "."
) -> pa.ChunkedArray:
    """A column that is not numeric: numbers stored as text (a Parquet string column) read
    as numbers; else refused, naming the first cell that is no number, as written. With
    decimal commas, a column holding one text cell keeps every cell as text ('0,02'): they
    are judged with a point, or the first of them was named (at line 2)."""
    if pa.types.is_null(column.type):  # every cell empty or NaN (Arrow reads "nan" as null)
        raise InputError(
            path,
            f"no values in column {name!r}: every cell is empty or NaN",
            expected="numeric acceleration",
        )
    numbers = column
    text = pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
    if decimal_point != "." and text:
        # Arrow read what it could with the file's point: a cell with another ('1.5', or
        # '1.234,5' with a thousands point) is one it could not, and stays one.
        numbers = pc.replace_substring(pc.replace_substring(column, ".", "?"), decimal_point, ".")
    elif text:
        try:
            return column.cast(pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    row = _first_non_numeric(numbers)
    cell = column.slice(row, 1)
    try:
        value = cell.cast(pa.string())[0].as_py()  # as written: `true`, not Python's True
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        value = cell[0].as_py()
    if isinstance(value, bytes):  # a cell that is not UTF-8: as text, its odd bytes escaped
        value = value.decode("utf-8", "backslashreplace")
    raise UnreadableRow(
        path,
        f"not a number in column {name!r}: {str(value)[:40]!r}",
        where=f"line {header_lines + row + 1}",
        expected="numeric acceleration",
    )


def _first_non_numeric(column: pa.ChunkedArray) -> int:
    values = column.to_pandas()
    import pandas as pd

    parsed = pd.to_numeric(values, errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy() & values.notna().to_numpy())
    return int(bad[0]) if len(bad) else 0
