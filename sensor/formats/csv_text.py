"""CSV text (plain or gzipped): the reader in sensor.readers, behind the common interface."""

from __future__ import annotations

from sleepmove.sensor.formats.other import GZIP_MAGIC
from sleepmove.sensor.recording import Recording

NAME = "CSV text"


def recognizes(head: bytes, path: str) -> bool:
    """Text or gzip; the reader refuses what turns out to be neither."""
    if head.startswith(GZIP_MAGIC):
        return True
    return bool(head) and b"\x00" not in head


def read(path: str, units: str) -> tuple[Recording, float | None]:
    from sleepmove.sensor.readers import read_csv  # pyarrow: only for a CSV

    return read_csv(path, units), None  # a CSV states no zone apart from its time stamps'
