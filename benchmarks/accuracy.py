"""Accuracy on simulated nights with ground truth: every scenario, several seeds.

    python benchmarks/accuracy.py [--hours 8] [--seeds 2] [--rate 50]

Prints per scenario: LM F1 (onset within 1 s), jerk F1 (within 0.3 s), PLM index and total
sleep time against truth, periodicity index, side accuracy (two sensors) and the share of bed
vibrations taken for limb movements. The seeds vary the physics (sensor noise, resolution,
mounting, lever arm, clock error, losses), not only the event times.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from detection.matching import match_onsets  # noqa: E402
from sensor.simulate import SCENARIOS, simulate  # noqa: E402
from sleepmove.pipeline import AnalyzeRequest, analyze  # noqa: E402
from sleepmove.validate import validate_night  # noqa: E402

TARGETS = (
    "targets: LM F1 >= 0.95, jerk F1 >= 0.90, PLM index within 10 %, TST within 8 %, "
    "PI within 0.08, side >= 90 %, vibrations < 10 %"
)


def evaluate(result_dir: str, truth_path: str) -> dict:
    """The same figures `sleepmove validate` computes: one code path for both."""
    night = validate_night(result_dir, truth_path)
    row = night["row"]
    figures = {
        "lm": {"f1": row["lm_f1"]},
        "jerk": {"f1": row["jerk_f1"]},
        "side_accuracy": row["side_agreement"],
        "plm_index": (row["plm_index_detected"], row["plm_index_reference"]),
        "total_sleep_h": (row["total_sleep_h_detected"], row["total_sleep_h_reference"]),
        "periodicity_index": (
            row["periodicity_index_detected"],
            row["periodicity_index_reference"],
        ),
    }
    with open(truth_path) as handle:
        truth = json.load(handle)
    figures["vibration_as_lm"] = vibrations_taken_for_lms(truth, night)
    return figures


def vibrations_taken_for_lms(truth: dict, night: dict) -> float | None:
    """Share of bed vibrations (not during a real movement) that a detected LM matches."""
    reference = night["units"]
    moving = reference[reference["kind"] != "jerk"]
    vibrations = [
        e
        for e in truth["events"]
        if e["kind"] == "vibration"
        and not (
            (moving["onset_s"] < e["onset_s"] + e["duration_s"] + 1)
            & (moving["offset_s"] > e["onset_s"] - 1)
        ).any()
    ]
    if not vibrations:
        return None
    detected = night["detected"]
    lms = detected[detected["kind"] == "lm"]["onset_s"].to_numpy(float)
    hits = match_onsets(np.array([v["onset_s"] for v in vibrations]), lms, 1.0)
    return len(hits) / len(vibrations)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=8.0)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    print(TARGETS)
    print(
        f"{'scenario':14} seed  LM F1  jerk F1   PLMI det/true (err)   "
        "TST det/true (err)   PI det/true  side  vib"
    )
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for scenario in args.scenarios.split(","):
            for seed in range(args.seeds):
                night = os.path.join(work, f"{scenario}-{seed}")
                truth = simulate(night, args.hours, args.rate, None, 100 + seed, scenario)
                inputs = {
                    side if side != "single" else "": os.path.join(night, name)
                    for side, name in truth["files"].items()
                }
                out = os.path.join(night, "out")
                analyze(AnalyzeRequest(inputs, out, report=False))
                figures = evaluate(out, os.path.join(night, "truth.json"))
                rows.append(
                    {"scenario": scenario, "seed": seed, **{k: v for k, v in figures.items()}}
                )
                print(_line(scenario, seed, figures))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=1, default=str)


def _line(scenario: str, seed: int, f: dict) -> str:
    def pair(values, fmt="5.1f", relative=True):
        det, true = values
        if det is None or true is None:
            return f"{det!s:>5}/{true!s:<5}        "
        err = (det - true) / true * 100 if relative and true else det - true
        unit = "%" if relative else ""
        return f"{det:{fmt}}/{true:<{fmt}} ({err:+5.1f}{unit})"

    side = f.get("side_accuracy")
    vib = f.get("vibration_as_lm")
    return (
        f"{scenario:14} {seed:4}  {f['lm']['f1']:.3f}  {f['jerk']['f1']:.3f}   "
        f"{pair(f['plm_index'])}  {pair(f['total_sleep_h'], '4.2f')}  "
        f"{pair(f['periodicity_index'], '.2f', relative=False)}  "
        f"{'  -  ' if side is None else f'{side:.2f}'}  {'  -' if vib is None else f'{vib:.2f}'}"
    )


if __name__ == "__main__":
    main()
