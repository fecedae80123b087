"""An emulated Polar Verity Sense: PMD control point and data over a real bumble GATT server."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable

import numpy as np
from bumble.core import UUID, AdvertisingData
from bumble.gatt import Characteristic, CharacteristicValue, Service

from sleepmove.sensor.ble.bumble_backend import VirtualAir, listened
from sleepmove.sensor.protocols import polar

FEATURES = bytes([0x0F, 0x04, 0x00])  # accelerometer supported
# The MTU our client asks for (bumble_backend): frames are sized to it before it is agreed.
NOTIFY_MTU = 247
BATTERY_SERVICE = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL = "00002a19-0000-1000-8000-00805f9b34fb"
DEVICE_INFORMATION = "0000180a-0000-1000-8000-00805f9b34fb"
FIRMWARE_REVISION = "00002a26-0000-1000-8000-00805f9b34fb"


class EmulatedPolar:
    """Plays `source(first, count) -> xyz in g` as compressed PMD frames, `speed` x real time."""

    def __init__(
        self,
        air: VirtualAir,
        address: str,
        source: Callable[[int, int], np.ndarray],
        rate_hz: int = 52,
        speed: float = 1.0,
        name: str = "Polar Sense EMU01",
        frame_samples: int = 36,
        clock_offset_s: float = 0.0,
        burst_s: float = 0.0,
    ) -> None:
        self.air = air
        self.device = air.new_device(address, name)
        self.source = source
        self.rate_hz = rate_hz
        self.speed = speed
        self.frame_samples = frame_samples
        self.clock_offset_s = clock_offset_s
        self.burst_s = burst_s  # Verity Sense style: frames held back and sent in bursts
        self.running = False
        self.sent = 0
        self.first_streamed: int | None = None  # frames carry stamps: not needed for a truth
        self.commands: list[bytes] = []
        self.last_frame = b""
        self.garble_next = 0  # frames to send damaged (cut, or random bytes)
        self.garbled_delivered = 0  # ...of which reached a listener (not lost unconnected)
        self.refuse_next_start: int | None = None  # e.g. 13: device in charger
        self._task: asyncio.Task | None = None
        self.control = Characteristic(
            UUID(polar.CONTROL_POINT),
            Characteristic.Properties.READ
            | Characteristic.Properties.WRITE
            | Characteristic.Properties.INDICATE,
            Characteristic.READABLE | Characteristic.WRITEABLE,
            CharacteristicValue(read=lambda _: FEATURES, write=self._on_command),
        )
        self.data = Characteristic(
            UUID(polar.DATA), Characteristic.Properties.NOTIFY, Characteristic.READABLE, b""
        )
        self.device.add_service(Service(UUID(polar.SERVICE), [self.control, self.data]))
        battery = Characteristic(
            UUID(BATTERY_LEVEL),
            Characteristic.Properties.READ,
            Characteristic.READABLE,
            bytes([93]),
        )
        self.device.add_service(Service(UUID(BATTERY_SERVICE), [battery]))
        firmware = Characteristic(
            UUID(FIRMWARE_REVISION),
            Characteristic.Properties.READ,
            Characteristic.READABLE,
            b"3.1.1-emulated",
        )
        self.device.add_service(Service(UUID(DEVICE_INFORMATION), [firmware]))

    async def start(self) -> None:
        await self.device.power_on()
        await self.start_advertising()

    async def start_advertising(self) -> None:
        advertising = bytes(
            AdvertisingData(
                [
                    (AdvertisingData.COMPLETE_LOCAL_NAME, self.device.name.encode()),
                    (
                        AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
                        bytes(UUID(polar.SERVICE)),
                    ),
                ]
            )
        )
        await self.device.start_advertising(
            advertising_data=advertising,
            auto_restart=True,
            advertising_interval_min=20.0,
            advertising_interval_max=20.0,
        )
        self.air.names[str(self.device.random_address).split("/")[0]] = self.device.name

    @property
    def address(self) -> str:
        return str(self.device.random_address).split("/")[0]

    def _on_command(self, connection, value: bytes) -> None:
        self.commands.append(bytes(value))
        asyncio.get_event_loop().create_task(self._answer(bytes(value)))

    async def _answer(self, command: bytes) -> None:
        if command[:2] == polar.QUERY_SETTINGS:
            settings = bytes.fromhex("0001") + struct.pack("<H", self.rate_hz)
            settings += bytes.fromhex("01011000 02010800")
            answer = polar.reply(polar.OP_GET_SETTINGS, 0, settings)
        elif command[:2] == bytes([polar.OP_START, polar.ACC]):
            if self.refuse_next_start is not None:
                answer, self.refuse_next_start = (
                    polar.reply(polar.OP_START, self.refuse_next_start),
                    None,
                )
            elif self.running:
                answer = polar.reply(polar.OP_START, 6)
            else:
                answer = polar.reply(polar.OP_START, 0, bytes([5, 1]) + struct.pack("<f", 1.0))
                self.running = True
                if self._task is not None:
                    self._task.cancel()  # one stream at a time, as on the real sensor
                self._task = asyncio.get_event_loop().create_task(self._stream())
        elif command[:2] == polar.STOP_COMMAND:
            self.running = False
            answer = polar.reply(polar.OP_STOP, 0)
        else:
            answer = polar.reply(command[0] if command else 0, 1)
        await self.device.indicate_subscribers(self.control, answer)

    async def _stream(self) -> None:
        """Frames on an absolute schedule, so sending time never slows the sensor's clock."""
        period = self.frame_samples / self.rate_hz / self.speed
        loop = asyncio.get_event_loop()
        due = loop.time()
        # A stream measures the night where it is now: a stopped sensor measured nothing.
        self.sent = max(self.sent, self.air.samples_since_epoch(self.rate_hz, self.speed))
        held: list[tuple[bytes, bool]] = []  # frames, and whether each was garbled
        next_burst = due + self.burst_s / self.speed
        while self.running:
            xyz = self.source(self.sent, self.frame_samples)
            self.sent += len(xyz)
            *whole, frame = self._fitting_frames(xyz, self.sent - 1)
            held.extend((each, False) for each in whole)
            garbled = bool(self.garble_next)
            if garbled:
                self.garble_next -= 1
                frame = (
                    frame[: len(frame) // 3]
                    if self.garble_next % 2
                    else bytes(
                        np.random.default_rng(self.sent).integers(0, 256, len(frame), np.uint8)
                    )
                )
            held.append((frame, garbled))
            self.last_frame = frame
            if loop.time() >= next_burst or not self.burst_s:
                next_burst += self.burst_s / self.speed
                for frame, garbled in held:
                    # Only a central that enabled notifications gets them (bumble sends
                    # nothing otherwise): a link up but not yet subscribed again counted
                    # garbled frames as delivered that the recorder never saw.
                    if self.device.connections and listened(self.device, self.data):
                        await self.device.notify_subscribers(self.data, frame)
                        self.garbled_delivered += garbled
                held = []
            # else: like a real sensor, it keeps measuring with nobody listening; those
            # samples are lost, and the stream is still running at the next connection.
            due += period
            await asyncio.sleep(max(due - loop.time(), 0))

    def _fitting_frames(self, xyz: np.ndarray, last_index: int) -> list[bytes]:
        """The samples as frames that each fit one notification, as a real sensor sizes them:
        the link cuts a longer one short, and the recorder drops it (a moving leg's wide
        deltas made 70-sample frames overflow: 16 s lost per hour, no loss on the air)."""
        connections = list(self.device.connections.values())
        limit = min((c.att_mtu for c in connections), default=NOTIFY_MTU) - 3
        stamp_ns = int((self.clock_offset_s + last_index / self.rate_hz) * 1e9)
        frame = polar.encode_compressed(xyz * 1000, stamp_ns)
        if len(frame) <= limit or len(xyz) == 1:
            return [frame]
        half = len(xyz) // 2
        return self._fitting_frames(xyz[:half], last_index - (len(xyz) - half)) + (
            self._fitting_frames(xyz[half:], last_index)
        )

    async def send_impossible_stamp(self) -> None:
        """One frame stamped a year ahead (a glitch), between two normal ones."""
        frame = polar.encode_compressed(
            self.source(0, self.frame_samples) * 1000,
            int((self.clock_offset_s + 365 * 86400) * 1e9),
        )
        await self.device.notify_subscribers(self.data, frame)

    async def storm(self, copies: int) -> None:
        """A notification storm: the same frame, `copies` times, as fast as the link takes."""
        frame = polar.encode_compressed(
            self.source(0, self.frame_samples) * 1000,
            int((self.clock_offset_s + self.sent / self.rate_hz) * 1e9),
        )
        for _ in range(copies):
            await self.device.notify_subscribers(self.data, frame)

    async def stop_stream_itself(self) -> None:
        """The sensor ends the stream on its own (strap off): a control-point 01 message."""
        self.running = False
        await self.device.indicate_subscribers(self.control, bytes([0x01, polar.ACC]))

    async def drop_link(self) -> None:
        for connection in list(self.device.connections.values()):
            await connection.disconnect()

    async def disappear(self, seconds: float) -> None:
        """Out of range for a while: the link drops and the sensor stops advertising."""
        await self.device.stop_advertising()
        await self.drop_link()
        await asyncio.sleep(seconds)
        await self.start_advertising()
