"""What a sensor may send that must not stop, corrupt or bury a night's recording (found by
fuzzing the decoders and the session): frames that crashed a decoder, impossible values, stray
control-point messages, a stream that went quiet on a live link, messages without end."""

import asyncio
import struct
import time

import numpy as np
import pytest

from sleepmove.sensor.protocols import movesense, polar
from sleepmove.sensor.protocols._common import Decoded, Decoder
from sleepmove.sensor.recorder import FRAME_MESSAGES, SessionStats
from sleepmove.sensor.recording_files import CsvAppender


def session(tmp_path, family=polar.PolarSession, rate_hz=52):
    stats = SessionStats("x", "polar-pmd", "", rate_hz, 8)
    return family("x", "", CsvAppender(str(tmp_path / "night.csv")), stats, None)


def test_a_compressed_frame_with_an_empty_block_decodes():
    # reference (100, 0, 1000) mg; a block of no deltas (it raised IndexError); one of one
    payload = struct.pack("<3h", 100, 0, 1000) + bytes([8, 0]) + bytes([8, 1, 1, 2, 3])
    frame = bytes([polar.ACC]) + struct.pack("<Q", 10**9) + bytes([0x81]) + payload
    decoded = polar.PolarDecoder(rate_hz=52).decode(frame)
    assert not decoded.problems
    np.testing.assert_allclose(decoded.xyz_g, [[0.1, 0.0, 1.0], [0.101, 0.002, 1.003]])


def test_an_unknown_compressed_frame_type_is_dropped():
    payload = struct.pack("<3h", 5, 6, 7)
    frame = bytes([polar.ACC]) + struct.pack("<Q", 10**9) + bytes([0xFF]) + payload
    decoded = polar.PolarDecoder(rate_hz=52).decode(frame)
    assert decoded.problems == ["PMD frame dropped: unknown compressed frame type 0xff"]


def test_a_decoder_that_fails_gives_a_bad_frame_not_an_exception(tmp_path):
    class Failing(Decoder):
        def decode(self, data: bytes) -> Decoded:
            raise IndexError("index -1 is out of bounds")

    recorder = session(tmp_path, movesense.MovesenseSession)
    recorder.decoder = Failing()
    recorder._on_data(None, bytearray(b"\x02" + bytes(20)))
    assert recorder.stats.bad_frames == 1 and recorder.stats.samples == 0
    assert recorder.stats.messages == ["frame dropped: the decoder failed (IndexError)"]


def test_values_no_sensor_of_its_range_measures_are_not_written(tmp_path):
    recorder = session(tmp_path, movesense.MovesenseSession)
    recorder.decoder = movesense.MovesenseDecoder(52, 1)
    flipped = np.array([[0.0, 0.0, 1.0], [0.0, 3.4e37, 1.0]])  # an exponent bit flipped
    for packet in movesense.encode(1, 1000, flipped) + movesense.encode(1, 1040, flipped[:1]):
        recorder._on_data(None, bytearray(packet))
    assert recorder.stats.bad_frames == 1 and recorder.stats.samples == 0
    assert "values beyond twice the sensor's ±8 g range" in recorder.stats.messages[0]


def test_endless_continuations_are_dropped_not_piled_up():
    decoder = movesense.MovesenseDecoder(52, 1)
    decoder.decode(bytes([movesense.DATA, 1]) + bytes(16))
    problems = [
        decoder.decode(bytes([movesense.CONTINUATION, 1]) + bytes(240)).problems
        for _ in range(100)  # a loop over notifications
    ]
    assert len(decoder.pending) <= movesense.LONGEST_PACKET
    assert not any(problems[:17]) and problems[17] == [  # 16 + 17 x 240 bytes fit, no more
        f"Movesense packet longer than {movesense.LONGEST_PACKET} bytes: dropped"
    ]


