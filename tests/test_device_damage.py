"""Device files a stress test found read wrongly or refused for little: a block or page whose
time stamp alone is absurd, a GENEActiv header lacking a line or holding a Latin-1 byte, a
Parquet file with one damaged row group; and the AX6's 6-axis blocks, whose accelerometer is
read from the right channels. Files are built byte by byte here (tests/test_formats.py's
builders); the real AX6 file where ../shared/data/real is present."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from sleepmove.cli import main
from sleepmove.sensor.formats import read_recording
from tests.test_device_file_damage import ANALYZE, geneactiv_night, refused
from tests.test_formats import cwa_bytes, cwa_time, write

# --- a .cwa block whose time stamp alone is absurd ----------------------------------------


def _cwa_night(tmp_path, stamps: dict[int, int] | None = None, shift_from: int | None = None):
    """A .cwa of 600 blocks of 80 samples at 100 Hz (one a second, 10 minutes of 2023),
    block i's packed time replaced by `stamps[i]`; from block `shift_from` on, an hour
    earlier (a clock reset)."""
    samples = np.tile(np.array([0, 0, 256], dtype=np.int16), (80, 1))
    samples[::5, 0] = 4  # not quite still
    blocks = []
    for i in range(600):  # a loop over blocks
        hour = 22 if shift_from is not None and i >= shift_from else 23
        blocks.append((cwa_time(2023, 11, 4, hour, i // 60, i % 60), samples))
    for i, stamp in (stamps or {}).items():  # a loop over the stamps replaced
        blocks[i] = (stamp, samples)
    return write(tmp_path / "night.cwa", cwa_bytes(blocks))


def _analyzed(tmp_path, capsys, path: str) -> list[str]:
    out = tmp_path / "out"
    assert main([*ANALYZE, path, "--out", str(out)]) == 0, capsys.readouterr().err
    return json.loads((out / "summary.json").read_text())["quality"]["warnings"]


@pytest.mark.parametrize(
    "at, stamp, words",
    [
        ([300], cwa_time(2060, 3, 30, 23, 5, 0), "first at byte 154624: 2060-03-30 23:05:00"),
        ([300], cwa_time(2001, 1, 1, 0, 0, 0), "first at byte 154624: 2001-01-01 00:00:00"),
        ([300, 301], cwa_time(2060, 3, 30, 23, 5, 0), "first at byte 154624"),  # a run of two
        ([0], cwa_time(2060, 3, 30, 23, 5, 0), "first at byte 1024"),  # at either end
        ([599], cwa_time(2001, 1, 1, 0, 0, 0), "first at byte 307712"),
    ],
)
def test_cwa_block_whose_stamp_lies_far_from_both_neighbours_is_left_out(
    tmp_path, capsys, at, stamp, words
):
    """One absurd stamp refused the whole file ("the time stamps span 3.2e5 h")."""
    path = _cwa_night(tmp_path, {i: stamp for i in at})
    rec = read_recording(path)
    assert len(rec.time_s) == (600 - len(at)) * 80  # every other block kept
    assert rec.time_s.max() - rec.time_s.min() < 600
    line = f"{len(at)} data blocks whose time stamp lies far from both neighbours'"
    assert [w for w in rec.warnings if line in w and words in w], rec.warnings
    assert "damaged" not in " ".join(rec.warnings)  # its checksum holds: not counted twice
    assert any(line in w for w in _analyzed(tmp_path, capsys, path))


def test_cwa_clock_reset_of_the_whole_second_half_is_still_the_grids(tmp_path, capsys):
    path = _cwa_night(tmp_path, shift_from=300)  # the second half an hour earlier
    rec = read_recording(path)
    assert len(rec.time_s) == 600 * 80 and not rec.warnings
    assert any("the clock went back 1 time " in w for w in _analyzed(tmp_path, capsys, path))


def test_cwa_whose_second_half_jumps_years_is_still_refused_as_one_broken_clock(tmp_path, capsys):
    stamps = {i: cwa_time(2060, 3, 30, 23, i // 60 % 60, i % 60) for i in range(300, 600)}
    path = _cwa_night(tmp_path, stamps)
    refused(tmp_path, capsys, path, "the time stamps span", "continuous clock")


# --- a GENEActiv page whose Page Time alone is absurd --------------------------------------


@pytest.mark.parametrize("year", ["2089", "1990"])
def test_geneactiv_page_whose_time_lies_far_from_both_neighbours_is_left_out(
    tmp_path, capsys, year
):
    old = "Page Time:2024-03-30 23:54:00:000"  # page 11 of 20 (30 s each)
    path = geneactiv_night(tmp_path, old, f"Page Time:{year}-03-30 23:54:00:000", seconds=600)
    rec = read_recording(path)
    assert len(rec.time_s) == 19 * 300 and rec.time_s.max() - rec.time_s.min() < 600
    line = "1 pages whose Page Time lies far from both neighbours'"
    assert any(
        f"{line} (corrupted stamps; first is page 11: {year}-03-30" in w for w in rec.warnings
    )
    assert any(line in w for w in _analyzed(tmp_path, capsys, path))


@pytest.mark.parametrize(
    ("page", "stamp"),
    [(2, "1900-03-30 23:49:30"), (19, "1900-03-30 23:58:00"), (11, "2024-13-45 99:54:00")],
)
def test_geneactiv_page_of_a_far_or_no_date_leaves_out_itself_only(tmp_path, capsys, page, stamp):
    """Page 2 (or 19 of 20) of 1900: page 1 (or 20), sound, is read (it was left out with
    it, taken for a run at the file's end). A page time that is no date (month 13) is a
    damaged page, left out (the whole file was refused)."""
    minute, second = 49 + (page - 1) // 2, (page - 1) % 2 * 30
    old = f"Page Time:2024-03-30 23:{minute:02d}:{second:02d}:000"
    path = geneactiv_night(tmp_path, old, f"Page Time:{stamp}:000", seconds=600)
    rec = read_recording(path)
    assert len(rec.time_s) == 19 * 300
    assert rec.time_s.max() - rec.time_s.min() == pytest.approx(600 - 0.1)
    said = "damaged pages" if stamp.startswith("2024") else "lies far from both neighbours'"
    assert any(said in w and f"first is page {page}" in w for w in rec.warnings), rec.warnings


# --- a GENEActiv header lacking a line, or not UTF-8 ----------------------------------------


@pytest.mark.parametrize(
    "old, new, words",
    [
        ("Measurement Frequency:10 Hz\n", "", "lacks its 'Measurement Frequency' line (line 20)"),
        ("Number of Pages:4\n", "", "lacks its 'Number of Pages' line (line 58)"),
        ("Sex:\n", "", "lacks its 'Sex' line (line 41)"),
        ("\nCalibration Data", "Calibration Data", "lacks a blank line (line 46)"),
        ("Sex:\n", "Sex:\nNickname:Bo\n", "line 42, 'Nickname:Bo', is one too many"),
    ],
)
def test_geneactiv_header_of_other_than_59_lines_names_the_line(tmp_path, capsys, old, new, words):
    """actfast reads 59 lines as the header whatever they say: it said "Invalid hex data
    'Recorded Data' at record 0" of a header lacking any line."""
    path = geneactiv_night(tmp_path, old, new)
    error = refused(tmp_path, capsys, path, "night.bin", words, "59 header lines")
    assert "Invalid hex" not in error


def test_geneactiv_header_with_a_latin1_name_is_read(tmp_path):
    clean = read_recording(geneactiv_night(tmp_path))
    path = geneactiv_night(tmp_path)
    data = open(path, "rb").read().replace(b"Subject Notes:", b"Subject Notes:Ren\xe9e D\xfcrr")
    rec = read_recording(write(tmp_path / "latin1.bin", data))
    assert not rec.warnings and rec.timezone == "+01:00"
    np.testing.assert_array_equal(rec.xyz_g, clean.xyz_g)
    np.testing.assert_array_equal(rec.time_s, clean.time_s)


# --- AX6: 6-axis blocks hold the gyroscope first, then the accelerometer --------------------


def _ax6_bytes(gyro: np.ndarray, accel: np.ndarray, blocks: int) -> bytes:
    """A .cwa of 6-axis blocks (40 samples each, 100 Hz): each sample's gyroscope, then its
    accelerometer, as the AX6 writes them; accelerometer 2048 per g, gyroscope ±2000 dps."""
    out = bytearray(1024)
    out[0:4] = b"MD" + (1020).to_bytes(2, "little")
    for sequence in range(blocks):  # a loop over blocks
        block = bytearray(512)
        block[0:2] = b"AX"
        stamp = cwa_time(2023, 11, 4, 23, 0, 0) + sequence * 2 // 5  # 0.4 s each
        struct.pack_into("<HHIII", block, 2, 508, 0, 0, sequence, stamp)
        struct.pack_into("<H", block, 18, 3 << 13 | 2 << 10)  # the scales' codes
        block[24], block[25] = 0x0A, 0x62  # 100 Hz; 6 axes of 2 bytes
        struct.pack_into("<hH", block, 26, 0, 40)
        rows = np.hstack([gyro, accel]).astype("<i2")
        block[30 : 30 + rows.nbytes] = rows.tobytes()
        words = np.frombuffer(bytes(block[:510]), "<u2")
        struct.pack_into("<H", block, 510, -int(words.sum()) & 0xFFFF)
        out += block
    return bytes(out)


def test_ax6_blocks_of_six_axes_give_the_accelerometer_not_the_gyroscope(tmp_path):
    accel = np.tile(np.array([[-100, 300, 2048]]), (40, 1))  # about 1 g, z up
    gyro = np.tile(np.array([[16000, -12000, 9000]]), (40, 1))  # turning fast
    rec = read_recording(write(tmp_path / "ax6.cwa", _ax6_bytes(gyro, accel, 5)))
    assert len(rec.time_s) == 200
    np.testing.assert_array_equal(rec.xyz_g, np.tile(accel / 2048, (5, 1)).astype(np.float32))


def test_real_ax6_file_whose_blocks_are_all_six_axes_reads_about_1_g(real_data):
    path = real_data / "skdh_samples/ax6_sample.cwa"
    data = path.read_bytes()
    blocks = np.frombuffer(data, np.uint8, offset=1024).reshape(-1, 512)
    assert (blocks[:, 25] == 0x62).all()  # every block holds 6 axes
    rec = read_recording(str(path))
    magnitude = np.linalg.norm(rec.xyz_g, axis=1)
    assert np.median(magnitude) == pytest.approx(1.0, abs=0.03)  # the gyroscope's is 77 dps
    # The first sample's last three channels, at 2048 per g (its first three are the gyro's)
    raw = blocks[0, 30:42].copy().view("<i2")
    np.testing.assert_allclose(rec.xyz_g[0], raw[3:] / 2048, atol=1e-6)


# --- Parquet: one row group that does not decode -------------------------------------------


def _parquet(tmp_path, groups: int, damaged: list[int]) -> str:
    """A Parquet file of 2-minute row groups at 50 Hz (6000 rows each), the header of
    column z's first page in row groups `damaged` overwritten."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = groups * 6000
    wave = 0.01 * np.sin(np.arange(n) / 7)
    table = pa.table({"time": 1.7e9 + np.arange(n) / 50, "x": wave, "y": -wave, "z": 1.0 + wave})
    path = tmp_path / "night.parquet"
    pq.write_table(table, path, row_group_size=6000, compression="snappy", use_dictionary=False)
    data = bytearray(path.read_bytes())
    metadata = pq.ParquetFile(path).metadata
    for group in damaged:  # a loop over row groups
        chunk = metadata.row_group(group).column(3)
        data[chunk.data_page_offset : chunk.data_page_offset + 16] = b"\xff" * 16
    return write(path, bytes(data))


def test_parquet_row_group_that_does_not_decode_is_left_out_and_named(tmp_path, capsys):
    path = _parquet(tmp_path, 6, [2])
    rec = read_recording(path)
    assert len(rec.time_s) == 5 * 6000
    assert not np.any((rec.time_s >= 1.7e9 + 240) & (rec.time_s < 1.7e9 + 360))
    assert any(
        "1 row groups that cannot be decoded (6,000 rows) left out (the first is row group 2 "
        "of 6, counting from 0, rows 12,000 to 17,999" in w
        for w in rec.warnings
    ), rec.warnings


def test_parquet_none_of_whose_row_groups_decode_is_refused_naming_the_first(tmp_path, capsys):
    path = _parquet(tmp_path, 2, [0, 1])
    refused(
        tmp_path,
        capsys,
        path,
        "none of its 2 row groups decode",
        "first row group 0 of 2, counting from 0, rows 0 to 5,999",
        "whose row groups decode",
    )


# --- a .cwa block whose checksum holds over fields no recording has -------------------------


def _with_block_field(path, block: int, at: int, value: bytes, every: bool = False) -> None:
    """Block `block`'s (or every block's) bytes from `at` set to `value`, checksum made anew
    (corrupted before the device summed it)."""
    data = bytearray(open(path, "rb").read())
    count = (len(data) - 1024) // 512
    for index in range(count) if every else [block]:  # a loop over blocks
        start = 1024 + 512 * index
        data[start + at : start + at + len(value)] = value
        words = np.frombuffer(bytes(data[start : start + 510]), "<u2")
        struct.pack_into("<H", data, start + 510, -int(words.sum()) & 0xFFFF)
    open(path, "wb").write(bytes(data))


@pytest.mark.parametrize(
    "at, value",
    [
        (26, struct.pack("<h", 32767)),  # time offset: moved the start 2.5 min, made a gap
        (26, struct.pack("<h", -32768)),  # reordered 29,773 samples
        (28, struct.pack("<H", 0)),  # no samples: 80 of them dropped without a word
        (24, bytes([0x48])),  # another rate (25 Hz) than every other block's
    ],
)
def test_cwa_block_stating_what_no_recording_holds_is_left_out_and_said(
    tmp_path, capsys, at, value
):
    path = _cwa_night(tmp_path)
    clean = read_recording(path)
    _with_block_field(path, 300, at, value)
    rec = read_recording(path)
    assert len(rec.time_s) == len(clean.time_s) - 80  # that block's samples alone
    np.testing.assert_array_equal(rec.time_s[:24000], clean.time_s[:24000])
    np.testing.assert_array_equal(rec.time_s[24000:], clean.time_s[24080:])
    notes = " ".join(rec.warnings)
    assert "1 data blocks stating what no recording holds" in notes and "byte 154624" in notes


def test_cwa_every_block_of_an_impossible_rate_is_refused_in_one_line(tmp_path, capsys):
    path = _cwa_night(tmp_path)
    _with_block_field(path, 0, 24, bytes([0x40]), every=True)  # 0.1 Hz: read as 18 Hz, an hour
    assert refused(tmp_path, capsys, path, "none of whose data blocks is sound: 600 state what no")


def test_cwa_fields_a_fast_or_old_recording_states_are_not_taken_for_damage():
    from sleepmove.sensor.formats.cwa import impossible_fields

    def head(code: int, layout: int, offset: int, samples: int) -> np.ndarray:
        block = bytearray(30)
        block[0:2] = b"AX"
        block[24], block[25] = code, layout
        struct.pack_into("<hH", block, 26, offset, samples)
        return np.frombuffer(bytes(block), np.uint8)

    sound = [
        head(0x4E, 0x30, -1500, 120),  # 1600 Hz: the whole second fell 1500 samples before
        head(0x4E, 0x30, 139, 120),  # ...or a little past the block's end
        head(0x4E, 0x30, 0, 0),  # the last block may hold none (written as it stopped)
    ]
    assert not impossible_fields(np.stack(sound)).any()
    old = [head(0x00, 0x32, 100, 80)] * 3  # old firmware: code 0, its rate in the offset
    assert not impossible_fields(np.stack(old)).any()
    damaged = [head(0x4E, 0x30, 32767, 120), head(0x4E, 0x30, 0, 0), head(0x4E, 0x30, 0, 120)]
    assert impossible_fields(np.stack(damaged)).tolist() == [True, True, False]
