"""The O(n) filters against brute force."""

import numpy as np
import pytest

from detection.filters import block_reduce, moving_mean


@pytest.mark.parametrize("n", [1, 2, 5, 10, 101])
@pytest.mark.parametrize("width", [1, 2, 3, 4, 25, 200])
def test_moving_mean_equals_the_mean_of_each_clipped_window(n, width):
    values = np.random.default_rng(n * width).normal(size=(n, 3))
    expected = np.array(
        [
            values[max(i - width // 2, 0) : min(i + width - width // 2, n)].mean(axis=0)
            for i in range(n)
        ]
    )
    np.testing.assert_allclose(moving_mean(values, width), expected)


def test_block_reduce_includes_the_partial_last_block():
    values = np.arange(10.0)
    np.testing.assert_allclose(block_reduce(values, 4, np.mean), [1.5, 5.5, 8.5])
