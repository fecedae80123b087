"""Recording figures with emulated sensors (no Bluetooth hardware needed).

    python benchmarks/record.py [--skip-realtime]

1. `record --emulate polar-verity --duration 1h --speed 120`: wall time, samples against
   the expected number, and LM F1 of the analysis against the emulated night's truth.
2. A 10-hour emulated night at high speed: resident memory in the first and the last hour,
   and the timeline drift: each sample's time against its unbroken stretch's start plus
   its count at the nominal rate (lost samples end a stretch and are counted apart).
3. A two-leg emulated night (healthy: long still spans) of 1 h at 60x: samples kept (in the
   CSVs) against samples the emulated sensors sent, per leg; no losses are injected, so the
   target is at least 99.9 %.
4. Two emulated 100 Hz sensors in real time for two minutes: CPU use of the whole process,
   the emulated sensors included (so an upper bound for the recorder alone).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sleepmove.cli import build_parser  # noqa: E402
from sleepmove.record import record  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def acceptance(work: str) -> None:
    out = os.path.join(work, "hour")
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "sleepmove.cli",
            "record",
            "--emulate",
            "polar-verity",
            "--duration",
            "1h",
            "--speed",
            "120",
            "--out",
            out,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    wall = time.perf_counter() - start
    samples = len(pd.read_csv(os.path.join(out, "night.csv")))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "sleepmove.cli",
            "validate",
            out,
            "--reference",
            os.path.join(out, "truth.json"),
            "--out",
            os.path.join(work, "val"),
        ],
        stdout=subprocess.DEVNULL,
        check=True,
    )
    row = pd.read_csv(os.path.join(work, "val", "validation.csv")).iloc[0]
    expected = 3600 * 52
    print(
        f"1 h at 120x: {wall:.1f} s; {samples} samples of {expected} expected "
        f"({(samples - expected) / expected:+.2%}); LM F1 {row['lm_f1']:.3f}, "
        f"PLM index {row['plm_index_detected']:.1f} vs {row['plm_index_reference']:.1f}"
    )


def long_night(work: str) -> None:
    args = build_parser().parse_args(
        [
            "record",
            "--emulate",
            "polar-verity",
            "--duration",
            "10h",
            "--speed",
            "400",
            "--out",
            os.path.join(work, "ten"),
            "--no-report",
        ]
    )
    marks: dict[str, float] = {}

    async def watch(emulators):
        sensor = emulators[0]
        while True:
            hours = sensor.sent / 52 / 3600
            if hours >= 1 and "first" not in marks:
                marks["first"] = rss_mb()
            if hours >= 9.5 and "last" not in marks:
                marks["last"] = rss_mb()
            await asyncio.sleep(0.5)

    result = asyncio.run(record(args, watch))
    frame = pd.read_csv(result["files"][""])
    times = frame["time"].to_numpy()
    drift, lost_s = timeline_drift(times, 52.0)
    print(
        f"10 h at 400x: memory {marks.get('first', 0):.0f} MB in the first hour, "
        f"{marks.get('last', 0):.0f} MB in the last; largest timeline deviation within "
        f"unbroken stretches {drift * 1000:.1f} ms (one sample is 19.2 ms); {len(times)} "
        f"samples, {lost_s:.0f} s lost"
    )


def timeline_drift(times: np.ndarray, rate_hz: float) -> tuple[float, float]:
    """Largest distance of a sample time from its stretch's start plus its count / rate, and
    the seconds lost between stretches. A lost sample is no drift: stretches end at a step
    above 1.5 samples, and each is measured against its own start."""
    steps = np.diff(times)
    breaks = np.flatnonzero(steps > 1.5 / rate_hz) + 1
    stretch = np.zeros(len(times), dtype=int)
    stretch[breaks] = 1
    stretch = np.cumsum(stretch)
    first = np.concatenate([[0], breaks])
    index_in_stretch = np.arange(len(times)) - first[stretch]
    expected = times[first][stretch] + index_in_stretch / rate_hz
    lost = float((steps[breaks - 1] - 1 / rate_hz).sum()) if len(breaks) else 0.0
    return float(np.abs(times - expected).max()), lost


def two_leg_still(work: str) -> None:
    args = build_parser().parse_args(
        [
            "record",
            "--emulate",
            "polar-verity,polar-verity",
            "--scenario",
            "healthy",
            "--duration",
            "60m",
            "--speed",
            "60",
            "--out",
            os.path.join(work, "two"),
            "--no-report",
        ]
    )
    result = asyncio.run(record(args))
    parts = []
    for stats, emulator in zip(result["stats"], result["emulators"]):
        kept = len(pd.read_csv(result["files"][stats.side]))
        parts.append(
            f"{stats.side} {kept} of {emulator.sent} sent ({kept / emulator.sent:.2%}, "
            f"{stats.data_loss_s:.1f} s counted lost, {stats.bad_frames} bad frames, "
            f"{stats.reconnections} reconnections)"
        )
    print("two legs, 1 h at 60x, long still spans: samples kept / sent: " + "; ".join(parts))


def realtime_cpu(work: str, seconds: float = 120) -> None:
    args = build_parser().parse_args(
        [
            "record",
            "--emulate",
            "polar-verity,polar-verity",
            "--rate",
            "100",
            "--duration",
            f"{seconds}s",
            "--out",
            os.path.join(work, "rt"),
            "--no-report",
        ]
    )
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    asyncio.run(record(args))
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    wall = time.perf_counter() - start
    print(
        f"two 100 Hz sensors in real time for {wall:.0f} s: {cpu / wall:.1%} of one core "
        "(recorder, live view and both emulated sensors together)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-realtime", action="store_true")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="sleepmove-record-")
    acceptance(work)
    long_night(work)
    two_leg_still(work)
    if not args.skip_realtime:
        realtime_cpu(work)


if __name__ == "__main__":
    main()
