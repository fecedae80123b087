"""The clock alignment's shortcuts give the same numbers, bit for bit, as the plain numpy they
replace (detection/clock_alignment.py): the envelope's recording flags and median, and the
reads of an envelope along a grid of times."""

import numpy as np
import pytest

from sleepmove.detection.clock_alignment import (
    Envelope,
    _median_by_selection,
    _window_counts,
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


def reference_at(envelope: Envelope, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Envelope.at as np.interp over all the bins and the nearest bin's flag."""
    n = len(envelope.values)
    j = (times - envelope.start_s) / envelope.step_s
    values = np.interp(j, np.arange(n), envelope.values, left=0.0, right=0.0)
    inside = (j >= 0) & (j <= n - 1)
    return values, inside & envelope.valid[np.clip(np.rint(j).astype(np.intp), 0, n - 1)]


def test_envelope_reads_are_numpys_interpolation() -> None:
    """Times a bin apart (read by slices) and all others (np.interp): the same numbers."""
    rng = np.random.default_rng(11)
    sliced = 0
    for trial in range(600):  # a loop over envelopes and grids of times
        n = int(rng.integers(2, 3000))
        values = np.log1p(np.maximum(rng.standard_normal(n), 0)).astype(np.float32)
        values[rng.random(n) < 0.3] = 0
        step = float(rng.choice([0.05, 0.04, 0.1]))
        envelope = Envelope(1.7e9 + rng.uniform(0, 100), step, values, rng.random(n) > 0.05)
        count = int(rng.integers(1, n + 50))
        dt = step if trial % 2 else float(rng.choice([0.05, 0.04]))
        offset = float(rng.choice([0.0, rng.uniform(-10, 10), rng.uniform(0, n)])) * step
        if trial % 3 == 0:  # inside, off the bins' centres
            offset = (int(rng.integers(0, max(n - count, 1))) + rng.random()) * step
        times = envelope.start_s + offset + np.arange(count) * dt
        if trial % 5 == 0:  # a drifting clock
            times += rng.uniform(-3e-3, 3e-3) * (times - envelope.start_s) / (n * step)
        if trial % 7 == 0:  # on the bins' own grid: rounded either side of the bins
            first = int(rng.integers(-5, n))
            times = envelope.start_s + first * step + np.arange(count) * step
        j = (times - envelope.start_s) / step
        sliced += envelope._values_in_step(j) is not None
        got, expected = envelope.at(times), reference_at(envelope, times)
        assert got[0].tobytes() == expected[0].tobytes()
        assert np.array_equal(got[1], expected[1])
        assert envelope.values_at(times).tobytes() == expected[0].tobytes()
    assert sliced > 100  # both ways of reading were tried


@pytest.mark.parametrize(("length", "hop"), [(6000, 3000), (60, 25), (40, 70), (35, 35)])
def test_window_counts_are_the_windows_sums(length: int, hop: int) -> None:
    rng = np.random.default_rng(length + hop)
    count = 23
    flags = rng.random((count - 1) * hop + length + 17) < 0.7
    windows = np.lib.stride_tricks.sliding_window_view(flags, length)[::hop][:count]
    counts = _window_counts(flags, length, hop, count)
    assert np.array_equal(counts, windows.sum(axis=1))
    assert (counts / length).tobytes() == windows.mean(axis=1).tobytes()
