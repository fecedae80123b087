"""The limb family's wake behaviour and sleep posture shifts.

Wake alternates still stretches (reading, lying quietly: minutes without a movement) with
restless ones: irregular fidgets of any size and length, a foot rubbing the other shin, legs
crossed and uncrossed, rolling over. Longer awakenings may take the sleeper out of bed: sitting
up, standing, walking away (out of the radio's reach) and back. Asleep, the body turns now and
then, mostly at the edges of REM and of awakenings.
"""

from __future__ import annotations

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
    rub,
    twitch,
    walking,
)


def _whole(actions: dict, kind: str, tag: str) -> Move:
    start = min(a.onset_s for a in actions.values())
    end = max(a.onset_s + a.duration_s for a in actions.values())
    return Move(start, end - start, kind, tag, actions)


def _fidget(rng: np.random.Generator, t: float, legs: dict[str, Leg]) -> Move:
    """One restless movement of a waking sleeper."""
    what = rng.choice(
        ["wiggle", "rub", "cross", "roll", "stretch", "startle"],
        p=[0.5, 0.12, 0.1, 0.08, 0.14, 0.06],
    )
    leg = str(rng.choice(LEGS))
    if what == "wiggle":
        duration = float(np.clip(rng.lognormal(np.log(1.6), 0.6), 0.5, 9.5))
        style = str(rng.choice(["ankle", "knee", "triple"], p=[0.3, 0.5, 0.2]))
        which = [leg] if rng.random() < 0.7 else list(LEGS)
        actions = {
            name: leg_movement(
                rng,
                legs[name],
                t + rng.uniform(0, 0.5) * (name != leg),
                duration,
                style,
                float(rng.uniform(0.4, 1.6)),
            )
            for name in which
        }
        return _whole(actions, "lm", "fidget")
    if what == "rub":
        duration = float(rng.uniform(3, 16))
        return _whole(
            {leg: rub(rng, t, duration, legs[leg])}, "lm" if duration <= 10 else "movement", "rub"
        )
    if what == "stretch":
        duration = float(rng.uniform(4, 20))
        action = leg_movement(rng, legs[leg], t, duration, "triple", float(rng.uniform(1, 2)))
        return _whole({leg: action}, "lm" if duration <= 10 else "movement", "stretch")
    if what == "startle":
        width = float(rng.uniform(0.1, 0.35))
        actions = {
            name: twitch(rng, t, width, float(rng.uniform(0.05, 0.5)), legs[name].lever_m)
            for name in LEGS
        }
        return _whole(actions, "jerk", "startle")
    if what == "cross":
        target = posture("supine", leg, rng)
        target = (target[0] + float(rng.uniform(5, 20)), target[1] + float(rng.uniform(-40, 40)))
        action = posture_change(rng, t, float(rng.uniform(1.5, 5)), target)
        return _whole({leg: action}, "movement", "cross")
    kind = lying_posture(rng)
    duration = float(rng.uniform(2.5, 10))
    actions = {
        name: posture_change(rng, t + rng.uniform(0, 0.4), duration, posture(kind, name, rng))
        for name in LEGS
    }
    return _whole(actions, "movement", "roll")


def plan_wake(
    rng: np.random.Generator,
    hyp: Hypnogram,
    legs: dict[str, Leg],
    restless: float,
    exits_per_bout: float,
    quiet_spans: list[tuple[float, float]],
) -> tuple[list[Move], list[tuple[float, float]]]:
    """Wake movements, and the spans spent out of the radio's reach (out of bed)."""
    moves: list[Move] = []
    away: list[tuple[float, float]] = []
    segments = [(a, b) for a, b, s in hyp.segments() if s == "W"]
    for a, b in segments:  # a loop over wake stretches
        leave = b - a >= 420 and a > 0 and b < hyp.night_s and rng.random() < exits_per_bout
        if leave:
            out, span = _bed_exit(rng, a, b, legs)
            if span is not None:
                moves += out
                away.append(span)
                a = out[-1].end_s() + 20  # restless or still after coming back
        t = a + rng.uniform(0, 20)
        while t < b - 15:  # a loop over minutes of wake: still or restless
            chunk = float(rng.uniform(60, 300))
            calm = any(q0 <= t < q1 for q0, q1 in quiet_spans)
            if rng.random() < restless and not calm:
                stop = min(t + chunk, b - 15)
                while t < stop:  # a loop over fidgets
                    move = _fidget(rng, t, legs)
                    if move.end_s() < b - 10:
                        moves.append(move)
                    t = move.end_s() + float(rng.exponential(rng.uniform(15, 60))) + 0.6
            else:
                t += chunk
    return moves, away


