"""Parquet: the same column rules as CSV (a time column and x, y, z acceleration columns)."""

from __future__ import annotations

import contextlib

import pyarrow as pa

from sleepmove.base.errors import InputError
from sleepmove.sensor.readers import (
    arrow_can_open,
    find_columns,
    finish_recording,
    numeric_axes,
    time_column,
)
from sleepmove.sensor.recording import Recording

NAME = "a Parquet file"


def recognizes(head: bytes, path: str) -> bool:
    return head[:4] == b"PAR1"


def read(path: str, units: str) -> tuple[Recording, float | None]:
    import pyarrow.parquet as pq

    try:
        # pyarrow takes only names it can encode as UTF-8: other names, opened here
        with contextlib.nullcontext(path) if arrow_can_open(path) else open(path, "rb") as source:
            names = pq.read_schema(source).names
            time_col, axes = find_columns(path, names)
            table = pq.read_table(source, columns=[time_col, *axes])
    except PermissionError as error:
        raise InputError(path, f"cannot be read ({error.strerror})") from None
    except (pa.ArrowInvalid, OSError) as error:
        raise InputError(path, f"unreadable Parquet file ({error})") from None
    if table.num_rows == 0:
        raise InputError(path, "no data rows", expected="accelerometer samples")
    warnings: list[str] = []
    xyz = numeric_axes(path, table, axes, 0)
    time_s, clock = time_column(path, table.column(time_col), 0, warnings, time_col)
    zone = table.schema.field(time_col).type
    stated = getattr(zone, "tz", None)
    recording = finish_recording(path, time_s, xyz, clock, units, None, warnings)
    if stated and stated.upper() not in ("UTC", "Z", "+00:00"):
        recording.timezone = stated  # shown in the zone the file names
    return recording, None
