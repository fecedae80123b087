"""What a simulator's truth lists as data gaps: every hole in the written file longer than the
analysis bridges (1 s, the grid's `max_gap_bridged_s` default), whatever made it: a lost
connection, or a short loss that packet boundaries and the link's delays stretched past a
second.

One definition for every family: a truth that listed only its planned disconnections scored
its PLM series straight across holes that end a series in the analysis (and by the rules:
a gap in the data ends a series), so the same detection read as 16-24 % too few PLMs.
"""

from __future__ import annotations

import numpy as np

from sleepmove.base.clock import STAMP_ROUNDING_S
from sleepmove.sensor.simulate_clock import ClockError

BRIDGED_S = 1.0


def data_gaps(
    stamps: np.ndarray,
    times: np.ndarray,
    night_s: float,
    clock: ClockError | None = None,
    limit_s: float = BRIDGED_S,
) -> list[list[float]]:
    """Spans between written rows whose stamps (as the file holds them, seconds from the
    night's start) are more than `limit_s` apart, in true time (`times`: each written row's),
    the night's end after the last row, and the samples a `clock` reset lost, as
    truth.json's data gaps. By the stamps: the analysis sees the file, and a link's delays
    stretch a 0.9 s loss past a second there."""
    lost = [clock.lost_span()] if clock is not None and clock.lost_span() else []
    if len(times) == 0:
        return [[0.0, float(night_s)]]
    # As the file writes them (ms), with the analysis's allowance for rounding: a step of
    # exactly 1.000 s is bridged.
    jumps = np.flatnonzero(np.diff(np.round(stamps, 3)) > limit_s + STAMP_ROUNDING_S)
    gaps = [[round(float(times[i]), 3), round(float(times[i + 1]), 3)] for i in jumps]
    if times[-1] < night_s - limit_s:
        gaps.append([round(float(times[-1]), 3), round(float(night_s), 3)])
    return sorted(gaps + lost)
