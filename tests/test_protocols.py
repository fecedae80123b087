"""BLE protocol frames: exact command bytes, round trips through our encoders, garbage."""

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sleepmove.sensor.protocols import metamotion, movesense, pinetime, polar, witmotion

MILLI_G = np.array(
    [
        [12, -980, 150],
        [15, -975, 149],
        [-300, -900, 400],
        [-298, -905, 395],
        [2000, 0, -2000],
        [2001, 1, -1999],
    ]
)


def test_polar_start_commands_are_the_published_bytes():
    # ble-sensors.md: H10 at 200 Hz and +-8 g, Verity Sense at 52 Hz, +-8 g, 3 channels
    assert polar.start_command(200, 8) == bytes.fromhex("0202 0001C800 01011000 02010800")
    assert polar.start_command(52, 8, channels=3) == bytes.fromhex(
        "0202 00013400 01011000 02010800 040103"
    )
    assert polar.STOP_COMMAND == bytes.fromhex("0302")
    assert polar.QUERY_SETTINGS == bytes.fromhex("0102")


def test_polar_control_replies():
    assert polar.parse_control(bytes.fromhex("F002020600")).meaning == "already in state"
    assert polar.parse_control(bytes.fromhex("F002020D00")).meaning == "device in charger"
    assert polar.parse_control(bytes.fromhex("0102")) == "the sensor stopped the stream itself"
    factor = struct.pack("<f", 0.5)
    reply = polar.parse_control(bytes.fromhex("F002020000") + bytes([5, 1]) + factor)
    assert reply.ok and reply.settings == {"factor": [0.5]}
    settings = polar.parse_settings(bytes.fromhex("0002 3400 1A00 0101 1000 0201 0800"))
    assert settings == {"rate_hz": [52, 26], "resolution": [16], "range_g": [8]}


def test_polar_raw_frame_round_trip_and_back_filled_times():
    decoder = polar.PolarDecoder(rate_hz=50)
    stamp = 700_000_000_000_000_000
    decoded = decoder.decode(polar.encode_raw(MILLI_G, stamp))
    assert not decoded.problems
    np.testing.assert_allclose(decoded.xyz_g, MILLI_G / 1000)
    np.testing.assert_allclose(np.diff(decoded.times_s), 0.02, atol=1e-6)
    assert decoded.times_s[-1] == stamp / 1e9  # the stamp is the last sample's
    # the next frame's step comes from the two stamps
    later = decoder.decode(polar.encode_raw(MILLI_G, stamp + 6 * 19_000_000))
    np.testing.assert_allclose(np.diff(later.times_s), 0.019, atol=1e-6)
    # a lost frame: the stamps are too far apart for 6 samples; nominal steps, gap before
    after_loss = decoder.decode(polar.encode_raw(MILLI_G, stamp + 6 * 19_000_000 + 10**9))
    np.testing.assert_allclose(np.diff(after_loss.times_s), 0.02, atol=1e-6)
    assert after_loss.times_s[0] - later.times_s[-1] > 0.8


def test_polar_frame_stamped_too_soon_for_its_samples_is_dropped_not_squeezed():
    """A notification storm: a frame of 36 samples stamped one period after the last was
    spread 0.3 ms apart (282 foreign rows, stamps that rounded to equal). Dropped and said;
    the next true frame keeps its timing, and a sensor running at twice the rate it was
    asked keeps every sample at the spacing its stamps show."""
    milli_g = np.tile([[0.0, 0.0, 1000.0]], (36, 1))
    decoder = polar.PolarDecoder(rate_hz=52)
    period_ns = round(1e9 / 52)
    stamp = 10**18
    for index in range(3):  # a loop over frames
        assert not decoder.decode(
            polar.encode_raw(milli_g, stamp + index * 36 * period_ns)
        ).problems
    last = stamp + 2 * 36 * period_ns
    storm = decoder.decode(polar.encode_raw(milli_g, last + period_ns))
    assert len(storm.xyz_g) == 0 and "too soon" in storm.problems[0]
    after = decoder.decode(polar.encode_raw(milli_g, last + 36 * period_ns))
    assert not after.problems
    np.testing.assert_allclose(np.diff(after.times_s), period_ns / 1e9, atol=1e-6)
    assert after.times_s[0] > last / 1e9

    doubled = polar.PolarDecoder(rate_hz=52)  # 52 Hz, then twice as fast on the same link
    stamps = [stamp + i * 36 * period_ns for i in range(4)]
    stamps += [stamps[-1] + i * 18 * period_ns for i in range(1, 21)]
    kept = [doubled.decode(polar.encode_raw(milli_g, at)) for at in stamps]
    assert sum(bool(frame.problems) for frame in kept) <= 3  # not every other frame, for good
    np.testing.assert_allclose(np.diff(kept[-1].times_s), period_ns / 2e9, atol=1e-6)

    fast = polar.PolarDecoder(rate_hz=52)  # delivers 104 Hz: 36 samples per 18 periods
    kept = [fast.decode(polar.encode_raw(milli_g, stamp + i * 18 * period_ns)) for i in range(5)]
    assert not any(frame.problems for frame in kept)
    np.testing.assert_allclose(np.diff(kept[-1].times_s), period_ns / 2e9, atol=1e-6)


