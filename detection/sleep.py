"""Sleep period and wake bouts from movement, for the ankle as well as the wrist.

Wake shows as restlessness: irregular limb movements and large body movements. Periodic
limb movements, brief jerks and rhythmic trains are sleep phenomena and are not taken as
evidence of wake, so a night full of PLMs is not scored as mostly awake.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detection.params import SleepParameters
from detection.table import Table


@dataclass
class SleepResult:
    epoch_s: float
    asleep: np.ndarray  # one bool per epoch from the origin
    onset_s: float | None
    offset_s: float | None
    source: str  # "estimated" or "given"
    wake_bouts_s: list[tuple[float, float]]


def restlessness(
    units: Table, periodic: np.ndarray, n_epochs: int, params: SleepParameters
) -> np.ndarray:
    """Per epoch: weighted count of the movements that speak for wake."""
    units = Table.of(units)
    score = np.zeros(n_epochs)
    is_lm = (units["kind"] == "lm") & ~periodic
    is_movement = units["kind"] == "movement"
    epoch = params.epoch_s
    for weight, mask in ((params.lm_weight, is_lm), (params.movement_weight, is_movement)):
        first = (units["onset_s"][mask] // epoch).astype(int)
        last = (units["offset_s"][mask] // epoch).astype(int)
        for a, b in zip(first, last):  # a loop over events; long movements weigh every epoch
            score[max(a, 0) : min(b, n_epochs - 1) + 1] += weight
    return score


def estimate_sleep(
    units: Table,
    periodic: np.ndarray,
    duration_s: float,
    params: SleepParameters,
    window_s: tuple[float, float] | None = None,
) -> SleepResult:
    """Sleep per epoch; `window_s` (lights out, lights on) replaces the estimated period."""
    n_epochs = max(int(np.ceil(duration_s / params.epoch_s)), 1)
    score = restlessness(units, periodic, n_epochs, params)
    kernel = np.ones(params.window_epochs)
    smoothed = np.convolve(score, kernel, mode="same")
    wake = smoothed >= params.wake_score
    quiet = ~_fill_short_runs(wake, params.min_wake_bout_epochs)
    if window_s is not None:
        first = int(max(window_s[0], 0) // params.epoch_s)
        last = int(np.ceil(min(window_s[1], duration_s) / params.epoch_s))
        period = (first, last)
        source = "given"
    else:
        period = _sleep_period(quiet, params)
        source = "estimated"
    asleep = np.zeros(n_epochs, dtype=bool)
    if period is not None:
        asleep[period[0] : period[1]] = quiet[period[0] : period[1]]
    bouts = _wake_bouts(asleep, period, params.epoch_s)
    onset, offset = _first_last_sleep(asleep, params.epoch_s)
    return SleepResult(params.epoch_s, asleep, onset, offset, source, bouts)


def _fill_short_runs(mask: np.ndarray, min_len: int) -> np.ndarray:
    """Drop True runs shorter than `min_len`."""
    out = mask.copy()
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    for first, stop in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
        if stop - first < min_len:
            out[first:stop] = False
    return out


def _sleep_period(quiet: np.ndarray, params: SleepParameters) -> tuple[int, int] | None:
    """HDCZA-like: quiet blocks of >= 30 min, joined across < 60 min; the longest span wins."""
    per_min = 60.0 / params.epoch_s
    edges = np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]]))
    blocks = [
        (a, b)
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1))
        if b - a >= params.min_sleep_block_min * per_min
    ]
    if not blocks:
        return None
    spans = [list(blocks[0])]
    for a, b in blocks[1:]:
        if a - spans[-1][1] < params.max_block_gap_min * per_min:
            spans[-1][1] = b
        else:
            spans.append([a, b])
    longest = max(spans, key=lambda span: span[1] - span[0])
    return int(longest[0]), int(longest[1])


def _wake_bouts(asleep: np.ndarray, period, epoch_s: float) -> list[tuple[float, float]]:
    if period is None:
        return []
    inside = ~asleep[period[0] : period[1]]
    edges = np.diff(np.concatenate([[0], inside.astype(np.int8), [0]]))
    return [
        ((period[0] + a) * epoch_s, (period[0] + b) * epoch_s)
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1))
    ]


def _first_last_sleep(asleep: np.ndarray, epoch_s: float) -> tuple[float | None, float | None]:
    index = np.flatnonzero(asleep)
    if len(index) == 0:
        return None, None
    return float(index[0] * epoch_s), float((index[-1] + 1) * epoch_s)


def asleep_at(sleep: SleepResult, times_s: np.ndarray) -> np.ndarray:
    epochs = np.clip((np.asarray(times_s) // sleep.epoch_s).astype(int), 0, len(sleep.asleep) - 1)
    return sleep.asleep[epochs]
