"""`sleepmove batch`: many nights, in parallel (local processes or a Dask cluster), resumable."""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import math
import os
import re
import shutil
import stat
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sleepmove import __version__
from sleepmove.base.atomic import STAGING_PREFIX
from sleepmove.base.errors import InputError

if TYPE_CHECKING:
    from sleepmove.sensor.recording import Recording
    from sleepmove.sensor.split import NightSlice

# A night skipped (a stub slice of a multi-day file) is done too: a rerun does not retry it.
DONE_STATUSES = ("ok", "skipped")
RESULT_FILES = {"events.csv", "epochs.csv", "nights.csv", "validation.csv"}
BATCH_RECORD = re.compile(r"batch(-\d+of\d+)?\.json")  # a batch's record, sharded or not
ROW_COLUMNS = [
    "id",
    "inputs",
    "start",
    "duration_h",
    "total_sleep_h",
    "sleep_source",
    "plm_index",
    "plm_index_in_bed",
    "sleep_estimate_drives_plm_index",
    "plm_index_awake_trains_asleep",
    "plmw_index",
    "periodicity_index",
    "jerk_rate_per_min",
    "alternation_index",
    "data_loss_h",
    "status",
    "error",
    "seconds",
]
# The columns a night's summary.json gives (summary_row)
SUMMARY_COLUMNS = [
    name for name in ROW_COLUMNS if name not in ("id", "inputs", "status", "error", "seconds")
]


@dataclass(frozen=True)
class NightTask:
    night_id: str
    inputs: dict  # side ("" for one unnamed sensor) -> path
    out_dir: str
    # analyze options: criteria, units, placement, age_group, sleep_window, report; and
    # sleep_windows (by date) for the nights of a multi-day file from a sleep log
    options: dict
    # --force: every night analyzed again, none of a multi-day file's kept as still done.
    # Not part of the key: it says how to run, not what the results are made from.
    force: bool = False

    @property
    def key(self) -> str:
        """What a finished night was made from: same key, same outputs. The parameters are
        the resolved ones, defaults included: a release that changes a default (the sleep
        model's, a detection bar) analyzes every night again, where the options alone had
        kept the older results and called them made "with these parameters"."""
        made_from = {
            "inputs": self.inputs,
            # a recording replaced at the same path (re-exported, copied again) is new input
            "files": {side: _file_identity(path) for side, path in self.inputs.items()},
            "options": self.options,
            "version": __version__,
            "parameters": self.parameters(),
        }
        if RESPIRATORY_PATTERN in self.options:
            # The pattern alone kept a night whose sleep study was edited or replaced since.
            # Only with the option: the keys of batches without it stay as they were.
            made_from["respiratory_events"] = _study_identity(self.options, self.night_id)
        return _digest(made_from)

    def night_keys(self, night_ids: list[str], file_key: str | None = None) -> dict[str, str]:
        """The key of each night of a multi-day file, kept in the night's own folder: the
        file's key (`file_key`, where already made) and the night's own sleep study. So a
        night whose results were damaged since (its key removed) or whose study changed is
        redone without its sister nights, where the file's one key redid all of them or,
        for a damaged table, none."""
        file_key = file_key or self.key  # made once: it resolves the parameters
        return {
            night: _digest(
                {"file": file_key, "respiratory_events": _study_identity(self.options, night)}
            )
            for night in night_ids
        }

    def parameters(self) -> dict:
        """The night's parameters as analyze resolves them from the options."""
        from dataclasses import fields

        from sleepmove.pipeline import AnalyzeRequest

        known = {field.name for field in fields(AnalyzeRequest)}
        chosen = {name: value for name, value in self.options.items() if name in known}
        return AnalyzeRequest(self.inputs, self.out_dir, **chosen).parameters().as_dict()


