"""Would running the detection while the CSV parses reach 1.6 x the parse floor?

    python benchmarks/overlap.py [--repeats 8] [--keep DIR]

The ceiling of a streaming design, measured before building one. In fresh processes, on an
8-hour 100 Hz night (the one `speed.py --keep DIR` made, or a new one), times:

- parse: pyarrow.csv.read_csv alone (Arrow's threads, every core);
- analysis: grid and detection on the night's samples, loaded from .npy files;
- one after the other: parse, then analysis (today's pipeline);
- at once: the parse on Arrow's threads while the main thread runs the analysis, which is
  what a block-wise detector overlapping the parse would do at best (no halos, no waiting).

Then it prints the whole-process time a perfect overlap would give: the floor's own start-up
(the floor less its parse) plus "at once", and that as a ratio of the floor.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.speed import FLOOR, best_of  # noqa: E402
from sleepmove.sensor.simulate import simulate  # noqa: E402

# The child: times one arrangement of parse and analysis inside one fresh process.
CHILD = """
import sys, threading, time
import numpy as np, pyarrow as pa, pyarrow.csv as csv
from sleepmove.detection.grid import regularize
from sleepmove.detection.movements import detect_movements
from sleepmove.detection.params import AnalysisParameters
mode, path, folder = sys.argv[1:4]
params = AnalysisParameters()
time_s = np.load(folder + "/time.npy")
xyz = np.asfortranarray(np.load(folder + "/xyz.npy"))
def parse():
    csv.read_csv(path)
    pa.default_memory_pool().release_unused()
def analysis():
    grid = regularize(time_s, xyz, params.detection.max_gap_bridged_s)
    detect_movements({"": grid}, grid.start_s, params.detection, params.rules)
start = time.perf_counter()
if mode in ("parse", "sequential"):
    parse()
if mode in ("analysis", "sequential"):
    analysis()
if mode == "overlapped":
    reader = threading.Thread(target=parse)
    reader.start()
    analysis()
    reader.join()
print(time.perf_counter() - start)
"""
MODES = ("parse", "analysis", "sequential", "overlapped")


def night_csv(work: str) -> str:
    """The 8-hour 100 Hz one-sensor night of speed.py, made if missing."""
    folder = os.path.join(work, "100hz-one")
    path = os.path.join(folder, "night.csv")
    if not os.path.exists(path):
        simulate(folder, 8.0, 100.0, [], seed=11, scenario="plmd-moderate", mixed_rates=False)
    return path


def save_samples(path: str, folder: str) -> None:
    """The night's samples as .npy, so the child's analysis starts without parsing."""
    import numpy as np

    from sleepmove.sensor.readers import read_recording

    recording = read_recording(path)
    np.save(os.path.join(folder, "time.npy"), recording.time_s)
    np.save(os.path.join(folder, "xyz.npy"), np.ascontiguousarray(recording.xyz_g))


def child_seconds(mode: str, path: str, folder: str) -> float:
    env = dict(os.environ, PYTHONPATH=ROOT)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode, path, folder],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return float(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=8)
    parser.add_argument("--keep", help="folder of speed.py's nights (made there if missing)")
    args = parser.parse_args()
    work = args.keep or tempfile.mkdtemp(prefix="sleepmove-overlap-")
    path = night_csv(work)
    samples = tempfile.mkdtemp(prefix="sleepmove-samples-")
    save_samples(path, samples)
    seconds: dict[str, list[float]] = {mode: [] for mode in MODES}
    for _ in range(args.repeats):  # interleaved: a noisy spell hits every mode alike
        for mode in MODES:
            seconds[mode].append(child_seconds(mode, path, samples))
    floor, _ = best_of([sys.executable, "-c", FLOOR, path], args.repeats)
    print(f"8-hour 100 Hz night, one sensor; {args.repeats} runs of each, interleaved")
    for mode in MODES:
        runs = seconds[mode]
        print(f"  {mode:11s} best {min(runs):.3f} s  median {statistics.median(runs):.3f} s")
    start_up = floor - min(seconds["parse"])
    print(
        f"  pyarrow parse floor (whole process): {floor:.3f} s, of which start-up {start_up:.3f} s"
    )
    for label, pick in (("best", min), ("median", statistics.median)):
        ideal = start_up + pick(seconds["overlapped"])
        today = start_up + pick(seconds["sequential"])
        print(
            f"  {label}: parse then analysis {today:.3f} s = {today / floor:.2f} x floor; "
            f"perfect overlap {ideal:.3f} s = {ideal / floor:.2f} x floor (target 1.6 x)"
        )


if __name__ == "__main__":
    main()
