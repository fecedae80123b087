"""Signal quality: samples stuck at the sensor's full scale (saturation)."""

from __future__ import annotations

import numpy as np

from sleepmove.base.words import how_many
from sleepmove.detection.filters import true_runs
from sleepmove.detection.params import QualityParameters

QUALITY = QualityParameters()

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


# Sensor faults. A real sensor's noise never holds every axis exactly constant for minutes,
# and a leg never pins all three axes at full scale for seconds: such stretches are faults
# (how long each must last: QualityParameters).
AXES = "xyz"


def _runs(mask: np.ndarray, min_length: int) -> tuple[np.ndarray, np.ndarray]:
    """Starts and stops of the runs of True in `mask` at least `min_length` long."""
    starts, stops = true_runs(mask)
    long = stops - starts >= min_length
    return starts[long], stops[long]


PRECHECK_STRIDE = 16  # one float32 in 16: one cache line in 16 of a night's samples


def _block_extremes(
    xyz: np.ndarray, block: int, edge: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per axis, the lowest and highest value of each whole block: (blocks, 3) each, exact
    wherever an axis could be constant or at full scale (`edge`); elsewhere the extremes of
    every PRECHECK_STRIDE-th sample, which already show the block varies and is not pinned
    (all the fault rules ask). Reading all of a night's samples cost 13 ms of a 0.5 s run."""
    count = len(xyz) // block
    low = np.empty((count, 3), dtype=np.float32)
    high = np.empty((count, 3), dtype=np.float32)
    stride = PRECHECK_STRIDE if block >= 2 * PRECHECK_STRIDE else 1
    for axis in range(3):  # one axis at a time: columns are contiguous
        blocks = xyz[: count * block, axis].reshape(count, block)
        low[:, axis] = blocks[:, ::stride].min(axis=1)
        high[:, axis] = blocks[:, ::stride].max(axis=1)
    if stride == 1:
        return low, high
    could = (low == high).any(axis=1)
    if edge is not None:
        could |= ((low >= edge) | (high <= -edge)).any(axis=1)
    rows = np.flatnonzero(could)
    for axis in range(3):  # the exact extremes where they decide
        blocks = xyz[: count * block, axis].reshape(count, block)[rows]
        low[rows, axis] = blocks.min(axis=1)
        high[rows, axis] = blocks.max(axis=1)
    return low, high


def _covered(blocks: int, stretches: list[tuple[int, int]], block: int) -> np.ndarray:
    """Which blocks lie in the given sample stretches."""
    covered = np.zeros(blocks, dtype=bool)
    for first, stop in stretches:  # a loop over stuck stretches
        covered[first // block : stop // block] = True
    return covered


def sensor_faults(
    xyz: np.ndarray,
    valid: np.ndarray,
    rate_hz: float,
    range_g: float | None,
    params: QualityParameters = QUALITY,
) -> tuple[np.ndarray, list[str]]:
    """Stretches where the sensor is stuck, as [first, stop) sample pairs, and warnings.

    Stuck: every axis exactly constant for stuck_min_s, or every axis at full scale for
    pinned_min_s. A dead axis (one axis constant for dead_axis_min_s while the others move)
    is only warned about: the other axes still see movements. Computed on one-second blocks.
    """
    block = max(int(round(rate_hz)), 1)
    if len(xyz) < 2 * block:
        return np.empty((0, 2), dtype=np.intp), []
    low, high = _block_extremes(xyz, block, 0.995 * range_g if range_g else None)
    usable = np.ones(len(low), dtype=bool)
    if not valid.all():  # gap samples repeat the value before the gap: not the sensor's
        usable = valid[: len(low) * block].reshape(len(low), block).all(axis=1)
    constant = (low == high) & usable[:, None]
    # Each block that continues the previous block's constant value, axis by axis.
    continues = np.zeros_like(constant)
    continues[1:] = constant[1:] & constant[:-1] & (low[1:] == low[:-1])
    held = continues.copy()
    held[:-1] |= continues[1:]  # the first block of a run holds the value too
    stuck = held.all(axis=1)
    stretches, notes = [], []
    starts, stops = _runs(stuck, int(np.ceil(params.stuck_min_s * rate_hz / block)))
    for start, stop in zip(starts, stops):  # a loop over stuck stretches
        stretches.append((start * block, stop * block))
        notes.append(
            f"every axis stuck at one value for {(stop - start) * block / rate_hz / 60:.0f} "
            f"min (from {start * block / rate_hz / 3600:.2f} h): a sensor fault, left out "
            "of sleep and event scoring as a data gap"
        )
    if range_g:
        edge = 0.995 * range_g
        pinned = ((low >= edge) | (high <= -edge)).all(axis=1) & usable
        starts, stops = _runs(pinned, int(np.ceil(params.pinned_min_s * rate_hz / block)))
        for start, stop in zip(starts, stops):  # a loop over stuck stretches
            stretches.append((start * block, stop * block))
            notes.append(
                f"every axis at full scale (±{range_g:g} g) for "
                f"{(stop - start) * block / rate_hz / 60:.1f} min (from "
                f"{start * block / rate_hz / 3600:.2f} h): stuck, left out of sleep and event "
                "scoring as a data gap"
            )
    # Dead axes, over the blocks the sensor worked in (gaps and stuck stretches left out).
    kept = np.flatnonzero(usable & ~_covered(len(low), stretches, block))
    same = np.zeros((len(kept), 3), dtype=bool)
    same[1:] = (low[kept[1:]] == high[kept[1:]]) & (low[kept[1:]] == low[kept[:-1]])
    same[1:] &= low[kept[:-1]] == high[kept[:-1]]
    same[:-1] |= same[1:]
    for axis in range(3):  # a loop over axes
        dead = same[:, axis] & ~same.all(axis=1)
        starts, stops = _runs(dead, int(np.ceil(params.dead_axis_min_s * rate_hz / block)))
        if len(starts):
            total = int((stops - starts).sum()) * block / rate_hz
            whole = stops[0] - starts[0] >= 0.9 * len(kept)
            notes.append(
                f"the {AXES[axis]} axis holds one value ({float(low[kept[starts[0]], axis]):g} g) "
                + ("for the whole recording" if whole else f"for {total / 60:.0f} min")
                + f" (from {kept[starts[0]] * block / rate_hz / 3600:.2f} h) while the others "
                "move: a dead axis; movements along it are missed"
            )
    if not stretches:
        return np.empty((0, 2), dtype=np.intp), notes
    return np.array(sorted(stretches), dtype=np.intp), notes


def long_gap_notes(
    gaps_s: np.ndarray, start_s: float, params: QualityParameters = QUALITY
) -> list[str]:
    """A warning for each long gap: a clock that jumps forward reads as lost data."""
    notes = []
    for first, last in gaps_s:  # a loop over gaps
        length = last - first
        if length < params.long_gap_note_s:
            continue
        hours = round(length / 3600)
        guess = (
            f" (about {how_many(hours, 'whole hour')}: a clock or time-zone change?)"
            if hours >= 1 and abs(length - hours * 3600) < 5.0
            else ""
        )
        notes.append(
            f"the time stamps jump forward by {length / 60:.1f} min at "
            f"{(first - start_s) / 3600:.2f} h{guess}: counted as data lost, not as sleep"
        )
    return notes