def discover(inputs: list[str], out_dir: str) -> list[str]:
    """Recordings named by files, folders (searched recursively, through symbolic links) or
    glob patterns. A recording reached by two paths (a link beside its target) is one night
    (see `_fewer_links` for the path kept).

    A file named on the command line is a recording whatever its name (analyze says what is
    wrong with it); a search takes CSVs by name, in any case, other formats by content, and
    a file named as a device's recording whatever it holds (see `_readable_recording`).
    A named input inside --out is refused: its results would land among the recordings, and
    a rerun could not tell them apart. Folders holding an earlier batch's results are not
    searched (one warning line each)."""
    from sleepmove.sensor.formats import CSV_SUFFIXES

    found: dict[str, str] = {}  # real path -> the path that names it
    out = os.path.realpath(out_dir)
    loops: set[str] = set()  # each link loop told once
    for item in inputs:
        named = False
        if os.path.isdir(item):
            _refuse_inside(item, out, out_dir)
            candidates = list(_walk(item, loops, out))
        elif os.path.exists(item):
            _refuse_inside(item, out, out_dir)
            candidates, named = [item], True
        else:
            matches = glob.glob(item, recursive=True)
            if not matches:
                raise InputError(
                    item,
                    "no such file, folder or matching pattern",
                    expected="recordings: files, folders or glob patterns such as 'nights/*.csv'",
                )
            candidates = [
                path
                for match in sorted(matches)
                for path in (_walk(match, loops, out) if os.path.isdir(match) else [match])
            ]
        kept = 0
        for path in candidates:
            real = os.path.realpath(path)
            if real.startswith(out + os.sep):  # never our own results
                continue
            name = os.path.basename(path)
            if named or (
                name not in RESULT_FILES
                # CSVs by name whatever the case (.CSV from Windows tools); _readable_recording
                # looks at the content of the rest
                and (name.lower().endswith(CSV_SUFFIXES) or _readable_recording(path))
            ):
                path = os.path.normpath(path)
                found[real] = min(path, found.get(real, path), key=_fewer_links)
                kept += 1
        if not kept and len(inputs) > 1:  # the others may still hold nights
            print(f"sleepmove: warning: {item}: no recording found in it", file=sys.stderr)
    return sorted(found.values())


# Suffixes only a device's recording (or a Parquet export of one) carries: a file so named
# that its content does not read as one is a night gone wrong (a failed copy, a damaged or
# mislabelled file), given its error row rather than silently passed over; gzipped, as a
# user may keep one (it is refused with "gunzip it first": device files are read as written).
DEVICE_SUFFIXES = (".cwa", ".gt3x", ".parquet", ".cwa.gz", ".gt3x.gz", ".bin.gz", ".parquet.gz")


def _readable_recording(path: str) -> bool:
    """Whether a file found in a search is to be analyzed: a recording by its content, or a
    file named as a device's recording whose content is not one (analyze's refusal, naming
    what it is, becomes its error row). One that cannot be read is said in a warning line
    (it may be a night), not silently passed over."""
    from sleepmove.sensor.formats import HEAD_BYTES, csv_text, identify

    named_as_one = path.lower().endswith(DEVICE_SUFFIXES)
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a pipe would wait for a writer
            return False
        with open(path, "rb") as handle:  # opened once: its head tells the format
            head = handle.read(HEAD_BYTES)
    except FileNotFoundError as error:  # a link to nothing
        if not named_as_one:
            _warn_unreadable(path, error)
        return named_as_one  # its row names the missing file, as a CSV's does
    except OSError as error:
        _warn_unreadable(path, error)
        return False
    try:
        fmt = identify(path, head)
    except InputError:  # a known kind that is no recording (a workbook, an epoch file)
        return named_as_one
    # .bin is any program's binary (firmware, dumps): only a text one (or an empty one, a
    # copy that failed), as a GENEActiv .bin is text (hex pages under a text header), is
    # taken for a night its reader cannot read.
    return fmt is not csv_text or named_as_one or _text_bin(path, head)


def _text_bin(path: str, head: bytes) -> bool:
    return path.lower().endswith(".bin") and b"\x00" not in head


def _warn_unreadable(path: str, error: OSError) -> None:
    reason = error.strerror or type(error).__name__
    print(f"sleepmove: warning: {path}: cannot be read ({reason}); not searched", file=sys.stderr)


def _refuse_inside(item: str, out: str, out_dir: str) -> None:
    """A named input that is --out or lies in it: refused (see `discover`)."""
    real = os.path.realpath(item)
    if real == out or real.startswith(out + os.sep):
        raise InputError(
            item,
            f"{'is' if real == out else 'lies in'} the output folder --out {out_dir}",
            expected="recordings outside --out (give the results a folder of their own)",
        )


def _batch_results(names: set[str]) -> bool:
    """Whether a folder (holding these file names) is the --out of a batch run."""
    return any(BATCH_RECORD.fullmatch(name) for name in names)


def _fewer_links(path: str) -> tuple[bool, bool, str]:
    """Which of two paths to one recording names it: one without links, else one where
    the file itself is not a link, else the first in order."""
    return os.path.abspath(path) != os.path.realpath(path), os.path.islink(path), path


