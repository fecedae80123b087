"""The batch command: find nights, skip finished ones, run the rest, write the tables."""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import numbers
import os
import platform
import re
import sys
import time
from dataclasses import replace

from sleepmove import __version__
from sleepmove.base.atomic import write_files
from sleepmove.base.errors import InputError
from sleepmove.base.words import how_many
from sleepmove.batch import (
    KEY_FILE,
    NIGHT_FIELD,
    RESPIRATORY_PATTERN,
    ROW_COLUMNS,
    NightTask,
    discover,
    finished_rows,
    is_done,
    make_tasks,
    shard,
)
from sleepmove.batch_guard import batch_lock, check_same_recordings, remove_cohort_tables
from sleepmove.runners import Progress, default_workers, run_dask, run_local

# How a night's refusal of its --sleep-window begins (InputError names the option).
WINDOW_REFUSAL = "--sleep-window: "


def options_of(args: argparse.Namespace) -> dict:
    options = {
        "criteria": args.criteria,
        "units": args.units,
        "placement": args.placement,
        "age_group": args.age_group,
        "sleep_window": args.sleep_window,
        "report": not args.no_report,
    }
    # Only when given: a finished batch's nights keep their keys ("" is given, and refused)
    if args.timezone is not None:
        from sleepmove.sensor.zones import check_zone

        options["timezone"] = check_zone(args.timezone)
    if args.no_clock_alignment:  # likewise only when given
        options["clock_alignment"] = False
    from sleepmove.cli import min_duration_option

    options |= min_duration_option(args)  # likewise only when given
    if getattr(args, "parameter_changes", None):  # a --config file's parameters: likewise
        options["parameter_changes"] = args.parameter_changes
    pattern = getattr(args, "respiratory_events", None)
    if pattern:  # likewise; each night's file from it (batch._analyze_one)
        options[RESPIRATORY_PATTERN] = pattern
    return options


