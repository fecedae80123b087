"""Checks that run before any work: where results go, and the optional extras a command needs.

Both fail as one line (InputError) before a file is read or a folder is made; and an output
folder holds one run's results, never a mix of two runs.
"""

from __future__ import annotations

import importlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from sleepmove.base.errors import InputError
from sleepmove.base.limits import SUMMARY_BYTES, read_limited

# Every file `analyze` may write into its folder: only these are ever removed by a rerun.
ANALYZE_OUTPUTS = (
    "events.csv",
    "epochs.csv",
    "summary.json",
    "settings.toml",
    "report.html",
    "figures/timeline.png",
    "figures/imi.png",
    "figures/over_the_night.png",
    "figures/sides.png",
)


def check_destination(out_dir: str, option: str = "--out") -> None:
    """Refuse a destination that names a file or cannot be written, creating nothing.

    Found after an hour's analysis, either would throw the hour away.
    """
    if not out_dir.strip():  # "" passed the probe (the current folder), then failed to write
        raise InputError(option, "an empty path", expected="a folder for the results")
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise InputError(out_dir, "is a file, not a folder", expected=f"a folder for {option}")
    existing = os.path.abspath(out_dir)
    while not os.path.exists(existing):  # the folder is made later: probe where it will be
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise InputError(
            out_dir, f"{existing} is a file, not a folder", expected=f"a folder for {option}"
        )
    try:
        # Permissions alone do not say it (root, read-only mounts, quotas): try a write.
        handle, probe = tempfile.mkstemp(dir=existing, prefix=".sleepmove-probe-")
    except OSError as error:
        raise InputError(
            out_dir,
            f"cannot write into {existing} ({error.strerror or error})",
            expected=f"a writable folder for {option}",
        ) from None
    os.close(handle)
    os.unlink(probe)
    for name in ANALYZE_OUTPUTS:  # a loop over file names
        folder = os.path.join(out_dir, os.path.dirname(name))
        if os.path.dirname(name) and os.path.exists(folder) and not os.path.isdir(folder):
            raise InputError(
                folder, "is a file", expected=f"{os.path.dirname(name)}/ to be the results' folder"
            )


# Each report's own mark in its folder (a file, and whose it is): a night's or a batch's
# results, or the other report, refuse a folder holding it.
TREND_MARK = ("figures/trend.png", "a trend report's")
VALIDATION_MARK = ("validation.json", "a validation's")


def check_no_report_there(out_dir: str, what: str) -> None:
    """Refuse an --out holding a trend report or a validation: `what` (a night's results, a
    batch's) would replace its report.html or nights.csv and mix its figures with its own,
    as the reports refuse a folder of results."""
    for mark, whose in (TREND_MARK, VALIDATION_MARK):  # a loop over two marks
        if os.path.exists(os.path.join(out_dir, mark)):
            raise InputError(
                out_dir,
                f"holds {whose} results ({mark}), which {what} would overwrite",
                expected=f"a folder of its own for {what}",
            )


def check_two_sensors(inputs: dict[str, str]) -> None:
    """Refuse one file given as both legs (--left and --right): it would be scored as two
    legs moving in perfect step, every movement bilateral."""
    if len(inputs) != 2:
        return
    left, right = inputs.values()
    try:
        same = os.path.samefile(left, right)
    except OSError:  # a missing file is the reader's to name
        same = os.path.realpath(left) == os.path.realpath(right)
    if same:
        raise InputError(
            f"{left} and {right}",
            "the same file given for both legs",
            expected="one recording per leg: --left LEFT_FILE --right RIGHT_FILE",
        )


def check_inputs_apart(inputs: dict[str, str], out_dir: str) -> None:
    """Refuse a recording that is one of the files the results would replace (a recording
    named events.csv given with --out its own folder): it would be written over."""
    for path in inputs.values():  # a loop over the one or two recordings
        for name in ANALYZE_OUTPUTS:  # a loop over file names
            target = os.path.join(out_dir, name)
            try:
                same = os.path.samefile(path, target)
            except OSError:  # either is missing: nothing to write over
                continue
            if same:
                raise InputError(
                    path,
                    f"is where the results' {name} would be written, over the recording",
                    expected="an --out folder apart from the recording, or the recording renamed",
                )


def require_extra(module: str, extra: str, needed_for: str) -> None:
    """Refuse in one line, naming the extra to install, when an optional package is missing."""
    try:
        importlib.import_module(module)
    except ImportError:
        raise InputError(
            needed_for,
            f"needs the optional package {module!r}, which is not installed",
            expected=f"pip install 'sleepmove[{extra}]'",
        ) from None


def _holds_results(out_dir: str) -> bool:
    """Whether `out_dir` holds an earlier run's results: a summary.json that sleepmove wrote
    (summary.json goes last, so it is there whenever the rest of that run is)."""
    path = os.path.join(out_dir, "summary.json")
    try:
        summary = json.loads(read_limited(path, SUMMARY_BYTES, "a summary.json", "summary.json"))
    except (OSError, InputError, ValueError, RecursionError):  # none, too big, not JSON
        return False
    software = summary.get("software") if isinstance(summary, dict) else None
    return isinstance(software, dict) and software.get("name") == "sleepmove"


@contextmanager
def replacing_outputs(out_dir: str, owned: tuple[str, ...] = ANALYZE_OUTPUTS) -> Iterator[None]:
    """On success, remove the files of `owned` that the run inside did not write again.

    A rerun with --no-report would otherwise leave the last run's report beside the new
    tables. A file written again was renamed into place (atomic.write_files): a new inode.
    On failure nothing is removed, and files not in `owned` are never touched; nor is any
    file of a folder that holds no earlier results (a report.html of the user's own).
    """
    before = {}
    if not _holds_results(out_dir):  # the user's own files, never ours to remove
        owned = ()
    for name in owned:  # a loop over file names
        try:
            status = os.stat(os.path.join(out_dir, name))
        except OSError:
            continue
        before[name] = (status.st_ino, status.st_mtime_ns)
    yield
    for name, identity in before.items():  # a loop over file names
        path = os.path.join(out_dir, name)
        try:
            status = os.stat(path)
        except OSError:
            continue
        if (status.st_ino, status.st_mtime_ns) == identity:
            os.remove(path)
    folders = {os.path.dirname(name) for name in before if os.path.dirname(name)}
    for folder in folders:  # a loop over folders
        try:
            os.rmdir(os.path.join(out_dir, folder))  # only if now empty
        except OSError:
            pass