class ControlPoint:
    """A sensor that answers each command at once; START refused with `start_status`."""

    def __init__(self, recorder, start_status=0, factor=None):
        self.recorder, self.start_status, self.factor = recorder, start_status, factor

    async def start_notify(self, *args):
        pass

    async def write_gatt_char(self, characteristic, command, response=True):
        status = self.start_status if command[0] == polar.OP_START else 0
        settings = b"" if self.factor is None else bytes([5, 1]) + struct.pack("<f", self.factor)
        self.recorder._on_control(None, bytearray(polar.reply(command[0], status, settings)))


def test_a_stray_control_message_is_no_reply_to_the_next_command(tmp_path):
    recorder = session(tmp_path)
    recorder._on_control(None, bytearray.fromhex("F00102000000"))  # unasked, before the link
    with pytest.raises(RuntimeError, match="start refused: device in charger"):
        asyncio.run(recorder._configure(ControlPoint(recorder, start_status=13)))
    assert any("unasked: ignored" in m for m in recorder.stats.messages)


@pytest.mark.parametrize("factor", [float("nan"), 0.0, 1e30])
def test_an_impossible_factor_in_the_start_reply_is_not_taken(tmp_path, factor):
    recorder = session(tmp_path)
    asyncio.run(recorder._configure(ControlPoint(recorder, factor=factor)))
    assert recorder.decoder.factor == 1.0
    assert any("impossible factor" in m for m in recorder.stats.messages)
    recorder = session(tmp_path)
    asyncio.run(recorder._configure(ControlPoint(recorder, factor=0.5)))
    assert recorder.decoder.factor == 0.5  # a real one is kept


def test_a_flood_of_control_messages_is_bounded(tmp_path):
    recorder = session(tmp_path)
    for _ in range(1000):  # a loop over indications
        recorder._on_control(None, bytearray.fromhex("0F00"))
    assert recorder.control_replies.qsize() == polar.REPLIES_HELD


def test_a_burst_stamped_a_millisecond_apart_is_not_learned_as_a_rate():
    decoder = polar.PolarDecoder(rate_hz=52)
    period_ns, samples = int(36 / 52 * 1e9), np.tile([0, 0, 1000], (36, 1))
    stamp = 10**12
    for _ in range(10):  # good frames
        stamp += period_ns
        assert len(decoder.decode(polar.encode_raw(samples, stamp)).xyz_g) == 36
    kept = 0
    for _ in range(10):  # then a burst of frames stamped 1 ms apart
        stamp += 10**6
        kept += len(decoder.decode(polar.encode_raw(samples, stamp)).xyz_g)
    assert kept == 0


def test_garbled_frames_leave_room_for_the_messages_that_matter(tmp_path):
    recorder = session(tmp_path)
    for size in range(3000):  # a loop over garbled frames, each naming its own size
        recorder._deliver(Decoded.bad(f"PMD frame of {size} bytes is too short"))
    for kind in range(300):  # ...and of different kinds
        recorder._deliver(Decoded.bad(f"kind {chr(65 + kind % 26)}{chr(65 + kind // 26)}"))
    recorder._note("nothing recorded after 03:00:00: the last 10 min of the recording lost")
    assert recorder.stats.messages[-1].startswith("nothing recorded after 03:00:00")
    assert recorder.stats.bad_frames == 3300
    assert recorder.stats.message_counts["PMD frame of # bytes is too short"] == 3000
    assert recorder.frame_messages == FRAME_MESSAGES


