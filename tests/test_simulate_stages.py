"""The "stages" simulator family: files, truth, hypnogram, events and scenario promises."""

from __future__ import annotations

import gzip
import json
import os
import re

import numpy as np
import pytest

from sleepmove.sensor.readers import read_recording
from sleepmove.sensor.simulate_stages import STAGES_SCENARIOS, simulate_stages
from sleepmove.sensor.simulate_stages_night import build_night, plm_series_of

HOURS, RATE = 1.0, 12.5
TIME_PATTERNS = [
    r"\d{10}\.\d{3}",  # unix seconds
    r"\d{13}",  # unix milliseconds
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|\+00:00)",  # ISO-8601
]
TOP_KEYS = {
    "scenario",
    "description",
    "seed",
    "family",
    "start_unix",
    "hours",
    "files",
    "sensors",
    "data_gaps_s",
    "sleep",
    "hypnogram",
    "events",
}
EVENT_KEYS = {
    "onset_s",
    "duration_s",
    "kind",
    "side",
    "amplitude",
    "sampled_peak",
    "hypnic",
    "posture_change",
}
KINDS = {"lm", "jerk", "movement", "hft", "alma", "vibration"}


@pytest.fixture(scope="module")
def nights(tmp_path_factory) -> dict[str, tuple[str, dict]]:
    out = {}
    for name in STAGES_SCENARIOS:  # a loop over scenarios
        folder = str(tmp_path_factory.mktemp(name))
        out[name] = folder, simulate_stages(folder, HOURS, RATE, None, 3, name)
    return out


def _asleep(sleep: dict, t: float) -> bool:
    inside = sleep["onset_s"] <= t < sleep["offset_s"]
    return inside and not any(a <= t < b for a, b in sleep["wake_bouts_s"])


def _stage_at(hyp: list, t: float) -> str:
    return next(s for a, b, s in hyp if a <= t < b)


@pytest.mark.parametrize("name", list(STAGES_SCENARIOS))
def test_files_and_truth_fields(nights, name):
    folder, truth = nights[name]
    with open(os.path.join(folder, "truth.json")) as handle:
        assert json.load(handle) == json.loads(json.dumps(truth))
    assert set(truth) == TOP_KEYS
    assert truth["family"] == "stages" and truth["scenario"] == name
    assert truth["description"] == STAGES_SCENARIOS[name]
    assert set(truth["files"]) == set(truth["sensors"]) == set(truth["data_gaps_s"])
    expected = {"left", "right"} if name == "two-legs" else {"single"}
    assert set(truth["files"]) == expected
    for key, file in truth["files"].items():
        sensor = truth["sensors"][key]
        assert file == ("night.csv" if key == "single" else f"{key}.csv")
        lines = open(os.path.join(folder, file)).read().splitlines()
        assert lines[0] == "time,x,y,z"
        rows = [line.split(",") for line in lines[1:]]
        assert all(len(r) == 4 for r in rows)
        assert any(re.fullmatch(p, rows[0][0]) for p in TIME_PATTERNS)
        xyz = np.array([[float(v) for v in r[1:]] for r in rows])
        magnitude = np.median(np.linalg.norm(xyz, axis=1))
        assert magnitude == pytest.approx(9.81 if sensor["units"] == "m/s2" else 1.0, rel=0.1)
        # the rows span the night less the start offset (a disconnection may eat the end)
        rate = sensor["rate_hz"]
        assert 0.6 * HOURS * 3600 * rate < len(rows) < 1.01 * HOURS * 3600 * rate
        # Every hole the analysis will not bridge is a gap of truth's: the link's drops
        # (30-240 s) and its short losses stretched past 1 s by packet boundaries.
        gaps = np.array(truth["data_gaps_s"][key]).reshape(-1, 2)
        assert np.all((gaps[:, 1] - gaps[:, 0] >= 1.0) & (gaps[:, 1] - gaps[:, 0] <= 241))
        stamps = read_recording(os.path.join(folder, file)).time_s - truth["start_unix"]
        holes = np.flatnonzero(np.diff(stamps) > 1.5)  # host jitter: well past 1 s only
        for hole in holes:  # a loop over holes
            middle = (stamps[hole] + stamps[hole + 1]) / 2
            assert ((gaps[:, 0] < middle) & (middle < gaps[:, 1])).any()
    assert truth["sensors"][next(iter(truth["sensors"]))]["start_offset_s"] == 0.0