def test_polar_compressed_frame_with_blocks_of_different_widths():
    rng = np.random.default_rng(1)
    steps = np.vstack([rng.integers(-3, 4, (10, 3)), rng.integers(-400, 400, (10, 3))])
    milli_g = np.cumsum(np.vstack([[[10, -990, 40]], steps]), axis=0)
    frame = polar.encode_compressed(milli_g, 10**18, block=10)
    widths = {frame[16], frame[16 + 2 + (frame[16] * 30 + 7) // 8]}
    assert len(widths) == 2  # two blocks, two bit widths
    decoded = polar.PolarDecoder(rate_hz=52).decode(frame)
    np.testing.assert_allclose(decoded.xyz_g, milli_g / 1000)
    scaled = polar.PolarDecoder(rate_hz=52, factor=0.5).decode(frame)
    np.testing.assert_allclose(scaled.xyz_g, milli_g / 2000)


def test_polar_frames_that_cannot_be_trusted_are_dropped_and_said():
    decoder = polar.PolarDecoder(rate_hz=50)
    assert decoder.decode(b"\x02\x00").problems
    assert "not ACC" in decoder.decode(bytes([1]) + bytes(20)).problems[0]
    good = polar.encode_raw(MILLI_G, 2 * 10**18)
    assert decoder.decode(good).problems == []
    assert "before the previous" in decoder.decode(polar.encode_raw(MILLI_G, 10**18)).problems[0]
    assert decoder.decode(good[:-1]).problems  # not whole samples


def test_movesense_packets_and_continuations():
    xyz = np.tile([0.1, -0.2, 0.97], (30, 1))
    packets = movesense.encode(7, 123_456, xyz, mtu_payload=100)
    assert len(packets) == 4 and packets[1][0] == movesense.CONTINUATION
    decoder = movesense.MovesenseDecoder(rate_hz=52, reference=7)
    # A packet is known complete when the next one starts (or at the end of the stream).
    assert all(len(decoder.decode(p).xyz_g) == 0 for p in packets)
    first = decoder.decode(movesense.encode(7, 124_000, xyz[:2])[0])
    np.testing.assert_allclose(first.xyz_g, xyz, atol=1e-6)
    assert first.times_s[0] == pytest.approx(123.456)
    assert len(decoder.flush().xyz_g) == 2
    assert movesense.subscribe(7, 52) == b"\x01\x07/Meas/Acc/52"
    assert decoder.decode(bytes([1, 7, 200, 0])).problems == []
    assert decoder.decode(bytes([1, 7, 0x94, 1])).problems == ["command result 404"]


def test_metamotion_single_and_packed_samples():
    decoder = metamotion.MetaMotionDecoder(range_g=4)
    np.testing.assert_allclose(
        decoder.decode(metamotion.encode([[0.5, -1.0, 0.25]])).xyz_g, [[0.5, -1.0, 0.25]]
    )
    packed = metamotion.encode([[0.0, 0.0, 1.0], [0.1, 0.0, 1.0], [0.2, 0.0, 1.0]])
    assert packed[:2] == bytes([3, 0x1C])
    assert len(decoder.decode(packed).xyz_g) == 3
    assert bytes([3, 3, 0x27, 0x05]) in metamotion.start_commands(metamotion.BMI160)
    assert decoder.decode(bytes([3, 4, 1, 2])).problems


def test_witmotion_frames_split_across_notifications_and_resync():
    xyz = np.array([[0.0, 0.0, 1.0], [0.5, -0.25, 0.75], [1.0, 2.0, -3.0]])
    stream = b"\x01\x02garbage" + witmotion.encode(xyz)
    decoder = witmotion.WitMotionDecoder()
    samples = [decoder.decode(stream[i : i + 7]).xyz_g for i in range(0, len(stream), 7)]
    np.testing.assert_allclose(np.vstack(samples), xyz, atol=1e-3)
    assert witmotion.rate_commands(50)[1] == bytes.fromhex("FFAA030800")


def test_pinetime_value():
    np.testing.assert_allclose(
        pinetime.decode(bytes.fromhex("000400fc0000")).xyz_g, [[1.0, -1.0, 0.0]]
    )
    assert pinetime.decode(b"\x00").problems


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=300))
def test_no_decoder_raises_on_garbage(data):
    for decoder in (
        polar.PolarDecoder(rate_hz=52),
        movesense.MovesenseDecoder(rate_hz=52),
        metamotion.MetaMotionDecoder(),
        witmotion.WitMotionDecoder(),
    ):
        result = decoder.decode(data)
        assert np.isfinite(result.xyz_g).all()
    assert pinetime.decode(data) is not None
    # a plausible PMD header around random payload
    polar.PolarDecoder(rate_hz=52).decode(bytes([2]) + bytes(8) + bytes([0x81]) + data)
