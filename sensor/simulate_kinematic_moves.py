"""Movement repertoire of the "kinematic" family: postures and the joint motions of each kind
of movement, as components (leg, joint, excursion, onset, time course).

Angles in degrees, body shifts in metres; DOF indices as in simulate_kinematic_leg.DOFS.
"""

from __future__ import annotations

import numpy as np

from sleepmove.sensor.simulate_kinematic_shapes import Shape

ROLL, TY, TZ, HIP, ABD, ROT, KNEE, ANKLE = range(8)
POSTURES = ("supine", "right-side", "left-side", "prone")


def posture_roll(rng, posture: str) -> float:
    if posture == "supine":
        return float(rng.normal(0, 8))
    if posture == "prone":
        return float(180 + rng.normal(0, 12))
    sign = 1 if posture == "right-side" else -1  # +roll: lying on the right side
    return float(sign * rng.uniform(60, 115))


def leg_pose(rng, posture: str, top: bool) -> np.ndarray:
    """hip flexion, abduction, rotation, knee, ankle for one leg in a posture."""
    if posture == "supine":
        pose = [
            rng.uniform(0, 12),
            rng.uniform(-3, 12),
            rng.uniform(-5, 25),
            0,
            rng.uniform(-10, 5),
        ]
        pose[3] = pose[0] + rng.uniform(0, 10)
    elif posture == "prone":
        pose = [rng.uniform(-5, 8), rng.uniform(0, 15), rng.uniform(-20, 5), rng.uniform(0, 30), 0]
        if rng.random() < 0.3:  # one leg drawn up to the side
            pose = [
                rng.uniform(35, 70),
                rng.uniform(20, 40),
                rng.uniform(-10, 10),
                rng.uniform(60, 95),
                0,
            ]
    elif top:
        pose = [
            rng.uniform(20, 80),
            rng.uniform(-20, 0),
            rng.uniform(-15, 10),
            rng.uniform(30, 100),
            0,
        ]
    else:
        pose = [
            rng.uniform(5, 50),
            rng.uniform(-5, 5),
            rng.uniform(-10, 10),
            rng.uniform(15, 70),
            0,
        ]
    pose[4] = rng.uniform(-15, 10)
    return np.array(pose, dtype=float)


def top_leg(roll: float, sign: float) -> bool:
    """Is the leg of this side (+1 left) the upper one? +roll lies on the right side."""
    wrapped = (roll + 180) % 360 - 180
    return 30 < abs(wrapped) < 150 and np.sign(wrapped) == sign


def pulse(rng, duration: float, rise_max: float = 1.0) -> Shape:
    """A rise-hold-fall time course lasting exactly `duration`."""
    rise = rng.uniform(0.2, max(0.21, min(rise_max, 0.4 * duration)))
    fall = rng.uniform(0.25, max(0.26, min(2.5, 0.45 * duration)))
    scale = min(1.0, 0.95 * duration / (rise + fall))
    rise, fall = rise * scale, fall * scale
    zeta = None if rng.random() < 0.7 else float(rng.uniform(0.35, 0.8))
    return Shape(
        "pulse",
        {
            "rise": rise,
            "hold": duration - rise - fall,
            "fall": fall,
            "zeta": zeta,
            "sag": float(rng.uniform(0, 0.4)),
        },
    )


def triple_flexion(rng, leg: str, onset: float, duration: float, knee: float) -> list[tuple]:
    """A PLM: ankle dorsiflexion leading, knee and hip flexion following (varied sizes)."""
    lead = rng.uniform(0, 0.15)
    out = [(leg, ANKLE, rng.uniform(5, 25), onset, pulse(rng, duration))]
    knee_shape = pulse(rng, duration - lead)
    out.append((leg, KNEE, knee, onset + lead, knee_shape))
    out.append((leg, HIP, knee * rng.uniform(0.25, 0.6), onset + lead, knee_shape))
    if rng.random() < 0.5:
        out.append((leg, ROT, knee * rng.uniform(-0.3, 0.3), onset + lead, knee_shape))
    if rng.random() < 0.1:  # clonic beats riding on the hold
        for _ in range(int(rng.integers(2, 5))):
            at = onset + rng.uniform(0.2, 0.8) * duration
            beat = Shape(
                "twitch", {"D": rng.uniform(0.08, 0.2), "fn": rng.uniform(3, 6), "zeta": 0.6}
            )
            if at + beat.length_s < onset + duration:
                out.append((leg, KNEE, knee * rng.uniform(0.1, 0.3), at, beat))
    return out