def test_scenario_formats(nights):
    lossy = nights["lossy"][1]["sensors"]["single"]
    assert lossy["rate_hz"] == 25.0 and lossy["units"] == "m/s2"
    assert lossy["time_format"].startswith("iso")
    assert nights["lossy"][1]["data_gaps_s"]["single"]
    assert 8 <= nights["noisy"][1]["sensors"]["single"]["noise_mg"] <= 15


@pytest.mark.parametrize("name", list(STAGES_SCENARIOS))
def test_hypnogram_and_sleep_agree(nights, name):
    truth = nights[name][1]
    hyp, sleep = truth["hypnogram"], truth["sleep"]
    assert hyp[0][0] == 0 and hyp[-1][1] == pytest.approx(HOURS * 3600)
    assert all(a[1] == b[0] for a, b in zip(hyp, hyp[1:]))
    assert all(a[2] != b[2] for a, b in zip(hyp, hyp[1:]))
    assert {s for _, _, s in hyp} <= {"W", "N1", "N2", "N3", "R"}
    asleep = [(a, b) for a, b, s in hyp if s != "W"]
    assert sleep["onset_s"] == asleep[0][0] and sleep["offset_s"] == asleep[-1][1]
    wake_inside = [
        [a, b] for a, b, s in hyp if s == "W" and sleep["onset_s"] < a and b < sleep["offset_s"]
    ]
    assert sleep["wake_bouts_s"] == wake_inside
    assert all(b - a >= 30 for a, b in sleep["wake_bouts_s"])


@pytest.mark.parametrize("name", list(STAGES_SCENARIOS))
def test_events_are_unambiguous(nights, name):
    truth = nights[name][1]
    legs = list(truth["files"])
    for e in truth["events"]:
        assert set(e) == EVENT_KEYS and e["kind"] in KINDS
        assert 0 <= e["onset_s"] and e["onset_s"] + e["duration_s"] <= HOURS * 3600
        if e["kind"] == "lm":
            assert 0.5 <= e["duration_s"] <= 10 and e["amplitude"] >= 0.05
        if e["kind"] == "jerk":
            assert 0.07 <= e["duration_s"] <= 0.5
        if e["kind"] == "alma":
            assert e["side"] == "bilateral"
        assert e["side"] in ({"left", "right", "bilateral"} if len(legs) == 2 else {""})
    for leg in ("left", "right", ""):  # a loop over legs
        on_leg = sorted(
            (e["onset_s"], e["onset_s"] + e["duration_s"])
            for e in truth["events"]
            if e["kind"] != "vibration" and e["side"] in (leg, "bilateral")
        )
        for (_, end), (start, _) in zip(on_leg, on_leg[1:]):
            assert start - end >= 1.5 - 1e-6


@pytest.mark.parametrize("name", list(STAGES_SCENARIOS))
def test_generated_series_obey_the_interval_rule(name):
    truth_legs = ["left", "right"] if name == "two-legs" else [""]
    night = build_night(3, HOURS, truth_legs, name)
    series: dict[int, list[float]] = {}
    for e in night.events:
        if "series" in e["_spec"]:
            series.setdefault(e["_spec"]["series"], []).append(e["onset_s"])
            assert e["kind"] == "lm" and 0.5 <= e["duration_s"] <= 10
    for onsets in series.values():
        imi = np.diff(onsets)
        assert np.all((imi >= 10) & (imi <= 90))
        assert len(onsets) >= 4 or name == "rls"


def _plm_index(events: list[dict], sleep: dict) -> float:
    plms = [e for run in plm_series_of(events) for e in run if _asleep(sleep, e["onset_s"])]
    tst = sleep["offset_s"] - sleep["onset_s"] - sum(b - a for a, b in sleep["wake_bouts_s"])
    return len(plms) / (tst / 3600)


