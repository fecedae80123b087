"""Damage in a Parquet file (sensor.formats.parquet_table): row groups that do not decode
are left out, each named with its rows and times; times that decode wrong (a flipped byte
in a compressed page) lie outside their row group's own range, as its footer statistics
give it, or leave the rows' line and return to it: those rows are dropped with a warning."""

from __future__ import annotations

import datetime
import json
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from sleepmove.base.clock import CLOCK_RELATIVE
from sleepmove.base.errors import InputError
from sleepmove.base.order_statistics import median
from sleepmove.sensor.formats.parquet_columns import UNIX_LIKE
from sleepmove.sensor.numeric_columns import numeric_values
from sleepmove.sensor.time_column import time_column
from sleepmove.sensor.time_guards import ORDER_JUMP_S

if TYPE_CHECKING:  # imported when a Parquet file is read: pyarrow.parquet costs 20-40 ms
    import pyarrow.parquet as pq

# The time column is judged this many rows at a time (1 MB of numbers): memory stays that
# of a batch, whatever the file's row groups hold; each batch's last rows are judged.
GUARD_BATCH_ROWS = 1 << 17


# Rows a stretch of damaged times spans at most (a data page holds 1 MB: 131,072 stamps),
# and jumps in time judged at most: more are no few damaged stretches, but a clock the grid
# judges.
OUT_OF_LINE_ROWS = 1 << 18
OUT_OF_LINE_JUMPS = 1000
# Shorter stretches are the grid's stray rows (detection.grid.STRAY_MAX_ROWS), dropped and
# told there as they are in any file
GRID_STRAY_ROWS = 16


