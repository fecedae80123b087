"""Two legs that are both still (deep sleep): no burst on either side is a night, not a crash."""

import json

import numpy as np

from sleepmove.cli import main
from sleepmove.live import LiveWindow, live_summary

RATE_HZ = 25


def still_leg(seed: int, minutes: float) -> tuple[np.ndarray, np.ndarray]:
    """Sensor noise only, well under the movement onset: not one burst is found."""
    rng = np.random.default_rng(seed)
    n = int(minutes * 60 * RATE_HZ)
    times = 1.7e9 + np.arange(n) / RATE_HZ
    xyz = np.round(rng.normal(0.0, 0.0005, (n, 3)), 5)
    xyz[:, 2] += 1.0
    return times, xyz


def test_two_still_legs_are_analyzed(tmp_path, capsys):
    paths = {}
    for seed, side in enumerate(("left", "right")):
        times, xyz = still_leg(seed, 20)
        paths[side] = tmp_path / f"still_{side}.csv"
        np.savetxt(
            paths[side],
            np.column_stack([times, xyz]),
            fmt=["%.3f", "%.5f", "%.5f", "%.5f"],
            delimiter=",",
            header="time,x,y,z",
            comments="",
        )
    out = tmp_path / "out"
    argv = ["analyze", "--left", str(paths["left"]), "--right", str(paths["right"])]
    assert main([*argv, "--out", str(out), "--no-report"]) == 0
    assert (out / "events.csv").read_text().count("\n") == 1  # the header: no event
    assert "PLM index" in capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counts"]["plm"] == 0 and summary["plm_index_in_bed"] == 0.0


def test_the_live_view_of_two_still_legs_says_nothing_happened():
    windows = {side: LiveWindow() for side in ("left", "right")}
    for seed, window in enumerate(windows.values()):
        times, xyz = still_leg(seed, 11)
        for chunk in range(0, len(times), 70):  # as frames arrive
            window.add(times[chunk : chunk + 70], xyz[chunk : chunk + 70])
    live = live_summary(windows)
    assert live is not None
    assert live["lms"] == 0 and live["series_length"] == 0 and live["jerks_per_min"] == 0.0
