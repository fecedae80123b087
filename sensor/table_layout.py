"""A table's layout, from its first lines: the dialect (`,` or `;` with decimal commas),
whether a header names the columns, and which are the time and x, y, z acceleration
(the names a header may give them). Shared by the CSV reader (sensor.readers), the Parquet
reader and the splitter."""

from __future__ import annotations

import re

from sleepmove.base.errors import InputError

TIME_NAMES = {"time", "timestamp", "t", "epoch", "datetime", "date", "unixtime", "ts", "clock"}
AXIS_PREFIXES = {"", "a", "acc", "accel", "accelerometer", "acceleration", "raw", "accraw"}
EPOCH_COUNT_NAMES = {"axis1", "axis2", "axis3", "vm", "steps", "counts", "activity", "lux"}
NOT_ACCELERATION = ("gyr", "gyro", "mag", "angle", "rot", "quat", "euler", "temp")


def dialect(head_lines: list[str]) -> tuple[str, str]:
    """(delimiter, decimal point): `;` and decimal commas as European spreadsheets write
    them, else `,` and `.`. Told from the first lines: a line split by `;` into four or
    more fields, and data fields such as `0,981`."""
    first = head_lines[0] if head_lines else ""
    if first.count(";") < 3:
        return ",", "."
    data = head_lines[1:6] if len(head_lines) > 1 else head_lines[:1]
    fields = [field.strip() for line in data for field in line.split(";")]
    comma = any(re.fullmatch(r"[-+]?\d+,\d+", field) for field in fields)
    return ";", "," if comma else "."


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_datetime(text: str) -> bool:
    return bool(re.match(r"^\s*\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", text))


def _normalise(name: str) -> str:
    name = re.sub(r"\(.*?\)|\[.*?\]", "", name.lower())
    return re.sub(r"[^a-z0-9]", "", name)


def find_columns(path: str, names: list[str]) -> tuple[str, list[str]]:
    norm = [_normalise(name) for name in names]
    if {n for n in norm} & {"axis1", "axis2"} or sum(n in EPOCH_COUNT_NAMES for n in norm) >= 2:
        raise InputError(
            path,
            "an epoch-count export (columns " + ", ".join(names) + "), not raw acceleration",
            expected="raw acceleration samples (export raw data, not epochs)",
        )
    time_col = next(
        (orig for orig, n in zip(names, norm) if n in TIME_NAMES or _time_with_unit(n)), None
    )
    if time_col is None:
        raise InputError(
            path,
            "no time column",
            where="header: " + ",".join(names),
            expected="a column named time, timestamp, t, epoch or datetime",
        )
    axes = []
    for axis in "xyz":
        match = next(
            (
                orig
                for orig, n in zip(names, norm)
                if orig != time_col and _is_axis_name(orig, n, axis)
            ),
            None,
        )
        if match is None:
            raise InputError(
                path,
                f"no {axis} acceleration column",
                where="header: " + ",".join(names),
                expected="three acceleration columns such as x,y,z or acc_x,acc_y,acc_z",
            )
        axes.append(match)
    for name in (time_col, *axes):  # a loop over four names
        if names.count(name) > 1:  # the parse took the first silently: maybe not the data
            raise InputError(
                path,
                f"the column {name!r} appears {names.count(name)} times",
                where="header: " + ",".join(names),
                expected="one column of each name",
            )
    return time_col, axes


def _time_with_unit(norm: str) -> bool:
    return bool(re.fullmatch(r"(time|timestamp|t|epoch|unixtime)(s|ms|sec|seconds|utc)?", norm))


def _is_axis_name(original: str, norm: str, axis: str) -> bool:
    low = original.lower()
    if (
        any(word in low for word in NOT_ACCELERATION)
        or norm.startswith(("g", "m"))
        and len(norm) <= 2
    ):
        return False
    unit_free = re.sub(r"(g|mg|ms2|mss)$", "", norm) if len(norm) > 2 else norm
    for candidate in (norm, unit_free):
        if candidate.endswith(axis) and candidate[:-1] in AXIS_PREFIXES:
            return True
    return False


def table_layout(
    path: str, first_line: str, delimiter: str = ",", decimal: str = "."
) -> tuple[bool, str, list[str]]:
    """(has a header, the time column, the x, y, z columns) of a table-style CSV."""
    try:
        return _table_layout(path, first_line, delimiter, decimal)
    except InputError:
        if not first_line.lstrip("\ufeff").startswith("#"):
            raise
    # A logger's notes above the table (a header `#time,x,y,z` is read as one, above)
    raise InputError(
        path,
        f"starts with a comment line ({first_line.strip()[:40]!r})",
        where="line 1",
        expected="the column names (e.g. time,x,y,z) on the first line: delete the # lines",
    )


def _table_layout(
    path: str, first_line: str, delimiter: str, decimal: str
) -> tuple[bool, str, list[str]]:
    if delimiter == "," and "," not in first_line:
        _refuse_other_delimiter(path, first_line)
    fields = [f.strip().strip('"') for f in first_line.strip().lstrip("\ufeff").split(delimiter)]
    if decimal != ".":
        fields = [f.replace(decimal, ".") for f in fields]
    has_header = not (_is_number(fields[0]) or _is_datetime(fields[0]))
    if has_header:
        time_col, axes = find_columns(path, fields)
        return True, time_col, axes
    numeric = [f for f in fields[1:] if _is_number(f)]
    if len(numeric) < 3:
        raise InputError(
            path,
            f"fewer than three numeric axes after the time column ({len(numeric)} found)",
            where="line 1",
            expected="time, x, y, z",
        )
    return False, "f0", ["f1", "f2", "f3"]


OTHER_DELIMITERS = {"\t": "tabs", "|": "'|'", " ": "spaces"}


def _refuse_other_delimiter(path: str, first_line: str) -> None:
    """A first line split into four or more fields by another character than a comma."""
    for delimiter, name in OTHER_DELIMITERS.items():  # a loop over three delimiters
        if len([f for f in first_line.strip().split(delimiter) if f]) >= 4:
            raise InputError(
                path,
                f"fields separated by {name}, not commas",
                where="line 1",
                expected="comma-separated values (or ';' with decimal commas)",
            )
