"""Damage that puts a device file's records or blocks out of step: a .gt3x record whose size
or separator byte is damaged, a .cwa with bytes inserted or lost mid-file. Each keeps every
record or block but the damaged one, and says where and how much was skipped. Built with
tests/test_formats.py's builders; the same on the nights repeated from the real recordings
(benchmarks/device_files.py) where ../shared/data/real is present."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sleepmove.cli import main
from sleepmove.sensor.formats import read_recording
from tests.test_device_file_damage import ANALYZE
from tests.test_formats import T0, cwa_bytes, cwa_time, gt3x_bytes, gt3x_record, write

# --- .gt3x: log.bin's records found again after a damaged size or separator ----------------

RECORDS, RATE = 600, 100  # ten minutes of ACTIVITY2 records, one a second
STEP = 9 + 6 * RATE  # separator, type, time, size, payload, checksum
DAMAGED = 300  # the record damaged, at byte 300 * 609 of log.bin


def _log() -> bytes:
    """log.bin of RECORDS one-second ACTIVITY2 records at 100 Hz, still, z up; each
    record's samples tell it apart (x is its index modulo 50)."""
    values = np.tile(np.array([[0, 3, 256]], dtype="<i2"), (RATE, 1))
    records = []
    for i in range(RECORDS):  # a loop over records
        values[:, 0] = i % 50
        records.append(gt3x_record(0x1A, T0 + i, values.tobytes()))
    log = b"".join(records)
    assert len(log) == RECORDS * STEP
    return log


def _gt3x(tmp_path, log: bytes, name: str = "night.gt3x") -> str:
    return write(tmp_path / name, gt3x_bytes([log], RATE))


def _damaged_at(log: bytes, offset: int) -> bytes:
    """The log with the byte at `offset` inverted (a bit error on the card)."""
    out = bytearray(log)
    out[offset] ^= 0xFF
    return bytes(out)


def _all_but_record(tmp_path, rec, lost: int) -> None:
    """The recording holds every record's samples except record `lost`'s, at their times:
    those of the undamaged file."""
    whole = read_recording(_gt3x(tmp_path, _log(), "whole.gt3x"))
    assert len(rec.time_s) == (RECORDS - 1) * RATE
    kept = np.ones(len(whole.time_s), dtype=bool)
    kept[lost * RATE : (lost + 1) * RATE] = False
    np.testing.assert_array_equal(rec.time_s, whole.time_s[kept])
    np.testing.assert_array_equal(rec.xyz_g, whole.xyz_g[kept])


def test_gt3x_record_whose_size_high_byte_is_damaged_loses_that_record_only(tmp_path):
    """0x0258 (600 bytes) read as 0xFD58: the walk jumped 64 kB, and ~107 s of samples
    after the record were lost without a word on how much."""
    log = _log()
    head = DAMAGED * STEP
    rec = read_recording(_gt3x(tmp_path, _damaged_at(log, head + 7)))
    _all_but_record(tmp_path, rec, DAMAGED)
    line = [w for w in rec.warnings if "log.bin is damaged at byte 182,700" in w]
    assert line, rec.warnings
    assert "609 bytes skipped" in line[0] and "about 1 s of samples left out" in line[0]
    assert "size" in line[0] and "0x1E" in line[0]


def test_gt3x_record_whose_size_is_damaged_at_the_start_or_end_of_the_log(tmp_path):
    log = _log()
    first = read_recording(_gt3x(tmp_path, _damaged_at(log, 7), "first.gt3x"))
    _all_but_record(tmp_path, first, 0)  # nothing before it: no time to name, still said
    assert any("log.bin is damaged at byte 0:" in w for w in first.warnings), first.warnings
    last = read_recording(_gt3x(tmp_path, _damaged_at(log, (RECORDS - 1) * STEP + 7), "last.gt3x"))
    _all_but_record(tmp_path, last, RECORDS - 1)  # nothing after it: the end's own warning
    assert any("damaged or cut short after byte 364791 of 365400" in w for w in last.warnings), (
        last.warnings
    )


def test_gt3x_record_whose_separator_is_damaged_is_left_out_and_said(tmp_path):
    """The record was dropped in silence: no warning said a second was missing."""
    log = _log()
    rec = read_recording(_gt3x(tmp_path, _damaged_at(log, DAMAGED * STEP)))
    _all_but_record(tmp_path, rec, DAMAGED)
    line = [w for w in rec.warnings if "log.bin is damaged at byte 182,700" in w]
    assert line and "about 1 s of samples left out" in line[0], rec.warnings


