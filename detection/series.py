"""PLM series: consecutive CLMs at 10-90 s intervals (onset to onset), per the rule set."""

from __future__ import annotations

import numpy as np

from sleepmove.detection.params import ScoringRules


def gap_between(gaps_s: np.ndarray, start_s: float, end_s: float) -> bool:
    """True when a data gap overlaps the interval (start_s, end_s)."""
    if len(gaps_s) == 0:
        return False
    index = int(np.searchsorted(gaps_s[:, 1], start_s, side="right"))
    return index < len(gaps_s) and gaps_s[index, 0] < end_s


def score_series(
    onsets_s: np.ndarray, clm: np.ndarray, gaps_s: np.ndarray, rules: ScoringRules
) -> np.ndarray:
    """Series id per unit (-1: not periodic). Units are limb-movement-like, sorted by onset.

    A series needs `min_series_count` CLMs with every IMI in [imi_min, imi_max]. It ends at
    a non-CLM unit, at a data gap (the next CLM has no measurable IMI), at an IMI above the
    maximum and, for WASM, at one below the minimum. AASM skips a CLM with a short IMI.
    """
    series = np.full(len(onsets_s), -1, dtype=int)
    next_id = 0
    run: list[int] = []

    def close() -> None:
        nonlocal next_id
        if len(run) >= rules.min_series_count:
            series[run] = next_id
            next_id += 1
        run.clear()

    for i in range(len(onsets_s)):  # a loop over events
        if not clm[i]:
            if rules.non_clm_breaks_series:
                close()
            continue
        if not run or gap_between(gaps_s, onsets_s[run[-1]], onsets_s[i]):
            close()
            run.append(i)
            continue
        imi = onsets_s[i] - onsets_s[run[-1]]
        if rules.imi_min_s <= imi <= rules.imi_max_s:
            run.append(i)
        elif imi < rules.imi_min_s and not rules.short_imi_breaks_series:
            continue
        else:
            close()
            run.append(i)
    close()
    return series


def intervals(
    onsets_s: np.ndarray, clm: np.ndarray, gaps_s: np.ndarray, non_clm_breaks: bool = True
) -> np.ndarray:
    """IMI before each unit (NaN where not measurable: first CLM, after a gap or a non-CLM)."""
    imi = np.full(len(onsets_s), np.nan)
    previous = None
    for i in range(len(onsets_s)):  # a loop over events
        if not clm[i]:
            if non_clm_breaks:
                previous = None
            continue
        if previous is not None and not gap_between(gaps_s, onsets_s[previous], onsets_s[i]):
            imi[i] = onsets_s[i] - onsets_s[previous]
        previous = i
    return imi
