"""Clock times without a date (`22:30:00.000`): two legs side by side, and a clock-time
sleep window, by the times the files hold."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sleepmove.cli import main
from sleepmove.sensor.simulate import simulate
from tests.test_cli_robustness import refused


def as_time_of_day(source: Path, target: Path, first_s: float, clock_at_first: float) -> None:
    """`source` (Unix seconds) with its times written as HH:MM:SS.mmm, `first_s` (a Unix
    time) shown as `clock_at_first` seconds after a midnight."""
    table = pd.read_csv(source)
    seconds = table["time"].to_numpy() - first_s + clock_at_first
    hours, minutes, rest = (seconds // 3600) % 24, (seconds % 3600) // 60, seconds % 60
    table["time"] = [f"{h:02.0f}:{m:02.0f}:{s:06.3f}" for h, m, s in zip(hours, minutes, rest)]
    table.to_csv(target, index=False)


@pytest.fixture(scope="module")
def legs(tmp_path_factory) -> Path:
    """Two legs of a 20-minute night; the right sensor started 84 s after the left. As
    Unix times, and as clock times without a date either side of midnight."""
    folder = tmp_path_factory.mktemp("legs")
    simulate(str(folder), hours=1 / 3, rate_hz=25, sides=["left", "right"], seed=3)
    right = pd.read_csv(folder / "right.csv")
    right[right["time"] - right["time"].iloc[0] >= 84.0].to_csv(folder / "late.csv", index=False)
    first = pd.read_csv(folder / "left.csv")["time"].iloc[0]
    for name, at in (("evening", 22 * 3600 + 30 * 60), ("midnight", 86400 - 40)):
        as_time_of_day(folder / "left.csv", folder / f"left_{name}.csv", first, at)
        as_time_of_day(folder / "late.csv", folder / f"right_{name}.csv", first, at)
    return folder


def events_of(folder: Path, left: str, right: str, *options: str) -> pd.DataFrame:
    out = folder / f"out_{left}_{right}_{'_'.join(options).replace(':', '')}"
    argv = ["analyze", "--left", str(folder / left), "--right", str(folder / right)]
    assert main([*argv, "--out", str(out), "--no-report", *options]) == 0
    events = pd.read_csv(out / "events.csv")
    return events.drop(columns=["onset"])  # clock times: only the Unix files have them


def asleep_of(folder: Path, left: str, right: str, *options: str) -> np.ndarray:
    """The start of each epoch scored asleep."""
    out = folder / f"out_{left}_{right}_{'_'.join(options).replace(':', '')}"
    epochs = pd.read_csv(out / "epochs.csv")
    return epochs["start_s"][epochs["asleep"]].to_numpy()


@pytest.mark.parametrize("name", ["evening", "midnight"])
def test_two_legs_of_clock_times_are_put_side_by_side_by_them(legs, name):
    # Each file was counted from its own first time: the right leg 84 s early, every
    # bilateral movement and alternation lost.
    truth = events_of(legs, "left.csv", "late.csv")
    found = events_of(legs, f"left_{name}.csv", f"right_{name}.csv")
    assert (truth["side"] == "bilateral").sum() > 0
    pd.testing.assert_frame_equal(found, truth)


def test_a_clock_time_sleep_window_falls_by_the_times_of_day(legs):
    # 22:35 to 22:48 is 300 to 1080 s after the left's first time (22:30)
    by_clock = events_of(
        legs, "left_evening.csv", "right_evening.csv", "--sleep-window", "22:35,22:48"
    )
    by_seconds = events_of(legs, "left_evening.csv", "right_evening.csv", "--sleep-window=300,1080")
    pd.testing.assert_frame_equal(by_clock, by_seconds)
    asleep = asleep_of(
        legs, "left_evening.csv", "right_evening.csv", "--sleep-window", "22:35,22:48"
    )
    assert len(asleep) and asleep.min() >= 300 and asleep.max() < 1080


def test_a_sleep_window_across_midnight_on_clock_times(legs):
    # the files start 23:59:20: 00:00 is 40 s on, 00:15 is 940 s on
    by_clock = events_of(
        legs, "left_midnight.csv", "right_midnight.csv", "--sleep-window", "00:00,00:15"
    )
    by_seconds = events_of(legs, "left_midnight.csv", "right_midnight.csv", "--sleep-window=40,940")
    pd.testing.assert_frame_equal(by_clock, by_seconds)


def test_a_dated_sleep_window_on_clock_times_without_a_date_is_refused(legs, tmp_path, capsys):
    argv = ["analyze", str(legs / "left_evening.csv"), "--out", str(tmp_path / "o")]
    window = ["--sleep-window", "2025-03-17T22:35,22:48"]
    refused(capsys, [*argv, *window], "--sleep-window", "clock times without a date", "HH:MM")


def test_a_clock_time_file_beside_one_of_seconds_is_counted_from_its_start(legs, tmp_path):
    """Seconds from the start say nothing of a clock: both files count from their own
    starts, as before."""
    table = pd.read_csv(legs / "late.csv")
    table["time"] = np.round(table["time"] - table["time"].iloc[0], 3)
    table.to_csv(tmp_path / "seconds.csv", index=False)
    argv = [
        "analyze",
        "--left",
        str(legs / "left_evening.csv"),
        "--right",
        str(tmp_path / "seconds.csv"),
    ]
    assert main([*argv, "--out", str(tmp_path / "o"), "--no-report"]) == 0
    assert pd.read_csv(tmp_path / "o" / "events.csv")["onset_s"].min() < 60
