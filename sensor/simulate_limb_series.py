"""The limb family's periodic leg movements: PLM series in sleep and trains in wake.

Series start where sleep is lighter (N1, N2; less in N3, rarely REM) and more in the first half
of the night. Each series has its own pace (a median interval of about 15-40 s), its own
spread, a slow wax and wane of interval and size, its own mix of ankle, knee and triple
flexions, and its own laterality. A series ends when the sleeper wakes, at REM, or at an
arousal that a larger movement (and sometimes a turn) marks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sleepmove.sensor.simulate_limb_hypnogram import Hypnogram
from sleepmove.sensor.simulate_limb_moves import (
    LEGS,
    Leg,
    Move,
    leg_movement,
    lying_posture,
    posture,
    posture_change,
)

STAGE_WEIGHT = np.array([0.0, 1.0, 1.0, 0.4, 0.06])  # W, N1, N2, N3, REM


@dataclass
class Pace:
    """A series' tempo and look."""

    imi_s: float
    spread: float
    duration_s: float
    scale: float
    styles: np.ndarray  # probabilities of ankle, knee, triple
    laterality: str  # left, right, bilateral, alternating, mixed


def draw_pace(rng: np.random.Generator, fast: bool, awake: bool, laterality: str) -> Pace:
    ankle = rng.uniform(0.1, 0.5) if not awake else rng.uniform(0.0, 0.2)
    triple = rng.uniform(0.05, 0.4) if not awake else rng.uniform(0.3, 0.6)
    return Pace(
        imi_s=float(rng.uniform(13, 30) if fast else rng.uniform(15, 40)),
        spread=float(rng.uniform(0.05, 0.25)),
        duration_s=float(rng.uniform(1.8, 4.5) if awake else rng.uniform(1.0, 3.2)),
        scale=float(rng.uniform(0.6, 1.4)),
        styles=np.array([ankle, 1 - ankle - triple, triple]),
        laterality=laterality,
    )


def series_moves(
    rng: np.random.Generator,
    onsets: list[float],
    pace: Pace,
    legs: dict[str, Leg],
    series: int,
    tag: str,
    arousal_end: bool,
) -> list[Move]:
    """The LMs of one series at the given onsets (the last one an arousal's, if so)."""
    moves = []
    count = len(onsets)
    phase = rng.uniform(0, 2 * np.pi)
    for index, onset in enumerate(onsets):  # a loop over the series' movements
        wax = 0.55 + 0.45 * np.sin(np.pi * (index + 0.5) / count) ** 0.7
        scale = (
            pace.scale * wax * (1 + 0.2 * np.sin(phase + index / 3)) * np.exp(rng.normal(0, 0.25))
        )
        style = str(rng.choice(["ankle", "knee", "triple"], p=pace.styles))
        duration = pace.duration_s * np.exp(rng.normal(0, 0.4)) * (1.4 if style == "triple" else 1)
        last = arousal_end and index == count - 1
        if last:
            style, scale, duration = "triple", scale * 2, rng.uniform(3, 8)
        duration = float(np.clip(duration, 0.55, 9.5))
        which = _legs_of(rng, pace.laterality, index)
        actions = {}
        lag = 0.0
        for leg in which:  # a loop over the legs that move
            length = float(np.clip(duration * np.exp(rng.normal(0, 0.15)), 0.55, 9.5))
            actions[leg] = leg_movement(rng, legs[leg], onset + lag, length, style, scale)
            lag = float(rng.uniform(0.0, 0.4))
        start = min(a.onset_s for a in actions.values())
        end = max(a.onset_s + a.duration_s for a in actions.values())
        moves.append(Move(start, end - start, "lm", tag, actions, series=series))
    return moves


def _legs_of(rng: np.random.Generator, laterality: str, index: int) -> list[str]:
    if laterality in LEGS:
        return [laterality] if rng.random() > 0.12 else list(rng.permutation(LEGS))
    if laterality == "bilateral":
        return list(rng.permutation(LEGS)) if rng.random() > 0.15 else [str(rng.choice(LEGS))]
    if laterality == "alternating":
        return [LEGS[index % 2]] if rng.random() > 0.1 else list(rng.permutation(LEGS))
    pick = rng.integers(0, 3)
    return [LEGS[0]] if pick == 0 else [LEGS[1]] if pick == 1 else list(rng.permutation(LEGS))


