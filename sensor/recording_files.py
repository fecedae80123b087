"""The recording's files as it goes: the append-only CSV and the disk space held for its end.

The CSV is in the format `sleepmove analyze` reads (time in Unix seconds, x, y, z in g) and
is flushed and fsynced at least every second: a kill -9 or a power cut loses at most the
last second, and the reader tolerates a cut last line.
"""

from __future__ import annotations

import errno
import io
import os
import time
from collections.abc import Callable

import numpy as np

SYNC_EVERY_S = 1.0


class DiskFull(Exception):
    """Writing failed (disk full, removed drive): stop, keeping all that was written."""


class CsvAppender:
    """Append-only samples; at most one second of them is ever only in memory.

    Each chunk goes to the file in whole: when a write fails (disk full), the file is cut
    back to its last whole row, so it holds exactly the samples counted as written."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.tell: Callable[[str], None] = lambda _message: None  # the session's messages
        try:
            # Readable too: a file removed while recording is written again from this one.
            self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
            self.size = os.fstat(self.fd).st_size
        except OSError as error:
            raise DiskFull(f"{path}: cannot write ({error.strerror or error})") from None
        if self.size == 0:
            try:
                self._write(b"time,x,y,z\n")
            except DiskFull:
                os.close(self.fd)
                raise
        self.last_sync = time.monotonic()
        self.samples = 0

    def append(self, times_unix: np.ndarray, xyz_g: np.ndarray) -> None:
        if len(times_unix) == 0:
            return
        rows = np.column_stack([times_unix, xyz_g])
        text = io.StringIO()
        try:
            np.savetxt(text, rows, fmt=["%.3f", "%.5f", "%.5f", "%.5f"], delimiter=",")
        except OSError as error:  # a fault injected in the formatting (tests) reads the same
            raise DiskFull(f"{self.path}: cannot write ({error.strerror or error})") from None
        self._write(text.getvalue().encode("ascii"))
        self.samples += len(times_unix)
        if time.monotonic() - self.last_sync >= SYNC_EVERY_S:
            self.sync()

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        try:
            while view:  # a full disk may take part of a chunk before it refuses the rest
                view = view[os.write(self.fd, view) :]
        except OSError as error:
            try:
                os.ftruncate(self.fd, self.size)  # no cut row: readers would stop at it
            except OSError:
                pass  # the reader still drops a cut last line
            raise DiskFull(f"{self.path}: cannot write ({error.strerror or error})") from None
        self.size += len(data)

    def sync(self) -> None:
        try:
            os.fsync(self.fd)
            removed = os.fstat(self.fd).st_nlink == 0
        except OSError as error:
            raise DiskFull(f"{self.path}: cannot write ({error.strerror or error})") from None
        self.last_sync = time.monotonic()
        if removed:
            self._write_again()

    def _write_again(self) -> None:
        """The file (or its folder) was removed while recording: appending to the open file
        went on, into a file nobody could reach, and the whole night was lost at the exit.
        It is written again, whole, from the open one, and recording goes on into it. Where
        a file was made in its place, it is written beside it (never over it). A copy that
        fails part-way (the disk full) is cut back to its last whole row and kept, and the
        samples it holds are what is counted: it ended mid-row, the rest said kept."""
        try:
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            path, fd = self._new_file()
        except OSError as error:
            counted, self.samples = self.samples, 0  # none on disk: the file is gone
            raise DiskFull(
                f"{self.path}: removed while recording, and cannot be written again "
                f"({error.strerror or error}): none of its {counted} samples kept"
            ) from None
        removed, counted, copied, rows = self.path, self.samples, 0, 0
        try:
            while copied < self.size:  # a loop over 1 MB blocks of the file
                block = os.pread(self.fd, min(1 << 20, self.size - copied), copied)
                if not block:
                    break
                view = memoryview(block)
                while view:  # a full disk may take part of a block before it refuses the rest
                    written = os.write(fd, view)
                    rows += view[:written].tobytes().count(b"\n")
                    copied, view = copied + written, view[written:]
            os.fsync(fd)
        except OSError as error:
            self._keep_part(fd, path, copied, rows)
            raise DiskFull(
                f"{removed}: removed while recording, and written again only in part "
                f"({error.strerror or error}): {self.samples} of its {counted} samples kept, "
                f"in {path}"
            ) from None
        self._use(fd, path, self.size)
        where = "" if path == removed else f" as {path} (a file was made in its place)"
        self.tell(f"{removed} was removed while recording: written again{where}, nothing lost")

    def _new_file(self) -> tuple[str, int]:
        """The file written again: at its own path, or beside a file made there since."""
        root, extension = os.path.splitext(self.path)
        for number in range(10):  # a loop over names
            path = self.path if number == 0 else f"{root}-recovered-{number}{extension}"
            try:
                flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND
                return path, os.open(path, flags, 0o644)
            except FileExistsError:
                continue
        raise FileExistsError(errno.EEXIST, "File exists")

    def _keep_part(self, fd: int, path: str, copied: int, rows: int) -> None:
        """A copy that failed part-way: cut back to its last whole row (after its header)."""
        tail = os.pread(self.fd, min(copied, 1 << 20), copied - min(copied, 1 << 20))
        end = copied - len(tail) + tail.rfind(b"\n") + 1 if b"\n" in tail else 0
        try:
            os.ftruncate(fd, end)
            os.fsync(fd)
        except OSError:
            pass  # the reader still drops a cut last line
        self._use(fd, path, end)
        self.samples = max(rows - 1, 0)  # the header is a row too

    def _use(self, fd: int, path: str, size: int) -> None:
        os.close(self.fd)
        self.fd, self.path, self.size = fd, path, size

    def close(self) -> None:
        """Synced and closed; a DiskFull on the way (the file removed after the last
        append, and not written again) is raised: it was swallowed, and nobody told."""
        if self.fd < 0:
            return
        try:
            self.sync()
        finally:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = -1


class SpaceReserve:
    """Space held back in the recording's folder: when the disk fills, releasing it lets the
    last `recording.json` (and its temporary) be written, so it matches the CSV."""

    NAME = ".recording-reserve"
    SIZE = 1 << 20  # recording.json is a few kB; its messages are bounded, its gaps nearly

    def __init__(self, folder: str) -> None:
        """Raises DiskFull where the reserve cannot be made: started without it, a disk
        that filled left a recording.json saying the night was still being recorded."""
        self.path: str | None = os.path.join(folder, self.NAME)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                view = memoryview(bytes(self.SIZE))  # real blocks, not a sparse file
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
        except OSError as error:
            self.release()
            full = error.errno in (errno.ENOSPC, errno.EDQUOT)
            what = "no room for" if full else "cannot write"
            raise DiskFull(
                f"{folder}: {what} the {self.SIZE >> 20} MB the recorder keeps back for its "
                f"last recording.json ({error.strerror or error})"
            ) from None

    def release(self) -> None:
        if self.path is None:
            return
        try:
            os.remove(self.path)
        except OSError:
            pass
        self.path = None
