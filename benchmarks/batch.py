"""Batch acceptance: 20 simulated nights in mixed layouts, one broken; then throughput.

    python benchmarks/batch.py [--nights 20] [--hours 2] [--keep DIR]
                               [--sizes 8 32] [--rounds 3] [--workers N] [--only throughput]

Prints: the ok/error counts and the broken night's message; the wall time with 1 and with
2 workers and their ratio; whether both runs give the same nights.csv (timing aside) and the
same events; and a kill -9 in the middle of a batch followed by a rerun, with how many nights
the rerun analyzed.

Then throughput (issue 22): cohorts of 8 and 32 nights of 8 h at 50 Hz (one simulated night,
linked under as many names), and for each the wall time and CPU time of `batch --workers N`
(N: the cores) against the parse floor, a pool of N processes that only parse the same files
with pyarrow.csv.read_csv (target: batch <= 1.5 x the floor), and the time per night with
one worker and with N (wall x workers / nights; target: N workers <= 1.3 x one), with the
median time a night took inside its worker. The floor and the batches run in turn, `--rounds`
times, and the best and worst runs are shown: on a shared machine others' load falls on all
of them. With Dask installed, the same batch on a LocalCluster of N one-thread workers
against the local pool (the cluster's start not counted).
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

from benchmarks.speed import compile_bytecode  # noqa: E402
from sleepmove.sensor.simulate import SCENARIOS, simulate  # noqa: E402

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
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--only", choices=("acceptance", "throughput"))
    args = parser.parse_args()
    root = args.keep or tempfile.mkdtemp(prefix="sleepmove-batch-")
    compile_bytecode()
    if args.only != "throughput":
        acceptance(root, args.nights, args.hours)
    if args.only != "acceptance":
        throughput(root, args.sizes, args.rounds, args.workers)


def acceptance(root: str, nights: int, hours: float) -> None:
    if not os.path.exists(os.path.join(root, "cohort")):
        make_cohort(root, nights, hours)
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


FLOOR = """
import sys
from concurrent.futures import ProcessPoolExecutor

import pyarrow.csv


def parse(path):
    return pyarrow.csv.read_csv(path).num_rows


if __name__ == "__main__":
    with ProcessPoolExecutor(int(sys.argv[1])) as pool:
        list(pool.map(parse, sys.argv[2:]))
"""


def timed(command: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, the process and every process it waited for)."""
    before = os.times()
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - start
    after = os.times()
    return wall, (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )


def throughput_cohort(root: str, nights: int) -> tuple[str, list[str]]:
    """`nights` names for one simulated 8-h 50 Hz night (hard links where the disk allows)."""
    source = os.path.join(root, "night8h", "night.csv")
    if not os.path.exists(source):
        simulate(os.path.dirname(source), 8.0, 50.0, None, seed=5, scenario="plmd-moderate")
    folder = os.path.join(root, f"throughput{nights}")
    os.makedirs(folder, exist_ok=True)
    paths = [os.path.join(folder, f"n{index:03d}.csv") for index in range(nights)]
    for path in paths:
        if not os.path.exists(path):
            try:
                os.link(source, path)
            except OSError:
                shutil.copy(source, path)
    return folder, paths


def batch_command(folder: str, out: str, workers: int, *extra: str) -> list[str]:
    return [*CLI, folder, "--out", out, "--workers", str(workers), "--no-report", *extra]


def in_worker_seconds(out: str) -> float:
    return float(pd.read_csv(os.path.join(out, "nights.csv"))["seconds"].median())


