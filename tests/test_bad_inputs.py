"""The hostile-file corpus (tests/data/bad, made by tests/data/make_bad.py): what each gives."""

import json
from pathlib import Path

import pytest

from sleepmove.cli import main

BAD = Path(__file__).parent / "data" / "bad"

REFUSED = {
    "epoch_counts.csv": "an epoch-count export",
    "empty.csv": "empty file",
    "binary.csv": "binary data, not a CSV text file",
    "junk_line.csv": "not a number in column 'y': 'oops' (line 5)",
    "minute_epochs.csv": "sample rate too low",
    "clock_jump_years.csv": "the time stamps span",
}
ACCEPTED_WITH_WARNING = {
    "truncated.csv.gz": "the gzip file is cut short",
    "truncated_last_line.csv": "the last line is incomplete and was ignored",
    "nan_values.csv": "2 rows with missing, NaN or infinite values dropped",
    "clock_reset.csv": "the clock went back 1 time ",
    "duplicated_rows.csv": "10 duplicated rows dropped",
    "saturated.csv": "samples at the sensor's full scale (±4 g)",
    "flipped_digit.csv": "1 row whose time stamp lies far from both neighbours'",
    "junk_time.csv": "1 row whose time is unreadable dropped (first at line 3002: "
    "'17419917O0.000')",
}


@pytest.mark.parametrize("name, message", sorted(REFUSED.items()))
def test_refused_with_one_clear_line(name, message, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["analyze", str(BAD / name), "--out", str(out), "--no-report"]) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and name in error and "\n" not in error
    assert not out.exists()


@pytest.mark.parametrize("name, message", sorted(ACCEPTED_WITH_WARNING.items()))
def test_accepted_with_a_warning_in_the_summary(name, message, tmp_path):
    out = tmp_path / "out"
    assert main(["analyze", str(BAD / name), "--out", str(out), "--no-report"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    warnings = " | ".join(summary["quality"]["warnings"])
    assert message in warnings
    assert summary["counts"]["lm"] > 0  # the night is still analyzed


def test_saturation_is_counted(tmp_path):
    out = tmp_path / "out"
    main(["analyze", str(BAD / "saturated.csv"), "--out", str(out), "--no-report"])
    clipping = json.loads((out / "summary.json").read_text())["quality"]["saturation"]["single"]
    assert clipping["range_g"] == 4.0 and clipping["samples"] == 10


def test_clock_reset_is_a_gap_and_nothing_is_lost(tmp_path):
    out = tmp_path / "out"
    main(["analyze", str(BAD / "clock_reset.csv"), "--out", str(out), "--no-report"])
    recording = json.loads((out / "summary.json").read_text())["recording"]
    assert len(recording["data_gaps_s"]) == 1
    assert recording["duration_h"] * 60 == pytest.approx(11.0, abs=0.1)


def test_mixed_units_between_two_sensors(tmp_path):
    out = tmp_path / "out"
    assert (
        main(
            [
                "analyze",
                "--left",
                str(BAD / "left_g.csv"),
                "--right",
                str(BAD / "right_ms2.csv"),
                "--out",
                str(out),
                "--no-report",
            ]
        )
        == 0
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["recording"]["units_in"] == {"left": "g", "right": "m/s2"}
    peaks = json.loads(json.dumps(summary["quality"]["noise_floor_g"]))
    assert peaks["right"] < 0.05  # converted to g, not left at 9.81 times the size


def test_two_sensors_that_do_not_overlap(tmp_path, capsys):
    out = tmp_path / "out"
    assert (
        main(
            [
                "analyze",
                "--left",
                str(BAD / "left_early.csv"),
                "--right",
                str(BAD / "right_late.csv"),
                "--out",
                str(out),
            ]
        )
        == 2
    )
    assert "overlap for only 0 s" in capsys.readouterr().err and not out.exists()


def test_a_corrupted_stamp_costs_neither_memory_nor_time(tmp_path):
    # A flipped digit moves one stamp 31 years on: the night is the same 11 minutes.
    out = tmp_path / "out"
    assert main(["analyze", str(BAD / "flipped_digit.csv"), "--out", str(out), "--no-report"]) == 0
    recording = json.loads((out / "summary.json").read_text())["recording"]
    assert recording["duration_h"] * 60 == pytest.approx(11.0, abs=0.1)
    assert recording["data_gaps_s"] == []


@pytest.mark.parametrize("name", ["unix_microseconds.csv", "spaced_header.csv"])
def test_read_as_the_plain_file(name, tmp_path):
    # Unix microseconds and a header with spaces after the commas: the same night as written
    # plainly (nan_values.csv less its two bad rows is that night too; compare its times).
    out = tmp_path / "out"
    assert main(["analyze", str(BAD / name), "--out", str(out), "--no-report"]) == 0
    recording = json.loads((out / "summary.json").read_text())["recording"]
    assert recording["clock"] == "unix" and recording["start"].startswith("2025-03-14T22:30:00")
    assert recording["sample_rate_hz"] == {"single": 10.0}
    assert recording["duration_h"] * 60 == pytest.approx(11.0, abs=0.1)