def _bed_exit(
    rng: np.random.Generator, a: float, b: float, legs: dict[str, Leg]
) -> tuple[list[Move], tuple[float, float] | None]:
    """Sit up, stand, walk away and back, lie down again; the span out of reach."""
    t = a + rng.uniform(20, 60)
    moves = []

    def shift(kind: str, duration: float, tag: str) -> None:
        nonlocal t
        actions = {
            leg: posture_change(rng, t + rng.uniform(0, 0.5), duration, posture(kind, leg, rng))
            for leg in LEGS
        }
        moves.append(_whole(actions, "movement", tag))
        t = moves[-1].end_s() + rng.uniform(3, 20)

    shift("sitting", float(rng.uniform(3, 7)), "sit-up")
    shift("standing", float(rng.uniform(1.5, 3)), "stand")
    walk = float(rng.uniform(8, 25))
    moves.append(_whole({leg: walking(rng, t, walk) for leg in LEGS}, "movement", "walk"))
    gone = (t + walk * 0.6, t + walk + max(30.0, (b - a) * rng.uniform(0.1, 0.3)))
    t = gone[1] - walk * 0.4
    moves.append(_whole({leg: walking(rng, t, walk) for leg in LEGS}, "movement", "walk"))
    t += walk + rng.uniform(2, 6)
    shift("sitting", float(rng.uniform(1.5, 3)), "sit")
    shift(lying_posture(rng), float(rng.uniform(4, 9)), "lie-down")
    if moves[-1].end_s() > b - 40:  # the awakening was too short for the trip after all
        return [], None
    return moves, (gone[0], gone[1])


def plan_sleep_turns(rng: np.random.Generator, hyp: Hypnogram, per_hour: float) -> list[Move]:
    """Posture shifts in sleep, most at the edges of REM and of awakenings."""
    epochs = hyp.epochs
    edge = np.zeros(len(epochs))
    change = np.flatnonzero(np.diff(epochs)) + 1
    edge[np.clip(change, 0, len(epochs) - 1)] = 6.0
    weight = (epochs > 0) * (1.0 + edge)
    sleep_h = float(np.sum(epochs > 0)) * 30 / 3600
    if weight.sum() <= 0:
        return []
    count = rng.poisson(per_hour * sleep_h)
    moves = []
    for epoch in rng.choice(len(epochs), size=count, p=weight / weight.sum()):  # a loop over turns
        t = float(epoch * 30 + rng.uniform(0, 25))
        kind = lying_posture(rng)
        duration = float(rng.uniform(2, 14))
        actions = {
            leg: posture_change(rng, t + rng.uniform(0, 0.4), duration, posture(kind, leg, rng))
            for leg in LEGS
        }
        moves.append(_whole(actions, "movement", "posture"))
    return moves


def plan_isolated(
    rng: np.random.Generator, hyp: Hypnogram, per_hour: float, legs: dict[str, Leg]
) -> list[Move]:
    """Single leg movements in sleep, at random (no series): droppable, they leave no turn."""
    epochs = hyp.epochs
    sleep_h = float(np.sum(epochs > 0)) * 30 / 3600
    weight = (epochs > 0) * np.array([0, 1.0, 1.0, 0.5, 0.3])[epochs]
    if weight.sum() <= 0:
        return []
    moves = []
    for epoch in rng.choice(
        len(epochs), size=rng.poisson(per_hour * sleep_h), p=weight / weight.sum()
    ):  # a loop over movements
        t = float(epoch * 30 + rng.uniform(0, 28))
        leg = str(rng.choice(LEGS))
        duration = float(np.clip(rng.lognormal(np.log(1.8), 0.5), 0.55, 9.5))
        style = str(rng.choice(["ankle", "knee", "triple"], p=[0.4, 0.45, 0.15]))
        action = leg_movement(rng, legs[leg], t, duration, style, float(rng.uniform(0.5, 1.4)))
        action.residual = np.zeros(3)
        moves.append(Move(t, duration, "lm", "isolated", {leg: action}, droppable=True))
    return moves


def hypnic_onsets(hyp: Hypnogram) -> list[float]:
    """Times of wake-to-sleep transitions (hypnic jerks happen there)."""
    epochs = hyp.epochs
    return [float(i * 30) for i in range(1, len(epochs)) if epochs[i - 1] == 0 and epochs[i] > 0]
