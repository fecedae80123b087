"""Forms of the time column that were misread: a sensor's uptime in a unit the column's name
gives (taken for Unix time), Excel's day numbers (taken for 0.02 s), and stray CR line
endings (a traceback from the sniff of the offset the times state)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sleepmove.cli import main
from sleepmove.sensor.formats import read_recording
from sleepmove.sensor.simulate import simulate
from sleepmove.sensor.time_column import offset_change_note, stated_zone


@pytest.fixture(scope="module")
def night(tmp_path_factory) -> pd.DataFrame:
    """Half an hour at 25 Hz, Unix seconds (March 2025), with PLMs to find."""
    folder = tmp_path_factory.mktemp("night")
    simulate(str(folder), 0.5, 25.0, None, seed=1, scenario="plmd-moderate")
    return pd.read_csv(folder / "night.csv")


def write(path: Path, table: pd.DataFrame, time: np.ndarray, name: str, digits: int = 3) -> str:
    table = table.assign(time=time).rename(columns={"time": name})
    table.to_csv(path, index=False, float_format=f"%.{digits}f")
    return str(path)


def analyze(path: str, out: Path) -> dict:
    assert main(["analyze", path, "--out", str(out), "--no-report"]) == 0
    return json.loads((out / "summary.json").read_text())["recording"]


def uptime_ms(night: pd.DataFrame) -> np.ndarray:
    """Milliseconds since a sensor started, 5.8 days before the night's first row."""
    return 500_000_000 + np.round((night.time - night.time[0]) * 1000).astype(np.int64)


@pytest.mark.parametrize(
    "name, scale, since_boot",
    [
        ("time_ms", 1e3, 5e8),  # read as Unix seconds: 1985, 487.8 h
        ("Time (µs)", 1e6, 2e11),  # read as Unix milliseconds: 1976
        ("t_s", 1.0, 4e8),  # 12.7 years of uptime, still no date: read as Unix seconds
    ],
)
def test_uptime_in_a_named_unit_is_time_from_the_start(tmp_path, night, name, scale, since_boot):
    time = since_boot + np.round((night.time - night.time[0]) * scale, 3)
    recording = read_recording(write(tmp_path / "up.csv", night, time, name))
    assert recording.clock == "relative"
    assert len(recording.time_s) == len(night)
    np.testing.assert_allclose(recording.time_s, time / scale, rtol=0, atol=1e-6)
    assert any("uptime" in warning and name in warning for warning in recording.warnings)


@pytest.mark.parametrize(
    "name, scale",
    [
        ("time_ms", 1e3),  # Unix milliseconds, named so
        ("time_s", 1.0),
        ("time_s", 1e3),  # misnamed: 55,000 years in seconds; its size says milliseconds
        ("Timestamp (ns)", 1e9),
    ],
)
def test_named_units_that_make_a_date_stay_unix_time(tmp_path, night, name, scale):
    time = np.round(night.time * scale).astype(np.int64)
    recording = read_recording(write(tmp_path / "unix.csv", night, time, name))
    assert recording.clock == "unix"
    np.testing.assert_allclose(recording.time_s[[0, -1]], night.time.iloc[[0, -1]], atol=1e-3)
    assert not any("uptime" in warning for warning in recording.warnings)


def test_analyze_and_batch_take_uptime_ms_for_one_night(tmp_path, night):
    # It was "the recording spans 487.8 h, several nights"; batch made 20 nights of 1976.
    (tmp_path / "in").mkdir()
    path = write(tmp_path / "in" / "up.csv", night, uptime_ms(night), "time_ms")
    recording = analyze(path, tmp_path / "one")
    assert recording["clock"] == "relative" and recording["duration_h"] == 0.5
    assert main(["batch", str(tmp_path / "in"), "--out", str(tmp_path / "all")]) == 0
    nights = pd.read_csv(tmp_path / "all" / "nights.csv")
    assert nights.status.tolist() == ["ok"] and nights.duration_h.tolist() == [0.5]


def excel_days(night: pd.DataFrame) -> np.ndarray:
    return night.time / 86400 + 25569  # as a spreadsheet's =A2/86400+DATE(1970,1,1)


def test_excel_day_numbers_are_read_as_clock_times(tmp_path, night):
    path = write(tmp_path / "excel.csv", night, excel_days(night), "time", 10)
    recording = read_recording(path)
    # Clock times without a zone, as Excel keeps them; each row within Excel's precision
    assert recording.clock == "naive" and len(recording.time_s) == len(night)
    np.testing.assert_allclose(recording.time_s, night.time, rtol=0, atol=1e-4)
    assert any("Excel day numbers" in warning for warning in recording.warnings)
    # Analyzed whole, where it was "CSV text that lasts only 0.0 s"
    summary = analyze(path, tmp_path / "out")
    assert summary["start"] == "2025-03-15T23:57:59.998" and summary["duration_h"] == 0.5


