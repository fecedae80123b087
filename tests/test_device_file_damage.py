"""Damaged or implausible device files: one line naming what is wrong (exit status 2, no
traceback, nothing written), or the blocks that decode kept and the rest counted. Files are
built byte by byte with tests/test_formats.py's builders."""

from __future__ import annotations

import numpy as np
import pytest

from sleepmove.cli import main
from sleepmove.sensor.formats import read_recording
from tests.test_formats import (
    T0,
    cwa_bytes,
    cwa_time,
    geneactiv_bytes,
    gt3x_bytes,
    gt3x_record,
    write,
)

ANALYZE = ["analyze", "--no-report", "--min-duration", "1"]


def refused(tmp_path, capsys, path: str, *words: str) -> str:
    """Analyzing `path` exits with status 2 and one line holding every word; nothing written."""
    out = tmp_path / "out"
    code = main([*ANALYZE, path, "--out", str(out)])
    error = capsys.readouterr().err.strip()
    assert code == 2, error
    assert "\n" not in error and "Traceback" not in error, error
    for word in words:
        assert word in error, error
    assert not out.exists()
    return error


def geneactiv_night(tmp_path, old: str = "", new: str = "", seconds: int = 120) -> str:
    """A GENEActiv .bin at 10 Hz (`seconds` long, still, z up), one header line changed."""
    raw = np.zeros((300, 3), dtype=np.int64)
    raw[:, 2] = 256
    raw[::7, 0] = 3  # not quite still
    pages = [
        (f"2024-03-30 23:{59 - (seconds // 60) + p // 2:02d}:{p % 2 * 30:02d}:000", raw)
        for p in range(seconds // 30)
    ]
    text = geneactiv_bytes(pages).decode()
    if old:
        assert old in text
        text = text.replace(old, new, 1)
    return write(tmp_path / "night.bin", text.encode())


def gt3x_night(tmp_path, zone: str = "-04:00:00", members: dict | None = None) -> str:
    """A .gt3x of ACTIVITY2 records at 10 Hz for two minutes, still, z up."""
    values = np.tile(np.array([[1, -2, 256]], dtype="<i2"), (10, 1))
    values[::3, 0] = 5
    records = [gt3x_record(0x1A, T0 + i, values.tobytes()) for i in range(120)]
    data = gt3x_bytes(records, 10, zone)
    if members:
        import io
        import zipfile

        out = io.BytesIO(data)
        with zipfile.ZipFile(out, "a") as archive:
            for name, member in members.items():  # a loop over members
                archive.writestr(name, member)
        data = out.getvalue()
    return write(tmp_path / "night.gt3x", data)


# --- time zones (defect 2) ----------------------------------------------------------------


@pytest.mark.parametrize("zone", ["24:00:00", "-24:00:00", "23:59:59", "99:99:99", "-13:00:00"])
def test_gt3x_time_zone_no_zone_has_is_refused_when_read(tmp_path, capsys, zone):
    path = gt3x_night(tmp_path, zone)
    refused(tmp_path, capsys, path, "info.txt's TimeZone", repr(zone), "-12:00 to +14:00")


@pytest.mark.parametrize(
    "zone, offset_h", [("+14:00:00", 14.0), ("-12:00", -12.0), ("05:45:00", 5.75)]
)
def test_gt3x_time_zones_real_zones_have_are_read(tmp_path, zone, offset_h):
    rec = read_recording(gt3x_night(tmp_path, zone))
    assert rec.time_s[0] == pytest.approx(T0 - offset_h * 3600)


def test_geneactiv_time_zone_no_zone_has_is_refused_when_read(tmp_path, capsys):
    path = geneactiv_night(tmp_path, "Time Zone:GMT +01:00", "Time Zone:GMT +99:99")
    refused(tmp_path, capsys, path, "Time Zone", "'GMT +99:99'", "-12:00 to +14:00")


def test_geneactiv_time_zone_that_is_no_offset_is_said(tmp_path):
    path = geneactiv_night(tmp_path, "Time Zone:GMT +01:00", "Time Zone:Europe/Berlin")
    rec = read_recording(path)
    assert rec.clock == "naive"
    assert any("Time Zone 'Europe/Berlin' is unreadable" in w for w in rec.warnings)


def test_geneactiv_time_zone_line_whose_key_is_damaged_is_said(tmp_path):
    path = geneactiv_night(tmp_path, "Time Zone:GMT +01:00", "_ime Zone:GMT +01:00")
    rec = read_recording(path)
    assert rec.clock == "naive"
    assert any("the header states no Time Zone" in w for w in rec.warnings), rec.warnings


# --- GENEActiv header numbers (defect 1) --------------------------------------------------


@pytest.mark.parametrize(
    "old, new, words",
    [
        ("Measurement Frequency:10 Hz", "Measurement Frequency:sixty Hz", "'sixty Hz'"),
        ("Measurement Frequency:10 Hz", "Measurement Frequency:nan Hz", "'nan Hz'"),
        ("Measurement Frequency:10 Hz", "Measurement Frequency:inf Hz", "'inf Hz'"),
        ("Measurement Frequency:10 Hz", "Measurement Frequency:-60 Hz", "'-60 Hz'"),
        ("Measurement Frequency:10 Hz", "Measurement Frequency:0 Hz", "'0 Hz'"),
        ("x gain:25600", "x gain:0", "x gain is '0'"),
        ("y gain:25600", "y gain:abc", "y gain is 'abc'"),
        ("z gain:25000", "z gan:25000", "no z gain"),
        ("x offset:100", "x offset:nan", "x offset is 'nan'"),
    ],
)
def test_geneactiv_header_number_no_device_writes_is_refused(tmp_path, capsys, old, new, words):
    path = geneactiv_night(tmp_path, old, new)
    error = refused(tmp_path, capsys, path, "night.bin", "the header", words, "expected")
    assert "RuntimeWarning" not in error and "no two samples" not in error


def test_geneactiv_header_without_a_frequency_takes_the_rate_from_the_pages(tmp_path):
    path = geneactiv_night(tmp_path, "Measurement Frequency:10 Hz", "Measurement Frequency:")
    rec = read_recording(path)
    assert rec.nominal_rate_hz is None and len(rec.time_s) == 1200


# --- .gt3x members (defects 3, 7, 8) ------------------------------------------------------


@pytest.mark.parametrize("calibration", [b"[1,2,3]", b'"text"', b"{not json", b"[" * 100_000])
def test_gt3x_calibration_that_is_no_object_is_a_warning(tmp_path, calibration):
    # calibration.json is optional ("sometimes"), and the device stores its samples
    # calibrated: a malformed one is said, and the samples kept.
    rec = read_recording(gt3x_night(tmp_path, members={"calibration.json": calibration}))
    assert len(rec.time_s) == 1200
    assert any("calibration.json is unreadable" in w for w in rec.warnings)


@pytest.mark.parametrize("into, words", [(-40, "before its log.bin"), (30, "none of its")])
def test_gt3x_cut_before_its_first_record_is_said_to_be_cut(tmp_path, capsys, into, words):
    whole = open(gt3x_night(tmp_path), "rb").read()
    log = whole.index(b"log.bin") + len("log.bin")  # info.txt first, then log.bin's records
    path = write(tmp_path / "cut.gt3x", whole[: log + into])
    error = refused(tmp_path, capsys, path, "cut short", words, "copy it again")
    assert "epoch-only" not in error


@pytest.mark.parametrize("cut", [4, 12])
def test_zip_cut_inside_its_first_header_is_said_to_be_cut(tmp_path, capsys, cut):
    whole = open(gt3x_night(tmp_path), "rb").read()
    path = write(tmp_path / "cut.gt3x", whole[:cut])
    refused(tmp_path, capsys, path, "cut short or damaged", "copy it again")


def test_gt3x_of_the_older_activity_bin_layout_is_refused_without_actfast(tmp_path, capsys):
    import io
    import os
    import subprocess
    import sys
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(
            "info.txt", "Serial Number: X\r\nSample Rate: 30\r\nTimeZone: 01:00:00\r\n"
        )
        archive.writestr("activity.bin", bytes(range(256)) * 100)
    path = write(tmp_path / "old.gt3x", out.getvalue())
    refused(tmp_path, capsys, path, "activity.bin", "does not decode", "ActiLife")
    # actfast reserved 2.4 GB for it before looking: under a smaller address-space limit the
    # process aborted (Rust OOM, exit 134) instead of refusing.
    resource = pytest.importorskip("resource")
    limit = 2_300_000_000

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    result = subprocess.run(
        [sys.executable, "-m", "sleepmove", "analyze", path, "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        preexec_fn=cap,
        timeout=120,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 2 and "activity.bin" in result.stderr, result.stderr[-500:]


# --- Parquet time stamps (defect 4) -------------------------------------------------------


def _parquet(tmp_path, millis: np.ndarray, tz: str | None = None) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(1)
    n = len(millis)
    table = pa.table(
        {
            "time": pa.array(millis, pa.timestamp("ms", tz=tz)),
            "x": rng.normal(0, 0.01, n),
            "y": rng.normal(0, 0.01, n),
            "z": 1 + rng.normal(0, 0.01, n),
        }
    )
    path = tmp_path / "night.parquet"
    pq.write_table(table, path)
    return str(path)


YEAR_2500_MS = 16725225600000


def test_parquet_ms_stamp_past_2262_is_a_stray_row_as_in_a_csv(tmp_path, capsys):
    import json

    millis = 1_700_000_000_000 + np.arange(25 * 150) * 40  # 2.5 minutes at 25 Hz
    millis[1000] = YEAR_2500_MS  # one row's clock glitched to the year 2500
    path = _parquet(tmp_path, millis)
    rec = read_recording(path)
    assert rec.time_s[1000] == pytest.approx(YEAR_2500_MS / 1e3)
    np.testing.assert_allclose(rec.time_s[:1000], millis[:1000] / 1e3)
    out = tmp_path / "out"
    assert main([*ANALYZE, path, "--out", str(out)]) == 0, capsys.readouterr()
    warnings = json.loads((out / "summary.json").read_text())["quality"]["warnings"]
    assert any("1 row whose time stamp lies far" in w for w in warnings)


def test_parquet_ms_stamp_past_2262_in_a_long_file(tmp_path):
    # From 500 000 rows the rate is checked from the row groups' least and greatest time
    # first: the same cast refused the file there as an 'unreadable Parquet file'.
    millis = 1_700_000_000_000 + np.arange(500_100) * 40
    millis[-5] = YEAR_2500_MS
    rec = read_recording(_parquet(tmp_path, millis, "UTC"))
    assert len(rec.time_s) == len(millis) and rec.clock == "unix"


@pytest.mark.parametrize("zone", ["+99:99", "+25:00", "Mars/Olympus"])
def test_parquet_time_zone_no_zone_has_is_ignored_with_a_warning(tmp_path, capsys, zone):
    import json

    millis = 1_700_000_000_000 + np.arange(25 * 150) * 40
    path = _parquet(tmp_path, millis, zone)
    out = tmp_path / "out"
    # Was a traceback from reports/clock.py after the whole analysis had run.
    assert main([*ANALYZE, path, "--out", str(out)]) == 0, capsys.readouterr()
    warnings = json.loads((out / "summary.json").read_text())["quality"]["warnings"]
    assert any(f"zone {zone!r} is no time zone" in w for w in warnings)


# --- .cwa blocks and header (defects 5, 6) ------------------------------------------------


def _cwa(seconds: int, rate_byte: int = 0x4A, bad_time_at: int | None = None) -> bytes:
    """A .cwa of one 80-sample block a second (block rate code 100 Hz), its header's rate
    byte (offset 36) `rate_byte`; block `bad_time_at`'s time 0xFFFFFFFF, checksum kept."""
    samples = np.tile(np.array([0, 0, 256], dtype=np.int16), (80, 1))
    samples[::5, 0] = 4  # not quite still
    start = cwa_time(2024, 3, 30, 23, 0, 0)
    blocks = [(start + (i // 60 << 6) + i % 60, samples) for i in range(seconds)]
    if bad_time_at is not None:
        blocks[bad_time_at] = (0xFFFFFFFF, samples)  # cwa_bytes sets a valid checksum
    data = bytearray(cwa_bytes(blocks))
    data[36] = rate_byte
    return bytes(data)


def test_cwa_block_whose_time_is_no_date_is_left_out_and_counted(tmp_path):
    rec = read_recording(write(tmp_path / "night.cwa", _cwa(10, bad_time_at=4)))
    assert len(rec.time_s) == 9 * 80  # the other nine blocks kept
    assert any(
        "1 damaged data blocks (impossible time stamp; first at byte 3072)" in w
        for w in rec.warnings
    )


def test_cwa_header_rate_the_blocks_do_not_bear_out_gives_way_to_theirs(tmp_path, capsys):
    import json

    path = write(tmp_path / "night.cwa", _cwa(150, rate_byte=0xFF))  # 3200 Hz, says the header
    rec = read_recording(path)
    assert rec.nominal_rate_hz is None
    assert any("the header's sample rate, 3200 Hz, is not the 100 Hz" in w for w in rec.warnings)
    out = tmp_path / "out"
    assert main([*ANALYZE, path, "--out", str(out)]) == 0, capsys.readouterr()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["recording"]["sample_rate_hz"]["single"] < 101  # was a 3200 Hz grid


def test_cwa_header_rate_the_blocks_bear_out_is_kept(tmp_path):
    rec = read_recording(write(tmp_path / "night.cwa", _cwa(10)))
    assert rec.nominal_rate_hz == 100.0 and not rec.warnings


def test_geneactiv_header_rate_its_pages_do_not_bear_out_gives_way_to_theirs(tmp_path):
    path = geneactiv_night(tmp_path, "Measurement Frequency:10 Hz", "Measurement Frequency:1000 Hz")
    rec = read_recording(path)
    assert rec.nominal_rate_hz is None and len(rec.time_s) == 1200
    assert any("the header's sample rate, 1000 Hz, is not the 10 Hz" in w for w in rec.warnings)


# --- damaged headers, named as the device files they are (a stress test) --------------------


def test_cwa_whose_header_tag_is_damaged_is_read_with_it_mended(tmp_path):
    """Byte 0 'X' for 'M': known by its first data block's tag, read (it was refused as
    "binary data, not a CSV text file")."""
    data = bytearray(_cwa(10))
    data[0] = ord("X")
    rec = read_recording(write(tmp_path / "night.cwa", bytes(data)))
    assert len(rec.time_s) == 10 * 80 and rec.nominal_rate_hz == 100.0
    assert any("the header begins b'XD" in w and "read with it mended" in w for w in rec.warnings)


def test_cwa_whose_header_settings_are_lost_too_is_read_from_its_blocks(tmp_path):
    data = bytearray(_cwa(10))
    data[:40] = b"\x00" * 40  # its tag and the settings after it
    rec = read_recording(write(tmp_path / "night.cwa", bytes(data)))
    assert len(rec.time_s) == 10 * 80  # the blocks carry their own rate and time
    assert any("read with it mended" in w for w in rec.warnings)


def test_geneactiv_cut_inside_its_header_or_with_its_first_line_damaged_is_named(tmp_path, capsys):
    whole = open(geneactiv_night(tmp_path), "rb").read()
    cut = write(tmp_path / "cut.bin", whole[:34])  # "Device Identity\nDevice Unique Seri"
    refused(tmp_path, capsys, cut, "a GENEActiv .bin file that cannot be decoded")
    flipped = write(tmp_path / "flip.bin", whole.replace(b"Device Identity", b"DJvice Identity"))
    refused(tmp_path, capsys, flipped, "a GENEActiv .bin file whose first line is damaged")


def test_gt3x_zip_without_info_txt_is_read_from_its_records(tmp_path):
    """A whole zip of log.bin without info.txt, as a .gt3x cut before it: the rate from
    the records, said (it was refused as "no info.txt and log.bin", log.bin there)."""
    import io
    import zipfile

    whole = zipfile.ZipFile(gt3x_night(tmp_path))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in whole.namelist():  # a loop over members
            if name != "info.txt":
                archive.writestr(name, whole.read(name))
    rec = read_recording(write(tmp_path / "noinfo.gt3x", out.getvalue()))
    assert len(rec.time_s) == 120 * 10
    assert any("info.txt is lost: 10 Hz taken from the records" in w for w in rec.warnings)


def test_cwa_with_a_damaged_header_tag_and_a_damaged_block_keeps_the_others(tmp_path):
    """Both at once: the tag mended, the block left out, as each alone (it was refused)."""
    data = bytearray(_cwa(10, bad_time_at=4))
    data[0] = ord("X")
    rec = read_recording(write(tmp_path / "night.cwa", bytes(data)))
    assert len(rec.time_s) == 9 * 80 and rec.path.endswith("night.cwa")
    assert any("read with it mended" in w for w in rec.warnings)
    assert any("1 damaged data blocks (impossible time stamp" in w for w in rec.warnings)


def test_a_short_file_is_not_said_to_be_short_for_damage_that_did_not_end_its_read(
    tmp_path, capsys
):
    path = geneactiv_night(tmp_path, "Time Zone:GMT +01:00", "_ime Zone:GMT +01:00", seconds=30)
    error = refused(tmp_path, capsys, path, "that lasts only")
    assert "as read" not in error, error


@pytest.mark.parametrize("stated, pages", [("0", 4), ("0", 1), ("nan", 4)])
def test_geneactiv_pages_stating_no_frequency_are_timed_at_the_headers_rate(
    tmp_path, stated, pages
):
    """Pages whose own Measurement Frequency is 0 were timed 1/0 apart by the decoder: the
    file was refused as "the time stamps jump back"; nan put a page's samples at one time."""
    whole = read_recording(geneactiv_night(tmp_path))
    text = open(geneactiv_night(tmp_path), encoding="ascii").read()
    damaged = text.replace("Measurement Frequency:10.0", f"Measurement Frequency:{stated}", pages)
    rec = read_recording(write(tmp_path / "damaged.bin", damaged.encode()))
    assert np.array_equal(rec.time_s, whole.time_s)
    assert any(
        f"{pages} pages state a Measurement Frequency that is no rate" in w
        and "header's 10 Hz" in w
        for w in rec.warnings
    )


def test_geneactiv_first_page_marker_lost_leaves_that_page_out_not_the_file(tmp_path):
    """Zeros over the first page's "Recorded Data" made its lines read as the header's:
    an IndexError traceback (exit 1) for a file whose other pages are sound."""
    data = bytearray(open(geneactiv_night(tmp_path, seconds=600), "rb").read())
    first = data.index(b"Recorded Data")
    data[first : first + 200] = bytes(200)  # the marker and the page's first lines
    rec = read_recording(write(tmp_path / "zeroed.bin", bytes(data)))
    assert len(rec.time_s) == 19 * 300  # the 19 pages after the first
    assert any("first page's marker is damaged" in w for w in rec.warnings)


def test_gt3x_whose_zip_directory_points_outside_the_file_keeps_its_records(tmp_path, capsys):
    """Bytes lost inside log.bin left the zip directory's offsets pointing before the
    file's start: 'cannot write (Invalid argument)', exit 1, as if --out were at fault."""
    data = open(gt3x_night(tmp_path), "rb").read()
    at = data.index(b"log.bin") + 200  # inside the first member's stored bytes
    path = write(tmp_path / "lost.gt3x", data[:at] + data[at + 100 :])
    assert main(["analyze", path, "--out", str(tmp_path / "out"), "--no-report"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot write" not in err and "lost.gt3x" in err


def _pages(path: str) -> list[int]:
    """Each page's start in the file's bytes."""
    data = open(path, "rb").read()
    return [i for i in range(len(data)) if data.startswith(b"Recorded Data", i)]


def test_geneactiv_page_that_lost_a_hex_digit_is_left_out_not_decoded_shifted(tmp_path):
    """Decoded a nibble off, 292 samples were garbage up to 5.6 g (a PLM's peak 6.1 g), and
    the only word was a false 'the file is cut short'."""
    path = geneactiv_night(tmp_path, seconds=600)
    data = bytearray(open(path, "rb").read())
    hex_line = data.index(b"\n", data.index(b"Page Time:", _pages(path)[5])) + 1
    while not data[hex_line : hex_line + 12].isalnum() or b":" in data[hex_line : hex_line + 40]:
        hex_line = data.index(b"\n", hex_line) + 1  # the page's lines down to its samples
    del data[hex_line + 700]  # one hex digit of page 6 lost
    rec = read_recording(write(tmp_path / "lost.bin", bytes(data)))
    assert len(rec.time_s) == 19 * 300 and np.abs(rec.xyz_g).max() < 1.1
    assert any("1 damaged pages" in w and "page 6" in w for w in rec.warnings), rec.warnings
    assert not any("cut short" in w for w in rec.warnings)


def test_geneactiv_pages_run_together_by_a_flipped_newline_leave_only_them_out(tmp_path):
    """The newline before a page's marker flipped: the page's text lines took in the next
    page whole, the pair counted as whole, and the 8-h file was refused."""
    path = geneactiv_night(tmp_path, seconds=600)
    data = bytearray(open(path, "rb").read())
    data[_pages(path)[7] - 1] = ord("J")
    rec = read_recording(write(tmp_path / "flip.bin", bytes(data)))
    assert len(rec.time_s) == 18 * 300
    assert any("damaged pages" in w and "page 7" in w for w in rec.warnings), rec.warnings
