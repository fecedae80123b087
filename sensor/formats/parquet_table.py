"""Parquet's reading (sensor.formats.parquet): the same column rules as CSV (a time column
and x, y, z acceleration columns). Imported only to read a Parquet file: pyarrow with it.

A row group that cannot be decoded (damaged bytes, a page that fails to inflate) is left out
with a warning naming it and its rows, and the others read: each is read on its own only
then, a batch at a time. A file none of whose row groups decode is refused naming the first."""

from __future__ import annotations

import contextlib
import re
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from sleepmove.base.errors import InputError
from sleepmove.sensor.finish import finish_recording
from sleepmove.sensor.numeric_columns import numeric_axes
from sleepmove.sensor.recording import Recording
from sleepmove.sensor.table_layout import find_columns
from sleepmove.sensor.text_source import arrow_can_open
from sleepmove.sensor.time_column import time_column
from sleepmove.sensor.time_guards import STILL_TIME_ROWS, TimeGuard, check_rate, check_still_rows
from sleepmove.sensor.zones import zone_info

if TYPE_CHECKING:  # imported when a Parquet file is read: pyarrow.parquet costs 20-40 ms
    import pyarrow.parquet as pq

NAME = "a Parquet file"
UNIX_LIKE = 1e8  # a number of at least this is Unix time (seconds or finer): it orders as time
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
    ends = pa.array([low, high], type=field.type)
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
        seconds, _ = time_column(path, pa.chunked_array([ends]), 0, name=time_col)
    except InputError:
        return
    if np.isfinite(seconds).all():
        check_rate(path, float(seconds[1] - seconds[0]), rows, time_col)


# The time column is judged this many rows at a time (1 MB of numbers): memory stays that
# of a batch, whatever the file's row groups hold; each batch's last rows are judged.
GUARD_BATCH_ROWS = 1 << 17
GUARD_WINDOW_ROWS = 2000


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
            seconds, _ = time_column(path, pa.chunked_array([window]), 0, name=time_col)
        except InputError:  # cells that are no times: the read says so
            seconds = None
        guard.judge(batch.num_rows, seconds)
        rows_left -= batch.num_rows
        if guard.settled(rows_left):  # a sound night, at its first batch: not read twice
            return


def read_parquet(path: str, units: str) -> tuple[Recording, float | None]:
    import pyarrow.parquet as pq

    warnings: list[str] = []
    try:
        # pyarrow takes only names it can encode as UTF-8: other names, opened here
        with contextlib.nullcontext(path) if arrow_can_open(path) else open(path, "rb") as source:
            parquet = pq.ParquetFile(source)
            time_col, axes = find_columns(path, parquet.schema_arrow.names)
            try:
                _check_rate(path, parquet, time_col)
                if not isinstance(source, str):
                    source.seek(0)
                # read_table, not the ParquetFile's own read: 20-25 MB less at the peak
                table = pq.read_table(source, columns=[time_col, *axes])
            except (pa.ArrowInvalid, OSError) as error:
                if isinstance(error, PermissionError):
                    raise
                groups = _decodable_row_groups(path, parquet, [time_col, *axes], warnings)
                if groups is None:  # each decodes: the damage is elsewhere
                    raise
                _check_rate(path, parquet, time_col, groups)
                table = parquet.read_row_groups(groups, columns=[time_col, *axes])
    except PermissionError as error:
        raise InputError(path, f"cannot be read ({error.strerror})") from None
    except (pa.ArrowInvalid, OSError) as error:
        raise InputError(
            path,
            f"unreadable Parquet file ({_said(error)})",
            expected="a whole Parquet file (cut short or damaged? write or copy it again)",
        ) from None
    if table.num_rows == 0:
        raise InputError(path, "no data rows", expected="accelerometer samples")
    xyz = numeric_axes(path, table, axes, 0)
    time_s, clock = time_column(path, table.column(time_col), 0, warnings, time_col)
    zone = table.schema.field(time_col).type
    stated = getattr(zone, "tz", None)
    if stated and not _known_zone(stated):  # its times are instants: only their display
        warnings.append(
            f"the time column's zone {stated[:40]!r} is no time zone: ignored (its times "
            "are instants, stored in UTC)"
        )
        stated = None
    recording = finish_recording(path, time_s, xyz, clock, units, None, warnings)
    if stated and stated.upper() not in ("UTC", "Z", "+00:00"):
        recording.timezone = stated  # shown in the zone the file names
    return recording, None


def _decodable_row_groups(
    path: str, parquet: pq.ParquetFile, columns: list[str], warnings: list[str]
) -> list[int] | None:
    """The row groups whose `columns` decode, each read on its own a batch at a time (memory
    of a batch), the others named in a warning; None if every one decodes. A file none of
    whose row groups decode is refused naming the first: "unreadable Parquet file (Corrupt
    snappy compressed data.)" said neither where nor how much of the file."""
    metadata = parquet.metadata
    count = metadata.num_row_groups
    failed: dict[int, str] = {}
    for group in range(count):  # a loop over row groups
        try:
            for _ in parquet.iter_batches(GUARD_BATCH_ROWS, row_groups=[group], columns=columns):
                pass
        except (pa.ArrowInvalid, OSError) as error:
            if isinstance(error, PermissionError):
                raise
            failed[group] = _said(error)
    if not failed:
        return None
    starts = np.cumsum([0] + [metadata.row_group(g).num_rows for g in range(count)])
    first = min(failed)
    where = (
        f"row group {first} of {count}, counting from 0, rows {starts[first]:,} to "
        f"{starts[first + 1] - 1:,}: {failed[first]}"
    )
    if len(failed) == count:
        raise InputError(
            path,
            f"unreadable Parquet file: none of its {count} row groups decode",
            where=f"first {where}",
            expected="a Parquet file whose row groups decode (the file is damaged)",
        )
    kept = [g for g in range(count) if g not in failed]
    lost = sum(int(starts[g + 1] - starts[g]) for g in failed)  # a loop over failed groups
    warnings.append(
        f"{len(failed)} row groups that cannot be decoded ({lost:,} rows) left out (the "
        f"first is {where}); the other {len(kept)} read"
    )
    return kept


def _said(error: Exception) -> str:
    """pyarrow's message in one line of printable text: it may end in a second line
    ("Deserializing page header failed.") and hold the control byte it choked on."""
    lines = str(error).strip().splitlines() or [type(error).__name__]
    return "".join(c if c.isprintable() else "?" for c in lines[0][:200])


def _known_zone(name: str) -> bool:
    """Whether the reports can show clock times in `name` (an IANA name or an offset such as
    +05:30): one they cannot ('+99:99', 'Mars/Olympus') crashed after the whole analysis."""
    try:
        zone_info(name)
    except (ValueError, KeyError, OSError):
        return False
    return True
