"""The limb simulator family: its truth contract, its files, and the physiology it promises."""

from __future__ import annotations

import gzip
import json
import os

import numpy as np
import pandas as pd
import pytest

from sleepmove.sensor.simulate_limb import LIMB_SCENARIOS, simulate_limb
from sleepmove.sensor.simulate_limb_truth import plm_series

HOURS = 0.25  # 15 minutes: long enough for sleep onset and a few series, fast to draw
KINDS = {"lm", "jerk", "movement", "vibration"}


@pytest.fixture(scope="module")
def nights(tmp_path_factory) -> dict[str, tuple[str, dict]]:
    """One short night per scenario (seed 3), drawn once for the module."""
    out = {}
    for scenario in LIMB_SCENARIOS:  # a loop over scenarios
        folder = str(tmp_path_factory.mktemp(scenario))
        out[scenario] = folder, simulate_limb(folder, hours=HOURS, seed=3, scenario=scenario)
    return out


def _asleep(truth: dict, t: float) -> bool:
    sleep = truth["sleep"]
    inside = sleep["onset_s"] <= t < sleep["offset_s"]
    return inside and not any(a <= t < b for a, b in sleep["wake_bouts_s"])


def _read(folder: str, truth: dict, side: str) -> pd.DataFrame:
    return pd.read_csv(os.path.join(folder, truth["files"][side]))


def test_scenarios_are_the_promised_ones():
    assert set(LIMB_SCENARIOS) == {
        "healthy",
        "plmd-moderate",
        "plmd-severe",
        "rls",
        "two-legs",
        "twitches",
        "partner",
    }
    with pytest.raises(ValueError):
        simulate_limb("/nonexistent-never-written", hours=HOURS, scenario="nope")


def test_same_seed_same_night_other_seed_other_night(tmp_path):
    a = simulate_limb(str(tmp_path / "a"), hours=0.15, seed=11, scenario="plmd-severe")
    b = simulate_limb(str(tmp_path / "b"), hours=0.15, seed=11, scenario="plmd-severe")
    c = simulate_limb(str(tmp_path / "c"), hours=0.15, seed=12, scenario="plmd-severe")
    assert a == b
    bytes_a = (tmp_path / "a" / "night.csv").read_bytes()
    assert bytes_a == (tmp_path / "b" / "night.csv").read_bytes()
    assert bytes_a != (tmp_path / "c" / "night.csv").read_bytes()
    assert a["events"] != c["events"]


@pytest.mark.parametrize("scenario", list(LIMB_SCENARIOS))
def test_truth_contract(nights, scenario):
    folder, truth = nights[scenario]
    night = HOURS * 3600
    assert truth["family"] == "limb" and truth["scenario"] == scenario
    assert truth["description"] == LIMB_SCENARIOS[scenario]
    assert isinstance(truth["start_unix"], float) and truth["hours"] == HOURS
    assert json.load(open(os.path.join(folder, "truth.json"))) == truth
    sides = set(truth["files"])
    assert sides == set(truth["sensors"]) == set(truth["data_gaps_s"])
    for side, sensor in truth["sensors"].items():
        assert sensor["rate_hz"] > 0 and 0 < sensor["noise_g"] < 0.05
        assert 0 <= sensor["start_offset_s"] < 60
        for a, b in truth["data_gaps_s"][side]:
            assert 0 <= a < b <= night + 1
    sleep = truth["sleep"]
    assert 0 < sleep["onset_s"] < sleep["offset_s"] <= night
    for a, b in sleep["wake_bouts_s"]:
        assert sleep["onset_s"] < a < b < sleep["offset_s"]
    hyp = truth["hypnogram"]
    assert hyp[0][0] == 0 and hyp[-1][1] == pytest.approx(night, abs=30)
    assert all(h[1] == n[0] for h, n in zip(hyp, hyp[1:]))
    assert {h[2] for h in hyp} <= {"W", "N1", "N2", "N3", "REM"}
    events = truth["events"]
    assert events == sorted(events, key=lambda e: e["onset_s"])
    allowed = {""} if sides == {"single"} else {"left", "right", "bilateral"}
    floor = {side: max(0.008, 3 * s["noise_g"]) for side, s in truth["sensors"].items()}
    for event in events:
        assert {"onset_s", "duration_s", "kind", "side", "amplitude"} <= set(event)
        assert 0 < event["onset_s"] and event["onset_s"] + event["duration_s"] < night
        assert event["kind"] in KINDS and event["side"] in allowed
        assert event["amplitude"] >= min(floor.values()) * 0.99
        if event["kind"] == "lm":
            parts = event.get("parts", {"one": event})
            assert all(0.5 <= p["duration_s"] <= 10 for p in parts.values())
        if event["kind"] == "jerk":
            assert event["duration_s"] < 0.5
            assert event.get("sampled_peak", event["amplitude"]) <= event["amplitude"] + 1e-4


