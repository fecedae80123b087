"""Accuracy on simulated nights with ground truth: every scenario of every simulator family,
on seeds the detector was never tuned on, the worst case first.

    python benchmarks/accuracy.py [--hours 8] [--seeds 2] [--rate 50] [--families hinge,stages]
        [--scenarios NAME,...] [--json FILE]

Two simulator families built apart from each other ("hinge": a foot hinged in gravity;
"stages": a night drawn from a hypnogram with its own wake model and leg physics) so that a
detector tuned on one does not pass for accurate on its own picture of a night. The sleep
model was tuned on seeds `benchmarks/tune_sleep.py` lists (TRAIN_SEEDS); the seeds here
(100, 101, ...) are held out.

Per night: LM F1 (onset within 1 s), jerk F1 (within 0.3 s; over the truth jerks at or
above 10 x the sensor's noise SD, the issue's bar: smaller ones are counted apart), the PLMS
index, the in-bed PLM index and total sleep against truth, periodicity index, side accuracy
(two sensors), the share of bed vibrations taken for limb movements, and the worst of these
against its target.

Wrist scenarios (`wrist-*`, both families) are analyzed with `--placement wrist` and held to
the wrist's targets (LM F1 >= 0.90, PLM index within 15 %, total sleep within 8 %). Their
truth is the arm's own movements; the legs' PLM index (legs.json) is printed beside it, to
show what a wrist cannot see.

    --first-seed N   seeds N, N+1, ... instead of the held-out 100, ... (1000-1002 are the
                     training seeds: for diagnosing a tuning, never for reporting)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.families import FAMILIES, simulate_night  # noqa: E402
from sleepmove.detection.matching import agreement, match_onsets  # noqa: E402
from sleepmove.pipeline import AnalyzeRequest, analyze  # noqa: E402
from sleepmove.sensor.simulate_stages_night import plm_series_of  # noqa: E402
from sleepmove.validate import aligned_reference, load_result, validate_night  # noqa: E402

HELD_OUT_FIRST_SEED = 100
TARGETS = {
    "lm_f1": 0.95,  # at least
    "jerk_f1": 0.90,  # at least
    "plm_index": 0.10,  # relative error at most; under 5/h true: within 1/h
    "plm_index_in_bed": 0.05,
    "total_sleep": 0.05,
}
# The bar for brief twitches: bursts at 10 x the noise floor (a sensor's noise SD per
# axis). A truth jerk smaller than this at the samples (a REM twitch of 30 mg on a sensor of
# 10 mg noise; a 70 ms twitch between a 25 Hz sensor's samples: `sampled_peak` where the
# family gives it, else `amplitude`) is not asked of the detector: it counts neither as
# missed nor, where found, as a detection.
JERK_FLOOR_NOISE_SD = 10.0
# A wrist (issue 23): the arm's movements are smaller and its sleep evidence differs.
WRIST_TARGETS = {"lm_f1": 0.90, "plm_index": 0.15, "total_sleep": 0.08}


def placement_of(scenario: str) -> str:
    return "wrist" if scenario.startswith("wrist") else "ankle"


def evaluate(result_dir: str, truth_path: str) -> dict:
    """The same figures `sleepmove validate` computes: one code path for both."""
    night = validate_night(result_dir, truth_path)
    row = night["row"]
    with open(truth_path) as handle:
        truth = json.load(handle)
    origin = aligned_reference(load_result(result_dir)[0], result_dir, truth_path)[1]
    reference, detected = night["units"], night["detected"]
    jerks = floor_judged_jerks(
        reference[reference["kind"] == "jerk"]["onset_s"].to_numpy(float),
        detected[detected["kind"] == "jerk"]["onset_s"].to_numpy(float),
        jerks_below_floor(truth, origin),
    )
    figures = {
        "lm_f1": row["lm_f1"],
        "jerk_f1": jerks["f1"],
        "jerk_f1_all": row["jerk_f1"],
        "jerks_below_floor": jerks["below_floor"],
        "jerks_below_floor_found": jerks["below_floor_found"],
        "side_accuracy": row["side_agreement"],
        "plm_index": (row["plm_index_detected"], row["plm_index_reference"]),
        "plm_index_in_bed": (row["plm_index_in_bed_detected"], row["plm_index_in_bed_reference"]),
        "total_sleep_h": (row["total_sleep_h_detected"], row["total_sleep_h_reference"]),
        "periodicity_index": (
            row["periodicity_index_detected"],
            row["periodicity_index_reference"],
        ),
    }
    figures["vibration_as_lm"] = vibrations_taken_for_lms(truth, night)
    legs = os.path.join(os.path.dirname(truth_path), "legs.json")
    if os.path.exists(legs):
        figures["leg_plm_index"] = leg_plm_index(legs, truth["sleep"])
        figures["shortfall"] = wrist_shortfall(figures)
    else:
        figures["shortfall"] = shortfall(figures)
    return figures


def jerk_floor_g(truth: dict, side: str) -> float:
    """10 x the noise SD of the sensor on `side` (the quieter leg's for a jerk of both)."""
    noise = {
        name: sensor.get("noise_g", sensor.get("noise_mg", 0.0) / 1000)
        for name, sensor in truth["sensors"].items()
    }
    return JERK_FLOOR_NOISE_SD * noise.get(side, min(noise.values()))


def jerks_below_floor(truth: dict, origin: float) -> np.ndarray:
    """Onsets (recording seconds from `origin`) of the truth jerks under the floor."""
    return np.array(
        [
            truth["start_unix"] + e["onset_s"] - origin
            for e in truth["events"]
            if e["kind"] == "jerk"
            and e.get("sampled_peak", e["amplitude"]) < jerk_floor_g(truth, e["side"])
        ]
    )


def floor_judged_jerks(
    reference_s: np.ndarray, detected_s: np.ndarray, below_s: np.ndarray
) -> dict:
    """Jerk F1 over the reference jerks that are not `below_s` (under the floor); those and
    the detections matched to them are left out, and counted."""
    small = np.array([len(below_s) > 0 and np.abs(below_s - t).min() < 0.01 for t in reference_s])
    small = small.astype(bool).reshape(-1)
    pairs = match_onsets(reference_s, detected_s, 0.3)
    found_small = sum(bool(small[i]) for i, _ in pairs)
    figures = agreement(
        int((~small).sum()), len(detected_s) - found_small, len(pairs) - found_small
    )
    return {"f1": figures["f1"], "below_floor": int(small.sum()), "below_floor_found": found_small}


def leg_plm_index(legs_path: str, sleep: dict) -> float:
    """The legs' PLMS index of a wrist night (legs.json), by the simple truth scorer."""
    with open(legs_path) as handle:
        events = json.load(handle)["events"]

    def asleep(t: float) -> bool:
        inside = sleep["onset_s"] <= t < sleep["offset_s"]
        return inside and not any(a <= t < b for a, b in sleep["wake_bouts_s"])

    plms = [e for run in plm_series_of(events) for e in run if asleep(e["onset_s"])]
    wake = sum(b - a for a, b in sleep["wake_bouts_s"])
    return len(plms) / ((sleep["offset_s"] - sleep["onset_s"] - wake) / 3600)


def wrist_shortfall(figures: dict) -> dict[str, float]:
    """A wrist night against the wrist's targets (WRIST_TARGETS)."""
    sleep_det, sleep_true = figures["total_sleep_h"]
    return {
        "lm_f1": (1 - (figures["lm_f1"] or 0)) / (1 - WRIST_TARGETS["lm_f1"]),
        "plm_index": index_error(*figures["plm_index"]) / WRIST_TARGETS["plm_index"],
        "total_sleep": abs(sleep_det - sleep_true) / sleep_true / WRIST_TARGETS["total_sleep"],
    }


def index_error(detected: float | None, true: float | None, small: float = 5.0) -> float:
    """Relative error; under `small` per hour true, the absolute error in /h over 10."""
    detected, true = detected or 0.0, true or 0.0
    if true < small:
        return abs(detected - true) / 10.0
    return abs(detected - true) / true


def shortfall(figures: dict) -> dict[str, float]:
    """Each figure against its target: 1.0 is exactly on target, above 1 misses it."""
    sleep_det, sleep_true = figures["total_sleep_h"]
    return {
        "lm_f1": (1 - (figures["lm_f1"] or 0)) / (1 - TARGETS["lm_f1"]),
        "jerk_f1": 0.0
        if figures["jerk_f1"] is None
        else (1 - figures["jerk_f1"]) / (1 - TARGETS["jerk_f1"]),
        "plm_index": index_error(*figures["plm_index"]) / TARGETS["plm_index"],
        "plm_index_in_bed": index_error(*figures["plm_index_in_bed"]) / TARGETS["plm_index_in_bed"],
        "total_sleep": abs(sleep_det - sleep_true) / sleep_true / TARGETS["total_sleep"],
    }


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
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--scenarios", help="only these scenarios (any family)")
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--first-seed", type=int, default=HELD_OUT_FIRST_SEED)
    args = parser.parse_args()
    wanted = set(args.scenarios.split(",")) if args.scenarios else None
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for family in args.families.split(","):
            for scenario in FAMILIES[family]:
                if wanted and scenario not in wanted:
                    continue
                for seed in range(args.first_seed, args.first_seed + args.seeds):
                    night = os.path.join(work, f"{family}-{scenario}-{seed}")
                    _, inputs = simulate_night(family, night, args.hours, seed, scenario, args.rate)
                    out = os.path.join(night, "out")
                    # The infant night is analyzed as a user would: --age-group infant.
                    age = "infant" if scenario == "infant" else "adult"
                    place = placement_of(scenario)  # likewise --placement wrist
                    analyze(
                        AnalyzeRequest(inputs, out, report=False, age_group=age, placement=place)
                    )
                    figures = evaluate(out, os.path.join(night, "truth.json"))
                    rows.append({"family": family, "scenario": scenario, "seed": seed, **figures})
                    print(_line(rows[-1]), file=sys.stderr, flush=True)
    rows.sort(key=lambda row: -max(row["shortfall"].values()))
    seeds = f"{args.first_seed}-{args.first_seed + args.seeds - 1}"
    if args.first_seed != HELD_OUT_FIRST_SEED:
        seeds += " (NOT the held-out seeds)"
    print(
        "targets: ankle LM F1 >= 0.95, jerk F1 >= 0.90, PLM index within 10 % (1/h under "
        "5/h), in-bed PLM index within 5 %, total sleep within 5 %; wrist LM F1 >= 0.90, "
        f"PLM index within 15 %, total sleep within 8 %; seeds {seeds}; rules wasm2016, "
        "default parameters of the placement"
    )
    print("worst case first ('worst': the figure furthest past its target, 1.00 = on target)")
    print("wrist rows: truth is the arm's movements; 'legs' is the legs' PLMS index (legs.json)")
    print(HEADER)
    for row in rows:
        print(_line(row))
    for placement, targets in (("ankle", TARGETS), ("wrist", WRIST_TARGETS)):
        chosen = [row for row in rows if placement_of(row["scenario"]) == placement]
        for name in targets if chosen else ():
            values = [row["shortfall"][name] for row in chosen]
            missed = sum(value > 1.0 for value in values)
            print(
                f"{placement} {name:17} worst {max(values):5.2f} x target   "
                f"nights past target {missed}/{len(chosen)}"
            )
    ankle = [
        row
        for row in rows
        if placement_of(row["scenario"]) == "ankle" and row["jerk_f1_all"] is not None
    ]
    if ankle:
        below = sum(row["jerks_below_floor"] for row in ankle)
        found = sum(row["jerks_below_floor_found"] for row in ankle)
        worst = min(ankle, key=lambda row: row["jerk_f1_all"])
        print(
            f"ankle jerks under the floor ({JERK_FLOOR_NOISE_SD:g} x the sensor's noise SD), "
            f"left out of jerk F1: {below} ({found} of them found); jerk F1 over every truth "
            f"jerk: worst {worst['jerk_f1_all']:.3f} ({worst['family']} {worst['scenario']} "
            f"{worst['seed']})"
        )
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=1, default=str)


