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

--formats: two sections, each per device format the whole-process time of `analyze
--no-report` against the bare decode of the file by the chosen library in a process of its
own (actfast.read for .cwa and .bin, our log.bin decoder for .gt3x), their ratio (target
<= 1.6); beside it, grid, detection and scoring of the same samples already in memory,
whose sum with the bare decode is the least ratio any reading could reach; and the same
samples written as a CSV (analyze of that CSV, and its ratio).
1. The headline: a sleep night. One simulated night (seed 11, plmd-moderate, 100 Hz) written
   in every format by benchmarks/device_night_writer.py: .cwa as the real AX6 (with its
   gyroscope, 0) and as the real AX3 (packed), .gt3x (Link ACTIVITY2) and GENEActiv .bin
   (whose reader honours the header's and pages' Measurement Frequency: 100 Hz too).
   Headers and non-sample records come from the real files in ../shared/data/real.
2. A night of continuous movement: the real blocks repeated (benchmarks/device_files.py;
   three different nights: .cwa AX6 100 Hz, .bin 60 Hz, .gt3x 100 Hz). Someone moving a
   sensor at a desk, start to end: detection, not the decode, bounds its time.
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
    """Per device format: analyze --no-report against the bare decode, and the same samples
    as CSV; first a simulated sleep night in every format, then the real blocks repeated."""
    from benchmarks.device_files import build
    from benchmarks.device_night_writer import write_night

    print(f"{hours:g}-hour nights per format; best (worst) of {repeats} runs, whole processes")
    folder = os.path.join(work, "sleep-night")
    paths = write_night(folder, hours, 100.0, seed=11, scenario="plmd-moderate")
    print(
        "\n1. A sleep night: one simulated night (seed 11, plmd-moderate, 100 Hz) written in "
        "every format"
    )
    rates = {"cwa": 100, "ax3.cwa": 100, "gt3x": 100, "bin": 100}
    _format_rows(paths, rates, folder, repeats)
    paths = build(os.path.join(work, "formats"), hours * 60)
    print(
        "\n2. A night of continuous movement: the real blocks repeated (a different night per "
        "format; detection-bound)"
    )
    _format_rows(
        paths, {"cwa": 100, "gt3x": 100, "bin": 60}, os.path.join(work, "formats"), repeats
    )


def _format_rows(paths: dict[str, str], rates: dict[str, int], folder: str, repeats: int) -> None:
    """Per format: analyze and decode; then its own samples as CSV, analyze and parse."""
    cli = [sys.executable, "-m", "sleepmove.cli", "analyze"]
    labels = {"cwa": "cwa (AX6)", "ax3.cwa": "cwa (AX3)", "gt3x": "gt3x", "bin": "bin"}
    for name, rate in rates.items():  # a loop over formats
        path, as_csv = paths[name], paths[f"csv-{name}"]
        out = os.path.join(folder, f"out-{name}")
        analyzed = spread([*cli, path, "--out", out, "--no-report"], repeats)
        decoded = spread([sys.executable, "-c", DECODE[name.split(".")[-1]], path], repeats)
        out = os.path.join(folder, f"out-csv-{name}")
        csv_analyzed = spread([*cli, as_csv, "--out", out, "--no-report"], repeats)
        parsed = spread([sys.executable, "-c", DECODE["csv"], as_csv], repeats)
        print(
            f"  {labels[name]:9} {rate:3d} Hz {os.path.getsize(path) / 1e6:5.1f} MB  "
            f"analyze --no-report {analyzed[0]:.2f} s ({analyzed[1]:.2f})  bare decode "
            f"{decoded[0]:.2f} s ({decoded[1]:.2f})  ratio {analyzed[0] / decoded[0]:.2f} x "
            "(target <= 1.6)"
        )
        grid_s, detect_s, _ = in_memory_seconds({"single": path}, repeats)
        least = decoded[0] + grid_s + detect_s
        print(
            f"  {'':9}  grid, detection and scoring of its samples in memory "
            f"{grid_s + detect_s:.2f} s: with the bare decode, {least / decoded[0]:.2f} x, "
            "the least any reading could reach without imports, outputs or a second pass"
        )
        print(
            f"  {'':9}  as CSV {os.path.getsize(as_csv) / 1e6:5.1f} MB  analyze --no-report "
            f"{csv_analyzed[0]:.2f} s ({csv_analyzed[1]:.2f})  parse {parsed[0]:.2f} s "
            f"({parsed[1]:.2f})  ratio {csv_analyzed[0] / parsed[0]:.2f} x; the device file "
            f"takes {analyzed[0] / csv_analyzed[0]:.2f} x the CSV's time"
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
        help="only compare device formats (.cwa, .gt3x, .bin: a simulated sleep night written "
        "in each, then the real blocks of ../shared/data/real repeated) with their bare "
        "decode and with the same night as CSV",
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
