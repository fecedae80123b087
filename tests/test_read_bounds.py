"""Inputs refused while they are read, before their samples fill memory: a time column that
does not advance, or advances faster than any accelerometer streams (a gzip or Parquet file
of one row repeated is a few hundred KB); and recordings the guard must leave alone."""

import gzip
import subprocess
import sys
import zlib

import numpy as np
import pytest

from sleepmove.base.errors import InputError
from sleepmove.cli import main
from sleepmove.sensor.readers import read_recording
from sleepmove.sensor.split import END_ROWS, span_of_rows
from sleepmove.sensor.text_source import _Source
from sleepmove.sensor.time_guards import _RateGuard, complete_lines

ROW = b"1741991400.000,0.010,0.020,1.000\n"


def gzip_member(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    return packer.compress(data) + packer.flush()


# A small launcher measures the child: a child forked straight from the test process would
# count that (large) process's memory, held before its exec, in its own peak.
LAUNCHER = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
_, status, usage = os.wait4(child.pid, 0)
sys.stderr.write(child.stderr.read().decode())
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss / 1024)
"""


def peak_of_analyze(path: str, out: str) -> tuple[int, float, str]:
    """Exit status, peak resident MB and stderr of `sleepmove analyze` in a child process."""
    command = [sys.executable, "-m", "sleepmove", "analyze", path, "--out", out, "--no-report"]
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *command], capture_output=True, text=True, check=True
    )
    status, peak_mb = done.stdout.split()
    return int(status), float(peak_mb), done.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="wait4's peak memory")
def test_a_small_gzip_of_one_row_repeated_is_refused_before_it_fills_memory(tmp_path):
    # 25 million rows, 850 MB of text, in a 2 MB gzip: parsed whole, they took 3 GB and 13 s
    # to be refused ("no two samples within 1 s"). Members one after another: as gzip -c
    # appends them.
    member = gzip_member(ROW * 100_000)
    path = tmp_path / "stuck.csv.gz"
    path.write_bytes(gzip_member(b"time,x,y,z\n") + member * 250)
    status, peak_mb, error = peak_of_analyze(str(path), str(tmp_path / "out"))
    assert status == 2 and "the time does not advance" in error and "column 'time'" in error
    assert peak_mb < 400, peak_mb
    assert not (tmp_path / "out").exists()


def test_one_stray_stamp_at_an_end_moves_the_span_by_a_row_at_most():
    # batch's look at a file's span: the ends' times are their rows' medians, so a first
    # stamp 30 years on (a flipped digit) makes no second night.
    first = [b"%.1f,0,0,1" % (1741991400 + i / 10) for i in range(END_ROWS)]
    last = [b"%.1f,0,0,1" % (1741991400 + 3600 + i / 10) for i in range(END_ROWS)]
    stray = [b"2720277659.9,0,0,1", *first[1:]]
    span = span_of_rows("f.csv", [b"time,x,y,z"], stray, last, "time")
    assert span == pytest.approx(3600.0, abs=0.11)


def test_complete_lines_drops_the_cut_ends():
    assert complete_lines(b"45,6\n1,2\n3,4\n5,", 5) == [b"1,2", b"3,4"]
    assert complete_lines(b"45,6\r\n1,2\r\n3,4\r\n", 1) == [b"3,4"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="wait4's peak memory")
def test_a_small_parquet_file_of_one_row_repeated_is_refused_from_its_statistics(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = 20_000_000  # 550 KB as Parquet; 2.4 GB to be refused when read whole
    table = pa.table(
        {
            name: pa.array(np.full(rows, value))
            for name, value in (("time", 1741991400.0), ("x", 0.01), ("y", 0.02), ("z", 1.0))
        }
    )
    path = tmp_path / "stuck.parquet"
    pq.write_table(table, path)
    del table
    status, peak_mb, error = peak_of_analyze(str(path), str(tmp_path / "out"))
    assert status == 2 and "the time does not advance: 20.0 million rows all hold one" in error
    assert peak_mb < 400, peak_mb


def test_parquet_row_groups_of_one_time_are_refused_whatever_one_stray_row_says(
    tmp_path, monkeypatch, capsys
):
    """50 M rows of one time and one row 27 h later: the file's minimum and maximum span
    27 h, and it took 6.7 GB to be refused for another reason. Its row groups of one time
    count against the budget (made small here)."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    from sleepmove.sensor import time_guards

    monkeypatch.setattr(time_guards, "STILL_ROWS_BUDGET", 400_000)
    rows = 600_000
    time = np.full(rows, 1741991400.0)
    time[-1] += 100_000.0
    table = pa.table({"time": time, "x": np.zeros(rows), "y": np.zeros(rows), "z": np.ones(rows)})
    path = tmp_path / "stuck.parquet"
    pq.write_table(table, path, row_group_size=100_000)
    out = tmp_path / "out"
    assert main(["analyze", str(path), "--out", str(out), "--no-report"]) == 2
    error = capsys.readouterr().err
    assert "million rows" in error and "stands still" in error and "Traceback" not in error
    assert not out.exists()


