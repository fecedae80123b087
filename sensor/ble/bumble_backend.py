"""A bleak backend over bumble: real ATT/GATT between a virtual central and emulated sensors.

No Bluetooth hardware or kernel support is needed: `VirtualAir` holds one in-memory link
with a central controller; emulated peripherals join it. `BleakClient(address,
backend=BumbleClient, air=air)` and `BleakScanner(backend=BumbleScanner, air=air)` then run
the real recording code through the real bleak API.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError
from bleak.uuids import normalize_uuid_str
from bumble import att, controller, hci, host
from bumble.controller import Controller
from bumble.core import UUID
from bumble.device import Device, Peer
from bumble.gatt import Characteristic
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

# The emulation's own chatter ("received notification with no subscriber" as a link goes
# down) reached the terminal through logging's last-resort handler, beside the recorder's
# lines; what the recorder makes of the link it reports itself.
logging.getLogger("bumble").addHandler(logging.NullHandler())


def _debug_lines_made_free() -> None:
    """bumble builds the debug line of every HCI packet and ATT PDU (colours, every field as
    text) in f-strings, logged or not: 40 % of an emulated night's streaming CPU, and a
    loaded machine then fell behind a night played at 100 x. Unless bumble's debug log is
    on, the colouring and the field listing cost nothing; what bumble does is unchanged."""
    if logging.getLogger("bumble").isEnabledFor(logging.DEBUG):
        return
    for module in (att, controller, hci, host):  # each imported `color` by name
        if callable(getattr(module, "color", None)):
            module.color = lambda text, *_, **__: text
    if callable(getattr(hci.HCI_Object, "format_fields", None)):
        hci.HCI_Object.format_fields = staticmethod(lambda *_, **__: "")


_debug_lines_made_free()

PROPERTY_NAMES = {
    Characteristic.Properties.READ: "read",
    Characteristic.Properties.WRITE_WITHOUT_RESPONSE: "write-without-response",
    Characteristic.Properties.WRITE: "write",
    Characteristic.Properties.NOTIFY: "notify",
    Characteristic.Properties.INDICATE: "indicate",
}


def uuid_text(uuid: UUID) -> str:
    """bleak's spelling: 128-bit, lower case (bumble prints SIG UUIDs as 'UUID-16:2A19')."""
    text = uuid.to_hex_str().replace("-", "").lower()
    if len(text) == 32:
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
    return normalize_uuid_str(text)


def listened(device: Device, characteristic: Characteristic) -> bool:
    """Whether a connected central has enabled notifications or indications of it."""
    return any(
        cccds.get(characteristic.handle, b"\x00")[0] & 0x03
        for cccds in device.gatt_server.subscribers.values()
    )