HEADER = (
    f"{'family':7} {'scenario':17} seed  LM F1  jerk F1  PLMI det/true (err)   "
    "in-bed det/true (err)  TST h det/true (err)  PI det/true  side  vib  worst"
)


def _line(row: dict) -> str:
    def pair(values, fmt="5.1f", relative=True):
        det, true = values
        if det is None or true is None:
            return f"{det!s:>5}/{true!s:<5}        "
        err = (det - true) / true * 100 if relative and true else det - true
        unit = "%" if relative else ""
        return f"{det:{fmt}}/{true:<{fmt}} ({err:+5.1f}{unit})"

    side = row.get("side_accuracy")
    vib = row.get("vibration_as_lm")
    jerk = row["jerk_f1"]
    worst_name, worst = max(row["shortfall"].items(), key=lambda item: item[1])
    legs = row.get("leg_plm_index")
    return (
        f"{row['family']:7} {row['scenario']:17} {row['seed']:4}  {row['lm_f1']:.3f}  "
        f"{'  -  ' if jerk is None else f'{jerk:.3f}'}   "
        f"{pair(row['plm_index'])}  {pair(row['plm_index_in_bed'])}  "
        f"{pair(row['total_sleep_h'], '4.2f')}  "
        f"{pair(row['periodicity_index'], '.2f', relative=False)}  "
        f"{'  -  ' if side is None else f'{side:.2f}'}  {'  -' if vib is None else f'{vib:.2f}'}"
        f"  {worst:4.2f} {worst_name}" + ("" if legs is None else f"  legs {legs:.1f}/h")
    )


if __name__ == "__main__":
    main()
