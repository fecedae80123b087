"""The time column's parse: Unix times by their magnitude or the unit in the column's name,
time from the start in its unit, Excel's day numbers, ISO-8601 and clock times without a
date as seconds, cells that are no time dropped or refused; and the offset a CSV's clock
times state (`stated_zone`). Shared by the CSV and Parquet readers, the time guards and the
splitter."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable

import numpy as np
import pyarrow as pa

from sleepmove.base.clock import CLOCK_TIME_OF_DAY
from sleepmove.base.order_statistics import median, quantiles
from sleepmove.base.words import how_many
from sleepmove.sensor.numeric_columns import UnreadableRow, arrow_backed_empty, numeric_values
from sleepmove.sensor.recording import CLOCK_NAIVE, CLOCK_RELATIVE, CLOCK_UNIX
from sleepmove.sensor.zones import OFFSET_CHANGE_NOTE, offset_name


def time_column(
    path: str,
    column: pa.ChunkedArray,
    header_lines: int,
    warnings: list[str] | None = None,
    name: str = "",
    dropped: list[np.ndarray] | None = None,
) -> tuple[np.ndarray, str]:
    """Seconds (Unix, naive wall clock, or from the start) and the kind of clock.

    Numbers are read in the unit the column's name gives (`time_ms`): Unix time where that
    makes a date from 2000 on, else time from the start (a sensor's uptime). Without one,
    they are Unix seconds, milliseconds, microseconds or nanoseconds by their magnitude,
    Excel's day numbers (from 2000, in steps of a sensor's) as clock times without a
    zone, else time from the start in the unit in which the steps between rows look like a
    sensor's. Cells that are not times become NaN (the row is dropped and counted) with a
    warning naming the first, unless most are: then the file is refused, naming the first;
    their rows are added to `dropped`, if given, so that they are not counted again with
    other missing values.
    Clock times without a date are time from the start (the date is unknown).
    """
    kind = column.type
    if pa.types.is_timestamp(kind):
        # As int64 an empty cell is null, NaN here: its row is dropped. Through numpy's
        # datetime64 it was NaT, -9.2e9 s (the year 1677), and one empty time cell left a
        # 15-minute night with "0.0 minutes recorded". In the stamps' own unit: a cast to
        # nanoseconds refused a whole file for one stamp past 2262 (a glitched row, which
        # the grid drops as a stray row) with "would result in out of bounds timestamp".
        stamps = column.cast(pa.int64()).to_numpy()
        clock = CLOCK_UNIX if kind.tz else CLOCK_NAIVE
        return stamps / UNITS_PER_SECOND[kind.unit], clock
    if pa.types.is_floating(kind) or pa.types.is_integer(kind):
        return _numeric_time(column, name, warnings)
    if pa.types.is_null(kind):  # no cell holds anything
        _refuse_time(path, "", 0, header_lines)
    text = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if pa.types.is_binary(text.type) or pa.types.is_large_binary(text.type):
        text = _as_ascii(text)  # bytes that are not UTF-8 (a garbled cell)
    elif not pa.types.is_string(text.type):
        text = text.cast(pa.string())
    import pyarrow.compute as pc

    head = text.slice(0, 100).drop_null()
    if (pc.sum(pc.match_substring_regex(head, NUMBER_PATTERN)).as_py() or 0) > len(head) / 2:
        trimmed = pc.utf8_trim_whitespace(text)
        number = pc.match_substring_regex(trimmed, NUMBER_PATTERN)
        kept = pc.if_else(number, trimmed, pa.scalar(None, pa.string()))
        junk = np.flatnonzero(
            (~number.to_numpy(zero_copy_only=False)) & text.is_valid().to_numpy(False)
        )
        _check_junk(path, text, junk, header_lines, warnings, dropped)
        return _numeric_time(pa.chunked_array([kept.cast(pa.float64())]), name, warnings)
    import pandas as pd

    values = text.to_pandas()
    if (pc.sum(pc.match_substring_regex(head, TIME_OF_DAY_PATTERN)).as_py() or 0) > len(head) / 2:
        return _time_of_day(path, text, values, header_lines, warnings, dropped), CLOCK_TIME_OF_DAY
    parsed = pd.to_datetime(values, errors="coerce", utc=False, format="mixed")
    bad = np.flatnonzero(parsed.isna().to_numpy() & values.notna().to_numpy())
    _check_junk(path, text, bad, header_lines, warnings, dropped)
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
        clock = CLOCK_UNIX
    else:
        clock = CLOCK_NAIVE
    missing = parsed.isna().to_numpy()
    # In the unit pandas chose: a stamp past 2262 in nanoseconds wrapped round to 1915, and
    # was shown so in the warning that dropped it
    stamps = parsed.to_numpy()
    unit, count = np.datetime_data(stamps.dtype)
    seconds = stamps.astype("int64") / (UNITS_PER_SECOND[unit] / count)
    seconds[missing] = np.nan
    return seconds, clock


UNITS_PER_SECOND = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}


def _as_ascii(cells: pa.Array) -> pa.Array:
    """Binary cells as text, each byte outside ASCII replaced by '?' (one pass over the bytes;
    times are ASCII, and the cell is junk either way)."""
    validity, offsets, data = cells.buffers()
    raw = np.frombuffer(data, np.uint8).copy() if data is not None else np.zeros(0, np.uint8)
    raw[raw >= 0x80] = ord("?")
    kind = pa.LargeStringArray if pa.types.is_large_binary(cells.type) else pa.StringArray
    return kind.from_buffers(
        len(cells), offsets, pa.py_buffer(raw), validity, cells.null_count, cells.offset
    )


NUMBER_PATTERN = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"
TIME_OF_DAY_PATTERN = r"^\s*\d{1,2}:\d\d:\d\d(\.\d*)?\s*$"


def _time_of_day(
    path: str,
    text: pa.Array,
    values: object,
    header_lines: int,
    warnings: list[str] | None,
    dropped: list[np.ndarray] | None,
) -> np.ndarray:
    """Clock times without a date (`23:52:00.000`) as seconds from the midnight before the
    first: no date is invented, and past midnight the clock goes on (a step back of over
    12 h is the next day, not a clock reset)."""
    import pandas as pd

    parsed = pd.to_timedelta(values, errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy() & values.notna().to_numpy())
    _check_junk(path, text, bad, header_lines, warnings, dropped)
    seconds = np.array(parsed.dt.total_seconds(), dtype=np.float64)  # writable, NaT as NaN
    finite = np.flatnonzero(np.isfinite(seconds))
    if not len(finite):
        return seconds
    present = seconds[finite]
    days = np.cumsum(np.diff(present) < -43200.0)
    present[1:] += days * 86400.0
    seconds[finite] = present
    if warnings is not None:
        warnings.append(
            f"the time column holds clock times without a date (first "
            f"{text[int(finite[0])].as_py().strip()!r}): read as time from the start, "
            "a sleep window may be given in clock times"
        )
    return seconds


UNREADABLE_TIMES_SHARE = 0.1


def _check_junk(
    path: str,
    text: pa.Array,
    bad: np.ndarray,
    header_lines: int,
    warnings: list[str] | None,
    dropped: list[np.ndarray] | None = None,
) -> None:
    """Cells of the time column that are not times: refused if over UNREADABLE_TIMES_SHARE
    of them are, else counted. A column half ISO, half Unix seconds lost half its rows with a
    warning: a night that short of its samples is better refused, naming a cell."""
    if not len(bad):
        return
    if dropped is not None:
        dropped.append(bad)
    row = int(bad[0])
    value = text[row].as_py()
    if len(bad) > UNREADABLE_TIMES_SHARE * (len(text) - text.null_count) or warnings is None:
        # Name a cell that is no number either: in a column of numbers and junk, the numbers
        # are not the fault.
        import pyarrow.compute as pc

        number = pc.match_substring_regex(text.take(pa.array(bad)), NUMBER_PATTERN)
        other = np.flatnonzero(~number.to_numpy(zero_copy_only=False))
        if not len(other) and warnings is not None:  # read as dates, and the rest are numbers
            raise UnreadableRow(
                path,
                f"times in two forms, dates and plain numbers ({how_many(len(bad), 'number')}, "
                f"the first {str(value)[:40]!r})",
                where=f"line {header_lines + row + 1}",
                expected="one form of time throughout the column",
            )
        row = int(bad[other[0]]) if len(other) else row
        _refuse_time(path, text[row].as_py(), row, header_lines)
    warnings.append(
        f"{how_many(len(bad), 'row')} whose time is unreadable dropped (first at line "
        f"{header_lines + row + 1}: {str(value)[:40]!r})"
    )


def _refuse_time(path: str, value: object, row: int, header_lines: int) -> None:
    raise UnreadableRow(
        path,
        f"not a time: {str(value)[:40]!r}",
        where=f"line {header_lines + row + 1}",
        expected="Unix seconds, milliseconds, microseconds or nanoseconds, seconds or "
        "milliseconds from the start, or ISO-8601",
    )


# Unix times (1973 to 5138) in seconds, milliseconds, microseconds and nanoseconds: each in
# its own decades, so the magnitude tells the unit.
UNIX_SCALES = ((1e17, 1e-9), (1e14, 1e-6), (1e11, 1e-3), (1e8, 1.0))
TIME_UNITS = {
    "s": 1.0, "sec": 1.0, "secs": 1.0, "seconds": 1.0, "second": 1.0,
    "ms": 1e-3, "msec": 1e-3, "millis": 1e-3, "milliseconds": 1e-3, "millisecond": 1e-3,
    "us": 1e-6, "µs": 1e-6, "usec": 1e-6, "micros": 1e-6, "microseconds": 1e-6,
    "ns": 1e-9, "nsec": 1e-9, "nanos": 1e-9, "nanoseconds": 1e-9,
}  # fmt: skip
UNIT_NAMES = {1.0: "seconds", 1e-3: "milliseconds", 1e-6: "microseconds", 1e-9: "nanoseconds"}
# Steps between rows (in the file's unit) above which time from the start is taken to be
# in milliseconds, microseconds, nanoseconds: each bound halfway (in decades) between a
# sensor's steps in one unit (1 to 100 ms: 10 Hz to 1 kHz) and in the next.
RELATIVE_STEP_UNITS = ((3e5, 1e-9), (300.0, 1e-6), (0.3, 1e-3))


def _name_unit(name: str) -> float | None:
    """Seconds per unit named in a time column's name (`time_ms`, `Time (µs)`), if any."""
    words = re.findall(r"[a-zµ]+", name.lower())
    for word in words[1:]:
        if word in TIME_UNITS:
            return TIME_UNITS[word]
    if words:
        glued = re.fullmatch(r"(?:time|timestamp|t|epoch|unixtime|ts|clock)(ms|us|ns)", words[0])
        if glued:
            return TIME_UNITS[glued.group(1)]
    return None


