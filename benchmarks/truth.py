"""Score a simulator's truth.json with the same rules, for comparison with the detector."""

from __future__ import annotations

import numpy as np
import pandas as pd

from detection.indices import periodicity_index
from detection.night import SERIES_KINDS
from detection.params import ScoringRules
from detection.series import gap_between, intervals, score_series


def truth_units(truth: dict) -> pd.DataFrame:
    events = pd.DataFrame(truth["events"])
    events = events[events["kind"] != "vibration"].copy()
    events["offset_s"] = events["onset_s"] + events["duration_s"]
    return events.sort_values("onset_s").reset_index(drop=True)


def truth_gaps(truth: dict) -> np.ndarray:
    gaps = [g for leg in truth["data_gaps_s"].values() for g in leg]
    origin = min(s["start_offset_s"] for s in truth["sensors"].values())
    return np.array(sorted(gaps)).reshape(-1, 2) - origin if gaps else np.empty((0, 2))


def observable(units: pd.DataFrame, gaps: np.ndarray) -> np.ndarray:
    return np.array(
        [not gap_between(gaps, a - 1, b + 1) for a, b in zip(units["onset_s"], units["offset_s"])],
        dtype=bool,
    )


def truth_asleep(truth: dict, times: np.ndarray) -> np.ndarray:
    sleep = truth["sleep"]
    asleep = (times >= sleep["onset_s"]) & (times < sleep["offset_s"])
    for a, b in sleep["wake_bouts_s"]:
        asleep &= ~((times >= a) & (times < b))
    return asleep


def truth_sleep_h(truth: dict, gaps: np.ndarray) -> float:
    grid = np.arange(0, truth["hours"] * 3600, 1.0)
    asleep = truth_asleep(truth, grid)
    for a, b in gaps:
        asleep &= ~((grid >= a) & (grid < b))
    return float(asleep.sum() / 3600)


def score_truth(truth: dict, rules: ScoringRules) -> dict:
    units = truth_units(truth)
    gaps = truth_gaps(truth)
    seen = observable(units, gaps)
    units = units[seen].reset_index(drop=True)
    sequence = units["kind"].isin(SERIES_KINDS).to_numpy()
    clm = (
        (units["kind"] == "lm") & units["duration_s"].between(rules.lm_min_s, rules.lm_max_s)
    ).to_numpy()
    onsets = units["onset_s"].to_numpy()
    series = np.full(len(units), -1)
    series[sequence] = score_series(onsets[sequence], clm[sequence], gaps, rules)
    imi = np.full(len(units), np.nan)
    imi[sequence] = intervals(onsets[sequence], clm[sequence], gaps)
    asleep = truth_asleep(truth, onsets)
    plm = (series >= 0) & clm & asleep
    sleep_h = truth_sleep_h(truth, gaps)
    return {
        "units": units,
        "plm_index": plm.sum() / sleep_h,
        "periodicity_index": periodicity_index(
            imi[clm], asleep[clm], rules.imi_min_s, rules.imi_max_s
        ),
        "total_sleep_h": sleep_h,
    }
