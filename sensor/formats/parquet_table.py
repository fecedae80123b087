"""Parquet's reading (sensor.formats.parquet): the same column rules as CSV (a time column
and x, y, z acceleration columns). Imported only to read a Parquet file: pyarrow with it.

Columns are judged by their Arrow type first (parquet_columns); a damaged file keeps the row
groups that decode and the rows whose times are sound (parquet_damage)."""

from __future__ import annotations

import contextlib
import re
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sleepmove.base.errors import InputError
from sleepmove.sensor.finish import finish_recording
from sleepmove.sensor.formats.parquet_columns import (
    UNIX_LIKE,
    axes_as_numbers,
    check_precision,
    check_types,
    seconds_of,
    time_values,
)
from sleepmove.sensor.formats.parquet_damage import (
    GUARD_BATCH_ROWS,
    RowGroups,
    decodable_row_groups,
    said,
)
from sleepmove.sensor.recording import Recording
from sleepmove.sensor.table_layout import find_columns
from sleepmove.sensor.text_source import arrow_can_open
from sleepmove.sensor.time_column import time_column
from sleepmove.sensor.time_guards import (
    STILL_TIME_ROWS,
    TimeGuard,
    check_rate,
    check_still_rows,
)
from sleepmove.sensor.zones import zone_info

if TYPE_CHECKING:  # imported when a Parquet file is read: pyarrow.parquet costs 20-40 ms
    import pyarrow.parquet as pq

NAME = "a Parquet file"
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")  # ISO text orders as the time it names


def _check_rate(
    path: str, parquet: pq.ParquetFile, time_col: str, groups: list[int] | None = None
) -> None:
    """Refuse a time that does not advance, advances faster than any accelerometer's or
    jumps back and forth, before the samples are read: a 400 KB file of one row repeated
    25 M times took 3 GB to be refused. From the row groups' minimum and maximum time where
    the file keeps them (a span only where they order as time does: time stamps, Unix
    numbers, ISO text); then from the time column, a batch at a time (TimeGuard): rows of
    one time and one 8 h on, in turn, span 8 h in every row group (50 M rows, 1 MB, took
    4.5 GB to be refused by the grid)."""
    metadata = parquet.metadata
    rows = metadata.num_rows
    if rows < STILL_TIME_ROWS:
        return
    field = parquet.schema_arrow.field(time_col)
    column = [metadata.schema.column(i).path for i in range(metadata.num_columns)].index(time_col)
    kept = [metadata.row_group(g).column(column).statistics for g in range(metadata.num_row_groups)]
    if all(statistics is not None and statistics.has_min_max for statistics in kept):
        _check_statistics(path, metadata, field, kept, time_col)
    _guard_time_column(path, parquet, time_col, groups)


def _check_statistics(
    path: str, metadata: pq.FileMetaData, field: pa.Field, kept: list[pq.Statistics], time_col: str
) -> None:
    rows = metadata.num_rows
    low = min(statistics.min for statistics in kept)
    high = max(statistics.max for statistics in kept)
    if low == high:  # whatever the type: one time
        check_rate(path, 0.0, rows, time_col)
    # Row groups of one time each, whatever the others hold (one stray row among 50 M of one
    # time took 6.7 GB to be refused, for another reason)
    still = [g for g, statistics in enumerate(kept) if statistics.min == statistics.max]
    check_still_rows(path, sum(metadata.row_group(g).num_rows for g in still), rows, time_col)
    if not (
        pa.types.is_timestamp(field.type)
        or (
            (pa.types.is_integer(field.type) or pa.types.is_floating(field.type))
            and low >= UNIX_LIKE
        )
        or (pa.types.is_string(field.type) and all(ISO_DATE.match(end) for end in (low, high)))
    ):
        return
    try:
        ends = pa.array([low, high], type=field.type)
        seconds, _ = time_column(path, pa.chunked_array([ends]), 0, name=time_col)
    except (InputError, pa.ArrowException):
        return
    if np.isfinite(seconds).all():
        check_rate(path, float(seconds[1] - seconds[0]), rows, time_col)


GUARD_WINDOW_ROWS = 2000  # the rows judged at each batch's end (GUARD_BATCH_ROWS a batch)


def _guard_time_column(
    path: str, parquet: pq.ParquetFile, time_col: str, groups: list[int] | None = None
) -> None:
    """Judge the time column (of row groups `groups`, else all) a batch at a time."""
    # Several nights are batch's to split, from the file read whole: not refused here.
    guard = TimeGuard(path, time_col, in_order=True, nights=False)
    metadata = parquet.metadata
    groups = list(range(metadata.num_row_groups)) if groups is None else groups
    rows_left = sum(metadata.row_group(g).num_rows for g in groups)
    batches = parquet.iter_batches(GUARD_BATCH_ROWS, row_groups=groups, columns=[time_col])
    for batch in batches:  # a loop over batches
        window = batch.column(0)[-(guard.window_rows or GUARD_WINDOW_ROWS) :]
        try:
            seconds, _ = seconds_of(path, time_values(pa.chunked_array([window])), time_col, None)
        except InputError:  # cells that are no times: the read says so
            seconds = None
        guard.judge(batch.num_rows, seconds)
        rows_left -= batch.num_rows
        if guard.settled(rows_left):  # a sound night, at its first batch: not read twice
            return


