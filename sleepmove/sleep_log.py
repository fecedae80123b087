"""`batch --sleep-log FILE`: lights out and lights on per night, as `--sleep-window` is for one.

The log is a CSV with a header: a column naming the night (`night`, `id` or `file`) and the
columns `lights_out` and `lights_on` (clock times HH:MM, ISO datetimes, or seconds from the
start: what --sleep-window takes). A night is named by its id in nights.csv, by a
recording's file name (with or without its folders or extension), or, for a night of a
multi-day file, by its id `<file id>/<date>`. Every entry is checked before any night runs.

A night's window becomes its `sleep_window` option, so the night's key (sleepmove.batch)
changes with its window, and a rerun redoes exactly the nights whose window changed.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass, replace
from datetime import datetime

from sleepmove.base.errors import InputError
from sleepmove.base.limits import TEXT_FILE_BYTES, read_limited
from sleepmove.batch import NightTask

WHERE = "--sleep-log"
NIGHT_NAMES = ("night", "id", "file")
EXPECTED_HEADER = "a header with night (or id, or file), lights_out, lights_on"
EXPECTED_TIME = "HH:MM, an ISO datetime or seconds from the start"
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class LogEntry:
    night: str  # as written: a night id, a file name or path, or `<file id>/<date>`
    window: str  # "LIGHTS_OUT,LIGHTS_ON", as --sleep-window takes it
    line: int


def read_sleep_log(path: str) -> list[LogEntry]:
    """The log's entries, each time checked; InputError (one line) for anything unreadable."""
    try:
        # Read once, capped: /dev/zero was read whole (GBs), and a pipe cannot seek back.
        text = read_limited(path, TEXT_FILE_BYTES, "a sleep log", "a CSV").decode("utf-8-sig")
        first = text.partition("\n")[0]
        # a spreadsheet set to a European locale writes ";"
        delimiter = ";" if ";" in first and "," not in first else ","
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except OSError as error:
        reason = error.strerror or str(error)
        raise InputError(path, f"cannot read the sleep log ({reason})", expected="a CSV") from None
    except UnicodeDecodeError:
        raise InputError(path, "the sleep log is not text", expected="a UTF-8 CSV") from None
    except csv.Error as error:  # a cell of over 128 KB: was a traceback
        raise InputError(path, f"the sleep log is not a CSV ({error})", expected="a CSV") from None
    # Numbered before blank lines are left out: a line's number is the file's
    numbered = [(n, row) for n, row in enumerate(rows, start=1) if any(c.strip() for c in row)]
    rows = [row for _, row in numbered]
    if not rows:
        raise InputError(path, "the sleep log is empty", expected=EXPECTED_HEADER)
    header = [re.sub(r"[\s-]+", "_", cell.strip().lower()) for cell in rows[0]]
    named = [name for name in NIGHT_NAMES if name in header]
    missing = [name for name in ("lights_out", "lights_on") if name not in header]
    if not named or missing:
        lacks = ", ".join((["night"] if not named else []) + missing)
        raise InputError(path, f"the sleep log has no column {lacks}", "line 1", EXPECTED_HEADER)
    columns = [header.index(name) for name in (named[0], "lights_out", "lights_on")]
    entries, seen = [], {}
    for number, row in numbered[1:]:  # a loop over nights
        where = f"line {number}"
        cells = [row[index].strip() if index < len(row) else "" for index in columns]
        night, lights_out, lights_on = cells
        if not all(cells):
            lacks = [
                name for name, cell in zip(("night", "lights out", "lights on"), cells) if not cell
            ]
            raise InputError(
                path,
                f"no {' or '.join(lacks)}",
                where,
                "each line's night, lights out and lights on (a quote left open joins the "
                "lines after it into one cell)",
            )
        if night in seen:
            raise InputError(
                path,
                f"{night!r} again (first on line {seen[night]})",
                where,
                "each night once (a night's window on one line)",
            )
        seen[night] = number
        _check_times(path, where, lights_out, lights_on)
        entries.append(LogEntry(night, f"{lights_out},{lights_on}", number))
    return entries


def check_sleep_window(text: str) -> None:
    """--sleep-window, checked as far as it can be without a recording, in the words of
    sleepmove.window: before a batch starts, so that a bad window stops it as it stops
    analyze, and not every night in turn."""
    from sleepmove.window import EXPECTED, WHERE, check_clock_span, refuse_seconds_before_start

    parts = [part.strip() for part in text.split(",")]
    if len(parts) != 2 or not all(parts):
        raise InputError(WHERE, f"cannot read {text!r}", expected=EXPECTED)
    for part in parts:
        refuse_seconds_before_start(part)
    start, end = (_time(WHERE, None, part) for part in parts)
    # Only what analyze would refuse for every recording: two numbers, two datetimes alike
    # in having a zone (analyze reads a zone-less one in the night's), or two clock times,
    # out of order or equal.
    alike = type(start) is type(end)
    if isinstance(start, str) and alike:  # clock times: the end is the first after the start
        start, end = _of_day(start), _of_day(end)
        end += 86400.0 if end < start else 0.0
        check_clock_span(end - start, parts[0], parts[1], WHERE)
    if isinstance(start, datetime) and alike:
        alike = (start.tzinfo is None) == (end.tzinfo is None)
    if alike and end <= start:
        raise InputError(
            WHERE, f"the end {parts[1]!r} is not after the start {parts[0]!r}", expected=EXPECTED
        )