@pytest.mark.parametrize("start", [40_000.0, 60_000.0])
def test_seconds_of_excel_day_numbers_size_stay_seconds(tmp_path, night, start):
    # 11 or 17 hours from a start in seconds: rows 0.04 s apart, not the 1e-7 of days
    time = start + (night.time - night.time[0])
    recording = read_recording(write(tmp_path / "s.csv", night, time, "time"))
    assert recording.clock == "relative"
    np.testing.assert_allclose(recording.time_s, time, rtol=0, atol=1e-6)
    assert not any("Excel" in warning for warning in recording.warnings)


def lines_of(night: pd.DataFrame) -> list[str]:
    return night.to_csv(index=False, float_format="%.4f").splitlines()


@pytest.mark.parametrize(
    "join",
    [
        lambda lines: "\n".join(lines[:11]) + "\r" + "\n".join(lines[11:]) + "\n",  # line 11
        lambda lines: lines[0] + "\n" + "\r".join(lines[1:]) + "\r",  # rows end in CR
    ],
)
def test_stray_cr_line_endings_read_as_the_rows_they_end(tmp_path, capsys, night, join):
    # The sniff of the times' offset raised "new-line character seen in unquoted field"
    path = tmp_path / "cr.csv"
    path.write_bytes(join(lines_of(night)).encode())
    recording = read_recording(str(path))
    assert recording.clock == "unix" and len(recording.time_s) == len(night)
    assert analyze(str(path), tmp_path / "out")["duration_h"] == 0.5
    assert "Traceback" not in capsys.readouterr().err


def test_the_offset_is_found_past_lines_ending_in_cr(tmp_path, night):
    # ISO times at +01:00, the last 100 rows at +02:00 (a daylight-saving change)
    local = pd.to_datetime(night.time, unit="s") + pd.to_timedelta(
        np.where(night.index < len(night) - 100, 1, 2), unit="h"
    )
    stamps = local.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + np.where(
        night.index < len(night) - 100, "+01:00", "+02:00"
    )
    rows = lines_of(night.assign(time=stamps))
    path = tmp_path / "iso.csv"
    # A header ending in CR, a row joined to the next by CR, and the last rows ending in CR
    text = rows[0] + "\r" + "\n".join(rows[1:40]) + "\r" + "\n".join(rows[40:-5])
    path.write_bytes((text + "\n" + "\r".join(rows[-5:]) + "\n").encode())
    head = path.read_bytes()[:65536]
    assert stated_zone(head, True, "time") == "+01:00"
    note = offset_change_note(str(path), head, "+01:00", True, "time")
    assert note is not None and "+01:00 at the start and +02:00 at the end" in note
    recording = read_recording(str(path))
    assert recording.timezone == "+01:00" and len(recording.time_s) == len(night)


@pytest.mark.parametrize(
    "head, stated",
    [
        (b'time,x\r"2025-03-14T22:30:00+01:00\r,1\n', "+01:00"),  # a quote left open
        (b"time,x\n\x00\x00\r\x00,1\n2025-03-14T22:30:00+02:00,1\n", "+02:00"),  # NUL bytes
        # a field past the csv module's size limit ("field larger than field limit")
        (b"time,x\n" + b"9" * 200_000 + b"\n2025-03-14T22:30:00+02:00,1\n", "+02:00"),
    ],
)
def test_the_offset_sniff_passes_over_rows_it_cannot_read(tmp_path, head, stated):
    # The first and the last offset that a readable row states, at the start and the end
    assert stated_zone(head, True, "time") == stated
    path = tmp_path / "odd.csv"
    path.write_bytes(head)
    note = offset_change_note(str(path), head, "+05:00", True, "time")
    assert note is not None and f"+05:00 at the start and {stated} at the end" in note


def test_unix_seconds_in_a_column_named_ms_stay_unix_time(tmp_path, night):
    """Steps of 0.04 "ms" would be a 25 kHz sensor: the name is wrong, the size tells (the
    named unit made 30 minutes of Unix seconds 1.8 s of uptime)."""
    recording = read_recording(write(tmp_path / "misnamed.csv", night, night.time, "time_ms"))
    assert recording.clock == "unix"
    np.testing.assert_allclose(recording.time_s[[0, -1]], night.time.iloc[[0, -1]], atol=1e-3)
    assert not any("uptime" in warning for warning in recording.warnings)
