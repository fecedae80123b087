"""Parse --sleep-window: clock times HH:MM, ISO datetimes, or seconds from the start."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import numpy as np

from sleepmove.base.clock import CLOCK_NAIVE, CLOCK_RELATIVE, CLOCK_UNIX
from sleepmove.base.errors import InputError
from sleepmove.reports.clock import display_zone

WHERE = "--sleep-window"
EXPECTED = "START,END as HH:MM, ISO datetimes or seconds from the start, e.g. 23:00,07:00"


def parse_sleep_window(
    text: str, origin_s: float, clock: str, time_of_day: bool = False
) -> tuple[float, float]:
    """(start, end) in seconds from the recording's first sample. `time_of_day`: a
    `relative` clock whose `origin_s` is seconds from a midnight (clock times without a
    date): HH:MM falls by it, a date cannot."""
    parts = [part.strip() for part in text.split(",")]
    if len(parts) != 2 or not all(parts):
        raise InputError(WHERE, f"cannot read {text!r}", expected=EXPECTED)
    start = _one(parts[0], origin_s, clock, None, time_of_day)
    end = _one(parts[1], origin_s, clock, start, time_of_day)
    if end <= start:
        raise InputError(
            WHERE, f"the end {parts[1]!r} is not after the start {parts[0]!r}", expected=EXPECTED
        )
    if all(re.fullmatch(r"\d{1,2}:\d{2}(:\d{2})?", part) for part in parts):
        check_clock_span(end - start, parts[0], parts[1], WHERE)
    return start, end


LONGEST_CLOCK_WINDOW_H = 20  # a night in bed given as two clock times


def check_clock_span(
    span_s: float, lights_out: str, lights_on: str, path: str, where: str | None = None
) -> None:
    """Lights on as a clock time is the first such time after lights out: 23:00,22:00 was
    read as 23 hours in bed, not refused as lights on before lights out."""
    if span_s > LONGEST_CLOCK_WINDOW_H * 3600:
        raise InputError(
            path,
            f"lights on {lights_on} comes {span_s / 3600:.0f} h after lights out "
            f"{lights_out}: lights on before lights out?",
            where,
            f"lights out, then lights on within {LONGEST_CLOCK_WINDOW_H} h (dates, for a "
            "longer window)",
        )


def dated_night(
    text: str, clock: str = CLOCK_NAIVE, zone: str | None = None, noon_hour: int = 12
) -> str | None:
    """The night a window's lights out falls in, where it is an ISO datetime, named and cut
    as a multi-day file's nights are (sensor.split.night_of, with the `clock` and `zone` its
    slices were cut by). A time with its offset is that instant where the clock is Unix time
    or a zone is named (--timezone: local times are read in it), read in `zone` (None: the
    computer's); a local time is the clock's as written. None for clock times and seconds
    from the start, which every night has."""
    from sleepmove.sensor.split import night_name, night_of

    lights_out = text.split(",")[0].strip()
    if not re.match(r"\d{4}-\d{2}-\d{2}", lights_out):
        return None
    try:
        moment = datetime.fromisoformat(lights_out.replace("Z", "+00:00"))
    except ValueError:
        return None  # refused with its line where the window is read
    if moment.tzinfo is not None and (clock == CLOCK_UNIX or zone is not None):
        seconds, clock = moment.timestamp(), CLOCK_UNIX
    else:  # the wall clock as written, counted as if UTC (a naive clock's seconds)
        wall = moment.replace(tzinfo=None) - datetime(1970, 1, 1)
        seconds, clock = wall.total_seconds(), CLOCK_NAIVE
    return night_name(night_of(np.array([seconds]), clock, noon_hour, zone)[0])


def check_within(window: tuple[float, float], duration_s: float, text: str) -> None:
    """Refuse a sleep window wholly outside the recording (another date, a typo): it would
    score no sleep at all and say only "no sleep was found"."""
    start, end = window
    if end <= 0 or start >= duration_s:
        when = "ends before the recording starts" if end <= 0 else "starts after the recording ends"
        raise InputError(
            WHERE,
            f"{text!r} {when} ({duration_s / 3600:.2f} h recorded)",
            expected="lights out and on within the recording",
        )


def refuse_seconds_before_start(text: str) -> None:
    """Negative seconds, as a sleep log's: the night would start before its data."""
    if re.fullmatch(r"-\d+(\.\d+)?", text):
        raise InputError(
            WHERE,
            f"{text!r} is seconds before the recording starts",
            expected="seconds from the start, 0 or more (or HH:MM, an ISO datetime)",
        )


def _one(text: str, origin_s: float, clock: str, after: float | None, time_of_day: bool) -> float:
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        refuse_seconds_before_start(text)
        return float(text)
    match = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", text)
    if clock == CLOCK_RELATIVE and time_of_day and not match:
        raise InputError(
            WHERE,
            f"{text!r} given but the recording has clock times without a date",
            expected="HH:MM or seconds from the start",
        )
    if clock == CLOCK_RELATIVE and not time_of_day:
        raise InputError(
            WHERE,
            f"clock time {text!r} given but the recording has no clock time",
            expected="seconds from the start",
        )
    # A time of day's seconds from its midnight are a naive clock's on its first day.
    origin = _as_datetime(origin_s, CLOCK_NAIVE if time_of_day else clock)
    if match:
        hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
        if hour > 23 or minute > 59 or second > 59:
            raise InputError(WHERE, f"not a clock time: {text!r}", expected=EXPECTED)
        candidate = origin.replace(hour=hour, minute=minute, second=second, microsecond=0)
        floor = after if after is not None else -12 * 3600.0
        # The first such time after the start (or after START): a day on the wall clock,
        # which across a daylight-saving change is 23 or 25 hours.
        while _seconds_between(candidate, origin) < floor:
            candidate += timedelta(days=1)
        _refuse_skipped(candidate, text)
        return _seconds_between(candidate, origin)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(WHERE, f"not a time: {text!r}", expected=EXPECTED) from None
    if clock == CLOCK_UNIX and moment.tzinfo is None:
        # A zone-less time means the recording's clock (its zone, else the computer's).
        zone = display_zone(clock)
        moment = moment.replace(tzinfo=zone) if zone else moment.astimezone()
    if clock == CLOCK_NAIVE and moment.tzinfo is not None:
        moment = moment.replace(tzinfo=None)
    return _seconds_between(moment, origin)


def _refuse_skipped(moment: datetime, text: str) -> None:
    """Refuse a clock time the zone's clock skips that night (02:30 when daylight saving
    starts at 02:00): it was read as 03:30, and lights on 03:20 then came a day later
    ("lights on before lights out?")."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        return
    shown = moment.astimezone(timezone.utc).astimezone(moment.tzinfo)
    if shown.replace(tzinfo=None) != moment.replace(tzinfo=None):
        raise InputError(
            WHERE,
            f"{text} is not on the clock on {moment.date()}: daylight saving skips it",
            expected="a clock time the night has (the hour after the change), or an ISO time "
            "with its offset",
        )


def _seconds_between(moment: datetime, origin: datetime) -> float:
    """Seconds from `origin` to `moment` as instants. Python subtracts two datetimes of the
    same zone as wall-clock times: across a daylight-saving change 03:15 came an hour late
    (lights on 03:15 in Europe/Berlin on the spring night read as 04:15 +02:00)."""
    if moment.tzinfo is not None and origin.tzinfo is not None:
        return moment.timestamp() - origin.timestamp()
    return (moment - origin).total_seconds()


def _as_datetime(origin_s: float, clock: str) -> datetime:
    if clock == CLOCK_UNIX:
        return datetime.fromtimestamp(origin_s, tz=timezone.utc).astimezone(display_zone(clock))
    return datetime(1970, 1, 1) + timedelta(seconds=origin_s)  # naive: the clock as written
