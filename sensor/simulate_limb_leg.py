"""The limb family's shank physics: what a strap just above the ankle feels when the leg moves.

The shank is a rigid segment with a frame of three axes (u: knee to ankle, v: the shin's front,
w: lateral). A movement turns that frame (knee flexion about w, a roll about u, plus any lasting
change of posture) and moves the strap site along a path fixed by what the leg pivots on: the
calf resting on the mattress, the heel sliding up the sheet (knee and hip flexing), or the knee
(sitting, walking). The accelerometer measures specific force: gravity's direction in the
shank's frame plus the strap's own acceleration, which soft tissue (a damped spring between bone
and strap) colours. Everything is rendered on a fine grid (about 400 Hz) per movement, then
averaged over each sample's integration window as the sensor's filter does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

G = 9.80665
FINE_HZ = 400.0  # fine enough for a 50 ms twitch's shape; the sensor averages it down
THIGH_M = 0.44  # thigh length: sets how far the heel slides for a given shank tilt
SHANK_M = 0.42


@dataclass
class Action:
    """One leg's part of a movement: the path of its shank and what the strap feels."""

    onset_s: float
    duration_s: float
    flex_deg: float = 0.0  # peak knee-flexion turn of the shank about its lateral axis
    roll_deg: float = 0.0  # peak turn about the long axis (leg rolling, tendon rocking strap)
    rise: float = 0.3  # share of the duration rising to the peak
    hold: float = 0.2  # share held (a sustained dorsiflexion)
    sag: float = 0.1  # how much of the peak is lost while held
    sharp: float = 1.0  # envelope exponent: above 1 a peakier, below 1 a boxier movement
    pivot: str = "calf"  # "calf" (fixed), "heel" (heel slides: knee and hip flex), "knee"
    lever_m: float = 0.18  # pivot to strap along the shank
    residual: np.ndarray = field(default_factory=lambda: np.zeros(3))  # lasting turn, rad
    target: tuple[float, float] | None = None  # posture (elevation, roll deg) it ends in
    mmg_g: float = 0.0  # muscle and tendon vibration under the strap while active
    mmg_hz: float = 14.0
    wobble_deg: float = 0.0  # rhythmic turn riding on the envelope (rubbing, walking)
    wobble_hz: float = 0.0
    wobble_axis: str = "roll"  # "roll" or "flex"
    pulse_g: float = 0.0  # a twitch: peak of the strap's acceleration pulse
    pulse_dir: tuple[float, float, float] = (0.3, 0.9, 0.3)
    impacts_g: float = 0.0  # heel strikes, once per wobble cycle (walking)
    bed_g: float = 0.0  # mattress vertical vibration (bed partner), peak
    bed_hz: float = 4.0
    bed_damping: float = 0.1
    noise_seed: int = 0  # the mattress's forcing and the muscle's vibration are random


@dataclass
class Tissue:
    """The strap on soft tissue: a damped resonance between bone and sensor (varies by leg)."""

    hz: float = 16.0
    damping: float = 0.3


def posture_matrix(elevation_deg: float, roll_deg: float) -> np.ndarray:
    """Shank frame (columns u, v, w in world coordinates, z up) for a posture: `elevation` of
    the ankle end above horizontal (-90: standing), `roll` about the long axis (0: shin up)."""
    e, r = np.radians(elevation_deg), np.radians(roll_deg)
    u = [np.cos(e), 0.0, np.sin(e)]
    v = [-np.sin(e) * np.cos(r), -np.sin(r), np.cos(e) * np.cos(r)]
    w = [np.sin(e) * np.sin(r), -np.cos(r), -np.cos(e) * np.sin(r)]
    return np.array([u, v, w]).T