def intervals(rng: np.random.Generator, pace: Pace, count: int) -> np.ndarray:
    """Onset-to-onset intervals: the series' pace, waxing and waning, with its own spread."""
    period = rng.uniform(8, 30)
    drift = 1 + 0.12 * np.sin(2 * np.pi * np.arange(count) / period + rng.uniform(0, 6.3))
    raw = pace.imi_s * drift * np.exp(rng.normal(0, pace.spread, count))
    return np.clip(raw, 10.4, 88.0)


def plan_sleep_series(
    rng: np.random.Generator,
    hyp: Hypnogram,
    per_hour: float,
    fast: bool,
    legs: dict[str, Leg],
    lateralities: list[str],
    first_series: int,
) -> list[Move]:
    """PLM series in sleep adding up to about `per_hour` per hour of sleep."""
    epochs = hyp.epochs
    night = hyp.night_s
    centre = (np.arange(len(epochs)) + 0.5) * 30.0
    weight = STAGE_WEIGHT[epochs] * (1.35 - 0.7 * centre / night)
    sleep_h = float(np.sum(epochs > 0)) * 30.0 / 3600
    wanted = per_hour * sleep_h / 0.9  # some movements stay too small for the sensor to show
    free = np.ones(len(epochs), bool)
    moves: list[Move] = []
    placed, tries, series = 0, 0, first_series
    while placed < wanted and tries < 300 and weight.sum() > 0:  # a loop over series
        tries += 1
        p = weight * free
        if p.sum() <= 0:
            break
        start = (int(rng.choice(len(epochs), p=p / p.sum())) + rng.uniform(0, 1)) * 30.0
        pace = draw_pace(rng, fast, False, str(rng.choice(lateralities)))
        length = int(np.clip(rng.lognormal(np.log(28 if fast else 12), 0.6), 4, 400))
        length = min(length, int(np.ceil(wanted - placed)) + 3)
        gaps = intervals(rng, pace, length)
        onsets: list[float] = []
        t = start
        for gap in gaps:  # a loop over the series' movements: stop at waking or REM
            stage = int(hyp.stage_at(t))
            epoch = int(t // 30)
            if t >= night - 15 or not free[min(epoch, len(free) - 1)]:
                break
            if stage == 0 or (stage == 4 and rng.random() < 0.5):
                break
            onsets.append(float(t))
            t += float(gap)
        if len(onsets) < 4:
            continue
        arousal = rng.random() < 0.35
        moves += series_moves(rng, onsets, pace, legs, series, "plms", arousal)
        if arousal and rng.random() < 0.4 and onsets[-1] + 20 < night - 20:
            moves.append(_turn(rng, onsets[-1] + rng.uniform(8, 14), legs))
        free[max(0, int(onsets[0] // 30) - 3) : int(onsets[-1] // 30) + 4] = False
        placed += len(onsets)
        series += 1
    return moves


def plan_wake_trains(
    rng: np.random.Generator,
    spans: list[tuple[float, float]],
    legs: dict[str, Leg],
    lateralities: list[str],
    first_series: int,
) -> list[Move]:
    """Restless legs awake: trains of longer, larger leg movements filling the given spans."""
    moves: list[Move] = []
    series = first_series
    for a, b in spans:  # a loop over wake spans
        t = a + rng.uniform(5, 40)
        while t < b - 60:  # a loop over trains
            pace = draw_pace(rng, True, True, str(rng.choice(lateralities)))
            pace.imi_s = float(rng.uniform(11, 26))
            count = int(rng.integers(5, 25))
            onsets = list(t + np.concatenate([[0.0], np.cumsum(intervals(rng, pace, count - 1))]))
            onsets = [o for o in onsets if o < b - 12]
            if len(onsets) >= 4:
                moves += series_moves(rng, onsets, pace, legs, series, "plmw", False)
                series += 1
            t = (onsets[-1] if onsets else t) + rng.uniform(100, 300)
    return moves


def _turn(rng: np.random.Generator, onset: float, legs: dict[str, Leg]) -> Move:
    """A change of posture after an arousal (both legs)."""
    kind = lying_posture(rng)
    duration = float(rng.uniform(2, 12))
    actions = {
        leg: posture_change(rng, onset + rng.uniform(0, 0.3), duration, posture(kind, leg, rng))
        for leg in legs
    }
    return Move(onset, duration + 0.3, "movement", "posture", actions)
