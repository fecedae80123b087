"""The clock alignment's shortcuts give the same numbers, bit for bit, as the plain numpy they
replace (detection/clock_alignment.py): the envelope's recording flags and median, and the
reads of an envelope along a grid of times."""

import numpy as np
import pytest

from sleepmove.detection.clock_alignment import (
    _median_by_selection,
    activity_envelope,
)
from sleepmove.detection.grid import Grid
from sleepmove.detection.params import ClockAlignmentParameters

PARAMS = ClockAlignmentParameters()


def reference_envelope(grid: Grid, params: ClockAlignmentParameters) -> tuple:
    """activity_envelope as first written: whole-night strided passes and np.median."""
    per_bin = max(int(grid.rate_hz / params.envelope_rate_hz), 1)
    bins = (grid.n - 1) // per_bin
    used = bins * per_bin
    total = np.zeros(bins, dtype=np.float32)
    for axis in range(3):  # a loop over axes
        step = np.abs(np.diff(grid.xyz[: used + 1, axis]))
        part = step[::per_bin].copy()
        for k in range(1, per_bin):  # a loop over a bin's samples
            part += step[k::per_bin]
        total += part
    valid = grid.valid[per_bin : used + 1 : per_bin].copy()
    for k in range(per_bin):  # a loop over a bin's samples
        valid &= grid.valid[k:used:per_bin]
    recorded = total[valid]
    scale = float(np.median(recorded)) if len(recorded) else 0.0
    if scale <= 0 and len(recorded):
        scale = float(np.percentile(recorded, 90)) or float(recorded.max()) or 1.0
    total /= scale or 1.0
    total -= params.activity_over_median
    np.maximum(total, 0, out=total)
    np.log1p(total, out=total)
    total[~valid] = 0
    return total, valid


def night(rate_hz: float, n: int, seed: int, gaps: int) -> Grid:
    rng = np.random.default_rng(seed)
    xyz = np.cumsum(rng.standard_normal((n, 3)) * 0.01, axis=0).astype(np.float32)
    xyz[rng.random(n) < 0.3] += np.float32(0.2)  # bursts: a median well above zero
    valid = np.ones(n, dtype=bool)
    for start in rng.integers(0, n, gaps):  # a loop over gaps, some across spans' borders
        valid[start : start + int(rng.integers(1, 400))] = False
    valid[65535 * 5 - 3 : 65535 * 5 + 2] = False  # across the first span's end (5 a bin)
    return Grid(1.7e9, rate_hz, np.asfortranarray(xyz), valid, np.empty((0, 2)))


@pytest.mark.parametrize(("rate_hz", "gaps"), [(100.0, 0), (100.0, 40), (25.0, 7), (52.0, 3)])
def test_envelope_matches_whole_night_passes(rate_hz: float, gaps: int) -> None:
    grid = night(rate_hz, 400_003, int(rate_hz) + gaps, gaps)
    envelope = activity_envelope(grid, PARAMS)
    values, valid = reference_envelope(grid, PARAMS)
    assert envelope.values.tobytes() == values.tobytes()
    assert np.array_equal(envelope.valid, valid)


@pytest.mark.parametrize("n", [1, 2, 16_383, 16_384, 16_385, 100_000, 576_001])
def test_median_by_selection_is_numpys(n: int) -> None:
    rng = np.random.default_rng(n)
    cases = [
        rng.random(n).astype(np.float32),
        np.round(rng.random(n) * 10).astype(np.float32),  # ties across the middle
        np.sort(rng.exponential(size=n)).astype(np.float32),  # the sample sees a trend
        np.where(np.arange(n) < n // 2, rng.random(n), 50 + rng.random(n)),  # two halves
        np.where(np.arange(n) < n // 3, 1.0, 0.0).astype(np.float32),
    ]
    with_nan = rng.random(n)
    with_nan[n // 7] = np.nan
    cases.append(with_nan)
    for values in cases:  # a loop over kinds of data
        expected = np.float64(np.median(values))
        assert np.array_equal(expected, np.float64(_median_by_selection(values)), equal_nan=True)
