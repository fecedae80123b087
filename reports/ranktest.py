"""The Mann-Whitney U test (Wilcoxon rank-sum) in numpy: do two groups of nights differ?

Two-sided. The p-value is exact (the count of every way to split the ranks) when there are no
ties and at most EXACT_MAX values in all; otherwise the normal approximation with the tie
correction and a continuity correction, as statistics texts give it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# C(40, 20) = 1.4e11 splits: their counts stay exact in float64, and the table is quick.
EXACT_MAX = 40


@dataclass(frozen=True)
class RankTest:
    u: float  # U of the first group: the pairs (x, y) with x > y, a tie counting a half
    p: float  # two-sided
    method: str  # "exact" or "normal"


def mann_whitney_u(x: np.ndarray, y: np.ndarray) -> RankTest:
    """Two-sided Mann-Whitney U test of `x` against `y` (NaNs dropped; each needs a value)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    x, y = x[~np.isnan(x)], y[~np.isnan(y)]
    n1, n2 = len(x), len(y)
    if n1 == 0 or n2 == 0:
        raise ValueError("each group needs at least one value")
    ranks, ties = _midranks(np.concatenate([x, y]))
    u1 = float(ranks[:n1].sum() - n1 * (n1 + 1) / 2)
    if not ties.any() and n1 + n2 <= EXACT_MAX:
        counts = _u_counts(n1, n2)
        low = min(u1, n1 * n2 - u1)  # the distribution is symmetric
        p = 2 * counts[: int(round(low)) + 1].sum() / counts.sum()
        return RankTest(u1, min(1.0, float(p)), "exact")
    n = n1 + n2
    variance = n1 * n2 / 12 * ((n + 1) - float((ties**3 - ties).sum()) / (n * (n - 1)))
    if variance <= 0:  # every value the same: no evidence either way
        return RankTest(u1, 1.0, "normal")
    z = (abs(u1 - n1 * n2 / 2) - 0.5) / math.sqrt(variance)
    return RankTest(u1, min(1.0, math.erfc(z / math.sqrt(2))), "normal")


def _midranks(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ranks from 1, tied values sharing their mean rank; and the size of each tied group
    larger than one."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    sizes = np.diff(np.r_[starts, len(values)])
    mean_rank = starts + (sizes + 1) / 2  # ranks start + 1 .. start + size
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(mean_rank, sizes)
    return ranks, sizes[sizes > 1].astype(float)


def _u_counts(n1: int, n2: int) -> np.ndarray:
    """How many of the C(n1 + n2, n1) orderings give U = 0, 1, ..., n1 * n2.

    The largest value belongs to x (adding n2 to U, with n1 - 1 of x left) or to y (adding
    nothing): f(m, n) = f(m - 1, n) shifted by n, plus f(m, n - 1)."""
    table = {(0, n): np.ones(1) for n in range(n2 + 1)}
    for m in range(1, n1 + 1):  # a loop over group sizes
        table[(m, 0)] = np.ones(1)
        for n in range(1, n2 + 1):
            counts = np.zeros(m * n + 1)
            from_x = table[(m - 1, n)]
            counts[n : n + len(from_x)] += from_x
            from_y = table[(m, n - 1)]
            counts[: len(from_y)] += from_y
            table[(m, n)] = counts
    return table[(n1, n2)]
