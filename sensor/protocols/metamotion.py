"""MbientLab MetaMotion (MetaWear): BMI160 / BMI270 accelerometer, no timestamps."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import numpy as np

from sleepmove.sensor.protocols._common import Decoded, Decoder
from sleepmove.sensor.recorder import SensorSession
from sleepmove.sensor.registry import EmulatedModel, SensorFamily

SERVICE = "326a9000-85cb-9195-d9dd-464cfbbae75a"
COMMAND = "326a9001-85cb-9195-d9dd-464cfbbae75a"
NOTIFY = "326a9006-85cb-9195-d9dd-464cfbbae75a"
MODULE = 0x03
LSB_PER_G = {2: 16384, 4: 8192, 8: 4096, 16: 2048}
BMI160, BMI270 = 1, 4
MODULE_INFO = bytes([MODULE, 0x80])
STOP = [bytes([3, 1, 0]), bytes([3, 2, 0, 1]), bytes([3, 4, 0])]


def start_commands(chip: int, packed: bool = True) -> list[bytes]:
    """50 Hz, ±4 g (the published sequence); stop first, the board keeps its state."""
    data_register = (0x1C if chip == BMI160 else 0x05) if packed else 0x04
    return [
        *STOP,
        bytes([3, 3, 0x27, 0x05]),
        bytes([3, data_register, 1]),
        bytes([3, 2, 1, 0]),
        bytes([3, 1, 1]),
    ]


@dataclass
class MetaMotionDecoder(Decoder):
    range_g: int = 4
    chip: int = BMI160

    def decode(self, message: bytes) -> Decoded:
        if len(message) < 2 or message[0] != MODULE:
            return Decoded.bad("not an accelerometer message")
        register = message[1] & 0x7F
        packed_register = 0x1C if self.chip == BMI160 else 0x05
        if register == 0x04:
            expected = 6
        elif register == packed_register:
            expected = 18
        else:
            return Decoded()  # other replies of the module carry no samples
        payload = message[2:]
        if len(payload) != expected:
            return Decoded.bad(f"accelerometer payload of {len(payload)} bytes, not {expected}")
        raw = np.frombuffer(payload, dtype="<i2").reshape(-1, 3).astype(float)
        return Decoded(raw / LSB_PER_G[self.range_g])


def encode(xyz_g: np.ndarray, range_g: int = 4, chip: int = BMI160) -> bytes:
    values = np.round(np.asarray(xyz_g) * LSB_PER_G[range_g]).astype("<i2")
    register = 0x04 if len(values) == 1 else (0x1C if chip == BMI160 else 0x05)
    return bytes([MODULE, register]) + values.tobytes()


class MetaMotionSession(SensorSession):
    """The board keeps its state across links, so stop, then start; no stamps."""

    async def _configure(self, client) -> None:
        # Which accelerometer (BMI160 or BMI270) decides the packed-data register.
        self.chip: asyncio.Future = asyncio.get_running_loop().create_future()
        await client.start_notify(NOTIFY, self._on_data)
        await client.write_gatt_char(COMMAND, MODULE_INFO, response=True)
        chip = await asyncio.wait_for(self.chip, 5.0)
        packed = chip in (BMI160, BMI270)
        if not packed:
            # Its packed register unknown, the samples it sent went unread all night, no
            # message said why: one sample a message, the register every chip has
            self._note(f"accelerometer chip {chip} unknown: unpacked samples asked for")
        self.decoder = MetaMotionDecoder(range_g=self.stats.range_g, chip=chip)
        for command in start_commands(chip, packed):  # a loop over commands
            await client.write_gatt_char(COMMAND, command, response=True)

    async def _stop_stream(self, client) -> None:
        await self._write_all(client, COMMAND, STOP)

    def _on_data(self, _, data: bytearray) -> None:
        message = bytes(data)
        if message[:2] == MODULE_INFO and len(message) >= 3:
            if not self.chip.done():
                self.chip.set_result(message[2])
            return
        if self.chip.done():
            self._deliver(self.decoded(message))


def _emulated(advertised: str, chip: int) -> EmulatedModel:
    def build(air, address, source, rate_hz, speed, name):
        from sleepmove.sensor.ble.emulated_others import EmulatedMetaMotion

        return EmulatedMetaMotion(air, address, source, speed, name, chip=chip)

    return EmulatedModel(advertised, build)


FAMILY = SensorFamily(
    name="metamotion",
    label="metamotion",
    title="MbientLab MetaMotion (MetaWear; BMI160 or BMI270)",
    service=SERVICE,
    characteristics={"command": COMMAND, "notify": NOTIFY},
    scan_names=("metawear", "metamotion"),
    rates_hz=(50,),  # the published start sequence sets 50 Hz
    range_g=4,
    stamped=False,
    decoder=lambda rate_hz: MetaMotionDecoder(),
    session=MetaMotionSession,
    emulated={
        "metamotion": _emulated("MetaWear EMU", BMI160),
        "metamotion-bmi270": _emulated("MetaWear BMI270 EMU", BMI270),
    },
)