@pytest.mark.parametrize("scenario", list(LIMB_SCENARIOS))
def test_csv_reads_in_its_stated_units(nights, scenario):
    folder, truth = nights[scenario]
    for side, sensor in truth["sensors"].items():
        rows = _read(folder, truth, side)
        time_name, *axes = sensor["columns"][:4]
        assert list(rows.columns[:4]) == [time_name, *axes]
        magnitude = np.median(np.linalg.norm(rows[axes].to_numpy(), axis=1))
        assert magnitude == pytest.approx(9.80665 if sensor["units"] == "m/s2" else 1.0, rel=0.08)
        if sensor["time_format"] == "iso":
            clock = pd.to_datetime(rows[time_name], format="ISO8601", utc=True)
            stamps = (clock - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
        else:
            stamps = rows[time_name].to_numpy() / (
                1000 if sensor["time_format"] == "unix_ms" else 1
            )
        relative = np.asarray(stamps, dtype=float) - truth["start_unix"]
        assert np.all(np.diff(relative) >= 0)
        assert relative[0] == pytest.approx(sensor["start_offset_s"], abs=0.5)
        # every sample the truth says is missing is missing from the file
        missing = sum(
            int(round((b - a) * sensor["rate_hz"])) for a, b in truth["data_gaps_s"][side]
        )
        expected = int((HOURS * 3600 - sensor["start_offset_s"]) * sensor["rate_hz"]) - missing
        assert abs(len(rows) - expected) <= len(truth["data_gaps_s"][side]) + 1
        for a, b in truth["data_gaps_s"][side]:
            if b - a > 0.5:
                assert not np.any((relative > a + 0.2) & (relative < b - 0.2))


@pytest.mark.parametrize("scenario", ["plmd-moderate", "plmd-severe", "two-legs"])
def test_plmd_nights_have_series_in_sleep(tmp_path, scenario):
    truth = simulate_limb(str(tmp_path), hours=0.5, seed=8, scenario=scenario)
    series = plm_series(truth["events"])
    in_sleep = [e for run in series for e in run if _asleep(truth, e["onset_s"])]
    assert len(in_sleep) >= 4
    assert {e["stage"] for e in in_sleep} <= {"N1", "N2", "N3", "REM"}
    for run in series:
        gaps = np.diff([e["onset_s"] for e in run])
        assert len(run) >= 4 and np.all((gaps >= 10) & (gaps <= 90))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_healthy_has_no_series_in_sleep(tmp_path, seed):
    truth = simulate_limb(str(tmp_path), hours=0.3, seed=seed, scenario="healthy")
    series = plm_series(truth["events"])
    assert not [e for run in series for e in run if _asleep(truth, e["onset_s"])]


def test_severe_is_denser_than_moderate(tmp_path):
    def rate(scenario: str) -> float:
        truth = simulate_limb(str(tmp_path / scenario), hours=0.5, seed=5, scenario=scenario)
        lms = [e for e in truth["events"] if e["kind"] == "lm" and e.get("tag") == "plms"]
        return len(lms)

    assert rate("plmd-severe") > rate("plmd-moderate")


def test_two_legs_write_two_files_and_name_both_legs(nights):
    folder, truth = nights["two-legs"]
    assert truth["files"] == {"left": "left.csv", "right": "right.csv"}
    assert os.path.exists(os.path.join(folder, "left.csv"))
    assert os.path.exists(os.path.join(folder, "right.csv"))
    lms = [e for e in truth["events"] if e["kind"] == "lm"]
    assert {e["side"] for e in lms} <= {"left", "right", "bilateral"}
    assert len({e["side"] for e in lms}) >= 2
    for event in lms:
        if event["side"] == "bilateral":
            assert set(event["parts"]) == {"left", "right"}


def test_one_sensor_writes_night_csv(nights):
    folder, truth = nights["plmd-moderate"]
    assert truth["files"] == {"single": "night.csv"}
    assert sorted(os.listdir(folder)) == ["night.csv", "truth.json"]


def test_rls_train_before_sleep_is_in_wake(nights):
    _, truth = nights["rls"]
    onset = truth["sleep"]["onset_s"]
    before = [e for run in plm_series(truth["events"]) for e in run if e["onset_s"] < onset]
    assert len(before) >= 4, "a periodic train while awake before sleep"
    assert all(e["stage"] == "W" and not _asleep(truth, e["onset_s"]) for e in before)
    assert all(e["tag"] == "plmw" for e in before)


def test_twitches_are_brief_and_in_their_stages(tmp_path):
    truth = simulate_limb(str(tmp_path), hours=0.6, seed=2, scenario="twitches")
    jerks = [e for e in truth["events"] if e["kind"] == "jerk"]
    assert any(e["tag"] == "hypnic" for e in jerks)
    rem = [e for e in jerks if e["tag"] == "rem-twitch"]
    assert all(e["stage"] == "REM" for e in rem)
    assert all(0.05 <= e["duration_s"] <= 0.25 for e in rem)
    assert all(e["amplitude"] <= 0.125 for e in rem)


def test_partner_vibrations_are_not_the_sleepers(nights):
    _, truth = nights["partner"]
    shaking = [e for e in truth["events"] + truth["hidden_events"] if e["kind"] == "vibration"]
    assert shaking and all(e["tag"].startswith("partner") for e in shaking)
    assert truth["sensors"]["single"]["noise_g"] >= 0.007


def test_compressed_night_reads_the_same(tmp_path):
    plain = simulate_limb(str(tmp_path / "p"), hours=0.12, seed=4, scenario="healthy")
    packed = simulate_limb(
        str(tmp_path / "z"), hours=0.12, seed=4, scenario="healthy", compress=True
    )
    assert packed["files"] == {"single": "night.csv.gz"}
    assert packed["events"] == plain["events"]
    with gzip.open(tmp_path / "z" / "night.csv.gz", "rb") as text:
        assert text.read() == (tmp_path / "p" / "night.csv").read_bytes()