def test_gt3x_two_damaged_places_are_counted_together(tmp_path):
    log = _damaged_at(_damaged_at(_log(), 100 * STEP + 7), 400 * STEP)
    rec = read_recording(_gt3x(tmp_path, log))
    assert len(rec.time_s) == (RECORDS - 2) * RATE
    assert any(
        "log.bin is damaged at 2 places (the first at byte 60,900, 609 bytes)" in w
        and "1,218 bytes skipped" in w
        and "about 2 s of samples left out" in w
        for w in rec.warnings
    ), rec.warnings


def test_gt3x_zero_bytes_between_records_are_no_damage(tmp_path):
    """The format allows a few zero bytes between records: not reported, nothing lost."""
    log = _log()
    padded = log[: DAMAGED * STEP] + bytes(5) + log[DAMAGED * STEP :]
    rec = read_recording(_gt3x(tmp_path, padded))
    assert len(rec.time_s) == RECORDS * RATE and not rec.warnings


def test_gt3x_damaged_size_reaches_the_summary(tmp_path, capsys):
    path = _gt3x(tmp_path, _damaged_at(_log(), DAMAGED * STEP + 7))
    out = tmp_path / "out"
    assert main([*ANALYZE, path, "--out", str(out)]) == 0, capsys.readouterr().err
    warnings = json.loads((out / "summary.json").read_text())["quality"]["warnings"]
    assert any("log.bin is damaged at byte 182,700" in w for w in warnings), warnings


def _every_record(tmp_path, rec) -> None:
    """The recording holds every record's samples, at their times: the undamaged file's."""
    whole = read_recording(_gt3x(tmp_path, _log(), "whole.gt3x"))
    np.testing.assert_array_equal(rec.time_s, whole.time_s)
    np.testing.assert_array_equal(rec.xyz_g, whole.xyz_g)


GARBAGE = bytes(np.random.default_rng(1).integers(0, 256, 64, dtype=np.uint8))


@pytest.mark.parametrize(
    "tail, words",
    [
        (b"\xff" * 16, None),  # erased flash after the last record: no damage
        (bytes(1000), None),  # unwritten (zero) bytes to the end: no damage
        (bytes(512), None),
        (GARBAGE, "damaged or cut short after byte 365400 of 365464"),
    ],
    ids=["erased", "zeros", "zeros-512", "garbage"],
)
def test_gt3x_last_record_is_kept_whatever_follows_it(tmp_path, tail, words):
    """The last record, its checksum sound, was dropped (a second lost) when what followed
    it was no record: its size was taken as damaged, for no record began where it ends."""
    rec = read_recording(_gt3x(tmp_path, _log() + tail))
    _every_record(tmp_path, rec)
    if words is None:
        assert not rec.warnings, rec.warnings
    else:
        assert [w for w in rec.warnings if "log.bin" in w] == [
            f"log.bin is {words}: the 600 records before were read"
        ], rec.warnings


def test_gt3x_many_zero_bytes_between_records_are_no_damage(tmp_path):
    """1024 zero bytes (more than the 512 looked past) lost the record before them, with a
    warning that log.bin is damaged there."""
    log = _log()
    padded = log[: DAMAGED * STEP] + bytes(1024) + log[DAMAGED * STEP :]
    rec = read_recording(_gt3x(tmp_path, padded))
    _every_record(tmp_path, rec)
    assert not rec.warnings, rec.warnings


def test_gt3x_record_whose_separator_and_type_are_damaged_loses_only_itself(tmp_path):
    """Both bytes inverted leave its checksum holding; the sound record before it was lost
    too, and the warning named that record's place, not the damaged one's."""
    head = (DAMAGED + 1) * STEP
    rec = read_recording(_gt3x(tmp_path, _damaged_at(_damaged_at(_log(), head), head + 1)))
    _all_but_record(tmp_path, rec, DAMAGED + 1)
    line = [w for w in rec.warnings if "log.bin is damaged" in w]
    assert len(line) == 1 and "at byte 183,309 " in line[0], rec.warnings
    assert "609 bytes skipped" in line[0] and "about 1 s of samples left out" in line[0]


