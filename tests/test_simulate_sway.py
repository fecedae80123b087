"""The `sway` simulator family: deterministic, its truth contract kept, its files readable."""

import gzip
import json
import os

import numpy as np
import pandas as pd
import pytest

from sleepmove.sensor.simulate_sway import PROFILES, SWAY_SCENARIOS, simulate_sway

HOURS = 0.3
KINDS = {"lm", "jerk", "movement", "vibration"}


def night(tmp_path, scenario, seed=1, **kw):
    out = tmp_path / f"{scenario}-{seed}"
    return simulate_sway(
        str(out), hours=kw.pop("hours", HOURS), seed=seed, scenario=scenario, **kw
    ), out


def in_sleep(truth, t):
    s = truth["sleep"]
    if s["onset_s"] is None or not s["onset_s"] <= t < s["offset_s"]:
        return False
    return not any(a <= t < b for a, b in s["wake_bouts_s"])


def longest_series(truth):
    onsets = [
        e["onset_s"] for e in truth["events"] if e["kind"] == "lm" and in_sleep(truth, e["onset_s"])
    ]
    best = run = 1 if onsets else 0
    for a, b in zip(onsets, onsets[1:]):
        run = run + 1 if 10 <= b - a <= 90 else 1
        best = max(best, run)
    return best


def test_scenarios_and_profiles_agree():
    assert (
        set(SWAY_SCENARIOS)
        == set(PROFILES)
        == {"healthy", "plmd-moderate", "plmd-severe", "rls", "two-legs", "twitches", "partner"}
    )
    assert all(isinstance(p.two_legs, bool) for p in PROFILES.values())


def test_deterministic_per_seed(tmp_path):
    a, out_a = night(tmp_path / "a", "partner", seed=7)
    b, out_b = night(tmp_path / "b", "partner", seed=7)
    c, _ = night(tmp_path / "c", "partner", seed=8)
    assert a == b
    assert (out_a / "night.csv").read_bytes() == (out_b / "night.csv").read_bytes()
    assert a["events"] != c["events"] or a["start_unix"] != c["start_unix"]


@pytest.mark.parametrize("scenario", list(SWAY_SCENARIOS))
def test_every_scenario_keeps_the_truth_contract(tmp_path, scenario):
    truth, out = night(tmp_path, scenario, seed=3)
    assert json.loads((out / "truth.json").read_text()) == truth
    assert truth["family"] == "sway" and truth["scenario"] == scenario
    assert truth["description"] == SWAY_SCENARIOS[scenario] and truth["seed"] == 3
    assert isinstance(truth["start_unix"], float)
    sides = ["left", "right"] if PROFILES[scenario].two_legs else ["single"]
    assert list(truth["files"]) == sides
    assert sorted(os.listdir(out)) == sorted([*truth["files"].values(), "truth.json"])
    end = HOURS * 3600
    for side in sides:
        s = truth["sensors"][side]
        assert s["rate_hz"] == 50.0 and 0 < s["noise_g"] < 0.05 and 0 <= s["start_offset_s"] < 5
        assert all(0 <= a < b <= end + 1 for a, b in truth["data_gaps_s"][side])
    hyp = truth["hypnogram"]
    assert hyp[0][0] == 0 and abs(hyp[-1][1] - end) < 1
    assert all(x[1] == y[0] for x, y in zip(hyp, hyp[1:]))
    assert {s for _, _, s in hyp} <= {"W", "N1", "N2", "N3", "REM"}
    sleep = truth["sleep"]
    assert 0 < sleep["onset_s"] < sleep["offset_s"] <= end
    onsets = [e["onset_s"] for e in truth["events"]]
    assert onsets == sorted(onsets)
    limit = 0.008
    for e in truth["events"]:
        assert e["kind"] in KINDS and 0 <= e["onset_s"] and e["onset_s"] + e["duration_s"] <= end
        assert e["side"] in (("left", "right", "bilateral") if len(sides) == 2 else ("",))
        assert e["amplitude"] >= limit
        if e["kind"] == "lm":
            assert 0.5 <= e["duration_s"] <= 10
        if e["kind"] == "jerk":
            assert e["duration_s"] < 0.5 and "sampled_peak" in e
    for e in truth["hidden_events"]:
        assert e["kind"] in KINDS


def test_plmd_holds_series_in_sleep_and_healthy_none(tmp_path):
    assert longest_series(night(tmp_path, "plmd-severe", seed=2)[0]) >= 4
    truth = night(tmp_path, "healthy", seed=2)[0]
    assert longest_series(truth) < 4
    assert not [e for e in truth["events"] if e.get("periodic") and in_sleep(truth, e["onset_s"])]


def test_two_leg_nights_write_two_files_and_sides_override(tmp_path):
    truth, out = night(tmp_path, "two-legs")
    assert truth["files"] == {"left": "left.csv", "right": "right.csv"}
    truth, out = night(tmp_path, "healthy", sides=["left", "right"])
    assert (out / "left.csv").exists() and (out / "right.csv").exists()


def test_csvs_read_back_in_their_stated_units(tmp_path):
    for seed in range(4):
        truth, out = night(tmp_path, "plmd-moderate", seed=seed, compress=seed % 2 == 1)
        for side, name in truth["files"].items():
            assert name.endswith(".csv.gz") == (seed % 2 == 1)
            opener = gzip.open if name.endswith(".gz") else open
            with opener(out / name, "rt") as handle:
                frame = pd.read_csv(handle)
            s = truth["sensors"][side]
            g = np.sqrt((frame.iloc[:, 1:4].to_numpy() ** 2).sum(1))
            expect = 9.80665 if s["units"] == "m/s^2" else 1.0
            assert abs(np.median(g) / expect - 1) < 0.1
            stamps = frame.iloc[:, 0]
            if s["time_format"] == "unix_ms":
                first = stamps.iloc[0] / 1000
            elif s["time_format"] == "unix_s":
                first = stamps.iloc[0]
            else:
                first = pd.Timestamp(stamps.iloc[0]).timestamp()
            assert abs(first - truth["start_unix"] - s["start_offset_s"]) < 0.2
            assert len(frame) > 0.9 * HOURS * 3600 * s["rate_hz"]
