"""np.median, np.quantile and np.unique's values without numpy.ma.

numpy's own functions check their input for masked arrays, which imports numpy.ma on first
use: 7-16 ms of CPU a process, holding the interpreter lock, that no caller here needs. These
give the same numbers (the same selections, the same arithmetic) on plain 1-D arrays.
Imported by `sensor` and `detection` alike; nothing imports it at start-up (it needs numpy).
"""

from __future__ import annotations

import numpy as np


def median(values: np.ndarray) -> float:
    """np.median(values), with `values` (1-D) partitioned in place."""
    half = len(values) // 2
    even = len(values) % 2 == 0
    values.partition([half - 1, half, -1] if even else [half, -1])
    if np.isnan(values[-1]):  # NaN sorts last: the median of values with a NaN is NaN
        return float("nan")
    return float(np.mean(values[half - 1 : half + 1] if even else values[half : half + 1], axis=0))


def quantiles(values: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """np.quantile(values, qs) (its default, linear method) for values without NaN, with
    `values` (1-D) partitioned in place."""
    last = len(values) - 1
    virtual = last * np.asarray(qs, dtype=np.float64)
    beyond = virtual >= last
    below = np.where(beyond, -1, np.floor(virtual)).astype(np.intp)
    above = np.where(beyond, -1, np.floor(virtual) + 1).astype(np.intp)
    values.partition(sorted({0, -1, *below.tolist(), *above.tolist()}))
    low, high = values[below], values[above]
    gamma = virtual - below
    span = high - low
    return np.where(gamma >= 0.5, high - span * (1 - gamma), low + span * gamma)


def quantile(values: np.ndarray, q: float) -> float:
    """float(np.quantile(values, q)) for one float q (np.percentile(values, 100 * q)), with
    `values` (1-D, not empty) partitioned in place. A lone q is a weak scalar to numpy: the
    interpolation runs in the values' own precision (float32 stays float32), unlike
    `quantiles`."""
    last = len(values) - 1
    virtual = last * np.float64(q)
    below = int(np.floor(virtual))
    above = below + 1
    if virtual >= last:  # numpy's bounds: the largest value, and gamma from index -1
        below = above = -1
    values.partition(sorted({0, -1, below, above}))
    if np.isnan(values[-1]):
        return float("nan")
    gamma = float(virtual - below)
    low, high = values[below], values[above]
    span = high - low
    return float(high - span * (1 - gamma) if gamma >= 0.5 else low + span * gamma)


def sorted_distinct(values: np.ndarray) -> np.ndarray:
    """np.unique(values)'s distinct values for real numbers without NaN, sorted (a copy)."""
    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]