def test_gt3x_samples_that_pass_for_records_are_not_taken_for_them(tmp_path):
    """A still sensor whose x reads about 30 counts writes the bytes 1E 00 (a separator and
    the ACTIVITY type) among its samples. Searched from inside the sound record before the
    zero bytes that follow it, the walk took such bytes for records dated 1970 (a checksum
    holds 1 time in 256): sound records were dropped and the night refused as spanning
    470,000 h. Zero bytes after every record: every record kept, nothing said."""
    rng = np.random.default_rng(0)
    records = []
    for i in range(900):  # a loop over records: 15 min at 100 Hz, ACTIVITY2
        samples = np.array([30, -4, 252]) + rng.integers(-4, 5, (100, 3))
        records += [gt3x_record(0x1A, T0 + i, samples.astype("<i2").tobytes()), bytes(1 + i % 5)]
    rec = read_recording(_gt3x(tmp_path, b"".join(records)))
    assert len(rec.time_s) == 90_000 and not rec.warnings
    assert rec.time_s.max() - rec.time_s.min() < 900  # no sample dated elsewhere


def test_gt3x_seconds_said_lost_are_no_more_than_the_bytes_skipped_could_hold(tmp_path):
    """A damaged 2-byte LUX record between two sample records 290 s apart (idle sleep) was
    said to cost 'about 290 s of samples': the skipped bytes hold no sample record."""
    values = np.tile(np.array([[0, 3, 256]], dtype="<i2"), (RATE, 1)).tobytes()
    before = [gt3x_record(0x1A, T0 + i, values) for i in range(10)]
    after = [gt3x_record(0x1A, T0 + 300 + i, values) for i in range(10)]
    lux = gt3x_record(0x05, T0 + 10, b"\x10\x00")
    log = b"".join([*before, lux, *after])
    rec = read_recording(_gt3x(tmp_path, _damaged_at(log, len(b"".join(before)))))
    assert len(rec.time_s) == 20 * RATE
    [said] = [w for w in rec.warnings if "bytes skipped" in w]
    assert "about 0 s of samples left out" in said, said


