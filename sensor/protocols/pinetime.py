"""PineTime (InfiniTime) motion service: coarse, notified only on change, about 10 Hz at most.

Good for coarse movement only: the rate is too low and irregular for brief jerks, and
sleepmove refuses recordings under 10 Hz.
"""

from __future__ import annotations

import numpy as np

from sleepmove.sensor.protocols.common import Decoded

SERVICE = "00030000-78fc-48fe-8e23-433b3a1942d0"
MOTION = "00030002-78fc-48fe-8e23-433b3a1942d0"
LSB_PER_G = 1024


def decode(value: bytes) -> Decoded:
    if len(value) != 6:
        return Decoded.bad(f"motion value of {len(value)} bytes, not 6")
    raw = np.frombuffer(value, dtype="<i2").reshape(1, 3).astype(float)
    return Decoded(raw / LSB_PER_G)


def encode(xyz_g: np.ndarray) -> bytes:
    return np.round(np.asarray(xyz_g) * LSB_PER_G).astype("<i2").tobytes()
