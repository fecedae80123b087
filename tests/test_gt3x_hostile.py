"""Hostile .gt3x files: zip bombs whose sizes lie, members zip readers cannot give, records
whose checksum holds over a wrong time or size, a zip directory pointing at the wrong place.
Each is refused in one line (exit status 2, no traceback) or read with the records that
decode kept and the rest counted in a warning. Files are built byte by byte here (the real
recording, where present, is damaged in tmp_path, never copied into the repository)."""

from __future__ import annotations

import functools
import io
import struct
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest

from sleepmove.base.errors import InputError
from sleepmove.cli import main
from sleepmove.sensor.formats import gt3x, read_recording
from tests.test_formats import T0, gt3x_bytes, gt3x_record, pack12, write

ANALYZE = ["analyze", "--no-report", "--min-duration", "1"]
RATE = 10
STILL = np.tile(np.array([[1, -2, 256]], dtype="<i2"), (RATE, 1))  # 1 g on z, in counts


def refused(tmp_path, capsys, path: str, *words: str) -> str:
    """Analyzing `path` exits with status 2 and one line holding every word."""
    code = main([*ANALYZE, path, "--out", str(tmp_path / "out")])
    error = capsys.readouterr().err.strip()
    assert code == 2, error
    assert "\n" not in error and "Traceback" not in error, error
    for word in words:
        assert word in error, error
    return error


def night_records(seconds: int = 120, gap_after: int | None = None) -> list[bytes]:
    """ACTIVITY2 records at RATE Hz, one a second; `gap_after`: 5 s of idle sleep (no
    records) after that record, as the real recording has."""
    times = T0 + np.arange(seconds)
    if gap_after is not None:
        times[gap_after + 1 :] += 5
    return [gt3x_record(0x1A, int(t), STILL.tobytes()) for t in times]


def stored_gt3x(records: list[bytes]) -> bytearray:
    """gt3x_bytes' zip (info.txt, then log.bin, both stored)."""
    data = bytearray(gt3x_bytes(records, RATE))
    assert all(info.compress_type == 0 for info in zipfile.ZipFile(io.BytesIO(data)).infolist())
    return data


def patch_member(data: bytearray, name: str, local: int | None, central: int, value: int) -> None:
    """Set a field of `name`'s central directory entry (at `central`) and, where `local`
    is given, of its local header, to `value` (2 or 4 bytes, the field's own width)."""
    at = data.index(b"PK\x01\x02")
    while True:  # a loop over directory entries
        length = int.from_bytes(data[at + 28 : at + 30], "little")
        if data[at + 46 : at + 46 + length] == name.encode():
            break
        at = data.index(b"PK\x01\x02", at + 4)
    width = 4 if central in (16, 20, 24, 42) else 2
    data[at + central : at + central + width] = value.to_bytes(width, "little")
    if local is not None:
        header = int.from_bytes(data[at + 42 : at + 46], "little")
        data[header + local : header + local + width] = value.to_bytes(width, "little")


# --- 1. a zip bomb whose declared size is small -------------------------------------------

BOMB_BYTES = 300 << 20


@functools.cache
def deflated_zeros() -> tuple[bytes, int]:
    """300 MB of zeros, deflated (raw) to about 0.3 MB, and their CRC."""
    packer, zeros, crc = zlib.compressobj(9, zlib.DEFLATED, -15), bytes(1 << 20), 0
    parts = []
    for _ in range(BOMB_BYTES >> 20):  # a loop over 1 MB chunks
        parts.append(packer.compress(zeros))
        crc = zlib.crc32(zeros, crc)
    return b"".join(parts) + packer.flush(), crc


def bomb_zip(bombed: str) -> bytes:
    """A .gt3x whose member `bombed` is the deflated zeros, declared to hold 200,000 bytes."""
    packed, crc = deflated_zeros()
    info = b"Sample Rate: 10\r\nAcceleration Scale: 256.0\r\n"
    log = b"".join(night_records())
    members = [
        (name, (8, packed, 200_000, crc) if name == bombed else (0, raw, len(raw), zlib.crc32(raw)))
        for name, raw in (("log.bin", log), ("info.txt", info))
    ]
    out, directory = bytearray(), bytearray()
    for name, (method, stored, size, check) in members:  # a loop over members
        encoded, offset = name.encode(), len(out)
        fields = (20, 0, method, 0, 0, check, len(stored), size, len(encoded))
        out += struct.pack("<4s5HIIIHH", b"PK\x03\x04", *fields, 0) + encoded + stored
        directory += struct.pack(
            "<4s6HIIIHHHHHII", b"PK\x01\x02", 20, *fields, 0, 0, 0, 0, 0, offset
        )
        directory += encoded
    end = struct.pack("<4s4HIIH", b"PK\x05\x06", 0, 0, 2, 2, len(directory), len(out), 0)
    return bytes(out + directory + end)


