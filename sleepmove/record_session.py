"""`record`'s session loop: one session per sensor, streaming until the end of the night or a
stop, with `recording.json` rewritten every second and written last on the way out."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sleepmove.base.atomic import write_file
from sleepmove.record_devices import Radio
from sleepmove.record_status import StatusLine, line
from sleepmove.sensor.recorder import SensorSession, SessionStats, iso_now, write_recording_json
from sleepmove.sensor.recording_files import CsvAppender, DiskFull, SpaceReserve
from sleepmove.sensor.registry import SensorFamily

if TYPE_CHECKING:
    from sleepmove.sensor.simulate_night import NightPlan


# What truth.json's events and gaps cover: one written while recording is the truth of a
# recording killed before its end (validate leaves out events past the recording's end).
TRUTH_COVERS_SO_FAR = (
    "written while recording: the events of the whole planned night, of which the recording "
    "holds those before its last sample; data_gaps_s as they were when it was written"
)
TRUTH_GAPS_UNLISTED = (
    "data_gaps_s left empty: recording.json lists only the first of many gaps, and validate "
    "then takes the analysis' data gaps, found in the CSV itself"
)
TRUTH_COVERS_FINAL = (
    "written when the recording ended: the events of the whole planned night, of which the "
    "recording holds those before its last sample; every data gap"
)


@dataclass
class Sensor:
    """One sensor of the night: how it is found, on which leg, and what it speaks."""

    wanted: str  # its name or address
    side: str  # "left", "right", or "" for one sensor
    family: SensorFamily


async def run_sessions(
    out: str,
    sensors: list[Sensor],
    radio: Radio,
    rate_hz: int,
    duration_s: float,
    stop: asyncio.Event,
    extra: dict,
    script: Callable[[], Awaitable] | None = None,
    *,
    tick: Callable[[list[SensorSession]], None] | None = None,
) -> dict:
    """Record until `duration_s` of the radio's clock has passed or `stop` is set. Returns
    the files, each sensor's stats and session, and the problems (one line each) that
    stopped writing; every sample written is kept whatever happens. `tick(sessions)` runs
    every second after recording.json is written (an emulated night's truth.json)."""
    start = radio.clock()
    deadline = start + duration_s
    reserve = SpaceReserve(out)
    status = StatusLine([s.side for s in sensors], radio.speed)
    sessions: list[SensorSession] = []
    writers, stats = [], []
    for sensor in sensors:  # a loop over sensors
        try:
            writer = CsvAppender(_csv_path(out, sensor))
        except DiskFull:  # the second leg's CSV: the first's stayed open, the 1 MB reserve too
            for made in writers:  # a loop over sensors
                try:
                    made.close()
                except DiskFull:
                    pass  # the error raised below is the one to say
            reserve.release()
            raise
        info = SessionStats(
            device=sensor.wanted,
            protocol=sensor.family.label,
            side=sensor.side,
            rate_hz=sensor.family.rate_for(rate_hz),
            range_g=sensor.family.range_g,
            start=iso_now(),
        )
        session = sensor.family.session(
            sensor.wanted,
            sensor.side,
            writer,
            info,
            radio.connect,
            radio.clock,
            # The radio takes turns on the adapter itself: a lock shared around the whole
            # of `connect` let a dead sensor's 10 s scans hold up the live one's reconnection.
            None,
            status.windows[sensor.side].add,
        )
        writer.tell = session._note
        session.rates_hz = sensor.family.rates_hz
        session.on_warning = _warning_line(status, sensor.side)
        # A scheduling hiccup of an emulated night lasts `speed` times longer.
        session.reanchor_s = 2.0 * max(radio.speed / 10, 1.0)
        sessions.append(session)
        writers.append(writer)
        stats.append(info)
    path = os.path.join(out, "recording.json")
    tasks = [asyncio.create_task(s.run(stop, deadline, start)) for s in sessions]
    if script is not None:
        asyncio.create_task(script())
    try:
        while not all(t.done() for t in tasks):
            await asyncio.sleep(1.0)
            stepped = getattr(radio.clock, "stepped_s", lambda: 0.0)()
            if abs(stepped) >= 1.0 or "host_clock_stepped_s" in extra:  # NTP, or by hand
                extra["host_clock_stepped_s"] = round(stepped, 1)  # kept up to date once told
            status.update(stats, extra)
            try:
                write_recording_json(path, stats, extra)
            except DiskFull:
                pass  # the CSV comes first; the last write below has the reserve
            if tick is not None:
                tick(sessions)
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        for session, writer in zip(sessions, writers):  # a loop over sensors
            try:
                writer.close()
            except DiskFull as error:  # the file removed after its last append: said now
                session.writing_failed(error)
        losses = _count_losses_to_the_end(sessions, start, deadline, radio)
        reserve.release()  # room for the last recording.json even on a full disk
        problems = [s.write_error for s in sessions if s.write_error]
        try:
            write_recording_json(path, stats, extra)
        except DiskFull as error:
            problems.append(f"{error}; it describes the recording as it was before")
        status.write(line(stats, status.live))  # the figures as they ended, losses to the end
        status.write("\n")
        for told in losses + _moved(sensors, writers, out):  # a loop over sensors
            status.write(f"sleepmove: {told}\n")
    return {
        "files": {s.side: w.path for s, w in zip(stats, writers)},
        "stats": stats,
        "sessions": sessions,
        "problems": problems,  # one line each: writing failed (disk full)
    }


def _warning_line(status: StatusLine, side: str) -> Callable[[str], None]:
    return lambda text: status.write(f"\nsleepmove: {side or 'sensor'}: {text}\n")


def _csv_path(out: str, sensor: Sensor) -> str:
    return os.path.join(out, f"{sensor.side or 'night'}.csv")


def _moved(sensors: list[Sensor], writers: list[CsvAppender], out: str) -> list[str]:
    """One line for each CSV written again beside a file made in its place (`-recovered-N`):
    said in recording.json only, the night's samples sat under a name nobody was told."""
    told = []
    for sensor, writer in zip(sensors, writers):  # a loop over sensors
        asked = _csv_path(out, sensor)
        if writer.path != asked:
            told.append(
                f"{sensor.side or 'sensor'}: {asked} was removed while recording and another "
                f"file made in its place: the recording is in {writer.path}"
            )
    return told


def _count_losses_to_the_end(
    sessions: list[SensorSession], start: float, deadline: float, radio: Radio
) -> list[str]:
    """Each sensor's loss from its last sample to the end of the recording (the stop, the
    end of --duration, or when its own recording stopped: a full disk), counted into its
    figures; one line for each sensor that lost any."""
    told = []
    for session in sessions:  # a loop over sensors
        ended = session.ended_s if session.ended_s is not None else radio.clock()
        lost = session.count_loss_to(min(ended, deadline), start)
        if lost is not None:
            told.append(f"{session.side or 'sensor'}: {lost}")
    return told


def plan_start(session: SensorSession, family: SensorFamily, emulator: Any) -> float | None:
    """When the emulated night's first sample was, on the recording's clock. A stamped
    sensor's offset already places its sample 0; an unstamped one's places the first sample
    it delivered, which was the emulator's `first_streamed`."""
    if session.offset_s is None:
        return None
    if family.stamped:
        return session.offset_s
    if emulator.first_streamed is None or session.anchor_s is None:
        return None
    # The line the recorder's timeline settles on, not where its first frame was placed:
    # that frame came late by however long the host took to take it (under load, 3 ms is
    # 1 s of a night played at 300 x; an emulator sends a block's samples at once), and the
    # samples after it were brought back to the host's time.
    return session.anchor_s - emulator.first_streamed / session.stats.rate_hz


def night_start(
    sessions: list[SensorSession], families: list[SensorFamily], emulators: list[Any]
) -> float | None:
    """`plan_start` by the first leg that has recorded: with the left sensor never found,
    the right leg's night had no truth.json (both legs play the same planned night)."""
    for session, family, emulator in zip(sessions, families, emulators):  # a loop over legs
        start = plan_start(session, family, emulator)
        if start is not None:
            return start
    return None


def write_truth(
    out: str,
    plan: NightPlan,
    scenario: str,
    seed: int,
    sessions: list[SensorSession],
    start_unix: float,
    final: bool = True,
) -> None:
    """The emulated night's truth, on the recording's clock, for `sleepmove validate`: the
    whole planned night's events, and the data gaps of `sessions` so far. Written as the
    night is recorded (a recording killed keeps the truth of what it holds) and last at the
    end; its `covers` says which."""
    from sleepmove.sensor.simulate import truth_record

    sides = [s.side for s in sessions]
    legs = sides if sides[0] else [""]
    files = {side or "single": f"{side or 'night'}.csv" for side in sides}
    sensors = {
        s.side or "single": {"start_offset_s": 0.0, "rate_hz": s.stats.rate_hz} for s in sessions
    }
    gaps = {
        s.side or "single": [[a - start_unix, b - start_unix] for a, b in s.stats.gaps]
        for s in sessions
    }
    unlisted = any(s.stats.gaps_unlisted for s in sessions)
    if unlisted:  # a partial list would score the events in the others as missed
        gaps = {}
    truth = truth_record(plan, legs, start_unix, files, sensors, gaps, scenario, seed)
    truth["covers"] = TRUTH_COVERS_FINAL if final else TRUTH_COVERS_SO_FAR
    if unlisted:
        truth["covers"] += f"; {TRUTH_GAPS_UNLISTED}"
    write_file(os.path.join(out, "truth.json"), json.dumps(truth, indent=1))  # never half


def truth_keeper(
    out: str,
    plan: NightPlan,
    scenario: str,
    seed: int,
    families: list[SensorFamily],
    emulators: list[Any],
) -> Callable[[list[SensorSession]], None]:
    """`run_sessions`' tick for an emulated night: truth.json written once the night's start
    is known (the first samples), again whenever the start or a data gap changes, so that a
    recording killed (kill -9) keeps the truth of what it holds, up to its last second."""
    written: list[tuple[float, list[int]]] = []  # what the truth.json on disk was made of

    def keep(sessions: list[SensorSession]) -> None:
        start = night_start(sessions, families, emulators)
        if start is None:
            return
        state = (start, [(len(s.stats.gaps), s.stats.gaps_unlisted > 0) for s in sessions])
        if written and written[0] == state:
            return
        try:
            write_truth(out, plan, scenario, seed, sessions, start, final=False)
        except OSError:
            return  # tried again next second; the write at the end reports a failure
        written[:] = [state]

    return keep
