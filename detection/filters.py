"""O(n) smoothing and block statistics used by the detector."""

from __future__ import annotations

import numpy as np


def moving_mean(values: np.ndarray, width: int) -> np.ndarray:
    """Centred moving mean along axis 0 via cumulative sums; the window shrinks at the ends."""
    width = max(int(width), 1)
    n = len(values)
    cumulative = np.zeros((n + 1, *values.shape[1:]), dtype=np.float64)
    np.cumsum(values, axis=0, out=cumulative[1:])
    index = np.arange(n)
    low = np.clip(index - width // 2, 0, n)
    high = np.clip(index + width - width // 2, 0, n)
    count = (high - low).reshape(-1, *([1] * (values.ndim - 1)))
    return (cumulative[high] - cumulative[low]) / count


def block_reduce(values: np.ndarray, block: int, reducer=np.median) -> np.ndarray:
    """Reduce consecutive blocks of `block` samples (the last partial block included)."""
    n_full = len(values) // block
    head = values[: n_full * block].reshape(n_full, block, *values.shape[1:])
    out = reducer(head, axis=1)
    if n_full * block < len(values):
        tail = reducer(values[n_full * block :], axis=0)
        out = np.concatenate([out, tail[None]], axis=0)
    return out
