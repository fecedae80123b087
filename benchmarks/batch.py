"""Batch acceptance: 20 simulated nights in mixed layouts, one broken.

    python benchmarks/batch.py [--nights 20] [--hours 2] [--keep DIR]

Prints: the ok/error counts and the broken night's message; the wall time with 1 and with
2 workers and their ratio; whether both runs give the same nights.csv (timing aside) and the
same events; and a kill -9 in the middle of a batch followed by a rerun, with how many nights
the rerun analyzed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sensor.simulate import SCENARIOS, simulate  # noqa: E402

CLI = [sys.executable, "-m", "sleepmove.cli", "batch"]


def make_cohort(root: str, nights: int, hours: float) -> None:
    """Mixed layouts: single files, gzipped files, pairs in subfolders, one broken file."""
    scenarios = list(SCENARIOS)
    for index in range(nights - 1):
        scenario = scenarios[index % len(scenarios)]
        folder = os.path.join(root, "sims", f"n{index:02d}")
        truth = simulate(
            folder, hours, 25.0, None, seed=index, scenario=scenario, compress=index % 3 == 0
        )
        target = os.path.join(root, "cohort", f"site{index % 2}")
        os.makedirs(target, exist_ok=True)
        for side, name in truth["files"].items():
            suffix = ".csv.gz" if name.endswith(".gz") else ".csv"
            label = f"_{side}" if side in ("left", "right") else ""
            shutil.copy(
                os.path.join(folder, name), os.path.join(target, f"night{index:02d}{label}{suffix}")
            )
    with open(os.path.join(root, "cohort", "broken.csv"), "w") as handle:
        handle.write("time,x,y,z\n0,0,0,1\n0.02,0,0,oops\n")


def batch(root: str, out: str, workers: int) -> float:
    start = time.perf_counter()
    subprocess.run(
        [
            *CLI,
            os.path.join(root, "cohort"),
            "--out",
            out,
            "--workers",
            str(workers),
            "--pairs",
            "{night}_{side}.csv",
            "--no-report",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nights", type=int, default=20)
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--keep")
    args = parser.parse_args()
    root = args.keep or tempfile.mkdtemp(prefix="sleepmove-batch-")
    if not os.path.exists(os.path.join(root, "cohort")):
        make_cohort(root, args.nights, args.hours)
    times = {}
    for workers in (1, 2):
        out = os.path.join(root, f"out{workers}")
        shutil.rmtree(out, ignore_errors=True)
        times[workers] = batch(root, out, workers)
    one = pd.read_csv(os.path.join(root, "out1", "nights.csv"), keep_default_na=False)
    two = pd.read_csv(os.path.join(root, "out2", "nights.csv"), keep_default_na=False)
    print(
        f"{len(one)} nights: {int((one.status == 'ok').sum())} ok, "
        f"{int((one.status == 'error').sum())} error"
    )
    for row in one[one.status == "error"].itertuples():
        print(f"  {row.id}: {row.error}")
    print(
        f"1 worker {times[1]:.1f} s, 2 workers {times[2]:.1f} s: "
        f"ratio {times[2] / times[1]:.2f} (target <= 0.6)"
    )
    same_table = one.drop(columns="seconds").equals(two.drop(columns="seconds"))
    same_events = all(
        open(os.path.join(root, "out1", n, "events.csv")).read()
        == open(os.path.join(root, "out2", n, "events.csv")).read()
        for n in one[one.status == "ok"].id
    )
    print(f"2 workers equal 1 worker: nights.csv {same_table}, events {same_events}")
    out = os.path.join(root, "killed")
    shutil.rmtree(out, ignore_errors=True)
    process = subprocess.Popen(
        [
            *CLI,
            os.path.join(root, "cohort"),
            "--out",
            out,
            "--workers",
            "2",
            "--pairs",
            "{night}_{side}.csv",
            "--no-report",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    time.sleep(times[2] / 2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    finished = sum(os.path.exists(os.path.join(out, n, "batch-key.txt")) for n in one.id)
    batch(root, out, 2)
    record = json.load(open(os.path.join(out, "batch.json")))
    print(
        f"kill -9 halfway: {finished} nights were finished; the rerun skipped "
        f"{record['counts']['skipped']} and analyzed {record['counts']['analyzed']} "
        f"(the broken one included), {record['counts']['ok']} ok in the end"
    )


if __name__ == "__main__":
    main()
