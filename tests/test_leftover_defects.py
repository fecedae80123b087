"""Defects left from the fifth stress test (/tmp/stress5): each test failed before its fix.

Bad input is one line on stderr, exit status 2; recorded data is never lost for a flaw
elsewhere in the file.
"""

from __future__ import annotations

import gzip
import json
import zlib

import numpy as np
import pytest

import sleepmove.sensor.gzip_garbling as garbling
import sleepmove.sensor.readers as readers
import sleepmove.sensor.text_source as text_source
import sleepmove.sensor.time_guards as time_guards
from sleepmove.base.errors import InputError
from sleepmove.cli import main
from sleepmove.sensor.formats import read_recording
from tests.test_cli_robustness import refused
from tests.test_formats import T0, cwa_bytes, cwa_time, gt3x_bytes, gt3x_record, write

START = 1745625000.0
RATE = 25.0


def samples(minutes: float) -> np.ndarray:
    """(time, x, y, z) rows of a leg at rest, as a logger writes them (3 and 4 decimals)."""
    n = int(minutes * 60 * RATE)
    rows = np.empty((n, 4))
    rows[:, 0] = np.round(START + np.arange(n) / RATE, 3)
    noise = np.random.default_rng(0).normal(0, 0.01, (n, 3)) + [0.05, -0.2, 0.97]
    rows[:, 1:] = np.round(noise, 4)
    return rows


def text_of(rows: np.ndarray) -> bytes:
    lines = [f"{t:.3f},{x:.4f},{y:.4f},{z:.4f}" for t, x, y, z in rows]
    return ("time,x,y,z\n" + "\n".join(lines) + "\n").encode()


def inflated(packed: bytes) -> tuple[bytes, str | None]:
    """All the text a damaged gzip inflates to, and zlib's complaint."""
    inflater, pieces = zlib.decompressobj(wbits=31), []
    for first in range(0, len(packed), 512):  # a loop over small steps of a test file
        try:
            pieces.append(inflater.decompress(packed[first : first + 512]))
        except zlib.error as exc:
            return b"".join(pieces), str(exc)
    return b"".join(pieces), None


