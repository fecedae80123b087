"""A wrist (--placement wrist): wrist scenarios in both simulator families, the wrist's
parameters, and what the report says a wrist cannot show (issue 23.1)."""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pytest

from sleepmove.cli import main
from sleepmove.detection.params import (
    WRIST_DETECTION,
    WRIST_SLEEP,
    AnalysisParameters,
    default_parameters,
)
from sleepmove.reports.summary import CAVEATS, WRIST_CAVEAT
from sleepmove.sensor.simulate import simulate
from sleepmove.sensor.simulate_night import plan_night
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
    assert caveats[0] == WRIST_CAVEAT and caveats[1:] == CAVEATS
    assert "the arm" in summary["assessment"]["statements"][0]
