"""Physics of the "stages" family: leg orientation in gravity, the sensor, the BLE host, the file.

The lower leg rests in a posture (body roll, shank pitch, hip yaw, external rotation of the
leg), the sensor sits on it at a random orientation, either on the shank or on the foot (then
ankle dorsiflexion turns it too). A movement is a composition of rotations about the leg's own
axes (knee/hip flexion, long-axis roll, abduction; dorsiflexion), each with its own timing and
shape, so the sensor's axes never move as one hinge; the sensor also swings on a lever about a
pivot (knee or hip), whose second derivative adds linear acceleration. Jerks and twitches are
brief transients of linear acceleration; the bed partner adds mattress vibration. Then the
sensor: gain and cross-axis errors, offsets, white noise and slow drift, range clipping, LSB;
its clock drifts; a BLE host stamps packets with jitter, loses some, disconnects, repeats some.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sleepmove.base.atomic import write_file

G = 9.80665
TIME_FORMATS = ("unix_s", "unix_ms", "iso_z", "iso_offset")
EX, EY, EZ = np.eye(3)
ACC_CAP_G = {
    "fidget": (0.3, 1.0),
    "scratch": (0.3, 1.0),
    "big": (0.5, 1.5),
    "posture": (0.5, 1.5),
    "hft": (0.1, 0.4),
    "alma": (0.1, 0.4),
}


# --- rotations ------------------------------------------------------------------------------


def rotations(axis: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """Rodrigues: (m, 3, 3) rotations by `angles` (rad) about one unit axis."""
    x, y, z = axis / np.linalg.norm(axis)
    k = np.array([[0, -z, y], [z, 0, -x], [-y, x, 0]])
    s = np.sin(angles)[:, None, None]
    c = (1 - np.cos(angles))[:, None, None]
    return np.eye(3)[None] + s * k[None] + c * (k @ k)[None]


def rot(axis: np.ndarray, angle: float) -> np.ndarray:
    return rotations(axis, np.array([angle]))[0]


def axis_angle(r: np.ndarray) -> tuple[np.ndarray, float]:
    """Axis and angle of a rotation matrix, via its quaternion (stable near 180 degrees)."""
    t = np.trace(r)
    q = np.array([t, r[0, 0], r[1, 1], r[2, 2]])
    i = int(np.argmax(q))
    if i == 0:
        w = np.sqrt(1 + t) / 2
        v = np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]]) / (4 * w)
    else:
        j, k = (i % 3), ((i + 1) % 3)
        a = i - 1
        v = np.zeros(3)
        v[a] = np.sqrt(max(1e-12, 1 + 2 * r[a, a] - t)) / 2
        v[j] = (r[j, a] + r[a, j]) / (4 * v[a])
        v[k] = (r[k, a] + r[a, k]) / (4 * v[a])
        w = (r[(a + 2) % 3, (a + 1) % 3] - r[(a + 1) % 3, (a + 2) % 3]) / (4 * v[a])
    if w < 0:  # the shorter way round
        w, v = -w, -v
    norm = np.linalg.norm(v)
    if norm < 1e-9:
        return EX.copy(), 0.0
    return v / norm, float(2 * np.arctan2(norm, w))


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    q = rng.standard_normal(4)
    w, x, y, z = q / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


ROLL_DEG = {"supine": 0, "left": -90, "right": 90, "prone": 180, "semi-left": -45, "semi-right": 45}


def posture_matrix(label: str, leg: int, rng: np.random.Generator) -> np.ndarray:
    """World <- shank: x along the shank toward the foot, y mediolateral, z anterior."""
    mirror = -1 if leg == 1 else 1
    roll = np.radians(ROLL_DEG[label] + rng.uniform(-15, 15))
    side = label in ("left", "right", "semi-left", "semi-right")
    pitch = np.radians(rng.uniform(0, 40) if side else rng.uniform(-8, 25))  # knee flexion
    yaw = np.radians(rng.uniform(-15, 15))
    external = np.radians(mirror * rng.uniform(-10, 40))  # feet fall outward when relaxed
    # base: shank along the bed (world x), shin up (world z)
    return rot(EX, roll) @ rot(EY, pitch) @ rot(EZ, yaw) @ rot(EX, external)


# --- time courses ---------------------------------------------------------------------------


def _ramp(x: np.ndarray, style: str) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    if style == "minjerk":
        return x**3 * (10 - 15 * x + 6 * x * x)
    if style == "cosine":
        return 0.5 - 0.5 * np.cos(np.pi * x)
    # fast start, slow finish (a kick that is then held), smooth at both ends
    return _ramp(1 - (1 - x) ** 2, "minjerk")


def envelope(tau: np.ndarray, d: float, rng: np.random.Generator, shift: float = 0.0) -> np.ndarray:
    """Rise, hold, release over [shift, d - shift]: 0 outside, 1 at the hold."""
    a, b = shift, d - shift
    span = b - a
    # limbs do not turn in a few ms: at least 0.15 s up and down, but >= 40 % of it held
    rise = min(max(0.15, span * rng.uniform(0.1, 0.3)), 0.3 * span)
    fall = min(max(0.15, span * rng.uniform(0.1, 0.3)), 0.3 * span)
    styles = ("minjerk", "cosine", "fast")
    up = _ramp((tau - a) / rise, styles[int(rng.integers(3))])
    down = _ramp((b - tau) / fall, styles[int(rng.integers(3))])
    env = np.minimum(up, down)
    if rng.random() < 0.3:  # a second push during the hold (double-peaked LM)
        mid = a + span * rng.uniform(0.35, 0.65)
        env = env * (1 - rng.uniform(0.2, 0.5) * np.exp(-(((tau - mid) / (0.12 * span)) ** 2)))
    return env


def _burst_train(tau: np.ndarray, hz: float, width: float, phase: float) -> np.ndarray:
    """Raised-cosine bursts of `width` s repeating at `hz`."""
    local = np.mod(tau * hz + phase, 1.0) / hz
    return np.where(local < width, np.sin(np.pi * local / width) ** 2, 0.0)


def transient(tau: np.ndarray, d: float, cycles: float, phase: float) -> np.ndarray:
    """A Hann-windowed oscillation of 1-2 cycles, scaled so its peak over [0, d] is 1."""
    dense = np.linspace(0, d, 257)

    def wave(t: np.ndarray) -> np.ndarray:
        x = np.clip(t / d, 0, 1)
        return np.sin(np.pi * x) ** 2 * np.sin(2 * np.pi * cycles * x + phase)

    return wave(tau) / np.abs(wave(dense)).max()


# --- sensor physics -------------------------------------------------------------------------


@dataclass
class Physics:
    rate_hz: float
    noise_mg: float
    drift_mg: float
    lsb_mg: float
    range_g: float
    gain: np.ndarray  # 3x3, diagonal gain errors plus cross-axis sensitivity
    offset_mg: np.ndarray
    clock_ppm: float
    mount: np.ndarray  # shank (or foot) <- sensor
    site: str
    lever_m: float
    units: str
    time_format: str
    packet: int
    packet_mode: str  # "shared": one stamp per packet; "spread": spread back; "sensor" clock
    latency_ms: float
    jitter_ms: float
    start_offset_s: float

    def truth(self) -> dict:
        return {
            "rate_hz": self.rate_hz,
            "noise_mg": round(self.noise_mg, 3),
            "drift_mg": round(self.drift_mg, 3),
            "lsb_mg": round(self.lsb_mg, 4),
            "range_g": self.range_g,
            "gain": np.round(self.gain, 5).tolist(),
            "offset_mg": np.round(self.offset_mg, 2).tolist(),
            "clock_ppm": round(self.clock_ppm, 2),
            "mount": np.round(self.mount, 5).tolist(),
            "site": self.site,
            "lever_m": round(self.lever_m, 3),
            "units": self.units,
            "time_format": self.time_format,
            "packet_samples": self.packet,
            "packet_mode": self.packet_mode,
            "latency_ms": round(self.latency_ms, 2),
            "jitter_ms": round(self.jitter_ms, 2),
            "start_offset_s": round(self.start_offset_s, 4),
        }


def draw_physics(
    rng: np.random.Generator,
    rate_hz: float,
    noise_mg: float,
    units: str | None,
    time_format: str | None,
    start_offset_s: float,
    placement: str = "ankle",
) -> Physics:
    range_g, bits = [(2, 12), (2, 16), (4, 12), (4, 14), (8, 13), (16, 16)][int(rng.integers(6))]
    packet = int(rng.choice([p for p in (1, 2, 3, 4, 5, 6, 8, 10) if p / rate_hz <= 0.25]))
    mode = str(rng.choice(["shared", "spread", "sensor"], p=[0.45, 0.4, 0.15]))
    ppm = rng.uniform(-20, 20) if mode == "sensor" else rng.uniform(-60, 60)
    if time_format == "iso":
        time_format = str(rng.choice(["iso_z", "iso_offset"]))
    physics = Physics(
        rate_hz=float(rate_hz),
        noise_mg=float(noise_mg),
        drift_mg=float(rng.uniform(0.5, 4.0)),
        lsb_mg=2 * range_g * 1000 / 2**bits,
        range_g=float(range_g),
        gain=np.diag(1 + rng.uniform(-0.03, 0.03, 3))
        + rng.uniform(-0.01, 0.01, (3, 3)) * (1 - np.eye(3)),
        offset_mg=rng.uniform(-40, 40, 3),
        clock_ppm=float(ppm),
        mount=random_rotation(rng),
        site=str(rng.choice(["shank", "foot"], p=[0.7, 0.3])),
        lever_m=float(rng.uniform(0.35, 0.9)),
        units=units or str(rng.choice(["g", "m/s2"], p=[0.7, 0.3])),
        time_format=time_format or str(rng.choice(TIME_FORMATS)),
        packet=packet,
        packet_mode=mode,
        latency_ms=float(rng.uniform(8, 40)),
        jitter_ms=float(rng.uniform(1, 15)),
        start_offset_s=float(start_offset_s),
    )
    if placement == "wrist":  # on the forearm, which swings about the elbow
        physics.site = "wrist"
        physics.lever_m = float(rng.uniform(0.22, 0.32))
    return physics


# --- rendering one leg ----------------------------------------------------------------------


class LegRenderer:
    def __init__(self, phys: Physics, leg_index: int, rng: np.random.Generator) -> None:
        self.phys, self.leg, self.rng = phys, leg_index, rng
        self.min_dep_g = max(0.05, 5 * phys.noise_mg / 1000)  # an LM must really move it

    def gravity(self, r_ws: np.ndarray) -> np.ndarray:
        """Gravity (+1 g up) in the sensor's frame: row z of world <- sensor."""
        return r_ws[..., 2, :]

    def _body(self, tau: np.ndarray, d: float, spec: dict, scale: float) -> tuple:
        """Per-sample rotations of the leg's joints for one movement (body frame)."""
        rng = self.rng
        deg = np.radians(spec["deg"]) * scale
        style = spec["style"]
        s1 = envelope(tau, d, rng)
        s2 = envelope(tau, d, rng, shift=d * rng.uniform(0, 0.12))
        if style == "scratch":
            wob = np.sin(2 * np.pi * spec["hz"] * tau + rng.uniform(0, 6.3))
            s1 = s1 * (0.65 + 0.35 * wob)
            s2 = s2 * (0.65 + 0.35 * np.cos(2 * np.pi * spec["hz"] * tau))
        elif style in ("fidget", "big", "posture"):
            for _ in range(2):  # irregular wiggles on top: a loop over components
                f = rng.uniform(0.3, 2.0)
                s1 = s1 * (1 + 0.3 * np.sin(2 * np.pi * f * tau + rng.uniform(0, 6.3)))
        elif style == "hft":
            s1 = s2 = _burst_train(tau, spec["hz"], 0.45 / spec["hz"], 0.0) * envelope(tau, d, rng)
        elif style == "alma":
            phase = 0.5 * self.leg
            s1 = s2 = _burst_train(tau, spec["hz"], spec["burst_s"], phase)
        flex = deg * rng.choice([-1, 1])
        roll = deg * rng.uniform(0.1, 0.6) * rng.choice([-1, 1])
        abd = deg * rng.uniform(0.0, 0.4) * rng.choice([-1, 1])
        m = rotations(EY, flex * s1) @ rotations(EX, roll * s2) @ rotations(EZ, abd * s1)
        ankle = None
        if self.phys.site == "foot":  # dorsiflexion leads the knee by a little
            ankle = rotations(EY, -abs(deg) * rng.uniform(0.3, 1.0) * s2)
        return m, ankle, s1

    def movement(
        self, tau: np.ndarray, d: float, spec: dict, before: np.ndarray, after: np.ndarray
    ) -> np.ndarray:
        """Specific force (g, sensor frame) during a movement from one rest to another."""
        mount = self.phys.mount
        extra = np.zeros(len(tau))
        h_axis = np.cross(EZ, before @ EY)
        h_axis = h_axis if np.linalg.norm(h_axis) > 0.3 else EX
        for attempt in range(3):  # a loop over attempts to make the movement visible
            rng_state = self.rng.bit_generator.state
            # larger, up to 40 degrees, then tipped about a horizontal axis too
            scale = max(1.0, min(1.0 + attempt * 0.8, 40.0 / max(spec.get("deg", 1.0), 1.0)))
            m, ankle, s1 = self._body(tau, d, spec, scale)
            axis, angle = axis_angle(after @ before.T)
            base = rotations(axis, angle * _ramp(tau / d, "minjerk")) @ before
            tilt = rotations(h_axis, extra * s1)
            leg = tilt @ base @ m
            r_ws = leg @ ankle @ mount if ankle is not None else leg @ mount
            g = self.gravity(r_ws)
            rest0 = self.gravity(before @ mount)
            dep = np.linalg.norm(g - rest0, axis=1).max()
            if dep >= self.min_dep_g or spec["style"] in ("vibration",) or len(tau) < 3:
                break
            self.rng.bit_generator.state = rng_state
            extra = np.full(len(tau), 1.3 * self.min_dep_g * (attempt + 1))
        # the sensor swings on a lever about the knee or hip; a lifted leg also rises and falls
        lever = np.array([-self.phys.lever_m, 0.0, 0.05])
        pos = np.einsum("mij,j->mi", leg, lever)
        if spec["style"] in ("big", "posture"):
            pos[:, 2] += self.rng.uniform(0.03, 0.2) * np.sin(np.pi * np.clip(tau / d, 0, 1)) ** 2
        acc = np.zeros_like(pos)
        if len(tau) >= 3:
            acc = np.gradient(np.gradient(pos, tau, axis=0), tau, axis=0) / G
            # soft tissue, the mattress and the strap damp the swing: ankle peaks stay under
            # about 0.2-1.5 g (more for whole-body movements)
            cap = self.rng.uniform(*ACC_CAP_G.get(spec["style"], (0.15, 0.6)))
            peak = float(np.linalg.norm(acc, axis=1).max())
            if peak > cap:
                acc *= cap / peak
        force = acc + EZ[None]
        return np.einsum("mji,mj->mi", r_ws, force)

    def jerk(self, tau: np.ndarray, d: float, spec: dict, rest: np.ndarray) -> tuple:
        """A brief transient of linear acceleration (plus a small turn for strong jerks)."""
        rng = self.rng
        u = rng.standard_normal(3)
        u /= np.linalg.norm(u)
        cycles, phase = rng.uniform(0.8, 1.8), rng.uniform(0, 2 * np.pi)
        turn_deg = spec.get("deg", 0.0) if spec["style"] == "jerk" else 0.0
        axis = rest @ EY
        dense = np.linspace(0, d, 257)

        def reading(t: np.ndarray) -> np.ndarray:
            bump = np.sin(np.pi * np.clip(t / d, 0, 1)) ** 2
            r_ws = rotations(axis, np.radians(turn_deg) * bump) @ rest @ self.phys.mount
            wave = transient(t, d, cycles, phase)
            return self.gravity(r_ws) + spec["g"] * wave[:, None] * u[None]

        g0 = self.gravity(rest @ self.phys.mount)
        peak = float(np.linalg.norm(reading(dense) - g0, axis=1).max())
        return reading(tau), peak

    def vibration(self, tau: np.ndarray, d: float, spec: dict, rest: np.ndarray) -> np.ndarray:
        """Mattress motion from the partner: mostly vertical, a few Hz, decaying."""
        rng = self.rng
        direction = np.array([rng.uniform(-0.3, 0.3), rng.uniform(-0.3, 0.3), 1.0])
        env = np.sin(np.pi * np.clip(tau / d, 0, 1)) ** 2 * np.exp(-tau / rng.uniform(1.0, 5.0))
        hz = spec["hz"] * (1 + 0.1 * np.sin(2 * np.pi * 0.3 * tau))
        world = spec["g"] * (env * np.sin(2 * np.pi * hz * tau))[:, None] * direction[None]
        return world @ (rest @ self.phys.mount)  # world -> sensor: v @ R == R^T v

    def render(
        self, times: np.ndarray, events: list[dict], leg_name: str, posture0: str
    ) -> tuple[np.ndarray, dict[int, float], dict[int, float]]:
        """Noise-free specific force (g) of one leg, each event's peak departure, and that
        departure at the samples (a brief jerk's peak falls between a slow sensor's)."""
        rng = self.rng
        out = np.empty((len(times), 3))
        current = posture_matrix(posture0, self.leg, rng)
        amplitude: dict[int, float] = {}
        sampled: dict[int, float] = {}
        cursor = 0  # samples before this index hold their rest value already
        for idx, e in enumerate(events):  # a loop over events
            if leg_name not in e["_legs"]:
                continue
            a, d, spec = e["onset_s"], e["duration_s"], e["_spec"]
            i0, i1 = np.searchsorted(times, [a, a + d])
            rest_g = self.gravity(current @ self.phys.mount)
            if spec["style"] != "vibration":
                out[cursor:i0] = rest_g
            tau = times[i0:i1] - a
            if spec["style"] == "vibration":
                vib = self.vibration(tau, d, spec, current)
                extra = vib  # superposed later, over whatever the leg does
                e.setdefault("_vib", {})[leg_name] = (i0, i1, extra)
                amplitude[idx] = max(amplitude.get(idx, 0.0), spec["g"])
                sampled[idx] = amplitude[idx]
                continue
            if spec["style"] in ("jerk", "twitch"):
                block, peak = self.jerk(tau, d, spec, current)
                at_samples = (
                    float(np.linalg.norm(block - rest_g, axis=1).max()) if len(tau) else 0.0
                )
                sampled[idx] = max(sampled.get(idx, 0.0), at_samples)
            else:
                after = current
                if e["posture_change"]:
                    after = posture_matrix(spec["posture"], self.leg, rng)
                block = self.movement(tau, d, spec, current, after)
                peak = float(np.linalg.norm(block - rest_g, axis=1).max()) if len(tau) else 0.0
                sampled[idx] = max(sampled.get(idx, 0.0), peak)
                current = after
            out[i0:i1] = block
            cursor = i1
            amplitude[idx] = max(amplitude.get(idx, 0.0), peak)
        out[cursor:] = self.gravity(current @ self.phys.mount)
        for e in events:  # a loop over vibrations: added on top of the leg's own motion
            if "_vib" in e and leg_name in e["_vib"]:
                i0, i1, extra = e["_vib"].pop(leg_name)
                out[i0:i1] += extra
        return out, amplitude, sampled