@pytest.mark.parametrize("bombed", ["log.bin", "info.txt"])
def test_bomb_declared_small_is_refused_without_inflating_it_whole(tmp_path, bombed):
    """zipfile inflated the whole member in one call before the guard looked (1 GB of
    zeros: 2 GB of memory, 8 to 11 s; MemoryError and a traceback under a memory limit).
    Inflated a chunk at a time, the reader stops at the cap: its peak memory stays near it
    (300 MB of zeros, capped at 64 MB)."""
    path = write(tmp_path / "bomb.gt3x", bomb_zip(bombed))
    tracemalloc.start()
    try:
        with pytest.raises(InputError) as refusal:
            read_recording(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    cap = max(gt3x.INFLATED_FREE_BYTES, gt3x.INFLATED_MAX_RATIO * len(deflated_zeros()[0]))
    assert peak < cap + (16 << 20), f"peak {peak / 1e6:.0f} MB"  # a few chunks over
    assert f"{bombed} inflates to more than" in refusal.value.problem


def test_bomb_in_a_zip_cut_short_is_refused_at_the_cap(tmp_path, capsys):
    """Without its zip directory, members are read from their local headers: the bomb is
    refused there too, in one line."""
    data = bomb_zip("log.bin")
    path = write(tmp_path / "cut.gt3x", data[: data.index(b"PK\x01\x02")])
    refused(tmp_path, capsys, path, "log.bin inflates to more than")


def test_members_not_decoded_are_never_inflated(tmp_path, monkeypatch):
    """Only log.bin, info.txt and calibration.json are inflated (100 members of 63 MB of
    zeros took 5.4 GB)."""
    path = write(tmp_path / "n.gt3x", gt3x_bytes(night_records(), RATE))
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("extra.bin", b"\0" * 5_000_000)
    inflated: list[str] = []
    original = gt3x._inflate
    monkeypatch.setattr(
        gt3x,
        "_inflate",
        lambda path, name, *rest: inflated.append(name) or original(path, name, *rest),
    )
    assert len(read_recording(path).time_s) == 120 * RATE
    assert sorted(inflated) == ["info.txt", "log.bin"]


# --- 2. members zip readers cannot give: one line, no traceback ---------------------------


def test_encrypted_log_is_refused_in_one_line(tmp_path, capsys):
    """RuntimeError: 'File ... is encrypted, password required', exit 1."""
    data = stored_gt3x(night_records())
    patch_member(data, "log.bin", 6, 8, 1)  # general purpose flags: bit 0, encrypted
    refused(tmp_path, capsys, write(tmp_path / "e.gt3x", bytes(data)), "log.bin is encrypted")


@pytest.mark.parametrize("member", ["log.bin", "info.txt"])
@pytest.mark.parametrize("method", [1, 9, 93, 99])
def test_unsupported_compression_method_is_refused_in_one_line(tmp_path, capsys, member, method):
    """NotImplementedError: 'That compression method is not supported', exit 1."""
    data = stored_gt3x(night_records())
    patch_member(data, member, 8, 10, method)
    path = write(tmp_path / "m.gt3x", bytes(data))
    refused(tmp_path, capsys, path, f"{member} is compressed with method {method}")


@pytest.mark.parametrize("method", [12, 14])
def test_bzip2_or_lzma_that_does_not_inflate_is_refused_in_one_line(tmp_path, capsys, method):
    """Method 14 over data that is no LZMA: _lzma.LZMAError, exit 1."""
    data = stored_gt3x(night_records())
    patch_member(data, "log.bin", 8, 10, method)
    path = write(tmp_path / "l.gt3x", bytes(data))
    refused(tmp_path, capsys, path, "log.bin holds compressed data that does not inflate")


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_bzip2_and_lzma_members_are_read(tmp_path, method):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        archive.writestr("info.txt", "Sample Rate: 10\r\nAcceleration Scale: 256.0\r\n")
        archive.writestr("log.bin", b"".join(night_records()))
    rec = read_recording(write(tmp_path / "z.gt3x", out.getvalue()))
    assert len(rec.time_s) == 120 * RATE and not rec.warnings


def test_sizes_past_the_file_end_keep_the_records(tmp_path, capsys):
    """Compressed and declared sizes of 0x7FFFFFF0: EOFError with an empty message (exit
    1; 'error: EOFError: ' in a batch). log.bin is read from its local header to the
    file's end: every record kept, the damage said."""
    data = stored_gt3x(night_records())
    patch_member(data, "log.bin", 18, 20, 0x7FFFFFF0)
    patch_member(data, "log.bin", 22, 24, 0x7FFFFFF0)
    rec = read_recording(write(tmp_path / "s.gt3x", bytes(data)))
    assert len(rec.time_s) == 120 * RATE
    assert any("log.bin is cut short or its sizes are wrong" in w for w in rec.warnings)


# --- 3. one record whose time stamp is no neighbour's -------------------------------------


@pytest.mark.parametrize("stamp", [0, 0xFFFFFFFF])
@pytest.mark.parametrize("kind", [0x1A, 0x00])
def test_record_with_a_stray_time_is_left_out(tmp_path, stamp, kind):
    """A record stamped 0 (or 2106), its checksum fixed, just before 5 s of idle sleep:
    the whole file was refused ('the time stamps span 4.358e+05 h'). The record is left
    out, the other 119 read."""
    payload = STILL.tobytes() if kind == 0x1A else pack12(STILL.astype(np.int64))
    times = T0 + np.arange(120)
    times[11:] += 5  # idle sleep after record 10
    times[10] = stamp
    records = [gt3x_record(kind, int(t), payload) for t in times]
    rec = read_recording(write(tmp_path / "t.gt3x", gt3x_bytes(records, RATE)))
    assert len(rec.time_s) == 119 * RATE
    assert rec.time_s.max() - rec.time_s.min() < 130
    assert any("1 records of log.bin whose time stamp lies far" in w for w in rec.warnings)


def test_clean_records_around_idle_sleep_are_all_kept(tmp_path):
    rec = read_recording(write(tmp_path / "c.gt3x", gt3x_bytes(night_records(120, 10), RATE)))
    assert len(rec.time_s) == 120 * RATE and not rec.warnings


def test_real_recording_with_one_record_stamped_zero_keeps_the_rest(tmp_path, real_data):
    """The stress tester's file: the real recording's 11th ACTIVITY2 record stamped 0."""
    source = real_data / "readgt3x_actigraph" / "TAS1H30182785_2019-09-17.gt3x"
    if not source.exists():
        pytest.skip(f"{source} not present")
    with zipfile.ZipFile(source) as archive:
        log, info = bytearray(archive.read("log.bin")), archive.read("info.txt")
    types, _, starts, sizes = gt3x.record_table(bytes(log))
    head = int(starts[np.flatnonzero((types == 0x1A) & (sizes == 600))[10]]) - 8
    log[head + 2 : head + 6] = bytes(4)
    checksum = np.bitwise_xor.reduce(np.frombuffer(bytes(log[head : head + 608]), np.uint8))
    log[head + 608] = ~int(checksum) & 0xFF
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("log.bin", bytes(log))
        archive.writestr("info.txt", info)
    whole = read_recording(str(source))
    rec = read_recording(write(tmp_path / "zero.gt3x", out.getvalue()))
    assert len(whole.time_s) == 330 * 100 and len(rec.time_s) == 329 * 100
    assert any("1 records of log.bin whose time stamp lies far" in w for w in rec.warnings)


# --- 4. the zip directory's offset of log.bin damaged -------------------------------------


def test_directory_offset_into_log_reads_it_from_its_local_header(tmp_path):
    """The directory's local-header offset of log.bin set to 5000 (inside its bytes), the
    local header at its place intact: read from byte 5000 as 'failing its zip CRC', 297 of
    422 records were kept. The scan of local headers finds it whole."""
    data = stored_gt3x(night_records())
    patch_member(data, "log.bin", None, 42, 5000)
    rec = read_recording(write(tmp_path / "o.gt3x", bytes(data)))
    assert len(rec.time_s) == 120 * RATE
    assert any(
        "log.bin is not where the zip directory says it is: read from its local header" in w
        for w in rec.warnings
    )
    assert not any("CRC" in w for w in rec.warnings)


def test_crc_failure_keeps_the_directory_member_when_the_scan_gives_no_more(tmp_path):
    data = stored_gt3x(night_records())
    at = data.index(b"log.bin") + 7 + 30 * 69 + 20  # a sample of record 30
    data[at] ^= 0xFF
    rec = read_recording(write(tmp_path / "crc.gt3x", bytes(data)))
    assert len(rec.time_s) == 119 * RATE
    assert any("log.bin fails its zip CRC: read as stored" in w for w in rec.warnings)


# --- 5. a record larger than a second of samples ------------------------------------------


def test_record_larger_than_a_second_of_samples_is_left_out(tmp_path):
    """A record of 65,535 random bytes, its checksum holding, before record 10: 100 samples
    of up to 127.6 g added on duplicate times. Left out, with a warning."""
    records = night_records()
    junk = np.random.default_rng(5).integers(0, 256, 65_535, dtype=np.uint8).tobytes()
    records.insert(10, gt3x_record(0x1A, T0 + 10, junk))
    rec = read_recording(write(tmp_path / "g.gt3x", gt3x_bytes(records, RATE)))
    assert len(rec.time_s) == 120 * RATE
    assert np.abs(rec.xyz_g).max() <= 1.0
    assert any("1 records of log.bin larger than a second of samples" in w for w in rec.warnings)