def _walk(top: str, reported: set[str] | None = None, out: str | None = None) -> Iterator[str]:
    """The files under `top`, in name order, following symbolic links to folders. A link
    that leads back to a folder it lies in is a loop: not followed, and told in one warning
    line (once per link in `reported`, however many paths reach it). The folder `out` (a
    real path: this run's results) is passed over, and so, with a warning line, is the
    results folder of another batch (its Parquet tables would read as recordings)."""
    from sleepmove.sensor.formats import CSV_SUFFIXES

    reported = set() if reported is None else reported
    stack = [(top, frozenset())]
    while stack:  # a loop over folders
        folder, above = stack.pop()
        try:
            info = os.stat(folder)
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name, reverse=True)
        except OSError as error:  # nights may be in it: said, not silently passed over
            _warn_unreadable(folder, error)
            continue
        here = (info.st_dev, info.st_ino)
        if here in above:
            link = os.path.join(os.path.realpath(os.path.dirname(folder)), os.path.basename(folder))
            if link not in reported:
                reported.add(link)
                target = os.path.realpath(folder)
                print(
                    f"sleepmove: warning: {folder}: a link loop (back to {target}); not followed",
                    file=sys.stderr,
                )
            continue
        if out is not None and os.path.realpath(folder) == out:
            continue
        if _batch_results({entry.name for entry in entries}):
            real = os.path.realpath(folder)
            if real not in reported:
                reported.add(real)
                print(
                    f"sleepmove: warning: {folder}: the results of an earlier batch "
                    "(batch.json); not searched",
                    file=sys.stderr,
                )
            continue
        files = []
        for entry in entries:  # a loop over files
            try:
                folder_here = entry.is_dir()  # through a link too
            except OSError:
                folder_here = False
            if folder_here and entry.name.startswith(STAGING_PREFIX):
                continue  # a simulated night's files killed half-written: never a night
            if folder_here:
                stack.append((entry.path, above | {here}))
            elif os.path.exists(entry.path) or entry.name.lower().endswith(
                CSV_SUFFIXES + DEVICE_SUFFIXES
            ):
                # A recording's link to nothing is a night whose file is missing: an error
                # row naming it, as when named on the command line, not a silent skip.
                files.append(entry.path)
        yield from reversed(files)


def _pattern_regex(pattern: str) -> re.Pattern:
    if "{night}" not in pattern or "{side}" not in pattern:
        raise InputError(
            "--pairs",
            f"pattern {pattern!r} lacks {{night}} or {{side}}",
            expected="e.g. {night}_{side}.csv",
        )
    text = re.escape(pattern)
    for name, group in (("night", ".+?"), ("side", "left|right")):
        # a placeholder named again must repeat what it matched the first time
        first, *again = text.split(rf"\{{{name}\}}")
        text = first + f"(?P<{name}>{group})" + f"(?P={name})".join(again)
    # {night}_{side}.csv also pairs the gzipped files
    return re.compile(text + (r"(\.gz)?$" if pattern.endswith(".csv") else "$"))


def input_roots(inputs: list[str]) -> list[str]:
    """The folder each input names its recordings from: a folder itself, a file's own
    folder, a glob pattern's folder before its first wildcard."""
    roots = []
    for item in inputs:  # a loop over inputs
        if os.path.isdir(item):
            roots.append(os.path.abspath(item))
        elif os.path.exists(item) or not glob.has_magic(item):
            roots.append(os.path.dirname(os.path.abspath(item)))
        else:
            parts = os.path.abspath(item).split(os.sep)
            literal = next(i for i, part in enumerate(parts) if glob.has_magic(part))
            roots.append(os.sep.join(parts[:literal]) or os.sep)
    return roots


def _root_of(path: str, roots: list[str]) -> str:
    """The outermost input folder `path` lies in: a night's id is its path below it, so it
    stays the same when other inputs are added (it was the path below the common folder
    of all inputs, and a second input folder renamed every night)."""
    absolute = os.path.abspath(path)
    holding = [root for root in roots if absolute.startswith(root.rstrip(os.sep) + os.sep)]
    return min(holding, key=len) if holding else os.path.dirname(absolute)


def make_tasks(
    files: list[str],
    out_dir: str,
    options: dict,
    pairs: str | None = None,
    inputs: list[str] | None = None,
) -> list[NightTask]:
    """One task per night. `inputs` (as given on the command line) name each night by its
    path below the input it was found in; without them, below the files' common folder."""
    if inputs is not None:
        roots = input_roots(inputs)
        root_of = {path: _root_of(path, roots) for path in files}
    else:
        common = os.path.commonpath([os.path.dirname(os.path.abspath(f)) for f in files or ["."]])
        root_of = dict.fromkeys(files, common)
    nights: dict[str, dict] = {}
    regex = _pattern_regex(pairs) if pairs is not None else None  # "" is refused there
    for path in files:
        relative = os.path.relpath(os.path.abspath(path), root_of[path])
        match = (
            regex.search(relative if "/" in (pairs or "") else os.path.basename(path))
            if (regex)
            else None
        )
        if match:
            folder = os.path.dirname(relative) if "/" not in pairs else ""
            night = os.path.join(folder, match["night"])
            _add_input(nights, _night_id(night), match["side"], path)
        else:
            # k.cwa.gz keeps its inner suffix (night k.cwa): beside k.cwa, a gzipped copy
            # would otherwise give the same id and stop the whole batch
            stem = re.sub(r"(\.csv\.gz|\.[A-Za-z0-9]+)$", "", relative, flags=re.IGNORECASE)
            _add_input(nights, _night_id(stem), "", path)
    return [
        NightTask(night, inputs, os.path.join(out_dir, night), options)
        for night, inputs in sorted(nights.items())
    ]