def _numeric_time(
    column: pa.ChunkedArray, name: str, warnings: list[str] | None
) -> tuple[np.ndarray, str]:
    values = arrow_backed_empty(len(column), np.float64)
    start = 0
    for chunk in column.chunks:  # each chunk straight into place (see arrow_backed_empty)
        values[start : start + len(chunk)] = numeric_values(chunk)
        start += len(chunk)
    sample = values[:: max(1, len(values) // 100_000)]  # the scale, not every stamp
    finite = sample[np.isfinite(sample)]
    if not len(finite):
        return values, CLOCK_RELATIVE
    low, typical, high = (float(q) for q in quantiles(finite, (0.01, 0.5, 0.99)))
    # Unix times lie decades from zero; time from the start lies within its span of it
    # (microseconds from the start reach Unix seconds' magnitude after 100 s).
    far = typical > 2 * (high - low)
    scale = _name_unit(name)
    if scale is not None:
        # The name says the unit: a date only where that unit makes one (a sensor's uptime
        # in milliseconds, 5e8, is 5.8 days from its start, not 1985).
        if far and typical * scale >= PLAUSIBLE_UNIX_S[0]:
            if typical * scale < PLAUSIBLE_UNIX_S[1]:
                values *= scale
                return values, CLOCK_UNIX
            scale = None  # past 2100 in the named unit: the name is wrong, the size tells
        elif far and typical > UNIX_SCALES[-1][0] and _head_step(values) * scale < FASTEST_STEP_S:
            # Steps that would be a sensor past 10 kHz in the named unit: the name is wrong
            # (a time_ms column of Unix seconds, 0.02 "ms" apart), the size tells.
            scale = None
        elif far and typical > UNIX_SCALES[-1][0] and warnings is not None:
            warnings.append(
                f"the time column {name!r} counts {typical * scale / 86400:.1f} days in "
                f"{UNIT_NAMES[scale]}, no date (that would be before 2000): read as time from "
                "the start (a sensor's uptime)"
            )
    if scale is None and typical > UNIX_SCALES[-1][0] and far:
        scale = next(scale for floor, scale in UNIX_SCALES if typical > floor)
        if scale != 1.0:
            values *= scale
        return values, CLOCK_UNIX
    if scale is None:
        step = _head_step(values)
        if far and EXCEL_DAYS[0] <= typical < EXCEL_DAYS[1] and step < EXCEL_STEP_DAYS:
            return _excel_days(values, float(finite[0]), warnings)
        scale = next((scale for floor, scale in RELATIVE_STEP_UNITS if step > floor), 1.0)
        if scale != 1.0 and warnings is not None:
            warnings.append(
                f"the time column was read as {UNIT_NAMES[scale]} from the start (typical step "
                f"{step:.4g}); name the column time_s or time_ms to say which"
            )
    if scale != 1.0:
        values *= scale
    return values, CLOCK_RELATIVE


def _head_step(values: np.ndarray) -> float:
    """The typical step between the first 10,000 stamps (0 where fewer than 3 steps)."""
    head = values[:10_001]
    steps = np.diff(head[np.isfinite(head)])
    steps = steps[steps > 0]
    return median(steps) if len(steps) >= 3 else 0.0


FASTEST_STEP_S = 1e-4  # 10 kHz: no wearable samples faster


# Unix times from 2000 to 2100: raw accelerometer exports are younger than 2000, and time
# from the start would need 30 years of a sensor's uptime to reach it.
PLAUSIBLE_UNIX_S = (946_684_800.0, 4_102_444_800.0)
# Excel's serial dates (the 1900 date system: days since 1899-12-30, the day 25569 is
# 1970-01-01) in those years, and a step between rows below which a column of them is days:
# 8.6 s in days, while the same number of seconds would be a step of a 10 kHz sensor.
EXCEL_UNIX_DAY = 25569.0
EXCEL_DAYS = tuple(EXCEL_UNIX_DAY + seconds / 86400.0 for seconds in PLAUSIBLE_UNIX_S)
EXCEL_STEP_DAYS = 1e-4


def _excel_days(
    values: np.ndarray, first: float, warnings: list[str] | None
) -> tuple[np.ndarray, str]:
    """Excel's day numbers as seconds of their clock: they carry no zone (Excel keeps local
    clock times), so they are read as clock times without one."""
    if warnings is not None:
        clock = np.datetime64(round((first - EXCEL_UNIX_DAY) * 86400.0), "s")
        warnings.append(
            f"the time column holds Excel day numbers ({first:.6f} is {clock}): read as "
            "clock times without a zone (Excel's 1900 date system)"
        )
    values -= EXCEL_UNIX_DAY
    values *= 86400.0
    return values, CLOCK_NAIVE


# A clock time and the offset it states: `2025-04-26T01:50:00.040+02:00`, `... 01:50Z`.
STATED_OFFSET = re.compile(
    r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?\s*(Z|[+-]\d\d(?::?\d\d)?)?$"
)
STATED_ROWS_READ = 50  # rows whose time cell is empty or junk (dropped later) passed over


def stated_zone(head: bytes, has_header: bool, time_col: str, delimiter: str = ",") -> str | None:
    """The offset (+HH:MM) the first clock time of the time column states: the times are
    instants already, and are shown in the local time the file wrote (as a device file's
    stated offset is), not in the computer's zone. None where it states none, or UTC (`Z`,
    `+00:00`: an export's convention, seldom the sleeper's clock; the computer's zone, or
    --timezone's, shows them). A later change (daylight saving) keeps the first offset
    (`offset_change_note` says so)."""
    lines = _lines(head)
    index = _time_index(lines, has_header, time_col, delimiter)
    if index is None:
        return None
    rows = (_cells([line], delimiter) for line in lines[int(has_header) :][:STATED_ROWS_READ])
    stated = _first_offset(rows, index)
    return None if stated == "+00:00" else stated


def _lines(text: bytes) -> list[str]:
    """Lines ending at CR, LF or CRLF, as Arrow's parse ends them: a stray CR (a row ending
    in CR among rows ending in LF) made the csv module raise "new-line character seen"."""
    return text.decode("utf-8", "replace").lstrip("\ufeff").splitlines()


def _time_index(lines: list[str], has_header: bool, time_col: str, delimiter: str) -> int | None:
    """The time column's place in a row (from the header's names); None where the header
    does not name it."""
    if not has_header:
        return 0
    names = [name.strip().strip('"') for name in _cells(lines[:1], delimiter)]
    return names.index(time_col) if time_col in names else None


def _cells(lines: list[str], delimiter: str) -> list[str]:
    """The cells of the first of `lines` (none where there is none, or the csv module cannot
    read it: a NUL byte on Python 3.10, a field past its size limit); the offsets are
    sniffed, never refused, and the reader judges such a row."""
    try:
        return next(csv.reader(lines, delimiter=delimiter), [])
    except csv.Error:
        return []


def _first_offset(rows: Iterable[list[str]], index: int) -> str | None:
    """The offset the first clock time among `rows` states (UTC as +00:00); None where it
    states none."""
    for row in rows:  # a loop over a few rows
        match = STATED_OFFSET.match(row[index].strip()) if len(row) > index else None
        if match is None:
            continue  # an empty or unreadable time: that row is dropped, and counted
        stated = match.group(1)
        if stated is None:
            return None
        if stated == "Z":
            return "+00:00"
        digits = stated[1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) >= 4 else 0)
        return offset_name((-60 if stated[0] == "-" else 60) * minutes)
    return None


TAIL_BYTES = 4096


def offset_change_note(
    path: str,
    head: bytes,
    first: str,
    has_header: bool,
    time_col: str,
    delimiter: str = ",",
    end: int | None = None,
) -> str | None:
    """A warning where the last clock time of a plain CSV (`head`: its first bytes, read
    already) states another offset than the first (`first`, from stated_zone): a night
    across a daylight-saving change. Every time is an instant and read right; only the clock
    times shown keep the first offset, which --timezone mends. Reads the text's last 4 KiB."""
    index = _time_index(_lines(head), has_header, time_col, delimiter)
    if index is None:
        return None
    try:
        with open(path, "rb") as handle:
            end = handle.seek(0, 2) if end is None else end  # `end`: the text's (zeros after)
            handle.seek(max(end - TAIL_BYTES, 0))
            tail = handle.read(min(TAIL_BYTES, end))
    except OSError:
        return None
    lines = _lines(tail)[1:]  # the first may be cut
    last = _first_offset((_cells([line], delimiter) for line in reversed(lines)), index)
    if last is None or last == first:
        return None
    return (
        f"{OFFSET_CHANGE_NOTE} {first} at the start and {last} at the end (a daylight-saving "
        f"change): every time is read right, but clock times are shown at {first}; give "
        "--timezone ZONE (e.g. Europe/Berlin) to show each at its own"
    )
