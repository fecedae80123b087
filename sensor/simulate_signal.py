"""A simulated ankle sensor: a foot rotating in gravity, jerks, vibrations, sensor flaws."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sleepmove.sensor.simulate_night import NightPlan

G = 9.80665


@dataclass
class SensorPhysics:
    rate_hz: float
    noise_g: float
    lsb_g: float
    range_g: float
    radius_m: float  # sensor distance from the ankle joint
    rate_ppm: float  # sensor clock error
    jitter_s: float
    losses_per_hour: float
    disconnects: int


def draw_physics(rng: np.random.Generator, rate_hz: float, scenario: str) -> SensorPhysics:
    noisy = scenario == "hard"
    lossy = scenario == "lossy"
    return SensorPhysics(
        rate_hz=rate_hz,
        noise_g=rng.uniform(0.006, 0.014) if noisy else rng.uniform(0.001, 0.006),
        lsb_g=float(rng.choice([1 / 1024, 1 / 4096, 0.001, 1 / 16384])),
        range_g=float(rng.choice([4.0, 8.0, 16.0])),
        # the ankle: sensor to ankle joint; the wrist: to the elbow (the forearm turns)
        radius_m=rng.uniform(0.2, 0.3) if scenario.startswith("wrist") else rng.uniform(0.04, 0.12),
        rate_ppm=rng.uniform(-60, 60),
        jitter_s=rng.uniform(0.0005, 0.004),
        losses_per_hour=rng.uniform(20, 60) if lossy else rng.uniform(0, 4),
        disconnects=int(rng.integers(2, 5)) if lossy else int(rng.integers(0, 2)),
    )


def _rotate(vectors: np.ndarray, axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rodrigues' rotation of each vector about a unit axis by its angle (radians)."""
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    cross = np.cross(axis, vectors)
    dot = (vectors @ axis)[:, None]
    return vectors * cos + cross * sin + axis[None, :] * dot * (1 - cos)


def _bump(n: int, rise_fraction: float) -> np.ndarray:
    """Smooth rise, hold and return: the angle profile of a dorsiflexion."""
    x = np.linspace(0, 1, n)
    rise = max(rise_fraction, 1e-3)
    up = np.clip(x / rise, 0, 1)
    down = np.clip((1 - x) / rise, 0, 1)
    return 0.5 - 0.5 * np.cos(np.pi * np.minimum(up, down))


