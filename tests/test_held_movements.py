"""Held movements (detection.held_movements): a flexion that tilts the shank a fraction of
a degree, held for seconds and released, whose push shows only at the onset. Found as LMs
to their return; twitches stay jerks, and a jerk that moves the limb to a new rest is no
LM."""

from dataclasses import replace

import numpy as np
import pytest

from sleepmove.detection.grid import regularize
from sleepmove.detection.held_movements import hold_noise_floor
from sleepmove.detection.movements import detect_movements
from sleepmove.detection.params import AnalysisParameters

PARAMS = AnalysisParameters()
RATE = 50.0
NOISE_G = 0.003
TILT_DEG = 0.3  # 5.2 mg: under the slow signal's bar for an LM at this noise
PUSH_G = 0.04
HELD_S = np.linspace(1.5, 6.0, 10)  # the hold, before a 1 s release
FALL_S = 1.0


def _pulse(signal: np.ndarray, at: int, seconds: float, peak: float, cycles: float) -> None:
    width = int(seconds * RATE)
    signal[at : at + width] += peak * np.sin(cycles * 2 * np.pi * np.arange(width) / width)


def held_night(seed: int = 2):
    """30 minutes of a still leg: 10 held movements (a 0.15 s push, a 0.3 degree tilt held
    1.5-6 s, a smooth 1 s release; every other one also pushed at the release), 10 twitches
    (100 ms, 50 mg, no tilt) and 5 jerks that each leave the limb at a new rest."""
    rng = np.random.default_rng(seed)
    n = int(30 * 60 * RATE)
    angle, push = np.zeros(n), np.zeros(n)
    tilt = np.radians(TILT_DEG)
    held, twitches, shifts = [], [], []
    for turn, hold_s in enumerate(HELD_S):
        onset = 120.0 + 60 * turn
        held.append((onset, hold_s))
        at, hold, fall = int(onset * RATE), int(hold_s * RATE), int(FALL_S * RATE)
        angle[at : at + hold] += tilt
        s = np.linspace(0, 1, fall)
        angle[at + hold : at + hold + fall] += tilt * (1 - (10 * s**3 - 15 * s**4 + 6 * s**5))
        _pulse(push, at, 0.15, PUSH_G, 1.0)
        if turn % 2:
            _pulse(push, at + hold, 0.15, -PUSH_G, 1.0)
    for turn in range(10):
        onset = 150.0 + 60 * turn
        twitches.append(onset)
        _pulse(push, int(onset * RATE), 0.1, 0.05, 1.0)
    for turn in range(5):
        onset = 165.0 + 120 * turn
        shifts.append(onset)
        at = int(onset * RATE)
        angle[at:] += tilt if turn % 2 == 0 else -tilt  # there to stay
        _pulse(push, at, 0.15, PUSH_G, 1.0)
    gravity = np.column_stack([np.sin(angle) + push, 0.6 * np.cos(angle), 0.8 * np.cos(angle)])
    xyz = gravity + rng.normal(0, NOISE_G, (n, 3))
    grid = regularize(np.arange(n) / RATE, xyz.astype(np.float32), 1.0, RATE)
    return grid, held, twitches, shifts


@pytest.fixture(scope="module")
def night():
    return held_night()


def _detected(grid, factor: float | None = None):
    detection = PARAMS.detection
    if factor is not None:
        detection = replace(detection, held_lm_factor=factor)
    events, _ = detect_movements({"": grid}, grid.start_s, detection, PARAMS.rules)
    return events, events["onset_s"] + grid.start_s


def _nearest(events, onsets, at: float, within: float = 0.4):
    k = int(np.argmin(np.abs(onsets - at)))
    return (events["kind"][k], events["duration_s"][k]) if abs(onsets[k] - at) <= within else None


def test_held_movements_are_lms_to_their_return(night):
    grid, held, _, _ = night
    events, onsets = _detected(grid)
    for onset, hold_s in held:
        found = _nearest(events, onsets, onset)
        assert found is not None and found[0] == "lm", (onset, found)
        # The limb is halfway back half-way through its release
        assert found[1] == pytest.approx(hold_s + FALL_S / 2, abs=0.5), (onset, found)
    # A push at the release is part of the movement, not a jerk of its own
    releases = [onset + hold_s for onset, hold_s in held]
    assert all(_nearest(events, onsets, at, 0.3) is None for at in releases)


def test_twitches_stay_jerks_and_a_move_to_a_new_rest_is_no_lm(night):
    grid, held, twitches, shifts = night
    events, onsets = _detected(grid)
    assert [_nearest(events, onsets, at)[0] for at in twitches] == ["jerk"] * len(twitches)
    for at in shifts:
        found = _nearest(events, onsets, at)
        assert found is None or found[0] != "lm", (at, found)
    assert (events["kind"] == "lm").sum() == len(held)


def test_without_the_rule_the_held_movements_are_missed(night):
    grid, held, _, _ = night
    events, onsets = _detected(grid, factor=0.0)
    kinds = [_nearest(events, onsets, onset) for onset, _ in held]
    assert not any(found is not None and found[0] == "lm" for found in kinds), kinds


def test_the_hold_noise_floor_is_the_orientations_own_noise():
    """A 1 s mean against the 2 s mean a block before: for white noise of SD s per axis
    over 1 s blocks, their difference has SD s*sqrt(1.5) per axis; its length over three
    axes has a 20th percentile of about 1.0 x s*sqrt(1.5) (chi, 3 degrees: 1.005)."""
    rng = np.random.default_rng(0)
    sd = 0.001
    levels = rng.normal(0, sd, (3600, 3)) + np.array([0.0, 0.6, 0.8])
    floor = hold_noise_floor(levels, PARAMS.detection)
    assert np.median(floor) == pytest.approx(1.005 * sd * np.sqrt(1.5), rel=0.08)
    # A quiet, quantized sensor's floor never reaches zero: held_min_g is the least offset
    assert hold_noise_floor(np.tile([0.0, 0.6, 0.8], (600, 1)), PARAMS.detection).min() == (
        pytest.approx(PARAMS.detection.held_min_g / PARAMS.detection.held_lm_factor)
    )
