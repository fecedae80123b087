"""A night's sleep architecture for the `sway` family, in 30 s epochs.

Cycles of 75-115 min run N1 -> N2 -> N3 -> N2 -> REM; deep sleep thins and REM lengthens
across the night, as in adult polysomnograms. Awakenings fall at random (more after REM),
a restless-legs night adds one long awakening, and the night ends in a final awakening.
"""

from __future__ import annotations

import numpy as np

EPOCH_S = 30.0


def _cycle(rng: np.random.Generator, k: int) -> list[str]:
    """One sleep cycle's epochs (k counts from 0: the first cycle holds the most N3)."""
    n3 = int(max(0.0, rng.normal(40 - 14 * k, 8))) if k < 3 else int(rng.integers(0, 4))
    rem = int(np.clip(rng.normal(12 + 12 * k, 6), 4, 80))
    n2a = int(rng.integers(16, 50))
    n2b = int(rng.integers(6, 24))
    n1 = int(rng.integers(1, 6)) if k == 0 else int(rng.integers(0, 3))
    return ["N1"] * n1 + ["N2"] * n2a + ["N3"] * n3 + ["N2"] * n2b + ["REM"] * rem


def plan_hypnogram(
    rng: np.random.Generator,
    hours: float,
    latency_min: tuple[float, float],
    awakenings_per_h: tuple[float, float],
    mid_wake_min: tuple[float, float],
) -> list[tuple[float, float, str]]:
    """[(start_s, end_s, stage)] covering the night; stages W, N1, N2, N3, REM."""
    n = max(8, int(round(hours * 3600 / EPOCH_S)))
    # Short nights (tests) keep room for sleep: latency and final wake scale down.
    latency = int(min(rng.uniform(*latency_min) * 2, 0.3 * n))
    latency = max(latency, 2)
    final = int(min(rng.uniform(4, 35) * 2, 0.1 * n))
    final = max(final, 1)
    stages: list[str] = ["W"] * latency
    k = 0
    while len(stages) < n - final:
        stages += _cycle(rng, k)
        k += 1
    stages = stages[: n - final] + ["W"] * final
    seq = np.array(stages, dtype=object)
    sleep_span = (latency + 4, n - final - 2)
    if sleep_span[1] > sleep_span[0]:
        count = rng.poisson(rng.uniform(*awakenings_per_h) * hours)
        for _ in range(count):
            at = int(rng.integers(*sleep_span))
            # Most awakenings are brief (30 s - 2 min); a few last many minutes.
            length = int(rng.integers(1, 5)) if rng.random() < 0.8 else int(rng.integers(6, 30))
            seq[at : min(at + length, sleep_span[1])] = "W"
            after = min(at + length, sleep_span[1])
            seq[after : min(after + int(rng.integers(1, 4)), sleep_span[1])] = "N1"
        if mid_wake_min[1] > 0:
            length = int(rng.uniform(*mid_wake_min) * 2)
            at = int(sleep_span[0] + rng.uniform(0.35, 0.6) * (sleep_span[1] - sleep_span[0]))
            end = min(at + length, sleep_span[1] - 2)
            seq[at:end] = "W"
            seq[end : end + 2] = "N1"
    segments: list[tuple[float, float, str]] = []
    start = 0
    for i in range(1, n + 1):
        if i == n or seq[i] != seq[start]:
            segments.append((start * EPOCH_S, i * EPOCH_S, str(seq[start])))
            start = i
    return segments


def sleep_summary(hypnogram: list[tuple[float, float, str]]) -> dict:
    """Sleep onset, final awakening and the wake bouts between (seconds from the start)."""
    asleep = [(a, b) for a, b, s in hypnogram if s != "W"]
    if not asleep:
        return {"onset_s": None, "offset_s": None, "wake_bouts_s": []}
    onset, offset = asleep[0][0], asleep[-1][1]
    bouts = [[a, b] for a, b, s in hypnogram if s == "W" and a >= onset and b <= offset]
    return {"onset_s": onset, "offset_s": offset, "wake_bouts_s": bouts}


def stage_at(hypnogram: list[tuple[float, float, str]], t: float) -> str:
    """The stage at time t (W outside the night)."""
    for a, b, s in hypnogram:
        if a <= t < b:
            return s
    return "W"
