"""Hostile inputs to the readers and the grid: one line, exit 2, nothing written; or read right."""

from __future__ import annotations

import builtins
import gzip
import os
import zipfile

import numpy as np
import pytest

from sleepmove.cli import main
from sleepmove.detection.grid import estimate_rate, regularize
from sleepmove.sensor.formats import read_recording

START = 1742082720.0


def good_text(seconds: float = 660.0, rate: float = 25.0) -> str:
    rng = np.random.default_rng(1)
    t = START + np.arange(0, seconds, 1 / rate)
    xyz = rng.normal(0, 0.01, (len(t), 3)) + [0.05, -0.2, -0.97]
    return "time,x,y,z\n" + "".join(
        f"{a:.3f},{x:.4f},{y:.4f},{z:.4f}\n" for a, (x, y, z) in zip(t, xyz)
    )


def refused(capsys, tmp_path, args: list[str], words: str) -> str:
    out = tmp_path / "out"
    assert main(["analyze", *args, "--out", str(out), "--no-report"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert words in err, err
    assert not out.exists() or not any(out.iterdir())
    return err


def test_non_utf8_file_name_is_read(tmp_path):  # defect 5
    name = os.fsdecode(bytes(tmp_path) + b"/n\xe9.csv")
    with open(name, "w") as handle:
        handle.write(good_text(60))
    assert len(read_recording(name).time_s) == 1500


def test_empty_timezone_is_refused(capsys, tmp_path):  # defect 7
    path = tmp_path / "iso.csv"
    path.write_text("time,x,y,z\n2025-03-15T23:52:00.000,0,0,1\n2025-03-15T23:52:00.040,0,0,1\n")
    refused(capsys, tmp_path, [str(path), "--timezone="], "unknown time zone ''")


@pytest.mark.parametrize("size", [100, 929, 1024, 1025])
def test_cwa_without_a_whole_block(capsys, tmp_path, size):  # defects 8, 35
    path = tmp_path / "t.cwa"
    path.write_bytes(b"MD" + (1020).to_bytes(2, "little") + b"\0" * (size - 4))
    refused(capsys, tmp_path, [str(path)], f"of {size} bytes")


def _gt3x(path, info: str, log: bytes = b"\x1e" + b"\0" * 8) -> str:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("info.txt", info)
        archive.writestr("log.bin", log)
    return str(path)


@pytest.mark.parametrize(
    "line", ["Sample Rate: x", "Sample Rate: 0", "Acceleration Scale: abc",
             "Acceleration Scale: 0", "Acceleration Scale: 1e300"],
)  # fmt: skip
def test_gt3x_info_numbers_that_are_no_numbers(capsys, tmp_path, line):  # defect 9
    info = "Sample Rate: 30\nAcceleration Scale: 256\n" + line + "\n"
    err = refused(capsys, tmp_path, [_gt3x(tmp_path / "a.gt3x", info)], "info.txt's")
    assert "RuntimeWarning" not in err


def test_gt3x_log_bomb_is_refused_before_inflating(capsys, tmp_path):  # defect 15
    path = _gt3x(tmp_path / "b.gt3x", "Sample Rate: 30\n", b"\0" * 100_000_000)
    refused(capsys, tmp_path, [path], "inflates to 100 MB")


def test_gzip_is_decompressed_as_parsed(tmp_path):  # defect 15
    import sleepmove.sensor.text_source as text_source

    text = good_text(60).encode()
    path = tmp_path / "n.csv.gz"
    path.write_bytes(gzip.compress(text))
    reads: list[int] = []
    original = text_source._GzipText.read

    def spy(self, size=-1):
        data = original(self, size)
        reads.append(len(data))
        return data

    text_source._GzipText.read = spy
    try:
        plain = tmp_path / "n.csv"
        plain.write_bytes(text)
        a, b = read_recording(str(path)), read_recording(str(plain))
    finally:
        text_source._GzipText.read = original
    assert np.array_equal(a.time_s, b.time_s) and np.array_equal(a.xyz_g, b.xyz_g)
    assert reads and max(reads) <= text_source.SNIFF_BYTES + text_source.GZIP_CHUNK * 4


def test_gzip_cut_short_keeps_what_came_before(tmp_path):
    path = tmp_path / "cut.csv.gz"
    packed = gzip.compress(good_text(120).encode())
    path.write_bytes(packed[: len(packed) * 2 // 3])
    rec = read_recording(str(path))
    assert any("cut short" in w for w in rec.warnings) and len(rec.time_s) > 1000


def test_gzip_with_a_wrong_checksum_keeps_its_sound_text(tmp_path):
    """Only the trailer's CRC is wrong: every row decompresses and all but the last few
    (the step zlib refuses in) are kept; the call that failed once took 4 MB of text along,
    and a file under that was refused whole."""
    path = tmp_path / "crc.csv.gz"
    text = good_text(660)
    packed = bytearray(gzip.compress(text.encode()))
    packed[-8] ^= 0xFF  # the CRC-32 of the trailer
    path.write_bytes(bytes(packed))
    rec = read_recording(str(path))
    rows = text.count("\n") - 1
    assert rows - 100 <= len(rec.time_s) <= rows
    assert any("damaged after" in w for w in rec.warnings)


@pytest.mark.parametrize("value", ["inf", "-inf", "Infinity", "+nan", "NAN", "nan"])
def test_a_damaged_gzip_reads_infinities_and_nan_as_the_plain_file_does(value, tmp_path):
    """A column of numbers with 4 decimals, one cell `inf`: the damaged gzip's look for
    garbled text took it for garbling (other decimals) and dropped the night from 64 KB
    before it. As in the plain file, its row is dropped and counted."""
    lines = good_text(660).splitlines(keepends=True)
    # x, twice, and y within the first cells, which set the column's decimals
    for line, column in ((500, 2), (3000, 1), (12000, 1)):
        cells = lines[line].split(",")
        cells[column] = value
        lines[line] = ",".join(cells)
    text = "".join(lines).encode()
    (tmp_path / "plain.csv").write_bytes(text)
    plain = read_recording(str(tmp_path / "plain.csv"))
    packed = bytearray(gzip.compress(text))
    packed[-8] ^= 0xFF  # the CRC-32 of the trailer: a damaged file
    (tmp_path / "crc.csv.gz").write_bytes(bytes(packed))
    damaged = read_recording(str(tmp_path / "crc.csv.gz"))
    assert "3 rows with missing, NaN or infinite values dropped (first at line 501)" in (
        plain.warnings
    )
    assert plain.warnings[0] in damaged.warnings, damaged.warnings
    assert not any("garbled" in warning for warning in damaged.warnings), damaged.warnings
    assert len(plain.time_s) - 100 <= len(damaged.time_s) <= len(plain.time_s)


def three_members(tmp_path, damage: str, third: bytes | None = None) -> tuple[list[bytes], str]:
    """A night's text in three gzip members (as `cat a.gz b.gz c.gz` joins them), the second
    damaged: a byte flipped half way through its deflate data, or its checksum; `third`
    replaces the third member."""
    lines = good_text(660).encode().splitlines(keepends=True)
    parts = [lines[:5001], lines[5001:10001], lines[10001:]]
    members = [gzip.compress(b"".join(part), mtime=0) for part in parts]
    middle = bytearray(members[1])
    middle[len(middle) // 2 if damage == "flipped" else -8] ^= 0xFF
    path = tmp_path / f"{damage}.csv.gz"
    path.write_bytes(members[0] + bytes(middle) + (members[2] if third is None else third))
    return lines, str(path)


def times_of(lines: list[bytes]) -> np.ndarray:
    return np.array([float(line.split(b",")[0]) for line in lines])


@pytest.mark.parametrize("damage", ["flipped", "checksum"])
def test_gzip_members_after_a_damaged_one_are_read_on(damage, tmp_path):
    """After a damaged member, the members after it were never read: a third of the night
    lost. They are read on, all but their first line where the damage may have cut a line
    (its rest would be read as a row); the damaged member keeps what it kept before."""
    lines, path = three_members(tmp_path, damage)
    recording = read_recording(path)
    read_on = [w for w in recording.warnings if "the next sound gzip member" in w]
    assert len(read_on) == 1, recording.warnings
    # A member whose text came out whole (zlib found the damage at its checksum) ends on a
    # line's end here: the next member's first line is a row, kept
    whole = "incorrect data check" in read_on[0]
    assert ("its first line left out" in read_on[0]) != whole, read_on
    assert whole or damage == "flipped"
    first, last = times_of(lines[1:5001]), times_of(lines[10001 if whole else 10002 :])
    assert np.array_equal(recording.time_s[:5000], first)
    assert np.array_equal(recording.time_s[-len(last) :], last)
    middle = recording.time_s[5000 : -len(last)]
    assert np.array_equal(middle, times_of(lines[5001 : 5001 + len(middle)]))
    assert (damage == "flipped") == any("garbled" in w for w in recording.warnings)
    if damage == "checksum":  # every row: only the checksum is wrong
        assert len(recording.time_s) == len(lines) - 1


def test_bytes_that_only_look_like_a_gzip_member_are_not_read_on(tmp_path):
    # A member's start by chance, or a sound member of binary data: no text of a recording
    rng = np.random.default_rng(5)
    junk = b"\x1f\x8b\x08\x00" + bytes(6) + rng.bytes(4000)
    binary = gzip.compress(bytes(range(256)) * 400, mtime=0)
    lines, path = three_members(tmp_path, "flipped", junk + binary)
    recording = read_recording(path)
    assert recording.time_s[-1] < times_of(lines[5001:10001])[-1]
    assert not any("next sound gzip member" in w for w in recording.warnings)


@pytest.mark.parametrize("trailer_byte", [-8, -1])  # the CRC-32, the length
def test_gzip_whose_only_fault_is_its_trailer_keeps_every_row(trailer_byte, tmp_path):
    """The text of the step zlib refused in (512 bytes of input, 70 to 190 rows) was lost
    with it; that step is inflated again a byte at a time."""
    text = good_text(660).encode()
    packed = bytearray(gzip.compress(text, mtime=0))
    packed[trailer_byte] ^= 0xFF
    (tmp_path / "plain.csv").write_bytes(text)
    (tmp_path / "trailer.csv.gz").write_bytes(bytes(packed))
    damaged = read_recording(str(tmp_path / "trailer.csv.gz"))
    assert np.array_equal(damaged.time_s, read_recording(str(tmp_path / "plain.csv")).time_s)
    assert any("damaged after" in w for w in damaged.warnings)


def test_gzip_of_one_long_line_is_refused(capsys, tmp_path):  # defects 15, 30
    path = tmp_path / "bomb.csv.gz"
    path.write_bytes(gzip.compress(b"time,x,y,z\n" + b"0" * 40_000_000))
    refused(capsys, tmp_path, [str(path)], "a line longer than 16 MB (line 2)")


def test_first_line_too_long(capsys, tmp_path):  # defect 30
    path = tmp_path / "wide.csv"
    path.write_text("time,x,y,z" + ",w" * 50_000 + "\n1,0,0,1\n")
    refused(capsys, tmp_path, [str(path)], "the first line is longer than 64 KB")


def test_unreadable_file_says_so(capsys, tmp_path, monkeypatch):  # defect 28
    path = tmp_path / "perm.csv"
    path.write_text(good_text(10))
    real_open = builtins.open

    def denied(file, *args, **kwargs):
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", denied)
    err = refused(capsys, tmp_path, [str(path)], "cannot be read (Permission denied)")
    assert "cannot write" not in err


@pytest.mark.parametrize(("sep", "name"), [("\t", "tabs"), ("|", "'|'"), (" ", "spaces")])
def test_other_delimiters(capsys, tmp_path, sep, name):  # defect 31
    path = tmp_path / "d.csv"
    path.write_text(good_text(10).replace(",", sep))
    refused(capsys, tmp_path, [str(path)], f"fields separated by {name}, not commas")


def test_cells_shown_as_written(capsys, tmp_path):  # defect 32
    path = tmp_path / "b.csv"
    path.write_text("time,x,y,z\n" + "".join(f"{START + i / 25},true,false,1\n" for i in range(50)))
    refused(capsys, tmp_path, [str(path)], "not a number in column 'x': 'true'")
    path.write_text("time,x,y,z\n" + "".join(f"{START + i / 25},nan,nan,nan\n" for i in range(50)))
    refused(capsys, tmp_path, [str(path)], "no values in column 'x': every cell is empty or NaN")


def test_parquet_numbers_stored_as_text_are_read(tmp_path):  # defect 32
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = START + np.arange(500) / 25
    table = pa.table({"time": t, "x": ["0.0504"] * 500, "y": ["0.1"] * 500, "z": ["0.99"] * 500})
    pq.write_table(table, tmp_path / "s.parquet")
    rec = read_recording(str(tmp_path / "s.parquet"))
    assert rec.xyz_g[0, 0] == pytest.approx(0.0504)


def test_unreadable_time_counted_once(tmp_path):  # defect 25
    lines = good_text(20).splitlines()
    lines[10] = "2025-13-45T99:99:99.000,0,0,1"
    lines[20] = lines[20].split(",")[0] + ",nan,0,1"
    (tmp_path / "j.csv").write_text("\n".join(lines) + "\n")
    warnings = read_recording(str(tmp_path / "j.csv")).warnings
    assert any("1 row whose time is unreadable dropped (first at line 11" in w for w in warnings)
    assert "1 row with missing, NaN or infinite values dropped (first at line 21)" in warnings


def test_time_of_day_only_is_time_from_the_start(tmp_path):  # defect 22
    seconds = 23 * 3600 + 59 * 60 + np.arange(0, 120, 0.04)  # across midnight
    text = "time,x,y,z\n" + "".join(
        f"{int(s // 3600) % 24:02d}:{int(s // 60) % 60:02d}:{s % 60:06.3f},0,0,1\n" for s in seconds
    )
    (tmp_path / "h.csv").write_text(text)
    rec = read_recording(str(tmp_path / "h.csv"))
    # no clock for the outputs; the seconds run on from the midnight before the first time
    assert rec.clock == "relative" and rec.time_of_day and rec.time_s[0] == 86340.0
    assert np.all(np.diff(rec.time_s) > 0) and rec.time_s[-1] == pytest.approx(86340 + 119.96)
    assert any("without a date" in w for w in rec.warnings)


def test_autumn_change_inside_the_repeated_hour(tmp_path):  # defect 23
    from sleepmove.sensor.recording import Recording
    from sleepmove.sensor.zones import apply_zone

    base = 1761447300.0  # 2025-10-26T02:55 as if UTC
    local = np.r_[base + np.arange(0, 300, 0.04), base + 300 - 3600 + np.arange(0, 420, 0.04)]
    rec = Recording("x", local, np.zeros((len(local), 3), np.float32), "naive", "g")
    out = apply_zone(rec, None, "Europe/Berlin")
    assert np.all(np.diff(out.time_s) > 0) and np.max(np.diff(out.time_s)) < 0.05
    assert any("daylight-saving" in w for w in out.warnings)


def test_rate_not_lowered_by_lost_rows():  # defect 24
    rng = np.random.default_rng(0)
    t = START + np.arange(0, 3600, 1 / 25)
    assert estimate_rate(t[rng.random(len(t)) > 0.05], 1.0) == 25.0
    assert estimate_rate(np.delete(t, np.arange(0, len(t), 50)), 1.0) == 25.0


def test_whole_second_stamps_start_at_the_first_stamp():  # defect 26
    t = np.repeat(START + np.arange(60.0), 25)
    grid = regularize(t, np.zeros((len(t), 3), np.float32))
    assert grid.rate_hz == 25.0 and grid.start_s == START
    assert grid.end_s == pytest.approx(START + 59.96)


@pytest.mark.parametrize("kind", ["shuffled", "zones"])
def test_stamps_out_of_order(capsys, tmp_path, kind):  # defect 33
    lines = good_text(660).splitlines()
    body = lines[1:]
    if kind == "shuffled":
        np.random.default_rng(2).shuffle(body)
    else:
        body = [
            (row.replace(row.split(",")[0], str(float(row.split(",")[0]) + 7200)) if i % 2 else row)
            for i, row in enumerate(body)
        ]
    (tmp_path / "u.csv").write_text("\n".join([lines[0], *body]) + "\n")
    refused(capsys, tmp_path, [str(tmp_path / "u.csv")], "the rows are not in time order")


def test_gt3x_zone_warnings(tmp_path):  # defect 35
    from sleepmove.sensor.formats import gt3x

    records = b""
    for second in range(3):
        payload = (np.full((30, 3), [0, 0, 256], "<i2")).tobytes()
        head = bytes([0x1E, 0x1A]) + (1_600_000_000 + second).to_bytes(4, "little")
        body = head + len(payload).to_bytes(2, "little") + payload
        checksum = 0
        for byte in body:
            checksum ^= byte
        records += body + bytes([~checksum & 0xFF])
    path = _gt3x(tmp_path / "z.gt3x", "TimeZone: banana\nAcceleration Scale: 256\n", records)
    rec, offset = gt3x.read(path, "auto")
    assert offset is None
    assert any("TimeZone 'banana' is unreadable" in w for w in rec.warnings)
    path = _gt3x(tmp_path / "y.gt3x", "TimeZone: -04:00:00\nAcceleration Scale: 256\n", records)
    rec, offset = gt3x.read(path, "auto")
    assert offset == -14400 and not any("time zone unknown" in w for w in rec.warnings)


def test_an_empty_iso_time_cell_drops_its_row(tmp_path):
    """An ISO column is read as timestamps; an empty cell there was NaT, then -9.2e9 s (the
    year 1677), and a 15-minute night came out as '0.0 minutes recorded'."""
    rows = [f"2025-01-01T00:00:00.{20 * i:03d}Z,0.1,0.2,0.97" for i in range(5)]
    rows[2] = ",0.1,0.2,0.97"
    path = tmp_path / "iso.csv"
    path.write_text("time,x,y,z\n" + "\n".join(rows) + "\n")
    recording = read_recording(str(path))
    assert np.allclose(recording.time_s - 1735689600.0, [0.0, 0.02, 0.06, 0.08])
    dropped = "1 row with missing, NaN or infinite values dropped (first at line 4)"
    assert recording.warnings == [dropped]


@pytest.mark.parametrize("notes", ["# logger v1, device 12\n", "# logger v1 device 12\n"])
def test_comment_lines_above_the_table_are_named(notes, capsys, tmp_path):
    """They were told 'fields separated by spaces'; a header written `#time,x,y,z` still reads."""
    path = tmp_path / "notes.csv"
    path.write_text(notes + good_text())
    refused(capsys, tmp_path, [str(path)], "starts with a comment line")
    path.write_text("#" + good_text())
    assert main(["analyze", str(path), "--out", str(tmp_path / "ok"), "--no-report"]) == 0


def test_an_iso_stamp_past_2262_is_dropped_and_shown_as_its_year(tmp_path):
    """As nanoseconds it wrapped round to 1915, and the warning showed -1.72e9 s."""
    import datetime as dt

    start = dt.datetime(2025, 3, 15, 23, 0, 0)
    stamps = [(start + dt.timedelta(seconds=i / 25)).isoformat() for i in range(25 * 660)]
    stamps[5000] = "2500-01-01T00:00:00"
    path = tmp_path / "y2500.csv"
    path.write_text("time,x,y,z\n" + "".join(f"{t},0.01,0.02,1.0\n" for t in stamps))
    rec = read_recording(str(path))
    assert rec.time_s[5000] == pytest.approx(16725225600.0)  # 2500-01-01, in seconds
    from sleepmove.detection.grid import regularize

    grid = regularize(rec.time_s, rec.xyz_g)
    dropped = [n for n in grid.notes if "dropped" in n]
    assert dropped and "1.67252e+10 s" in dropped[0], grid.notes


def test_a_flip_that_fails_the_checksum_and_ends_a_line_by_chance_keeps_no_rest_of_a_row(
    tmp_path,
):
    """Members split mid-row (as BGZF splits text); a flipped byte in the middle member's
    compressed data fails its CRC, as a damaged trailer does, and here lengthens its text by
    2 bytes to end on a newline by chance. Taken as whole, the next member's first line, the
    rest of a row ('0,0.010,0.020,1.000'), was read as a row at time 0. Whole text is now
    its trailer's stated length."""
    times = 1.7e9 + np.arange(30000) / 50
    rows = [f"{x:.3f},0.010,0.020,1.000\n".encode() for x in times]
    text = b"time,x,y,z\n" + b"".join(rows)
    cut1, cut2 = 11 + 10000 * len(rows[0]) + 7, 11 + 20000 * len(rows[0]) + 13  # mid-row
    members = [gzip.compress(part, mtime=0) for part in (text[:cut1], text[cut1:cut2], text[cut2:])]
    middle = bytearray(members[1])
    middle[266] ^= 0x01
    path = tmp_path / "split.csv.gz"
    path.write_bytes(members[0] + bytes(middle) + members[2])
    recording = read_recording(str(path))
    assert "incorrect data check" in " ".join(recording.warnings)  # the case this test is for
    assert np.isin(np.round(recording.time_s, 3), np.round(times, 3)).all()
    assert any("its first line left out" in w for w in recording.warnings)


def test_a_first_gzip_member_garbled_near_its_start_keeps_the_header_for_the_members_after(
    tmp_path,
):
    """The first member garbled within the 64 KB margin of its start: the text left out began
    at the member's start and took the header with it, and the sound members after were
    refused as a CSV without its 'time' column (6 members of 2,000 rows: none read)."""
    rows = good_text(600).encode().split(b"\n", 1)[1].splitlines(keepends=True)
    header = [b"time,x,y,z\n"] + [b""] * 5
    blocks = [b"".join(rows[index * 2000 : (index + 1) * 2000]) for index in range(6)]
    members = [gzip.compress(head + block, mtime=0) for head, block in zip(header, blocks)]
    first = bytearray(members[0])
    first[len(first) // 2] ^= 0xFF
    path = tmp_path / "first.csv.gz"
    path.write_bytes(bytes(first) + b"".join(members[1:]))
    recording = read_recording(str(path))
    later = times_of(rows[2001:12000])  # the next member's first line left out
    assert np.array_equal(recording.time_s[-len(later) :], later)
    assert any("garbled from line" in w for w in recording.warnings)


def test_a_whole_member_entered_after_damage_keeps_the_next_members_first_row(tmp_path):
    """Member 2 is read after member 1's damage (its first line left out) and only its CRC is
    wrong: its text is whole. Its length was compared with its trailer's less that left-out
    line, never matched, and member 3's first row, sound, was left out too."""
    times = 1.7e9 + np.arange(30000) / 50
    rows = [f"{x:.3f},0.010,0.020,1.000\n".encode() for x in times]
    parts = [b"time,x,y,z\n" + b"".join(rows[:10000]), b"".join(rows[10000:20000])]
    members = [bytearray(gzip.compress(p, mtime=0)) for p in [*parts, b"".join(rows[20000:])]]
    members[0][-8] ^= 1  # member 1: CRC and length wrong: not taken as whole
    members[0][-1] ^= 1
    members[1][-8] ^= 1  # member 2: only its CRC wrong
    path = tmp_path / "entered.csv.gz"
    path.write_bytes(b"".join(map(bytes, members)))
    recording = read_recording(str(path))
    kept = np.isin(np.round(times, 3), np.round(recording.time_s, 3))
    assert np.flatnonzero(~kept).tolist() == [10000]  # member 2's first line, left out


def damaged_members(path, count: int, rows: int) -> list[bytes]:
    """`count` gzip members of `rows` rows each (as `cat a.gz b.gz ...` joins them), every one
    damaged by a byte flipped half way through its deflate data; the rows, as written."""
    rng = np.random.default_rng(3)
    times = START + np.arange(count * rows) / 50
    xyz = rng.normal(0, 0.01, (len(times), 3)) + [0.05, -0.2, -0.97]
    lines = [f"{t:.3f},{x:.4f},{y:.4f},{z:.4f}\n".encode() for t, (x, y, z) in zip(times, xyz)]
    parts = [b"".join(lines[member * rows : (member + 1) * rows]) for member in range(count)]
    members = [bytearray(gzip.compress(b"time,x,y,z\n" + parts[0], mtime=0))]
    members += [bytearray(gzip.compress(part, mtime=0)) for part in parts[1:]]
    for member in members:
        member[len(member) // 2] ^= 0x55
    path.write_bytes(b"".join(map(bytes, members)))
    return lines


def test_damaged_gzip_members_are_each_inflated_a_few_times_not_once_per_member(
    tmp_path, monkeypatch
):
    """Each garbled stretch was looked for in the text from its start, and every damaged
    member was found again byte by byte on each look and count: 27 s for 25 damaged members
    of an 8 MB file, 88 s (800 MB) for 50. Counted, not timed: each damaged member is found
    byte by byte a few times (the parse, and the whole file inflated once to find them; it
    was 40 and 76 times, with 6 and 12 damaged members), and twice the damaged members
    inflate about twice the text (it was nearly 4 times: 73 and 277 MB, 40 and 76 times the
    text)."""
    import sleepmove.sensor.text_source as text_source

    found_byte_by_byte, inflated = [0], [0]
    until_damage, fill = text_source._inflate_until_damage, text_source._GzipText._fill

    def counted_until_damage(inflater, data, step=512):
        found_byte_by_byte[0] += step > 1  # not its own steps of a byte
        return until_damage(inflater, data, step)

    def counted_fill(self):
        before = self._produced
        fill(self)
        inflated[0] += max(self._produced - before, 0)

    monkeypatch.setattr(text_source, "_inflate_until_damage", counted_until_damage)
    monkeypatch.setattr(text_source._GzipText, "_fill", counted_fill)
    counts, rows = {}, 8000
    for members in (6, 12):
        found_byte_by_byte[0] = inflated[0] = 0
        lines = damaged_members(tmp_path / f"m{members}.csv.gz", members, rows)
        recording = read_recording(str(tmp_path / f"m{members}.csv.gz"))
        counts[members] = found_byte_by_byte[0], inflated[0]
        garbled = [w for w in recording.warnings if "garbled from line" in w]
        assert len(garbled) == members, recording.warnings
        # The rows before each member's garbled stretch are read, and only rows as written
        assert np.isin(recording.time_s, times_of(lines)).all()
        assert np.all(np.diff(recording.time_s) > 0)
        member_of_row = np.searchsorted(times_of(lines[rows::rows]), recording.time_s, "right")
        assert set(member_of_row) == set(range(members))
    assert counts[6][0] <= 5 * 6 and counts[12][0] <= 5 * 12, counts
    assert counts[12][1] < 2.5 * counts[6][1], counts


def crafted_damage(tmp_path, kind: str) -> str:
    """Multi-member files whose garbled stretches the search finds in odd ways: their text is
    as written (only the members' checksums are damaged) where it holds rows crafted to not
    read; else bytes flipped."""
    seconds, rows = (4800, 24_000) if kind == "masked" else (660, 3300)
    lines = good_text(seconds).encode().splitlines(keepends=True)
    parts = [lines[start : start + rows] for start in range(1, len(lines), rows)]
    parts[0].insert(0, lines[0])
    damaged = {
        # Member 2's last row of the wrong length and member 3's, whose bytes are no UTF-8
        # (Arrow refuses the parse at it), lie in one block of a look (of 1 MB, from 2 MB on):
        # that look finds member 3's and passes member 2's over, the next finds it
        "masked": {1: 12_000, 2: rows - 1, 3: 50},
        "short rows": {1: 2000, 3: 100},
    }.get(kind, {})
    if kind == "empty lines":  # Arrow skips them: its rows are not the lines there
        parts[0][700:700] = [b"\n", b"\r\n", b"\n"]
        parts[2][100:100] = [b"\n"]
    if kind == "lone CR":  # Arrow ends a row there: two rows in one line
        parts[0][300] = parts[0][300].replace(b"\n", b"\r")
    for member, row in damaged.items():
        cells = parts[member][row].split(b",")
        separator = b"\x93" if kind == "masked" and member == 3 else b","
        parts[member][row] = separator.join(cells[:2]) + b"\n"
    members = [bytearray(gzip.compress(b"".join(part), mtime=0)) for part in parts]
    for index, member in enumerate(members):
        if kind in ("flipped", "empty lines", "lone CR") or (kind == "junk" and index % 2):
            member[len(member) * 4 // 5] ^= 0x55
        elif index in damaged or (kind == "junk" and index == 2):
            member[-8] ^= 1  # its checksum
    junk = np.random.default_rng(4).bytes(700) if kind == "junk" else b""
    path = tmp_path / f"{kind.replace(' ', '_')}.csv.gz"
    path.write_bytes(junk.join(map(bytes, members)))
    if kind == "masked":  # the two rows in one block, as said
        text = b"".join(b"".join(part) for part in parts)
        member_3 = sum(len(b"".join(part)) for part in parts[:3])
        row_3 = member_3 + len(b"".join(parts[3][:50]))
        assert 2 << 20 < member_3 - len(parts[2][-1]) < row_3 < 3 << 20 < len(text)
    return str(path)


@pytest.mark.parametrize(
    "kind", ["flipped", "junk", "short rows", "masked", "empty lines", "lone CR"]
)
def test_the_search_for_garbled_members_finds_what_its_passes_from_the_start_found(
    kind, tmp_path, monkeypatch
):
    """The search goes on from where its last look left off where that finds what a look
    from the text's start would; with that off, every look and count starts at the text's
    start, as the search always did. The same rows and warnings either way."""
    import sleepmove.sensor.gzip_garbling as garbling

    path = crafted_damage(tmp_path, kind)
    recording = read_recording(path)
    search = garbling._GarbleSearch.__init__

    def from_the_start(self, source, layout):
        search(self, source, layout)
        self.shortcuts = False

    monkeypatch.setattr(garbling._GarbleSearch, "__init__", from_the_start)
    as_before = read_recording(path)
    assert recording.warnings == as_before.warnings
    assert np.array_equal(recording.time_s, as_before.time_s)
    assert np.array_equal(recording.xyz_g, as_before.xyz_g)
    garbled = [w for w in recording.warnings if "garbled from line" in w]
    expected = {"flipped": 5, "junk": 2, "short rows": 2, "masked": 3, "empty lines": 5}
    expected["lone CR"] = 5
    assert len(garbled) == expected[kind], garbled