def flipped_inside(text: bytes) -> tuple[bytes, int]:
    """The gzip of `text` with one byte flipped inside its deflate stream where the stream
    still inflates to its end (only the checksum fails) and the first line it garbles has
    the wrong number of fields; and that line's number."""
    packed = gzip.compress(text, mtime=0)
    lines = text.split(b"\n")
    for position in range(len(packed) // 2, len(packed) - 8, 997):  # a loop over tries
        damaged = bytearray(packed)
        damaged[position] ^= 0x55
        garbled, complaint = inflated(bytes(damaged))
        if complaint is None or "incorrect data check" not in complaint:
            continue
        for number, (line, sound) in enumerate(zip(garbled.split(b"\n"), lines), 1):
            if line != sound:  # a loop over lines, in a test
                if line.count(b",") != 3:
                    return bytes(damaged), number
                break
    raise AssertionError("no flip that garbles a row and leaves the rest inflating")


# --- 1. a flipped byte inside a .csv.gz ---------------------------------------------------


def test_a_flipped_byte_inside_a_gzip_keeps_the_rows_before_the_garbling(tmp_path):
    """The night was refused ("wrong number of fields") for a byte flipped in its gzip. The
    rows before the garbling are read, exactly as written; none after it (garbled rows can
    read as plausible numbers); the warning names the file, the line and the rows dropped."""
    rows = samples(12)
    text = text_of(rows)
    packed, garbled_line = flipped_inside(text)
    path = tmp_path / "flip.csv.gz"
    path.write_bytes(packed)
    recording = read_recording(str(path))
    kept = len(recording.time_s)
    garbled_row = garbled_line - 2  # less the header, from 0
    assert kept <= garbled_row
    # what is dropped before the garbling is the margin, no more
    margin_rows = garbling.GARBLED_MARGIN_BYTES // len(text.split(b"\n")[1])
    assert kept >= garbled_row - margin_rows - 2
    assert np.array_equal(recording.time_s, rows[:kept, 0])
    assert np.array_equal(recording.xyz_g, rows[:kept, 1:].astype(np.float32))
    warning = recording.warnings[0]
    assert str(path) in warning and f"garbled from line {garbled_line:,} on" in warning
    assert "incorrect data check" in warning and f"the {kept:,} rows before read" in warning
    assert not any("what came before was read" in w for w in recording.warnings)


def test_a_flipped_byte_inside_a_gzip_is_analyzed_with_its_warning(tmp_path, capsys):
    path = tmp_path / "flip.csv.gz"
    path.write_bytes(flipped_inside(text_of(samples(12)))[0])
    out = tmp_path / "out"
    assert (
        main(["analyze", str(path), "--out", str(out), "--no-report", "--min-duration", "1"]) == 0
    )
    warnings = json.loads((out / "summary.json").read_text())["quality"]["warnings"]
    assert any(str(path) in w and "damaged gzip file" in w for w in warnings), warnings


def crc_damaged(text: bytes) -> bytes:
    """The gzip of `text`, its trailer's checksum wrong: every byte of `text` inflates."""
    packed = bytearray(gzip.compress(text, mtime=0))
    packed[-8] ^= 0xFF
    return bytes(packed)


def test_garbled_numbers_with_other_decimals_are_not_read(tmp_path):
    """Garbling often changes a cell into another number (`0.4121` -> `0.21`) that reads:
    where a column is written with as many decimals throughout, a cell with other marks
    the garbling too, in a gzip whose checksum fails."""
    rows = samples(12)
    lines = text_of(rows).split(b"\n")
    at = 15_000  # line number of the garbled row
    lines[at - 1] = b"1745625599.49697,0.21,-0.2000,0.9700"  # as a flipped byte leaves it
    path = tmp_path / "digits.csv.gz"
    path.write_bytes(crc_damaged(b"\n".join(lines)))
    recording = read_recording(str(path))
    kept = len(recording.time_s)
    assert at - 2 - garbling.GARBLED_MARGIN_BYTES // 30 < kept < at - 2
    assert np.array_equal(recording.xyz_g, rows[:kept, 1:].astype(np.float32))
    assert f"garbled from line {at:,} on" in recording.warnings[0]


def test_a_sound_gzip_with_a_wrong_row_is_still_refused(tmp_path, capsys):
    """Only damage the gzip stream itself reports lets rows go unread: a row of the wrong
    length in a sound file is the file's own, and refused as before."""
    lines = text_of(samples(12)).split(b"\n")
    lines[9_000] = b"1745625359.960,0.05,-0.2"
    path = tmp_path / "short_row.csv.gz"
    path.write_bytes(gzip.compress(b"\n".join(lines), mtime=0))
    refused(
        capsys,
        ["analyze", str(path), "--out", str(tmp_path / "o"), "--no-report"],
        "wrong number of fields",
        "line 9001",
    )


def test_garbling_near_the_start_leaves_nothing_and_says_so(tmp_path, capsys):
    lines = text_of(samples(12)).split(b"\n")
    lines[100] = b"17456250003.960,0.05,-0.20.9700"
    path = tmp_path / "early.csv.gz"
    path.write_bytes(crc_damaged(b"\n".join(lines)))
    refused(
        capsys,
        ["analyze", str(path), "--out", str(tmp_path / "o"), "--no-report"],
        "damaged gzip file",
        "garbled from line 101 on",
        "too near its start",
    )


def test_a_sound_gzip_is_read_without_looking_for_garbling(tmp_path, monkeypatch):
    """The look for garbled rows is a damaged file's cost only: a sound gzip's read is the
    parse alone."""

    def looked(*args: object) -> None:
        raise AssertionError("a sound gzip was searched for garbled rows")

    monkeypatch.setattr(garbling, "first_unreadable_line", looked)
    rows = samples(2)
    path = tmp_path / "sound.csv.gz"
    path.write_bytes(gzip.compress(text_of(rows), mtime=0))
    assert np.array_equal(read_recording(str(path)).time_s, rows[:, 0])


def test_a_gzip_whose_text_reads_throughout_keeps_every_row(tmp_path):
    """A checksum that fails where every row reads (its trailer damaged) keeps the text, as
    before: nothing shows where garbling would be."""
    rows = samples(12)
    path = tmp_path / "t.csv.gz"
    path.write_bytes(crc_damaged(text_of(rows)))
    recording = read_recording(str(path))
    assert len(rows) - 100 <= len(recording.time_s) <= len(rows)
    assert not any("garbled" in w for w in recording.warnings)
    # ...but a failed checksum says nothing of where the damage is: the warning says so
    assert any("may have changed values anywhere" in w for w in recording.warnings)


def test_the_first_row_of_the_wrong_length_is_where_the_garbling_shows(tmp_path):
    rows = samples(12)
    lines = text_of(rows).split(b"\n")
    lines[15_000] = b"1745625600.000,0.05"
    path = tmp_path / "g.csv.gz"
    path.write_bytes(crc_damaged(b"\n".join(lines)))
    source = text_source._open_source(str(path), [])
    layout = readers._TableLayout(True, "time", ["x", "y", "z"], None, (",", "."))
    assert garbling.first_unreadable_line(source, layout) == 15_001


# --- 2. device files that hold no samples, for a reason other than "epoch-only" ------------


def gt3x_with_two_logs(cut_directory: bool) -> bytes:
    """A .gt3x holding log.bin twice (a whole one, then a stub), its zip directory kept or
    lost (a file cut short: its members are then found by their local headers)."""
    import io
    import warnings
    import zipfile

    values = np.tile(np.array([[1, -2, 256]], dtype="<i2"), (10, 1))
    log = b"".join(gt3x_record(0x1A, T0 + i, values.tobytes()) for i in range(120))
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w") as archive:
        warnings.simplefilter("ignore")  # zipfile's "Duplicate name": the point here
        archive.writestr("info.txt", "Sample Rate: 10\r\nAcceleration Scale: 256.0\r\n")
        archive.writestr("log.bin", log)
        archive.writestr("log.bin", log[:1000])
    data = out.getvalue()
    return data[: data.index(b"PK\x01\x02")] if cut_directory else data


@pytest.mark.parametrize("cut_directory", [False, True])
def test_a_gt3x_with_two_log_bins_says_so(tmp_path, capsys, cut_directory):
    # Was "records hold no accelerometer samples ... (the file may be an epoch-only
    # recording)": the second log.bin, a stub, replaced the first.
    path = write(tmp_path / "two.gt3x", gt3x_with_two_logs(cut_directory))
    line = refused(
        capsys,
        ["analyze", path, "--out", str(tmp_path / "o"), "--no-report", "--min-duration", "1"],
        "holds two log.bin members",
        "1,000 bytes",
        "which one is the recording cannot be told",
    )
    assert "epoch-only" not in line


def test_a_cwa_whose_blocks_hold_no_samples_says_so(tmp_path, capsys):
    empty = np.zeros((0, 3), dtype=np.int16)
    blocks = [(cwa_time(2024, 3, 30, 23, 59, i), empty) for i in range(5)]
    path = write(tmp_path / "empty.cwa", cwa_bytes(blocks))
    line = refused(
        capsys,
        ["analyze", path, "--out", str(tmp_path / "o"), "--no-report", "--min-duration", "1"],
        "whose 5 data blocks hold no samples",
        "sample count of 0",
    )
    assert "epoch-only" not in line


# --- 3. a .gt3x whose info.txt states a rate its records do not hold -----------------------


def gt3x_stating(rate: str) -> bytes:
    """Two minutes of ACTIVITY2 records of 10 samples each (10 Hz), info.txt stating `rate`."""
    values = np.tile(np.array([[1, -2, 256]], dtype="<i2"), (10, 1))
    values[::3, 0] = 5
    records = [gt3x_record(0x1A, T0 + i, values.tobytes()) for i in range(120)]
    return gt3x_bytes(records, rate)


@pytest.mark.parametrize("stated", ["10000", "1e4", "3"])
def test_a_gt3x_rate_its_records_do_not_hold_gives_way_to_theirs(tmp_path, stated):
    # 10000 was refused with "the time stamps span 0.03 h, far more than the 0.0003 h of
    # samples could fill" (each second's samples spread over 1 ms); 3 kept 3 of each
    # second's 10 samples, and spread them over the second.
    recording = read_recording(write(tmp_path / "r.gt3x", gt3x_stating(stated)))
    assert len(recording.time_s) == 1200 and recording.nominal_rate_hz == 10.0
    np.testing.assert_allclose(np.diff(recording.time_s), 0.1, atol=1e-6)
    assert any(
        f"Sample Rate, {float(stated):g} Hz, is not the 10 samples a second its records hold" in w
        for w in recording.warnings
    ), recording.warnings


def test_a_gt3x_rate_no_device_writes_is_refused_naming_the_range(tmp_path, capsys):
    path = write(tmp_path / "r.gt3x", gt3x_stating("20000"))
    refused(
        capsys,
        ["analyze", path, "--out", str(tmp_path / "o"), "--no-report", "--min-duration", "1"],
        "info.txt's Sample Rate is '20000'",
        "expected 1 to 10,000 Hz",
    )


# --- 4. the least sample rate, as the settings set it --------------------------------------


@pytest.mark.parametrize("least, rate", [(10_000, 25.0), (None, 5.0)])
def test_a_rate_below_the_least_names_the_least_the_settings_set(tmp_path, capsys, least, rate):
    # With min_rate_hz = 10000 the refusal still said "raw samples at 10 Hz or more".
    n = int(12 * 60 * rate)
    lines = [f"{START + i / rate:.3f},0.0500,-0.2000,0.9700" for i in range(n)]
    path = tmp_path / "night.csv"
    path.write_text("time,x,y,z\n" + "\n".join(lines) + "\n")
    argv = ["analyze", str(path), "--out", str(tmp_path / "o"), "--no-report"]
    if least is not None:
        settings = tmp_path / "settings.toml"
        settings.write_text(f"[quality]\nmin_rate_hz = {least}\n")
        argv += ["--config", str(settings)]
    shown = f"the least allowed is {least or 10:,g} Hz"
    line = refused(capsys, argv, f"sample rate {rate:g} Hz is too low: {shown}")
    assert "[quality] min_rate_hz" in line and "10 Hz or more" not in line


def test_samples_further_apart_than_a_gap_name_the_gap_not_a_fixed_rate():
    from sleepmove.detection.grid import UnusableTimes, regularize

    epochs = START + 60.0 * np.arange(600)
    with pytest.raises(UnusableTimes) as refusal:
        regularize(epochs, np.zeros((600, 3), np.float32), 2.0)
    assert refusal.value.expected == "raw samples, at least one every 2 s (not epochs)"


# --- 5. a recording of several nights, refused from a look at its ends ---------------------


def stamped_rows(seconds: np.ndarray) -> bytes:
    return "".join(f"{t:.2f},0.0500,-0.2000,0.9700\n" for t in seconds).encode()


def guard_sees(hours_between_ends: float, hours_of_rows: float) -> None:
    """A plain file's read guard given its head and its tail (as before the parse): ends
    `hours_between_ends` apart, and as many rows as fill `hours_of_rows` at 10 Hz."""
    source = text_source._Source("night.csv", b"time,x,y,z\n")
    guard = time_guards._RateGuard(source, True, "time", None, (",", "."))
    head = START + np.arange(2000) / 10
    guard(0, b"time,x,y,z\n" + stamped_rows(head))
    guard(int(hours_of_rows * 36_000), stamped_rows(head + hours_between_ends * 3600))


def test_the_read_guard_tells_several_nights_from_a_file_s_ends():
    guard_sees(29.0, 29.0)  # one long night
    guard_sees(30.9, 30.9)  # a wall clock's 30.9 h may be a night across summer time's start
    guard_sees(80.0, 8.0)  # a broken clock: the grid says so, not "several nights"
    guard_sees(31.0, 15.0)  # 15 h of samples with gaps: a grid of 31 h, as analyze finds
    with pytest.raises(InputError, match=r"spans 168.0 h, several nights"):
        guard_sees(168.0, 168.0)


def test_a_week_of_plain_csv_is_refused_before_it_is_parsed(tmp_path, capsys, monkeypatch):
    """A week at 25 Hz (434 MB) was parsed whole, 3 s and 1.6 GB, to be refused as several
    nights; its ends and size tell it at once (here 33 h at 10 Hz)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    seconds = START + np.arange(33 * 3600 * 10) / 10
    constant = np.full(len(seconds), 0.97)
    table = pa.table({"time": seconds, "x": constant, "y": constant, "z": constant})
    path = tmp_path / "week.csv"
    pacsv.write_csv(table, path)
    parse = pacsv.read_csv

    def only_the_ends(data, *args, **kwargs):  # the guard parses its few rows from memory
        assert not isinstance(data, str), "the whole file was parsed"
        return parse(data, *args, **kwargs)

    monkeypatch.setattr(readers.pacsv, "read_csv", only_the_ends)
    refused(
        capsys,
        ["analyze", str(path), "--out", str(tmp_path / "o"), "--no-report"],
        "several nights",
        "sleepmove batch",
    )


def test_several_nights_of_csv_gz_are_refused_as_they_decompress(tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    seconds = START + np.arange(40 * 3600 * 10) / 10
    constant = np.full(len(seconds), 0.97)
    table = pa.table({"time": seconds, "x": constant, "y": constant, "z": constant})
    text = tmp_path / "nights.csv"
    pacsv.write_csv(table, text)
    path = tmp_path / "nights.csv.gz"
    path.write_bytes(gzip.compress(text.read_bytes(), 1))
    line = refused(
        capsys,
        ["analyze", str(path), "--out", str(tmp_path / "o"), "--no-report"],
        "the recording spans at least ",
        "several nights",
    )
    # refused once the text read passed a night, before the rest of it was read
    assert 30 < float(line.split("at least ")[1].split(" h")[0]) < 40


def cut_after(text: bytes, keep: int) -> bytes:
    """A gzip of `text` cut off where its first `keep` bytes of text end: flushed there, so
    the cut file inflates to exactly those bytes."""
    packer = zlib.compressobj(wbits=31)
    head = packer.compress(text[:keep]) + packer.flush(zlib.Z_FULL_FLUSH)
    return head  # the rest of the stream, and its trailer, never written


@pytest.mark.parametrize("where", ["in the last number", "after the last comma", "at a line end"])
def test_a_gzip_cut_mid_line_drops_the_cut_line_not_reads_it(tmp_path, where):
    """A power cut stops the text at a byte no one chose: `...,0.9712` cut to `...,0.` read
    as a sample of 0 g, a step of a whole g: a jerk that never was."""
    rows = samples(12)
    text = text_of(rows)
    line_end = text.index(b"\n", len(text) // 2)  # the end of a row half way through
    row = text[:line_end].count(b"\n") - 1  # that row's index (the header is line 0)
    last = text.rfind(b",", 0, line_end)  # its z cell starts after this comma
    keep = {"in the last number": last + 3, "after the last comma": last + 1}.get(
        where, line_end + 1
    )
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(cut_after(text, keep))
    recording = read_recording(str(path))
    whole_rows = row + 1 if where == "at a line end" else row  # the cut row is left out
    assert len(recording.time_s) == whole_rows
    assert np.array_equal(recording.xyz_g[:, 2], rows[:whole_rows, 3].astype(np.float32))
    assert any("cut short" in w for w in recording.warnings)


def test_a_garbled_row_is_found_as_a_whole_line_not_inside_an_earlier_one(tmp_path):
    """A row garbled into `17456` and the rest: its text was searched for anywhere, found in
    line 2's time, and the whole night refused as garbled "too near its start"."""
    rows = samples(12)
    lines = text_of(rows).split(b"\n")
    lines[15_000:15_001] = [lines[15_000][:5], lines[15_000][5:]]
    path = tmp_path / "g.csv.gz"
    path.write_bytes(crc_damaged(b"\n".join(lines)))
    source = text_source._open_source(str(path), [])
    layout = readers._TableLayout(True, "time", ["x", "y", "z"], None, (",", "."))
    assert garbling.first_unreadable_line(source, layout) == 15_001
    recording = read_recording(str(path))
    margin_rows = garbling.GARBLED_MARGIN_BYTES // len(lines[1])
    assert 15_000 - margin_rows - 2 <= len(recording.time_s) < 15_000


def test_a_garbled_row_that_is_not_utf8_keeps_the_rows_before_it(tmp_path):
    """A byte garbled into one that is no UTF-8 (`\\x93` for a comma) failed the parse
    itself, outside the look for garbled rows: the night was refused."""
    rows = samples(12)
    lines = text_of(rows).split(b"\n")
    lines[15_000] = lines[15_000].replace(b",", b"\x93", 1)
    path = tmp_path / "g.csv.gz"
    path.write_bytes(crc_damaged(b"\n".join(lines)))
    recording = read_recording(str(path))
    margin_rows = garbling.GARBLED_MARGIN_BYTES // len(lines[1])
    assert 15_000 - margin_rows - 2 <= len(recording.time_s) < 15_000
    assert np.array_equal(recording.time_s, rows[: len(recording.time_s), 0])
