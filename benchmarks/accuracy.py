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
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from truth import observable, score_truth, truth_gaps, truth_units  # noqa: E402

from detection.matching import agreement, match_onsets  # noqa: E402
from detection.params import WASM2016  # noqa: E402
from sensor.simulate import SCENARIOS, simulate  # noqa: E402
from sleepmove.pipeline import AnalyzeRequest, analyze  # noqa: E402

TARGETS = (
    "targets: LM F1 >= 0.95, jerk F1 >= 0.90, PLM index within 10 %, TST within 8 %, "
    "PI within 0.08, side >= 90 %, vibrations < 10 %"
)


def evaluate(truth: dict, result) -> dict:
    detected = result.score.units
    reference = truth_units(truth)
    gaps = truth_gaps(truth)

    reference = reference[observable(reference, gaps)]
    figures = {}
    for kind, tolerance in (("lm", 1.0), ("jerk", 0.3)):
        ref = reference[reference["kind"] == kind]
        det = detected[detected["kind"] == kind]
        pairs = match_onsets(ref["onset_s"].to_numpy(), det["onset_s"].to_numpy(), tolerance)
        figures[kind] = agreement(len(ref), len(det), len(pairs))
        if kind == "lm" and truth["files"].keys() >= {"left", "right"}:
            same = [ref["side"].iloc[i] == det["side"].iloc[j] for i, j in pairs]
            figures["side_accuracy"] = float(np.mean(same)) if same else None
    # Bed vibrations that happen while a limb really moves cannot be "taken for" an LM.
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
    if vibrations:
        lms = detected[detected["kind"] == "lm"]
        onsets = np.array([v["onset_s"] for v in vibrations])
        hits = match_onsets(onsets, lms["onset_s"].to_numpy(), 1.0)
        figures["vibration_as_lm"] = len(hits) / len(vibrations)
    expected = score_truth(truth, WASM2016)
    figures["plm_index"] = (result.summary["plm_index"], expected["plm_index"])
    figures["total_sleep_h"] = (result.summary["sleep"]["total_sleep_h"], expected["total_sleep_h"])
    figures["periodicity_index"] = (
        result.summary["periodicity_index"],
        expected["periodicity_index"],
    )
    return figures


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
                result = analyze(AnalyzeRequest(inputs, os.path.join(night, "out"), report=False))
                figures = evaluate(truth, result)
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
