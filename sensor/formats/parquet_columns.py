"""Parquet's columns judged by their Arrow type, from the schema before any row is read
(sensor.formats.parquet_table): decimals and dictionary-encoded columns read as their
numbers, text as numbers or times; a type that holds neither (true/false, dates without a
time of day, lists) is refused naming the column and its type."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sleepmove.base.clock import CLOCK_RELATIVE
from sleepmove.base.errors import InputError
from sleepmove.base.order_statistics import median
from sleepmove.sensor.numeric_columns import UnreadableRow, numeric_axes, numeric_values
from sleepmove.sensor.time_column import UNITS_PER_SECOND, time_column

UNIX_LIKE = 1e8  # a number of at least this is Unix time (seconds or finer): it orders as time


AXIS_TYPES = "numeric acceleration: floating-point or integer numbers, decimals, or numbers as text"
TIME_TYPES = (
    "times: a timestamp column, Unix time or time from the start as numbers, or ISO-8601 text"
)


def check_types(path: str, schema: pa.Schema, time_col: str, axes: list[str]) -> None:
    """Refuse a column whose type holds no numbers (the time column: no times), naming it and
    its type: read as text, a column of true/false was "not a number: 'true' (line 1)", and
    a decimal column's '0.8254' too; a date column was read as one time for the night."""
    kind = _value_type(schema.field(time_col).type)
    problem = _no_times(kind)
    if problem is not None:
        raise InputError(
            path,
            f"the time column {time_col!r} is of type {_type_name(kind)}: {problem}",
            expected=TIME_TYPES,
        )
    for name in axes:  # a loop over three columns
        kind = _value_type(schema.field(name).type)
        if not (_is_number(kind) or _is_text(kind) or pa.types.is_null(kind)):
            raise InputError(
                path,
                f"column {name!r} is of type {_type_name(kind)}: {_type_words(kind)}, not numbers",
                expected=AXIS_TYPES,
            )


def _value_type(kind: pa.DataType) -> pa.DataType:
    """A dictionary-encoded column's values' type (that of the column read)."""
    while pa.types.is_dictionary(kind):  # a dictionary of a dictionary: not seen, but allowed
        kind = kind.value_type
    return kind


def _is_number(kind: pa.DataType) -> bool:
    return pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)


def _is_text(kind: pa.DataType) -> bool:
    """Text or bytes (numbers or times written out): string, large_string, their views,
    binary."""
    return (
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_binary(kind)
        or pa.types.is_large_binary(kind)
        or pa.types.is_fixed_size_binary(kind)
        or str(kind) in ("string_view", "binary_view")  # no is_string_view before pyarrow 16
    )


def _no_times(kind: pa.DataType) -> str | None:
    """Why a time column of type `kind` holds no sample times; None if it may."""
    if pa.types.is_floating(kind) and kind.bit_width == 16:
        return "its 3 significant digits cannot tell samples' times apart"
    if pa.types.is_date(kind):
        return "dates without a time of day, not the times of samples"
    if pa.types.is_null(kind):
        return "every cell is empty"
    if (
        _is_number(kind)
        or _is_text(kind)
        or pa.types.is_timestamp(kind)
        or pa.types.is_time(kind)
        or pa.types.is_duration(kind)
    ):
        return None
    return f"{_type_words(kind)}, not times"


def _type_name(kind: pa.DataType) -> str:
    """The type as Arrow names it, but float16 (Arrow's 'halffloat') as numpy and pandas do."""
    return "float16" if pa.types.is_float16(kind) else str(kind)


def _type_words(kind: pa.DataType) -> str:
    """What a column of type `kind` holds, in words."""
    for test, words in (
        (pa.types.is_boolean, "true/false values"),
        (pa.types.is_timestamp, "time stamps"),
        (pa.types.is_date, "dates"),
        (pa.types.is_time, "clock times"),
        (pa.types.is_duration, "durations"),
        (pa.types.is_nested, "several values a cell"),
    ):
        if test(kind):
            return words
    return "values of another kind"