def rotation_vector(matrix: np.ndarray) -> np.ndarray:
    """Axis times angle of a rotation matrix (the lasting turn a posture change makes)."""
    angle = float(np.arccos(np.clip((np.trace(matrix) - 1) / 2, -1.0, 1.0)))
    if angle < 1e-9:
        return np.zeros(3)
    axis = np.array(
        [matrix[2, 1] - matrix[1, 2], matrix[0, 2] - matrix[2, 0], matrix[1, 0] - matrix[0, 1]]
    )
    norm = np.linalg.norm(axis)
    if norm < 1e-9:  # a half turn: the axis from the symmetric part
        axis = np.sqrt(np.clip((np.diag(matrix) + 1) / 2, 0, None))
        norm = np.linalg.norm(axis)
    return axis / norm * angle


def _exp(vectors: np.ndarray) -> np.ndarray:
    """Rotation matrices (m, 3, 3) of rotation vectors (m, 3) (Rodrigues)."""
    angle = np.linalg.norm(vectors, axis=1)
    safe = np.where(angle > 1e-12, angle, 1.0)
    k = vectors / safe[:, None]
    kx = np.zeros((len(vectors), 3, 3))
    kx[:, 0, 1], kx[:, 0, 2] = -k[:, 2], k[:, 1]
    kx[:, 1, 0], kx[:, 1, 2] = k[:, 2], -k[:, 0]
    kx[:, 2, 0], kx[:, 2, 1] = -k[:, 1], k[:, 0]
    s, c = np.sin(angle)[:, None, None], np.cos(angle)[:, None, None]
    return np.eye(3)[None] + s * kx + (1 - c) * kx @ kx


def envelope(x: np.ndarray, action: Action) -> np.ndarray:
    """Activation 0..1 over the movement's life x = t / duration: a raised-cosine rise, a
    sagging hold, a raised-cosine release; zero outside [0, 1]."""
    rise = max(action.rise, 1e-3)
    hold = min(action.hold, 0.98 - rise)
    fall = max(1.0 - rise - hold, 1e-3)
    up = 0.5 - 0.5 * np.cos(np.pi * np.clip(x / rise, 0, 1))
    held = 1.0 - action.sag * np.clip((x - rise) / max(hold, 1e-3), 0, 1)
    down = 0.5 + 0.5 * np.cos(np.pi * np.clip((x - rise - hold) / fall, 0, 1))
    shape = np.where(x < rise, up, held * np.where(x < rise + hold, 1.0, down))
    return np.where((x >= 0) & (x <= 1), shape, 0.0) ** action.sharp


def _damped_kernel(hz: float, damping: float, step: float) -> np.ndarray:
    """Impulse response of a damped resonance, long enough to ring out."""
    omega = 2 * np.pi * hz
    t = np.arange(0.0, min(6.0, 6.0 / (damping * omega)), step)
    wd = omega * np.sqrt(max(1 - damping**2, 1e-6))
    return np.exp(-damping * omega * t) * np.sin(wd * t)


def _tissue(acc: np.ndarray, tissue: Tissue, step: float) -> np.ndarray:
    """The strap's acceleration on its soft-tissue spring, driven by the bone's (base
    excitation: H(s) = (2ζωs + ω²) / (s² + 2ζωs + ω²)): a sharp kick rings at the resonance."""
    omega = 2 * np.pi * tissue.hz
    kernel = _damped_kernel(tissue.hz, tissue.damping, step)
    kernel = kernel / np.sum(kernel)  # unit gain at rest: the ω² part
    drive = acc + 2 * tissue.damping / omega * np.gradient(acc, step, axis=0)
    strap = np.empty_like(acc)
    for axis in range(3):  # a loop over the three axes
        strap[:, axis] = np.convolve(drive[:, axis], kernel)[: len(acc)]
    return strap


