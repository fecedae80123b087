"""Property-based: the vectorized filters and the grid against their plain definitions."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sleepmove.detection.filters import moving_mean, true_runs, window_sums
from sleepmove.detection.grid import regularize
from tests.spread_stamps import spread_shared_stamps

SETTINGS = settings(max_examples=200, deadline=None)


@SETTINGS
@given(n=st.integers(1, 300), width=st.integers(1, 320), seed=st.integers(0, 2**16))
def test_moving_mean_is_the_mean_of_each_clipped_window(n, width, seed):
    values = np.random.default_rng(seed).normal(size=n).astype(np.float32)
    before, after = width // 2, width - width // 2
    expected = [
        values[max(i - before, 0) : min(i + after, n)].astype(float).mean() for i in range(n)
    ]
    np.testing.assert_allclose(moving_mean(values, width), expected, rtol=2e-5, atol=2e-6)


@SETTINGS
@given(n=st.integers(0, 200), width=st.integers(1, 210), seed=st.integers(0, 2**16))
def test_window_sums_are_the_sum_of_each_full_window(n, width, seed):
    values = np.random.default_rng(seed).normal(size=(n, 2))
    expected = np.reshape(
        [values[i : i + width].sum(axis=0) for i in range(n - width + 1)], (-1, 2)
    )
    np.testing.assert_allclose(window_sums(values, width), expected, atol=1e-9)


@SETTINGS
@given(mask=st.lists(st.booleans(), max_size=60))
def test_true_runs_cover_exactly_the_true_samples(mask):
    mask = np.array(mask, dtype=bool)
    starts, ends = true_runs(mask)
    covered = np.zeros(len(mask), dtype=bool)
    for start, end in zip(starts, ends):
        assert end > start and covered[start:end].sum() == 0
        covered[start:end] = True
    assert (covered == mask).all()
    assert all(not mask[start - 1] for start in starts if start > 0)  # runs are maximal
    assert all(not mask[end] for end in ends if end < len(mask))


@SETTINGS
@given(
    seed=st.integers(0, 2**16),
    shared=st.integers(0, 5),
    repeats=st.lists(st.integers(1, 1998), max_size=4, unique=True),
)
def test_grid_equals_linear_interpolation_of_the_cleaned_samples(seed, shared, repeats):
    # Jittered 50 Hz stamps, a packet of samples sharing one stamp, and rows received twice.
    rng = np.random.default_rng(seed)
    t = np.sort(np.arange(2000) / 50.0 + rng.normal(0, 0.004, 2000))
    t[1000 : 1000 + shared] = t[1000]
    t = np.maximum.accumulate(t)
    xyz = rng.normal(size=(2000, 3))
    clean = regularize(t, xyz, rate_hz=50.0)
    order = np.array(sorted(repeats), dtype=int)
    messy = regularize(
        np.insert(t, order, t[order]), np.insert(xyz, order, xyz[order], axis=0), rate_hz=50.0
    )
    np.testing.assert_array_equal(messy.xyz, clean.xyz)
    spread = spread_shared_stamps(t - t[0], 50.0)
    grid_t = np.arange(clean.n) / 50.0
    for axis in range(3):
        expected = np.interp(grid_t, spread, xyz[:, axis])
        np.testing.assert_allclose(clean.xyz[:, axis], expected, atol=1e-5)
