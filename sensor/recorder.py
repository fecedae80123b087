"""Record a night from a BLE sensor: reconnect forever, lose nothing, write as you go.

Each sensor's samples are put on the host's clock and written as they come
(`recording_files`: the append-only CSV, fsynced every second).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

import numpy as np

from sleepmove.base.atomic import write_file
from sleepmove.base.interrupt import unless_first
from sleepmove.sensor.protocols._common import Decoded, Decoder
from sleepmove.sensor.recording_files import CsvAppender, DiskFull

BATTERY_LEVEL = "00002a19-0000-1000-8000-00805f9b34fb"
FIRMWARE_REVISION = "00002a26-0000-1000-8000-00805f9b34fb"

# recording.json lists this many gaps of a sensor, then counts the rest: a link flapping all
# night made ~11,500 (0.4 MB rewritten every second).
GAPS_LISTED = 100
# A link's delivered rate is measured over this much host time (and 15 times its jitter,
# `reanchor_s`, which grows with an emulated night's speed); off by more than RATE_OFF times
# the rate in use, it is no loss or burst of the link but a rate the sensor did not take.
RATE_WINDOW_S = 30.0
RATE_OFF = 1.5
# An unstamped sensor's late frames are held at most this many x `reanchor_s` of host time
# while a backlog drains (SensorSession.release_if_settled).
HOLD_LIMIT = 10
# ...but none stays unwritten longer than this: held frames are in memory only, and a kill -9
# or a power cut lost them (18 s of a night after a 2-s host stall) where the README promises
# at most the last second. They are then written where they were due (as if delayed), the
# run judged as before: a loss found later is placed after the frames written by then.
HOLD_MOST_S = 0.5
# How fast a sensor's clock may run off the host's and be told from a jump: crystals keep
# 20-200 ppm, Bluetooth's sleep clock may be 500 ppm off.
DRIFT_MOST = 1e-3
# An unstamped sensor's real rate is read from when its frames arrive: the least delay in each
# bucket of FIT_BUCKET_S (5 x reanchor_s when longer), FIT_BUCKETS or more of them on one
# line within 1 % of reanchor_s (a lost frame steps off it) time its samples, when the line
# gives the rate to RATE_ERROR_MOST and within CLOCK_OFF of the rate it runs at (a clock
# that far off, not a rate setting the sensor did not take).
FIT_BUCKET_S = 10.0
FIT_BUCKETS = 6
# A rate below the one it runs at is what frames lost at a steady pace show too: a few
# buckets may each lose the same number of frames by chance (one 4-hour night in four
# took 48.5 Hz for a 49 Hz sensor losing 2 %), 30 in a row do not.
SLOW_BUCKETS = 30
CLOCK_OFF = 0.05
# At the end of the night the link still holds the last samples (a Verity Sense sends every
# 1.5 s; a host that stalled sends a backlog after it): they are waited for, this many
# seconds of real time at most, before the stream is stopped. Stopped at once, a half-second
# stall of an emulated night at 100 x lost its last minute.
END_DRAIN_S = 3.0
RATE_ERROR_MOST = 1e-4  # a rate known to 0.36 s an hour or better, else none is taken


def _ticks() -> float:
    """Seconds from a clock no one sets: CLOCK_BOOTTIME where there is one (it goes on
    through a suspend), else the monotonic clock."""
    if hasattr(time, "CLOCK_BOOTTIME"):
        return time.clock_gettime(time.CLOCK_BOOTTIME)
    return time.monotonic()


class HostClock:
    """The host's time for a recording: the wall clock at the start, then the time that
    passed. NTP stepping the wall clock mid-night (a Raspberry Pi without a real-time clock
    whose network comes up late) moved every later sample with it: an unstamped sensor's
    samples, re-anchored to the host, went an hour back and were dropped as repeats, or
    an hour forward as a loss that never was. `stepped_s` says how far the wall clock has
    moved away since the start."""

    def __init__(self) -> None:
        self.start, self.origin = time.time(), _ticks()

    def __call__(self) -> float:
        return self.start + (_ticks() - self.origin)

    def stepped_s(self) -> float:
        return time.time() - self()


class Line:
    """A straight line fitted to points given one at a time (least squares), about the
    first point: the sums stay small all night."""

    def __init__(self) -> None:
        self.n = 0
        self.origin = (0.0, 0.0)
        self.sums = [0.0] * 5  # t, y, t*t, t*y, y*y

    def add(self, t: float, y: float) -> None:
        if self.n == 0:
            self.origin = (t, y)
        t, y = t - self.origin[0], y - self.origin[1]
        self.n += 1
        for index, value in enumerate((t, y, t * t, t * y, y * y)):  # a loop over 5 sums
            self.sums[index] += value

    def _centred(self) -> tuple[float, float, float]:
        st, sy, stt, sty, syy = self.sums
        return stt - st * st / self.n, sty - st * sy / self.n, syy - sy * sy / self.n

    def slope(self) -> float:
        tt, ty, _ = self._centred()
        return ty / tt if tt > 0 else 0.0

    def slope_error(self) -> float:
        """The slope's standard error (infinite below 3 points)."""
        tt, ty, yy = self._centred()
        if self.n < 3 or tt <= 0:
            return float("inf")
        return (max(yy - ty * ty / tt, 0.0) / (self.n - 2) / tt) ** 0.5

    def off(self, t: float, y: float) -> float:
        """How far (t, y) lies above the line."""
        st, sy = self.sums[:2]
        t, y = t - self.origin[0], y - self.origin[1]
        return y - (sy / self.n + self.slope() * (t - st / self.n))