def test_a_parquet_week_is_still_read_whole_for_the_splitter(tmp_path):
    # Several nights are batch's to split, from the file read whole: no refusal in the reader.
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    from sleepmove.sensor.readers import read_recording

    seconds = 1741991400.0 + np.arange(0, 40 * 3600, 0.1)
    table = pa.table(
        {
            "time": seconds,
            "x": np.zeros(len(seconds)),
            "y": np.zeros(len(seconds)),
            "z": np.ones(len(seconds)),
        }
    )
    pq.write_table(table, tmp_path / "week.parquet")
    recording = read_recording(str(tmp_path / "week.parquet"))
    assert recording.duration_s == pytest.approx(40 * 3600, abs=1)


def test_rows_packed_faster_than_any_accelerometer_are_refused_as_they_are_read(tmp_path):
    # 25 M rows a microsecond apart (a 68 MB gzip) took 2.8 GB to be refused as "lasting only
    # 25 s"; from 500,000 rows on, their time must advance at 5 kHz at the most.
    seconds = 1741991400.0 + np.arange(600_000) * 1e-6
    rows = np.char.add(np.char.mod("%.6f", seconds), ",0.010,0.020,1.000")
    path = tmp_path / "packed.csv.gz"
    path.write_bytes(gzip.compress(b"time,x,y,z\n" + "\n".join(rows.tolist()).encode()))
    status, _, error = peak_of_analyze(str(path), str(tmp_path / "out"))
    assert status == 2 and "samples a second, more than any accelerometer streams" in error
    assert "at most 5000 a second" in error


def rows_text(seconds: np.ndarray, header: bytes = b"time,x,y,z\n", fmt: str = "%.3f") -> bytes:
    rows = np.char.add(np.char.mod(fmt, seconds), ",0.010,0.020,1.000")
    return header + "\n".join(rows.tolist()).encode() + b"\n"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="wait4's peak memory")
@pytest.mark.parametrize("start", [b"junk,0,0,1\n", b"1741991400.000," + b"0" * 2000 + b",0,1\n"])
def test_one_row_repeated_is_refused_whatever_its_first_rows(start, tmp_path):
    # A cell that is no time, or a few rows 2 KB long, among the first rows switched the
    # guard off (3.7 and 4.1 GB): each stretch of the text is judged from its own rows.
    member = gzip_member(ROW * 100_000)
    path = tmp_path / "stuck.csv.gz"
    path.write_bytes(gzip_member(b"time,x,y,z\n" + start * 60) + member * 200)
    status, peak_mb, error = peak_of_analyze(str(path), str(tmp_path / "out"))
    assert status == 2 and "the time does not advance" in error
    assert peak_mb < 400, peak_mb


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="wait4's peak memory")
@pytest.mark.parametrize("time", [1741991400.0, 0.0])
def test_a_parquet_file_without_statistics_is_judged_from_its_time_column(time, tmp_path):
    # No row-group statistics, or time from the start (no order to trust in them): 2.9 GB.
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = 20_000_000
    columns = {"time": time, "x": 0.01, "y": 0.02, "z": 1.0}
    table = pa.table({name: pa.array(np.full(rows, value)) for name, value in columns.items()})
    pq.write_table(table, tmp_path / "stuck.parquet", write_statistics=time != 0.0)
    del table
    status, peak_mb, error = peak_of_analyze(str(tmp_path / "stuck.parquet"), str(tmp_path / "o"))
    assert status == 2 and "the time does not advance" in error
    assert peak_mb < 1200, peak_mb


def guard_over(stretches: list[tuple[int, bytes]], gzip: bool = False) -> None:
    """Feed a read guard stretches of text (rows in each, its last bytes): a plain file's
    start and ends, or (`gzip`) a gzip's stretches as they inflate."""
    source = _Source("night.csv", b"time,x,y,z\n", gzip=gzip)
    guard = _RateGuard(source, True, "time", None, (",", "."))
    for rows, text in stretches:
        guard(rows, text)


