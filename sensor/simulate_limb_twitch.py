"""The limb family's brief twitches and the bed partner.

Hypnic jerks: one or two strong whole-body jerks (75-250 ms) as wake gives way to sleep.
Phasic REM twitches: clusters of tiny kicks (50-250 ms, 20-100 mg) on either leg, in REM only.
Myoclonic clusters: runs of small jerks at 1-5 Hz in NREM (one scenario). The partner: turning
over rings the mattress at its own mode (foam: low and damped; springs: higher and ringing) and
may leave it a little tilted; getting in or out of bed is a bigger jolt; a partner with leg
movements of their own sends trains of small jolts through the bed.
"""

from __future__ import annotations

import numpy as np

from sleepmove.sensor.simulate_limb_hypnogram import Hypnogram
from sleepmove.sensor.simulate_limb_moves import LEGS, Leg, Move, bed_shake, twitch


def _jerk(
    rng: np.random.Generator,
    t: float,
    width: float,
    peak: float,
    which: list[str],
    legs: dict[str, Leg],
    tag: str,
) -> Move:
    actions = {}
    for leg in which:  # a loop over the legs that jerk
        delay = float(rng.uniform(0, 0.03)) if len(which) > 1 else 0.0
        size = peak * float(rng.uniform(0.6, 1.0)) if len(which) > 1 else peak
        actions[leg] = twitch(rng, t + delay, width, size, legs[leg].lever_m)
    start = min(a.onset_s for a in actions.values())
    end = max(a.onset_s + a.duration_s for a in actions.values())
    return Move(start, end - start, "jerk", tag, actions, droppable=True)


def plan_hypnic(
    rng: np.random.Generator, onsets: list[float], first: float, later: float, legs: dict[str, Leg]
) -> list[Move]:
    """Hypnic jerks at wake-to-sleep transitions (the first with probability `first`)."""
    moves = []
    for index, t in enumerate(onsets):  # a loop over transitions into sleep
        if rng.random() >= (first if index == 0 else later):
            continue
        at = t + float(rng.uniform(-20, 40))
        for _ in range(1 if rng.random() < 0.7 else 2):  # a loop over one or two jerks
            width = float(rng.uniform(0.075, 0.25))
            moves.append(
                _jerk(rng, at, width, float(rng.uniform(0.15, 1.2)), list(LEGS), legs, "hypnic")
            )
            at += float(rng.uniform(1.5, 8))
    return moves


def plan_rem_twitches(
    rng: np.random.Generator, hyp: Hypnogram, per_min: float, legs: dict[str, Leg]
) -> list[Move]:
    """Clusters of phasic twitches in REM."""
    moves = []
    rem = [(a, b) for a, b, s in hyp.segments() if s == "REM"]
    for a, b in rem:  # a loop over REM periods
        for start in np.sort(rng.uniform(a, b, rng.poisson(per_min * (b - a) / 60))):
            t = float(start)
            for _ in range(int(rng.integers(2, 9))):  # a loop over a cluster's twitches
                if t >= b - 1:
                    break
                which = list(LEGS) if rng.random() < 0.15 else [str(rng.choice(LEGS))]
                peak = float(np.clip(rng.lognormal(np.log(0.045), 0.5), 0.015, 0.12))
                moves.append(
                    _jerk(rng, t, float(rng.uniform(0.05, 0.25)), peak, which, legs, "rem-twitch")
                )
                t += float(rng.uniform(0.3, 3.0))
    return moves


def plan_myoclonus(
    rng: np.random.Generator, hyp: Hypnogram, per_hour: float, legs: dict[str, Leg]
) -> list[Move]:
    """Clusters of 3-12 small jerks at 1-5 Hz in NREM sleep."""
    epochs = hyp.epochs
    weight = np.isin(epochs, (1, 2, 3)).astype(float)
    if weight.sum() <= 0:
        return []
    count = rng.poisson(per_hour * weight.sum() * 30 / 3600)
    moves = []
    for epoch in rng.choice(len(epochs), size=count, p=weight / weight.sum()):
        t = float(epoch * 30 + rng.uniform(0, 20))
        leg = str(rng.choice(LEGS))
        rate = float(rng.uniform(1, 5))
        for _ in range(int(rng.integers(3, 13))):  # a loop over the cluster's jerks
            which = [leg] if rng.random() < 0.8 else list(LEGS)
            peak = float(np.clip(rng.lognormal(np.log(0.07), 0.5), 0.02, 0.25))
            moves.append(
                _jerk(rng, t, float(rng.uniform(0.06, 0.2)), peak, which, legs, "myoclonus")
            )
            t += max(0.22, 1 / rate * float(rng.uniform(0.8, 1.25)))
    return moves


def plan_partner(rng: np.random.Generator, night_s: float) -> list[Move]:
    """A bed partner's turns, getting in and out, and maybe their own leg jolts."""
    springs = rng.random() < 0.5
    mattress = (
        (float(rng.uniform(4, 8)), float(rng.uniform(0.04, 0.12)))
        if springs
        else (float(rng.uniform(1.8, 4)), float(rng.uniform(0.15, 0.4)))
    )
    moves = []

    def shake(t: float, duration: float, peak: float, tilt: float, tag: str) -> None:
        actions = {}
        for leg in LEGS:  # both legs ride the same mattress, a little differently
            coupling = float(rng.uniform(0.6, 1.0))
            actions[leg] = bed_shake(
                rng, t + float(rng.uniform(0, 0.02)), duration, peak * coupling, mattress, tilt
            )
        moves.append(Move(t, duration, "vibration", tag, actions))

    for t in np.sort(rng.uniform(0, night_s - 20, rng.poisson(rng.uniform(2, 6) * night_s / 3600))):
        shake(
            float(t),
            float(rng.uniform(1.5, 6)),
            float(rng.uniform(0.01, 0.07)),
            float(rng.uniform(0.05, 0.5)),
            "partner-turn",
        )
    for _ in range(int(rng.integers(1, 3)) if night_s > 1800 else 0):
        shake(
            float(rng.uniform(0, night_s - 30)),
            float(rng.uniform(4, 10)),
            float(rng.uniform(0.06, 0.2)),
            float(rng.uniform(0.3, 1.5)),
            "partner-bed",
        )
    if rng.random() < 0.5:
        t = float(rng.uniform(0, night_s * 0.7))
        imi = float(rng.uniform(20, 35))
        for _ in range(int(rng.integers(8, 40))):  # a loop over the partner's leg jolts
            if t > night_s - 20:
                break
            shake(
                t, float(rng.uniform(0.8, 2.5)), float(rng.uniform(0.004, 0.02)), 0.0, "partner-plm"
            )
            t += imi * float(np.exp(rng.normal(0, 0.12)))
    return moves
