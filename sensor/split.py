"""Split multi-day recordings into nights (noon to noon) without loading the file at once."""

from __future__ import annotations

import gzip
import os
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from sleepmove.base.clock import CLOCK_RELATIVE, CLOCK_TIME_OF_DAY, CLOCK_UNIX
from sleepmove.base.errors import InputError
from sleepmove.base.order_statistics import median
from sleepmove.sensor.table_layout import dialect, table_layout
from sleepmove.sensor.text_source import FileStart, text_end
from sleepmove.sensor.time_column import stated_zone, time_column
from sleepmove.sensor.time_guards import complete_lines, times_of_rows
from sleepmove.sensor.zones import zone_info

# Module-level: functions here take a `timezone` argument, which shadows the module's name.
UTC = timezone.utc

BLOCK_BYTES = 1 << 24  # pyarrow parses 16 MB at a time: memory stays bounded
END_ROWS = 51  # the rows whose median time stands for each end of a plain file


def _open(path: str):
    if path.endswith(".gz"):
        return pa.input_stream(path, compression="gzip")
    end = text_end(path)  # a logger's reserved file: its text ends before its zeros
    if end < os.path.getsize(path):
        return pa.PythonFile(FileStart(path, end), mode="r")
    return pa.input_stream(path)


FIRST_LINE_BYTES = 1 << 16  # as the reader's sniff: a longer first line is refused there


def _head_lines(path: str, count: int = 6) -> list[str]:
    # Bounded: readline() on a .gz of one endless line held it all (4 GB for a 2 MB file).
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", errors="replace") as handle:
        lines = [handle.readline(FIRST_LINE_BYTES) for _ in range(count)]
    return [line for line in lines if line]


def _reader(path: str, columns: list[str], has_header: bool, dialect: tuple[str, str]):
    parse, convert = pacsv.ParseOptions(), pacsv.ConvertOptions(include_columns=columns)
    if dialect != (",", "."):  # a European spreadsheet's `;` and decimal commas
        parse.delimiter, convert.decimal_point = dialect
    return pacsv.open_csv(
        _open(path),
        read_options=pacsv.ReadOptions(
            autogenerate_column_names=not has_header, block_size=BLOCK_BYTES
        ),
        parse_options=parse,
        convert_options=convert,
    )


def layout(path: str) -> tuple[bool, str, list[str], tuple[str, str]] | None:
    """The table layout and its dialect (delimiter, decimal point), as the reader takes
    them, or None for files without a time column (ActiLife exports)."""
    head = _head_lines(path)
    first = head[0] if head else ""
    if first.startswith("---"):
        return None
    found_dialect = dialect([line.rstrip("\r\n") for line in head])
    return (*table_layout(path, first, *found_dialect), found_dialect)


def _device_format(path: str) -> bool:
    """Whether the file is in a format other than CSV (found by content, see sensor.formats)."""
    from sleepmove.sensor.formats import csv_text, identify_quietly

    fmt = identify_quietly(path)
    return fmt is not None and fmt is not csv_text


def recording_span_h(path: str, timezone: str | None = None) -> float:
    """Hours from the first to the last sample, streaming only a CSV's time column (other
    formats are decoded whole: their files are compact, and their decoders fast).

    0 when this quick look cannot read the file (damaged, not text, a pipe): the full reader
    then says what is wrong in the words `analyze` uses, not this look's raw exception."""
    from sleepmove.sensor.formats import check_plain_file

    check_plain_file(path)  # a FIFO would block the look (InputError: the reader says it)
    try:
        return _span_h(path, timezone)
    except (pa.ArrowException, OSError, EOFError, zlib.error, UnicodeError):
        return 0.0


def _span_h(path: str, timezone: str | None) -> float:
    if _device_format(path):
        from sleepmove.sensor.formats import read_recording

        try:
            return read_recording(path, "auto", timezone).duration_s / 3600
        except InputError:
            return 0.0  # the analysis will say what is wrong with the file
    found = layout(path)
    if found is None:
        return 0.0
    has_header, time_col, _, found_dialect = found
    if not path.endswith(".gz"):
        quick = _span_from_ends(path, has_header, time_col, found_dialect)
        if quick is not None:
            return quick
    first = last = None
    try:
        for batch in _reader(path, [time_col], has_header, found_dialect):
            seconds, _ = time_column(path, pa.chunked_array([batch.column(0)]), 0, name=time_col)
            if len(seconds):
                first = seconds[0] if first is None else first
                last = seconds[-1]
    except (pa.ArrowInvalid, OSError, EOFError):
        return 0.0  # the full reader will say what is wrong with the file
    return 0.0 if first is None else float(last - first) / 3600