def test_a_night_then_one_row_repeated_is_refused_once_the_still_rows_pass_the_budget(
    tmp_path, monkeypatch, capsys
):
    """Two hours of a good night turned the guard off; 40 M copies of its last row then took
    5.4 GB and were analyzed. Rows of stretches judged still count on (budget made small here:
    10 M rows would take a gigabyte)."""
    from sleepmove.sensor import time_guards

    monkeypatch.setattr(time_guards, "STILL_ROWS_BUDGET", 300_000)
    seconds = 1741991400.0 + np.arange(0, 1200, 0.04)  # 20 minutes at 25 Hz
    good = rows_text(seconds)
    stuck = good.rsplit(b"\n", 2)[-2] + b"\n"
    path = tmp_path / "stuck.csv.gz"
    path.write_bytes(gzip_member(good) + gzip_member(stuck * 100_000) * 5)
    out = tmp_path / "out"
    assert main(["analyze", str(path), "--out", str(out), "--no-report"]) == 2
    error = capsys.readouterr().err
    assert "million rows" in error and "stands still" in error and "Traceback" not in error
    assert not out.exists()
    # the same good night alone still reads
    path.write_bytes(gzip_member(good))
    assert main(["analyze", str(path), "--out", str(out), "--no-report"]) == 0


def test_the_guard_judges_each_stretch_on_its_own_rows():
    fine = rows_text(1741991400.0 + np.arange(2000) / 100)
    stuck = rows_text(np.full(2000, 1741991400.0))
    # Stuck stamps after a stretch that advanced: a glitch in a night, the grid's to mend
    guard_over([(130_000, fine)] + [(130_000, stuck)] * 10)
    # A clock that restarts, wraps or jumps between stretches: each stretch advances
    restart = rows_text(np.arange(2000) / 100)
    guard_over([(130_000, fine), (130_000, restart), (130_000, fine)] * 4)
    # Whole-second stamps at 4000 Hz: each end's few thousand rows share one second, but
    # 2.88 M rows lie 12 minutes apart (a plain file: its start, then the whole and its end)
    head = rows_text(np.full(3000, 1709330400.0), fmt="%.0f")
    tail = rows_text(np.full(3000, 1709330400.0 + 719), fmt="%.0f")
    guard_over([(0, head), (2_880_000, tail)])
    # Stuck from the first stretch on: refused once 500,000 rows are in
    with pytest.raises(InputError, match="the time does not advance: about 520,000 rows"):
        guard_over([(130_000, stuck)] * 5)


def test_a_clock_that_jumps_days_is_refused_by_the_grid_not_as_several_nights(tmp_path, capsys):
    # 8 h at 25 Hz with the clock 3 days on after 4 h: the file's ends span 80 h, but it is
    # one night with a broken clock (mend the stamps), not several nights (use batch).
    seconds = 1741991400.0 + np.arange(8 * 3600 * 25) / 25
    seconds[len(seconds) // 2 :] += 3 * 86400
    path = tmp_path / "jump.csv"
    path.write_bytes(rows_text(seconds))
    assert main(["analyze", str(path), "--out", str(tmp_path / "out"), "--no-report"]) == 2
    error = capsys.readouterr().err
    assert "far more than the 8 h of samples could fill" in error and "several" not in error


# Rows of one time and one 8 h on, in turn: every stretch spans 8 h, so no rate is too fast,
# yet the time never advances (the grid refuses it as out of order, once read whole).
SWING = b"1741991400.000,0.010,0.020,1.000\n1742020200.000,0.010,0.020,1.000\n"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="wait4's peak memory")
def test_a_small_gzip_whose_time_swings_back_and_forth_is_refused_before_it_fills_memory(
    tmp_path,
):
    # 10 M rows in 0.9 MB: 1.2 GB to be refused by the grid (50 M rows: 5 GB)
    member = gzip_member(SWING * 50_000)
    path = tmp_path / "swing.csv.gz"
    path.write_bytes(gzip_member(b"time,x,y,z\n") + member * 100)
    status, peak_mb, error = peak_of_analyze(str(path), str(tmp_path / "out"))
    assert status == 2 and "the time jumps back and forth: 50% of the steps go back" in error
    assert "column 'time'" in error and "rows in time order" in error
    assert peak_mb < 400, peak_mb
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="wait4's peak memory")
def test_a_small_parquet_file_whose_time_swings_is_refused_a_batch_at_a_time(tmp_path):
    # 10 M rows in one row group, 0.2 MB: its statistics span 8 h; read whole, 580 MB.
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = 10_000_000
    time = np.where(np.arange(rows) % 2 == 0, 1741991400.0, 1741991400.0 + 8 * 3600)
    axes = {name: np.full(rows, value, np.float32) for name, value in zip("xyz", (0, 0, 1))}
    path = tmp_path / "swing.parquet"
    pq.write_table(pa.table({"time": time, **axes}), path, row_group_size=rows)
    del time, axes
    status, peak_mb, error = peak_of_analyze(str(path), str(tmp_path / "out"))
    assert status == 2 and "the time jumps back and forth" in error
    assert peak_mb < 400, peak_mb


