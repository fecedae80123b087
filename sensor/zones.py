"""Time zones: local clock times (device files, CSVs without a zone) turned into instants.

Device files hold the device's local clock. A file that states its zone (GT3X `TimeZone`,
GENEActiv `Time Zone`) states a UTC offset: the device clock keeps it all recording, even
across a daylight-saving change, so one offset turns every sample into an instant. For a
file that states none, `--timezone` names the zone (IANA); its rules give the offset.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone, tzinfo

import numpy as np

from sleepmove.base.errors import InputError
from sleepmove.sensor.recording import CLOCK_NAIVE, CLOCK_UNIX, Recording


def check_zone(name: str) -> str:
    """The zone's name if it is an IANA name (or UTC); else one line saying so."""
    try:
        zone_info(name)
    except (ValueError, KeyError, OSError):
        raise InputError(
            "--timezone",
            f"unknown time zone {name!r}",
            expected="an IANA name such as Europe/Berlin, America/New_York or UTC",
        ) from None
    return name


def zone_info(name: str) -> tzinfo:
    """A tzinfo for an IANA name or a fixed offset written as +HH:MM."""
    fixed = re.fullmatch(r"([+-])(\d\d):(\d\d)", name)
    if fixed:
        sign = -1 if fixed[1] == "-" else 1
        return timezone(sign * timedelta(hours=int(fixed[2]), minutes=int(fixed[3])))
    from zoneinfo import ZoneInfo

    if not re.fullmatch(r"[A-Za-z0-9_+\-/]+", name) or name.startswith("/") or ".." in name:
        raise ValueError(name)  # ZoneInfo would read a path
    return ZoneInfo(name)


def offset_name(offset_s: float) -> str:
    """+HH:MM for an offset east of UTC in seconds."""
    sign = "-" if offset_s < 0 else "+"
    minutes = round(abs(offset_s) / 60)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


OFFSET_PATTERN = re.compile(r"([+-]?)\s*(\d{1,2}):?(\d\d)(?::(\d\d))?")


def parse_offset(text: str) -> float | None:
    """Seconds east of UTC from `-04:00:00`, `02:00:00`, `GMT -04:00`, `+0100`; else None."""
    match = OFFSET_PATTERN.search(text)
    return _seconds_east(match) if match else None


def _seconds_east(match: re.Match) -> float:
    seconds = int(match[2]) * 3600 + int(match[3]) * 60 + int(match[4] or 0)
    return float(-seconds if match[1] == "-" else seconds)


# The UTC offsets zones use: UTC-12:00 (Baker Island) to UTC+14:00 (Line Islands), in whole
# minutes. Past a day an offset cannot even be shown; past these it is damage.
OFFSET_RANGE_S = (-12 * 3600.0, 14 * 3600.0)


def stated_offset(path: str, field: str, text: str) -> float | None:
    """The offset a file states in `field` (as parse_offset), None if none can be read; one
    that no zone has (`+99:99`, `24:00:00`) refused in one line when the file is read, not
    when its clock times are written at the end of the analysis."""
    match = OFFSET_PATTERN.search(text)
    if match is None:
        return None
    offset = _seconds_east(match)
    if (
        int(match[3]) >= 60
        or int(match[4] or 0) != 0
        or not (OFFSET_RANGE_S[0] <= offset <= OFFSET_RANGE_S[1])
    ):
        raise InputError(
            path,
            f"{field} is {text[:20]!r}, a UTC offset that no time zone has",
            expected="an offset from -12:00 to +14:00 in whole minutes, such as -05:00 or +05:30",
        )
    return offset


def _offset_at(zone: tzinfo, local_s: float, fold: int = 0) -> float:
    """The zone's UTC offset, in seconds, at a local clock time (counted as if UTC); `fold`
    1: a time the clock shows twice (autumn) taken as its second showing."""
    moment = datetime(1970, 1, 1) + timedelta(seconds=float(local_s))
    return moment.replace(tzinfo=zone, fold=fold).utcoffset().total_seconds()


# How the warning of a CSV whose stated offsets change begins (time_column.offset_change_note):
# dropped where --timezone names the zone, which shows each time at its own offset.
OFFSET_CHANGE_NOTE = "the clock times state two UTC offsets,"


def apply_zone(recording: Recording, stated_offset_s: float | None, zone: str | None) -> Recording:
    """Local clock times made instants where a zone is known; `timezone` set for display.

    - Unix clocks are instants already: `zone` only says where to show them.
    - Naive clocks with an offset the file states: that offset, all recording.
    - Naive clocks with `--timezone`: the zone's offset at the first sample; if the zone
      changes its offset during the recording (daylight saving) and the times step by that
      change there, they followed the wall clock: the new offset from the step on.
      Without such a step, the clock is a device's and kept its first offset.
    """
    if zone is not None:
        check_zone(zone)  # an empty or unknown name: one line, whichever command passed it
    if recording.clock == CLOCK_UNIX:
        if zone is None:
            return recording
        kept = [w for w in recording.warnings if not w.startswith(OFFSET_CHANGE_NOTE)]
        return replace(recording, timezone=zone, warnings=kept)
    if recording.clock != CLOCK_NAIVE or len(recording.time_s) == 0:
        return recording
    if stated_offset_s is not None:
        time_s = recording.time_s - stated_offset_s
        shown = zone or offset_name(stated_offset_s)
        return replace(recording, time_s=time_s, clock=CLOCK_UNIX, timezone=shown)
    if zone is None:
        return recording
    info = zone_info(zone)
    local = recording.time_s
    first, last = float(local[0]), float(local[-1])
    # The last time as its second showing: a night that ends inside the hour shown twice
    # has lived through the change (the step back is checked for below).
    before, after = _offset_at(info, first), _offset_at(info, last, fold=1)
    time_s = local - before
    if after != before:
        change = after - before
        steps = np.diff(local)
        # A wall clock steps by the change (forward in spring, back in autumn) once.
        jumps = np.flatnonzero(np.abs(steps - change) < max(abs(change) * 0.01, 1.0))
        if len(jumps) == 1:
            time_s[jumps[0] + 1 :] -= change
            recording.warnings.append(
                f"the clock times follow the wall clock across a daylight-saving change "
                f"({offset_name(before)} to {offset_name(after)}): read as such"
            )
    return replace(recording, time_s=time_s, clock=CLOCK_UNIX, timezone=zone)
