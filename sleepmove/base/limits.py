"""Limits shared by the commands: the sample rates of the commands that make recordings
(simulate, record), and the size of the small text files the commands read whole."""

from __future__ import annotations

import os
import stat

from sleepmove.base.errors import InputError

# Sample rates a recording may have: the analysis needs 10 Hz, and no supported sensor
# streams above 1000.
RATES_HZ = (10.0, 1000.0)

# The most read of a file a person writes (a sleep log, a diary): a few kilobytes as
# written, 4 MB a sleep log of some 60,000 nights. Read whole and parsed into Python objects
# (tens of bytes a cell), so /dev/zero or a wrong file held gigabytes.
TEXT_FILE_BYTES = 4 << 20
# A settings file: 3.5 KB as sleepmove writes it. The TOML parser's objects for a file of
# many small tables take some 400 times its size (540 MB for 1 MB of [a.b.c] headers).
SETTINGS_BYTES = 256 << 10
# A reference in JSON or XML: a simulator's truth.json of a week is a few hundred KB and an
# NSRR night's XML about 1 MB; parsed, each small element costs some 100 bytes.
REFERENCE_BYTES = 16 << 20
# A night's summary.json: 10-25 KB as analyze writes it.
SUMMARY_BYTES = 16 << 20
# A reference CSV: 64 MB holds some 2 million events (no night has a thousandth of that).
REFERENCE_CSV_BYTES = 64 << 20


def check_not_device(path: str, expected: str) -> None:
    """Refuse a device or a socket (/dev/zero, /dev/urandom never end). A pipe is taken:
    `--config <(...)` is read once, and `read_limited` caps it and does not wait for a
    writer. A missing path is left to the reader, which says so in its own words."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISSOCK(mode):
        raise InputError(path, "a device or socket, not a file", expected=expected)


def check_regular_file(path: str, expected: str) -> None:
    """Refuse anything but a plain file, for inputs read by a library that opens the path
    itself (an EDF+ reference, a result folder's tables): a named pipe there blocks the read
    until a writer comes, which may be never. A missing path is left to the reader."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return
    if stat.S_ISFIFO(mode):
        raise InputError(path, "a named pipe (FIFO), not a file", expected=expected)
    if stat.S_ISDIR(mode):  # pandas' IsADirectoryError read as "cannot write"
        raise InputError(path, "is a folder", expected=expected)
    if not stat.S_ISREG(mode):
        raise InputError(path, "a device or socket, not a file", expected=expected)


def read_limited(path: str, limit: int, what: str, expected: str) -> bytes:
    """The bytes of a small input file, read whole; InputError (one line) for a device, an
    empty pipe, or more than `limit` bytes (of a file, refused unread; of a pipe, once one
    byte past it is read). `what` ("a settings file") is said in the refusal. OSError is left
    to the caller, which names the file its own way."""
    check_not_device(path, expected)
    # Opened without waiting for a writer (a named pipe nobody wrote to hung for ever), then
    # read as usual: the pipe of `--config <(...)` has its writer from the start.
    nonblocking = getattr(os, "O_NONBLOCK", 0)
    with open(os.open(path, os.O_RDONLY | nonblocking), "rb") as handle:
        if nonblocking:
            os.set_blocking(handle.fileno(), True)
        status = os.fstat(handle.fileno())
        size = status.st_size
        data = b"" if size > limit else handle.read(size + 1)
        if len(data) > size:  # a pipe (its size says nothing), or a file that grew
            data += handle.read(limit + 1 - len(data))  # one byte more than allowed, to know
    if stat.S_ISFIFO(status.st_mode) and not data:
        raise InputError(path, "a pipe (FIFO) that nothing was written to", expected=expected)
    if size > limit or len(data) > limit:
        raise InputError(
            path,
            f"over {_size(limit)}, more than {what} holds",
            expected=expected,
        )
    return data


def _size(count: int) -> str:
    return f"{count >> 20} MB" if count >= 1 << 20 else f"{count >> 10} KB"