def _add_input(nights: dict[str, dict], night: str, side: str, path: str) -> None:
    """`path` as the `side` of `night` ("" for a night of one sensor). Two files that would
    be one night's same input (n1.csv beside n1.csv.gz, "a b.csv" beside a_b.csv) are
    refused: one of them would silently go unanalyzed."""
    inputs = nights.setdefault(night, {})
    if inputs and (side == "" or "" in inputs or side in inputs):
        other = inputs.get(side) or next(iter(inputs.values()))
        apart = os.path.dirname(os.path.abspath(path)) != os.path.dirname(os.path.abspath(other))
        raise InputError(
            path,
            f"gives the night id {night!r}, as {other} does",
            expected="file names that give each night its own id (letters, digits, . _ -)"
            + (
                ", or the folder holding both as the input: ids are paths below it" if apart else ""
            ),
        )
    inputs[side] = path


def _night_id(text: str) -> str:
    """A folder name under --out: never "." or "..", which would put a night's files in the
    batch's own folder or above it, nor hidden (a leading dot)."""
    night = re.sub(r"[^A-Za-z0-9._-]+", "_", text.replace(os.sep, "_"))
    night = re.sub(r"^\.+", "", night.strip("_")).strip("_") or "night"
    if len(night) > LONGEST_NIGHT_ID:
        # A folder name has 255 bytes at most: deep, long folders made an id no night's
        # folder could take ("File name too long", an error row). Its ends, and a digest of
        # the whole that keeps it its own (the same every run, so a rerun finds it done).
        digest = hashlib.sha1(night.encode()).hexdigest()[:12]
        half = (LONGEST_NIGHT_ID - len(digest) - 2) // 2
        night = f"{night[:half]}_{digest}_{night[-half:]}"
    return night


LONGEST_NIGHT_ID = 200  # characters (ASCII): room under 255 for the names made from it


def _file_identity(path: str) -> list[int]:
    """A file's size and modification time (ns): what tells a replaced file apart without
    reading it (a hash would read a cohort's terabytes at every rerun)."""
    status = os.stat(path)
    return [status.st_size, status.st_mtime_ns]


def _digest(made_from: dict) -> str:
    return hashlib.sha256(json.dumps(made_from, sort_keys=True).encode()).hexdigest()


def study_file(options: dict, night_id: str) -> str | None:
    """The night's sleep study (batch --respiratory-events), None without the option."""
    pattern = options.get(RESPIRATORY_PATTERN)
    return pattern.replace(NIGHT_FIELD, night_id) if pattern else None


def _study_identity(options: dict, night_id: str) -> list[int] | None:
    """The night's sleep study as the key holds it: its size and modification time, as
    for the recording; None where it is missing (the night is then an error row, never
    done, so the file's arrival redoes it anyway)."""
    path = study_file(options, night_id)
    if path is None or not os.path.isfile(path):  # a folder (a file's key) is no study
        return None
    try:
        return _file_identity(path)
    except OSError:
        return None


KEY_FILE = "batch-key.txt"  # per task folder: what its finished results were made from
# Beside each key: the rows of the nights it finished (a multi-day file's night: its own)
ROWS_FILE = "batch-rows.json"
# A finished night's files: each must still be there for the night to count as done.
NIGHT_FILES = ("summary.json", "events.csv", "epochs.csv")


def shard(tasks: list[NightTask], spec: str | None) -> list[NightTask]:
    """--shard K/N: every N-th night starting at the K-th (1-based), for job arrays."""
    if not spec:
        return tasks
    match = re.fullmatch(r"(\d+)/(\d+)", spec)
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise InputError("--shard", f"cannot read {spec!r}", expected="K/N with 1 <= K <= N")
    k, n = int(match[1]), int(match[2])
    return tasks[k - 1 :: n]


def is_done(task: NightTask) -> bool:
    try:
        key = task.key
    except (OSError, ValueError):  # ValueError: parameters that cannot be resolved
        return False
    if not _holds_key(task.out_dir, key) or not os.path.exists(
        os.path.join(task.out_dir, ROWS_FILE)
    ):
        return False
    # Every night's results must still be there (someone may have removed one).
    root = os.path.dirname(task.out_dir)
    try:
        finished = [row["id"] for row in finished_rows(task) if row["status"] == "ok"]
    except (OSError, ValueError, KeyError, TypeError):  # rows or a summary damaged: redo
        return False
    if not all(
        os.path.exists(os.path.join(root, night, name))
        for night in finished
        for name in NIGHT_FILES
    ):
        return False
    # A multi-day file's nights each hold their own key: gone where the night's table was
    # found damaged (batch_command._undo), another where its sleep study changed.
    split = [night for night in finished if night != task.night_id]
    keys = task.night_keys(split, key) if split else {}
    return all(_holds_key(os.path.join(root, night), own) for night, own in keys.items())


