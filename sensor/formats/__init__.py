"""One reader interface: every file format is one module here, found by the file's content.

Each format module has
    NAME: str                                     what the format is, for messages
    recognizes(head: bytes, path: str) -> bool    from the content (magic bytes, zip
                                                  members, header text), never the name
    read(path: str, units: str) -> (Recording, stated UTC offset in seconds or None)
A new format is one module added to FORMATS. `analyze`, `batch`'s folder search and the
multi-day splitter all go through `identify` and `read_recording`.
"""

from __future__ import annotations

import os
import stat
from types import ModuleType

from sleepmove.base.errors import InputError
from sleepmove.sensor.formats import csv_text, cwa, geneactiv_bin, gt3x, other, parquet
from sleepmove.sensor.recording import Recording
from sleepmove.sensor.zones import apply_zone

# Checked in this order: CSV last, since it takes any text.
FORMATS: tuple[ModuleType, ...] = (cwa, geneactiv_bin, gt3x, parquet, csv_text)
HEAD_BYTES = 4096


def check_plain_file(path: str) -> None:
    """Refuse a pipe, socket or device in one line, without opening it.

    Opening a FIFO waits for a writer, and a recording is opened more than once (its head,
    then the parse): `analyze <(zcat night.csv.gz)` would hang. A missing path or a folder
    is left to the reader, which names it.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if os.path.islink(path):  # "file not found" of a name that is there misleads
            raise InputError(
                path,
                f"a symbolic link to a missing file ({os.readlink(path)})",
                expected="the recording it points to (moved, renamed, or on a drive not mounted)",
            ) from None
        return
    except (OSError, ValueError):
        return
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return
    what = "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a device or socket"
    raise InputError(
        path,
        f"{what}, not a file",
        expected="a recording saved as a file (it is read more than once)",
    )


def head_of(path: str) -> bytes:
    """The first bytes; empty when the file cannot be opened (the CSV reader says why), or
    is not a plain file (`read_recording` says why)."""
    try:
        check_plain_file(path)
    except InputError:
        return b""
    try:
        with open(path, "rb") as handle:
            return handle.read(HEAD_BYTES)
    except OSError:
        return b""


def identify(path: str, head: bytes | None = None) -> ModuleType:
    """The format module that reads `path`; a file of a known unreadable kind is refused
    with a line naming what it is. Unknown content goes to the CSV reader, which refuses
    what is not text."""
    head = head_of(path) if head is None else head
    for fmt in FORMATS[:-1]:  # a loop over formats
        if fmt.recognizes(head, path):
            return fmt
    what = other.describe(head, path)
    if what is None and head.startswith(other.GZIP_MAGIC):
        what = _gzipped(head, path)
    if what is not None:
        problem, expected = what
        raise InputError(path, problem, expected=expected)
    return csv_text


def _gzipped(head: bytes, path: str) -> tuple[str, str] | None:
    """What a gzip file holds where it is no CSV text (a gzipped .cwa, a .tar.gz), from
    the content its head inflates to; None for text, left to the CSV reader."""
    content = other.inflated_head(head)
    if not content:
        return None
    # A device format by its content (a gzipped .gt3x's zip directory is out of reach: its
    # first member's name tells, as for a .gt3x cut short)
    readable = next((fmt.NAME for fmt in FORMATS[:-1] if fmt.recognizes(content, path)), None)
    return other.describe_gzipped(content, readable)


def read_recording(path: str, units: str = "auto", timezone: str | None = None) -> Recording:
    """One sensor's recording, whatever the format; clock times made instants where the
    file or `timezone` says the zone (see sensor.zones)."""
    check_plain_file(path)
    recording, stated_offset_s = identify(path).read(path, units)
    return apply_zone(recording, stated_offset_s, timezone)


CSV_SUFFIXES = (".csv", ".csv.gz")


def identify_quietly(path: str) -> ModuleType | None:
    try:
        return identify(path)
    except InputError:
        return None