@pytest.mark.parametrize(
    "name, low, high",
    [
        ("plmd-moderate", 12, 30),
        ("plmd-severe", 35, 80),
        ("healthy-restless", 0, 0),
        ("myoclonus", 0, 5),
        ("rls", 0, 10),
        ("still-wake", 10, 30),
        ("two-legs", 12, 45),
    ],
)
def test_plm_indices_of_whole_nights(name, low, high):
    legs = ["left", "right"] if name == "two-legs" else [""]
    for seed in (1, 2):  # whole nights without samples: fast
        night = build_night(seed, 8.0, legs, name)
        sleep = {
            "onset_s": night.onset_s,
            "offset_s": night.offset_s,
            "wake_bouts_s": night.wake_bouts(),
        }
        assert low <= _plm_index(night.events, sleep) <= high
        if name.startswith("plmd"):
            stages = [
                _stage_at(night.hypnogram, e["onset_s"])
                for run in plm_series_of(night.events)
                for e in run
            ]
            assert np.mean([s in ("N1", "N2") for s in stages]) > 0.7
            assert np.mean([s == "R" for s in stages]) < 0.15


def test_no_plms_in_one_hour_healthy_night(nights):
    truth = nights["healthy-restless"][1]
    assert _plm_index(truth["events"], truth["sleep"]) == 0


def test_rls_train_is_in_wake_before_sleep(nights):
    truth = nights["rls"][1]
    onset = truth["sleep"]["onset_s"]
    before = [run for run in plm_series_of(truth["events"]) if run[-1]["onset_s"] < onset]
    assert before, "no periodic train before sleep onset"
    train = max(before, key=len)
    assert train[-1]["onset_s"] - train[0]["onset_s"] >= 15 * 60
    assert all(_stage_at(truth["hypnogram"], e["onset_s"]) == "W" for e in train)
    imi = np.diff([e["onset_s"] for e in train])
    assert np.all((imi >= 10) & (imi <= 60))


def test_myoclonus_twitches_are_small_and_clustered(nights):
    truth = nights["myoclonus"][1]
    noise_mg = truth["sensors"]["single"]["noise_mg"]
    twitches = [
        e
        for e in truth["events"]
        if e["kind"] == "jerk" and not e["hypnic"] and _asleep(truth["sleep"], e["onset_s"])
    ]  # wake has kicks too
    amplitude = np.array([e["amplitude"] for e in twitches])
    assert np.all((amplitude >= 0.03) & (amplitude <= 0.07))
    assert np.all((amplitude * 1000 / noise_mg >= 12) & (amplitude * 1000 / noise_mg <= 25))
    assert all(0.07 <= e["duration_s"] <= 0.25 for e in twitches)
    onsets = np.array([e["onset_s"] for e in twitches])
    per_min = np.histogram(onsets, np.arange(0, HOURS * 3600 + 60, 60))[0]
    assert (per_min >= 4).sum() >= 10  # at least one cluster of 5-10 a minute


def test_restless_wake_is_busy_and_irregular():
    night = build_night(5, 8.0, [""], "healthy-restless")
    wake = [(a, b) for a, b, s in night.hypnogram if s == "W"]
    minutes = sum(b - a for a, b in wake) / 60
    in_wake = sorted(
        e["onset_s"] for e in night.events if any(a <= e["onset_s"] < b for a, b in wake)
    )
    assert 1.0 <= len(in_wake) / minutes <= 4.5
    gaps = np.diff(in_wake)
    gaps = gaps[gaps < 300]
    assert np.std(gaps) / np.mean(gaps) > 0.5  # Poisson-like, not periodic


def test_two_legs_alternate_and_differ(nights):
    truth = nights["two-legs"][1]
    sides = {e["side"] for run in plm_series_of(truth["events"]) for e in run}
    assert len(sides) >= 2
    assert truth["sensors"]["right"]["start_offset_s"] > 0


def test_same_seed_same_files(tmp_path):
    a = simulate_stages(str(tmp_path / "a"), 0.3, 25.0, ["left", "right"], 7, "noisy", True)
    b = simulate_stages(str(tmp_path / "b"), 0.3, 25.0, ["left", "right"], 7, "noisy", True)
    assert a == b
    for name in ("left.csv.gz", "right.csv.gz", "truth.json"):
        data_a = (tmp_path / "a" / name).read_bytes()
        assert data_a == (tmp_path / "b" / name).read_bytes()
    text = gzip.decompress((tmp_path / "a" / "left.csv.gz").read_bytes()).decode()
    assert text.startswith("time,x,y,z\n")
    c = simulate_stages(str(tmp_path / "c"), 0.3, 25.0, ["left", "right"], 8, "noisy", True)
    assert c["events"] != a["events"]
