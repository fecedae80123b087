"""Write files so that an interrupted run never leaves one that looks complete.

Each file goes to a temporary name beside its target (`.partial-*`), reaches the disk
(fsync), and is renamed into place; on any failure the temporaries are removed and the
targets keep their previous complete contents. Results and recordings alike use this.
"""

from __future__ import annotations

import os
import tempfile

from sleepmove.base.errors import InputError

# The hidden folder a simulated night is written into before its files move into place
# (sensor.simulate.staged_night): one left by a killed run is never a night (batch's search).
STAGING_PREFIX = ".partial-simulate-"


def _staged(target: str, data: bytes) -> str:
    """Write `data` to a fresh temporary beside `target`; return its name (removed on failure)."""
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(target) or ".", prefix=".partial-")
    try:
        try:
            view = memoryview(data)
            while view:  # os.write may write less than asked (full disks, signals)
                view = view[os.write(handle, view) :]
            os.fsync(handle)
        finally:
            os.close(handle)
        publishable(temporary)
    except OSError as error:  # a full disk: os.write names no file, the message must
        os.unlink(temporary)
        if error.filename is None:
            raise OSError(error.errno, error.strerror, target) from None
        raise
    except BaseException:
        os.unlink(temporary)
        raise
    return temporary


def publishable(temporary: str) -> None:
    """Give a temporary the permissions of a normally created file (mkstemp's are private)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)


def write_file(path: str, data: str | bytes) -> None:
    """Replace `path` with `data` in one step: the file is either the old one or the new one."""
    encoded = data.encode("utf-8") if isinstance(data, str) else data
    os.replace(_staged(path, encoded), path)


def _make_folder(folder: str, created: list[str]) -> None:
    """os.makedirs, noting in `created` each folder it made (outermost first)."""
    missing = []
    while folder and not os.path.isdir(folder):
        missing.append(folder)
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    for path in reversed(missing):  # a loop over folders
        os.makedirs(path, exist_ok=True)
        created.append(path)


def write_files(out_dir: str, files: dict[str, str | bytes]) -> None:
    """Write every file to a temporary name under `out_dir`, then rename each into place."""
    for name in files:  # a loop over file names
        target = os.path.join(out_dir, name)
        if os.path.isdir(target):  # its rename would fail after the others were renamed
            raise InputError(
                target, "is a folder", expected=f"{name} to be a file of the results' own"
            )
    created: list[str] = []  # folders made here, removed again if nothing is written
    staged: list[tuple[str, str]] = []
    try:
        _make_folder(out_dir, created)
        for name, text in files.items():
            target = os.path.join(out_dir, name)
            _make_folder(os.path.dirname(target), created)
            data = text.encode("utf-8") if isinstance(text, str) else text
            staged.append((_staged(target, data), target))
    except BaseException:
        for temporary, _ in staged:
            os.unlink(temporary)
        for folder in reversed(created):  # a full disk left an empty figures/ behind
            try:
                os.rmdir(folder)
            except OSError:
                pass
        raise
    # summary.json goes last: its presence means every other file is complete.
    staged.sort(key=lambda pair: pair[1].endswith("summary.json"))
    for index, (temporary, target) in enumerate(staged):
        try:
            os.replace(temporary, target)
        except BaseException:
            for left, _ in staged[index:]:  # no .partial-* left behind
                os.unlink(left)
            raise
