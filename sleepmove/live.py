"""Movements found in the last minutes of a recording, by the same code as `analyze`."""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np

from sleepmove.detection.grid import regularize
from sleepmove.detection.movements import detect_movements
from sleepmove.detection.params import AnalysisParameters
from sleepmove.detection.scoring import SERIES_KINDS, score_units
from sleepmove.detection.table import Table

WINDOW_S = 600.0


class LiveWindow:
    """The last ten minutes of one sensor's samples (chunks joined only when analyzed)."""

    def __init__(self) -> None:
        self.chunks: list[tuple[np.ndarray, np.ndarray]] = []

    def add(self, times: np.ndarray, xyz: np.ndarray) -> None:
        self.chunks.append((times, xyz))
        if len(self.chunks) > 4096:  # bound memory when nobody looks for a long while
            self.arrays()

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if not self.chunks:
            return np.empty(0), np.empty((0, 3))
        times = np.concatenate([c[0] for c in self.chunks])
        xyz = np.vstack([c[1] for c in self.chunks])
        keep = times >= times[-1] - WINDOW_S
        times, xyz = times[keep], xyz[keep]
        self.chunks = [(times, xyz)]
        return times, xyz


class LiveView:
    """`live_summary` that can never stop a recording: whatever it raises is counted, told
    once per distinct message, and the night goes on without a live view until it works."""

    MAX_MESSAGES = 20  # a detector failing differently every time must not fill memory

    def __init__(
        self,
        windows: dict[str, LiveWindow],
        tell: Callable[[str], None] | None = None,
    ) -> None:
        self.windows = windows
        self.tell = tell or _to_stderr
        self.errors: dict[str, int] = {}  # message -> times it happened

    def update(self) -> dict | None:
        try:
            return live_summary(self.windows)
        except Exception as error:  # the live view is a nicety; the recording is the point
            message = f"{type(error).__name__}: {error}"[:200]
            if message in self.errors:
                self.errors[message] += 1
            elif len(self.errors) < self.MAX_MESSAGES:
                self.errors[message] = 1
                self.tell(f"live view failed ({message}); recording goes on")
            return None


def _to_stderr(line: str) -> None:
    sys.stderr.write(f"\nsleepmove: {line}\n")
    sys.stderr.flush()


def live_summary(
    windows: dict[str, LiveWindow], params: AnalysisParameters | None = None
) -> dict | None:
    """Jerks per minute, LMs and the current PLM series length over the window."""
    params = params or AnalysisParameters()
    arrays = {side: w.arrays() for side, w in windows.items()}
    usable = {
        side: (t, xyz) for side, (t, xyz) in arrays.items() if len(t) > 2 and t[-1] - t[0] >= 120
    }
    if not usable:
        return None
    grids = {
        side: regularize(t, xyz, params.detection.max_gap_bridged_s)
        for side, (t, xyz) in usable.items()
    }
    origin = min(g.start_s for g in grids.values())
    events, _ = detect_movements(grids, origin, params.detection, params.rules)
    if len(events) == 0:
        return {"minutes": _minutes(grids), "jerks_per_min": 0.0, "lms": 0, "series_length": 0}
    gaps = [g.gaps_s.reshape(-1, 2) - origin for g in grids.values()]
    units = live_units(events, gaps, len(grids) == 2, params)
    series = units["series"][np.isin(units["kind"], SERIES_KINDS)]
    current = 0
    if len(series) and series[-1] >= 0:
        current = int((series == series[-1]).sum())
    minutes = _minutes(grids)
    return {
        "minutes": minutes,
        "jerks_per_min": float((units["kind"] == "jerk").sum() / minutes),
        "lms": int((units["kind"] == "lm").sum()),
        "series_length": current,
    }


def live_units(
    events: Table, gaps_s: list[np.ndarray], two_legs: bool, params: AnalysisParameters
) -> Table:
    """The window's events scored as `analyze` scores a night; `gaps_s`: each leg's data
    gaps from the origin (score_units joins them, as the pipeline does for a night)."""
    gaps = np.concatenate([g.reshape(-1, 2) for g in gaps_s]) if gaps_s else np.empty((0, 2))
    return score_units(events, params.rules, gaps, two_legs, params.detection.series_break_gap_s)


def _minutes(grids) -> float:
    return max(max(g.end_s - g.start_s for g in grids.values()) / 60, 1e-9)
