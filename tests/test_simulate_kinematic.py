"""The "kinematic" simulator family (a jointed leg in a bed, a shank sensor): its physics,
truth contract, scenario promises, and that `sleepmove analyze`/`validate` read its nights."""

from __future__ import annotations

import csv
import gzip
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from sleepmove.sensor.simulate import family_scenarios, simulate_family
from sleepmove.sensor.simulate_clock import ClockError
from sleepmove.sensor.simulate_kinematic import KINEMATIC_SCENARIOS, simulate_kinematic
from sleepmove.sensor.simulate_kinematic_leg import (
    draw_geometry,
    gravity_only,
    specific_force,
)
from sleepmove.sensor.simulate_kinematic_moves import ABD, KNEE
from sleepmove.sensor.simulate_kinematic_plan import build_plan
from sleepmove.sensor.simulate_kinematic_profiles import PROFILES
from sleepmove.sensor.simulate_kinematic_render import Component, render_leg
from sleepmove.sensor.simulate_kinematic_shapes import Shape

HOURS = 1 / 3  # 20-minute nights
TOP_KEYS = {
    "scenario", "description", "seed", "family", "start_unix", "hours", "files", "sensors",
    "data_gaps_s", "sleep", "hypnogram", "events", "hidden_events", "plm_series_planned",
    "transient_only",
}  # fmt: skip
EVENT_KEYS = {"onset_s", "duration_s", "kind", "side", "amplitude", "hypnic", "posture_change"}
REQUIRED = {"healthy", "plmd-moderate", "plmd-severe", "restless-wake", "twitchy", "two-legs"}


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    out = {}
    for name in KINEMATIC_SCENARIOS:
        folder = tmp_path_factory.mktemp(name)
        out[name] = (
            str(folder),
            simulate_kinematic(str(folder), hours=HOURS, seed=3, scenario=name),
        )
    return out


def _rows(path: str) -> list[list[str]]:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as handle:
        return list(csv.reader(handle))


def test_registered_with_the_required_scenarios():
    scenarios = family_scenarios()["kinematic"]
    assert REQUIRED | {"low-rate"} <= set(scenarios)
    assert all(scenarios[name] for name in scenarios)


@pytest.mark.parametrize("name", list(KINEMATIC_SCENARIOS))
def test_files_and_truth_contract(nights, name):
    folder, truth = nights[name]
    assert set(truth) == TOP_KEYS and truth["family"] == "kinematic"
    with open(os.path.join(folder, "truth.json")) as handle:
        assert json.load(handle) == json.loads(json.dumps(truth))
    night_s = HOURS * 3600
    expected = {"left", "right"} if PROFILES[name].sides else {"single"}
    assert set(truth["files"]) == expected == set(truth["sensors"]) == set(truth["data_gaps_s"])
    for side, file in truth["files"].items():
        rows = _rows(os.path.join(folder, file))
        assert rows[0] == ["time", "x", "y", "z"]
        body = np.array(rows[1:], dtype=float)
        stamps = body[:, 0] - truth["start_unix"]
        assert np.all(np.diff(stamps) >= 0) and -1 < stamps[0] < 10 and stamps[-1] < night_s + 1
        rate = truth["sensors"][side]["rate_hz"]
        assert len(body) > 0.5 * rate * night_s  # losses, not a silent sensor
        assert 0.9 < np.median(np.linalg.norm(body[:, 1:], axis=1)) < 1.1  # g at rest
        for a, b in truth["data_gaps_s"][side]:
            assert 0 <= a < b <= night_s + 1e-6
    sides = {"", "left", "right", "bilateral"} if PROFILES[name].sides else {""}
    onsets = [e["onset_s"] for e in truth["events"]]
    assert onsets == sorted(onsets)
    for e in truth["events"] + truth["hidden_events"]:
        assert EVENT_KEYS <= set(e) and e["side"] in sides
        assert 0 < e["onset_s"] and e["onset_s"] + e["duration_s"] < night_s
        assert e["kind"] in {"lm", "jerk", "movement"}
        if e["kind"] == "lm":
            assert 0.5 <= e["duration_s"] <= 10 and not e["posture_change"]
        elif e["kind"] == "jerk":
            assert 0.04 <= e["duration_s"] < 0.5
        else:
            assert e["posture_change"] or e["duration_s"] > 10
        assert e["hypnic"] is False or e["kind"] == "jerk"
    floor = min(max(0.008, 3 * s["noise_g"]) for s in truth["sensors"].values())
    assert all(e["amplitude"] >= floor for e in truth["events"])


