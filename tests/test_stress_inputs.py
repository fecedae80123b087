"""Hostile input found by a stress test of the command line: each test failed before its fix.

Bad input is one line on stderr, exit status 2, and an earlier result in --out untouched;
`batch` says in its error cell what `analyze` says, and reads no file whole to say it.
"""

import csv
import gzip
import hashlib
import os
import resource
from pathlib import Path

import numpy as np
import pytest

from sleepmove.cli import main
from tests.test_cli_robustness import refused

START = 1742083080.0  # 2025-03-15T23:58:00Z


def rows(minutes: float, rate: float = 25.0, start: float = START, unit: float = 1.0) -> str:
    """`time,x,y,z` text of a still leg: `unit` 1000 writes the time in milliseconds."""
    n = int(minutes * 60 * rate)
    t = (start + np.arange(n) / rate) * unit
    noise = np.random.default_rng(0).normal(0, 0.01, (n, 3)) + [0.0, 0.0, 1.0]
    return "".join(f"{a:.3f},{x:.4f},{y:.4f},{z:.4f}\n" for a, (x, y, z) in zip(t, noise))


def fingerprint(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    """A recording of 11 minutes."""
    path = tmp_path_factory.mktemp("good") / "good.csv"
    path.write_text("time,x,y,z\n" + rows(11))
    return path


@pytest.fixture
def earlier(good, tmp_path) -> Path:
    """An output folder holding an earlier good result."""
    out = tmp_path / "result"
    assert main(["analyze", str(good), "--out", str(out), "--no-report"]) == 0
    return out


def batch_errors(folder: Path, out: Path) -> dict[str, str]:
    main(["batch", str(folder), "--out", str(out), "--no-report", "--workers", "1"])
    with open(out / "nights.csv", newline="") as handle:
        return {row["id"]: row["error"] for row in csv.DictReader(handle)}


# --- pipes and devices: opened twice, a FIFO hung for ever --------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path, earlier, capsys):
    fifo = tmp_path / "night.csv"
    os.mkfifo(fifo)
    before = fingerprint(earlier)
    refused(
        capsys,
        ["analyze", str(fifo), "--out", str(earlier), "--no-report"],
        "night.csv: a named pipe (FIFO), not a file",
    )
    assert fingerprint(earlier) == before


def test_a_device_named_csv_is_refused(tmp_path, earlier, capsys):
    link = tmp_path / "zero.csv"
    link.symlink_to("/dev/zero")
    refused(capsys, ["analyze", str(link), "--out", str(earlier)], "not a file")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_batch_skips_or_refuses_fifos_instead_of_hanging(tmp_path, good, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "n1.csv").write_bytes(good.read_bytes())
    os.mkfifo(folder / "pipe.dat")  # found by content: not a recording
    os.mkfifo(folder / "n2.csv")  # found by name: an error row
    errors = batch_errors(folder, tmp_path / "out")
    assert errors["n1"] == ""
    assert "n2.csv: a named pipe (FIFO), not a file" in errors["n2"]
    assert "pipe" not in errors


# --- batch's look at a file's span: its raw exceptions, memory, units --------------------


def test_batch_says_what_analyze_says_of_damaged_and_non_text_files(tmp_path, good):
    folder = tmp_path / "in"
    folder.mkdir()
    packed = gzip.compress(good.read_bytes())
    (folder / "cut.csv.gz").write_bytes(packed[:5])  # cut inside the gzip header
    (folder / "garbled.csv.gz").write_bytes(packed[:10] + bytes(range(256)) * 4)
    (folder / "wide.csv").write_text(good.read_text(), encoding="utf-16")
    errors = batch_errors(folder, tmp_path / "out")
    assert errors["garbled"].startswith(f"{folder}/garbled.csv.gz: damaged gzip file")
    assert errors["wide"].startswith(f"{folder}/wide.csv: UTF-16 text")
    assert errors["cut"].startswith(f"{folder}/cut.csv.gz: ")
    for error in errors.values():
        assert "Error" not in error.split(":")[0], error  # no exception's class name


def test_batch_reads_no_endless_first_line_of_a_gzip_whole(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    # 200 MB of one line, 0.2 MB packed: the look at its span held all of it (and 2 x more).
    with gzip.open(folder / "bomb.csv.gz", "wb", compresslevel=1) as handle:
        block = b"0" * (1 << 20)
        for _ in range(200):  # a loop over megabytes
            handle.write(block)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    errors = batch_errors(folder, tmp_path / "out")
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert "the first line is longer than 64 KB" in errors["bomb"]
    assert grown_mb < 100, grown_mb


def test_batch_reads_time_from_the_start_in_milliseconds_as_analyze_does(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    # 11 minutes in ms from the start: read as seconds, 183 h, "a multi-day recording".
    (folder / "named.csv").write_text("time_ms,x,y,z\n" + rows(11, start=0, unit=1000))
    (folder / "unnamed.csv").write_text("time,x,y,z\n" + rows(11, start=0, unit=1000))
    errors = batch_errors(folder, tmp_path / "out")
    assert errors == {"named": "", "unnamed": ""}


# --- destinations and references ---------------------------------------------------------


@pytest.mark.parametrize("command", ["analyze", "report", "validate", "batch"])
def test_an_empty_out_is_refused_before_any_work(command, good, earlier, tmp_path, capsys):
    # "" passed the check (the current folder), was analyzed, then failed: status 1.
    argv = {
        "analyze": ["analyze", str(good)],
        "report": ["report", str(earlier)],
        "validate": ["validate", str(earlier), "--reference", str(tmp_path / "ref.csv")],
        "batch": ["batch", str(good)],
    }[command]
    refused(capsys, [*argv, "--out", ""], "--out: an empty path")


def test_validate_names_a_folder_given_as_reference(earlier, tmp_path, capsys):
    # Was "cannot write <folder> (Is a directory)", exit status 1.
    refused(
        capsys,
        ["validate", str(earlier), "--reference", str(tmp_path), "--out", str(tmp_path / "v")],
        f"{tmp_path}: is a folder; expected a reference file",
    )
    assert not (tmp_path / "v").exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (("sleep",), []),
        (("sleep",), None),
        (("recording",), None),
        (("criteria",), "x"),
        (("sleep", "total_sleep_h"), "x"),
        (("assessment",), {}),
        (("periodicity_index",), {}),
        (("jerk_rate_per_min",), []),
    ],
)
def test_report_refuses_a_damaged_summary_in_one_line(field, value, earlier, tmp_path, capsys):
    import json

    summary = json.loads((earlier / "summary.json").read_text())
    where = summary
    for key in field[:-1]:  # a loop over a field's path
        where = where[key]
    where[field[-1]] = value
    (earlier / "summary.json").write_text(json.dumps(summary))
    line = refused(
        capsys,
        ["report", str(earlier), "--out", str(tmp_path / "trend")],
        "summary.json: a damaged summary: " + field[0],
    )
    assert "object at 0x" not in line  # a field under a null group: "missing", not a sentinel
    assert not (tmp_path / "trend").exists()


# --- columns and options that were silently ignored --------------------------------------


def test_a_column_named_twice_is_refused(tmp_path, earlier, capsys):
    # The first 'x' (all zeros here) was taken, the recorded one dropped, without a word.
    text = "".join(line.replace(",", ",0,", 1) + "\n" for line in rows(11).splitlines())
    path = tmp_path / "twice.csv"
    path.write_text("time,x,x,y,z\n" + text)
    before = fingerprint(earlier)
    refused(
        capsys,
        ["analyze", str(path), "--out", str(earlier)],
        "the column 'x' appears 2 times (header: time,x,x,y,z)",
    )
    assert fingerprint(earlier) == before


def test_side_with_left_and_right_is_refused(good, tmp_path, capsys):
    # --side right --left L.csv scored L as the left leg, --side ignored.
    refused(
        capsys,
        ["analyze", "--side", "right", "--left", str(good), "--out", str(tmp_path / "o")],
        "--side names the leg of one FILE",
    )


def test_a_folder_where_a_result_file_goes_leaves_the_earlier_result_whole(good, earlier, capsys):
    # report.html a folder: events.csv and epochs.csv were replaced, summary.json kept the
    # old run's, two .partial-* files were left, and the line named a temporary file.
    (earlier / "report.html").mkdir()
    before = fingerprint(earlier)
    refused(capsys, ["analyze", str(good), "--out", str(earlier)], "report.html: is a folder")
    assert fingerprint(earlier) == before
    assert not list(earlier.glob(".partial-*"))
