"""Clock times for output: local time with offset for absolute clocks, as written for naive ones."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo

import numpy as np

from sleepmove.base.clock import CLOCK_RELATIVE, CLOCK_UNIX


class ZonedClock(str):
    """An absolute clock ("unix") shown in a given zone (an IANA name or +HH:MM).

    A str equal to "unix": everything that compares or writes the kind of clock works as
    before; only the clock times printed from it carry that zone's offset instead of the
    computer's."""

    zone: str

    def __new__(cls, kind: str, zone: str) -> ZonedClock:
        clock = super().__new__(cls, kind)
        clock.zone = zone
        return clock

    def __reduce__(self) -> tuple:  # pickled whole (batch workers), zone included
        return ZonedClock, (str(self), self.zone)


def zoned(clock: str, zone: str | None) -> str:
    """`clock` shown in `zone` where it is absolute and a zone is given; else as it is."""
    return ZonedClock(clock, zone) if zone and clock == CLOCK_UNIX else clock


def display_zone(clock: str) -> tzinfo | None:
    """The zone a clock's times are shown in; None: the computer's own."""
    name = getattr(clock, "zone", None)
    if name is None:
        return None
    fixed = re.fullmatch(r"([+-])(\d\d):(\d\d)", name)
    if fixed:
        sign = -1 if fixed[1] == "-" else 1
        return timezone(sign * timedelta(hours=int(fixed[2]), minutes=int(fixed[3])))
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def iso_times(seconds_from_origin: np.ndarray, origin_s: float, clock: str) -> list[str]:
    """ISO-8601 to the millisecond; empty strings when the recording has no clock."""
    values = np.asarray(seconds_from_origin, dtype=np.float64)
    if clock == CLOCK_RELATIVE:
        return [""] * len(values)
    millis = np.round((origin_s + values) * 1000).astype("int64")
    zone = display_zone(clock)
    return [_iso(int(ms), clock, zone) for ms in millis]  # a loop over events


def _iso(millis: int, clock: str, zone: tzinfo | None = None) -> str:
    moment = datetime.fromtimestamp(millis / 1000, tz=timezone.utc)
    if clock == CLOCK_UNIX:
        # Local time with its offset, looked up for this instant (daylight saving moves it):
        # in the recording's zone if known, else the computer's.
        return moment.astimezone(zone).isoformat(timespec="milliseconds")
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds")


def iso_time(seconds_from_origin: float, origin_s: float, clock: str) -> str | None:
    text = iso_times(np.array([seconds_from_origin]), origin_s, clock)[0]
    return text or None