def _holds_key(folder: str, key: str) -> bool:
    try:
        with open(os.path.join(folder, KEY_FILE), encoding="utf-8") as handle:
            return handle.read().strip() == key
    except (OSError, ValueError):  # none (not finished, or undone), or not text
        return False


def finished_rows(task: NightTask) -> list[dict]:
    with open(os.path.join(task.out_dir, ROWS_FILE), encoding="utf-8") as handle:
        # The time each night took when it was analyzed (0.0: done before rows kept it).
        rows = [{"seconds": 0.0} | row for row in json.load(handle)]
    root = os.path.dirname(task.out_dir)
    for row in rows:  # a loop over nights
        missing = [name for name in SUMMARY_COLUMNS if name not in row]
        if row["status"] == "ok" and missing:  # finished before these columns were
            with open(os.path.join(root, row["id"], "summary.json"), encoding="utf-8") as handle:
                found = summary_row(json.load(handle))
            row.update({name: found[name] for name in missing})
    return rows


def run_task(task: NightTask) -> list[dict]:
    """Analyze one night (or each night of a multi-day file); never raises.

    A failure is a row with its message. The rows and then the key are written last, so a
    task killed half way is simply done again. The task's folders are written under its
    lock (batch_guard.night_lock): two batches into one --out (shards cut two ways) wrote
    one night's files at once. A night another batch finished meanwhile is not redone.
    """
    from sleepmove.batch_guard import night_lock

    with contextlib.ExitStack() as held:
        try:
            held.enter_context(night_lock(task.out_dir))
        except OSError as error:  # no lock to be had (--out not writable): nothing written
            label = _inputs_label(task.inputs)
            return [_error_row(task.night_id, label, _os_error_line(error, []))]
        if not task.force:
            rows = _finished_meanwhile(task)
            if rows is not None:
                return rows
        return _analyze_task(task)


def _finished_meanwhile(task: NightTask) -> list[dict] | None:
    """The rows of a task another batch finished since this one found it to do (a shard
    of another N, whose lock this one waited for); None if it is still to do."""
    try:
        return finished_rows(task) if is_done(task) else None
    except (OSError, ValueError, KeyError, TypeError):  # rows unreadable: done again
        return None


def _analyze_task(task: NightTask) -> list[dict]:
    """`run_task` once the task's lock is held."""
    from sleepmove.base.atomic import write_files
    from sleepmove.batch_guard import INPUTS_FILE, inputs_record
    from sleepmove.sensor.time_guards import LONGEST_NIGHT_H

    started = time.perf_counter()
    inputs = _inputs_label(task.inputs)
    shares = None  # each row's share of the task's time: a split file's slices by samples
    paths = list(task.inputs.values())
    try:
        zone = task.options.get("timezone")
        read = _read_whole(paths[0], task.options, zone) if len(paths) == 1 else None
        if read is not None:  # what the quick look would decode to tell its span
            several = read.duration_s / 3600 > LONGEST_NIGHT_H
        else:
            several = len(paths) == 1 and _span_h(paths[0], zone) > LONGEST_NIGHT_H
        if several:
            read = None  # each night's slice is read on its own
            rows, shares = _split_and_analyze(task, paths[0], inputs)
        else:
            options = _night_options(task.options, _the_one_date(task.options))
            recordings = None if read is None else {next(iter(task.inputs)): read}
            read = None  # the analysis releases the samples once on its grid
            rows = [
                _analyze_one(task.night_id, task.inputs, task.out_dir, options, inputs, recordings)
            ]
    except InputError as error:
        rows = [_error_row(task.night_id, inputs, str(error))]
    except OSError as error:  # a file that cannot be opened, a full disk: one line
        rows = [_error_row(task.night_id, inputs, _os_error_line(error, paths))]
    except Exception as error:  # one bad night never stops the batch; say what happened
        rows = [_error_row(task.night_id, inputs, f"{type(error).__name__}: {error}")]
    seconds = time.perf_counter() - started
    shares = shares or [1.0]  # one row unless the file was split
    # A night kept (still done) keeps the time it took when it was analyzed.
    rows = [
        row if share is None else row | {"seconds": round(seconds * share, 2)}
        for row, share in zip(rows, shares)
    ]
    _mark_split_nights_done(task, [row for row, share in zip(rows, shares) if share is not None])
    if all(row["status"] in DONE_STATUSES for row in rows):
        write_files(
            task.out_dir,
            {
                ROWS_FILE: json.dumps(rows, indent=1) + "\n",
                INPUTS_FILE: inputs_record(task.inputs),
            },
        )
        write_files(task.out_dir, {KEY_FILE: task.key + "\n"})
    else:
        _forget_earlier_results(task, rows)
    return rows