def test_a_plain_csv_is_judged_on_its_order_by_the_grid_not_by_its_two_ends(
    tmp_path, capsys, monkeypatch
):
    """A plain file's ends are too little of it to judge its order by: stray stamps in both
    (40 in each end's 1500 rows, 0.01 % of a 600,000-row file) refused a night the grid
    takes. Its parse costs memory by its size, so the grid refuses time that swings
    throughout."""
    from sleepmove.sensor import time_guards

    monkeypatch.setattr(time_guards, "STILL_TIME_ROWS", 10_000)  # judged from 10,000 rows on
    rng = np.random.default_rng(0)
    count = 30_000
    seconds = 1.7e9 + np.arange(count) / 50.0
    for low in (5, count - 1495):  # a sensor that glitches as it starts and as it stops
        seconds[rng.choice(np.arange(low, low + 1490), 40, replace=False)] += 3600.0
    xyz = rng.normal(0, 0.01, (count, 3)) + [0, 0, 1]
    strays = tmp_path / "strays.csv"
    with open(strays, "w") as handle:
        handle.write("time,x,y,z\n")
        np.savetxt(handle, np.column_stack([seconds, xyz]), fmt="%.4f", delimiter=",")
    recording = read_recording(str(strays))
    assert len(recording.time_s) == count
    swing = tmp_path / "swing.csv"
    swing.write_bytes(b"time,x,y,z\n" + SWING * 30_000)
    assert main(["analyze", str(swing), "--out", str(tmp_path / "out"), "--no-report"]) == 2
    error = capsys.readouterr().err
    assert "jump back by more than 1 s" in error and "Traceback" not in error


def test_the_guard_tells_time_that_swings_from_rows_newest_first_and_stray_stamps():
    seconds = 1741991400.0 + np.arange(2000) / 100
    # Newest first (read in time order), a clock reset, a gap, stray stamps: time that runs
    swings = seconds.copy()
    swings[1::2] += 8 * 3600
    strays = seconds.copy()
    strays[[100, 900, 1500]] += 30 * 365 * 86400.0  # one flipped digit each
    reset = np.r_[seconds[:1000], seconds[:1000] - 3600]
    for sound in (seconds[::-1], reset, strays, np.r_[seconds[:1000], seconds[1000:] + 600]):
        guard_over([(130_000, rows_text(sound))] * 5, gzip=True)
    # Every second row of the few thousand judged is enough; every tenth pair too
    with pytest.raises(InputError, match="the time jumps back and forth: 50% of the steps"):
        guard_over([(130_000, rows_text(swings))] * 5, gzip=True)
    blocks = seconds.copy()
    blocks[(np.arange(2000) // 10) % 2 == 1] += 8 * 3600
    with pytest.raises(InputError, match="jumps back and forth: 5% of the steps"):
        guard_over([(130_000, rows_text(blocks))] * 5, gzip=True)


def test_time_that_swings_after_a_good_start_counts_against_the_budget(monkeypatch):
    # The swing fails a stretch whatever the time between stretches says
    from sleepmove.sensor import time_guards

    monkeypatch.setattr(time_guards, "STILL_ROWS_BUDGET", 1_000_000)
    seconds = 1741991400.0 + np.arange(2000) / 100
    swings = seconds.copy()
    swings[1::2] += 8 * 3600
    good = [(130_000, rows_text(seconds))]
    # 910,000 rows: under the budget
    guard_over(good + [(130_000, rows_text(swings))] * 7, gzip=True)
    with pytest.raises(InputError, match="or jumps back and forth by more than 1 s"):
        guard_over(good + [(130_000, rows_text(swings))] * 8, gzip=True)
