"""Leg motion of the `sway` family: how one movement moves the shank a sensor is strapped to.

The shank is a rigid segment pivoting at the knee. A movement changes its pitch (knee and hip
flexion lift or tilt it) and roll (the leg rotating about its long axis), and shakes it with
short damped vibrations (a contracting tibialis anterior thumping under the strap, a heel
striking the floor, a mattress bouncing). The accelerometer reads gravity in the leg frame
plus the linear acceleration of the pivoting segment, so a dorsiflexion that hardly tilts the
shank shows mostly as a thump, and a triple flexion as a large tilt.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

G = 9.80665
FINE_HZ = 200.0  # movements are evaluated this finely, then sampled at the sensor's rate
TAIL_S = 0.4  # vibrations ring on a little after a movement ends
MIN_RISE_S = 0.05  # the fastest a leg gets going (a jerk's kick), seconds


@dataclass
class LegMotion:
    """One leg's part in a movement (angles in radians, accelerations in g)."""

    dth: float = 0.0  # peak pitch change
    dps: float = 0.0  # peak roll change
    shape: str = "smooth"  # smooth, ballistic, biphasic, ramp
    rise: float = 0.3  # share of the duration spent rising (smooth shape)
    osc_hz: float = 0.0  # tremor, fidget or gait rhythm riding on the envelope
    osc_depth: float = 0.0  # 0: none; 1: swings about zero (fidgeting)
    res_th: float = 0.0  # pitch the leg keeps afterwards (it rarely returns exactly)
    res_ps: float = 0.0
    target: tuple[float, float] | None = None  # a new posture (pitch, roll): sets the residual
    lag: float = 0.0  # seconds after the event's onset this leg starts
    jolts: list[tuple[float, float, float, float, tuple]] = field(default_factory=list)
    strikes: tuple[float, float] | None = None  # (steps/s, g): heel strikes while walking


@dataclass
class Move:
    """A planned event: what the truth lists and what each leg does."""

    onset: float
    duration: float
    kind: str  # lm, jerk, movement, vibration
    side: str
    legs: dict[str, LegMotion]
    extra: dict = field(default_factory=dict)


def _rise_s(lm: LegMotion) -> float:
    """The shortest rise a movement of this size can have: a big swing takes its time."""
    return MIN_RISE_S + 0.4 * max(abs(lm.dth), abs(lm.dps))


def _envelope(x: np.ndarray, lm: LegMotion, duration: float) -> np.ndarray:
    """The movement's time course on x = t / duration in [0, 1], peak 1."""
    inside = (x >= 0) & (x <= 1)
    if lm.shape == "ballistic":  # a fast kick that relaxes slowly, ending at rest
        rise = max(0.06, _rise_s(lm) / duration)  # muscle and limb inertia: no faster rise
        # Starting and ending at rest (zero speed): a leg has mass, nothing moves in a step.
        u = (1 - np.exp(-((x / rise) ** 2))) * np.exp(-x / 0.45) * (0.5 + 0.5 * np.cos(np.pi * x))
    elif lm.shape == "biphasic":  # two pushes within one movement
        u = np.exp(-(((x - 0.28) / 0.13) ** 2)) + 0.75 * np.exp(-(((x - 0.72) / 0.13) ** 2))
        u *= np.sin(np.pi * np.clip(x, 0, 1)) ** 2
    elif lm.shape == "ramp":  # a slow build and a sudden release
        u = 0.5 - 0.5 * np.cos(np.pi * np.where(x < 0.8, x / 0.8, 1 - (x - 0.8) / 0.2))
    else:  # smooth rise, plateau, fall
        r = min(max(lm.rise, 0.05, _rise_s(lm) / duration), 0.45)
        u = np.ones_like(x)
        u = np.where(x < r, 0.5 - 0.5 * np.cos(np.pi * x / r), u)
        u = np.where(x > 1 - r, 0.5 - 0.5 * np.cos(np.pi * (1 - x) / r), u)
    u = np.where(inside, u, 0.0)
    peak = float(u.max()) if u.size else 1.0
    return u / peak if peak > 0 else u