def _mark_split_nights_done(task: NightTask, analyzed: list[dict]) -> None:
    """Each night of a multi-day file analyzed ok now gets its row and then its own key in
    its folder: a later run keeps it while a sister night is redone (its table damaged, its
    sleep study changed, its analysis failed). One that cannot be written leaves the night
    to be analyzed again, its results as they are."""
    from sleepmove.base.atomic import write_files

    nights = {row["id"]: row for row in analyzed if row["status"] == "ok"}
    nights.pop(task.night_id, None)  # a night of one file: the task's own key says it
    if not nights:
        return
    root = os.path.dirname(task.out_dir)
    try:
        keys = task.night_keys(list(nights))
        for night, row in nights.items():  # a loop over nights
            folder = os.path.join(root, night)
            write_files(folder, {ROWS_FILE: json.dumps([row], indent=1) + "\n"})
            write_files(folder, {KEY_FILE: keys[night] + "\n"})  # last: the night is done
    except (OSError, ValueError, InputError):
        pass


def _forget_earlier_results(task: NightTask, rows: list[dict]) -> None:
    """A night that failed now is no longer done: an earlier run's key, rows and summaries
    (`report` and the next rerun took them for this input's) are removed, its events and
    epochs left without the summary.json that says they are complete."""
    stale = [os.path.join(task.out_dir, name) for name in (KEY_FILE, ROWS_FILE)]
    root = os.path.dirname(task.out_dir)
    ids = {row["id"] for row in rows} | {os.path.basename(task.out_dir)}
    try:  # a multi-day file's nights of the earlier run, each in its own folder
        ids |= {row["id"] for row in finished_rows(task)}
    except (OSError, ValueError, KeyError, TypeError):  # none, or unreadable: nothing to add
        pass
    # A multi-day file's nights that this run finished keep theirs: nights.csv lists them as
    # ok (one night's missing sleep study took its sister nights' summaries)
    ids -= {row["id"] for row in rows if row["status"] in DONE_STATUSES}
    # (and a multi-day file's night its own key: it is no longer done either)
    stale += [
        os.path.join(root, night, name) for night in ids for name in (KEY_FILE, "summary.json")
    ]
    for path in stale:  # the key first: a run cut short here leaves the night undone
        try:
            os.unlink(path)
        except OSError:  # not there (never finished), or not ours to remove
            pass


def _read_whole(path: str, options: dict, zone: str | None) -> Recording | None:
    """A device or Parquet file's recording, decoded as the analysis decodes it: the span's
    quick look decodes such a file whole too (sensor.split.recording_span_h), so one decode
    serves both (0.04-0.15 s of CPU saved per 8-h .gt3x, .cwa or .bin). None for CSV: the
    look reads a plain file's ends and streams a .csv.gz's time column, in bounded memory,
    where reading a week's .csv.gz whole would hold all of it; None also for units other
    than auto (the look decodes with auto) and for a file the reader refuses (the usual
    path says why)."""
    from sleepmove.sensor.formats import check_plain_file, csv_text, identify_quietly
    from sleepmove.sensor.readers import read_recording

    units = options.get("units", "auto")
    try:
        check_plain_file(path)  # a pipe would block
        fmt = identify_quietly(path)
        if fmt is None or fmt is csv_text or units != "auto":
            return None
        return read_recording(path, units, zone)
    except InputError:
        return None


def _span_h(path: str, zone: str | None) -> float:
    """The recording's span, to tell a multi-day file; 0 when the quick look cannot read it,
    so that the analysis reads it and refuses it in the words `analyze` uses."""
    from sleepmove.sensor.split import recording_span_h

    try:
        return recording_span_h(path, zone)
    except InputError:
        return 0.0


def _os_error_line(error: OSError, inputs: list[str]) -> str:
    """An OSError as the one line an InputError gives: an input that cannot be read, or a
    result that cannot be written."""
    name = error.filename
    reason = error.strerror or str(error)
    if name is None:
        return reason
    name = os.fsdecode(name)
    action = "cannot read" if name in inputs else "cannot write"
    return str(InputError(name, f"{action} ({reason})"))