def leg_movement(rng, leg: str, onset: float, duration: float) -> list[tuple]:
    """Any other leg movement: one or several sub-movements of assorted joints."""
    parts = max(1, int(duration // 3.0)) if duration > 10 else 1
    out = []
    for k in range(parts):
        sub = duration / parts
        start = onset + k * sub * (1 if parts == 1 else rng.uniform(0.9, 1.0))
        length = min(sub * rng.uniform(0.8, 1.2), onset + duration - start) if parts > 1 else sub
        length = max(length, 0.3)
        kind = rng.choice(
            ["flex", "rotate", "slide", "lift", "foot"], p=[0.35, 0.2, 0.15, 0.15, 0.15]
        )
        shape = pulse(rng, length, rise_max=1.5)
        if kind == "flex":
            out += triple_flexion(rng, leg, start, length, float(rng.lognormal(np.log(10), 0.6)))
        elif kind == "rotate":
            out.append((leg, ROT, rng.choice([-1, 1]) * rng.uniform(5, 20), start, shape))
        elif kind == "slide":
            out.append((leg, ABD, rng.choice([-1, 1]) * rng.uniform(4, 15), start, shape))
        elif kind == "lift":
            out.append((leg, HIP, rng.uniform(5, 20), start, shape))
            out.append((leg, KNEE, rng.uniform(0, 5), start, shape))
        else:
            out.append((leg, ANKLE, rng.uniform(10, 30), start, shape))
    # a compound movement ends when its duration says
    return [c for c in out if c[3] < onset + duration]


def twitch(rng, leg: str, onset: float, hypnic: bool, legs: list[str]) -> list[tuple]:
    """A brief jerk: a burst of 50-250 ms through a damped limb; a sleep start may shake the
    body and both legs."""
    if hypnic:
        burst = rng.uniform(0.1, 0.25)
        out = []
        targets = legs if rng.random() < 0.6 else [leg]
        for name in targets:
            shape = Shape(
                "twitch", {"D": burst, "fn": rng.uniform(2.5, 5), "zeta": rng.uniform(0.5, 0.9)}
            )
            lag = rng.uniform(0, 0.03)
            out.append((name, KNEE, rng.uniform(1, 5), onset + lag, shape))
            out.append((name, HIP, rng.uniform(0.5, 3), onset + lag, shape))
            out.append((name, ANKLE, rng.uniform(5, 15), onset + lag, shape))
        if rng.random() < 0.5:
            body = Shape("twitch", {"D": burst, "fn": rng.uniform(2, 4), "zeta": 0.7})
            out.append(("body", TZ, rng.uniform(0.002, 0.008), onset, body))
        return out
    shape = Shape(
        "twitch",
        {"D": rng.uniform(0.05, 0.15), "fn": rng.uniform(2.5, 7), "zeta": rng.uniform(0.5, 1.0)},
    )
    dof = rng.choice([KNEE, HIP, ROT, ANKLE], p=[0.4, 0.2, 0.25, 0.15])
    size = {KNEE: (0.1, 0.8), HIP: (0.1, 0.6), ROT: (0.2, 1.5), ANKLE: (3, 12)}[dof]
    return [
        (
            leg,
            int(dof),
            rng.uniform(*size) * rng.choice([-1, 1]) if dof == ROT else rng.uniform(*size),
            onset,
            shape,
        )
    ]


def turn(
    rng, onset: float, roll_now: float, target_roll: float, legs_now: dict, legs_new: dict
) -> list[tuple]:
    """A posture change: the body rolls (lifting and shifting a little), legs take new poses."""
    delta = (target_roll - roll_now + 180) % 360 - 180
    if abs(delta) > 150 and rng.random() < 0.5:
        delta = delta - np.sign(delta) * 360  # the long way round, through a side
    length = rng.uniform(1.5, 2.5) + abs(delta) / 60
    out = [("body", ROLL, delta, onset + rng.uniform(0.2, 1.0), Shape("step", {"T": length}))]
    out.append(("body", TY, rng.normal(0, 0.06), onset + 0.5, Shape("step", {"T": length})))
    out.append(("body", TZ, rng.uniform(0.01, 0.05), onset + 0.3, pulse(rng, length + 0.5)))
    for name, now in legs_now.items():
        for dof, change in zip(range(HIP, ANKLE + 1), legs_new[name] - now):
            at = onset + rng.uniform(0, length)
            out.append((name, dof, float(change), at, Shape("step", {"T": rng.uniform(1.0, 3.0)})))
    return out


def leg_shift(rng, leg: str, onset: float, now: np.ndarray, new: np.ndarray) -> list[tuple]:
    """One leg repositioned (no roll): its joints step to a new pose."""
    length = rng.uniform(1.0, 5.0)
    return [
        (leg, dof, float(change), onset + rng.uniform(0, 0.4), Shape("step", {"T": length}))
        for dof, change in zip(range(HIP, ANKLE + 1), new - now)
    ]
