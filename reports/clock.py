"""Clock times for output: local time with offset for absolute clocks, as written for naive ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
from dateutil import tz

CLOCK_UNIX, CLOCK_NAIVE, CLOCK_RELATIVE = "unix", "naive", "relative"


def iso_times(seconds_from_origin: np.ndarray, origin_s: float, clock: str) -> list[str]:
    """ISO-8601 to the millisecond; empty strings when the recording has no clock."""
    values = np.asarray(seconds_from_origin, dtype=np.float64)
    if clock == CLOCK_RELATIVE or len(values) == 0:
        return [""] * len(values)
    stamps = pd.to_datetime(np.round((origin_s + values) * 1000).astype("int64"), unit="ms")
    if clock == CLOCK_UNIX:
        local = stamps.tz_localize("UTC").tz_convert(tz.tzlocal())
        text = local.strftime("%Y-%m-%dT%H:%M:%S.%f%z")
        return [f"{t[:23]}{t[26:29]}:{t[29:]}" for t in text]
    return [t[:23] for t in stamps.strftime("%Y-%m-%dT%H:%M:%S.%f")]


def iso_time(seconds_from_origin: float, origin_s: float, clock: str) -> str | None:
    text = iso_times(np.array([seconds_from_origin]), origin_s, clock)[0]
    return text or None
