"""Combine the legs into scored units: bilateral LMs per the rule set, bilateral jerks."""

from __future__ import annotations

import numpy as np

from sleepmove.detection.params import ScoringRules
from sleepmove.detection.table import Table

LM_KINDS = ("lm", "movement")


def combine_legs(events: Table, rules: ScoringRules, two_legs: bool) -> Table:
    """One row per scored unit with `parts` and `clm`; monolateral units keep their side.

    WASM: LMs on the two legs that overlap or follow within 0.5 s (offset to onset) are one
    bilateral LM, a CLM if it joins at most 4 LMs, lasts at most 15 s and no part exceeds
    10 s. AASM: LMs on the two legs whose onsets are under 5 s apart count as one.
    """
    events = Table.of(events).sorted_by("onset_s")
    lm_like = np.isin(events["kind"], LM_KINDS)
    jerks = events["kind"] == "jerk"
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


def _group_lms(lms: Table, rules: ScoringRules) -> np.ndarray:
    if rules.bilateral_mode == "onset":
        return _group_by_onset(lms, rules.bilateral_onset_s, rules.bilateral_max_parts)
    return _group_overlapping(lms, rules.bilateral_gap_s)


def _group_overlapping(events: Table, gap_s: float) -> np.ndarray:
    """Chain events whose onset comes before the chain's latest offset plus `gap_s`."""
    onsets = events["onset_s"]
    offsets = events["offset_s"]
    if len(onsets) == 0:
        return np.zeros(0, dtype=int)
    reach = np.maximum.accumulate(offsets)
    new = np.ones(len(onsets), dtype=bool)
    new[1:] = onsets[1:] >= reach[:-1] + gap_s
    return np.cumsum(new) - 1


def _group_by_onset(events: Table, window_s: float, max_parts: int) -> np.ndarray:
    """AASM: an LM joins the previous one if on the other leg with an onset < window_s later."""
    onsets = events["onset_s"]
    sides = events["side"]
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


def _units(events: Table, groups: np.ndarray, rules: ScoringRules) -> Table:
    """Aggregate each group of parts into one unit (vectorized over groups).

    Units come in the order their groups first appear, then stably by onset.
    """
    _, first_row, unit_of_row = np.unique(groups, return_index=True, return_inverse=True)
    rank = np.empty(len(first_row), dtype=np.intp)
    rank[np.argsort(first_row, kind="stable")] = np.arange(len(first_row))
    unit_of_row = rank[unit_of_row]
    rows = np.argsort(unit_of_row, kind="stable")  # the parts of each unit together
    starts = np.flatnonzero(np.diff(unit_of_row[rows], prepend=-1))
    parts = events[rows]

    def per_unit(reduce: np.ufunc, values: np.ndarray) -> np.ndarray:
        return reduce.reduceat(values, starts) if len(starts) else values[:0]

    # fmax: a missing value (a train's peak) does not hide the other parts', as in pandas.
    units = Table(
        {
            "onset_s": per_unit(np.minimum, parts["onset_s"]),
            "offset_s": per_unit(np.maximum, parts["offset_s"]),
            "kind": parts["kind"][starts],
            "side": parts["side"][starts],
            "parts": np.diff(np.append(starts, len(parts))),
            "peak_g": per_unit(np.fmax, parts["peak_g"]),
            "rotation_deg": per_unit(np.fmax, parts["rotation_deg"]),
            "posture_change_deg": per_unit(np.fmax, parts["posture_change_deg"]),
        }
    )
    _, side_code = np.unique(parts["side"].astype(str), return_inverse=True)
    two_sides = per_unit(np.minimum, side_code) != per_unit(np.maximum, side_code)
    any_movement = per_unit(np.logical_or, parts["kind"] == "movement")
    duration = parts["duration_s"]
    parts_ok = per_unit(np.logical_and, (duration >= rules.lm_min_s) & (duration <= rules.lm_max_s))
    units["duration_s"] = units["offset_s"] - units["onset_s"]
    merged = units["parts"] > 1
    too_long = (rules.bilateral_mode == "overlap") & (units["duration_s"] > rules.bilateral_max_s)
    # A bilateral LM with a long or posture part, or longer than 15 s, is no limb movement.
    units["kind"][merged & (any_movement | too_long)] = "movement"
    clm = (units["kind"] == "lm") & parts_ok
    if rules.bilateral_mode == "overlap":
        clm &= ~merged | (units["parts"] <= rules.bilateral_max_parts)
    units["clm"] = clm
    units["side"][two_sides] = "bilateral"
    return units[UNIT_COLUMNS].sorted_by("onset_s")
