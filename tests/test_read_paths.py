"""The read path's shortcuts give exactly what the numpy calls they stand for give."""

from __future__ import annotations

import numpy as np
import pytest

from sleepmove.sensor.readers import median, quantiles


def _samples(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = []
    for size in (*range(1, 40), 1001, 100_000, 100_001):
        arrays += [
            rng.normal(size=size),
            rng.integers(-3, 3, size=size).astype(np.float64),  # ties
            rng.normal(size=size) * 1e9 + 1.7e9,  # Unix times in ns' magnitude
            np.abs(rng.normal(size=size)).astype(np.float32),  # magnitudes, float32
        ]
    return arrays


@pytest.mark.parametrize("seed", [0, 1])
def test_median_is_numpys(seed: int) -> None:
    for values in _samples(seed):
        expected = np.median(values)
        assert np.float64(median(values.copy())).tobytes() == np.float64(expected).tobytes()


def test_median_with_nan_is_nan() -> None:
    values = np.array([1.0, np.nan, 3.0, 2.0], dtype=np.float32)
    assert np.isnan(median(values))


@pytest.mark.parametrize("seed", [0, 1])
def test_quantiles_are_numpys(seed: int) -> None:
    for values in _samples(seed):
        expected = np.quantile(values, [0.01, 0.5, 0.99])
        found = quantiles(values.copy(), (0.01, 0.5, 0.99))
        assert found.dtype == expected.dtype
        assert found.tobytes() == expected.tobytes()