@pytest.mark.parametrize("name", list(KINEMATIC_SCENARIOS))
def test_sleep_agrees_with_the_hypnogram(nights, name):
    _, truth = nights[name]
    hyp, sleep = truth["hypnogram"], truth["sleep"]
    assert hyp[0][0] == 0 and hyp[-1][1] == pytest.approx(HOURS * 3600)
    asleep = [(a, b) for a, b, s in hyp if s != "W"]
    assert sleep["onset_s"] == asleep[0][0] and sleep["offset_s"] == asleep[-1][1]
    awake = [[a, b] for a, b, s in hyp if s == "W" and sleep["onset_s"] <= a < sleep["offset_s"]]
    assert sleep["wake_bouts_s"] == awake


def _plan(name: str, hours: float, seed: int):
    legs = list(PROFILES[name].sides) or [""]
    signs = {leg: (1.0 if leg != "right" else -1.0) for leg in legs}
    return build_plan(np.random.default_rng(seed), hours, legs, signs, PROFILES[name])


@pytest.mark.parametrize("name", ["plmd-moderate", "plmd-severe", "two-legs"])
def test_plm_series_obey_the_rules(name):
    plan = _plan(name, 3.0, 11)
    assert plan.series
    cvs = []
    for series in plan.series:
        members = [plan.events[i] for i in series]
        onsets = np.array([e["onset_s"] for e in members])
        intervals = np.diff(onsets)
        assert len(members) >= 4
        assert np.all((intervals >= 10) & (intervals <= 90))
        assert all(e["kind"] == "lm" and 0.5 <= e["duration_s"] <= 10 for e in members)
        assert all(e["duration_s"] <= 15 for e in members)  # bilateral ones too
        cvs.append(intervals.std() / intervals.mean())
        stages = {s for a, b, s in _segments(plan) for t in onsets if a <= t < b}
        # PLMS stay in sleep (they stop at an awakening); plmd-severe's PLMW stay in wake
        assert "W" not in stages or (stages == {"W"} and PROFILES[name].plmw_per_h > 0)
    assert 0.03 < np.median(cvs) < 0.4


def _segments(plan):
    from sleepmove.sensor.simulate_kinematic_hypnogram import segments

    return segments(plan.stages)


@pytest.mark.parametrize("name", ["two-legs", "restless-wake", "twitchy"])
def test_movements_of_one_leg_never_overlap(name):
    plan = _plan(name, 2.0, 5)
    for leg in plan.q0:
        spans = sorted(
            (e["onset_s"], e["onset_s"] + e["duration_s"]) for e in plan.events if leg in e["legs"]
        )
        for (_, end), (start, _) in zip(spans, spans[1:]):
            assert start > end + 0.5


def test_scenario_promises(nights):
    kinds = {name: [e["kind"] for e in truth["events"]] for name, (_, truth) in nights.items()}
    assert kinds["twitchy"].count("jerk") > 3 * kinds["healthy"].count("jerk")
    assert nights["low-rate"][1]["sensors"]["single"]["rate_hz"] == 25.0
    assert {e["side"] for e in nights["two-legs"][1]["events"]} >= {"left", "right"}
    plan = _plan("restless-wake", 8.0, 2)
    wake = [e for e in plan.events if e["kind"] in ("lm", "movement") and not e["series"]]
    assert len(wake) > 60 and not plan.series


def test_gravity_at_rest_and_a_still_leg_feels_only_gravity():
    rng = np.random.default_rng(0)
    leg = draw_geometry(rng, 1.0)
    q = np.column_stack(
        [rng.uniform(-180, 180, 50), np.zeros((50, 2)), rng.uniform(0, 60, (50, 5))]
    )
    assert np.allclose(np.linalg.norm(gravity_only(q, leg), axis=1), 1.0)
    still = np.repeat(q[:1], 100, axis=0)
    assert np.allclose(specific_force(still, 0.01, leg), gravity_only(q[:1], leg))


def test_a_leg_turning_about_the_vertical_is_hidden_and_a_flexion_is_not():
    """Supine hip abduction swings the leg about the gravity axis: no tilt, and slowly done
    almost no linear acceleration. The same excursion of the knee tilts the shank."""
    leg = draw_geometry(np.random.default_rng(1), 1.0)
    leg.bed_pitch_deg = 0.0
    q0 = np.array([0, 0, 0, 0, 0, 0, 0, 0], float)
    slow = Shape("pulse", {"rise": 4.0, "hold": 2.0, "fall": 4.0, "zeta": None, "sag": 0.0})
    comps = [
        Component(0, "left", ABD, 6.0, 5.0, slow),
        Component(1, "left", KNEE, 6.0, 20.0, slow),
    ]
    _, peaks, _ = render_leg(comps, q0, leg, 0.0, 50.0, 50 * 40, 4)
    assert peaks[0] < 0.008 < 0.1 < peaks[1]