@dataclass
class SessionStats:
    device: str
    protocol: str
    side: str
    rate_hz: int
    range_g: int
    start: str = ""
    state: str = "searching"
    samples: int = 0
    frames: int = 0
    bad_frames: int = 0
    reconnections: int = 0
    data_loss_s: float = 0.0
    gaps: list = field(default_factory=list)  # the first GAPS_LISTED, and the one to the end
    gaps_unlisted: int = 0  # gaps past those listed, counted in data_loss_s all the same
    delivered_rate_hz: float | None = None  # samples a second the last link delivered
    battery_percent: int | None = None
    firmware: str | None = None
    messages: list = field(default_factory=list)
    message_counts: dict = field(default_factory=dict)
    messages_dropped: int = 0


# Real seconds without a notification, while linked, after which a stream that should run
# steadily is started again (a sensor that notifies only on change says it does not)
QUIET_RESTART_S = 15.0
IMPOSSIBLE_RANGE_SHARE = 2.0  # samples past twice the range set are no measurement
MESSAGES = 200  # distinct messages kept...
FRAME_MESSAGES = 100  # ...of them, of bad frames at most


class SensorSession:
    """One sensor through bleak: configure, stream, and reconnect with back-off, forever.

    Each family's module subclasses it (`sensor/protocols/`): `_configure` starts the stream
    (and makes `self.decoder`, fresh for each link), `_stop_stream` ends it; notifications go
    through `_on_data` (the decoder, then `_deliver`).
    """

    decoder: Decoder
    streams_steadily = True  # frames come all the time (not only when the limb moves)

    def __init__(
        self,
        address: str,
        side: str,
        writer: CsvAppender,
        stats: SessionStats,
        connect: Callable,
        clock: Callable[[], float] | None = None,
        connect_lock: asyncio.Lock | None = None,
        on_samples: Callable[[np.ndarray, np.ndarray], None] | None = None,
    ) -> None:
        self.address = address
        self.side = side
        self.writer = writer
        self.stats = stats
        self.connect = connect  # address, disconnected callback -> BleakClient (not connected)
        self.clock = clock or HostClock()
        self.offset_s: float | None = None  # host time minus sensor time
        self.count = 0  # samples so far: the clock of sensors that send no stamps
        self.reanchor_s = 2.0  # how far that clock may part from the host's before it is reset
        self.reanchor_next = False  # the next stamped frame may re-anchor a clock that jumped
        self.jump_seen = False  # ...judged to have jumped while linked (`_untimed`)
        self.untimed_since: float | None = None  # frames whose stamps fit nowhere, since
        self.untimed_frames = self.placed_frames = 0  # ...and how many of each came since
        # How far ahead of the host the mapping places frames that came at once: the first
        # frame's delay, and the drift of the sensor's clock since (the largest departure
        # over the last one or two windows of RATE_WINDOW_S, and when a frame was placed).
        self.leads = [0.0, 0.0]
        self.lead_since = 0.0
        self.placed_at: float | None = None
        self.last_time: float | None = None
        self.lost = asyncio.Event()
        self.control_replies: asyncio.Queue = asyncio.Queue()
        self.frame_seen = time.monotonic()  # when a notification last came (real seconds)
        self.quiet_s = QUIET_RESTART_S
        self.frame_messages = 0  # distinct bad-frame messages noted
        self.connect_lock = connect_lock or asyncio.Lock()
        self.on_samples = on_samples  # the live view's copy of what was written
        self.disk_full = False
        self.write_error: str | None = None  # why writing stopped (disk full), in one line
        self.started_s: float | None = None  # when its recording began, on `clock`
        self.ended_s: float | None = None  # when its recording ended, on `clock`
        self.rate_hz = float(stats.rate_hz)  # what times its samples: the rate it delivers
        self.nominal_hz = self.rate_hz  # the rate it runs at: the one set, or one it delivers
        self.clean_hz: float | None = None  # its real rate at the one set, where measured
        # An unstamped sensor's first sample, where the timeline its samples settle on puts
        # it: the earliest of each frame's placement less the samples delivered before at
        # the rate set. The first frame's own placement is late by however long the host
        # took to take it, and later frames are brought back from it; samples lost on the
        # link re-anchor later, never earlier. For an emulated night's truth (plan_start):
        # it assumes the sensor keeps the rate set.
        self.anchor_s: float | None = None
        self.samples_delivered = 0  # by an unstamped sensor, over every link
        # An unstamped sensor's frames that came more than `reanchor_s` late: held until it
        # is known whether samples were lost (the lag stays: re-anchored by the least of it)
        # or only delayed (a host that stalled, then took the backlog at once: the lag goes).
        # Re-anchored at the first late frame, a stall was counted lost and its delayed
        # samples were written too, ahead of the host (6 % over a loaded CI run's night).
        self.held: list[Decoded] = []
        self.held_samples = 0
        self.held_since: float | None = None  # host time this run of late frames began
        self.held_oldest = 0.0  # host time the oldest frame still held was held
        self.held_lag = float("inf")  # the least lag of a held frame's last sample
        self.held_lag_fell: float | None = None  # host time it last fell (a backlog drains)
        self.held_lag_mark = float("inf")  # ...to this
        self.releasing = False
        self._fit_reset()
        self.rates_hz: tuple[int, ...] = ()  # the rates its family offers (a setting not taken)
        self.rate_since: float | None = None  # this link's delivered rate: measured since,
        self.rate_samples = 0  # ...with this many samples
        self.rate_last: float | None = None  # when a frame was last counted
        self.on_warning: Callable[[str], None] | None = None  # shown to the user, once a night
        self.rate_told = False

    async def run(
        self, stop: asyncio.Event, deadline: float, started_s: float | None = None
    ) -> None:
        """Link, stream and reconnect until `stop` is set or `deadline` passes on `clock`;
        the recording began at `started_s` (now, unless given)."""
        self.started_s = self.clock() if started_s is None else started_s
        # Either ends a scan or a back-off: a dead sensor's ended at a stop only, and the
        # recording ran 10-40 s past its --duration.
        ended = asyncio.Event()
        watch = asyncio.create_task(self._end_at(stop, deadline, ended))
        try:
            await self._links(ended, deadline)
        finally:
            watch.cancel()
            self._release_at_end()
        self.ended_s = min(self.clock(), deadline)
        self.stats.state = "disk full" if self.disk_full else "stopped"

    async def _end_at(self, stop: asyncio.Event, deadline: float, ended: asyncio.Event) -> None:
        """Sets `ended` at `stop`, or once `deadline` has passed (polled: an emulated night's
        clock runs faster than the loop's)."""
        while not stop.is_set() and self.clock() < deadline:
            await asyncio.sleep(0.05)
        ended.set()

    async def _links(self, stop: asyncio.Event, deadline: float) -> None:
        backoff = 0.5
        while not stop.is_set() and self.clock() < deadline:
            self.lost.clear()
            client = None
            try:
                async with self.connect_lock:  # one attempt at a time, where shared
                    made = self.connect(self.address, lambda _=None: self.lost.set())
                    if inspect.isawaitable(made):
                        # found and connected (with retries)
                        client = await self._unless_stopped(stop, made)
                    else:
                        client = made
                        await self._unless_stopped(stop, client.connect())
                if stop.is_set():
                    continue  # the link, if made, is closed below
                self.stats.state = "configuring"
                self.reanchor_next = True  # a sensor that restarted counts from 0 again
                self._retime(self.stats.rate_hz)  # the rate is set again: measured again
                self.rate_since = None
                await self._read_battery(client)
                await self._configure(client)
                self.stats.state = "streaming"
                backoff = 0.5
                await self._wait(stop, deadline)
                if self.clock() >= deadline:
                    await self._drain(deadline)
                if not self.lost.is_set():
                    await self._stop_stream(client)
            except Exception as error:  # bleak raises many kinds; the night goes on
                self._note(f"{type(error).__name__}: {error}"[:200])
            finally:
                self._release_at_end()  # the link is gone: what was held late was lost before
                if client is not None:
                    await self._disconnect(client)
                    self._release_at_end()  # frames that came while it closed
            if stop.is_set() or self.clock() >= deadline or self.disk_full:
                break
            self.stats.state = "reconnecting"
            self.stats.reconnections += 1
            try:
                await asyncio.wait_for(stop.wait(), backoff)  # Ctrl-C, or the end, ends it
            except asyncio.TimeoutError:
                pass
            backoff = min(backoff * 2, 30.0)

    def count_loss_to(self, end_s: float, start_s: float) -> str | None:
        """At the end of the recording: the time from the last sample written to `end_s`
        (from `start_s` when none was) is lost, and counted so, with a gap to the end. Losses
        were measured between samples only: a sensor gone for good at 2 a.m. said '0.0 s
        lost'. Up to `reanchor_s` is what the link still held when the stream was stopped,
        not a loss. Returns the line that says what was lost, or None."""
        lost = self.missing_to(end_s, start_s)
        if lost <= self.reanchor_s:
            return None
        self.stats.data_loss_s += lost
        first = start_s if self.last_time is None else self.last_time
        self.stats.gaps.append([round(first, 3), round(end_s, 3)])  # listed, past the cap too
        if self.last_time is None:
            told = f"nothing recorded: all {span(lost)} of the recording lost"
        else:
            at = datetime.fromtimestamp(self.last_time).strftime("%H:%M:%S")
            told = f"nothing recorded after {at}: the last {span(lost)} of the recording lost"
        self._note(told)
        return told

    def missing_to(self, end_s: float, start_s: float) -> float:
        """Seconds from the last sample written (`start_s` when none was) to `end_s`, on the
        host's clock: less a drifting clock's lead."""
        if self.last_time is None:
            return end_s - start_s
        return end_s - (self.last_time + 1.0 / self.rate_hz - max(self.leads))

    async def _drain(self, deadline: float) -> None:
        """The samples up to `deadline` that the link still holds, waited for (END_DRAIN_S of
        real time at most), while the link lasts."""
        until = time.monotonic() + END_DRAIN_S
        start = self.started_s if self.started_s is not None else deadline
        while (
            not (self.lost.is_set() or self.disk_full)
            and self.missing_to(deadline, start) > 0
            and time.monotonic() < until
        ):
            await asyncio.sleep(0.02)
            self.release_if_settled()

    @staticmethod
    async def _unless_stopped(stop: asyncio.Event, awaitable):
        """`awaitable`'s result, or None when `stop` comes first (it is then cancelled): a
        scan for a sensor out of range lasts 10 s and more, and Ctrl-C (or systemd's
        SIGTERM) waited for it, then for a back-off of up to 30 s."""
        return await unless_first(awaitable, stop.wait())

    async def _read_battery(self, client) -> None:
        """The standard battery level and firmware revision, when the sensor has them."""
        try:
            if client.services.get_characteristic(BATTERY_LEVEL) is not None:
                self.stats.battery_percent = int((await client.read_gatt_char(BATTERY_LEVEL))[0])
            if client.services.get_characteristic(FIRMWARE_REVISION) is not None:
                raw = await client.read_gatt_char(FIRMWARE_REVISION)
                self.stats.firmware = bytes(raw).decode("utf-8", errors="replace").strip("\x00")
        except Exception as error:  # what we cannot read is no reason to stop
            self._note(f"device information: {error}"[:200])

    def _note(self, message: str, frame: bool = False) -> None:
        """Each distinct message once, with a count (a sensor babbling all night must not fill
        memory or bury the one message that matters). A bad frame's (`frame`) is counted by
        its words without their numbers, and bad frames have a share of the room of their
        own: 3,000 garbled frames, each naming its own byte count, took every place, and the
        loss at the end and a full disk went unsaid."""
        counts = self.stats.message_counts
        key = re.sub(r"\d+", "#", message) if frame else message
        if key in counts:
            counts[key] += 1
            return
        frames = self.frame_messages
        if (frame and frames >= FRAME_MESSAGES) or len(counts) >= MESSAGES:
            self.stats.messages_dropped += 1
            return
        self.frame_messages += frame
        counts[key] = 1
        self.stats.messages.append(message)

    async def _disconnect(self, client) -> None:
        try:
            await client.disconnect()
        except Exception as error:  # already gone
            self._note(f"disconnect: {error}"[:200])

    async def _wait(self, stop: asyncio.Event, deadline: float) -> None:
        self.frame_seen = time.monotonic()
        while not (stop.is_set() or self.lost.is_set() or self.clock() >= deadline):
            await asyncio.sleep(0.05)
            self.release_if_settled()  # a link gone quiet: nothing stays held
            if self.streams_steadily and time.monotonic() - self.frame_seen > self.quiet_s:
                # The link holds but the stream stopped (no 'stopped' message, or a start
                # that never took): the rest of the night was lost. Started again.
                self._note(f"no data for {self.quiet_s:g} s while linked: the stream started again")
                self.lost.set()

    async def _configure(self, client) -> None:
        raise NotImplementedError

    async def _stop_stream(self, client) -> None:
        raise NotImplementedError

    async def _unsubscribe(self, client, characteristic: str) -> None:
        """Stop notifications, then keep what the decoder held back."""
        try:
            await client.stop_notify(characteristic)
        except Exception as error:  # the link may already be gone
            self._note(f"stop: {error}"[:200])
        self._deliver(self.decoder.flush())
        self.release_held()

    async def _write_all(self, client, characteristic: str, commands: list[bytes]) -> None:
        """Commands that end a stream; a link already gone has ended it too."""
        try:
            for command in commands:  # a loop over commands
                await client.write_gatt_char(characteristic, command, response=True)
        except Exception as error:
            self._note(f"stop: {error}"[:200])

    def _on_data(self, _, data: bytearray) -> None:
        self._deliver(self.decoded(data))

    def decoded(self, data: bytes | bytearray) -> Decoded:
        """The decoder's samples of one notification, or a bad frame: whatever a sensor sends
        must not raise out of the notification (a compressed frame with an empty block did,
        a traceback per frame), and samples no sensor of its range measures (a flipped bit
        in a float's exponent: 3e37 g, a fake jerk and a cramp) are not written."""
        self.frame_seen = time.monotonic()
        try:
            decoded = self.decoder.decode(bytes(data))
        except Exception as error:  # a decoder's fault on a frame never seen in tests
            return Decoded.bad(f"frame dropped: the decoder failed ({type(error).__name__})")
        xyz = decoded.xyz_g
        if len(xyz) and not np.all(np.abs(xyz) <= IMPOSSIBLE_RANGE_SHARE * self.stats.range_g):
            return Decoded.bad(
                f"frame dropped: values beyond twice the sensor's ±{self.stats.range_g} g range"
            )
        return decoded

    def _jumped(self, departure_s: float) -> float:
        """How far a stamped frame `departure_s` from the host clock is from where the
        sensor's clock was lately, less the drift it may have had since (0 within it). The
        offset is fixed at the first frame, that frame's delay included, and a crystal 150
        ppm fast runs 4 s ahead in 8 hours: taken as a jump, minutes of the night were
        dropped as frames from the future."""
        beyond = departure_s - max(self.leads)
        now = self.clock()
        drift = DRIFT_MOST * (now - self.placed_at) if self.placed_at is not None else 0.0
        return float(np.sign(beyond) * max(abs(beyond) - drift, 0.0))

    def _far(self, departure_s: float) -> bool:
        """Whether a stamped frame `departure_s` from the host clock says the sensor's clock
        jumped: ahead of where it was by more than the link's jitter (none comes from the
        future), or behind by more than a link holds samples back."""
        jumped = self._jumped(departure_s)
        return jumped > 2 * self.reanchor_s or jumped < -30 * self.reanchor_s

    def from_future(self, last_s: float) -> bool:
        """Whether a stamped frame whose last sample is at `last_s` on the sensor's clock
        is stamped in the future: ahead of where the sensor's clock was lately by more than
        the link's jitter and its drift."""
        if self.offset_s is None:
            return False
        return self._jumped(last_s + self.offset_s - self.clock()) > 2 * self.reanchor_s

    def _placed_lead(self, departure_s: float) -> None:
        """A stamped frame placed `departure_s` from the host clock: the lead follows it up,
        and down over one or two windows (a clock that runs slow)."""
        now = self.clock()
        if now - self.lead_since >= max(RATE_WINDOW_S, 15 * self.reanchor_s):
            self.leads = [self.leads[1], departure_s]
            self.lead_since = now
        else:
            self.leads[1] = max(self.leads[1], departure_s)
        self.placed_at = now

    def _anchored(self) -> None:
        """The offset was set anew: the frame that set it came at once."""
        self.leads, self.lead_since, self.placed_at = [0.0, 0.0], self.clock(), self.clock()

    def _check_rate(self, count: int, stamped: bool) -> None:
        """The samples a second this link delivers (written: repeats left out), over
        RATE_WINDOW_S of host time or more, against the rate in use. A WitMotion whose rate
        command did not take sent 10 Hz timed as 50: a gap every 2.5 s all night, no message
        naming why. Told once a night; an unstamped sensor that delivers one of its family's
        other rates is timed by it from then on, for this link (the next one sets the rate
        again) or until its samples run ahead of the host (`_deliver`): they were squeezed
        into a fifth of the time, the rest counted lost. Falling short of every rate it
        offers is a lossy link (or a sensor that sends on change) and keeps the rate: timed
        by a rate it does not keep, an unstamped sensor's samples would run ahead of the
        host. Stamped sensors' samples are timed by their stamps: told, nothing changed."""
        now = self.clock()
        silent = self.rate_last is not None and now - self.rate_last > 2 * self.reanchor_s
        self.rate_last = now
        # From this frame's arrival: its samples came before. A window with a silence in it
        # (a host that stalled 20 s, then drained the backlog) says nothing of the rate: a
        # stalled one read as 20 Hz retimed a 50 Hz sensor's samples 15 s ahead of the host.
        if self.rate_since is None or silent:
            self.rate_since, self.rate_samples = now, 0
            return
        self.rate_samples += count
        elapsed = now - self.rate_since
        if elapsed < max(RATE_WINDOW_S, 15 * self.reanchor_s):
            return
        delivered = self.rate_samples / elapsed
        self.rate_since, self.rate_samples = now, 0
        self.stats.delivered_rate_hz = round(delivered, 1)
        if 1 / RATE_OFF <= delivered / self.nominal_hz <= RATE_OFF:
            return
        shown = f"{delivered:.0f}" if delivered >= 9.5 else f"{delivered:.1f}"
        told = f"delivers {shown} Hz, not the {self.stats.rate_hz} Hz set"
        taken = [rate for rate in self.rates_hz if abs(delivered / rate - 1) <= 0.1]
        if taken and not stamped and taken[0] == self.stats.rate_hz:  # the rate set, after all
            self._retime(taken[0])
            self._note(f"delivers the {taken[0]} Hz set again: timed by it from here")
            return
        if taken and not stamped:
            self._retime(taken[0])
            told += f" (its rate setting did not take?): timed at {taken[0]} Hz from here"
        elif delivered > self.nominal_hz:
            told += " (a rate setting the sensor did not take?)"
        else:
            told += ": samples lost on the link, or a rate setting the sensor did not take"
        self._note(told)
        if not self.rate_told and self.on_warning is not None:
            self.rate_told = True
            self.on_warning(told)

    def _retime(self, rate_hz: float, measured: bool = False) -> None:
        """Time an unstamped sensor's next samples by `rate_hz`: the next one where it was
        due, those after it 1/`rate_hz` apart. `measured`: its real rate, read from when its
        frames arrive (`_fit_arrival`); otherwise the rate it runs at, whose real rate is then
        read anew (the one set: as measured before, where it was)."""
        if self.offset_s is not None:
            self.offset_s += self.count / self.rate_hz
            self.count = 0
        if not measured:
            self.nominal_hz = float(rate_hz)
            self._fit_reset()
            if rate_hz == self.stats.rate_hz and self.clean_hz is not None:
                rate_hz = self.clean_hz  # a crystal keeps its rate from one link to the next
        self.rate_hz = float(rate_hz)

    def _fit_reset(self) -> None:
        self.fit_from: float | None = None  # host time the arrivals are counted from
        self.fit_count = 0  # samples delivered since
        self.fit_bucket: list[float] | None = None  # its start, and its least delay (t, y)
        self.fit_line = Line()  # the buckets' least delays since the last step off the line
        self.fit_error = RATE_ERROR_MOST  # the standard error of the rate in use, if measured
        self.fit_told = False

    def _fit_arrival(self, count: int, late: bool = False) -> None:
        """An unstamped sensor's frames arrive `count` samples at a time: its real rate, where
        they show one cleanly. Timed by the rate set, a sensor whose clock ran 2 % fast (51
        Hz for 50) ran ahead of the host without limit (+576 s in 8 hours), one 2 % slow got
        an invented 2 s gap every 100 s. The least delay of each bucket lies on a line whose
        slope is the rate's error; samples lost on the link step off it, and the line starts
        again (their loss shows as gaps). The most precise line seen times the samples.
        `late`: a frame held back late, whose samples are counted and its delay not."""
        now = self.clock()
        if self.fit_from is None:
            self.fit_from = now
        self.fit_count += count
        if late:  # held back late (a backlog): off the line of least delays, not on it
            return
        t = now - self.fit_from
        y = t - self.fit_count / self.nominal_hz  # the frame's delay, plus what the rate gained
        if self.fit_bucket is None:
            self.fit_bucket = [t, t, y]
            return
        start, least_t, least_y = self.fit_bucket
        if t - start < max(FIT_BUCKET_S, 5 * self.reanchor_s):
            if y < least_y:
                self.fit_bucket[1:] = [t, y]
            return
        self.fit_bucket = [t, t, y]
        line = self.fit_line
        if line.n >= 2 and abs(line.off(least_t, least_y)) > 0.01 * self.reanchor_s:
            line = self.fit_line = Line()  # a step (samples lost): a new line from here
        line.add(least_t, least_y)
        slow = line.slope() > 0
        if line.n < (SLOW_BUCKETS if slow else FIT_BUCKETS):
            return
        if line.slope_error() >= self.fit_error:
            return
        self.fit_error = line.slope_error()
        rate = self.nominal_hz * (1 - line.slope())
        off = rate / self.nominal_hz - 1
        if abs(off) > CLOCK_OFF or abs(rate / self.rate_hz - 1) <= 2e-5:  # 0.07 s an hour
            return
        self._retime(rate, measured=True)
        if self.nominal_hz == self.stats.rate_hz:
            self.clean_hz = rate
        if abs(off) >= 1e-3 and not self.fit_told:
            self.fit_told = True
            self._note(
                f"the sensor's clock runs {abs(off):.1%} {'fast' if off > 0 else 'slow'} "
                f"({rate:.2f} Hz for {self.nominal_hz:g}): its samples are timed by it"
            )

    def _count_loss_before(self, first_s: float) -> None:
        """The first sample written, at `first_s`, after a first try that did not link the
        sensor (not found, refused): the time from the recording's start to it is lost, and
        counted so, with a gap. A sensor first found at 3 a.m. of a night begun at 23:00 said
        '0.0 s lost'. Linked at the first try, the time before is the link being made (under
        load, 0.3 s and more: 30 s of a night played at 100 x), as at the end."""
        if self.started_s is None or self.stats.reconnections == 0:
            return
        lost = first_s - self.started_s
        if lost <= self.reanchor_s:
            return
        self.stats.data_loss_s += lost
        self._gap(self.started_s, first_s)
        at = datetime.fromtimestamp(first_s).strftime("%H:%M:%S")
        self._note(f"nothing recorded before {at}: the first {span(lost)} of the recording lost")

    def writing_failed(self, error: DiskFull) -> None:
        """Writing failed (the disk full, the file removed and not written again): the
        recording stops, counting the samples its file holds."""
        self._note(str(error))
        if self.write_error is None:
            self.write_error = str(error)
        self.stats.state = "disk full"
        self.disk_full = True
        self.lost.set()
        self.stats.samples = getattr(self.writer, "samples", self.stats.samples)

    def _gap(self, first: float, last: float) -> None:
        """A gap of 1 s or more between two samples, listed while there are few."""
        if len(self.stats.gaps) < GAPS_LISTED:
            self.stats.gaps.append([round(first, 3), round(last, 3)])
        else:
            self.stats.gaps_unlisted += 1

    def _untimed(self) -> None:
        """A frame dropped for its stamps alone. When, over 5 x reanchor_s, most frames could
        not be placed (the sensor's clock jumped while linked), the next may re-anchor. Judged
        over that window: a frame placed now and then among them put it off for good, as
        with a clock drifting over the limit, every few frames."""
        now = self.clock()
        if self.untimed_since is None:
            self.untimed_since, self.untimed_frames, self.placed_frames = now, 0, 0
        self.untimed_frames += 1
        if now - self.untimed_since > 5 * self.reanchor_s:
            if self.untimed_frames > self.placed_frames:
                self.reanchor_next = True
                # set back and running on (a frame repeated is no jump: its stamp stays)
                self.jump_seen = self.decoder.runs_behind()
                self.decoder.forget_clock()
            self.untimed_since = None

    def _placed(self) -> None:
        """A frame placed: counted into the window that judges frames that were not."""
        if self.untimed_since is None:
            return
        self.placed_frames += 1
        if self.clock() - self.untimed_since > 5 * self.reanchor_s:
            self.untimed_since = None  # mostly placed: no jump

    def _deliver(self, decoded: Decoded) -> None:
        """Map decoded samples onto host time, count losses, write them."""
        if decoded.problems:  # dropped bytes or frames; any good samples still count
            self.stats.bad_frames += 1
            self._note(decoded.problems[0], frame=True)
        if len(decoded.xyz_g) == 0:
            return
        self.stats.frames += 1
        if decoded.times_s is None:
            self.release_if_settled()
            if self._held_back(len(decoded.xyz_g)):
                self.held.append(decoded)
                self.held_samples += len(decoded.xyz_g)
                # The delivered rate counts a frame when it comes: counted when the held
                # frames were written (up to HOLD_LIMIT x reanchor_s later), a backlog read
                # as a made-up rate (10 Hz, then 100) and retimed them by it. A backlog's
                # window says nothing of the rate: measured afresh once it has drained
                # (`release_held`). Its delay is off the line of least delays.
                self._fit_arrival(len(decoded.xyz_g), late=True)
                self._check_rate(len(decoded.xyz_g), False)
                if self.held_lag <= self.reanchor_s:  # the lag went: delayed, not lost
                    self.release_held(lost=False)
                return
        self._place(decoded)

    def _held_back(self, count: int) -> bool:
        """Whether an unstamped frame of `count` samples is to be held (`held`): it came more
        than `reanchor_s` late, or after one that did. Held frames are written once the lag
        has gone (delayed: placed where they were due), or as lost, re-anchored by the least
        lag, once it has stopped falling (`release_if_settled`)."""
        if self.offset_s is None or self.releasing:
            return False
        last_s = self.offset_s + (self.count + self.held_samples + count - 1) / self.rate_hz
        now = self.clock()
        lag = now - last_s
        if not self.held and lag <= self.reanchor_s:
            self.release_held()  # nothing held: a run written early has ended
            return False
        if not self.held:
            self.held_oldest = now
        if self.held_since is None:
            self.held_since, self.held_lag_fell, self.held_lag_mark = now, now, lag
        if lag < self.held_lag_mark - self.reanchor_s / 10:  # a backlog draining, not jitter
            self.held_lag_fell, self.held_lag_mark = now, lag
        self.held_lag = min(self.held_lag, lag)
        return True

    def release_if_settled(self) -> None:
        """Releases the frames held as lost once their lag has not fallen for `reanchor_s` of
        host time (what stayed was lost), or they have been held HOLD_LIMIT x `reanchor_s`:
        called per frame and by the waiting loop, so a link gone quiet keeps none back."""
        if not self.held:
            return
        now = self.clock()
        if (
            now - self.held_lag_fell >= self.reanchor_s
            or now - self.held_since >= HOLD_LIMIT * self.reanchor_s
        ):
            self.release_held(lost=True)
        elif now - self.held_oldest >= HOLD_MOST_S:
            # Written where due, the run still judged as before: judged within half a
            # second, a slow or jittery drain was taken for a loss (3 s counted lost, the
            # samples after it ahead of the host). A loss is placed up to `reanchor_s` late.
            self._write_held_early()

    def _write_held_early(self) -> None:
        """Writes the frames held, placed where they were due, keeping the run's lag record:
        should the lag stay (samples were lost in the stall as well), the frames still held
        then are re-anchored, the gap placed before them, up to `reanchor_s` after it was."""
        held, self.held, self.held_samples = self.held, [], 0
        self._place_held(held)

    def _place_held(self, held: list[Decoded]) -> None:
        """Places frames that were held: counted when they came, timed as the caller set."""
        self.releasing = True
        try:
            for frame in held:  # a loop over frames
                self._place(frame)
        finally:
            self.releasing = False

    def _release_at_end(self) -> None:
        """`release_held` where a link ends: a failure is noted, and the link still closed."""
        try:
            self.release_held()
        except Exception as error:  # DiskFull is handled where samples are written
            self._note(f"{type(error).__name__}: {error}"[:200])

    def release_held(self, lost: bool = True) -> None:
        """Writes the frames held back, re-anchored by their least lag when `lost` (at a link's
        end nothing more will tell)."""
        held, lag = self.held, self.held_lag
        self.held, self.held_samples, self.held_lag = [], 0, float("inf")
        self.held_since = self.held_lag_fell = None
        if not held:
            return
        if lost and self.offset_s is not None:
            self.offset_s += lag
        self._place_held(held)

    def _place(self, decoded: Decoded) -> None:
        sensor_times = decoded.times_s
        rate_not_kept = False
        if sensor_times is None:
            # No stamps: the rate is the clock, re-anchored to the host whenever it falls
            # behind by more than `reanchor_s` (samples were lost, or the link came back).
            sensor_times = (self.count + np.arange(len(decoded.xyz_g))) / self.rate_hz
            self.count += len(decoded.xyz_g)
            if self.offset_s is not None and not self.releasing:  # placed as they were held
                lag = self.clock() - (sensor_times[-1] + self.offset_s)
                if lag > self.reanchor_s:
                    self.offset_s += lag
                elif lag < 0:
                    # Ahead of the host (no sample comes before it is taken): brought back
                    # by at most half a sample's spacing a frame, never before the last one
                    # written. Never moved back, a sensor a little faster than its rate ran
                    # ahead all night; re-anchored at once, a backlog let through at once
                    # fell before the last sample written and was dropped as repeats.
                    self.offset_s += max(lag, -0.5 / self.rate_hz)
                    if lag < -self.reanchor_s:
                        self._note(
                            "samples came faster than the sensor's rate (a backlog let through "
                            "at once, or a wrong rate): kept in order, brought back to the "
                            "host's time"
                        )
                        # Timed by a rate it delivered once but does not keep, they would
                        # run ahead faster than they are brought back: the rate set times
                        # the next ones.
                        rate_not_kept = self.nominal_hz != self.stats.rate_hz
        if self.offset_s is None:
            # Host-anchored: the sensor clock (possibly years off) only spaces the samples.
            self.offset_s = self.clock() - sensor_times[-1]
            self._anchored()
        elif decoded.times_s is not None:
            departure = sensor_times[-1] + self.offset_s - self.clock()
            # Judged to have jumped while linked (`_untimed`), a clock set back by more than
            # the jitter is re-anchored too: taken for a link's backlog (up to a minute), one
            # stepped back 5-59 s lost that much uncounted, the rest of the night shifted.
            stepped = self.jump_seen and abs(self._jumped(departure)) > 2 * self.reanchor_s
            if self.reanchor_next and (self._far(departure) or stepped):
                # The sensor restarted (its clock from 0, or from its default date): mapped
                # as before, every later sample fell before the last one written and was
                # dropped. Anchored anew, never before the last sample written.
                jumped = self._jumped(departure)
                self.offset_s -= departure
                if self.last_time is not None:
                    after = self.last_time + 1.0 / self.rate_hz - sensor_times[0]
                    self.offset_s = max(self.offset_s, after)
                self._anchored()
                self._note(
                    f"the sensor's clock jumped {jumped:+.0f} s (it restarted?): "
                    "re-anchored to the host clock"
                )
            elif self.from_future(sensor_times[-1]):  # a glitch: none comes from the future
                self.stats.bad_frames += 1
                self._note("frame stamped in the future (an impossible time stamp): dropped")
                self._untimed()
                return
            else:  # a clock that drifts, followed: its spacing is kept (no resampling)
                self._placed_lead(departure)
        self.reanchor_next = self.jump_seen = False
        times = sensor_times + self.offset_s
        if decoded.times_s is None:
            if not self.releasing:  # a held frame was counted when it came
                self._fit_arrival(len(times))  # for the next frames: this one is placed
            self.samples_delivered += len(times)
            first_s = float(times[-1]) - (self.samples_delivered - 1) / self.stats.rate_hz
            self.anchor_s = first_s if self.anchor_s is None else min(self.anchor_s, first_s)
        if rate_not_kept:  # from the next frame on: this one is placed
            self._retime(self.stats.rate_hz)
            self.rate_since = None
        if self.last_time is not None:
            gap = times[0] - self.last_time - 1.0 / self.rate_hz
            if gap > 0.5 / self.rate_hz:
                self.stats.data_loss_s += gap
                if gap >= 1.0:
                    self._gap(self.last_time, float(times[0]))
            keep = times > self.last_time  # a repeated frame adds nothing
            if not keep.all():
                self._note(
                    "samples stamped at or before the last one written: dropped (a repeated "
                    "frame, or the sensor's clock went back)"
                )
                if not keep.any():
                    self._untimed()
                    # a repeat the decoder could not tell (its clock forgotten) is bad too
                    self.stats.bad_frames += not decoded.problems
            times, decoded.xyz_g = times[keep], decoded.xyz_g[keep]
        if len(times):
            try:
                self.writer.append(times, decoded.xyz_g)
            except DiskFull as error:
                self.writing_failed(error)
                return
            self.stats.samples += len(times)
            if self.last_time is None:
                self._count_loss_before(float(times[0]))
            self.last_time = float(times[-1])
            self._placed()
            if not self.releasing:  # repeats left out; a held frame counted when it came
                self._check_rate(len(times), decoded.times_s is not None)
            if self.on_samples is not None:
                try:
                    self.on_samples(times, decoded.xyz_g)
                except Exception as error:  # the live view must never stop the recording
                    self._note(f"live view: {type(error).__name__}: {error}"[:200])


def span(seconds: float) -> str:
    """45 s, 12.5 min, 4.2 h: how long a loss lasted, at a glance."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def write_recording_json(path: str, sessions: list[SessionStats], extra: dict) -> None:
    """Written to a temporary name and renamed: always a complete file. When it cannot be
    written (disk full), the temporary is removed and `DiskFull` raised; the file named
    `path` is then the previous complete one."""
    record = {**extra, "sensors": [asdict(s) for s in sessions]}
    try:
        write_file(path, json.dumps(record, indent=1))
    except OSError as error:
        raise DiskFull(f"{path}: cannot write ({error.strerror or error})") from None


def iso_now() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")