def notifications_scale(speed: float) -> int:
    """How many times more samples an emulated sensor puts in one notification (or one
    burst of them) when time runs `speed` times faster: the in-memory link and the recorder
    cost about the same per notification, so a night at hundreds of times real time would
    otherwise take more notifications a second than one core can carry."""
    return max(1, int(speed // 100))


class VirtualAir:
    """One in-memory radio: a central (our 'adapter') and any number of emulated sensors."""

    CENTRAL_ADDRESS = "C0:C0:C0:C0:C0:C0"

    def __init__(self) -> None:
        self.link = LocalLink()
        self._count = 0
        self.central = self.new_device(self.CENTRAL_ADDRESS)
        self.names: dict[str, str] = {}
        self.epoch: float | None = None  # loop time of the emulated night's first sample

    def new_device(self, address: str, name: str | None = None) -> Device:
        self._count += 1
        controller = Controller(f"C{self._count}", link=self.link, public_address=address)
        device = Device(address=Address(address), host=Host(controller, AsyncPipeSink(controller)))
        if name:
            device.name = name
            self.names[address] = name
        return device

    async def start(self) -> None:
        await self.central.power_on()
        self.epoch = asyncio.get_event_loop().time()

    def samples_since_epoch(self, rate_hz: float, speed: float) -> int:
        """The emulated night's samples a sensor on this air has measured by now. Every
        sensor plays the one night on the one clock from `epoch`, as sensors on two legs see
        one night at once: each playing from its own start, two legs connected one after the
        other were seconds of night apart at 100 x speed, a clock offset the alignment found."""
        if self.epoch is None:
            return 0
        elapsed = asyncio.get_event_loop().time() - self.epoch
        return max(int(round(elapsed * rate_hz * speed)), 0)


class BumbleScanner(BaseBleakScanner):
    def __init__(
        self,
        detection_callback,
        service_uuids,
        scanning_mode="active",
        *,
        air: VirtualAir,
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._air = air

    async def start(self) -> None:
        self._air.central.on("advertisement", self._on_advertisement)
        await self._air.central.start_scanning(filter_duplicates=False)

    async def stop(self) -> None:
        await self._air.central.stop_scanning()
        self._air.central.remove_listener("advertisement", self._on_advertisement)

    def _on_advertisement(self, advertisement) -> None:
        address = str(advertisement.address).split("/")[0]
        name = self._air.names.get(address)
        data = advertisement.data
        # Service UUID lists (16- and 128-bit, complete or not): each entry is a list of UUIDs.
        lists = [data.get_all(kind) or [] for kind in (0x02, 0x03, 0x06, 0x07)]
        services = [uuid_text(u) for found in lists for entry in found for u in entry]
        adv = AdvertisementData(
            local_name=name,
            manufacturer_data={},
            service_data={},
            service_uuids=services,
            tx_power=None,
            rssi=advertisement.rssi,
            platform_data=(advertisement,),
        )
        if not self.is_allowed_uuid(services):
            return
        device = self.create_or_update_device(address, address, name, advertisement, adv)
        self.call_detection_callbacks(device, adv)


class BumbleClient(BaseBleakClient):
    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        air: VirtualAir,
        mtu: int = 247,
        **kwargs: Any,
    ) -> None:
        super().__init__(address_or_ble_device, **kwargs)
        self._air = air
        self._wanted_mtu = mtu
        self._connection = None
        self._peer: Peer | None = None
        self._mtu = 23
        self._proxies: dict[int, Any] = {}
        self._subscribers: dict[int, Any] = {}

    @property
    def mtu_size(self) -> int:
        return self._mtu

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool = False, **kwargs: Any) -> None:
        try:
            self._connection = await asyncio.wait_for(
                self._air.central.connect(Address(self.address)), self._timeout
            )
        except (asyncio.TimeoutError, Exception) as error:
            raise BleakDeviceNotFoundError(self.address, f"cannot connect: {error}") from error
        self._connection.on("disconnection", self._on_disconnection)
        self._peer = Peer(self._connection)
        self._mtu = await self._peer.request_mtu(self._wanted_mtu)
        await self._peer.discover_services()
        collection = BleakGATTServiceCollection()
        for service in self._peer.services:
            bleak_service = BleakGATTService(service, service.handle, uuid_text(service.uuid))
            collection.add_service(bleak_service)
            for proxy in await self._peer.discover_characteristics(service=service):
                await proxy.discover_descriptors()
                names = [n for flag, n in PROPERTY_NAMES.items() if proxy.properties & flag]
                characteristic = BleakGATTCharacteristic(
                    proxy,
                    proxy.handle,
                    uuid_text(proxy.uuid),
                    names,
                    lambda: self._mtu - 3,
                    bleak_service,
                )
                collection.add_characteristic(characteristic)
                self._proxies[proxy.handle] = proxy
                for descriptor in proxy.descriptors:
                    collection.add_descriptor(
                        BleakGATTDescriptor(
                            descriptor,
                            descriptor.handle,
                            uuid_text(descriptor.type),
                            characteristic,
                        )
                    )
        self.services = collection

    def _on_disconnection(self, reason: int) -> None:
        self._connection = None
        self._peer = None
        if self._disconnected_callback:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        if self._connection is not None:
            await self._connection.disconnect()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("the emulated sensors need no pairing")

    async def unpair(self) -> None:
        raise NotImplementedError("the emulated sensors need no pairing")

    def _proxy(self, characteristic: BleakGATTCharacteristic):
        if self._peer is None:
            raise BleakError("not connected")
        return self._proxies[characteristic.handle]

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, **kwargs: Any
    ) -> bytearray:
        return bytearray(await self._peer.read_value(self._proxy(characteristic)))

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data, response: bool
    ) -> None:
        await self._peer.write_value(
            self._proxy(characteristic), bytes(data), with_response=response
        )

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, **kwargs: Any
    ) -> bytearray:
        return bytearray(await self._peer.read_value(descriptor.obj))

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data) -> None:
        await self._peer.write_value(descriptor.obj, bytes(data), with_response=True)

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback, **kwargs: Any
    ) -> None:
        proxy = self._proxy(characteristic)

        def deliver(value: bytes) -> None:
            callback(bytearray(value))

        self._subscribers[characteristic.handle] = deliver
        await self._peer.subscribe(
            proxy, deliver, prefer_notify="notify" in characteristic.properties
        )

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        subscriber = self._subscribers.pop(characteristic.handle, None)
        if subscriber and self._peer is not None:
            await self._peer.unsubscribe(self._proxy(characteristic), subscriber)
