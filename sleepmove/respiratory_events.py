"""A sleep study's respiratory events for the rules' respiratory exclusion (--respiratory-events).

Read with the reference readers (CSV, EDF+ annotations, NSRR/Compumedics XML: events labelled
apnea, hypopnea, RERA or respiratory event; sensor.annotations.LABELS) and placed on the
recording's clock as `validate` places a reference.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from sleepmove.base.errors import InputError
from sleepmove.sensor.annotations import read_reference

EXPECTED = (
    "a sleep study's events labelled apnea, hypopnea or RERA (CSV of onset,duration,type; "
    "EDF+ annotations; NSRR XML)"
)


def respiratory_events(path: str, origin_s: float, start: str | None) -> np.ndarray:
    """(start, end) seconds from the recording's first sample of each respiratory event in
    `path`; `start` is that sample's ISO time (None: the recording has no clock)."""
    if start is not None:
        offset = datetime.fromisoformat(start).utcoffset()
        reference = read_reference(
            path, start_s=origin_s, utc_offset_s=offset.total_seconds() if offset else 0.0
        )
        origin = origin_s
    else:
        reference = read_reference(path, start_s=0.0)
        if reference.counted_from is None:
            raise InputError(
                path,
                "gives clock times but the recording has none",
                expected="onsets in seconds from the start, or a recording with clock times",
            )
        origin = reference.counted_from
    events = reference.events[reference.events["kind"] == "respiratory"]
    if not len(events):
        raise InputError(path, "holds no respiratory event", expected=EXPECTED)
    onsets = events["onset_abs_s"].to_numpy(float) - origin
    return np.column_stack([onsets, onsets + events["duration_s"].to_numpy(float)])
