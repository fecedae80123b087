"""A wrist (--placement wrist): wrist scenarios in both simulator families, the wrist's
parameters, and what the report says a wrist cannot show (issue 23.1)."""

from __future__ import annotations

import json
from dataclasses import asdict, replace

import numpy as np
import pytest

from sleepmove.cli import main
from sleepmove.detection.grid import regularize
from sleepmove.detection.matching import match_onsets
from sleepmove.detection.movements import detect_movements
from sleepmove.detection.params import (
    WRIST_DETECTION,
    WRIST_SLEEP,
    AnalysisParameters,
    default_parameters,
)
from sleepmove.reports.summary import CAVEATS, WRIST_CAVEAT
from sleepmove.sensor.simulate import simulate
from sleepmove.sensor.simulate_night import NightPlan, TruthEvent, plan_night
from sleepmove.sensor.simulate_signal import draw_physics, leg_signal
from sleepmove.sensor.simulate_stages import simulate_stages
from sleepmove.sensor.simulate_stages_night import build_night, plm_series_of
from sleepmove.validate import validate_night


def test_wrist_parameters_are_grouped_per_placement():
    ankle, wrist = default_parameters(), default_parameters(placement="wrist")
    assert ankle == AnalysisParameters()  # the ankle keeps its tuning
    assert wrist.placement == "wrist"
    for name, value in WRIST_SLEEP.items():
        assert getattr(wrist.sleep, name) == value
    for name, value in WRIST_DETECTION.items():
        assert getattr(wrist.detection, name) == value
    # An infant on a wrist keeps the infant's sleep bouts.
    infant = default_parameters(age_group="infant", placement="wrist")
    assert infant.sleep.early_weight == 0.0 and infant.placement == "wrist"


def _leg_and_arm_plms(events_arm, events_legs):
    arm = [e for run in plm_series_of(events_arm) for e in run]
    legs = [e for run in plm_series_of(events_legs) for e in run]
    return arm, legs


def test_hinge_wrist_plan_shows_fewer_periodic_movements_than_the_legs():
    plan = plan_night("wrist-plmd", 8.0, [], np.random.default_rng(5))
    as_dicts = [asdict(e) for e in plan.events]
    legs = [asdict(e) for e in plan.leg_events]
    arm_plms, leg_plms = _leg_and_arm_plms(as_dicts, legs)
    assert leg_plms and len(arm_plms) < len(leg_plms)
    # every leg PLM the arm did not join reaches the wrist as a faint jolt, not an LM
    jolts = [e for e in plan.events if e.kind == "vibration" and e.amplitude < 0.01]
    assert len(jolts) >= len(leg_plms) - len(arm_plms) - 10  # a few lost to overlaps
    # the arm repositions itself in sleep more often than the body turns
    moves = [e for e in plan.events if e.kind == "movement" and plan.asleep(e.onset_s)]
    assert len(moves) >= 8


def test_stages_wrist_night_keeps_the_legs_apart():
    night = build_night(4, 8.0, [""], "wrist-plmd")
    arm_plms, leg_plms = _leg_and_arm_plms(night.events, night.leg_events)
    assert leg_plms and len(arm_plms) < len(leg_plms)
    assert not any("series" in e["_spec"] for e in night.events)  # arm: no leg series
    healthy = build_night(4, 8.0, [""], "wrist-healthy")
    assert not plm_series_of(healthy.leg_events)


@pytest.mark.parametrize("family", ["hinge", "stages"])
def test_wrist_truth_and_legs_json(tmp_path, family):
    make = simulate if family == "hinge" else simulate_stages
    truth = make(str(tmp_path), hours=1.0, rate_hz=12.5, seed=2, scenario="wrist-plmd")
    legs = json.loads((tmp_path / "legs.json").read_text())
    assert legs["placement"] == "wrist"
    assert {e["kind"] for e in legs["events"]} == {"lm"}
    assert {"lm", "movement", "vibration"} <= {e["kind"] for e in truth["events"]}
    if family == "stages":
        assert truth["sensors"]["single"]["site"] == "wrist"


