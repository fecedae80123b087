"""Movesense sensor-data GATT app: subscribe to /Meas/Acc/<rate>, data in m/s² with stamps."""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass

import numpy as np

from sleepmove.sensor.protocols._common import Decoded, Decoder
from sleepmove.sensor.recorder import SensorSession
from sleepmove.sensor.registry import EmulatedModel, SensorFamily

SERVICE = "34802252-7185-4d5d-b431-630e7050e8f0"
WRITE = "34800001-7185-4d5d-b431-630e7050e8f0"
NOTIFY = "34800002-7185-4d5d-b431-630e7050e8f0"
GRAVITY = 9.80665
RESULT, DATA, CONTINUATION = 1, 2, 3


def subscribe(reference: int, rate_hz: int) -> bytes:
    return bytes([1, reference]) + f"/Meas/Acc/{rate_hz}".encode("ascii")


def unsubscribe(reference: int) -> bytes:
    return bytes([2, reference])


LONGEST_PACKET = 4096  # bytes of one data packet with its continuations (a few hundred are)


@dataclass
class MovesenseDecoder(Decoder):
    """Reassembles continuation packets; times are the sensor's milliseconds since start.

    The packet carries no sample count, so a data packet is decoded when the next begins.
    """

    rate_hz: float
    reference: int = 1
    pending: bytes = b""

    def decode(self, packet: bytes) -> Decoded:
        """Samples of the previous data packet, once the next one shows it was complete."""
        if len(packet) < 2:
            return Decoded.bad("Movesense packet too short")
        code, reference = packet[0], packet[1]
        if code == RESULT:
            status = struct.unpack_from("<H", packet, 2)[0] if len(packet) >= 4 else -1
            return Decoded(problems=[] if status == 200 else [f"command result {status}"])
        if reference != self.reference:
            return Decoded.bad(f"packet for subscription {reference}, not {self.reference}")
        if code == CONTINUATION and self.pending:
            if len(self.pending) + len(packet) - 2 > LONGEST_PACKET:
                # A packet holds a few hundred bytes; endless continuations piled up (7 MB,
                # a minute of blocked event loop): the packet is dropped, its start with it
                self.pending = b""
                return Decoded.bad(f"Movesense packet longer than {LONGEST_PACKET} bytes: dropped")
            self.pending += packet[2:]
            return Decoded()
        if code != DATA:
            return Decoded.bad(f"unexpected Movesense packet code {code}")
        finished = self.flush()
        self.pending = packet[2:]
        return finished

    def flush(self) -> Decoded:
        """The data packet held back (call at the end of the stream)."""
        body, self.pending = self.pending, b""
        if not body:
            return Decoded()
        if len(body) < 4 or (len(body) - 4) % 12:
            return Decoded.bad(f"Movesense data of {len(body)} bytes is not whole samples")
        stamp_ms = struct.unpack_from("<I", body, 0)[0]
        values = np.frombuffer(body[4:], dtype="<f4").reshape(-1, 3).astype(float)
        if not np.isfinite(values).all():
            return Decoded.bad("Movesense packet with non-finite values")
        times = stamp_ms / 1000.0 + np.arange(len(values)) / self.rate_hz
        return Decoded(values / GRAVITY, times)


def encode(reference: int, stamp_ms: int, xyz_g: np.ndarray, mtu_payload: int = 244) -> list[bytes]:
    """A data packet (and continuations when it exceeds the payload size)."""
    body = struct.pack("<I", stamp_ms) + (np.asarray(xyz_g) * GRAVITY).astype("<f4").tobytes()
    chunk = mtu_payload - 2
    packets = [bytes([DATA, reference]) + body[:chunk]]
    for first in range(chunk, len(body), chunk):
        packets.append(bytes([CONTINUATION, reference]) + body[first : first + chunk])
    return packets


class MovesenseSession(SensorSession):
    """The GATT sensor-data app: subscribe again after every reconnection."""

    REFERENCE = 1
    REPLY_WAIT_S = 1.0

    async def _configure(self, client) -> None:
        self.decoder = MovesenseDecoder(self.stats.rate_hz, self.REFERENCE)
        self.replied = asyncio.Event()
        await client.start_notify(NOTIFY, self._on_data)
        await client.write_gatt_char(
            WRITE, subscribe(self.REFERENCE, self.stats.rate_hz), response=True
        )

    async def _stop_stream(self, client) -> None:
        self.replied.clear()
        try:
            await client.write_gatt_char(WRITE, unsubscribe(self.REFERENCE), response=True)
            # The write is acknowledged before the rest of a packet in flight arrives; the
            # sensor's reply on the data characteristic comes after it.
            await asyncio.wait_for(self.replied.wait(), self.REPLY_WAIT_S)
        except asyncio.TimeoutError:
            self._note(f"stop: no reply to unsubscribe within {self.REPLY_WAIT_S:g} s")
        except Exception as error:  # the link may already be gone
            self._note(f"stop: {error}"[:200])
        self._deliver(self.decoder.flush())

    def _on_data(self, _, data: bytearray) -> None:
        if data[:1] == bytes([RESULT]):
            self.replied.set()
        self._deliver(self.decoded(data))


def _build(air, address, source, rate_hz, speed, name):
    from sleepmove.sensor.ble.emulated_others import EmulatedMovesense

    return EmulatedMovesense(air, address, source, speed, name)


FAMILY = SensorFamily(
    name="movesense",
    label="movesense",
    title="Movesense (firmware with the GATT sensor-data app)",
    service=SERVICE,
    characteristics={"write": WRITE, "notify": NOTIFY},
    scan_names=("movesense",),
    rates_hz=(13, 26, 52, 104, 208, 416, 833, 1666),
    range_g=8,
    stamped=True,
    decoder=lambda rate_hz: MovesenseDecoder(rate_hz),
    session=MovesenseSession,
    emulated={"movesense": EmulatedModel("Movesense EMU", _build)},
)
