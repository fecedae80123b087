"""Held movements: a limb turned a little, held there and turned back, whose acceleration
shows only at its onset (or not at all). A flexion of the foot or knee of a leg lying on
its side tilts a shank-worn sensor by tenths of a degree: the push at the onset passes for a
jerk, or the span for a bed vibration, while the orientation stays off its rest for the
seconds the muscle holds it. Its 1 s mean orientation tells it: off the rest before by more
than the orientation's own noise, and back within `lm_max_s`. A twitch has no hold (it is
back within its burst), and a jerk that shifts the limb to a new rest never returns: both
stay what they were."""

from __future__ import annotations

import numpy as np

from sleepmove.detection.events import judged_brief
from sleepmove.detection.filters import ranges_index, span_means
from sleepmove.detection.params import DetectionParameters
from sleepmove.detection.preprocess import LegSignals, noise_floor
from sleepmove.detection.table import Table

REST_S = 2.0  # the rest before: a 2 s mean...
GUARD_S = 0.3  # ...ending this long before the onset (the burst's lead-in is no rest)
EDGE_S = 0.2  # the previous event's and this span's own edges, left out of the means
RETURN_STEP_S = 0.1  # the return is sought a 1 s mean at a time, this far apart


def hold_noise_floor(level_blocks: np.ndarray, params: DetectionParameters) -> np.ndarray:
    """Per 1 s block, the noise of a held orientation as `held_returns` measures it: a 1 s
    mean against the 2 s mean a block before it (|L[k+1] - (L[k-1] + L[k-2]) / 2|), its 20th
    percentile over `noise_window_s`, as the envelope's floor is tracked (movements fill at
    most a share of any 5 minutes; noise never leaves)."""
    count = len(level_blocks)
    change = np.zeros(count, dtype=np.float32)
    if count >= 4:
        step = level_blocks[3:] - (level_blocks[1:-2] + level_blocks[:-3]) / 2
        change[2:-1] = np.sqrt((step.astype(np.float64) ** 2).sum(axis=1))
        change[:2], change[-1] = change[2], change[-2]
    return noise_floor(change, params, params.held_min_g / params.held_lm_factor)