def throughput(root: str, sizes: list[int], rounds: int, workers: int) -> None:
    floor_script = os.path.join(root, "floor.py")
    with open(floor_script, "w") as handle:
        handle.write(FLOOR)
    local: dict[str, tuple[str, float]] = {}  # the first cohort's folder and batch time
    for nights in sizes:  # a loop over cohorts
        folder, paths = throughput_cohort(root, nights)
        out = os.path.join(root, f"throughput-out{nights}")
        runs: dict[str, list[tuple[float, float]]] = {
            "floor": [], "floor_one": [], "batch": [], "one": []
        }  # fmt: skip
        inside: dict[str, list[float]] = {"batch": [], "one": []}
        load = os.getloadavg()[0]
        for _ in range(rounds):  # a loop over rounds: in turn, so that load falls on all
            runs["floor"].append(timed([sys.executable, floor_script, str(workers), *paths]))
            runs["floor_one"].append(timed([sys.executable, floor_script, "1", *paths]))
            for name, count in (("batch", workers), ("one", 1)):
                shutil.rmtree(out, ignore_errors=True)
                runs[name].append(timed(batch_command(folder, out, count)))
                inside[name].append(in_worker_seconds(out))
        best = {name: min(wall for wall, _ in r) for name, r in runs.items()}
        worst = {name: max(wall for wall, _ in r) for name, r in runs.items()}
        cpu = {name: min(c for _, c in r) for name, r in runs.items()}
        print(
            f"throughput: {nights} nights of 8 h at 50 Hz, {workers} workers, best and worst "
            f"of {rounds} rounds (load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} "
            "at the end)"
        )
        print(
            f"  parse floor (pool of {workers}): {best['floor']:.2f} s (worst "
            f"{worst['floor']:.2f}), CPU {cpu['floor']:.2f} s"
        )
        print(
            f"  batch --workers {workers}: {best['batch']:.2f} s (worst {worst['batch']:.2f}), "
            f"CPU {cpu['batch']:.2f} s: {best['batch'] / best['floor']:.2f} x floor (worst "
            f"{worst['batch'] / worst['floor']:.2f} x, CPU {cpu['batch'] / cpu['floor']:.2f} x; "
            "target <= 1.5)"
        )
        per_one = best["one"] / nights
        per_many = best["batch"] * workers / nights
        print(
            f"  time per night: 1 worker {per_one:.3f} s (worst {worst['one'] / nights:.3f}), "
            f"{workers} workers {per_many:.3f} s (worst {worst['batch'] * workers / nights:.3f}): "
            f"{per_many / per_one:.2f} x (target <= 1.3); inside the worker (median) "
            f"{min(inside['one']):.3f} vs {min(inside['batch']):.3f} s; CPU per night "
            f"{cpu['one'] / nights:.3f} vs {cpu['batch'] / nights:.3f} s (floor "
            f"{cpu['floor'] / nights:.3f} s)"
        )
        floor_one, floor_many = best["floor_one"] / nights, best["floor"] * workers / nights
        print(
            f"  the parse floor itself: 1 process {floor_one:.3f} s a night, {workers} processes "
            f"{floor_many:.3f} s: {floor_many / floor_one:.2f} x (one process parses on every "
            "core with Arrow's threads, as one batch worker does: the same measure as the "
            "batch's per-night target, for work that is nothing but the parse)"
        )
        local.setdefault("first", (folder, best["batch"]))
    # Last: a LocalCluster leaves threads in this process that take CPU from what follows
    # (32 nights at 1 worker measured 0.44 instead of 0.24 s a night after it).
    first_folder, first_batch_s = local["first"]
    dask_overhead(first_folder, root, workers, first_batch_s)


def dask_overhead(folder: str, root: str, workers: int, local_s: float) -> None:
    try:
        from distributed import LocalCluster
    except ImportError:
        print("Dask: not installed (pip install 'sleepmove[cluster]')")
        return
    out = os.path.join(root, "throughput-dask")
    shutil.rmtree(out, ignore_errors=True)
    with LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        command = batch_command(folder, out, workers, "--scheduler", cluster.scheduler_address)
        wall, _ = timed(command)
    nights = len([name for name in os.listdir(folder) if name.endswith(".csv")])
    print(
        f"Dask LocalCluster of {workers} one-thread workers, {nights} nights: {wall:.2f} s "
        f"against {local_s:.2f} s for the local pool ({wall / local_s:.2f} x; the cluster's "
        "start not counted)"
    )


if __name__ == "__main__":
    main()
