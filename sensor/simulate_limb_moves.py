"""The limb family's movement repertoire: each kind of movement as shank physics (Actions).

A movement (Move) is what the truth lists; its Actions say what each leg did. The numbers are
physiology, not detector settings: a pure ankle dorsiflexion barely turns the shank (the calf
rests on the mattress) but rocks the strap on the tibialis tendon and makes it hum; a knee or
triple flexion slides the heel and tips the shank by degrees to tens of degrees; a twitch is a
brief kick of the strap; a partner's turn rings the mattress.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sleepmove.sensor.simulate_limb_leg import Action

LEGS = ("left", "right")


@dataclass
class Move:
    """One movement of the truth, with what each leg did."""

    onset_s: float
    duration_s: float
    kind: str  # lm, jerk, movement, vibration
    tag: str  # what it was: plms, plmw, fidget, rub, cross, roll, posture, hypnic, ...
    actions: dict[str, Action] = field(default_factory=dict)  # by leg
    series: int | None = None
    droppable: bool = False  # may be left out (no lasting turn) to keep a healthy night clean

    def end_s(self) -> float:
        return self.onset_s + self.duration_s


@dataclass
class Leg:
    """A sleeper's leg and strap, drawn per night: the same movement looks different on
    different legs (how the strap sits over the tendon, how far the heel slides)."""

    tendon_deg: float  # strap rocking on the tibialis tendon at full dorsiflexion
    mmg_g: float  # tendon hum at full effort
    lever_m: float  # calf contact (pivot) to strap


def draw_leg(rng: np.random.Generator) -> Leg:
    return Leg(
        tendon_deg=float(rng.uniform(0.2, 2.5)),
        mmg_g=float(rng.uniform(0.002, 0.012)),
        lever_m=float(rng.uniform(0.12, 0.26)),
    )


def posture(kind: str, leg: str, rng: np.random.Generator) -> tuple[float, float]:
    """(elevation, roll) in degrees of a leg's shank in a named posture."""
    outward = 1.0 if leg == "left" else -1.0  # a supine leg falls open, each to its own side
    if kind == "supine":
        return float(rng.uniform(-4, 5)), outward * float(rng.uniform(10, 55))
    if kind == "left-side":
        return float(rng.uniform(-15, 10)), float(rng.uniform(70, 110))
    if kind == "right-side":
        return float(rng.uniform(-15, 10)), -float(rng.uniform(70, 110))
    if kind == "prone":
        return float(rng.uniform(-8, 20)), 180.0 + float(rng.uniform(-30, 30))
    if kind == "knees-up":
        return -float(rng.uniform(30, 58)), outward * float(rng.uniform(-5, 25))
    if kind == "sitting":
        return -float(rng.uniform(62, 86)), float(rng.uniform(-15, 15))
    return -float(rng.uniform(86, 92)), float(rng.uniform(-8, 8))  # standing


def lying_posture(rng: np.random.Generator) -> str:
    return str(
        rng.choice(["supine", "left-side", "right-side", "prone"], p=[0.38, 0.25, 0.25, 0.12])
    )


def leg_movement(
    rng: np.random.Generator, leg: Leg, onset: float, duration: float, style: str, scale: float
) -> Action:
    """A limb movement: ankle dorsiflexion alone, with the knee, or triple flexion."""
    rise = float(rng.uniform(0.1, 0.4))
    hold = float(rng.uniform(0.05, 0.55)) * min(1.0, duration / 1.5)
    common = dict(
        onset_s=onset,
        duration_s=duration,
        rise=rise,
        hold=hold,
        sag=float(rng.uniform(0, 0.4)),
        sharp=float(rng.uniform(0.7, 1.6)),
        lever_m=leg.lever_m,
        mmg_g=leg.mmg_g * scale * float(rng.uniform(0.5, 1.2)),
        mmg_hz=float(rng.uniform(9, 26)),
        noise_seed=int(rng.integers(2**31)),
    )
    tendon = leg.tendon_deg * scale * float(rng.uniform(0.5, 1.2))
    if style == "ankle":  # the calf stays put; the shank turns well under a degree
        return Action(flex_deg=scale * float(rng.uniform(0.03, 0.8)), roll_deg=tendon, **common)
    small = rng.normal(0, 0.004, 3)  # the leg rarely comes back exactly where it was
    if style == "knee":
        flex = scale * float(rng.uniform(1, 8))
        roll = tendon + float(rng.uniform(-3, 3))
        return Action(flex_deg=flex, roll_deg=roll, pivot="heel", residual=small, **common)
    flex = float(np.clip(scale * rng.uniform(8, 40), 4, 60))
    roll = tendon + float(rng.uniform(-10, 10))
    return Action(flex_deg=flex, roll_deg=roll, pivot="heel", residual=small * 3, **common)


