"""Signal quality: samples stuck at the sensor's full scale (saturation)."""

from __future__ import annotations

import numpy as np

FULL_SCALES_G = (2.0, 4.0, 8.0, 16.0, 32.0)


def saturation(xyz: np.ndarray) -> dict:
    """Samples at the full scale of the smallest common range that holds the data.

    A sensor that clips repeats its extreme value; a strong movement that merely comes near the
    range does not. At least 3 samples at 99.5 % of the range count as saturation.
    """
    peak = max(float(xyz.max()), -float(xyz.min())) if len(xyz) else 0.0
    scale = next((s for s in FULL_SCALES_G if peak <= s * 1.001), None)
    if scale is None:
        return {"range_g": None, "samples": 0, "share": 0.0}
    clipped = 0
    if peak >= 0.995 * scale:  # only then can a sample sit at the full scale
        columns = [np.abs(xyz[:, axis]) >= 0.995 * scale for axis in range(3)]
        clipped = int((columns[0] | columns[1] | columns[2]).sum())
    if clipped < 3:
        clipped = 0
    return {"range_g": scale, "samples": clipped, "share": clipped / max(len(xyz), 1)}
