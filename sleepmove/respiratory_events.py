"""A sleep study's respiratory events for the rules' respiratory exclusion (--respiratory-events).

Read with the reference readers (CSV, EDF+ annotations, NSRR/Compumedics XML: events labelled
apnea, hypopnea, RERA or respiratory event; sensor.annotations.LABELS) and placed on the
recording's clock as `validate` places a reference: none within the recording is refused,
those outside it are warned of.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from sleepmove.base.errors import InputError
from sleepmove.base.words import how_many
from sleepmove.sensor.annotations import read_reference

EXPECTED = (
    "a sleep study's events labelled apnea, hypopnea or RERA, with their durations (a CSV "
    "of onset,duration,type; EDF+ annotations; NSRR XML)"
)


def respiratory_events(
    path: str, origin_s: float, start: str | None, duration_s: float, warnings: list[str]
) -> np.ndarray:
    """(start, end) seconds from the recording's first sample of each respiratory event in
    `path` that overlaps the recording (`duration_s` long); `start` is that sample's ISO
    time (None: the recording has no clock)."""
    try:
        events, origin = _events(path, origin_s, start)
    except InputError as error:  # said as a file of respiratory events, not a reference
        said = error.expected if error.expected and "reference" not in error.expected else None
        raise InputError(path, error.problem, error.where, said or EXPECTED) from None
    if not len(events):
        raise InputError(path, "holds no respiratory event", expected=EXPECTED)
    durations = events["duration_s"].to_numpy(float)
    if not durations.any():
        raise InputError(
            path,
            "gives no durations: the rules' window lies about each event's end",
            expected=EXPECTED,
        )
    spans = respiratory_spans(events, origin)
    inside = (spans[:, 1] > 0) & (spans[:, 0] < duration_s)
    if not inside.any():
        raise InputError(
            path,
            f"none of its {how_many(len(spans), 'respiratory event')} falls within the "
            f"recording ({duration_s / 3600:.2f} h): they lie {spans[0, 0] / 3600:+.3g} h to "
            f"{spans[-1, 0] / 3600:+.3g} h from its start",
            expected="the sleep study of this night, on the same clock",
        )
    if not inside.all():
        warnings.append(
            f"{path}: {how_many(int((~inside).sum()), 'respiratory event')} of "
            f"{len(spans)} fall outside the recording: left out"
        )
    return spans[inside]


def respiratory_spans(events: pd.DataFrame, origin_s: float) -> np.ndarray:
    """(start, end) seconds from `origin_s` of a reference's respiratory events."""
    onsets = events["onset_abs_s"].to_numpy(float) - origin_s
    return np.column_stack([onsets, onsets + events["duration_s"].to_numpy(float)])


def _events(path: str, origin_s: float, start: str | None) -> tuple:
    """The file's respiratory events and the absolute time they count from."""
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
    return events.sort_values("onset_abs_s", kind="stable"), origin