def _check_times(path: str, where: str, lights_out: str, lights_on: str) -> None:
    """What can be checked without the recording: each time's form, seconds not below 0,
    and the order of two datetimes (clock times are the first such time after lights out)."""
    moments = [_time(path, where, text) for text in (lights_out, lights_on)]
    for column, text, moment in zip(("lights_out", "lights_on"), (lights_out, lights_on), moments):
        if isinstance(moment, float) and moment < 0:  # the night would start before its data
            raise InputError(
                path,
                f"{column} {text!r} is seconds before the recording starts",
                where,
                "seconds from the start, 0 or more (or HH:MM, an ISO datetime)",
            )
    if all(isinstance(moment, datetime) for moment in moments):
        first, last = moments
        if (first.tzinfo is None) != (last.tzinfo is None):
            raise InputError(path, "one time has a zone and the other has none", where)
        if last <= first:
            raise InputError(path, f"lights on {lights_on!r} is not after {lights_out!r}", where)
    elif all(isinstance(moment, float) for moment in moments) and moments[1] <= moments[0]:
        raise InputError(path, f"lights on {lights_on!r} is not after {lights_out!r}", where)
    elif all(isinstance(moment, str) for moment in moments):
        from sleepmove.window import check_clock_span

        span = (_of_day(lights_on) - _of_day(lights_out)) % 86400.0
        if span == 0:  # an empty window, as --sleep-window refuses before the batch
            raise InputError(path, f"lights on {lights_on!r} is lights out {lights_out!r}", where)
        check_clock_span(span, lights_out, lights_on, path, where)


def _of_day(clock_time: str) -> float:
    """Seconds after midnight of an HH:MM[:SS] clock time (checked by `_time`)."""
    hour, minute, *second = (int(part) for part in clock_time.split(":"))
    return hour * 3600.0 + minute * 60.0 + (second[0] if second else 0)


def _time(path: str, where: str | None, text: str) -> float | datetime | str:
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return float(text)
    match = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", text)
    if match:
        if int(match[1]) > 23 or int(match[2]) > 59 or int(match[3] or 0) > 59:
            raise InputError(path, f"not a clock time: {text!r}", where, EXPECTED_TIME)
        return text
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(path, f"not a time: {text!r}", where, EXPECTED_TIME) from None


def apply_sleep_log(
    tasks: list[NightTask], entries: list[LogEntry], path: str
) -> tuple[list[NightTask], list[LogEntry]]:
    """Each task with its logged window as its `sleep_window` option (nights of a multi-day
    file: `sleep_windows` by date); the entries that name no night. A name that fits two
    nights is refused."""
    by_name: dict[str, set[int]] = {}
    for index, task in enumerate(tasks):  # a loop over nights
        for name in _names(task):
            by_name.setdefault(name, set()).add(index)
    ids = {task.night_id: index for index, task in enumerate(tasks)}
    windows: dict[int, str] = {}
    parts: dict[int, dict[str, str]] = {}
    unmatched = []
    for entry in entries:  # a loop over nights
        where = f"line {entry.line}"
        head, _, tail = entry.night.rpartition("/")
        if entry.night in ids:
            found = {ids[entry.night]}
        elif head in ids and DATE.fullmatch(tail):  # one night of a multi-day file
            parts.setdefault(ids[head], {})[tail] = entry.window
            continue
        else:
            found = by_name.get(_normal(entry.night), set())
        if len(found) > 1:
            names = ", ".join(sorted(tasks[index].night_id for index in found))
            raise InputError(
                path,
                f"{entry.night!r} fits several nights ({names})",
                where,
                "a night id from nights.csv",
            )
        if not found:
            unmatched.append(entry)
            continue
        (index,) = found
        if index in windows:
            raise InputError(path, f"{entry.night!r} names a night given before", where)
        windows[index] = entry.window
    result = []
    for index, task in enumerate(tasks):  # a loop over nights
        options = dict(task.options)
        if index in windows:
            options["sleep_window"] = windows[index]
        if index in parts:
            options["sleep_windows"] = dict(sorted(parts[index].items()))
        result.append(replace(task, options=options) if options != task.options else task)
    return result, unmatched


def _names(task: NightTask) -> set[str]:
    """What a log may call a night by besides its id: each input's path as found, its
    absolute path, its file name, and each of these without the extension."""
    names = set()
    for path in task.inputs.values():
        for name in (path, os.path.abspath(path), os.path.basename(path)):
            name = _normal(name)
            names |= {name, re.sub(r"(\.csv\.gz|\.[A-Za-z0-9]+)$", "", name, flags=re.IGNORECASE)}
    return names


def _normal(name: str) -> str:
    return os.path.normpath(name.strip())