def render(action: Action, t: np.ndarray, base: np.ndarray, tissue: Tissue) -> np.ndarray:
    """Specific force change (g, shank frame; shape of `t` + (3,)) the action makes at times
    `t` (seconds from its onset, a regular fine grid) on a shank resting in frame `base`."""
    shape = t.shape
    t = t.ravel()
    step = float(t[1] - t[0]) if len(t) > 1 else 1.0 / FINE_HZ
    x = t / action.duration_s
    inside = (x >= 0) & (x <= 1)
    env = envelope(x, action)
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.clip(x, 0, 1))  # a posture eased in over the movement
    flex = np.radians(action.flex_deg) * env
    roll = np.radians(action.roll_deg) * env
    if action.wobble_deg:
        wobble = np.radians(action.wobble_deg) * np.sin(2 * np.pi * action.wobble_hz * t)
        wobble *= np.clip(np.minimum(x, 1 - x) * action.duration_s / 0.4, 0, 1)
        if action.wobble_axis == "flex":
            flex = flex + wobble
        else:
            roll = roll + wobble
    turns = np.zeros((len(t), 3))
    turns[:, 2] = flex  # about w (lateral): knee flexion tips the shank in its own plane
    turns[:, 0] = roll
    frames = base[None] @ _exp(ramp[:, None] * action.residual[None]) @ _exp(turns)
    up = frames[:, 2, :]  # the world's up in shank coordinates: the frames' z rows
    # Where the strap is: the pivot's path, plus the lever along the shank and the skin's
    # offset from the bone (4.5 cm in front of the shank's axis, so a roll swings it).
    position = frames @ np.array([action.lever_m, 0.045, 0.0])
    if action.pivot == "heel":
        # Heel on the sheet: the knee rises, the heel slides toward the hip (closed chain).
        slide = SHANK_M * (1 - np.cos(flex)) * (1 + SHANK_M / THIGH_M)
        position = position - slide[:, None] * base[:, 0][None]
    acc = np.gradient(np.gradient(position, step, axis=0), step, axis=0) / G
    if action.bed_g:
        # The mattress rings at its own mode, forced by the partner's random push.
        rng = np.random.default_rng(action.noise_seed)
        force = rng.standard_normal(len(t)) * env
        kernel = _damped_kernel(action.bed_hz, action.bed_damping, step)
        response = np.convolve(force, kernel)[: len(t)]
        acc[:, 2] += action.bed_g * response / max(float(np.max(np.abs(response))), 1e-12)
    kick = np.zeros(len(t))
    if action.pulse_g:
        # A twitch displaces the strap by a sin^4 bump; its acceleration is the bump's second
        # derivative (a +/-/+ pulse, peak 1 at mid), so the strap comes back to rest.
        s, c = np.sin(np.pi * np.clip(x, 0, 1)), np.cos(np.pi * np.clip(x, 0, 1))
        kick += action.pulse_g * (3 * s**2 * c**2 - s**4) * inside
    if action.impacts_g:
        since = (action.wobble_hz * t) % 1.0 / max(action.wobble_hz, 1e-6)  # s since a strike
        kick += action.impacts_g * np.exp(-(((since - 0.03) / 0.015) ** 2)) * inside
    if kick.any():
        direction = np.asarray(action.pulse_dir, dtype=float)
        direction = direction / np.linalg.norm(direction)
        acc += kick[:, None] * (frames @ direction)
    acc = _tissue(acc, tissue, step)
    local = np.einsum("mji,mj->mi", frames, acc)  # world acceleration into the shank frame
    if action.mmg_g:
        # Tendon and muscle under the strap vibrate while they pull (mechanomyogram).
        rng = np.random.default_rng(action.noise_seed + 1)
        phase = 2 * np.pi * action.mmg_hz * t + np.cumsum(rng.normal(0, 0.25, len(t)))
        local[:, 1] += action.mmg_g * env * np.sin(phase)
    delta = up - base[2][None] + local
    return delta.reshape(*shape, 3)


def settled(base: np.ndarray, action: Action) -> np.ndarray:
    """The shank frame after the action: its lasting turn applied."""
    return base @ _exp(action.residual[None])[0]
