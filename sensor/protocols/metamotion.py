"""MbientLab MetaMotion (MetaWear): BMI160 / BMI270 accelerometer, no timestamps."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sleepmove.sensor.protocols.common import Decoded

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
class MetaMotionDecoder:
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