# Row groups this many and this small (a logger writing a group per packet) are read in
# batches: read whole, 58,800 groups of one row took pyarrow 12 s and 1.3 GB (batches: 2 s,
# 0.3 GB), and the table came in as many chunks.
MANY_ROW_GROUPS = 1000
SMALL_ROW_GROUP_ROWS = 1000


def _read_columns(parquet: Any, source: Any, columns: list[str]) -> pa.Table:
    import pyarrow.parquet as pq

    metadata = parquet.metadata
    groups = metadata.num_row_groups
    if groups <= MANY_ROW_GROUPS or metadata.num_rows >= SMALL_ROW_GROUP_ROWS * groups:
        # read_table, not the ParquetFile's own read: 20-25 MB less at the peak
        return pq.read_table(source, columns=columns)
    batches = list(parquet.iter_batches(batch_size=1 << 20, columns=columns))
    schema = pa.schema([parquet.schema_arrow.field(name) for name in columns])
    return pa.Table.from_batches(batches, schema=schema)


def read_parquet(path: str, units: str) -> tuple[Recording, float | None]:
    import pyarrow.parquet as pq

    warnings: list[str] = []
    try:
        # pyarrow takes only names it can encode as UTF-8: other names, opened here
        with contextlib.nullcontext(path) if arrow_can_open(path) else open(path, "rb") as source:
            parquet = pq.ParquetFile(source)
            time_col, axes = find_columns(path, parquet.schema_arrow.names)
            check_types(path, parquet.schema_arrow, time_col, axes)
            groups = list(range(parquet.metadata.num_row_groups))
            try:
                _check_rate(path, parquet, time_col)
                if not isinstance(source, str):
                    source.seek(0)
                table = _read_columns(parquet, source, [time_col, *axes])
            except (pa.ArrowInvalid, OSError) as error:
                if isinstance(error, PermissionError):
                    raise
                decoded = decodable_row_groups(path, parquet, time_col, axes, warnings)
                if decoded is None:  # each decodes: the damage is elsewhere
                    raise
                groups = decoded
                _check_rate(path, parquet, time_col, groups)
                table = parquet.read_row_groups(groups, columns=[time_col, *axes])
    except PermissionError as error:
        raise InputError(path, f"cannot be read ({error.strerror})") from None
    except (pa.ArrowInvalid, OSError) as error:
        raise InputError(
            path,
            f"unreadable Parquet file ({said(error)})",
            expected="a whole Parquet file (cut short or damaged? write or copy it again)",
        ) from None
    if table.num_rows == 0:
        raise InputError(path, "no data rows", expected="accelerometer samples")
    rows = RowGroups(path, parquet.metadata, groups, time_col)
    time = time_values(table.column(time_col))
    damaged = rows.outside_statistics(time, warnings)
    if len(damaged):  # read as missing times: their rows are dropped, counted here already
        mask = np.zeros(len(time), dtype=bool)
        mask[damaged] = True
        time = pc.if_else(pa.chunked_array([mask]), pa.scalar(None, time.type), time)
    xyz = axes_as_numbers(path, table, axes)
    time_s, clock = seconds_of(path, time, time_col, warnings)
    check_precision(path, time, time_s, time_col, clock)
    strays = rows.out_of_line(time_s, len(damaged) > 0 or time.null_count > 0, warnings)
    if len(strays):  # dropped with the damaged rows, counted once
        time_s[strays] = np.nan
    stated = getattr(time.type, "tz", None)
    if stated and not _known_zone(stated):  # its times are instants: only their display
        warnings.append(
            f"the time column's zone {stated[:40]!r} is no time zone: ignored (its times "
            "are instants, stored in UTC)"
        )
        stated = None
    recording = finish_recording(
        path, time_s, xyz, clock, units, None, warnings, counted=[damaged, strays]
    )
    if stated and stated.upper() not in ("UTC", "Z", "+00:00"):
        recording.timezone = stated  # shown in the zone the file names
    return recording, None


def _known_zone(name: str) -> bool:
    """Whether the reports can show clock times in `name` (an IANA name or an offset such as
    +05:30): one they cannot ('+99:99', 'Mars/Olympus') crashed after the whole analysis."""
    try:
        zone_info(name)
    except (ValueError, KeyError, OSError):
        return False
    return True