def leg_signal(
    plan: NightPlan,
    side: str,
    physics: SensorPhysics,
    start_offset_s: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """(true sample times in seconds from the night's start, xyz in g) for one leg."""
    fs = physics.rate_hz
    total = plan.hours * 3600.0 - start_offset_s
    n = int(total * fs)
    t = start_offset_s + np.arange(n) / (fs * (1 + physics.rate_ppm * 1e-6))
    mount = _random_unit(rng)  # the sensor's frame is arbitrary on the ankle
    hinge = _perpendicular(mount, rng)
    lever = np.cross(hinge, mount)
    resting = _rotate(mount[None, :], _random_unit(rng), np.radians([rng.uniform(20, 60)]))[0]
    gravity = np.empty((n, 3))
    filled = 0
    theta = np.zeros(n)
    extra = np.zeros((n, 3))
    for event in plan.events:
        if not _touches(event.side, side):
            continue
        # Events happen in true time; the sensor's clock runs off by rate_ppm.
        clock = fs * (1 + physics.rate_ppm * 1e-6)
        first = int((event.onset_s - start_offset_s) * clock)
        count = max(int(event.duration_s * clock), 2)
        if first < 0 or first + count >= n:
            continue
        span = slice(first, first + count)
        if event.kind == "lm":
            _limb_movement(theta, extra, span, count, event, fs, rng)
        elif event.kind == "movement" and event.side != "posture":
            _fidget(theta, extra, span, count, event, fs, rng)
        elif event.side == "posture" or event.kind == "movement":
            gravity[filled:first] = resting
            resting = _posture_change(gravity, extra, resting, first, count, event, rng)
            filled = first + count
        elif event.kind == "jerk":
            _jerk(theta, extra, span, count, event, fs, rng)
        elif event.kind == "vibration":
            _vibration(extra, span, count, event, fs, rng)
        elif event.kind in ("hft", "alma"):
            _train(theta, span, count, event, side, fs, rng)
        elif event.kind == "cramp":
            _cramp(theta, extra, span, count, event, fs, rng)
    gravity[filled:] = resting
    angular_velocity = np.gradient(theta) * fs
    angular_acceleration = np.gradient(angular_velocity) * fs
    rotated = _rotate(gravity, hinge, theta)
    r_g = physics.radius_m / G
    tangential = np.cross(hinge, lever)[None, :] * (r_g * angular_acceleration)[:, None]
    centripetal = -lever[None, :] * (r_g * angular_velocity**2)[:, None]
    accel = rotated + tangential + centripetal + extra
    return t, _sensor(accel, physics, rng)


def _touches(event_side: str, side: str) -> bool:
    return event_side in (side, "bilateral", "posture", "")


def _edges(count: int, fs: float, rng: np.random.Generator) -> np.ndarray:
    """A dorsiflexion: a quick rise (0.1-0.6 s), a hold, a slower release (0.2-1.5 s)."""
    rise = min(max(int(rng.uniform(0.1, 0.6) * fs), 1), count // 2)
    fall = min(max(int(rng.uniform(0.2, 1.5) * fs), 1), count - rise)
    shape = np.ones(count)
    shape[:rise] = 0.5 - 0.5 * np.cos(np.pi * np.arange(rise) / rise)
    shape[count - fall :] = 0.5 + 0.5 * np.cos(np.pi * np.arange(1, fall + 1) / fall)
    return shape


def _limb_movement(theta, extra, span, count, event, fs, rng) -> None:
    theta[span] += np.radians(event.amplitude) * _edges(count, fs, rng)
    # The leg also slides a little: a push and a brake along a random direction.
    push = np.sin(np.linspace(0, 2 * np.pi, count)) * rng.uniform(0, 0.002) * event.amplitude
    extra[span] += push[:, None] * _random_unit(rng)[None, :]
    # Muscle contraction shakes the limb a little while it moves.
    extra[span] += rng.normal(0, 0.004 + 0.0004 * event.amplitude, (count, 3))


def _cramp(theta, extra, span, count, event, fs, rng) -> None:
    """A cramp: the foot pulled into plantar flexion over 1-3 s, held with the muscle's
    tremor, released over 2-6 s back to where it was."""
    rise = min(int(rng.uniform(1, 3) * fs), count // 3)
    fall = min(int(rng.uniform(2, 6) * fs), count // 3)
    shape = np.ones(count)
    shape[:rise] = 0.5 - 0.5 * np.cos(np.pi * np.arange(rise) / rise)
    shape[count - fall :] = 0.5 + 0.5 * np.cos(np.pi * np.arange(1, fall + 1) / fall)
    wobble = 1 + 0.05 * np.sin(2 * np.pi * rng.uniform(0.2, 0.5) * np.arange(count) / fs)
    theta[span] -= np.radians(event.amplitude) * shape * wobble
    hz = rng.uniform(8, 12)
    tremor = rng.uniform(0.003, 0.01) * np.sin(2 * np.pi * hz * np.arange(count) / fs)
    extra[span] += (tremor * shape)[:, None] * _random_unit(rng)[None, :]


def _fidget(theta, extra, span, count, event, fs, rng) -> None:
    """A long restless movement: the foot keeps moving for its whole length."""
    tt = np.arange(count) / fs
    wander = np.zeros(count)
    for _ in range(4):
        wander += rng.uniform(0.3, 1.0) * np.sin(
            2 * np.pi * rng.uniform(0.2, 1.5) * tt + rng.uniform(0, 6.3)
        )
    # Restless legs swing about their rest, they do not hold a tilt (that would be a posture).
    wander = np.abs(wander) / np.abs(wander).max()
    envelope = _edges(count, fs, rng)
    theta[span] += np.radians(event.amplitude) * wander * envelope
    extra[span] += rng.normal(0, 0.01 + 0.0005 * event.amplitude, (count, 3))


def _posture_change(gravity, extra, resting, first, count, event, rng) -> np.ndarray:
    """Turn the limb to a new resting orientation; returns it."""
    axis = _random_unit(rng)
    angle = np.radians(event.amplitude) * _bump(2 * count, 0.5)[:count]
    gravity[first : first + count] = _rotate(np.tile(resting, (count, 1)), axis, angle)
    extra[first : first + count] += rng.normal(0, 0.05, (count, 3))
    return gravity[first + count - 1].copy()


def _jerk(theta, extra, span, count, event, fs, rng) -> None:
    tt = np.arange(count) / fs
    frequency = rng.uniform(4, 18)
    decay = max(event.duration_s / rng.uniform(2, 4), 0.02)
    wave = event.amplitude * np.exp(-tt / decay) * np.sin(2 * np.pi * frequency * tt)
    extra[span] += wave[:, None] * _random_unit(rng)[None, :]
    theta[span] += np.radians(rng.uniform(1, 4)) * _bump(count, 0.5)


def _vibration(extra, span, count, event, fs, rng) -> None:
    tt = np.arange(count) / fs
    wave = event.amplitude * np.sin(2 * np.pi * rng.uniform(2, 10) * tt) * np.hanning(count)
    extra[span] += wave[:, None] * _random_unit(rng)[None, :]


def _train(theta, span, count, event, side, fs, rng) -> None:
    # One rhythm per train, the same for both legs (ALMA alternates at a common frequency).
    own = np.random.default_rng(int(event.onset_s * 1000))
    frequency = own.uniform(1.0, 2.0) if event.kind == "hft" else own.uniform(0.7, 1.5)
    burst = int(0.25 * fs)
    period = 1.0 / frequency
    phase = 0.0 if event.kind == "hft" or side == "left" else period / 2
    onsets = np.arange(phase, count / fs - 0.3, period)
    for onset in onsets:
        first = span.start + int(onset * fs)
        theta[first : first + burst] += np.radians(event.amplitude) * _bump(burst, 0.5)


def _sensor(accel: np.ndarray, physics: SensorPhysics, rng: np.random.Generator) -> np.ndarray:
    n = len(accel)
    gain = 1 + rng.normal(0, 0.02, 3)
    offset = rng.normal(0, 0.02, 3)
    drift = np.linspace(0, 1, n)[:, None] * rng.normal(0, 0.01, 3)[None, :]
    out = accel * gain + offset + drift + rng.normal(0, physics.noise_g, (n, 3))
    out = np.round(out / physics.lsb_g) * physics.lsb_g
    return np.clip(out, -physics.range_g, physics.range_g)


def _random_unit(rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=3)
    return v / np.linalg.norm(v)


def _perpendicular(v: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    w = np.cross(v, _random_unit(rng))
    return w / np.linalg.norm(w)
