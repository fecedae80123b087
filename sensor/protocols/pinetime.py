"""PineTime (InfiniTime) motion service: coarse, notified only on change, about 10 Hz at most.

Good for coarse movement only: the rate is too low and irregular for brief jerks, and
sleepmove refuses recordings under 10 Hz.
"""

from __future__ import annotations

import numpy as np

from sleepmove.sensor.protocols._common import Decoded, Decoder
from sleepmove.sensor.recorder import SensorSession
from sleepmove.sensor.registry import EmulatedModel, SensorFamily

SERVICE = "00030000-78fc-48fe-8e23-433b3a1942d0"
MOTION = "00030002-78fc-48fe-8e23-433b3a1942d0"
LSB_PER_G = 1024


def decode(value: bytes) -> Decoded:
    if len(value) != 6:
        return Decoded.bad(f"motion value of {len(value)} bytes, not 6")
    raw = np.frombuffer(value, dtype="<i2").reshape(1, 3).astype(float)
    return Decoded(raw / LSB_PER_G)


def encode(xyz_g: np.ndarray) -> bytes:
    return np.round(np.asarray(xyz_g) * LSB_PER_G).astype("<i2").tobytes()


class PineTimeDecoder(Decoder):
    def decode(self, data: bytes) -> Decoded:
        return decode(data)


class PineTimeSession(SensorSession):
    """Notified on change, about 10 Hz; no stamps."""

    streams_steadily = False  # a still wrist sends nothing: silence is no lost stream

    async def _configure(self, client) -> None:
        self.decoder = PineTimeDecoder()
        await client.start_notify(MOTION, self._on_data)

    async def _stop_stream(self, client) -> None:
        await self._unsubscribe(client, MOTION)


def _build(air, address, source, rate_hz, speed, name):
    from sleepmove.sensor.ble.emulated_others import EmulatedPineTime

    return EmulatedPineTime(air, address, source, speed, name)


FAMILY = SensorFamily(
    name="pinetime",
    label="pinetime (coarse)",
    title="PineTime (InfiniTime motion service)",
    service=SERVICE,
    characteristics={"motion": MOTION},
    scan_names=("infinitime", "pinetime"),
    rates_hz=(10,),  # at most about 10 Hz, notified on change
    range_g=8,
    stamped=False,
    decoder=lambda rate_hz: PineTimeDecoder(),
    session=PineTimeSession,
    emulated={"pinetime": EmulatedModel("InfiniTime EMU", _build)},
    note="coarse: about 10 Hz, on change",
)