def test_a_stream_that_goes_quiet_on_a_live_link_is_started_again(tmp_path):
    from bleak import BleakClient

    from sleepmove.sensor.ble.bumble_backend import BumbleClient, VirtualAir
    from sleepmove.sensor.ble.emulated_polar import EmulatedPolar

    async def night() -> tuple[SessionStats, int]:
        air = VirtualAir()
        await air.start()
        sensor = EmulatedPolar(
            air, "E0:E1:E2:E3:E4:E5", lambda first, n: np.tile([0, 0.1, 0.99], (n, 1)), speed=1
        )
        await sensor.start()
        stats = SessionStats(sensor.address, "polar-pmd", "", 52, 8)

        def connect(address, lost):
            return BleakClient(
                address, backend=BumbleClient, air=air, disconnected_callback=lost, timeout=2
            )

        recorder = polar.PolarSession(
            stats.device, "", CsvAppender(str(tmp_path / "n.csv")), stats, connect
        )
        recorder.quiet_s = 1.0
        start = time.time()
        task = asyncio.create_task(recorder.run(asyncio.Event(), start + 8))
        while stats.state != "streaming":
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)
        sensor.running = False  # the stream stops, nothing said, the link stays
        at_fault = stats.samples
        await task
        return stats, at_fault

    stats, at_fault = asyncio.run(asyncio.wait_for(night(), 60))
    assert stats.reconnections >= 1
    assert any("no data for 1 s while linked" in m for m in stats.messages)
    assert stats.samples > at_fault + 52  # it streamed again after the restart


@pytest.mark.parametrize("step_s", [-30.0, -59.0])
def test_a_clock_set_back_under_a_minute_is_anchored_anew_and_its_loss_counted(tmp_path, step_s):
    """Set back 5-59 s while linked, a Polar's frames were dropped for that long, uncounted,
    and the rest of the night was written that much early: taken for a link's backlog."""
    now = [1.7e9]
    stats = SessionStats("x", "polar-pmd", "", 52, 8)
    writer = CsvAppender(str(tmp_path / "night.csv"))
    recorder = polar.PolarSession("x", "", writer, stats, None, clock=lambda: now[0])
    samples, period = np.tile([10, -980, 100], (36, 1)), 36 / 52
    stamp = 10**17
    for index in range(600):  # a loop over frames: 7 minutes, set back from frame 200
        stamp += int(period * 1e9)
        now[0] += period
        shifted = stamp + int(step_s * 1e9) * (index >= 200)
        recorder._on_data(None, bytearray(polar.encode_raw(samples, shifted)))
    writer.close()
    assert abs(recorder.last_time - now[0]) < 2.0  # not step_s early for the rest of the night
    lost = 600 * 36 / 52 - stats.samples / 52
    assert 5.0 < lost < 15.0 and stats.data_loss_s == pytest.approx(lost, abs=1.0)
    assert any("clock jumped" in m for m in stats.messages)


def test_a_frame_repeated_is_no_clock_set_back(tmp_path):
    now = [1.7e9]
    stats = SessionStats("x", "polar-pmd", "", 52, 8)
    writer = CsvAppender(str(tmp_path / "night.csv"))
    recorder = polar.PolarSession("x", "", writer, stats, None, clock=lambda: now[0])
    frame = bytearray(polar.encode_raw(np.tile([0, 0, 1000], (36, 1)), 10**17))
    for _ in range(100):  # the same frame over 25 s: never written twice
        recorder._on_data(None, frame)
        now[0] += 0.25
    writer.close()
    assert stats.samples == 36 and stats.bad_frames == 99


def test_a_metamotion_of_an_unknown_chip_is_asked_for_unpacked_samples(tmp_path):
    """A chip byte other than BMI160's or BMI270's chose a packed register the board never
    sends: the night's samples went unread, no message said why."""
    from sleepmove.sensor.protocols import metamotion

    recorder = session(tmp_path, metamotion.MetaMotionSession, rate_hz=50)
    written = []

    class Board:
        async def start_notify(self, characteristic, handler):
            self.handler = handler

        async def write_gatt_char(self, characteristic, command, response=True):
            written.append(bytes(command))
            if command == metamotion.MODULE_INFO:
                self.handler(None, bytearray([3, 0x80, 7]))  # chip 7: neither known one

    asyncio.run(recorder._configure(Board()))
    assert bytes([3, 0x04, 1]) in written  # the unpacked data register, which every chip has
    assert any("accelerometer chip 7 unknown" in m for m in recorder.stats.messages)
    recorder._on_data(None, bytearray(metamotion.encode(np.array([[0.0, 0.0, 1.0]]), 4, 7)))
    assert recorder.stats.samples == 1
