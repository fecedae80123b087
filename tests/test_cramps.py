"""Nocturnal leg cramp candidates: a strong flexion held, then released to the same rest."""

import csv

import numpy as np
import pytest

from sleepmove.detection.matching import match_onsets
from sleepmove.pipeline import AnalyzeRequest, analyze
from sleepmove.sensor.simulate import simulate


def cramps_found(folder, scenario: str, seed: int, rate: float):
    truth = simulate(str(folder), 8.0, rate, None, seed, scenario)
    request = AnalyzeRequest({"": str(folder / "night.csv")}, str(folder / "out"), report=False)
    result = analyze(request)
    with open(folder / "out" / "events.csv") as handle:
        events = list(csv.DictReader(handle))
    found = np.array([float(e["onset_s"]) for e in events if e["kind"] == "cramp"])
    true = np.array([e["onset_s"] for e in truth["events"] if e["kind"] == "cramp"])
    return true, found, result.summary


@pytest.mark.parametrize("seed", [300, 301])
def test_a_held_flexion_is_a_cramp_candidate_that_ends_no_clm_count(tmp_path, seed):
    true, found, summary = cramps_found(tmp_path, "cramps", seed, 50.0)
    assert len(true) >= 1
    assert len(match_onsets(true, found, 5.0)) == len(true) == len(found)
    assert summary["counts"]["cramp"] == len(found)
    assert any("possible leg cramp" in s for s in summary["assessment"]["statements"])


def test_restless_wake_and_plms_make_no_cramps(tmp_path):
    _, found, summary = cramps_found(tmp_path, "plmd-moderate", 300, 25.0)
    assert len(found) == 0
    assert not any("cramp" in s for s in summary["assessment"]["statements"])