def _span_from_ends(
    path: str, has_header: bool, time_col: str, dialect: tuple[str, str] = (",", ".")
) -> float | None:
    """Plain files: parse only the first and the last complete lines."""
    end = text_end(path)
    with open(path, "rb") as handle:
        head = handle.read(min(65536, end)).splitlines()
        handle.seek(max(end - 65536, 0))
        last_rows = complete_lines(handle.read(min(65536, end)), END_ROWS)
    skip = 1 if has_header else 0
    if len(head) <= skip or not last_rows:
        return None
    # The first rows, not only the first: time from the start without a unit in its name
    # takes the unit from the steps between rows (two rows read 0..720000 ms as 200 h).
    first_rows = head[skip:-1][:END_ROWS] or head[skip : skip + 1]  # the last may be cut
    span = span_of_rows(path, head[:skip], first_rows, last_rows, time_col, dialect)
    return None if span is None else span / 3600


def span_of_rows(
    path: str,
    header: list[bytes],
    first_rows: list[bytes],
    last_rows: list[bytes],
    time_col: str,
    dialect: tuple[str, str] = (",", "."),
) -> float | None:
    """Seconds from the median time of `first_rows` to that of `last_rows` (a corrupted
    stamp at either end moves it not); None where they do not parse."""
    seconds = times_of_rows(path, header, [*first_rows, *last_rows], time_col, dialect=dialect)
    if seconds is None:
        return None
    first, last = seconds[: len(first_rows)], seconds[len(first_rows) :]
    first, last = first[np.isfinite(first)], last[np.isfinite(last)]
    # (The order-statistics median: numpy's imports numpy.ma on first use, 15 ms.)
    return abs(median(last) - median(first)) if len(first) and len(last) else None


def night_of(
    seconds: np.ndarray, clock: str, noon_hour: int, zone: str | None = None
) -> np.ndarray:
    """Night index: days since 1970 of the noon that opens each sample's night (local time:
    the recording's zone if known, else the computer's)."""
    if clock == CLOCK_UNIX and len(seconds):
        seconds = seconds + _offsets_at(seconds, zone_info(zone) if zone else None)
    return np.floor((seconds - noon_hour * 3600) / 86400).astype(np.int64)


def night_name(night: int) -> str:
    """A night index (`night_of`) as its name: the date of the noon that opens it."""
    return f"{datetime.fromtimestamp(int(night) * 86400, tz=UTC):%Y-%m-%d}"


OFFSET_STEP_S = 900.0  # zones change their offset on the quarter hour (UTC)


def _offsets_at(seconds: np.ndarray, where: tzinfo | None) -> np.ndarray:
    """Each instant's UTC offset in `where` (None: the computer's zone), seconds: read on a
    quarter-hour grid over the recording, where zones change theirs. One offset for all, from
    the first sample, cut the night after a daylight-saving change at 13:00 (or 11:00)."""
    finite = seconds[np.isfinite(seconds)]
    if not len(finite):
        return np.zeros(len(seconds))
    first = np.floor(finite.min() / OFFSET_STEP_S) * OFFSET_STEP_S
    grid = np.arange(first, finite.max() + OFFSET_STEP_S, OFFSET_STEP_S)
    offsets = np.array(
        [  # a loop over quarter hours (under 3,000 a month), not samples
            datetime.fromtimestamp(float(t), tz=UTC).astimezone(where).utcoffset().total_seconds()
            for t in grid
        ]
    )
    at = np.clip(np.searchsorted(grid, seconds, side="right") - 1, 0, len(grid) - 1)
    return offsets[at]


@dataclass
class NightSlice:
    """One noon-to-noon slice of a multi-day file, as written by `split_nights`."""

    night: str  # the date of the noon that opens it
    path: str
    samples: int
    first_s: float
    last_s: float
    clock: str = CLOCK_UNIX  # its times' clock, and the zone its noon is local to (None:
    zone: str | None = None  # the computer's), as `night_of` took them
    # What reading the whole file said (a device file's damaged blocks, its clock): the
    # slice, read again, cannot say it
    warnings: tuple[str, ...] = ()

    @property
    def span_s(self) -> float:
        return self.last_s - self.first_s


def split_into_nights(path: str, folder: str, noon_hour: int = 12) -> list[tuple[str, str]]:
    """Write one CSV per night into `folder`; returns [(night date, file)] in order."""
    return [(part.night, part.path) for part in split_nights(path, folder, noon_hour)]


