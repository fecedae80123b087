"""Where the time goes: stage times, whole-process time and peak memory against a parse floor.

    python benchmarks/speed.py [--hours 8] [--repeats 3] [--keep DIR] [--linearity] [--formats]
                               [--cases 100hz-two ...] [--plain]

For 8-hour nights at 50 and 100 Hz, one and two sensors, prints the time of every stage
(read, preprocess, detect, score, outputs, report), the whole-process time and peak memory of
`sleepmove analyze --no-report` and with the report, and the floor measured in the same run:
a process that only parses the same CSV(s) with pyarrow.csv.read_csv. Ratios, not only
seconds: shared machines are noisy (the floor and `analyze --no-report` run in turn, and
their best and worst runs are shown). Also the time of grid, detection and scoring on arrays
already in memory. --cases picks nights (50hz-one, 50hz-two, 100hz-one, 100hz-two); --plain
times only the floor and `analyze --no-report`.

--formats: a night (8 h by default) in each device format, each built from its own real
sample file by benchmarks/device_files.py (so three different nights): .cwa (AX6, 100 Hz),
GENEActiv .bin (60 Hz, what the real file gives) and .gt3x (Link ACTIVITY2, 100 Hz); and as
CSV (the .gt3x's samples; and each format's own samples as CSV, the same night, for
"against the same night as CSV"): per format the
whole-process time of `analyze --no-report` against the bare decode of the file by the
chosen library in a process of its own (actfast.read for .cwa and .bin, our log.bin decoder
for .gt3x, pyarrow's CSV parse for the CSV), their ratio (target <= 1.6), and the CSV's time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sleepmove.detection.grid import regularize  # noqa: E402
from sleepmove.detection.movements import detect_movements  # noqa: E402
from sleepmove.detection.night import score_night  # noqa: E402
from sleepmove.detection.params import AnalysisParameters  # noqa: E402
from sleepmove.pipeline import AnalyzeRequest, StageClock, analyze, seconds_lost  # noqa: E402
from sleepmove.sensor.readers import read_recording  # noqa: E402
from sleepmove.sensor.simulate import simulate  # noqa: E402

FLOOR = "import sys, pyarrow.csv as c\nfor p in sys.argv[1:]: c.read_csv(p)"
SINGLE_BLAS = {"OPENBLAS_NUM_THREADS": "1"}
# A small launcher measures the child: a child forked straight from this (large) process
# would report this process's memory as its own peak.
LAUNCHER = """
import os, subprocess, sys, time
start = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
_, status, usage = os.wait4(child.pid, 0)
print(time.perf_counter() - start, usage.ru_maxrss / 1024, status)
sys.stderr.write(child.stderr.read().decode())
"""


def compile_bytecode() -> None:
    """Compile the project's bytecode, as `pip install` does: where PYTHONDONTWRITEBYTECODE is
    set (as in some containers and CI images) and the project is installed editable, every
    run would otherwise compile its sources again, which no installed copy does (measured:
    25 ms a run, 9 of them before the parse can start)."""
    import compileall

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for package in ("sensor", "detection", "reports", "sleepmove"):
        compileall.compile_dir(os.path.join(root, package), quiet=1)


def run(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MB) of one child process."""
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *command],
        capture_output=True,
        text=True,
        check=True,
        env=None if env is None else os.environ | env,
    )
    elapsed, peak_mb, status = done.stdout.split()
    if int(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{done.stderr}")
    return float(elapsed), float(peak_mb)


def best_of(
    command: list[str], repeats: int, env: dict[str, str] | None = None
) -> tuple[float, float]:
    results = [run(command, env) for _ in range(repeats)]
    return min(r[0] for r in results), max(r[1] for r in results)


def in_turn(commands: list[list[str]], repeats: int) -> list[tuple[float, float, float]]:
    """Best seconds, worst seconds and peak MB of each command, run one after the other
    `repeats` times: a load that comes and goes falls on all of them alike."""
    results: list[list[tuple[float, float]]] = [[] for _ in commands]
    for _ in range(repeats):  # a loop over rounds
        for index, command in enumerate(commands):
            results[index].append(run(command))
    return [(min(t for t, _ in r), max(t for t, _ in r), max(mb for _, mb in r)) for r in results]


def analyze_args(files: dict[str, str]) -> list[str]:
    if "single" in files:
        return [files["single"]]
    return ["--left", files["left"], "--right", files["right"]]


def in_memory_seconds(files: dict[str, str], repeats: int) -> tuple[float, float, int]:
    """Best seconds of (grid, detection + scoring) on arrays already in memory, and samples."""
    params = AnalysisParameters()
    recordings = {side: read_recording(path) for side, path in files.items()}
    best_grid = best_detect = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        grids = {side: regularize(r.time_s, r.xyz_g) for side, r in recordings.items()}
        gridded = time.perf_counter()
        origin = min(g.start_s for g in grids.values())
        events, legs = detect_movements(grids, origin, params.detection, params.rules)
        duration = max(g.end_s for g in grids.values()) - origin
        gaps = next(iter(grids.values())).gaps_s - origin
        loss = seconds_lost(gaps, int(duration) + 1)
        score_night(events, duration, gaps, loss, legs[0].activity_per_min, len(grids) == 2, params)
        best_grid = min(best_grid, gridded - start)
        best_detect = min(best_detect, time.perf_counter() - gridded)
    return best_grid, best_detect, sum(g.n for g in grids.values())


def _kept_night(folder: str, rate: float) -> dict | None:
    """The truth of a night generated earlier at this rate for every sensor, if any."""
    try:
        with open(os.path.join(folder, "truth.json")) as handle:
            truth = json.load(handle)
    except FileNotFoundError:
        return None
    rates = {sensor["rate_hz"] for sensor in truth["sensors"].values()}
    return truth if rates == {rate} else None


def linearity(work: str, repeats: int) -> None:
    """Whole-process seconds per recorded hour for 1, 8 and 24 hours."""
    cli = [sys.executable, "-m", "sleepmove.cli", "analyze"]
    for hours in (1, 8, 24):
        folder = os.path.join(work, f"linear-{hours}h")
        if not os.path.exists(os.path.join(folder, "night.csv")):
            simulate(folder, float(hours), 50.0, None, seed=5, scenario="plmd-moderate")
        path = os.path.join(folder, "night.csv")
        elapsed, peak = best_of(
            [*cli, path, "--out", os.path.join(folder, "out"), "--no-report"], repeats
        )
        floor, _ = best_of([sys.executable, "-c", FLOOR, path], repeats)
        print(
            f"{hours:2d} h: {elapsed:.2f} s ({elapsed / hours:.3f} s per hour, "
            f"{elapsed / floor:.2f} x floor), peak {peak:.0f} MB ({peak / hours:.0f} MB per hour)"
        )


DECODE = {
    "cwa": "import sys, actfast\nactfast.read(sys.argv[1])",
    "bin": "import sys, actfast\nactfast.read(sys.argv[1])",
    "gt3x": "import sys, zipfile\nfrom sleepmove.sensor.formats.gt3x import decode_log\n"
    "log = zipfile.ZipFile(sys.argv[1]).read('log.bin')\ndecode_log(log, 100.0, 256.0)",
    "csv": FLOOR,
}


def spread(command: list[str], repeats: int) -> tuple[float, float]:
    """Best and worst wall seconds of `repeats` runs."""
    times = [run(command)[0] for _ in range(repeats)]
    return min(times), max(times)


def formats(work: str, hours: float, repeats: int) -> None:
    """Per device format: analyze --no-report against the bare decode, and the CSV."""
    from benchmarks.device_files import build

    paths = build(os.path.join(work, "formats"), hours * 60)
    cli = [sys.executable, "-m", "sleepmove.cli", "analyze"]
    print(f"{hours:g}-hour night per format; best (worst) of {repeats} runs, whole processes")
    results = {}
    for fmt in ("cwa", "gt3x", "bin", "csv"):
        path = paths[fmt]
        out = os.path.join(work, "formats", f"out-{fmt}")
        analyzed = spread([*cli, path, "--out", out, "--no-report"], repeats)
        decoded = spread([sys.executable, "-c", DECODE[fmt], path], repeats)
        results[fmt] = analyzed
        size = os.path.getsize(path) / 1e6
        print(
            f"  {fmt:4} {size:6.1f} MB  analyze --no-report {analyzed[0]:.2f} s ({analyzed[1]:.2f})"
            f"  bare decode {decoded[0]:.2f} s ({decoded[1]:.2f})  ratio "
            f"{analyzed[0] / decoded[0]:.2f} x (target <= 1.6)"
        )
    for fmt in ("cwa", "gt3x", "bin"):  # each against its own samples as a CSV
        out = os.path.join(work, "formats", f"out-csv-{fmt}")
        as_csv = spread([*cli, paths[f"csv-{fmt}"], "--out", out, "--no-report"], repeats)
        print(
            f"  {fmt} against the same night as CSV: {results[fmt][0]:.2f} s vs "
            f"{as_csv[0]:.2f} s ({results[fmt][0] / as_csv[0]:.2f} x)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=8.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", help="folder to keep the generated nights in")
    parser.add_argument(
        "--linearity",
        action="store_true",
        help="only check that cost grows linearly (1, 8 and 24 hours at 50 Hz)",
    )
    parser.add_argument(
        "--formats",
        action="store_true",
        help="only compare device formats (.cwa, .gt3x, .bin built from ../shared/data/real) "
        "with their bare decode and with the same night as CSV",
    )
    parser.add_argument(
        "--cases",
        nargs="+",
        choices=["50hz-one", "50hz-two", "100hz-one", "100hz-two"],
        help="only these nights (default: all four)",
    )
    parser.add_argument(
        "--plain",
        action="store_true",
        help="only the parse floor and analyze --no-report (no report, stages or in-memory)",
    )
    args = parser.parse_args()
    compile_bytecode()
    if args.formats:
        formats(args.keep or tempfile.mkdtemp(prefix="sleepmove-speed-"), args.hours, args.repeats)
        return
    if args.linearity:
        linearity(args.keep or tempfile.mkdtemp(prefix="sleepmove-speed-"), args.repeats)
        return
    work = args.keep or tempfile.mkdtemp(prefix="sleepmove-speed-")
    cli = [sys.executable, "-m", "sleepmove.cli"]
    print(f"{args.hours:g}-hour nights; best of {args.repeats} runs; memory = peak RSS")
    for rate in (50.0, 100.0):
        for sides in ([], ["left", "right"]):
            name = f"{int(rate)}hz-{'two' if sides else 'one'}"
            if args.cases and name not in args.cases:
                continue
            folder = os.path.join(work, name)
            truth = _kept_night(folder, rate)
            if truth is None:
                truth = simulate(
                    folder,
                    args.hours,
                    rate,
                    sides,
                    seed=11,
                    scenario="plmd-moderate",
                    mixed_rates=False,
                )
            files = {k: os.path.join(folder, v) for k, v in truth["files"].items()}
            size_mb = sum(os.path.getsize(p) for p in files.values()) / 1e6
            out = os.path.join(folder, "out")
            rates = ", ".join(f"{s} {v['rate_hz']:g} Hz" for s, v in truth["sensors"].items())
            floor, plain = in_turn(
                [
                    [sys.executable, "-c", FLOOR, *files.values()],
                    [*cli, "analyze", *analyze_args(files), "--out", out, "--no-report"],
                ],
                args.repeats,
            )
            (floor_s, floor_worst, floor_mb), (plain_s, plain_worst, plain_mb) = floor, plain
            if args.plain:
                print(
                    f"\n{name}: {size_mb:.0f} MB of CSV ({rates})\n"
                    f"  pyarrow parse floor: {floor_s:.2f} s (worst {floor_worst:.2f})\n"
                    f"  analyze --no-report: {plain_s:.2f} s (worst {plain_worst:.2f}), "
                    f"{plain_s / floor_s:.2f} x floor, {plain_mb:.0f} MB"
                )
                continue
            # The CLI turns off numpy's idle OpenBLAS threads (see sleepmove/cli.py); the
            # floor is the plain parse, and also shown under the same setting.
            lean_floor_s, _ = best_of(
                [sys.executable, "-c", FLOOR, *files.values()], args.repeats, SINGLE_BLAS
            )
            full_s, full_mb = best_of(
                [*cli, "analyze", *analyze_args(files), "--out", out], args.repeats
            )
            stages = StageClock()
            inputs = {("" if k == "single" else k): v for k, v in files.items()}
            analyze(AnalyzeRequest(inputs, out), stages)
            grid_s, detect_s, samples = in_memory_seconds(files, args.repeats)
            print(f"\n{name}: {size_mb:.0f} MB of CSV ({rates})")
            print("  stages (s): " + "  ".join(f"{k} {v:.2f}" for k, v in stages.seconds.items()))
            print(
                f"  pyarrow parse floor: {floor_s:.2f} s (worst {floor_worst:.2f}), "
                f"{floor_mb:.0f} MB ({lean_floor_s:.2f} s with OPENBLAS_NUM_THREADS=1)"
            )
            print(
                f"  analyze --no-report: {plain_s:.2f} s (worst {plain_worst:.2f}; "
                f"{plain_s / floor_s:.2f} x floor, "
                f"{plain_s / lean_floor_s:.2f} x the floor without OpenBLAS threads), "
                f"{plain_mb:.0f} MB ({plain_mb / floor_mb:.2f} x floor)"
            )
            print(
                f"  analyze with report: {full_s:.2f} s (report adds {full_s - plain_s:+.2f} s), "
                f"{full_mb:.0f} MB"
            )
            print(
                f"  on arrays in memory: grid {grid_s:.2f} s + detect and score {detect_s:.2f} s"
                f" = {grid_s + detect_s:.2f} s for {samples / 1e6:.2f} M samples x 3 axes "
                f"({samples / (grid_s + detect_s) / 1e6:.1f} M samples/s; target 8 h at 100 Hz "
                "in 0.3 s, about 10 M/s)"
            )
    if args.plain or args.cases:
        return
    for command in (["--help"], ["analyze", "--help"]):
        elapsed, _ = best_of([*cli, *command], 3)
        print(f"\nsleepmove {' '.join(command)}: {elapsed:.2f} s")


if __name__ == "__main__":
    main()
