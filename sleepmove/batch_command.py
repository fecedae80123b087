"""The batch command: find nights, skip finished ones, run the rest, write the tables."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import pandas as pd

from reports.atomic import write_files
from sleepmove import __version__
from sleepmove.batch import ROW_COLUMNS, discover, finished_rows, is_done, make_tasks, shard
from sleepmove.runners import Progress, default_workers, run_dask, run_local


def options_of(args: argparse.Namespace) -> dict:
    options = {
        "criteria": args.criteria,
        "units": args.units,
        "placement": args.placement,
        "age_group": args.age_group,
        "sleep_window": args.sleep_window,
        "report": not args.no_report,
    }
    if args.timezone:  # only when given: a finished batch's nights keep their keys
        from sensor.zones import check_zone

        options["timezone"] = check_zone(args.timezone)
    if args.no_clock_alignment:  # likewise only when given
        options["clock_alignment"] = False
    from sleepmove.cli import min_duration_option

    options |= min_duration_option(args)  # likewise only when given
    return options


def run_batch_command(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    options = options_of(args)
    files = discover(args.inputs, args.out)
    if args.sleep_log:  # the log may lie among the recordings: it is not one
        log = os.path.realpath(args.sleep_log)
        files = [path for path in files if os.path.realpath(path) != log]
    tasks = make_tasks(files, args.out, options, args.pairs)
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
    tasks = shard(tasks, args.shard)
    done = [] if args.force else [t for t in tasks if is_done(t)]
    todo = [t for t in tasks if t not in done]
    rows = [row for t in done for row in finished_rows(t)]
    workers = args.workers or default_workers()
    progress = Progress(len(todo))
    if done:
        print(
            f"{len(done)} of {len(tasks)} nights already done with these parameters; "
            f"{len(todo)} to go"
        )
    results = run_dask(todo, args.scheduler) if args.scheduler else run_local(todo, workers)
    for task_rows in results:
        rows.extend(task_rows)
        progress.update(task_rows)
    table = pd.DataFrame(rows, columns=ROW_COLUMNS).sort_values("id").reset_index(drop=True)
    failed = int((table["status"] == "error").sum())
    skipped = int((table["status"] == "skipped").sum())
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
            "ok": int((table["status"] == "ok").sum()),
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
            name: table.to_csv(index=False, lineterminator="\n"),
            name.replace("nights", "batch").replace(".csv", ".json"): json.dumps(record, indent=2)
            + "\n",
        },
    )
    if not args.shard:  # a shard's nights are not the cohort: the unsharded pass writes them
        from sleepmove.cohort import write_cohort_tables

        write_cohort_tables(args.out, table.loc[table["status"] == "ok", "id"].tolist())
    also = f", {skipped} skipped (see nights.csv)" if skipped else ""
    print(f"{len(table) - failed - skipped} ok, {failed} failed{also}; {args.out}/{name}")
    return 1 if failed else 0
