"""A three-segment leg (pelvis-thigh-shank, the foot acting through the ankle's tendons) in
a bed, for the "kinematic" family: from joint angles to what a shank-worn accelerometer feels.

World frame: x toward the foot of the bed, y to the left of a supine sleeper, z up. The body
rolls about its long axis (`roll`; 0 supine, +90 lying on the right side, 180 prone) and may
shift sideways (`ty`) or lift (`tz`). Each leg has hip flexion, hip abduction, hip rotation
(about the thigh), knee flexion and ankle dorsiflexion. The sensor is strapped on the distal
shank at some angle around it; ankle dorsiflexion tilts it a little (the tibialis anterior
tendon lifts the strap). It feels gravity turned into the sensor's frame plus the second
derivative of its position: a leg flexing in a horizontal plane (a side sleeper's hip and
knee) changes almost nothing but that linear acceleration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

G = 9.80665
DOFS = ("roll", "ty", "tz", "hip_flex", "hip_abd", "hip_rot", "knee", "ankle")
BODY_DOFS = 3  # roll, ty, tz: shared by both legs
ANGLES = {0, 3, 4, 5, 6, 7}  # degrees in plans, radians here


def rot_x(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    z, o = np.zeros_like(a), np.ones_like(a)
    return np.stack(
        [np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2
    )


def rot_y(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    z, o = np.zeros_like(a), np.ones_like(a)
    return np.stack(
        [np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2
    )


def rot_z(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    z, o = np.zeros_like(a), np.ones_like(a)
    return np.stack(
        [np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2
    )


@dataclass
class LegGeometry:
    side: float  # +1 left leg, -1 right leg
    thigh_m: float
    shank_m: float
    sensor_at: float  # fraction of the shank from the knee
    surface_m: float  # sensor's distance from the shank's axis
    strap_deg: float  # where around the shank the sensor sits (0: on the shin)
    tendon: float  # sensor tilt per degree of ankle dorsiflexion
    mount: np.ndarray  # 3x3: device axes in the strap's frame (misalignment, axis order)
    bed_pitch_deg: float  # the legs' incline (pillow under the knees, bed raised)
    hip_width_m: float
    axis_height_m: float  # height of the body's roll axis above the mattress

    def truth(self) -> dict:
        return {
            "leg": "left" if self.side > 0 else "right",
            "thigh_m": round(self.thigh_m, 3),
            "shank_m": round(self.shank_m, 3),
            "sensor_at": round(self.sensor_at, 3),
            "strap_deg": round(self.strap_deg, 1),
            "tendon_coupling": round(self.tendon, 3),
            "bed_pitch_deg": round(self.bed_pitch_deg, 2),
        }


def draw_geometry(rng: np.random.Generator, side: float) -> LegGeometry:
    tall = rng.uniform(0.9, 1.1)
    tilt = rot_x(np.radians(rng.normal(0, 6))) @ rot_y(np.radians(rng.normal(0, 6)))
    # A few device axis conventions: signed permutations with det +1.
    axes = [
        np.eye(3),
        np.array([[0, 1, 0], [-1, 0, 0], [0, 0, 1]], float),
        np.array([[-1, 0, 0], [0, -1, 0], [0, 0, 1]], float),
        np.array([[0, 0, 1], [0, 1, 0], [-1, 0, 0]], float),
        np.array([[0, -1, 0], [0, 0, 1], [-1, 0, 0]], float),
    ]
    return LegGeometry(
        side=side,
        thigh_m=0.44 * tall,
        shank_m=0.42 * tall,
        sensor_at=rng.uniform(0.78, 0.9),
        surface_m=rng.uniform(0.03, 0.05),
        strap_deg=rng.uniform(-70, 70),
        tendon=rng.uniform(0.03, 0.12),
        mount=tilt @ axes[int(rng.integers(len(axes)))],
        bed_pitch_deg=rng.uniform(-2, 6),
        hip_width_m=rng.uniform(0.08, 0.11),
        axis_height_m=rng.uniform(0.09, 0.14),
    )


def to_si(q: np.ndarray) -> np.ndarray:
    """Plan units (degrees, metres) to radians and metres; q is (..., 8)."""
    out = np.array(q, dtype=np.float64, copy=True)
    idx = sorted(ANGLES)
    out[..., idx] = np.radians(out[..., idx])
    return out


def pose(q: np.ndarray, leg: LegGeometry) -> tuple[np.ndarray, np.ndarray]:
    """Device orientation (n,3,3: device axes as columns in the world) and position (n,3)."""
    q = to_si(np.atleast_2d(q))
    s = leg.side
    n = len(q)
    bed = rot_y(np.full(n, np.radians(leg.bed_pitch_deg)))
    body = bed @ rot_x(q[:, 0])
    thigh = body @ rot_z(s * q[:, 4]) @ rot_y(-q[:, 3]) @ rot_x(s * q[:, 5])
    shank = thigh @ rot_y(q[:, 6])
    strap = rot_x(np.full(n, s * np.radians(leg.strap_deg)))
    device = shank @ strap @ rot_y(leg.tendon * q[:, 7]) @ leg.mount
    hip = body @ np.array([0.0, s * leg.hip_width_m, 0.0])
    hip += np.stack([np.zeros(n), q[:, 1], leg.axis_height_m + q[:, 2]], -1)
    knee = hip + thigh[:, :, 0] * leg.thigh_m
    surface = (shank @ strap)[:, :, 2] * leg.surface_m
    sensor = knee + shank[:, :, 0] * (leg.sensor_at * leg.shank_m) + surface
    return device, sensor


def gravity_only(q: np.ndarray, leg: LegGeometry) -> np.ndarray:
    """What a still leg's sensor reads (g), (n,3)."""
    device, _ = pose(q, leg)
    return device[:, 2, :]  # the world's up axis in device coordinates: R^T e_z


def specific_force(q: np.ndarray, dt: float, leg: LegGeometry) -> np.ndarray:
    """Specific force (g) in the device's axes along a uniformly sampled (step dt) motion."""
    return forces(q, dt, leg)[0]


def forces(q: np.ndarray, dt: float, leg: LegGeometry) -> tuple[np.ndarray, np.ndarray]:
    """Specific force (g) along a uniformly sampled motion, and its gravity part alone (the
    tilt, without the linear acceleration)."""
    device, position = pose(q, leg)
    if len(q) >= 3:
        accel = np.gradient(np.gradient(position, dt, axis=0), dt, axis=0) / G
    else:
        accel = np.zeros_like(position)
    accel[:, 2] += 1.0
    return np.einsum("nji,nj->ni", device, accel), device[:, 2, :]