class RowGroups:
    """The row groups read (`groups`, in turn) and where their rows lie in the file: to judge
    the rows' times against each group's statistics, and to name rows in warnings."""

    def __init__(
        self, path: str, metadata: pq.FileMetaData, groups: list[int], time_col: str
    ) -> None:
        self._path, self._metadata, self._groups, self._time_col = path, metadata, groups, time_col
        counts = [metadata.row_group(g).num_rows for g in range(metadata.num_row_groups)]
        self._file_starts = np.cumsum([0, *counts])
        self._starts = np.cumsum([0] + [counts[g] for g in groups])  # in the table read
        self._index = _leaf_index(metadata, time_col)

    def outside_statistics(self, time: pa.ChunkedArray, warnings: list[str]) -> np.ndarray:
        """The rows whose time lies outside the range their row group's statistics give:
        damage that decodes (one flipped byte in a compressed page: 106 stamps days or 1e100
        s off, and the whole night was refused). A row group most of whose times do is left
        out whole: its data, or its statistics, are damaged. A pass over the times, as
        numpy views (1-2 ms for 8 h at 100 Hz)."""
        kind = time.type
        if self._index is None or not (
            pa.types.is_integer(kind)
            or pa.types.is_timestamp(kind)
            or (pa.types.is_floating(kind) and kind.bit_width > 16)
        ):
            return np.empty(0, dtype=np.intp)
        numbers = time.cast(pa.int64()) if pa.types.is_timestamp(kind) else time
        if isinstance(numbers, pa.ChunkedArray) and numbers.num_chunks > 1:
            # A slice of a chunked array costs a step per chunk: one per row group (58,800
            # groups of a row, 10 s in the loop below)
            numbers = pa.chunked_array([numbers.combine_chunks()])
        found: list[np.ndarray] = []
        some: list[tuple[int, int]] = []  # (group, its first row outside), groups kept in part
        whole: list[int] = []
        for turn, group in enumerate(self._groups):  # a loop over row groups
            start, stop = int(self._starts[turn]), int(self._starts[turn + 1])
            statistics = self._metadata.row_group(group).column(self._index).statistics
            bounds = _bounds(statistics, kind)
            outside = _outside(numbers.slice(start, stop - start), bounds) if bounds else None
            if outside is None:
                continue
            if len(outside) * 2 > stop - start:
                whole.append(group)
                outside = np.arange(stop - start)
            else:
                some.append((group, int(outside[0]) + start))
            found.append(outside + start)
        if whole:
            lost = sum(self.rows_of(g) for g in whole)  # a loop over groups left out
            warnings.append(
                f"{len(whole)} row groups most of whose times lie outside the range their "
                f"statistics give ({lost:,} rows) left out (the first is "
                f"{self.describe(whole[0])}): their times or their statistics are damaged"
            )
        if some:
            group, row = some[0]
            count = sum(len(rows) for rows in found) - sum(self.rows_of(g) for g in whole)
            warnings.append(
                f"{count:,} rows whose time lies outside the range of their row group's "
                f"statistics dropped as damaged (the first at row {self.file_row(row):,}: "
                f"{_cell(time, row)}, in {self.describe(group)})"
            )
        return np.concatenate(found) if found else np.empty(0, dtype=np.intp)

    def out_of_line(self, time_s: np.ndarray, missing: bool, warnings: list[str]) -> np.ndarray:
        """Rows in stretches whose times jump away from the others' line (by more than
        ORDER_JUMP_S, back at least once) and return to it as if they had not: the row after
        the stretch is as many steps after the row before it as rows passed. Damage that
        decodes does that (106 stamps 4.3 s early: read as a clock reset, the rest of the
        night shifted); a clock reset goes on from its new time, a gap leaves time out:
        both are kept, for the grid. `missing`: whether some rows have no time. A pass over
        the steps (1-2 ms for 8 h at 100 Hz)."""
        nothing = np.empty(0, dtype=np.intp)
        # Rows without a time (damaged, empty) set aside: a jump beside one is still seen
        kept = np.flatnonzero(np.isfinite(time_s)) if missing else None
        times = time_s if kept is None else time_s[kept]
        if not _jumps_back(times):
            return nothing
        steps = np.diff(times)
        jumps = np.flatnonzero(np.abs(steps) > ORDER_JUMP_S)
        if len(jumps) > OUT_OF_LINE_JUMPS:
            return nothing
        positive = steps[steps > 0]
        step = median(positive[:: max(1, len(positive) // 100_000)].copy()) if len(positive) else 0
        if not step > 0:
            return nothing
        back = steps[jumps] < -ORDER_JUMP_S
        stretches = _stretches_out_of_line(times, jumps, back, step)
        # Damage that decodes stays within its page, so within one row group: a stretch
        # across groups is groups written out of order (two swapped lost 48 min), for the grid.
        table_row = (lambda row: row) if kept is None else (lambda row: int(kept[row]))
        stretches = [
            (a, b)
            for a, b in stretches  # a loop over stretches
            if self.group_of(table_row(a)) == self.group_of(table_row(b))
        ]
        if not stretches:
            return nothing
        rows = np.concatenate([np.arange(a, b + 1) for a, b in stretches])  # a loop over them
        rows = rows if kept is None else kept[rows]
        first = int(rows[0])
        off = times[stretches[0][0]] - times[stretches[0][0] - 1] - step
        warnings.append(
            f"{len(rows):,} rows in {len(stretches)} stretches whose times jump away from "
            "those around them and return to their line as if they had not (damaged time "
            f"stamps, not a clock reset) dropped (the first at row {self.file_row(first):,}, "
            f"{off:+.3g} s off, in {self.describe(self.group_of(first))})"
        )
        return rows

    def rows_of(self, group: int) -> int:
        """How many rows row group `group` holds."""
        return int(self._file_starts[group + 1] - self._file_starts[group])

    def group_of(self, row: int) -> int:
        """The row group that holds row `row` of the table read."""
        return self._groups[int(np.searchsorted(self._starts, row, side="right")) - 1]

    def file_row(self, row: int) -> int:
        """Row `row` of the table read, as the file counts its rows (from 0)."""
        turn = int(np.searchsorted(self._starts, row, side="right")) - 1
        return int(self._file_starts[self._groups[turn]] + row - self._starts[turn])

    def describe(self, group: int) -> str:
        """'row group 3 of 10, counting from 0, rows 216,000 to 287,999, times A to B'."""
        count = self._metadata.num_row_groups
        return (
            f"row group {group} of {count}, counting from 0, rows "
            f"{self._file_starts[group]:,} to {self._file_starts[group + 1] - 1:,}"
            f"{self._times(group)}"
        )

    def _times(self, group: int) -> str:
        """', times A to B' as the row group's statistics give them; '' where it has none."""
        if self._index is None:
            return ""
        statistics = self._metadata.row_group(group).column(self._index).statistics
        if statistics is None or not statistics.has_min_max:
            return ""
        try:  # stamps beyond Python's dates (year 10000 on) do not convert
            ends = [
                _time_text(self._path, end, self._time_col)
                for end in (statistics.min, statistics.max)
            ]
        except (ValueError, TypeError, OverflowError, pa.ArrowException):
            return ""
        return f", times {ends[0]} to {ends[1]}"


def _leaf_index(metadata: pq.FileMetaData, name: str) -> int | None:
    """The index of column `name` among the file's columns (its statistics'), if it is one."""
    paths = [metadata.schema.column(i).path for i in range(metadata.num_columns)]
    return paths.index(name) if name in paths else None


# Units of a Parquet time stamp, per second
PARQUET_UNITS = {"milliseconds": 1000, "microseconds": 10**6, "nanoseconds": 10**9}
ARROW_UNITS = {"s": 1, "ms": 1000, "us": 10**6, "ns": 10**9}


def _bounds(statistics: pq.Statistics | None, kind: pa.DataType) -> tuple[float, float] | None:
    """A row group's least and greatest time as its statistics give them, as the numbers
    the time column holds (a time stamp's in the column's unit); None where they give none."""
    if statistics is None or not statistics.has_min_max:
        return None
    if pa.types.is_timestamp(kind):
        # Its stored numbers, exact (not through Python's datetime, which drops nanoseconds),
        # in the column's unit (a file written in seconds stores milliseconds)
        logical = statistics.logical_type
        stored = json.loads(logical.to_json()).get("timeUnit") if logical is not None else None
        if statistics.physical_type != "INT64" or stored not in PARQUET_UNITS:
            return None
        low, high = int(statistics.min_raw), int(statistics.max_raw)
        wanted, per_second = ARROW_UNITS[kind.unit], PARQUET_UNITS[stored]
        if wanted >= per_second:
            return low * (wanted // per_second), high * (wanted // per_second)
        factor = per_second // wanted
        return low // factor, -(-high // factor)  # widened, never narrowed
    low, high = statistics.min, statistics.max
    if not all(isinstance(end, (int, float)) and not isinstance(end, bool) for end in (low, high)):
        return None
    return low, high


def _outside(numbers: pa.ChunkedArray, bounds: tuple[float, float]) -> np.ndarray | None:
    """The rows of `numbers` below or above `bounds`; None if there are none (NaN is in)."""
    low, high = bounds
    pieces = [numeric_values(chunk) for chunk in numbers.chunks if len(chunk)]
    if all(np.fmin.reduce(p) >= low and np.fmax.reduce(p) <= high for p in pieces):
        return None  # the clean case: a minimum and a maximum a chunk
    rows = np.flatnonzero(np.concatenate([(p < low) | (p > high) for p in pieces]))
    return rows if len(rows) else None


def _cell(column: pa.ChunkedArray, row: int) -> str:
    """A cell of the time column as text (a stamp out of text's range: its number)."""
    cell = column.slice(row, 1)
    try:
        return str(cell.cast(pa.string())[0].as_py())[:40]
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return str(cell.cast(pa.int64())[0].as_py())


def _time_text(path: str, value: object, time_col: str) -> str:
    """A time from a row group's statistics as text, to the millisecond: an instant (Unix
    time, a stamp with a zone) in UTC, a wall-clock time as it is, others as written."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= UNIX_LIKE:
        seconds, clock = time_column(path, pa.chunked_array([pa.array([value])]), 0, name=time_col)
        if clock != CLOCK_RELATIVE and np.isfinite(seconds[0]):
            return str(np.datetime64(round(seconds[0] * 1000), "ms")).replace("T", " ") + " UTC"
    if isinstance(value, datetime.datetime):  # pandas' Timestamp too
        zone = value.tzinfo is not None
        wall = value.astimezone(datetime.timezone.utc) if zone else value
        return f"{wall:%Y-%m-%d %H:%M:%S.%f}"[:-3] + (" UTC" if zone else "")
    if isinstance(value, bytes):
        value = value.decode("utf-8", "backslashreplace")
    return str(value)[:40]


JUMP_BLOCK_ROWS = 1 << 16  # rows judged at a time: the temporaries stay in the cache


def _jumps_back(times: np.ndarray) -> bool:
    """Whether the time anywhere jumps back by more than ORDER_JUMP_S, a block at a time:
    a night-long array of steps cost fresh pages (3 ms for 8 h at 100 Hz, against 1)."""
    for start in range(0, len(times) - 1, JUMP_BLOCK_ROWS):  # a loop over blocks
        stop = min(start + JUMP_BLOCK_ROWS, len(times) - 1)
        if (times[start + 1 : stop + 1] - times[start:stop] < -ORDER_JUMP_S).any():
            return True
    return False


def _stretches_out_of_line(
    times: np.ndarray, jumps: np.ndarray, back: np.ndarray, step: float
) -> list[tuple[int, int]]:
    """(first, last) rows of each stretch that leaves the line at a jump and returns to it at
    a later one: the time after it lies as many steps (`step`, within two) after the time
    before it as rows passed, and time went back on the way. Greedy, in row order; those of
    GRID_STRAY_ROWS or fewer passed over."""
    stretches = []
    i = 0
    while i < len(jumps) - 1:  # a loop over jumps (OUT_OF_LINE_JUMPS at most)
        before = jumps[i]  # the last row in line before the stretch
        ends = jumps[i + 1 :]
        ends = ends[ends - before <= OUT_OF_LINE_ROWS]
        expected = (ends + 1 - before) * step
        fits = np.abs(times[ends + 1] - times[before] - expected) <= 2 * step
        fits &= (np.cumsum(back[i + 1 : i + 1 + len(ends)]) + back[i]) > 0
        hit = np.flatnonzero(fits)
        if not len(hit):
            i += 1
            continue
        if ends[hit[0]] - before > GRID_STRAY_ROWS:
            stretches.append((int(before) + 1, int(ends[hit[0]])))
        i += int(hit[0]) + 2
    return stretches


def decodable_row_groups(
    path: str, parquet: pq.ParquetFile, time_col: str, axes: list[str], warnings: list[str]
) -> list[int] | None:
    """The row groups whose columns decode, each read on its own a batch at a time (memory
    of a batch), the others named in a warning with their rows and times; None if every one
    decodes. A file none of whose row groups decode is refused naming the first: "unreadable
    Parquet file (Corrupt snappy compressed data.)" said neither where nor how much of the
    file."""
    metadata = parquet.metadata
    count = metadata.num_row_groups
    failed: dict[int, str] = {}
    for group in range(count):  # a loop over row groups
        try:
            batches = parquet.iter_batches(
                GUARD_BATCH_ROWS, row_groups=[group], columns=[time_col, *axes]
            )
            for _ in batches:
                pass
        except (pa.ArrowInvalid, OSError) as error:
            if isinstance(error, PermissionError):
                raise
            failed[group] = said(error)
    if not failed:
        return None
    rows = RowGroups(path, metadata, list(range(count)), time_col)
    first = min(failed)
    where = f"{rows.describe(first)}: {failed[first]}"
    if len(failed) == count:
        raise InputError(
            path,
            f"unreadable Parquet file: none of its {count} row groups decode",
            where=f"first {where}",
            expected="a Parquet file whose row groups decode (the file is damaged)",
        )
    kept = [g for g in range(count) if g not in failed]
    lost = sum(rows.rows_of(g) for g in failed)  # a loop over failed groups
    warnings.append(
        f"{len(failed)} row groups that cannot be decoded ({lost:,} rows) left out (the "
        f"first is {where}); the other {len(kept)} read"
    )
    return kept


def said(error: Exception) -> str:
    """pyarrow's message in one line of printable text: it may end in a second line
    ("Deserializing page header failed.") and hold the control byte it choked on."""
    lines = str(error).strip().splitlines() or [type(error).__name__]
    return "".join(c if c.isprintable() else "?" for c in lines[0][:200])