def _split_and_analyze(
    task: NightTask, path: str, inputs: str
) -> tuple[list[dict], list[float | None]]:
    """Each noon-to-noon slice of a multi-day file analyzed; a stub slice (under the
    shortest night analyzed, at a file's first or last day) is skipped with a note, and a
    night still done (its own key: `_mark_split_nights_done`) is kept as it is, unless
    --force.

    Also each slice's share of the time, by its samples (None for a night kept)."""
    from sleepmove.pipeline import MIN_DURATION_S, SHORTEST_ALLOWED_S
    from sleepmove.sensor.split import split_nights

    parts_dir = os.path.join(task.out_dir, "parts")
    side = next(iter(task.inputs))
    shortest = max(task.options.get("min_duration_s", MIN_DURATION_S), SHORTEST_ALLOWED_S)
    rows = []
    kept: set[str] = set()  # nights of the file still done
    try:
        parts = split_nights(path, parts_dir, timezone=task.options.get("timezone"))
        # A stub slice is skipped: a window on it is on no night analyzed (each refuses it).
        window_night = _whole_window_night(
            task.options, [part for part in parts if part.span_s >= shortest]
        )
        night_ids = [f"{task.night_id}/{part.night}" for part in parts]
        keys = {} if task.force else _night_keys_or_none(task, night_ids)
        for part, night_id in zip(parts, night_ids):  # a loop over nights
            label = f"{inputs} [{part.night}]"
            if part.span_s < shortest:
                held_min = math.floor(part.span_s / 6) / 10  # 599.9 s is not "10.0 min"
                note = (
                    f"{path} [{part.night}]: only {held_min:.1f} min in this "
                    f"noon-to-noon slice (under {shortest / 60:g} min); skipped"
                )
                rows.append({"id": night_id, "inputs": label, "status": "skipped", "error": note})
                continue
            out_dir = os.path.join(task.out_dir, part.night)
            still_done = _night_still_done(out_dir, night_id, keys.get(night_id))
            if still_done is not None:
                rows.append(still_done)
                kept.add(night_id)
                continue
            try:  # its results are replaced now: not done again until its key is rewritten
                os.unlink(os.path.join(out_dir, KEY_FILE))
            except FileNotFoundError:
                pass
            # The slice's file is a temporary copy: messages name the input and the night.
            shown = (part.path, f"{path} [{part.night}]")
            options = _night_options(task.options, part.night, window_night)
            rows.append(
                _analyze_one(
                    night_id,
                    {side: part.path},
                    out_dir,
                    options,
                    label,
                    shown=shown,
                    source=(path, part.warnings),
                )
            )
    finally:
        shutil.rmtree(parts_dir, ignore_errors=True)  # copies of the input: not kept
    timed = [part for part, row in zip(parts, rows) if row["id"] not in kept]
    total = sum(part.samples for part in timed) or 1
    shares = [None if row["id"] in kept else part.samples / total for part, row in zip(parts, rows)]
    return rows, shares


def _night_keys_or_none(task: NightTask, night_ids: list[str]) -> dict[str, str]:
    """The nights' keys; none (every night analyzed, which says what is wrong) where the
    key cannot be made: a recording gone meanwhile, parameters that cannot be resolved."""
    try:
        return task.night_keys(night_ids)
    except (OSError, ValueError, InputError):
        return {}


def _night_still_done(out_dir: str, night_id: str, key: str | None) -> dict | None:
    """The row of a multi-day file's night whose results are still those of this key (and
    all there), None if it is to be analyzed (or `key` is None: --force)."""
    if key is None or not _holds_key(out_dir, key):
        return None
    try:
        with open(os.path.join(out_dir, ROWS_FILE), encoding="utf-8") as handle:
            [row] = json.load(handle)
    except (OSError, ValueError, TypeError):  # unreadable, or not one night's row
        return None
    if not isinstance(row, dict) or row.get("id") != night_id or row.get("status") != "ok":
        return None
    if not all(os.path.exists(os.path.join(out_dir, name)) for name in NIGHT_FILES):
        return None
    return {"seconds": 0.0} | row


def _the_one_date(options: dict) -> str | None:
    """A one-night file given a dated sleep-log entry (`<id>/<date>`) takes it: the log's
    writer took it for part of a multi-day file, the window is still this night's. Several
    dates for one night cannot all be it."""
    dates = sorted(options.get("sleep_windows", {}))
    if len(dates) > 1:
        raise InputError(
            "--sleep-log",
            f"names {len(dates)} dates ({', '.join(dates)}) of a recording of one night",
            expected="one entry for a night (its id alone, or one <id>/<date>)",
        )
    return dates[0] if dates else None


def _whole_window_night(options: dict, parts: list[NightSlice]) -> str | None:
    """The night of a multi-day file that a dated window given for the whole file (a sleep
    log entry naming it whole, or --sleep-window) falls in: given to every night, the nights
    it does not fall in were refused as lying outside it, and lost. None where it fits every
    night (clock times, seconds) or none of them (a date the file does not hold: each night
    refuses it, as for a file of one night)."""
    from sleepmove.window import dated_night

    whole = options.get("sleep_window")
    if not whole or not parts:
        return None
    night = dated_night(whole, parts[0].clock, parts[0].zone)
    return night if night in {part.night for part in parts} else None


