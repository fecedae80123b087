"""Resting orientation, dynamic acceleration, activity envelope and an adaptive noise floor."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import median_filter, percentile_filter

from detection.filters import block_reduce, moving_mean
from detection.params import DetectionParameters


@dataclass
class LegSignals:
    rate_hz: float
    xyz: np.ndarray  # (n, 3) g
    deviation: np.ndarray  # (n,) g: distance from the resting orientation: the movement
    envelope: np.ndarray  # (n,) g: short RMS of the deviation
    floor: np.ndarray  # (n,) g: the tracked noise floor
    valid: np.ndarray  # (n,) bool


def leg_signals(
    xyz: np.ndarray, valid: np.ndarray, rate_hz: float, params: DetectionParameters
) -> LegSignals:
    block = max(int(round(params.baseline_block_s * rate_hz)), 1)
    # Resting orientation from 1 s block medians over a preceding, a centred and a following
    # window, each longer than twice any CLM so that an LM, even a held one, never dominates
    # it. Movement is the deviation from the nearest of the three: an LM departs from all of
    # them, while around posture changes one window always sits in the current posture.
    block_median = block_reduce(xyz, block).astype(np.float64)
    window = max(int(round(params.baseline_window_s / params.baseline_block_s)), 1)
    reach = (window - 1) // 2
    deviation_sq = None
    for origin in (reach, 0, -reach):  # preceding, centred, following window
        side = median_filter(block_median, size=(window, 1), origin=(origin, 0), mode="nearest")
        side = np.repeat(side, block, axis=0)[: len(xyz)].astype(np.float32)
        delta = xyz - side
        candidate = np.einsum("ij,ij->i", delta, delta)
        deviation_sq = candidate if deviation_sq is None else np.minimum(deviation_sq, candidate)
    deviation = np.sqrt(deviation_sq)
    env_width = max(int(round(params.envelope_window_s * rate_hz)), 1)
    envelope = np.sqrt(moving_mean(deviation_sq, env_width)).astype(np.float32)
    envelope[~valid] = 0.0
    floor = _noise_floor(xyz, envelope, valid, block, params)
    return LegSignals(rate_hz, xyz, deviation.astype(np.float32), envelope, floor, valid)


def _noise_floor(
    xyz: np.ndarray,
    envelope: np.ndarray,
    valid: np.ndarray,
    block: int,
    params: DetectionParameters,
) -> np.ndarray:
    """The envelope's resting level, tracked through the night (sensor noise changes)."""
    blocks = block_reduce(envelope, block).astype(np.float64)
    valid_blocks = block_reduce(valid, block, np.all)
    if valid_blocks.any():
        blocks[~valid_blocks] = np.median(blocks[valid_blocks])
    window = max(int(round(params.noise_window_s / params.baseline_block_s)), 1)
    # The 20th percentile: movements may fill most of a restless 5 minutes, noise never leaves.
    floor_blocks = percentile_filter(blocks, 20, size=window, mode="nearest")
    floor_blocks = np.maximum(floor_blocks, max(params.min_floor_g, _quantum(xyz)))
    return np.repeat(floor_blocks, block)[: len(envelope)].astype(np.float32)


def _quantum(xyz: np.ndarray) -> float:
    """The sensor's resolution: the smallest step between distinct sample values."""
    sample = xyz[: min(len(xyz), 200_000), 0]
    steps = np.diff(np.unique(sample))
    steps = steps[steps > 0]
    return float(np.percentile(steps, 5)) if len(steps) else 0.0
