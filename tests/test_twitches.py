"""Brief small twitches: found in dense clusters, and the cluster leaves the noise floor alone."""

import numpy as np
import pytest

from sleepmove.detection.grid import regularize
from sleepmove.detection.matching import match_onsets
from sleepmove.detection.movements import detect_movements
from sleepmove.detection.params import AnalysisParameters
from sleepmove.detection.preprocess import leg_signals
from sleepmove.sensor.simulate_night import NightPlan, TruthEvent
from sleepmove.sensor.simulate_signal import draw_physics, leg_signal

PARAMS = AnalysisParameters()
RATE = 50.0
NOISE_G = 0.0025


def twitch_night(seed: int = 1):
    """40 minutes still, with a 20-minute cluster of twitches from minute 10: 70-250 ms,
    peak departure 30-70 mg (12-28 x the noise SD), 5-10 a minute."""
    rng = np.random.default_rng(seed)
    plan = NightPlan(40 / 60, 0.0, 2400.0, [])
    t = 600.0
    while t < 1800.0:
        plan.events.append(
            TruthEvent(t, rng.uniform(0.07, 0.25), "jerk", "", rng.uniform(0.03, 0.07))
        )
        t += rng.uniform(6.0, 12.0)
    physics = draw_physics(rng, RATE, "healthy")
    physics.noise_g, physics.lsb_g = NOISE_G, 1 / 4096
    times, xyz = leg_signal(plan, "", physics, 0.0, rng)
    grid = regularize(times, xyz.astype(np.float32), 1.0, RATE)
    return plan, grid


@pytest.fixture(scope="module")
def night():
    return twitch_night()


def test_twitch_clusters_are_recovered(night):
    plan, grid = night
    events, _ = detect_movements({"": grid}, grid.start_s, PARAMS.detection, PARAMS.rules)
    jerks = events[events["kind"] == "jerk"]["onset_s"] + grid.start_s
    truth = np.array([e.onset_s for e in plan.events])
    matched = len(match_onsets(truth, jerks, 0.3))
    assert matched / len(truth) >= 0.9  # recall
    assert matched / max(len(jerks), 1) >= 0.95  # precision
    assert (events["kind"] != "lm").all()  # twitches and their echoes never make an LM


def test_a_dense_cluster_does_not_raise_the_floor_that_judges_it(night):
    _, grid = night
    signals = leg_signals(grid.xyz, grid.valid, grid.rate_hz, PARAMS.detection)
    floor = signals.floor_blocks
    quiet = np.median(floor[60:540])  # minutes 1-9: noise alone
    cluster = np.median(floor[900:1500])  # minutes 15-25: inside the cluster
    assert cluster == pytest.approx(quiet, rel=0.1)


@pytest.mark.parametrize("rate", [25.0, 50.0])
def test_single_glitched_samples_are_not_jerks(rate):
    """A BLE or bus glitch corrupts one sample: 10 x the noise SD on one axis, 40 times."""
    rng = np.random.default_rng(3)
    n = int(20 * 60 * rate)
    xyz = rng.normal(0, NOISE_G, (n, 3)) + np.array([0.0, 0.6, 0.8])
    spikes = rng.choice(np.arange(int(60 * rate), n - int(60 * rate)), 40, replace=False)
    xyz[spikes, 0] += 10 * NOISE_G * rng.choice([-1, 1], 40)
    grid = regularize(np.arange(n) / rate, xyz.astype(np.float32), 1.0, rate)
    events, _ = detect_movements({"": grid}, grid.start_s, PARAMS.detection, PARAMS.rules)
    assert (events["kind"] == "jerk").sum() == 0
