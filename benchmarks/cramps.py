"""Leg cramp candidates: found on the `cramps` nights, and none where there is no cramp.

    python benchmarks/cramps.py [--rate 25] [--seeds 300 301 302 303] [--hours 8]

For each seed, hinge's `cramps` night (true cramps, some trembling in the hold) and the nights
without cramps of every family (hinge: healthy, hard, plmd-moderate, plmd-severe; stages:
healthy-restless, plmd-moderate, two-legs; kinematic: healthy, restless-wake,
plmd-moderate), analyzed with the default parameters. Prints per night the true and found
cramp onsets, then the totals: true cramps found (onset within 5 s), cramps missed, and
candidates where there was none.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.families import simulate_night  # noqa: E402
from sleepmove.pipeline import AnalyzeRequest, analyze  # noqa: E402

WITHOUT_CRAMPS = {
    "hinge": ("healthy", "hard", "plmd-moderate", "plmd-severe"),
    "stages": ("healthy-restless", "plmd-moderate", "two-legs"),
    "kinematic": ("healthy", "restless-wake", "plmd-moderate"),
}


def cramps_of(family: str, scenario: str, seed: int, rate: float, hours: float, work: str):
    folder = os.path.join(work, f"{family}-{scenario}-{seed}")
    truth, inputs = simulate_night(family, folder, hours, seed, scenario, rate_hz=rate)
    analyze(AnalyzeRequest(inputs, os.path.join(folder, "out"), report=False))
    with open(os.path.join(folder, "out", "events.csv")) as handle:
        found = [float(e["onset_s"]) for e in csv.DictReader(handle) if e["kind"] == "cramp"]
    true = [e["onset_s"] for e in truth["events"] if e["kind"] == "cramp"]
    return true, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=25.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[300, 301, 302, 303])
    parser.add_argument("--hours", type=float, default=8.0)
    args = parser.parse_args()
    nights = [("hinge", "cramps")] + [(f, s) for f, scens in WITHOUT_CRAMPS.items() for s in scens]
    found_true = missed = false = 0
    with tempfile.TemporaryDirectory(prefix="sleepmove-cramps-") as work:
        for seed in args.seeds:  # a loop over nights
            for family, scenario in nights:
                true, found = cramps_of(family, scenario, seed, args.rate, args.hours, work)
                hit = sum(any(abs(f - t) <= 5.0 for f in found) for t in true)
                extra = sum(not any(abs(f - t) <= 5.0 for t in true) for f in found)
                found_true, missed = found_true + hit, missed + len(true) - hit
                false += extra
                if true or found:
                    print(
                        f"{family}/{scenario}/{seed}: true {[round(t) for t in true]} "
                        f"found {[round(f) for f in found]}",
                        flush=True,
                    )
    print(
        f"{args.hours:g} h at {args.rate:g} Hz, seeds {' '.join(map(str, args.seeds))}: "
        f"{found_true} of {found_true + missed} true cramps found; {false} candidates on "
        f"{len(args.seeds) * (len(nights) - 1)} nights without cramps (or off a true one)"
    )


if __name__ == "__main__":
    main()
