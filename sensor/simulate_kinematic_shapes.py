"""Time courses of joint movements for the "kinematic" family (unit profiles).

Each profile maps time since its onset (s) to a fraction of the joint's excursion:

- `step`: a minimum-jerk transfer from 0 to 1 over `T`, then 1 (a new posture);
- `pulse`: a rise (minimum-jerk, or a second-order step response that may overshoot), a hold
  that sags by `sag`, and a minimum-jerk fall, ending at exactly `rise + hold + fall`;
- `twitch`: a limb segment as a damped mass-spring answering a half-sine burst of muscle force
  of length `D` (natural frequency `fn`, damping `zeta`), scaled to a peak of 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def min_jerk(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * x * (10 - 15 * x + 6 * x * x)


def _second_order_step(u: np.ndarray, rise: float, zeta: float) -> np.ndarray:
    wn = 3.0 / rise
    u = np.maximum(u, 0.0)
    if zeta >= 0.999:
        return 1 - np.exp(-wn * u) * (1 + wn * u)
    wd = wn * np.sqrt(1 - zeta * zeta)
    decay = np.exp(-zeta * wn * u)
    return 1 - decay * (np.cos(wd * u) + zeta * wn / wd * np.sin(wd * u))


@dataclass
class Shape:
    kind: str  # "step", "pulse" or "twitch"
    params: dict = field(default_factory=dict)

    @property
    def persistent(self) -> bool:
        return self.kind == "step"

    @property
    def length_s(self) -> float:
        """Time until the profile is settled (for `twitch`, its ringing has died away)."""
        p = self.params
        if self.kind == "step":
            return p["T"]
        if self.kind == "pulse":
            return p["rise"] + p["hold"] + p["fall"]
        return p["D"] + 5.0 / (p["zeta"] * 2 * np.pi * p["fn"])

    def __call__(self, u: np.ndarray) -> np.ndarray:
        p = self.params
        if self.kind == "step":
            return min_jerk(u / p["T"])
        if self.kind == "pulse":
            rise, hold, fall = p["rise"], p["hold"], p["fall"]
            if p.get("zeta") is None:
                up = min_jerk(u / rise)
            else:
                up = _second_order_step(u, rise, p["zeta"])
            level = 1 - p.get("sag", 0.0) * np.clip((u - rise) / max(hold, 1e-6), 0, 1)
            down = 1 - min_jerk((u - rise - hold) / fall)
            out = up * level * down
            out[(u < 0) | (u > rise + hold + fall)] = 0.0
            return out
        return _twitch(u, p["D"], p["fn"], p["zeta"])


def _twitch(u: np.ndarray, burst: float, fn: float, zeta: float) -> np.ndarray:
    """Damped second-order response to a half-sine force burst, peak 1 (1-ms reference grid)."""
    dt = 1e-3
    length = burst + 5.0 / (zeta * 2 * np.pi * fn)
    grid = np.arange(0.0, length + dt, dt)
    force = np.where(grid < burst, np.sin(np.pi * grid / burst), 0.0)
    wn = 2 * np.pi * fn
    zeta_c = min(zeta, 0.999)
    wd = wn * np.sqrt(1 - zeta_c * zeta_c)
    impulse = np.exp(-zeta_c * wn * grid) * np.sin(wd * grid)
    response = np.convolve(force, impulse)[: len(grid)]
    response /= np.abs(response).max()
    return np.interp(u, grid, response, left=0.0, right=0.0)