def _night_options(
    options: dict, night: str | None = None, window_night: str | None = None
) -> dict:
    """The analyze options of one night: a multi-day file's night (by its date) takes its own
    sleep window from the sleep log where it has one. `window_night`: the night a window
    given for the whole file belongs to (`_whole_window_night`); the others go without it."""
    windows = options.get("sleep_windows", {})
    options = {name: value for name, value in options.items() if name != "sleep_windows"}
    if window_night is not None and night != window_night:
        options.pop("sleep_window", None)
    if night in windows:
        options["sleep_window"] = windows[night]
    return options


# batch --respiratory-events: each night's file, NIGHT_FIELD its id (as nights.csv gives it)
RESPIRATORY_PATTERN = "respiratory_events_pattern"
NIGHT_FIELD = "{night}"


def _analyze_one(
    night_id: str,
    inputs: dict,
    out_dir: str,
    options: dict,
    label: str,
    recordings: dict | None = None,
    shown: tuple[str, str] | None = None,
    source: tuple[str, tuple[str, ...]] | None = None,
) -> dict:
    """`recordings`: the inputs already read (pipeline.analyze), else read there.
    `source`: a slice's file and what reading it whole said: its one input is read here and
    named by that file in the summary (the slice, a temporary copy, is gone after), with
    those warnings."""
    from dataclasses import replace

    from sleepmove.checks import replacing_outputs
    from sleepmove.pipeline import AnalyzeRequest, analyze
    from sleepmove.sensor.formats import read_recording

    study = study_file(options, night_id)
    options = {name: value for name, value in options.items() if name != RESPIRATORY_PATTERN}
    if study:  # the night's own sleep study
        options["respiratory_events"] = study
    try:
        with replacing_outputs(out_dir):  # a rerun (--force) leaves no older report behind
            request = AnalyzeRequest(inputs=dict(inputs), out_dir=out_dir, **options)
            if source is not None and recordings is None:
                [(side, path)] = request.inputs.items()
                read = read_recording(path, request.units, request.timezone)
                # Said of the whole file: which night a damaged block lay in is not kept.
                whole = [f"{os.path.basename(source[0])} (the whole file): {w}" for w in source[1]]
                told = [*whole, *(w for w in read.warnings if w not in source[1])]
                recordings = {side: replace(read, path=source[0], warnings=told)}
            summary = analyze(request, recordings=recordings).summary
    except InputError as error:
        message = str(error)
        if shown is not None:  # the slice, or the file it came from: named with its night
            names = [shown[0], *([source[0]] if source is not None else [])]
            message = re.sub("|".join(map(re.escape, names)), lambda _: shown[1], message)
        return _error_row(night_id, label, message)
    return {"id": night_id, "inputs": label, **summary_row(summary), "status": "ok", "error": ""}


def crashed_row(task: NightTask, ending: str = "", seconds: float = 0.0) -> dict:
    """The error row of a night whose analysis ended its process (a crash in native code,
    a signal): written by the batch, as the night could write nothing. `ending`: how the
    process ended, where known ("killed by SIGSEGV"); `seconds`: how long it ran, where
    known (every row has its time: the progress line reads it)."""
    how = f"{ending}: " if ending else ""
    row = _error_row(
        task.night_id,
        _inputs_label(task.inputs),
        f"the analysis of this night ended its process ({how}a crash in a decoder or a "
        "signal, no message): the file is likely damaged; it is tried again on the next run",
    )
    return row | {"seconds": round(seconds, 2)}


def _inputs_label(inputs: dict) -> str:
    return "; ".join(f"{side}={path}" if side else path for side, path in sorted(inputs.items()))


def _error_row(night_id: str, inputs: str, message: str) -> dict:
    return {"id": night_id, "inputs": inputs, "status": "error", "error": message}


def summary_row(summary: dict) -> dict:
    recording = summary["recording"]
    return {
        "start": recording["start"] or "",
        "duration_h": recording["duration_h"],
        "total_sleep_h": summary["sleep"]["total_sleep_h"],
        "sleep_source": summary["sleep"]["source"],  # given (a sleep window) or estimated
        "plm_index": summary["plm_index"],
        # the indices beside it that need no sleep estimate, or read it the other way
        "plm_index_in_bed": summary.get("plm_index_in_bed"),
        "sleep_estimate_drives_plm_index": summary.get("sleep_estimate_drives_plm_index"),
        "plm_index_awake_trains_asleep": summary.get("plm_index_awake_trains_asleep"),
        "plmw_index": summary["plmw_index"],
        "periodicity_index": summary["periodicity_index"],
        "jerk_rate_per_min": summary["jerk_rate_per_min"],
        "alternation_index": summary["alternation_index"],
        "data_loss_h": recording["data_loss_h"],
    }