def twitch(
    rng: np.random.Generator, onset: float, width: float, peak_g: float, lever_m: float
) -> Action:
    """A brief twitch: a kick of the strap (a +/-/+ acceleration pulse), a hair of a turn."""
    direction = (float(rng.normal(0, 0.5)), 1.0, float(rng.normal(0, 0.5)))
    return Action(
        onset_s=onset,
        duration_s=width,
        flex_deg=min(3.0, float(rng.uniform(0.01, 0.3)) * peak_g / 0.05),
        rise=0.4,
        hold=0.0,
        lever_m=lever_m,
        pulse_g=peak_g,
        pulse_dir=direction,
    )


def posture_change(
    rng: np.random.Generator, onset: float, duration: float, target: tuple[float, float]
) -> Action:
    """Turning over or shifting: the legs are drawn up and swung into a new posture."""
    return Action(
        onset_s=onset,
        duration_s=duration,
        flex_deg=float(rng.uniform(5, 35)),
        roll_deg=float(rng.uniform(-15, 15)),
        rise=0.35,
        hold=0.2,
        pivot="heel",
        lever_m=float(rng.uniform(0.12, 0.25)),
        target=target,
        wobble_deg=float(rng.uniform(1, 5)),
        wobble_hz=float(rng.uniform(0.5, 1.5)),
    )


def rub(rng: np.random.Generator, onset: float, duration: float, leg: Leg) -> Action:
    """One foot rubbing the other shin: the leg rolls back and forth about its long axis."""
    return Action(
        onset_s=onset,
        duration_s=duration,
        flex_deg=float(rng.uniform(2, 15)),
        rise=0.15,
        hold=0.6,
        pivot="heel",
        lever_m=leg.lever_m,
        wobble_deg=float(rng.uniform(4, 20)),
        wobble_hz=float(rng.uniform(0.8, 2.5)),
        residual=rng.normal(0, 0.01, 3),
    )


def walking(rng: np.random.Generator, onset: float, duration: float) -> Action:
    """Walking: the upright shank swings about the knee, a heel strike each stride."""
    return Action(
        onset_s=onset,
        duration_s=duration,
        rise=0.05,
        hold=0.9,
        pivot="knee",
        lever_m=0.3,
        wobble_deg=float(rng.uniform(18, 30)),
        wobble_hz=float(rng.uniform(0.8, 1.0)),
        wobble_axis="flex",
        impacts_g=float(rng.uniform(0.8, 2.5)),
        pulse_dir=(1.0, 0.2, 0.0),
    )


def bed_shake(
    rng: np.random.Generator,
    onset: float,
    duration: float,
    peak_g: float,
    mattress: tuple[float, float],
    tilt_deg: float,
) -> Action:
    """The mattress under the leg, rung by a partner; it may settle a little tilted."""
    return Action(
        onset_s=onset,
        duration_s=duration,
        rise=float(rng.uniform(0.1, 0.4)),
        hold=float(rng.uniform(0.1, 0.4)),
        bed_g=peak_g,
        bed_hz=mattress[0],
        bed_damping=mattress[1],
        residual=rng.normal(0, np.radians(tilt_deg) / 1.7, 3),
        noise_seed=int(rng.integers(2**31)),
    )


def lasting(move: Move) -> bool:
    """Whether a move leaves a leg turned (it cannot be left out without a trace)."""
    return any(a.target is not None or np.any(a.residual) for a in move.actions.values())
