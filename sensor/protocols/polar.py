"""Polar Measurement Data (PMD): Verity Sense, H10, OH1 accelerometer streams."""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass, field

import numpy as np

from sleepmove.sensor.protocols._common import Decoded, Decoder, pack_bits, signed, unpack_bits
from sleepmove.sensor.recorder import SensorSession
from sleepmove.sensor.registry import EmulatedModel, SensorFamily

SERVICE = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
CONTROL_POINT = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
DATA = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"
MIN_MTU = 232
ACC = 2
SDK_MODE = 9
OP_GET_SETTINGS, OP_START, OP_STOP = 1, 2, 3
STATUS = {0: "success", 6: "already in state", 10: "invalid MTU", 13: "device in charger"}


def start_command(
    rate_hz: int, range_g: int, resolution: int = 16, channels: int | None = None
) -> bytes:
    """Start ACC: settings as type-length-value (0 rate, 1 resolution, 2 range, 4 channels)."""
    body = bytes([OP_START, ACC]) + struct.pack("<BBH", 0, 1, rate_hz)
    body += struct.pack("<BBH", 1, 1, resolution) + struct.pack("<BBH", 2, 1, range_g)
    if channels is not None:
        body += bytes([4, 1, channels])
    return body


STOP_COMMAND = bytes([OP_STOP, ACC])
QUERY_SETTINGS = bytes([OP_GET_SETTINGS, ACC])


@dataclass
class ControlReply:
    op: int
    measurement: int
    status: int
    more: bool
    settings: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == 0

    @property
    def meaning(self) -> str:
        return STATUS.get(self.status, f"error {self.status}")


def parse_control(message: bytes) -> ControlReply | str:
    """A control-point indication: a reply (F0 ...), or a text saying what else it is."""
    if not message:
        return "empty control-point message"
    if message[0] == 0x01:
        return "the sensor stopped the stream itself"
    if message[0] == 0x0F:
        return "feature bitmap"
    if message[0] != 0xF0 or len(message) < 5:
        return f"unexpected control-point message {message[:8].hex()}"
    reply = ControlReply(message[1], message[2], message[3], message[4] != 0)
    reply.settings = parse_settings(message[5:])
    return reply


def parse_settings(data: bytes) -> dict:
    """TLV settings: 0 rate, 1 resolution, 2 range (u16 values), 4 channels (u8), 5 factor (f32)."""
    settings: dict[str, list] = {}
    names = {0: "rate_hz", 1: "resolution", 2: "range_g", 4: "channels", 5: "factor"}
    position = 0
    while position + 2 <= len(data):
        kind, count = data[position], data[position + 1]
        size = {4: 1, 5: 4}.get(kind, 2)
        chunk = data[position + 2 : position + 2 + size * count]
        if len(chunk) < size * count:
            break
        if kind == 5:
            values = list(struct.unpack(f"<{count}f", chunk))
        elif size == 1:
            values = list(chunk)
        else:
            values = list(struct.unpack(f"<{count}H", chunk))
        settings[names.get(kind, f"setting_{kind}")] = values
        position += 2 + size * count
    return settings


STAMP_JITTER_S = 0.05  # how far a frame's stamp may stray from its sensor's clock
SHORTEST_STEP_SHARE = 0.25  # of the period set: a sample step shorter is no sensor's clock
FACTOR_RANGE = (1e-4, 1e3)  # a start reply's factor outside it (NaN, 0, 1e30) is no factor
REPLIES_HELD = 32  # control-point messages kept for a command; older ones are dropped
REPLY_WAIT_S = 5.0


