"""Parquet: the same column rules as CSV (a time column and x, y, z acceleration columns).

Read by sensor.formats.parquet_table, imported only then: a device file's read starts
without pyarrow's import (0.1 s) before it."""

from __future__ import annotations

from sleepmove.sensor.recording import Recording

NAME = "a Parquet file"


def recognizes(head: bytes, path: str) -> bool:
    return head[:4] == b"PAR1"


def read(path: str, units: str) -> tuple[Recording, float | None]:
    from sleepmove.sensor.formats.parquet_table import read_parquet

    return read_parquet(path, units)