# --- the sensor and the host ----------------------------------------------------------------


def sample_times(phys: Physics, night_s: float) -> np.ndarray:
    """True times of the sensor's samples: its crystal runs clock_ppm fast or slow."""
    dt = 1.0 / (phys.rate_hz * (1 + phys.clock_ppm * 1e-6))
    n = int((night_s - phys.start_offset_s) / dt)
    return phys.start_offset_s + np.arange(n) * dt


def measure(
    phys: Physics, clean: np.ndarray, times: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """What the sensor reports (g): errors, noise, drift, clipping, resolution."""
    out = clean @ phys.gain.T + phys.offset_mg / 1000
    knots = np.arange(times[0], times[-1] + 600, rng.uniform(120, 600))
    walk = np.cumsum(rng.standard_normal((len(knots), 3)), axis=0)
    walk *= phys.drift_mg / 1000 / max(1.0, float(np.abs(walk).max()))
    for axis in range(3):  # a loop over axes
        out[:, axis] += np.interp(times, knots, walk[:, axis])
    out += rng.standard_normal(out.shape) * (phys.noise_mg / 1000)
    np.clip(out, -phys.range_g, phys.range_g - phys.lsb_mg / 1000, out=out)
    lsb = phys.lsb_mg / 1000
    return np.round(out / lsb) * lsb


def draw_gaps(
    rng: np.random.Generator,
    night_s: float,
    per_8h: tuple[int, int],
    losses_per_h: tuple[float, float],
) -> tuple[list[list[float]], np.ndarray]:
    """Disconnections (30 s - 4 min) and short losses (0.1 - 1 s), in true time."""
    hours = night_s / 3600
    n = int(rng.integers(per_8h[0], per_8h[1] + 1))
    n = int(rng.binomial(n, min(1.0, hours / 8))) if hours < 8 else n
    if per_8h[0] > 0:
        n = max(n, 1)
    gaps: list[list[float]] = []
    for _ in range(n * 3):  # a loop over tries, keeping gaps apart
        if len(gaps) == n:
            break
        a = rng.uniform(300, night_s - 600) if night_s > 1200 else rng.uniform(60, night_s - 300)
        b = a + rng.uniform(30, 240)
        if all(b + 60 < x or a > y + 60 for x, y in gaps):
            gaps.append([round(float(a), 3), round(float(b), 3)])
    gaps.sort()
    k = rng.poisson(rng.uniform(*losses_per_h) * hours)
    starts = np.sort(rng.uniform(0, night_s, k))
    losses = np.column_stack([starts, starts + rng.uniform(0.1, 1.0, k)])
    return gaps, losses


def host_stream(
    phys: Physics,
    times: np.ndarray,
    gaps: list[list[float]],
    losses: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Rows the host writes: indices into the samples, and their stamps (s from time 0)."""
    n = len(times)
    packet = np.arange(n) // phys.packet
    last = np.minimum((packet + 1) * phys.packet - 1, n - 1)
    sent = times[last]  # a packet leaves when its last sample is taken
    lost = np.zeros(n, dtype=bool)
    for a, b in gaps:  # a loop over disconnections
        lost |= (sent >= a) & (sent < b)
    if len(losses):
        idx = np.searchsorted(losses[:, 0], sent, side="right") - 1
        lost |= (idx >= 0) & (sent < losses[np.maximum(idx, 0), 1])
    keep = np.flatnonzero(~lost)
    if phys.packet_mode == "sensor":
        stamps = phys.start_offset_s + np.arange(n) / phys.rate_hz  # the sensor's own clock
    else:
        n_packets = int(packet[-1]) + 1
        delay = phys.latency_ms / 1000 + rng.exponential(phys.jitter_ms / 1000, n_packets)
        stall = rng.random(n_packets) < 0.005  # the host's radio is busy now and then
        delay[stall] += rng.uniform(0.05, 0.3, int(stall.sum()))
        arrive = times[np.minimum(np.arange(n_packets) * phys.packet + phys.packet - 1, n - 1)]
        arrive = np.maximum.accumulate(arrive + delay)
        stamps = arrive[packet]
        if phys.packet_mode == "spread":
            stamps = stamps - (last - np.arange(n)) / phys.rate_hz
    rows = keep
    hours = (times[-1] - times[0]) / 3600
    dup_packets = np.unique(rng.choice(keep, rng.poisson(3 * hours))) if len(keep) else keep
    if len(dup_packets):  # a packet received twice comes again right after itself
        first = dup_packets - dup_packets % phys.packet
        ends = np.minimum(first + phys.packet, n)
        extra = [np.arange(f, e) for f, e in zip(first, ends)]  # a loop over duplicates
        pos = np.searchsorted(rows, ends)
        ins_pos = np.concatenate([np.full(len(x), p) for x, p in zip(extra, pos)])
        ins_val = np.concatenate(extra)
        ok = ~lost[ins_val]
        rows = np.insert(rows, ins_pos[ok], ins_val[ok])
    return rows, stamps[rows]


def _fixed(values: np.ndarray, decimals: int) -> pa.Array:
    """Decimal text of numbers, vectorized in Arrow (no Python loop over samples)."""
    scaled = np.round(values * 10**decimals).astype(np.int64)
    mag = np.abs(scaled)
    whole = pc.cast(pa.array(mag // 10**decimals), pa.string())
    if decimals == 0:
        text = whole
    else:
        frac = pc.utf8_lpad(pc.cast(pa.array(mag % 10**decimals), pa.string()), decimals, "0")
        text = pc.binary_join_element_wise(whole, frac, ".")
    sign = pa.array(np.where(scaled < 0, "-", ""))
    return pc.binary_join_element_wise(sign, text, "")


def write_csv(
    path: str, unix: np.ndarray, xyz_g: np.ndarray, phys: Physics, compress: bool
) -> None:
    ms = np.round(unix * 1000).astype(np.int64)
    if phys.time_format == "unix_s":
        t = _fixed(ms / 1000, 3)
    elif phys.time_format == "unix_ms":
        t = pc.cast(pa.array(ms), pa.string())
    else:
        zone = "Z" if phys.time_format == "iso_z" else "+00:00"
        t = pc.strftime(pa.array(ms, pa.timestamp("ms", tz="UTC")), format="%Y-%m-%dT%H:%M:%S")
        t = pc.binary_join_element_wise(t, pa.scalar(zone), "")
    if phys.units == "m/s2":
        cols = [_fixed(xyz_g[:, i] * G, 4) for i in range(3)]
    else:
        cols = [_fixed(xyz_g[:, i], 5 if phys.lsb_mg < 0.5 else 4) for i in range(3)]
    lines = pc.binary_join_element_wise(t, *cols, ",")
    lines = pc.binary_join_element_wise(lines, pa.scalar("\n"), "")
    lines = pa.array(lines) if isinstance(lines, pa.ChunkedArray) else lines
    # each line ends in "\n", so the array's character buffer is the file's body
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)
    first, end = offsets[lines.offset], offsets[lines.offset + len(lines)]
    data = b"time,x,y,z\n" + bytes(memoryview(lines.buffers()[2])[first:end])
    # mtime=0: the same seed gives the same bytes (gzip stamps the time otherwise)
    write_file(path, gzip.compress(data, compresslevel=4, mtime=0) if compress else data)
