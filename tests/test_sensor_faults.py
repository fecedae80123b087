"""Sensor faults and clock glitches (issue 18.11): flagged in quality.warnings, and stuck
stretches kept out of sleep and event scoring as data gaps."""

import json

import numpy as np
import pandas as pd
import pytest

from sleepmove.cli import main
from sleepmove.sensor.simulate import simulate


@pytest.fixture(scope="module")
def frame(tmp_path_factory):
    """A 1-hour night at 50 Hz with movements (PLM series)."""
    folder = tmp_path_factory.mktemp("faults")
    simulate(str(folder), hours=1.0, rate_hz=50, seed=5, scenario="plmd-severe")
    return pd.read_csv(folder / "night.csv")


def analyze(frame, tmp_path, name="night.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False, float_format="%.4f")
    out = tmp_path / "out"
    assert main(["analyze", str(path), "--out", str(out), "--no-report"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    events = pd.read_csv(out / "events.csv")
    return summary, events, " | ".join(summary["quality"]["warnings"])


def stretch(frame, first_min, last_min):
    elapsed = frame["time"] - frame["time"].iloc[0]
    return (elapsed >= first_min * 60) & (elapsed < last_min * 60)


def test_stuck_at_full_scale_is_a_gap_not_sleep_nor_movements(frame, tmp_path):
    stuck = frame.copy()
    inside = stretch(stuck, 20, 40)
    stuck.loc[inside, ["x", "y", "z"]] = 8.0  # every axis pinned at full scale, 20 min
    summary, events, warnings = analyze(stuck, tmp_path)
    assert "full scale" in warnings and "stuck" in warnings
    gaps = np.array(summary["recording"]["data_gaps_s"])
    covered = ((gaps[:, 0] <= 20 * 60 + 2) & (gaps[:, 1] >= 40 * 60 - 2)).any()
    assert covered, gaps
    assert summary["recording"]["data_loss_h"] >= 19 / 60
    onsets = events["onset_s"].to_numpy() if "onset_s" in events else np.array([])
    assert not ((onsets > 20 * 60 + 2) & (onsets < 40 * 60 - 2)).any()
    # Counted on the samples as they came: every sample of the stuck stretch.
    assert summary["quality"]["saturation"]["single"]["samples"] >= int(inside.sum())


def test_flat_lined_signal_is_a_gap_and_a_dead_axis_is_warned(frame, tmp_path):
    faulty = frame.copy()
    faulty.loc[stretch(faulty, 10, 25), ["x", "y", "z"]] = [0.1, 0.2, 0.97]  # flat: 15 min
    faulty["x"] = 0.05  # a dead axis all night
    summary, _, warnings = analyze(faulty, tmp_path)
    assert "stuck at one value for 15 min" in warnings
    assert "the x axis holds one value (0.05 g) for the whole recording" in warnings
    assert summary["recording"]["data_loss_h"] >= 14 / 60


def test_saturation_is_counted_on_the_samples_as_they_came(frame, tmp_path):
    clipped = frame.copy()
    # Jittered stamps: the grid interpolates between samples, and a lone clipped sample
    # mostly vanishes there.
    rng = np.random.default_rng(1)
    clipped["time"] = clipped["time"] + rng.uniform(-0.004, 0.004, len(clipped))
    rows = np.arange(1000, len(clipped), 3000)
    clipped.loc[rows, "x"] = 4.0
    clipped[["x", "y", "z"]] = clipped[["x", "y", "z"]].clip(-4, 4)
    summary, _, warnings = analyze(clipped, tmp_path)
    assert summary["quality"]["saturation"]["single"]["samples"] == len(rows)
    assert f"{len(rows)} samples at the sensor's full scale" in warnings


def test_a_clock_jump_of_an_hour_is_named(frame, tmp_path):
    jumped = frame.copy()
    later = stretch(jumped, 30, 61)
    jumped.loc[later, "time"] += 3600.0
    summary, _, warnings = analyze(jumped, tmp_path)
    assert "jump forward by 60.0 min" in warnings and "clock or time-zone change" in warnings
    # The hour the clock skipped is lost, on top of what the link itself lost.
    (tmp_path / "plain").mkdir()
    before, _, _ = analyze(frame, tmp_path / "plain")
    lost = summary["recording"]["data_loss_h"] - before["recording"]["data_loss_h"]
    assert lost == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("where", ["middle", "last"])
def test_a_one_day_glitch_does_not_stretch_a_short_file(tmp_path, where):
    folder = tmp_path / "sim"
    simulate(str(folder), hours=0.3, rate_hz=25, seed=2)
    short = pd.read_csv(folder / "night.csv")
    row = len(short) // 2 if where == "middle" else len(short) - 1
    short.loc[row, "time"] += 86400.0
    summary, _, warnings = analyze(short, tmp_path)
    assert summary["recording"]["duration_h"] == pytest.approx(0.3, abs=0.01)
    assert "corrupted stamps" in warnings


def test_block_extremes_decide_as_the_exact_ones_do():
    """The strided pre-check may leave inexact extremes only where they decide nothing:
    every fault rule's verdict matches the exact per-block extremes."""
    from sleepmove.detection.quality import _block_extremes

    rng = np.random.default_rng(5)
    rate, blocks = 100, 600
    xyz = rng.normal(0, 0.003, (rate * blocks, 3)).astype(np.float32)
    xyz[10_000:40_000] = np.float32(0.25)  # stuck
    xyz[45_000:47_000, 1] = np.float32(8.0)  # one axis pinned
    xyz[50_000:52_000] = np.float32(-8.0)  # all pinned
    xyz[52_000:60_000, 2] = np.round(xyz[52_000:60_000, 2], 1)  # coarse, often constant
    xyz = np.asfortranarray(xyz)
    edge = 0.995 * 8.0
    low, high = _block_extremes(xyz, rate, edge)
    exact = xyz.reshape(blocks, rate, 3)
    true_low, true_high = exact.min(axis=1), exact.max(axis=1)
    np.testing.assert_array_equal(low == high, true_low == true_high)
    np.testing.assert_array_equal(
        (low >= edge) | (high <= -edge), (true_low >= edge) | (true_high <= -edge)
    )
    constant = true_low == true_high
    np.testing.assert_array_equal(low[constant], true_low[constant])
