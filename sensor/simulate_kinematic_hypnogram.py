"""Hypnogram of the "kinematic" simulator family: 30-s epochs of W, N1, N2, N3 and R.

A night of its own design: a sleep latency, NREM/REM cycles of 80-110 minutes whose deep
sleep (N3) fades and whose REM grows through the night, brief awakenings (mostly at the end
of a cycle, after REM), a few long wake bouts (WASO) and a final awakening before lights on.
"""

from __future__ import annotations

import numpy as np

EPOCH_S = 30.0
STAGES = ("W", "N1", "N2", "N3", "R")


def build_hypnogram(rng: np.random.Generator, hours: float, profile) -> np.ndarray:
    """One stage code (index into STAGES) per 30-s epoch."""
    n = max(4, int(round(hours * 3600 / EPOCH_S)))
    latency = int(round(rng.uniform(*profile.latency_min) * 2))
    latency = min(latency, max(1, int(0.3 * n)))
    final = min(int(round(rng.uniform(*profile.final_wake_min) * 2)), int(0.1 * n))
    seq: list[int] = [0] * latency
    cycle = 0
    while len(seq) < n - final:
        first = cycle == 0
        n1 = int(rng.integers(2, 10) if first else rng.integers(1, 4))
        n2a = int(rng.uniform(20, 40))
        n3 = int(max(0.0, rng.normal(50 - 18 * cycle, 8)))
        n2b = int(rng.uniform(8, 20))
        rem = int(np.clip(10 + 18 * cycle + rng.normal(0, 5), 6, 80))
        seq += [1] * n1 + [2] * n2a + [3] * n3 + [2] * n2b + [4] * rem
        cycle += 1
    seq = seq[: n - final] + [0] * final
    stages = np.array(seq[:n], dtype=np.int8)
    asleep = np.flatnonzero(stages > 0)
    if len(asleep) == 0:
        return stages
    first, last = asleep[0], asleep[-1]
    span = last - first
    # Long wake bouts (WASO), then brief awakenings, mostly just after a REM period.
    for _ in range(int(rng.integers(*profile.waso_bouts, endpoint=True))):
        length = int(rng.uniform(*profile.waso_min) * 2)
        if span > 4 * length + 20:
            at = int(rng.integers(first + 10, last - length - 5))
            stages[at : at + length] = 0
            stages[at + length : at + length + 2] = 1
    hours_asleep = span * EPOCH_S / 3600
    after_rem = np.flatnonzero((stages[:-1] == 4) & (stages[1:] != 4)) + 1
    for _ in range(rng.poisson(profile.awakenings_per_h * hours_asleep)):
        if len(after_rem) and rng.random() < 0.5:
            at = int(rng.choice(after_rem))
        else:
            at = int(rng.integers(first + 2, max(first + 3, last - 2)))
        length = int(rng.integers(1, 7))
        if at + length >= last:
            continue
        stages[at : at + length] = 0
        stages[at + length] = 1 if stages[at + length] in (2, 3) else stages[at + length]
    return stages


def segments(stages: np.ndarray) -> list[tuple[float, float, str]]:
    """Runs of one stage as (start_s, end_s, name)."""
    edges = np.flatnonzero(np.diff(stages)) + 1
    starts = np.concatenate([[0], edges])
    ends = np.concatenate([edges, [len(stages)]])
    return [
        (float(a * EPOCH_S), float(b * EPOCH_S), STAGES[int(stages[a])])
        for a, b in zip(starts, ends)
    ]


def sleep_period(stages: np.ndarray) -> tuple[float, float, list[list[float]]]:
    """Sleep onset, sleep offset (s) and the wake bouts between them."""
    asleep = np.flatnonzero(stages > 0)
    if len(asleep) == 0:
        end = len(stages) * EPOCH_S
        return end, end, []
    onset, offset = asleep[0] * EPOCH_S, (asleep[-1] + 1) * EPOCH_S
    bouts = [
        [a, b] for a, b, name in segments(stages) if name == "W" and a >= onset and b <= offset
    ]
    return float(onset), float(offset), bouts
