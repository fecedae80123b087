"""What keeps a batch folder's results true: one batch at a time, each night folder the
results of one recording, and no cohort table left describing a run that is being redone."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from sleepmove.base.errors import InputError

INPUTS_FILE = "batch-inputs.json"  # per night folder: the recordings its results are of
LOCK_FILE = ".batch.lock"
NIGHT_LOCKS = ".batch-locks"  # in --out: a lock file per night (task) a batch writes
# The cohort tables of the unsharded pass (a shard's are nights-KofN.csv, batch-KofN.json)
COHORT_TABLES = ("nights.csv", "batch.json", "events.parquet", "epochs.parquet")


def inputs_record(inputs: dict[str, str]) -> str:
    """The night's recordings (side -> [real path, size]), as INPUTS_FILE holds them."""
    return json.dumps({side: _identity(path) for side, path in inputs.items()}) + "\n"


def _identity(path: str) -> list:
    """A recording's real path and size: a copy (a cohort staged to scratch) is the same."""
    try:
        return [os.path.realpath(path), os.path.getsize(path)]
    except OSError:  # gone meanwhile: its night says so when it runs
        return [os.path.realpath(path), None]


def check_same_recordings(night_folders: dict[str, dict[str, str]]) -> None:
    """Refuse a night whose folder holds the results of another recording that still
    exists (two cohorts' n01 into one --out): the batch would replace them, or on a
    failure remove them, without a word. A recording moved since, or a copy of it (the
    same size), is the same night."""
    for folder, inputs in night_folders.items():  # a loop over nights
        try:
            with open(os.path.join(folder, INPUTS_FILE), encoding="utf-8") as handle:
                recorded = json.load(handle)
        except (OSError, ValueError):  # none yet (or from before this file): nothing to hold
            continue
        if not isinstance(recorded, dict):
            continue
        for side, made_from in recorded.items():  # a loop over the night's sensors
            pair = isinstance(made_from, list) and len(made_from) == 2
            path, size = made_from if pair else (made_from, None)
            now = _identity(inputs[side]) if side in inputs else [None, None]
            if not isinstance(path, str) or now[0] == path or not os.path.isfile(path):
                continue  # the same file, or one moved since
            if size is None or now[1] != size:  # not a copy of it either
                shown = next(iter(inputs.values()))
                raise InputError(
                    shown,
                    f"would replace the results in {folder}, which are of {path}",
                    expected="another --out for another cohort, or that folder removed first",
                )


def hold_batch_lock(out_dir: str, shard: str | None) -> list[IO]:
    """Locks held until the process ends: an unsharded batch alone in `out_dir`; shards
    (a job array's) side by side, each once. Two batches writing one folder at once mixed
    their nights' files and tables. Shards cut two ways (1/2 beside 1/3) share nights: each
    night is written under a lock of its own too (`night_lock`). Where file locks are not
    offered, none is taken."""
    try:
        import fcntl
    except ImportError:  # Windows
        return []
    os.makedirs(out_dir, exist_ok=True)
    names = [(LOCK_FILE, fcntl.LOCK_SH if shard else fcntl.LOCK_EX)]
    if shard:
        names.append((f".batch-{shard.replace('/', 'of')}.lock", fcntl.LOCK_EX))
    held = []
    for name, mode in names:  # a loop over (at most two) locks
        handle = open(os.path.join(out_dir, name), "a")  # noqa: SIM115 (held till exit)
        try:
            fcntl.flock(handle, mode | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise InputError(
                out_dir,
                "another batch is writing into this folder"
                + (f" (shard {shard}, or the whole cohort)" if shard else ""),
                expected="one batch at a time per --out (wait for it to end), or another --out",
            ) from None
        held.append(handle)
    return held


@contextmanager
def night_lock(night_folder: str) -> Iterator[None]:
    """Held while a process writes a night's folder (a multi-day file's, all of its
    nights'). The batch lock lets shards of one N run side by side, as their nights differ;
    shards cut two ways (--shard 1/2 beside --shard 1/3) share nights, and both wrote one
    night's files at once. A night another batch holds is waited for, said in one warning
    line: the caller then finds it done, or does it again whole. Where file locks are not
    offered, none is taken; OSError where the lock file cannot be made."""
    try:
        import fcntl
    except ImportError:  # Windows
        yield
        return
    out_dir, night = os.path.split(os.path.normpath(night_folder))
    folder = os.path.join(out_dir, NIGHT_LOCKS)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, f"{night}.lock"), "a") as handle:  # closed: released
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(
                f"sleepmove: warning: {night}: another batch is writing this night's "
                "results; waiting for it to finish",
                file=sys.stderr,
                flush=True,
            )
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


@contextmanager
def batch_lock(out_dir: str, shard: str | None) -> Iterator[None]:
    """`hold_batch_lock` for a batch's run; a run that ends in an error before it wrote
    anything (a scheduler it cannot reach) takes back the folder it made for the lock."""
    made = not os.path.isdir(out_dir)
    held = hold_batch_lock(out_dir, shard)
    try:
        yield
    except BaseException:
        if made:
            _remove_if_only_locks(out_dir, held)
        raise
    finally:
        for handle in held:  # a loop over (at most two) locks
            handle.close()


def _remove_if_only_locks(out_dir: str, held: list[IO]) -> None:
    names = {os.path.basename(handle.name) for handle in held}
    try:
        if set(os.listdir(out_dir)) <= names:
            for name in names:  # a loop over (at most two) locks
                os.unlink(os.path.join(out_dir, name))
            os.rmdir(out_dir)
    except OSError:  # another process's files meanwhile: left as they are
        pass


def remove_cohort_tables(out_dir: str, shard: str | None) -> None:
    """Before any night is analyzed again: the tables of the earlier run, which a run cut
    short would leave describing nights whose folders now hold other results."""
    names = list(COHORT_TABLES)
    if shard:
        tag = shard.replace("/", "of")
        names += [f"nights-{tag}.csv", f"batch-{tag}.json"]
    for name in names:  # a loop over a few tables
        try:
            os.unlink(os.path.join(out_dir, name))
        except FileNotFoundError:
            pass
