"""Emulated Movesense, MetaMotion and PineTime sensors (each through its own encoder)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np
from bumble.core import UUID, AdvertisingData
from bumble.gatt import Characteristic, CharacteristicValue, Service

from sleepmove.sensor.ble.bumble_backend import VirtualAir, listened, notifications_scale
from sleepmove.sensor.ble.emulated_polar import BATTERY_LEVEL, BATTERY_SERVICE
from sleepmove.sensor.protocols import metamotion, movesense, pinetime


class EmulatedSensor:
    """Advertising, a battery level, and a paced stream of samples from `source`."""

    rate_hz = 52.0
    block = 8  # samples per notification
    SERVICE = ""  # the service it advertises

    def __init__(
        self,
        air: VirtualAir,
        address: str,
        source: Callable[[int, int], np.ndarray],
        speed: float,
        name: str,
        battery: int = 87,
    ) -> None:
        self.air = air
        self.device = air.new_device(address, name)
        self.source = source
        self.speed = speed
        self.sent = 0
        self.first_streamed: int | None = None  # index of the first sample a subscriber got
        self.played_s = 0.0  # the sensor's own time: what it has measured so far
        self.scale = notifications_scale(speed)
        self.streaming = False
        self.commands: list[bytes] = []
        self._task: asyncio.Task | None = None
        self.link_drops = 0
        # One output queue, as in the sensor: a packet's parts go out together, and a reply to
        # a command waits for the packet in flight.
        self.sending = asyncio.Lock()
        self.device.on("connection", self._on_connection)
        self.battery = Characteristic(
            UUID(BATTERY_LEVEL),
            Characteristic.Properties.READ,
            Characteristic.READABLE,
            bytes([battery]),
        )
        self.device.add_service(Service(UUID(BATTERY_SERVICE), [self.battery]))

    @property
    def address(self) -> str:
        return str(self.device.random_address).split("/")[0]

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
        self._task = asyncio.get_event_loop().create_task(self._clock())

    async def _clock(self) -> None:
        """Always measuring; samples reach the link only while streaming to a connection."""
        loop = asyncio.get_event_loop()
        due = loop.time()
        self.sent = self.air.samples_since_epoch(self.rate_hz, self.speed)
        while True:
            xyz = self.source(self.sent, self.block)
            first = self.sent
            self.sent += self.block
            # Only whole blocks go out: a subscriber that came mid-block gets the next one.
            if self.streaming and self.device.connections and listened(self.device, self.data):
                if self.first_streamed is None:
                    self.first_streamed = first
                drops = self.link_drops
                async with self.sending:
                    for packet in self.encode(first, xyz):
                        if self.link_drops != drops:  # the rest went down with the link
                            break
                        await self.device.notify_subscribers(self.data, packet)
            self.played_s += self.block / self.rate_hz
            due += self.block / self.rate_hz / self.speed
            await asyncio.sleep(max(due - loop.time(), 0))

    def encode(self, first: int, xyz: np.ndarray) -> list[bytes]:
        raise NotImplementedError

    def _on_connection(self, connection) -> None:
        connection.on("disconnection", self._on_disconnection)

    def _on_disconnection(self, _reason: int) -> None:
        self.link_drops += 1

    async def _reply(self, packet: bytes) -> None:
        async with self.sending:
            await self.device.notify_subscribers(self.data, packet)

    async def drop_link(self) -> None:
        for connection in list(self.device.connections.values()):
            await connection.disconnect()


class EmulatedMovesense(EmulatedSensor):
    """Subscribe/unsubscribe on the write characteristic; data packets with continuations."""

    SERVICE = movesense.SERVICE

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.block = 8 * self.scale
        self.reference = 0
        self.data = Characteristic(
            UUID(movesense.NOTIFY), Characteristic.Properties.NOTIFY, Characteristic.READABLE, b""
        )
        write = Characteristic(
            UUID(movesense.WRITE),
            Characteristic.Properties.WRITE,
            Characteristic.WRITEABLE,
            CharacteristicValue(write=self._on_command),
        )
        self.device.add_service(Service(UUID(movesense.SERVICE), [write, self.data]))

    def _on_disconnection(self, reason: int) -> None:
        super()._on_disconnection(reason)
        self.streaming = False  # it forgets its subscriptions: the host subscribes again

    def _on_command(self, connection, value: bytes) -> None:
        value = bytes(value)
        self.commands.append(value)
        if value[:1] == b"\x01" and len(value) > 2:
            path = value[2:].decode("ascii", errors="replace")
            self.rate_hz = float(path.rsplit("/", 1)[-1]) if path.startswith("/Meas/Acc/") else 52
            self.reference = value[1]
            self.streaming = True
            status = b"\xc8\x00"  # 200
        elif value[:1] == b"\x02":
            self.streaming = False
            status = b"\xc8\x00"
        else:
            status = b"\x90\x01"  # 400
        reference = value[1] if len(value) > 1 else 0
        asyncio.get_event_loop().create_task(
            self._reply(bytes([movesense.RESULT, reference]) + status)
        )

    def encode(self, first: int, xyz: np.ndarray) -> list[bytes]:
        stamp_ms = int(first / self.rate_hz * 1000)
        # Small packets (continuations) at ordinary speeds; faster, up to the MTU.
        payload = 64 if self.scale == 1 else 244
        return movesense.encode(self.reference, stamp_ms, xyz, mtu_payload=payload)


class EmulatedMetaMotion(EmulatedSensor):
    """Module 0x03 commands; packed samples (3 per message); state kept across links."""

    SERVICE = metamotion.SERVICE

    def __init__(self, *args, chip: int = metamotion.BMI160, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.chip = chip
        self.rate_hz = 50.0
        self.block = 3 * self.scale  # packed messages of 3 samples each
        self.data = Characteristic(
            UUID(metamotion.NOTIFY), Characteristic.Properties.NOTIFY, Characteristic.READABLE, b""
        )
        command = Characteristic(
            UUID(metamotion.COMMAND),
            Characteristic.Properties.WRITE,
            Characteristic.WRITEABLE,
            CharacteristicValue(write=self._on_command),
        )
        self.device.add_service(Service(UUID(metamotion.SERVICE), [command, self.data]))

    def _on_command(self, connection, value: bytes) -> None:
        value = bytes(value)
        self.commands.append(value)
        if value == bytes([3, 1, 1]):
            self.streaming = True
        elif value == bytes([3, 1, 0]):
            self.streaming = False
        elif value == metamotion.MODULE_INFO:
            asyncio.get_event_loop().create_task(self._reply(bytes([3, 0x80, self.chip])))

    def encode(self, first: int, xyz: np.ndarray) -> list[bytes]:
        return [metamotion.encode(xyz[i : i + 3], chip=self.chip) for i in range(0, len(xyz), 3)]


class EmulatedPineTime(EmulatedSensor):
    """InfiniTime motion: one sample per notification, about 10 Hz."""

    SERVICE = pinetime.SERVICE

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rate_hz = 10.0
        self.block = self.scale  # one sample per notification, several per tick when fast
        self.streaming = True  # notifies whoever subscribed
        self.data = Characteristic(
            UUID(pinetime.MOTION), Characteristic.Properties.NOTIFY, Characteristic.READABLE, b""
        )
        self.device.add_service(Service(UUID(pinetime.SERVICE), [self.data]))

    def encode(self, first: int, xyz: np.ndarray) -> list[bytes]:
        return [pinetime.encode(sample) for sample in xyz]  # a loop over notifications