@dataclass
class PolarDecoder(Decoder):
    """Turns PMD data notifications into samples; keeps the last frame's stamp for timing."""

    rate_hz: float
    factor: float = 1.0
    previous_stamp_ns: int | None = None
    stepped_back: int = 0  # frames dropped as stamped before the previous one
    step_s: float | None = None  # the sample spacing the stamps last showed
    too_soon: float = 0.0  # frames lately dropped as stamped too soon (fading as others come)
    behind_ns: int | None = None  # the stamp of the last frame dropped as stamped before
    behind_advancing: bool = False  # ...and whether it came after the one dropped before it

    def decode(self, frame: bytes) -> Decoded:
        if len(frame) < 11:
            return Decoded.bad(f"PMD frame of {len(frame)} bytes is too short")
        if frame[0] & 0x3F != ACC:
            return Decoded.bad(f"PMD frame of measurement type {frame[0] & 0x3F}, not ACC")
        stamp = struct.unpack_from("<Q", frame, 1)[0]
        kind = frame[9]
        try:
            if kind & 0x80:
                if kind & 0x7F > 1:  # 0x80 (in g) and 0x81 (in milli-g) are the compressed ones
                    raise ValueError(f"unknown compressed frame type {kind:#x}")
                milli_g = self._compressed(frame[10:], kind & 0x7F)
            else:
                milli_g = self._raw(frame[10:], kind)
        except ValueError as problem:
            return Decoded.bad(f"PMD frame dropped: {problem}")
        if len(milli_g) == 0:
            return Decoded.bad("PMD frame without samples")
        times = self._times(stamp, len(milli_g))
        if times is None:
            self.stepped_back += 1
            self.behind_advancing = self.behind_ns is not None and stamp > self.behind_ns
            self.behind_ns = stamp
            return Decoded.bad("PMD frame stamped before the previous one: dropped")
        if len(times) == 0:
            return Decoded.bad(
                f"PMD frame of {len(milli_g)} samples stamped too soon after the previous "
                "one to hold them (a notification storm, or a foreign frame): dropped"
            )
        return Decoded(milli_g / 1000.0, times)

    def _raw(self, payload: bytes, kind: int) -> np.ndarray:
        width = {0: 1, 1: 2, 2: 3}.get(kind)
        if width is None:
            raise ValueError(f"unknown frame type {kind}")
        if len(payload) % (3 * width):
            raise ValueError(f"payload of {len(payload)} bytes is not whole samples")
        raw = np.frombuffer(payload, dtype=np.uint8).reshape(-1, width).astype(np.int64)
        values = raw @ (1 << (8 * np.arange(width, dtype=np.int64)))
        return signed(values, 8 * width).reshape(-1, 3).astype(float) * self.factor

    def _compressed(self, payload: bytes, kind: int) -> np.ndarray:
        if len(payload) < 6:
            raise ValueError("no reference sample")
        reference = np.array(struct.unpack_from("<3h", payload, 0), dtype=np.int64)
        samples = [reference[None, :]]
        position = 6
        while position < len(payload):
            if position + 2 > len(payload):
                raise ValueError("block header cut off")
            width, count = payload[position], payload[position + 1]
            if not 1 <= width <= 32:
                raise ValueError(f"delta width {width}")
            if count == 0:  # an empty block: nothing to add (its last sample raised IndexError)
                position += 2
                continue
            size = (width * count * 3 + 7) // 8
            block = payload[position + 2 : position + 2 + size]
            deltas = signed(unpack_bits(block, width, count * 3), width).reshape(count, 3)
            samples.append(samples[-1][-1] + np.cumsum(deltas, axis=0))
            position += 2 + size
        values = np.vstack(samples).astype(float) * self.factor
        return values * 1000.0 if kind == 0 else values  # type 0 counts in g

    def _times(self, stamp_ns: int, count: int) -> np.ndarray | None:
        """The stamp is the LAST sample's; earlier ones step back evenly. None: stamped
        before the previous frame; empty: stamped too soon to hold its samples.

        The step comes from the previous frame's stamp, unless the stamps are further apart
        than this frame's samples can fill: frames were lost, the nominal rate is used and the
        loss shows as a gap before this frame. A step under half the one the stamps showed
        before cannot be the sensor's clock (a frame of 36 samples one period after the last
        spread them 0.3 ms apart): the frame is dropped, the previous stamp kept. The step
        is learned, not the nominal one: a sensor running at another rate keeps its samples.
        """
        step = 1.0 / self.rate_hz
        if self.previous_stamp_ns is not None:
            if stamp_ns <= self.previous_stamp_ns:
                return None
            elapsed = (stamp_ns - self.previous_stamp_ns) / 1e9
            if elapsed <= (count + 0.5) / self.rate_hz:
                step = elapsed / count
                if step < SHORTEST_STEP_SHARE / self.rate_hz:
                    # No rate it runs at packs samples so tight: a burst stamped a ms apart was
                    # learned as a new rate, 288 samples written within 10 ms
                    return np.empty(0)
                # BLE stamps jitter by tens of ms: a frame of a few samples is not judged
                short = elapsed + STAMP_JITTER_S < 0.5 * count * (self.step_s or 0.0)
                if self.step_s is not None and short:
                    # Frames too soon time after time: the sensor's rate changed, not a
                    # storm. Learned anew; kept at the old step, every other frame was lost.
                    self.too_soon += 1
                    if self.too_soon < 3:
                        return np.empty(0)
                    self.too_soon, self.step_s = 0.0, None
                self.too_soon = max(self.too_soon - 0.25, 0.0)
                if elapsed >= 4 * STAMP_JITTER_S:  # learned where jitter is small beside it
                    self.step_s = step
        self.previous_stamp_ns = stamp_ns
        last = stamp_ns / 1e9
        return last - step * np.arange(count - 1, -1, -1)

    def forget_clock(self) -> None:
        self.previous_stamp_ns = None
        self.step_s = None
        self.behind_ns = None

    def runs_behind(self) -> bool:
        return self.behind_advancing


