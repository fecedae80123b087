"""Limb movements related to breathing: the rules' respiratory exclusion.

An accelerometer has no breathing channel, so the exclusion applies only where a sleep
study's respiratory events (apneas, hypopneas, RERAs) are given. An LM that overlaps the
rule set's window of one (ScoringRules.respiratory_window_s, respiratory_around) is no CLM:
it counts towards no PLM series. Under WASM, like any LM that is no CLM, it ends the series
it falls in; AASM does not score it at all, so the series runs on across it
(`respiratory_breaks_series`; detection.scoring.score_units).
"""

from __future__ import annotations

import numpy as np

from sleepmove.detection.params import ScoringRules


def respiratory_windows(events_s: np.ndarray, rules: ScoringRules) -> np.ndarray:
    """Per respiratory event ((start, end) seconds), the span an LM must not overlap: WASM
    around its end, AASM from before its start to after its end."""
    events = np.asarray(events_s, dtype=float).reshape(-1, 2)
    before, after = rules.respiratory_window_s
    starts = events[:, 1] if rules.respiratory_around == "end" else events[:, 0]
    return np.column_stack([starts + before, events[:, 1] + after])
