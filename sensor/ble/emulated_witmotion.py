"""An emulated WitMotion WT901BLE: streams 20-byte frames, split across notifications."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np
from bumble.core import UUID, AdvertisingData
from bumble.gatt import Characteristic, CharacteristicValue, Service

from sleepmove.sensor.ble.bumble_backend import VirtualAir, listened, notifications_scale
from sleepmove.sensor.protocols import witmotion

CODE_RATES = {code: rate for rate, code in witmotion.RATE_CODES.items()}


class EmulatedWitMotion:
    """Plays `source(first, count)` at the rate set by the rate command (10 Hz until then)."""

    SERVICE = witmotion.SERVICE

    def __init__(
        self,
        air: VirtualAir,
        address: str,
        source: Callable[[int, int], np.ndarray],
        speed: float = 1.0,
        name: str = "WT901BLE EMU",
        chunk: int = 13,
    ) -> None:
        self.air = air
        self.device = air.new_device(address, name)
        self.source = source
        self.speed = speed
        self.rate_hz = 10
        self.scale = notifications_scale(speed)
        # Notification size: frames split across notifications (more of them when fast).
        self.chunk = chunk * (1 if self.scale == 1 else 18)
        self.sent = 0
        self.first_streamed: int | None = None  # index of the first sample a subscriber got
        self.played_s = 0.0  # the sensor's own time: what it has measured so far
        self.commands: list[bytes] = []
        self.takes_rate = True  # False: its rate command is acknowledged, not taken (10 Hz)
        self.data = Characteristic(
            UUID(witmotion.NOTIFY), Characteristic.Properties.NOTIFY, Characteristic.READABLE, b""
        )
        self.write = Characteristic(
            UUID(witmotion.WRITE),
            Characteristic.Properties.WRITE,
            Characteristic.WRITEABLE,
            CharacteristicValue(write=self._on_command),
        )
        self.device.add_service(Service(UUID(witmotion.SERVICE), [self.data, self.write]))
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        await self.device.power_on()
        advertising = bytes(
            AdvertisingData(
                [
                    (AdvertisingData.COMPLETE_LOCAL_NAME, self.device.name.encode()),
                    (
                        AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
                        UUID(self.SERVICE).to_bytes(force_128=True),
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
        self.air.names[self.address] = self.device.name
        self._task = asyncio.get_event_loop().create_task(self._stream())

    @property
    def address(self) -> str:
        return str(self.device.random_address).split("/")[0]

    def _on_command(self, connection, value: bytes) -> None:
        value = bytes(value)
        self.commands.append(value)
        if value[:3] == bytes([0xFF, 0xAA, 0x03]) and value[3] in CODE_RATES and self.takes_rate:
            self.rate_hz = CODE_RATES[value[3]]

    async def _stream(self) -> None:
        """Always measuring, like the real module; 5 samples per burst of notifications."""
        loop = asyncio.get_event_loop()
        due = loop.time()
        self.sent = self.air.samples_since_epoch(self.rate_hz, self.speed)
        while True:
            block = 5 * self.scale
            xyz = self.source(self.sent, block)
            first = self.sent
            self.sent += block
            payload = witmotion.encode(xyz)
            # Only whole blocks go out: a subscriber that came mid-block gets the next one.
            if self.device.connections and listened(self.device, self.data):
                if self.first_streamed is None:
                    self.first_streamed = first
                for start in range(0, len(payload), self.chunk):  # a loop over notifications
                    await self.device.notify_subscribers(
                        self.data, payload[start : start + self.chunk]
                    )
            self.played_s += block / self.rate_hz
            due += block / self.rate_hz / self.speed
            await asyncio.sleep(max(due - loop.time(), 0))

    async def drop_link(self) -> None:
        for connection in list(self.device.connections.values()):
            await connection.disconnect()