def encode_raw(milli_g: np.ndarray, stamp_ns: int) -> bytes:
    """A raw int16 ACC frame (frame type 1)."""
    values = np.asarray(np.round(milli_g), dtype="<i2")
    return bytes([ACC]) + struct.pack("<Q", stamp_ns) + bytes([1]) + values.tobytes()


def encode_compressed(milli_g: np.ndarray, stamp_ns: int, block: int = 16) -> bytes:
    """A delta-compressed ACC frame (0x81): reference sample, then blocks of deltas, each
    block as narrow as its largest delta allows (so one frame holds several widths)."""
    values = np.asarray(np.round(milli_g), dtype=np.int64)
    payload = struct.pack("<3h", *values[0])
    deltas = np.diff(values, axis=0)
    for first in range(0, len(deltas), block):
        part = deltas[first : first + block]
        largest = int(np.abs(part).max()) if len(part) else 0
        width = max(int(largest).bit_length() + 1, 1)
        payload += bytes([width, len(part)]) + pack_bits(part.ravel(), width)
    return bytes([ACC]) + struct.pack("<Q", stamp_ns) + bytes([0x81]) + payload


def reply(op: int, status: int, settings: bytes = b"") -> bytes:
    return bytes([0xF0, op, ACC, status, 0]) + settings