@pytest.fixture(scope="module")
def wrist_night(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wrist")
    simulate(str(folder / "in"), hours=2.0, rate_hz=25, seed=3, scenario="wrist-plmd")
    out = folder / "out"
    argv = ["analyze", str(folder / "in" / "night.csv"), "--out", str(out)]
    assert main([*argv, "--placement", "wrist", "--no-report"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    return folder, out, summary


def test_wrist_night_recovers_the_arms_movements(wrist_night):
    folder, out, _ = wrist_night
    night = validate_night(str(out), str(folder / "in" / "truth.json"))
    assert night["row"]["lm_f1"] >= 0.9
    total, true = night["row"]["total_sleep_h_detected"], night["row"]["total_sleep_h_reference"]
    assert abs(total - true) / true < 0.15


def test_wrist_parameters_and_caveat_in_the_summary(wrist_night):
    _, _, summary = wrist_night
    parameters = summary["criteria"]["parameters"]
    assert parameters["placement"] == "wrist"
    for name, value in WRIST_SLEEP.items():
        assert parameters["sleep"][name] == pytest.approx(value)
    for name, value in WRIST_DETECTION.items():
        assert parameters["detection"][name] == pytest.approx(value)
    caveats = summary["assessment"]["caveats"]
    assert caveats[0] == WRIST_CAVEAT and caveats[1:] == [c.format(limb="wrist") for c in CAVEATS]
    assert "the arm" in summary["assessment"]["statements"][0]


RATE = 50.0


def _lms_found(grid, truth_onsets, detection=None):
    """(truth LMs matched by a detected LM within 1 s, detected events) on the wrist."""
    params = default_parameters(placement="wrist")
    events, _ = detect_movements(
        {"": grid}, grid.start_s, detection or params.detection, params.rules
    )
    lms = events[events["kind"] == "lm"]["onset_s"] + grid.start_s
    return len(match_onsets(np.asarray(truth_onsets), lms, 1.0)), events


def busy_hand(seed: int):
    """A hand busy while awake: twelve flexions of 8-14 degrees, 3-5 s each, held, with the
    arm still for 1.5-2.5 s between them, and halfway a turn of the arm to a new rest. The
    arm is flexed two thirds of the time: the median of a 25 s window is the flexed
    posture, not the rest between."""
    rng = np.random.default_rng(seed)
    plan = NightPlan(15 / 60, 0.0, 900.0, [])
    t, lms = 300.0, []
    for k in range(12):  # a loop over movements
        if k == 6:
            plan.events.append(TruthEvent(t, 3.0, "movement", "posture", 40.0))
            t += 5.0
        lms.append(TruthEvent(t, rng.uniform(3.0, 5.0), "lm", "", rng.uniform(8, 14)))
        plan.events.append(lms[-1])
        t += lms[-1].duration_s + rng.uniform(1.5, 2.5)
    physics = draw_physics(rng, RATE, "wrist-healthy")
    times, xyz = leg_signal(plan, "", physics, 0.0, rng)
    return [lm.onset_s for lm in lms], regularize(times, xyz.astype(np.float32), 1.0, RATE)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_movements_apart_by_a_still_hold_are_apart(seed):
    """The rest is where the arm holds still, at whatever orientation (`hold_min_s`): a
    25 s median alone took the rests between movements for movement, and merged them
    (3-5 of these 12 found, the rest in long movements)."""
    onsets, grid = busy_hand(seed)
    found, events = _lms_found(grid, onsets)
    assert found == len(onsets)
    assert (events["duration_s"] < 10).all()  # no long merged movement
    still = replace(default_parameters(placement="wrist").detection, hold_min_s=0.0)
    assert _lms_found(grid, onsets, still)[0] <= len(onsets) // 2  # the 25 s rest alone


def held_flexions(noise_g: float = 0.003):
    """Quiet, but for two flexions of 10 degrees held still for 5 s (no tremor): the
    second with a second push halfway (the hold dips to 60 %, two still holds)."""
    rng = np.random.default_rng(4)
    n = int(600 * RATE)
    t = np.arange(n) / RATE
    angle = np.zeros(n)
    for onset, dip in ((300.0, 0.0), (360.0, 0.4)):  # a loop over flexions
        x = (t - onset) / 6.0
        up, down = np.clip(x / 0.1, 0, 1), np.clip((1 - x) / 0.1, 0, 1)
        shape = 0.5 - 0.5 * np.cos(np.pi * np.minimum(up, down))
        shape *= 1 - dip * np.exp(-(((x - 0.5) / 0.06) ** 2))
        angle += np.radians(10.0) * shape
    rest = np.array([0.3, 0.5, 0.81])
    rest /= np.linalg.norm(rest)
    axis = np.cross(rest, [1.0, 0.0, 0.0])
    axis /= np.linalg.norm(axis)
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    xyz = rest * cos + np.cross(axis, rest)[None, :] * sin  # rest is perpendicular to axis
    xyz += rng.normal(0, noise_g, (n, 3))
    return [300.0, 360.0], regularize(t, xyz.astype(np.float32), 1.0, RATE)


def test_a_flexion_held_still_stays_one_movement():
    """A hold the limb returns from to where it came from is a held movement, not a rest:
    a flexion held still (and one with a second push in its hold) stays one LM."""
    onsets, grid = held_flexions()
    found, events = _lms_found(grid, onsets)
    assert found == 2 and len(events) == 2
    assert events["duration_s"] == pytest.approx(6.0, abs=0.6)