def held_returns(
    sig: LegSignals,
    events: Table,
    candidates: np.ndarray,
    params: DetectionParameters,
    lm_max_s: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Of the `candidates` (indices into `events`, sorted and disjoint spans of this leg),
    those that are held movements, and the sample each one's limb is back at its rest.

    Held: the 1 s mean from `held_lm_delay_s` after the onset (the span's whole inside
    where it is longer) lies `held_lm_factor` x the hold noise floor (and `held_min_g`) off
    the 2 s rest before, and the limb holds still there (its samples' spread about their
    mean under `held_max_jitter_factor` x the envelope's noise floor); a span longer than a
    jerk's (a vibration) also tilts `lasting_tilt_share` of its peak, as classify asks of a
    tilt through the double mean. Back: a later 1 s mean, within `lm_max_s` of the onset,
    lies within `held_lm_return_share` of that offset (and twice the noise) of the rest.
    Windows reaching into a data gap or the previous event judge nothing. A loop over the
    few candidates held, not over samples."""
    if params.held_lm_factor <= 0 or len(candidates) == 0:
        return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
    rate, n = sig.rate_hz, len(sig.xyz)
    edge = int(round(EDGE_S * rate))
    starts = events["start"].astype(np.int64)
    ends = events["end"].astype(np.int64)
    previous_end = np.concatenate([[0], ends[:-1]])[candidates]
    start, end = starts[candidates], ends[candidates]
    rest_hi = start - int(round(GUARD_S * rate))
    rest_lo = np.maximum(rest_hi - int(round(REST_S * rate)), previous_end + edge)
    hold_lo = start + int(round(params.held_lm_delay_s * rate))
    window = max(int(round(params.held_lm_window_s * rate)), 1)
    hold_hi = np.maximum(hold_lo + window, end - edge)
    judged = (rest_hi - rest_lo >= 0.5 * rate) & (rest_lo >= 0) & (hold_hi <= n)
    candidates, start = candidates[judged], start[judged]
    rest_lo, rest_hi, hold_lo, hold_hi = (a[judged] for a in (rest_lo, rest_hi, hold_lo, hold_hi))
    if len(candidates) == 0:
        return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
    index, offsets = ranges_index(rest_lo, hold_hi)
    whole = np.logical_and.reduceat(sig.valid[index], offsets)
    rest = span_means(sig.xyz, rest_lo, rest_hi)
    offset_g = np.linalg.norm(span_means(sig.xyz, hold_lo, hold_hi) - rest, axis=1)
    noise = hold_noise_floor(sig.level_blocks, params)[
        np.minimum(start // sig.block, len(sig.level_blocks) - 1)
    ]
    # A jolt four times a foot's push, tilting as much, is the bed's (tests/test_small_tilts)
    swing = ~judged_brief(events, params)[candidates]
    enough = ~swing | (offset_g >= params.lasting_tilt_share * events["peak_g"][candidates])
    held = np.flatnonzero(whole & enough & (offset_g > params.held_lm_factor * noise))
    found, back_at = [], []
    step = max(int(round(RETURN_STEP_S * rate)), 1)
    for k in held:  # a loop over held candidates: a few a night
        # Held still: a bed's swing leaves a mean of several mg in a 1 s window too, and
        # ends as it began (benchmarks/vibrations.py: 20-27 of 800 swings taken for LMs)
        hold = sig.xyz[hold_lo[k] : hold_lo[k] + window].astype(np.float64)
        jitter = np.sqrt(((hold - hold.mean(axis=0)) ** 2).sum(axis=1).mean())
        if jitter > params.held_max_jitter_factor * sig.floor_at(start[k]):
            continue
        # The last window whose middle (the return) is within lm_max_s of the onset
        last = min(int(start[k] + lm_max_s * rate) - window // 2, n - window) - hold_lo[k]
        if last <= 0:
            continue
        stretch = sig.xyz[hold_lo[k] : hold_lo[k] + last + window].astype(np.float64)
        sums = np.concatenate([np.zeros((1, 3)), np.cumsum(stretch, axis=0)])
        firsts = np.arange(0, last + 1, step)
        means = (sums[firsts + window] - sums[firsts]) / window
        distance = np.linalg.norm(means - rest[k], axis=1)
        near = max(params.held_lm_return_share * offset_g[k], 2 * noise[k])
        back = np.flatnonzero(distance < near)
        if len(back) and sig.valid[hold_lo[k] : hold_lo[k] + firsts[back[0]] + window].all():
            found.append(candidates[k])
            # The first window back at rest began at the return: the limb is there mid-window
            back_at.append(int(hold_lo[k] + firsts[back[0]] + window // 2))
    return np.asarray(found, dtype=np.intp), np.asarray(back_at, dtype=np.intp)


def take_held_movements(
    sig: LegSignals,
    events: Table,
    kind: np.ndarray,
    params: DetectionParameters,
    lm_max_s: float,
) -> tuple[Table, np.ndarray]:
    """`events` (and their `kind`) with the jerks and rejected spans that are held movements
    (`held_returns`) made LMs, each to its return; the jerks and rejected spans that begin
    before that return (its release) go into it. One whose hold reaches another LM, movement
    or cramp is left as it was: that one measures the limb itself."""
    candidates = np.flatnonzero((kind == "jerk") | (kind == ""))
    held, back_at = held_returns(sig, events, candidates, params, lm_max_s)
    if len(held) == 0:
        return events, kind
    starts = events["start"]
    absorbed = np.zeros(len(events), dtype=bool)
    taken = []
    for index, back in zip(held.tolist(), back_at.tolist()):  # a loop over held movements
        if absorbed[index]:
            continue
        inside = np.arange(index + 1, int(np.searchsorted(starts, back)))
        if np.isin(kind[inside], ["jerk", ""]).all():
            absorbed[inside] = True
            taken.append((index, back))
    if not taken:
        return events, kind
    kind = kind.copy()
    rows = np.array([index for index, _ in taken])
    back = np.array([back for _, back in taken])
    kind[rows] = "lm"
    for name, values in (("end", back), ("offset_s", back / sig.rate_hz)):
        column = events[name].copy()
        column[rows] = values
        events[name] = column
    events["duration_s"] = events["offset_s"] - events["onset_s"]
    return events[~absorbed], kind[~absorbed]