def _undamaged_log(battery_every: int, nbytes: int) -> bytes:
    """About `nbytes` of log.bin: one-second ACTIVITY2 records at 100 Hz, and a BATTERY
    record after every `battery_every` of them (their times repeat: the walk reads none)."""
    activity = gt3x_record(0x1A, T0, np.tile(np.array([3, 0, 256], "<i2"), RATE).tobytes())
    battery = gt3x_record(0x02, T0, (3900).to_bytes(2, "little"))
    pattern = activity * battery_every + battery
    return pattern * (nbytes // len(pattern))


def test_gt3x_undamaged_log_is_walked_without_searching_for_damage(monkeypatch):
    """The check of what follows each run of records (for a size that might be damaged)
    cost the walk of an undamaged file 40 to 50 %: it is done after damage only."""
    from sleepmove.sensor.formats import gt3x

    def searched(*args: object) -> None:
        raise AssertionError("an undamaged log.bin was searched for damage")

    for name in ("_followed", "_next_good_record"):
        monkeypatch.setattr(gt3x, name, searched)
    for every in (1, 2, 10, 600):
        log = _undamaged_log(every, 400_000)
        (types, *_), failed, skipped = gt3x.checked_record_table(log, check=True)
        assert len(types) == len(log) // (every * STEP + 11) * (every + 1)
        assert failed == 0 and not skipped


# --- .cwa: blocks found again by their "AX" tag after bytes inserted or lost ---------------

BLOCKS, PER_BLOCK = 600, 80


def _cwa() -> bytes:
    """A .cwa of 600 blocks of 80 samples at 100 Hz (one a second, 10 minutes of 2023)."""
    samples = np.tile(np.array([0, 0, 256], dtype=np.int16), (PER_BLOCK, 1))
    samples[::5, 0] = 4  # not quite still
    blocks = [(cwa_time(2023, 11, 4, 23, i // 60, i % 60), samples) for i in range(BLOCKS)]
    return cwa_bytes(blocks)


def _block(index: int) -> int:
    return 1024 + 512 * index


@pytest.mark.parametrize(
    "change, kept, words",
    [
        # 2 bytes inside block 300: it fails, the 299 after it start 2 bytes late
        ((_block(300) + 100, b"\x00\x00", 0), BLOCKS - 1, "514 bytes at byte 154,624"),
        ((_block(300), b"\x00\x00", 0), BLOCKS, "2 bytes at byte 154,624"),  # between blocks
        ((_block(300) + 100, b"", 2), BLOCKS - 1, "510 bytes at byte 154,624"),  # 2 lost
    ],
)
def test_cwa_bytes_inserted_or_lost_mid_file_keep_every_other_block(tmp_path, change, kept, words):
    """All 300 blocks after the 2 bytes were lost (5.7 h of an 8-h night), said as
    "cut short: its last 2 bytes ignored"."""
    at, inserted, removed = change
    data = _cwa()
    damaged = data[:at] + inserted + data[at + removed :]
    rec = read_recording(write(tmp_path / "night.cwa", damaged))
    assert len(rec.time_s) == kept * PER_BLOCK
    seconds = np.unique(np.floor(rec.time_s - rec.time_s[0] + 1e-6)).astype(int)
    expected = np.arange(BLOCKS) if kept == BLOCKS else np.delete(np.arange(BLOCKS), 300)
    np.testing.assert_array_equal(seconds, expected)
    line = [w for w in rec.warnings if words in w]
    assert line and "skipped" in line[0] and '"AX"' in line[0], rec.warnings
    assert not any("cut short" in w for w in rec.warnings), rec.warnings


def test_cwa_bytes_inserted_and_the_end_cut_say_both(tmp_path):
    data = _cwa()
    damaged = (data[: _block(300) + 100] + b"\x00\x00" + data[_block(300) + 100 :])[:-300]
    rec = read_recording(write(tmp_path / "night.cwa", damaged))
    assert len(rec.time_s) == (BLOCKS - 2) * PER_BLOCK  # the damaged block and the cut one
    assert any("514 bytes at byte 154,624" in w for w in rec.warnings), rec.warnings
    assert any("cut short: its last 212 bytes" in w for w in rec.warnings), rec.warnings


def test_cwa_bytes_inserted_reach_the_summary(tmp_path, capsys):
    data = _cwa()
    path = write(
        tmp_path / "night.cwa", data[: _block(300) + 100] + b"ab" + data[_block(300) + 100 :]
    )
    out = tmp_path / "out"
    assert main([*ANALYZE, path, "--out", str(out)]) == 0, capsys.readouterr().err
    warnings = json.loads((out / "summary.json").read_text())["quality"]["warnings"]
    assert any("514 bytes at byte 154,624" in w for w in warnings), warnings


# --- the same on nights repeated from the real recordings ----------------------------------


@pytest.fixture(scope="module")
def nights(tmp_path_factory) -> dict[str, str]:
    from benchmarks.device_files import build
    from tests.conftest import REAL

    if not REAL.is_dir():
        pytest.skip(f"real recordings not present at {REAL}")
    return build(str(tmp_path_factory.mktemp("resync")), 15, str(REAL), csv=False)


def _kept_all_but(whole, damaged, lost: int) -> None:
    """`damaged` holds exactly the whole file's samples less `lost` of them."""
    assert len(damaged.time_s) == len(whole.time_s) - lost
    kept = np.isin(whole.time_s.round(4), damaged.time_s.round(4))
    assert kept.sum() == len(damaged.time_s)
    np.testing.assert_array_equal(damaged.xyz_g, whole.xyz_g[kept])


@pytest.mark.parametrize("byte, words", [(7, "609 bytes skipped"), (0, "about 1 s")])
def test_real_gt3x_record_with_a_damaged_size_or_separator_loses_one_second(
    nights, tmp_path, byte, words
):
    """Damaged inside the stored zip member, as on a card (the zip's CRC fails too): the
    size's high byte, or the separator, of the 300th sample record."""
    import zipfile

    from benchmarks.device_files import flipped, stored_member_offset
    from sleepmove.sensor.formats.gt3x import ACTIVITY2, record_table

    data = open(nights["gt3x"], "rb").read()
    types, _, starts, _ = record_table(zipfile.ZipFile(nights["gt3x"]).read("log.bin"))
    head = int(starts[np.flatnonzero(types == ACTIVITY2)[300]]) - 8
    at = stored_member_offset(data, "log.bin") + head + byte
    rec = read_recording(write(tmp_path / "damaged.gt3x", flipped(data, at)))
    _kept_all_but(read_recording(nights["gt3x"]), rec, RATE)
    line = [w for w in rec.warnings if f"log.bin is damaged at byte {head:,}" in w]
    assert line and words in line[0], rec.warnings


def test_real_cwa_with_two_bytes_inserted_loses_one_block(nights, tmp_path):
    data = open(nights["cwa"], "rb").read()
    whole = read_recording(nights["cwa"])
    at = _block(len(whole.time_s) // 40 // 2) + 100  # inside the middle block (AX6: 40 each)
    rec = read_recording(write(tmp_path / "inserted.cwa", data[:at] + b"\x00\x00" + data[at:]))
    _kept_all_but(whole, rec, 40)
    assert any("514 bytes at byte" in w and "skipped" in w for w in rec.warnings), rec.warnings
    assert not any("cut short" in w for w in rec.warnings), rec.warnings
