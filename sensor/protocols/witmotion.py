"""WitMotion WT901BLE: 20-byte frames 55 61 that may split across notifications."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sleepmove.sensor.protocols._common import Decoded, Decoder
from sleepmove.sensor.recorder import SensorSession
from sleepmove.sensor.registry import EmulatedModel, SensorFamily

SERVICE = "0000ffe5-0000-1000-8000-00805f9a34fb"
NOTIFY = "0000ffe4-0000-1000-8000-00805f9a34fb"
WRITE = "0000ffe9-0000-1000-8000-00805f9a34fb"
HEADER = b"\x55\x61"
FRAME = 20
RATE_CODES = {10: 0x06, 20: 0x07, 50: 0x08, 100: 0x09, 200: 0x0A}


def rate_commands(rate_hz: int) -> list[bytes]:
    return [
        bytes.fromhex("FFAA6988B5"),
        bytes([0xFF, 0xAA, 0x03, RATE_CODES[rate_hz], 0x00]),
        bytes.fromhex("FFAA000000"),
    ]


@dataclass
class WitMotionDecoder(Decoder):
    buffer: bytes = b""

    def decode(self, data: bytes) -> Decoded:
        self.buffer += data
        frames, problems = [], []
        while True:
            start = self.buffer.find(HEADER)
            if start < 0:
                if self.buffer:
                    problems.append(f"{len(self.buffer)} bytes without a frame header skipped")
                self.buffer = self.buffer[-1:] if self.buffer.endswith(b"\x55") else b""
                break
            if start:
                problems.append(f"{start} bytes before a frame header skipped")
            if len(self.buffer) - start < FRAME:
                self.buffer = self.buffer[start:]
                break
            frames.append(self.buffer[start : start + FRAME])
            self.buffer = self.buffer[start + FRAME :]
        if not frames:
            return Decoded(problems=problems)
        raw = np.frombuffer(b"".join(f[2:8] for f in frames), dtype="<i2").reshape(-1, 3)
        return Decoded(raw.astype(float) / 32768 * 16, problems=problems)


def encode(xyz_g: np.ndarray) -> bytes:
    """Whole frames, gyro and angles left at zero."""
    acc = np.clip(np.round(np.atleast_2d(xyz_g) / 16 * 32768), -32768, 32767).astype("<i2")
    frames = np.zeros((len(acc), FRAME), dtype=np.uint8)
    frames[:, :2] = np.frombuffer(HEADER, dtype=np.uint8)
    frames[:, 2:8] = acc.view(np.uint8).reshape(len(acc), 6)
    return frames.tobytes()


class WitMotionSession(SensorSession):
    """Set the rate, then frames stream on their own; no stamps."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.decoder = WitMotionDecoder()

    async def _configure(self, client) -> None:
        self.decoder = WitMotionDecoder()  # a new link starts a new byte stream
        await client.start_notify(NOTIFY, self._on_data)
        for command in rate_commands(self.stats.rate_hz):  # a loop over commands
            await client.write_gatt_char(WRITE, command, response=True)

    async def _stop_stream(self, client) -> None:
        await self._unsubscribe(client, NOTIFY)


def _build(air, address, source, rate_hz, speed, name):
    from sleepmove.sensor.ble.emulated_witmotion import EmulatedWitMotion

    return EmulatedWitMotion(air, address, source, speed, name)


FAMILY = SensorFamily(
    name="witmotion",
    label="witmotion",
    title="WitMotion WT901BLE, BWT901BLE5.0",
    service=SERVICE,
    characteristics={"notify": NOTIFY, "write": WRITE},
    scan_names=("wt901", "witmotion"),
    rates_hz=tuple(RATE_CODES),
    range_g=16,
    stamped=False,
    decoder=lambda rate_hz: WitMotionDecoder(),
    session=WitMotionSession,
    emulated={"witmotion": EmulatedModel("WT901BLE EMU", _build)},
)
