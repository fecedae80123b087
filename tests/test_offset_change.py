"""A CSV whose clock times state their offset, across the autumn daylight-saving change:
every time is an instant (read right), the clock times shown keep the first offset, and a
warning says so and how to mend it (--timezone), which shows each at its own offset."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from sleepmove.cli import main
from sleepmove.sensor.formats import read_recording

CHANGE = datetime(2025, 10, 26, 1, 0, tzinfo=timezone.utc)  # Europe: 03:00+02:00 -> 02:00+01:00


def _across_the_change(folder, minutes_before: float = 30.0, minutes_after: float = 30.0) -> str:
    """10 Hz, quiet but for sensor noise, from `minutes_before` the change to after it."""
    t = np.arange(-minutes_before * 60, minutes_after * 60, 0.1)
    noise = np.random.default_rng(1).normal(0, 0.003, (len(t), 3))
    lines = ["time,x,y,z"]
    for s, (x, y, z) in zip(t, noise):  # a loop over the rows of a small test file
        moment = CHANGE + timedelta(seconds=float(s))
        offset = timedelta(hours=2 if moment < CHANGE else 1)
        stamp = moment.astimezone(timezone(offset)).isoformat(timespec="milliseconds")
        lines.append(f"{stamp},{x:.4f},{y:.4f},{1 + z:.4f}")
    path = folder / "night.csv"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_offsets_changing_within_the_file_are_read_as_instants_and_warned(tmp_path):
    rec = read_recording(_across_the_change(tmp_path))
    assert rec.timezone == "+02:00"
    assert rec.time_s[-1] - rec.time_s[0] == pytest.approx(3599.9, abs=1e-3)  # not 2 h, nor 0
    (note,) = [w for w in rec.warnings if "two UTC offsets" in w]
    assert "+02:00 at the start and +01:00 at the end" in note and "--timezone" in note


def test_zeros_after_the_last_line_do_not_hide_the_change(tmp_path):
    path = _across_the_change(tmp_path)
    with open(path, "ab") as handle:  # a logger's reserved file, cut by a power loss
        handle.write(b"\0" * 100_000)
    rec = read_recording(path)
    assert [w for w in rec.warnings if "+02:00 at the start and +01:00 at the end" in w]


def test_the_zone_named_shows_each_time_at_its_own_offset_without_the_warning(tmp_path):
    path = _across_the_change(tmp_path)
    rec = read_recording(path, timezone="Europe/Berlin")
    assert rec.timezone == "Europe/Berlin"
    assert not [w for w in rec.warnings if "two UTC offsets" in w]
    out = tmp_path / "out"
    assert main(["analyze", path, "--out", str(out), "--no-report", "--min-duration", "10"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["recording"]["start"] == "2025-10-26T02:30:00.000+02:00"
    last_epoch = (out / "epochs.csv").read_text().splitlines()[-1]
    assert float(last_epoch.split(",")[0]) == 3540.0  # the hour's last minute: 02:59+01:00


def test_one_offset_all_night_gives_no_warning(tmp_path):
    rec = read_recording(_across_the_change(tmp_path, 40.0, -10.0))  # ends before the change
    assert rec.timezone == "+02:00"
    assert not [w for w in rec.warnings if "two UTC offsets" in w]
