"""Bed vibrations taken for limb movements: shaking injected into quiet legs.

    python benchmarks/vibrations.py [--legs 20] [--seed 42]

Per leg, 10 minutes at 25, 50 or 100 Hz with 1-6 mg of noise and 1/1024 g steps, and a
vibration every 14 s: 1-5 s of a 2-10 Hz swing of 10-100 mg along a random axis, under a
Hann window (a swell: the mattress rocked). Then the same legs jolted: the swing at full
size from its first cycle, decaying over a third of its span (a partner dropping onto the
mattress). Prints how many were taken for LMs (and for movements or trains) with the
default parameters and with the quiet-sensor tilt bar at 3 x the floor (its first value).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sleepmove.detection.grid import regularize  # noqa: E402
from sleepmove.detection.movements import detect_movements  # noqa: E402
from sleepmove.detection.params import WASM2016, DetectionParameters  # noqa: E402

SHAPES = ("swells", "jolts")


def shaken_leg(
    rng: np.random.Generator, rate: float, shape: str = "swells"
) -> tuple[np.ndarray, np.ndarray, int]:
    """A still leg's 10 minutes with a vibration every 14 s; and how many. `shape`: under a
    Hann window (swells) or at full size at once, then decaying (jolts)."""
    n = int(600 * rate)
    rest = rng.normal(0, 1, 3)
    rest /= np.linalg.norm(rest)
    xyz = np.tile(rest, (n, 1)) + rng.normal(0, rng.uniform(0.001, 0.006), (n, 3))
    starts = np.arange(20, 580, 14.0)
    for start in starts:  # a loop over vibrations
        count = int(rng.uniform(1, 5) * rate)
        axis = rng.normal(0, 1, 3)
        axis /= np.linalg.norm(axis)
        swing = np.sin(2 * np.pi * rng.uniform(2, 10) * np.arange(count) / rate + rng.uniform(0, 7))
        first = int(start * rate)
        if shape == "swells":
            window = np.hanning(count)
        else:
            window = np.exp(-np.arange(count) / (count / 3))
            swing = np.sin(2 * np.pi * rng.uniform(2, 10) * np.arange(count) / rate)
        xyz[first : first + count] += (rng.uniform(0.01, 0.1) * swing * window)[:, None] * axis
    return np.arange(n) / rate, np.round(xyz * 1024) / 1024, len(starts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--legs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    settings = {
        "default": DetectionParameters(),
        "tilt bar 3 x floor": replace(DetectionParameters(), rotation_floor_factor=3.0),
    }
    for shape in SHAPES:
        injected = 0
        lms = dict.fromkeys(settings, 0)
        others = dict.fromkeys(settings, 0)
        for leg in range(args.legs):  # a loop over legs
            t, xyz, count = shaken_leg(rng, (25.0, 50.0, 100.0)[leg % 3], shape)
            injected += count
            grid = regularize(t, xyz)
            for name, params in settings.items():
                kind = detect_movements({"": grid}, grid.start_s, params, WASM2016)[0]["kind"]
                lms[name] += int((kind == "lm").sum())
                others[name] += int(((kind != "lm") & (kind != "jerk")).sum())
        print(f"{injected} {shape} injected into {args.legs} quiet legs (rules wasm2016)")
        for name in settings:
            print(f"  {name}: taken for LMs {lms[name]}, for movements or trains {others[name]}")


if __name__ == "__main__":
    main()