def test_same_seed_same_files_and_clock_errors_leave_truth(tmp_path):
    a = simulate_kinematic(str(tmp_path / "a"), hours=0.2, seed=9, scenario="two-legs")
    b = simulate_kinematic(str(tmp_path / "b"), hours=0.2, seed=9, scenario="two-legs")
    c = simulate_kinematic(str(tmp_path / "c"), hours=0.2, seed=10, scenario="two-legs")
    assert a == b and a["events"] != c["events"]
    for name in a["files"].values():
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    clocked = simulate_kinematic(
        str(tmp_path / "d"), hours=0.2, seed=9, scenario="two-legs",
        clock_errors={"right": ClockError(offset_s=2.0, drift_ppm=50.0)}, compress=True,
    )  # fmt: skip
    assert clocked["events"] == a["events"] and clocked["sensors"]["right"]["clock_error"]
    first = float(_rows(str(tmp_path / "d" / "right.csv.gz"))[1][0])
    assert first == pytest.approx(
        float(_rows(str(tmp_path / "a" / "right.csv"))[1][0]) + 2, abs=0.01
    )


def test_analyze_and_validate_read_a_night(tmp_path):
    """A 40-minute night through the command line: readable, and its LMs are found."""
    night = tmp_path / "night"
    truth = simulate_family(
        "kinematic", str(night), hours=40 / 60, seed=4, scenario="plmd-moderate"
    )
    assert sum(e["kind"] == "lm" for e in truth["events"]) >= 10
    run = [sys.executable, "-m", "sleepmove"]
    subprocess.run(
        run + ["analyze", str(night / "night.csv"), "--out", str(tmp_path / "res"), "--no-report"],
        check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        run + ["validate", str(tmp_path / "res"), "--reference", str(night / "truth.json"),
               "--out", str(tmp_path / "val")],
        check=True, capture_output=True,
    )  # fmt: skip
    with open(tmp_path / "val" / "validation.csv") as handle:
        row = next(csv.DictReader(handle))
    assert float(row["lm_f1"]) > 0.5


def _rest_angles(tmp_path, name: str, hours: float, seed: int, monkeypatch):
    """A night's truth and, for every event (visible or hidden), the largest angle over the
    legs it moves between the noise-free gravity direction at rest before it and at rest after
    it (just before the leg's next movement), read from the clean signal the sensor sampled."""
    import sleepmove.sensor.simulate_kinematic as kinematic

    clean_of = []
    measure = kinematic.measure

    def keep(spec, clean, times, rng):
        clean_of.append((clean.copy(), times.copy()))
        return measure(spec, clean, times, rng)

    monkeypatch.setattr(kinematic, "measure", keep)
    truth = simulate_kinematic(str(tmp_path), hours=hours, seed=seed, scenario=name)
    legs = list(PROFILES[name].sides) or [""]
    events = truth["events"] + truth["hidden_events"]
    angles = [0.0] * len(events)
    for leg, (clean, times) in zip(legs, clean_of):
        mine = sorted(
            (e["onset_s"], i) for i, e in enumerate(events) if e["side"] in (leg, "bilateral")
        )
        # movements of one leg are at least 0.6 s apart: 0.35 s before an onset it is still
        rests = [t - 0.35 for t, _ in mine[1:]] + [times[-1]]
        for (onset, i), after in zip(mine, rests):
            if onset - 0.35 < times[0]:
                continue
            a = clean[np.searchsorted(times, onset - 0.35)]
            b = clean[min(np.searchsorted(times, after), len(times) - 1)]
            a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
            angle = float(np.degrees(np.arccos(np.clip(a @ b, -1, 1))))
            angles[i] = max(angles[i], angle)
    return truth, events, angles


@pytest.mark.parametrize("name", ["two-legs", "side-sleeper"])
def test_kinds_follow_the_rest_to_rest_posture_convention(tmp_path, monkeypatch, name):
    """README: a posture change (the resting orientation changes by 5 degrees or more) is a
    `movement`, never an `lm`; a leg shift that repositions the shank is one too."""
    truth, events, angles = _rest_angles(tmp_path, name, 2.0, 7, monkeypatch)
    for e, angle in zip(events, angles):
        if e["kind"] == "lm":
            assert angle < 5.0, e
        assert e["posture_change"] == (angle >= 5.0), (e, angle)
        if e["posture_change"]:
            assert e["kind"] == "movement"
    members = {i for series in truth["plm_series_planned"] for i in series}
    assert all(truth["events"][i]["kind"] == "lm" for i in members)
    assert any(e["posture_change"] for e in events) and any(e["kind"] == "lm" for e in events)
    # a shift of one leg that moved its shank 5 degrees or more, not only whole-body turns
    moved_leg = [e for e in events if e["posture_change"] and e["side"] != "bilateral"]
    assert name != "two-legs" or moved_leg
