"""O(n) smoothing and block statistics used by the detector."""

from __future__ import annotations

import numpy as np


def moving_mean(values: np.ndarray, width: int) -> np.ndarray:
    """Centred moving mean along axis 0 via cumulative sums; the window shrinks at the ends."""
    width = max(int(width), 1)
    n = len(values)
    cumulative = np.zeros((n + 1, *values.shape[1:]), dtype=np.float64)
    np.cumsum(values, axis=0, out=cumulative[1:])
    before, after = width // 2, width - width // 2
    out = np.empty((n, *values.shape[1:]), dtype=np.float64)
    if n >= width:
        # The interior with plain slices (no index arrays: this runs on every sample).
        np.subtract(
            cumulative[width:], cumulative[: n - width + 1], out=out[before : n - after + 1]
        )
        out[before : n - after + 1] /= width
    edges = (
        np.r_[0 : min(before, n), max(n - after + 1, before) : n] if n >= width else np.arange(n)
    )
    low = np.clip(edges - before, 0, n)
    high = np.clip(edges + after, 0, n)
    count = (high - low).reshape(-1, *([1] * (values.ndim - 1)))
    out[edges] = (cumulative[high] - cumulative[low]) / count
    return out


def block_reduce(values: np.ndarray, block: int, reducer=np.median) -> np.ndarray:
    """Reduce consecutive blocks of `block` samples (the last partial block included)."""
    n_full = len(values) // block
    head = values[: n_full * block].reshape(n_full, block, *values.shape[1:])
    out = reducer(head, axis=1)
    if n_full * block < len(values):
        tail = reducer(values[n_full * block :], axis=0)
        out = np.concatenate([out, tail[None]], axis=0)
    return out