def axes_as_numbers(path: str, table: pa.Table, axes: list[str]) -> np.ndarray:
    """The axes as float32 (n, 3): decimals and dictionaries read as their numbers, text and
    bytes as numbers written out (a cell that is none named by its row)."""
    for name in axes:  # a loop over three columns
        column = table.column(name)
        kind = column.type
        if pa.types.is_dictionary(kind):
            column = column.cast(_value_type(kind))
        if pa.types.is_decimal(column.type):  # a sensor's few digits: float64 holds them
            column = column.cast(pa.float64())
        elif _is_text(column.type) and not (
            pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
        ):
            try:
                column = column.cast(pa.large_string())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise InputError(
                    path,
                    f"column {name!r} is of type {column.type} and holds bytes that are not "
                    "UTF-8 text, not numbers",
                    expected=AXIS_TYPES,
                ) from None
        if column.type != kind:
            table = table.set_column(table.schema.get_field_index(name), name, column)
    try:
        return numeric_axes(path, table, axes, 0)
    except UnreadableRow as error:
        raise _in_rows(error) from None


def time_values(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """The time column as time_column reads it: dictionaries decoded, decimals as float64,
    text views as text."""
    if pa.types.is_dictionary(column.type):
        column = column.cast(_value_type(column.type))
    if pa.types.is_decimal(column.type):
        return column.cast(pa.float64())
    if str(column.type) in ("string_view", "binary_view") or pa.types.is_fixed_size_binary(
        column.type
    ):
        return column.cast(pa.large_binary())  # its bytes: cells that are not UTF-8 are junk
    return column


def seconds_of(
    path: str, column: pa.ChunkedArray, name: str, warnings: list[str] | None
) -> tuple[np.ndarray, str]:
    """time_column's seconds and clock, its rows named as rows (a Parquet file has no lines);
    durations as time from the start in their own unit (not guessed from their steps)."""
    if pa.types.is_duration(column.type):
        seconds = np.empty(len(column))
        start = 0
        for chunk in column.cast(pa.int64()).chunks:  # a loop over chunks
            seconds[start : start + len(chunk)] = numeric_values(chunk)
            start += len(chunk)
        seconds /= UNITS_PER_SECOND[column.type.unit]
        return seconds, CLOCK_RELATIVE
    told = len(warnings) if warnings is not None else 0
    try:
        seconds, clock = time_column(path, column, 0, warnings, name)
    except UnreadableRow as error:
        raise _in_rows(error) from None
    if warnings is not None:  # "N rows whose time is unreadable dropped (first at line 5...)"
        warnings[told:] = [w.replace("(first at line ", "(first at row ") for w in warnings[told:]]
    return seconds, clock


def _in_rows(error: UnreadableRow) -> UnreadableRow:
    """The error with its place named as a row: the CSV readers' "line N" is row N here."""
    where = error.where
    if where and where.startswith("line "):
        where = "row " + where[len("line ") :]
    return UnreadableRow(error.path, error.problem, where, error.expected)


def check_precision(
    path: str, time: pa.ChunkedArray, time_s: np.ndarray, name: str, clock: str
) -> None:
    """Refuse float32 times too coarse for samples: its 7 digits hold Unix seconds only to
    the nearest 128 s, and such a night read as rows sharing a handful of stamps."""
    if not (pa.types.is_floating(time.type) and time.type.bit_width == 32):
        return
    largest = pc.max(pc.abs(time)).as_py()
    if largest is None or not np.isfinite(largest):
        return
    spacing = float(np.spacing(np.float32(largest)))
    if clock == CLOCK_RELATIVE:  # time from the start: seconds are the numbers times a scale
        ends = pc.min_max(time)
        span = ends["max"].as_py() - ends["min"].as_py()
        head = np.diff(time_s[:10_001])
        steps = head[head > 0]
        if not span > 0 or len(steps) < 3:
            return
        seconds_per_unit = (np.nanmax(time_s) - np.nanmin(time_s)) / span
        if not spacing * seconds_per_unit * 2 > median(steps):  # NaN: no judgment
            return
    raise InputError(
        path,
        f"the time column {name!r} is float32: its 7 significant digits keep times such as "
        f"{largest:.10g} only to the nearest {spacing:g}, coarser than the samples' steps",
        expected="times as float64, int64 or timestamps",
    )
