"""Forms of the time column that were misread: a sensor's uptime in a unit the column's name
gives (taken for Unix time)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sleepmove.cli import main
from sleepmove.sensor.formats import read_recording
from sleepmove.sensor.simulate import simulate


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
