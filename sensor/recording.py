"""The uniform sample stream every reader and the recorder produce."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sleepmove.base.clock import CLOCK_NAIVE, CLOCK_RELATIVE, CLOCK_UNIX

__all__ = ["CLOCK_NAIVE", "CLOCK_RELATIVE", "CLOCK_UNIX", "LONGEST_NIGHT_H", "Recording"]

LONGEST_NIGHT_H = 30.0  # a recording longer than this holds several nights


@dataclass
class Recording:
    """Samples of one sensor: times in seconds and acceleration in g.

    `time_s` is seconds since 1970-01-01 for `unix` and `naive` clocks (naive times are
    counted as if they were UTC and printed back without a zone) and seconds from the
    start for `relative` clocks. `timezone` (an IANA name or +HH:MM) is where `unix`
    clock times are shown; None: the computer's own zone. `time_of_day`: a `relative`
    clock read from clock times without a date, its seconds counted from the midnight
    before the first (on past midnight): a clock-time sleep window falls by them, and two
    such files are put side by side by them.
    """

    path: str
    time_s: np.ndarray
    xyz_g: np.ndarray
    clock: str
    units_in: str
    nominal_rate_hz: float | None = None
    warnings: list[str] = field(default_factory=list)
    timezone: str | None = None
    time_of_day: bool = False

    @property
    def duration_s(self) -> float:
        return float(self.time_s[-1] - self.time_s[0]) if len(self.time_s) > 1 else 0.0
