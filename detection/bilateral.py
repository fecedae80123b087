"""Combine the legs into scored units: bilateral LMs per the rule set, bilateral jerks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from detection.params import ScoringRules

LM_KINDS = ("lm", "movement")


def combine_legs(events: pd.DataFrame, rules: ScoringRules, two_legs: bool) -> pd.DataFrame:
    """One row per scored unit with `parts` and `clm`; monolateral units keep their side.

    WASM: LMs on the two legs that overlap or follow within 0.5 s (offset to onset) are one
    bilateral LM, a CLM if it joins at most 4 LMs, lasts at most 15 s and no part exceeds
    10 s. AASM: LMs on the two legs whose onsets are under 5 s apart count as one.
    """
    events = events.sort_values("onset_s", kind="stable").reset_index(drop=True)
    lm_like = events["kind"].isin(LM_KINDS).to_numpy()
    jerks = (events["kind"] == "jerk").to_numpy()
    groups = np.arange(len(events))
    if two_legs:
        groups[lm_like] = _group_lms(events[lm_like], rules) + len(events)
        groups[jerks] = _group_overlapping(events[jerks], rules.bilateral_gap_s) + 2 * len(events)
    return _units(events, groups, rules)


UNIT_COLUMNS = [
    "onset_s",
    "offset_s",
    "duration_s",
    "kind",
    "side",
    "parts",
    "clm",
    "peak_g",
    "rotation_deg",
    "posture_change_deg",
]


def _group_lms(lms: pd.DataFrame, rules: ScoringRules) -> np.ndarray:
    if rules.bilateral_mode == "onset":
        return _group_by_onset(lms, rules.bilateral_onset_s, rules.bilateral_max_parts)
    return _group_overlapping(lms, rules.bilateral_gap_s)


def _group_overlapping(events: pd.DataFrame, gap_s: float) -> np.ndarray:
    """Chain events whose onset comes before the chain's latest offset plus `gap_s`."""
    onsets = events["onset_s"].to_numpy()
    offsets = events["offset_s"].to_numpy()
    if len(onsets) == 0:
        return np.zeros(0, dtype=int)
    reach = np.maximum.accumulate(offsets)
    new = np.ones(len(onsets), dtype=bool)
    new[1:] = onsets[1:] >= reach[:-1] + gap_s
    return np.cumsum(new) - 1


def _group_by_onset(events: pd.DataFrame, window_s: float, max_parts: int) -> np.ndarray:
    """AASM: an LM joins the previous one if on the other leg with an onset < window_s later."""
    onsets = events["onset_s"].to_numpy()
    sides = events["side"].to_numpy()
    group = np.zeros(len(onsets), dtype=int)
    current, first, size = 0, 0, 0
    for i in range(len(onsets)):  # a loop over events
        joins = (
            i > 0
            and size < max_parts
            and sides[i] != sides[i - 1]
            and onsets[i] - onsets[first] < window_s
        )
        if not joins:
            current, first, size = (current + 1 if i else 0), i, 0
        group[i] = current
        size += 1
    return group


def _units(events: pd.DataFrame, groups: np.ndarray, rules: ScoringRules) -> pd.DataFrame:
    """Aggregate each group of parts into one unit (vectorized over groups)."""
    parts = events.assign(
        group=groups,
        is_movement=events["kind"] == "movement",
        part_ok=events["duration_s"].between(rules.lm_min_s, rules.lm_max_s),
    )
    grouped = parts.groupby("group", sort=False)
    units = grouped.agg(
        onset_s=("onset_s", "min"),
        offset_s=("offset_s", "max"),
        kind=("kind", "first"),
        side=("side", "first"),
        sides=("side", "nunique"),
        parts=("side", "size"),
        any_movement=("is_movement", "any"),
        parts_ok=("part_ok", "all"),
        peak_g=("peak_g", "max"),
        rotation_deg=("rotation_deg", "max"),
        posture_change_deg=("posture_change_deg", "max"),
    )
    units["duration_s"] = units["offset_s"] - units["onset_s"]
    merged = units["parts"] > 1
    too_long = (rules.bilateral_mode == "overlap") & (units["duration_s"] > rules.bilateral_max_s)
    # A bilateral LM with a long or posture part, or longer than 15 s, is no limb movement.
    units.loc[merged & (units["any_movement"] | too_long), "kind"] = "movement"
    clm = (units["kind"] == "lm") & units["parts_ok"]
    if rules.bilateral_mode == "overlap":
        clm &= ~merged | (units["parts"] <= rules.bilateral_max_parts)
    units["clm"] = clm
    units.loc[units["sides"] > 1, "side"] = "bilateral"
    frame = units[UNIT_COLUMNS].reset_index(drop=True)
    return frame.sort_values("onset_s", kind="stable").reset_index(drop=True)
