"""Every stamp with those of rows sharing one spread at the rate, as regularize sees them."""

from __future__ import annotations

import numpy as np

from sleepmove.detection.grid import _spread_runs


def spread_shared_stamps(time_s: np.ndarray, rate: float) -> np.ndarray:
    """The stamps with those of samples sharing one (packet-level stamping) spread at the
    rate (grid._spread_runs); with nothing to spread, `time_s` itself."""
    repeats = np.flatnonzero(time_s[1:] == time_s[:-1]) + 1
    if len(repeats) == 0:
        return time_s
    in_run, run_stamps = _spread_runs(time_s, rate, repeats)
    spread = time_s.copy()
    spread[in_run] = run_stamps
    return spread