class PolarSession(SensorSession):
    """PMD: control point commands and replies, stamped data frames."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.decoder = PolarDecoder(rate_hz=self.stats.rate_hz)

    async def _command(self, client, command: bytes) -> ControlReply:
        """The reply to `command`: the first one for its op code. Messages that came before it
        (a stray or late indication) or are no reply to it are noted, never taken for it: one
        stray message shifted every later reply by one, a refused start taken as started."""
        while not self.control_replies.empty():  # what came before the command answers nothing
            self._note_stray(self.control_replies.get_nowait())
        await client.write_gatt_char(CONTROL_POINT, command, response=True)
        loop = asyncio.get_running_loop()
        until = loop.time() + REPLY_WAIT_S
        while True:  # a loop over control-point messages, until the reply (or the time is up)
            message = await asyncio.wait_for(self.control_replies.get(), until - loop.time())
            if isinstance(message, ControlReply) and message.op == command[0]:
                return message
            self._note_stray(message)

    def _note_stray(self, message: ControlReply | str) -> None:
        if isinstance(message, ControlReply):
            message = f"control-point reply to op {message.op} ({message.meaning}) unasked"
        self._note(f"{message}: ignored")

    async def _configure(self, client) -> None:
        # A new stream, a new decoder: the last stamp of the one before refused every frame
        # of a sensor that restarted with its clock set back.
        self.decoder = PolarDecoder(rate_hz=self.stats.rate_hz)
        await client.start_notify(CONTROL_POINT, self._on_control)
        await client.start_notify(DATA, self._on_data)
        # A stream left running by an earlier connection answers "already in state": stop it.
        await self._command(client, STOP_COMMAND)
        reply = await self._command(
            client, start_command(self.stats.rate_hz, self.stats.range_g, 16, 3)
        )
        if not reply.ok:
            raise RuntimeError(f"start refused: {reply.meaning}")
        factor = (reply.settings.get("factor") or [1.0])[0]
        if not FACTOR_RANGE[0] <= abs(factor) <= FACTOR_RANGE[1]:  # NaN fails it too
            self._note(f"start reply with an impossible factor {factor!r}: 1.0 taken")
            factor = 1.0
        self.decoder.factor = factor

    async def _stop_stream(self, client) -> None:
        await self._write_all(client, CONTROL_POINT, [STOP_COMMAND])

    def _on_control(self, _, data: bytearray) -> None:
        message = parse_control(bytes(data))
        if message == "the sensor stopped the stream itself":
            self._note(message)
            self.lost.set()  # reconnect and start again
            return
        if self.control_replies.qsize() >= REPLIES_HELD:  # a flood of indications: bounded
            self._note_stray(self.control_replies.get_nowait())
        self.control_replies.put_nowait(message)

    def _on_data(self, _, data: bytearray) -> None:
        before = self.decoder.previous_stamp_ns
        stepped_back = self.decoder.stepped_back
        decoded = self.decoded(data)
        if self.decoder.stepped_back != stepped_back:
            self._untimed()
        if (
            decoded.times_s is not None
            and not self.reanchor_next  # the first frame of a link: _deliver re-anchors
            and self.from_future(decoded.times_s[-1])
        ):
            # A stamp in the future cannot be: drop the frame and forget its stamp, or every
            # later (true) frame would look older and be dropped too.
            self.decoder.previous_stamp_ns = before
            self.stats.bad_frames += 1
            self._note("PMD frame with an impossible timestamp (in the future): dropped")
            self._untimed()
            return
        self._deliver(decoded)


def _emulated(advertised: str, frame_samples: int, burst_s: float) -> EmulatedModel:
    def build(air, address, source, rate_hz, speed, name):
        from sleepmove.sensor.ble.emulated_polar import EmulatedPolar

        return EmulatedPolar(
            air, address, source, rate_hz, speed, name, frame_samples, burst_s=burst_s
        )

    return EmulatedModel(advertised, build)


FAMILY = SensorFamily(
    name="polar",
    label="polar-pmd",
    title="Polar PMD: Verity Sense, H10, OH1",
    service=SERVICE,
    characteristics={"control point": CONTROL_POINT, "data": DATA},
    scan_names=("polar",),
    rates_hz=(25, 26, 50, 52, 100, 104, 200, 208, 416),
    range_g=8,
    stamped=True,
    decoder=lambda rate_hz: PolarDecoder(rate_hz=rate_hz),
    session=PolarSession,
    emulated={
        # The Verity Sense sends 70-sample frames in bursts every 1.5 s; the H10 a steady stream.
        "polar-verity": _emulated("Polar Sense EMU", 70, 1.5),
        "polar-h10": _emulated("Polar H10 EMU", 36, 0.0),
    },
)