def leg_path(
    lm: LegMotion, t: np.ndarray, duration: float, lever_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pitch change, roll change, linear acceleration [3, n] in g) at times t after onset.

    t must be an even grid (derivatives are taken on it).
    """
    x = t / duration
    u = _envelope(x, lm, duration)
    if lm.osc_hz > 0:
        u = u * ((1 - lm.osc_depth) + lm.osc_depth * np.sin(2 * np.pi * lm.osc_hz * t))
    settle = np.where(x <= 0, 0.0, np.where(x >= 1, 1.0, 0.5 - 0.5 * np.cos(np.pi * x)))
    th = lm.dth * u + lm.res_th * settle
    ps = lm.dps * u + lm.res_ps * settle
    dt = float(t[1] - t[0]) if t.size > 1 else 1.0
    vth = np.gradient(th, dt)
    lin = np.zeros((3, t.size))
    lin[2] = lever_m * np.gradient(vth, dt) / G  # tangential: the shank swinging at the knee
    lin[0] = -lever_m * vth**2 / G  # centripetal, along the shank
    lin[1] = 0.05 * np.gradient(np.gradient(ps, dt), dt) / G  # the leg's surface rolling
    for t0, amp, hz, tau, direction in lm.jolts:
        s = t - t0
        ring = np.where(s >= 0, amp * np.exp(-np.maximum(s, 0) / tau), 0.0)
        lin += np.outer(direction, ring * np.sin(2 * np.pi * hz * s))
    if lm.strikes is not None:  # heel strikes: a sharp ring once per step, in stance
        rate, amp = lm.strikes
        walking = (x > 0.08) & (x < 0.92)
        phase = np.mod(t, 1.0 / rate)
        ring = amp * np.exp(-phase / 0.04) * np.sin(2 * np.pi * 14 * phase) * walking
        lin[0] += ring
        lin[2] += 0.4 * ring
    return th, ps, lin


def gravity(th: np.ndarray, ps: np.ndarray) -> np.ndarray:
    """The accelerometer's reading of gravity in the leg frame (g), [3, n]."""
    c = np.cos(th)
    return np.stack([np.sin(th), c * np.sin(ps), c * np.cos(ps)])


@dataclass
class LegTrack:
    """One sensor leg's state over the night, on the sensor's sample grid."""

    first_s: float  # time of sample 0 (from the night's start)
    rate_hz: float  # the true rate (the sensor's clock runs a little off nominal)
    n: int
    lever_m: float
    th0: float
    ps0: float
    win: np.ndarray = field(init=False)
    steps: np.ndarray = field(init=False)
    lin: np.ndarray = field(init=False)
    level: list[float] = field(init=False)

    def __post_init__(self) -> None:
        # Angles inside movement windows, and the posture steps each leaves behind (summed
        # up at the end): a night's posture is then one cumulative sum, not a loop.
        self.win = np.zeros((2, self.n))
        self.steps = np.zeros((2, self.n + 1))  # one extra: steps beyond the end land there
        self.lin = np.zeros((3, self.n))
        self.level = [self.th0, self.ps0]

    def add(self, move: Move, lm: LegMotion) -> tuple[float, float]:
        """Render one movement into the track; (peak departure, sampled departure) in g."""
        if lm.target is not None:
            lm.res_th = lm.target[0] - self.level[0]
            lm.res_ps = lm.target[1] - self.level[1]
        start = move.onset + lm.lag
        span = move.duration + TAIL_S
        fine = np.arange(0.0, span, 1.0 / FINE_HZ)
        th, ps, lin = leg_path(lm, fine, move.duration, self.lever_m)
        base_th, base_ps = self.level
        base = gravity(np.array([base_th]), np.array([base_ps]))
        dep = gravity(base_th + th, base_ps + ps) - base + lin
        peak = float(np.sqrt((dep**2).sum(0)).max())
        i0 = max(0, int(np.ceil((start - self.first_s) * self.rate_hz)))
        i1 = min(self.n - 1, int(np.floor((start + span - self.first_s) * self.rate_hz)))
        sampled = 0.0
        if i1 >= i0:
            rel = self.first_s + np.arange(i0, i1 + 1) / self.rate_hz - start
            self.win[0, i0 : i1 + 1] += np.interp(rel, fine, th)
            self.win[1, i0 : i1 + 1] += np.interp(rel, fine, ps)
            d = np.stack([np.interp(rel, fine, dep[k]) for k in range(3)])
            sampled = float(np.sqrt((d**2).sum(0)).max())
            for k in range(3):
                self.lin[k, i0 : i1 + 1] += np.interp(rel, fine, lin[k])
        after = min(self.n, max(i1 + 1, i0))  # the kept posture, from the window's end on
        self.steps[0, after] += lm.res_th
        self.steps[1, after] += lm.res_ps
        self.level = [base_th + lm.res_th, base_ps + lm.res_ps]
        return peak, sampled

    def signal(self) -> np.ndarray:
        """Noise-free acceleration in the leg frame, g, [3, n]."""
        # The window values already hold each residual; the steps carry it on afterwards.
        angles = np.cumsum(self.steps[:, : self.n], axis=1) + self.win
        return gravity(angles[0] + self.th0, angles[1] + self.ps0) + self.lin
