"""Clock times for output: local time with offset for absolute clocks, as written for naive ones."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np

CLOCK_UNIX, CLOCK_NAIVE, CLOCK_RELATIVE = "unix", "naive", "relative"


def iso_times(seconds_from_origin: np.ndarray, origin_s: float, clock: str) -> list[str]:
    """ISO-8601 to the millisecond; empty strings when the recording has no clock."""
    values = np.asarray(seconds_from_origin, dtype=np.float64)
    if clock == CLOCK_RELATIVE:
        return [""] * len(values)
    millis = np.round((origin_s + values) * 1000).astype("int64")
    return [_iso(int(ms), clock) for ms in millis]  # a loop over events


def _iso(millis: int, clock: str) -> str:
    moment = datetime.fromtimestamp(millis / 1000, tz=timezone.utc)
    if clock == CLOCK_UNIX:
        # Local time with its offset, looked up for this instant (daylight saving moves it).
        return moment.astimezone().isoformat(timespec="milliseconds")
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds")


def iso_time(seconds_from_origin: float, origin_s: float, clock: str) -> str | None:
    text = iso_times(np.array([seconds_from_origin]), origin_s, clock)[0]
    return text or None