def split_nights(
    path: str, folder: str, noon_hour: int = 12, timezone: str | None = None
) -> list[NightSlice]:
    """Write one CSV per night into `folder` (Parquet for other formats); returns each
    slice, with its samples and span (so that a stub slice can be told apart without
    reading it again), in order."""
    if _device_format(path):
        return _split_device_file(path, folder, noon_hour, timezone)
    found = layout(path)
    if found is None:
        raise InputError(path, "cannot split a file without a time column into nights")
    has_header, time_col, axes, found_dialect = found
    with _open(path) as stream:
        head = stream.read(FIRST_LINE_BYTES)
    # Times that state an offset keep it (each night's file is written in it, as local time
    # with the offset), and their nights are cut at its noon, not the computer's.
    zone = timezone or stated_zone(head, has_header, time_col)
    os.makedirs(folder, exist_ok=True)
    writers: dict[int, pacsv.CSVWriter] = {}
    files: dict[int, str] = {}
    counts: dict[int, int] = {}
    firsts: dict[int, float] = {}
    lasts: dict[int, float] = {}
    try:
        for batch in _reader(path, [time_col, *axes], has_header, found_dialect):
            column = pa.chunked_array([batch.column(time_col)])
            seconds, clock = time_column(path, column, 0, name=time_col)
            if clock in (CLOCK_RELATIVE, CLOCK_TIME_OF_DAY):
                raise InputError(
                    path,
                    "a multi-day recording without clock times",
                    expected="Unix or ISO times to find the nights",
                )
            nights = night_of(seconds, clock, noon_hour, zone)
            stamps = pa.array(
                (seconds * 1e9).astype("int64"),
                pa.timestamp("ns", tz=(zone or "UTC") if clock == CLOCK_UNIX else None),
            )
            table = pa.table(
                {
                    "time": stamps,
                    "x": batch.column(axes[0]),
                    "y": batch.column(axes[1]),
                    "z": batch.column(axes[2]),
                }
            )
            for night in np.unique(nights):  # a loop over nights
                chosen = nights == night
                rows = table.filter(pa.array(chosen))
                times = seconds[chosen]
                counts[night] = counts.get(night, 0) + len(times)
                firsts[night] = min(firsts.get(night, np.inf), float(times.min()))
                lasts[night] = max(lasts.get(night, -np.inf), float(times.max()))
                if night not in writers:
                    files[night] = os.path.join(folder, f"{night_name(night)}.csv")
                    writers[night] = pacsv.CSVWriter(files[night], rows.schema)
                writers[night].write_table(rows)
    finally:
        for writer in writers.values():
            writer.close()
    return [
        NightSlice(
            os.path.basename(files[n])[:-4], files[n], counts[n], firsts[n], lasts[n], clock, zone
        )
        for n in sorted(files)
    ]


def _split_device_file(
    path: str, folder: str, noon_hour: int, zone: str | None
) -> list[NightSlice]:
    """A device file's nights as Parquet slices: decoded whole (a week of .cwa at 100 Hz is
    about 0.7 GB of float32 samples), cut at noon, each with its clock and zone."""
    import pyarrow.parquet as pq

    from sleepmove.sensor.formats import read_recording

    recording = read_recording(path, "auto", zone)
    if recording.clock == CLOCK_RELATIVE:
        raise InputError(path, "a multi-day recording without clock times")
    seconds = recording.time_s
    nights = night_of(seconds, recording.clock, noon_hour, recording.timezone)
    # Instants are kept in UTC and named with their zone; local clocks stay zone-less.
    tz = (recording.timezone or "UTC") if recording.clock == CLOCK_UNIX else None
    os.makedirs(folder, exist_ok=True)
    slices = []
    # Every sample of a night, wherever it lies: blocks out of order around noon made one
    # night two runs, and the second run's file replaced the first's (16 h lost).
    for night in np.unique(nights):  # a loop over nights
        rows = np.flatnonzero(nights == night)
        name = night_name(night)
        target = os.path.join(folder, f"{name}.parquet")
        times = seconds[rows]
        table = pa.table(
            {
                "time": pa.array(np.round(times * 1e9).astype("int64"), pa.timestamp("ns", tz=tz)),
                "x": recording.xyz_g[rows, 0],
                "y": recording.xyz_g[rows, 1],
                "z": recording.xyz_g[rows, 2],
            }
        )
        pq.write_table(table, target)
        slices.append(
            NightSlice(
                name,
                target,
                len(rows),
                float(times.min()),
                float(times.max()),
                recording.clock,
                recording.timezone,
                tuple(recording.warnings),
            )
        )
    return slices