def run_batch_command(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    # Options every night shares are checked before any night runs, as analyze checks
    # them before its read: a bad one would otherwise fail each night in turn.
    if args.workers is not None and args.workers < 1:
        raise InputError("--workers", f"{args.workers}", expected="a number of processes >= 1")
    pattern = getattr(args, "respiratory_events", None)
    if pattern and NIGHT_FIELD not in pattern:
        if "respiratory_events" not in getattr(args, "from_settings", {}):
            raise InputError(
                "--respiratory-events",
                f"{pattern!r} names one file; a batch's nights each have their own",
                expected=f"a pattern holding {NIGHT_FIELD}, e.g. 'psg/{NIGHT_FIELD}-nsrr.xml'",
            )
        print(  # a night's settings.toml (--config) names its own file
            f"sleepmove: warning: {args.config}: [options] respiratory_events is one night's "
            f"sleep study, not a pattern holding {NIGHT_FIELD}: not applied to a batch",
            file=sys.stderr,
        )
        args.respiratory_events = None
    if args.sleep_window:
        from sleepmove.sleep_log import check_sleep_window

        check_sleep_window(args.sleep_window)
    options = options_of(args)
    files = discover(args.inputs, args.out)
    if args.sleep_log:  # the log may lie among the recordings: it is not one
        log = os.path.realpath(args.sleep_log)
        files = [path for path in files if os.path.realpath(path) != log]
    if not files:  # bad input, as a path that names nothing is: exit 2, nothing written
        raise InputError(
            " ".join(args.inputs),
            "no recording found",
            expected="CSV files (.csv, .csv.gz) or device files (.cwa, .bin, .gt3x, Parquet)",
        )
    tasks = make_tasks(files, args.out, options, args.pairs, args.inputs)
    if args.sleep_log:  # checked whole, and against every night, before any night runs
        from sleepmove.sleep_log import apply_sleep_log, read_sleep_log

        tasks, unmatched = apply_sleep_log(tasks, read_sleep_log(args.sleep_log), args.sleep_log)
        if unmatched:
            names = ", ".join(repr(entry.night) for entry in unmatched[:5])
            more = f" and {len(unmatched) - 5} more" if len(unmatched) > 5 else ""
            print(
                f"sleepmove: warning: {args.sleep_log}: {len(unmatched)} "
                f"{'entry names' if len(unmatched) == 1 else 'entries name'} no night found "
                f"({names}{more}); ignored",
                file=sys.stderr,
            )
    if args.pairs and all("" in task.inputs for task in tasks):
        # Asked to pair and paired nothing: every night is one leg, which a mistyped
        # pattern should not make silently (a warning: one command may serve every cohort).
        print(
            f"sleepmove: warning: --pairs {args.pairs!r} fits none of the {len(files)} "
            f"recordings found (such as {os.path.basename(files[0])}); each is a night of "
            "one sensor",
            file=sys.stderr,
        )
    if args.pairs:
        _warn_of_lone_legs(tasks, args.pairs)
    tasks = shard(tasks, args.shard)
    with batch_lock(args.out, args.shard):  # then checked: no batch writes meanwhile
        check_same_recordings({task.out_dir: task.inputs for task in tasks})
        return _run_tasks(args, tasks, options, started)


def _run_tasks(
    args: argparse.Namespace, tasks: list[NightTask], options: dict, started: float
) -> int:
    """Skip the nights done, run the rest, write the tables."""
    done = [] if args.force else [t for t in tasks if is_done(t)]
    todo = [t for t in tasks if t not in done]
    if args.force:  # nor is any night of a multi-day file kept as still done
        todo = [replace(t, force=True) for t in todo]
    rows = [row for t in done for row in finished_rows(t)]
    workers = args.workers or default_workers()
    if args.workers and not args.scheduler and workers > default_workers():
        # Each worker holds a night in memory: a pool of 1000 forked 1000 processes, and
        # workers beyond the cores only share them.
        print(
            f"sleepmove: warning: --workers {workers}: more than this machine's "
            f"{default_workers()} cores; using {default_workers()}",
            file=sys.stderr,
        )
        workers = default_workers()
    progress = Progress(len(todo))
    if done:
        print(
            f"{len(done)} of {len(tasks)} nights already done with these parameters; "
            f"{len(todo)} to go"
        )
    results = run_dask(todo, args.scheduler) if args.scheduler else run_local(todo, workers)
    if todo:  # written anew at the end; a run cut short leaves none rather than stale ones
        # (after the connection to a scheduler: one that cannot be reached changes nothing)
        remove_cohort_tables(args.out, args.shard)
    given = args.sleep_window
    logged = {
        task.night_id
        for task in todo
        if args.sleep_log and task.options.get("sleep_window", given) != given
    }
    configured = getattr(args, "from_settings", {}).get("sleep_window")
    try:
        for task_rows in results:
            for row in task_rows:  # a loop over nights
                if not row["error"].startswith(WINDOW_REFUSAL):
                    continue
                # The user gave no --sleep-window: name the line of the log, or of the
                # --config file, that did (as analyze names the file's).
                told = row["error"].removeprefix(WINDOW_REFUSAL)
                if row["id"] in logged:
                    row["error"] = f"{args.sleep_log}: lights_out,lights_on {told}"
                elif configured is not None:
                    row["error"] = f"{args.config}: [options] sleep_window = {configured!r}: {told}"
            rows.extend(task_rows)
            progress.update(task_rows)
    finally:  # the night child (--workers 1) ends with the loop, however it ends
        getattr(results, "close", lambda: None)()
    rows.sort(key=lambda row: row["id"])
    statuses = [row["status"] for row in rows]
    failed, skipped = statuses.count("error"), statuses.count("skipped")
    record = {
        "parameters": {
            "analysis": options,
            "workers": None if args.scheduler else workers,
            "scheduler": args.scheduler,
            "pairs": args.pairs,
            "sleep_log": args.sleep_log,
            "shard": args.shard,
            "force": args.force,
            "inputs": args.inputs,
        },
        "versions": {"sleepmove": __version__, "python": platform.python_version()},
        "counts": {
            "nights": len(tasks),
            "skipped": len(done),
            "analyzed": len(todo),
            "ok": statuses.count("ok"),
            "error": failed,
        },
        "timing": {"wall_s": round(time.perf_counter() - started, 2)},
    }
    if skipped:  # stub slices of multi-day files, each with its note in nights.csv
        record["counts"]["stubs_skipped"] = skipped
    name = f"nights-{args.shard.replace('/', 'of')}.csv" if args.shard else "nights.csv"
    write_files(
        args.out,
        {
            name: nights_csv(rows),
            name.replace("nights", "batch").replace(".csv", ".json"): json.dumps(record, indent=2)
            + "\n",
        },
    )
    _remove_stale_shard_files(args.out, args.shard)
    if not args.shard:  # a shard's nights are not the cohort: the unsharded pass writes them
        from sleepmove.cohort import write_cohort_tables

        left_out = write_cohort_tables(
            args.out, [row["id"] for row in rows if row["status"] == "ok"]
        )
        _undo(left_out, args.out)
    also = f", {skipped} skipped (see nights.csv)" if skipped else ""
    where = _printable(os.path.join(args.out, name))  # stdout may refuse a non-UTF-8 name
    print(f"{len(rows) - failed - skipped} ok, {failed} failed{also}; {where}")
    return 1 if failed else 0


def _undo(night_ids: set[str], out: str) -> None:
    """Nights whose tables could not be read into the cohort's (damaged since): no longer
    done, so the next run analyzes them again rather than skip them for ever. A night of a
    multi-day file has a key of its own too: the next run redoes it, not its sisters."""
    for night in night_ids:  # a loop over the nights left out
        try:
            os.unlink(os.path.join(out, night, KEY_FILE))
        except OSError:  # none (already undone)
            pass


def _warn_of_lone_legs(tasks: list[NightTask], pairs: str) -> None:
    """Nights the pattern found one leg of: analyzed as one sensor, which a missing or
    misnamed file should not make silently."""
    lone = [task for task in tasks if len(task.inputs) == 1 and "" not in task.inputs]
    if lone:
        shown = ", ".join(
            f"{task.night_id} ({next(iter(task.inputs))} only)" for task in lone[:3]
        ) + (f" and {len(lone) - 3} more" if len(lone) > 3 else "")
        print(
            f"sleepmove: warning: --pairs {pairs!r} found one leg of "
            f"{how_many(len(lone), 'night')}, each analyzed as one sensor: {shown}",
            file=sys.stderr,
        )


def _remove_stale_shard_files(out: str, spec: str | None) -> None:
    """The tables of shards this run makes stale: a run of --shard K/N leaves those of
    another N (a cohort cut another way), the unsharded pass, which holds every night,
    all of them. Left, nights-1of2.csv beside a rerun's nights-1of3.csv read as current."""
    kept = spec.split("/")[1] if spec else None
    for name in os.listdir(out):  # a loop over the batch folder's files
        match = re.fullmatch(r"(?:nights|batch)-\d+of(\d+)\.(?:csv|json)", name)
        if match and match[1] != kept:
            try:
                os.unlink(os.path.join(out, name))
            except OSError:  # not ours to remove: left, as before
                pass


def nights_csv(rows: list[dict]) -> str:
    """nights.csv, byte for byte as pandas wrote it (`DataFrame(rows, columns=ROW_COLUMNS)
    .to_csv(index=False)`, a test holds the two equal), without importing pandas: that was
    0.3 s of CPU at the start of every batch, before the first night could start."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(ROW_COLUMNS)
    columns = [_column_texts([row.get(name) for row in rows]) for name in ROW_COLUMNS]
    writer.writerows(zip(*columns))
    return text.getvalue()


def _column_texts(values: list) -> list[str]:
    """A column's fields as pandas writes them: a column of numbers alone is numeric (floats
    as their shortest exact text; integers stay integers only when none is missing or a
    float), anything else is written as text; a missing value is an empty field."""
    present = [value for value in values if not _missing(value)]
    numeric = all(
        isinstance(value, numbers.Real) and not isinstance(value, bool) for value in present
    )
    if numeric and present:
        whole = len(present) == len(values)
        whole = whole and all(isinstance(value, numbers.Integral) for value in present)
        return [
            "" if _missing(value) else str(value) if whole else repr(float(value))
            for value in values
        ]
    return ["" if _missing(value) else _printable(str(value)) for value in values]


def _printable(text: str) -> str:
    """Text that UTF-8 can hold: a file name that is not UTF-8 (its bytes kept by Python as
    lone surrogates) shown with its odd bytes as \\xe9, as Python shows them; the file
    name in nights.csv stays readable and the table can still be written."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate no file name decodes to
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
