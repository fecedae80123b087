"""Two sensors' clocks: offset and drift from what both legs see, pieces at a reset (issue 24)."""

import json

import numpy as np
import pytest

from sleepmove.detection.clock_alignment import PAIRS, Envelope, _pairs, _pieces, estimate_clock
from sleepmove.detection.params import ClockAlignmentParameters

PARAMS = ClockAlignmentParameters()
RATE = 20.0
START = 1_700_000_000.0


def activity(times: np.ndarray, onsets: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """Bumps of activity (log-compressed like the envelope) at `onsets`, at true `times`."""
    out = np.zeros(len(times))
    for onset, width in zip(onsets, widths):  # a loop over events
        inside = (times >= onset) & (times < onset + width)
        out[inside] += 2.0 * np.sin(np.pi * (times[inside] - onset) / width)
    return out


def legs(
    hours: float,
    shared_per_h: float,
    offset_s: float,
    drift_ppm: float,
    seed: int = 0,
    step: tuple[float, float, float] | None = None,
) -> tuple[Envelope, Envelope, np.ndarray]:
    """Envelopes of two legs: shared events on both, each leg's own on one; the second on a
    clock `offset_s` ahead at the start, running `drift_ppm` fast, stepping by step[1] at
    true time step[0] after losing step[2] s. Returns them and the second's gaps."""
    rng = np.random.default_rng(seed)
    span = hours * 3600
    shared = np.sort(rng.uniform(0, span, int(shared_per_h * hours)))
    widths = rng.uniform(0.3, 3.0, len(shared))
    own = [np.sort(rng.uniform(0, span, int(60 * hours))) for _ in range(2)]
    true = np.arange(0, span, 1 / RATE)
    first = activity(true, shared, widths) + activity(true, own[0], np.full(len(own[0]), 1.0))
    # The second sensor's bins sit on its own clock: the true time of each bin.
    c2 = offset_s + np.arange(0, span, 1 / RATE)
    bin_true = (c2 - offset_s) / (1 + drift_ppm * 1e-6)
    valid = np.ones(len(c2), dtype=bool)
    gaps = np.empty((0, 2))
    if step is not None:  # a net forward jump: the grid holds a gap there, as regularize's
        at, jump, lost = step
        rate = 1 + drift_ppm * 1e-6
        stop, resume = offset_s + at * rate, offset_s + (at + lost) * rate + jump
        after = c2 >= resume
        bin_true[after] = (c2[after] - offset_s - jump) / rate
        valid = (c2 < stop) | after
        gaps = np.array([[stop, resume]])
    second = activity(bin_true, shared, widths)
    second += activity(bin_true, own[1], np.full(len(own[1]), 1.0))
    second[~valid] = 0
    e1 = Envelope(START, 1 / RATE, first.astype(np.float32), np.ones(len(first), dtype=bool))
    e2 = Envelope(START + offset_s, 1 / RATE, second.astype(np.float32), valid)
    return e1, e2, gaps + START


def test_known_offset_and_drift_are_recovered():
    e1, e2, _ = legs(6, 40, offset_s=-3.2, drift_ppm=70)
    found = estimate_clock(e1, e2, PARAMS)
    assert found.applied and len(found.pieces) == 1
    assert found.pieces[0].offset_s == pytest.approx(-3.2, abs=0.005)
    assert found.pieces[0].drift * 1e6 == pytest.approx(70, abs=1.0)
    probe = START + np.array([0.0, 3 * 3600, 6 * 3600])
    second_clock = probe + (-3.2) + 70e-6 * (probe - START)
    assert np.abs(found.to_first(second_clock) - probe).max() < 0.01
    summary = found.as_dict(START)
    assert summary["applied"] and summary["windows_used"] >= PARAMS.min_windows
    assert summary["offset_s"] == pytest.approx(-3.2, abs=0.005) and "steps" not in summary


def test_outlier_windows_are_rejected():
    rng = np.random.default_rng(1)
    t = START + np.sort(rng.uniform(0, 8 * 3600, 60))
    lags = 1.5 + 40e-6 * (t - START) + rng.normal(0, 0.01, len(t))
    wrong = rng.choice(len(t), 18, replace=False)  # 30 % of the windows: false peaks
    lags[wrong] += rng.choice([-1, 1], len(wrong)) * rng.uniform(0.3, 4.0, len(wrong))
    pieces, used, spread, error = _pieces(t, lags, START, PARAMS, None, None)
    assert len(pieces) == 1 and used == len(t) - len(wrong)
    assert pieces[0].offset_s == pytest.approx(1.5, abs=0.01)
    assert pieces[0].drift * 1e6 == pytest.approx(40, abs=1.5)
    assert spread < 0.02 and error < 0.01


def test_thin_evidence_is_not_applied_and_says_so():
    e1, e2, _ = legs(3, 1, offset_s=2.0, drift_ppm=-50)  # three shared movements all night
    found = estimate_clock(e1, e2, PARAMS)
    assert not found.applied
    assert found.warning and "clock alignment not applied" in found.warning
    assert found.as_dict(START)["applied"] is False


def test_a_clock_step_is_fitted_in_pieces():
    at, jump, lost = 3 * 3600.0, -2.5, 8.0
    e1, e2, gaps = legs(6, 40, offset_s=1.0, drift_ppm=-30, step=(at, jump, lost))
    found = estimate_clock(e1, e2, PARAMS, None, gaps)
    assert found.applied and len(found.pieces) == 2
    assert found.pieces[1].offset_s - found.pieces[0].offset_s == pytest.approx(jump, abs=0.01)
    before = START + np.array([600.0, at - 600])
    after = START + np.array([at + 600, 6 * 3600 - 600])
    drift = 1 - 30e-6
    c2_before = START + 1.0 + (before - START) * drift
    c2_after = START + 1.0 + jump + (after - START) * drift
    assert np.abs(found.to_first(c2_before) - before).max() < 0.02
    assert np.abs(found.to_first(c2_after) - after).max() < 0.02
    steps = found.as_dict(START)["steps"]
    assert len(steps) == 1 and steps[0]["step_s"] == pytest.approx(jump, abs=0.01)


def _bilateral(analysis) -> list[float]:
    """Onsets of the LMs joined from both legs (long movements' onsets wander by tenths)."""
    units = analysis.score.units
    joined = (units["side"] == "bilateral") & (units["kind"] == "lm")
    return sorted((units["onset_s"][joined] + analysis.origin_s).tolist())


@pytest.fixture(scope="module")
def two_nights(tmp_path_factory):
    """One 2 h two-leg night at 25 Hz, simulated on the host's clock and with the right
    sensor on its own (offset, drift), each analyzed."""
    from sleepmove.pipeline import AnalyzeRequest, analyze
    from sleepmove.sensor.simulate import simulate
    from sleepmove.sensor.simulate_clock import ClockError

    root = tmp_path_factory.mktemp("clocks")
    out = {}
    for name, clock in (("host", None), ("own", {"right": ClockError(-4.3, 85.0)})):
        truth = simulate(
            str(root / name), hours=2, rate_hz=25, seed=1, scenario="bilateral",
            clock_errors=clock,
        )  # fmt: skip
        inputs = {side: str(root / name / file) for side, file in truth["files"].items()}
        for align in (True, False) if clock else (True,):
            folder = str(root / f"{name}-{align}")
            request = AnalyzeRequest(inputs, folder, report=False, clock_alignment=align)
            out[(name, align)] = (analyze(request), folder)
    return out


def test_a_night_on_two_clocks_merges_as_on_one(two_nights):
    host, _ = two_nights[("host", True)]
    own, folder = two_nights[("own", True)]
    found = own.summary["recording"]["clock_alignment"]
    assert found["applied"]
    assert found["offset_s"] == pytest.approx(-4.3, abs=0.03)
    assert found["drift_ppm"] == pytest.approx(85, abs=10)
    expected, got = _bilateral(host), _bilateral(own)
    assert len(expected) > 20
    matched = sum(np.min(np.abs(np.array(got) - onset)) < 0.3 for onset in expected)
    assert matched >= len(expected) - 1 and abs(len(got) - len(expected)) <= 1
    unaligned, _ = two_nights[("own", False)]
    assert len(_bilateral(unaligned)) < len(expected) / 2  # what the alignment saves
    with open(f"{folder}/summary.json") as handle:
        assert "clock_alignment" in json.load(handle)["recording"]


def test_host_clocked_sensors_report_near_zero(two_nights):
    host, _ = two_nights[("host", True)]
    found = host.summary["recording"]["clock_alignment"]
    assert abs(found["offset_s"]) < 0.05 and abs(found["drift_ppm"]) < 20
    assert "windows_used" in found and "residual_ms" in found


def test_no_clock_alignment_reports_it_off(two_nights):
    unaligned, _ = two_nights[("own", False)]
    found = unaligned.summary["recording"]["clock_alignment"]
    assert found["applied"] is False and "turned off" in found["note"]
    assert not any("clock alignment" in w for w in unaligned.summary["quality"]["warnings"])


def test_leg_signals_computed_during_the_estimate_give_the_same_events():
    """The pipeline computes both legs' signals while it estimates the clocks: they are used
    after a one-piece alignment (the second grid's start and rate change, its samples do
    not), and computed again where the samples differ (a reset resamples the grid)."""
    from dataclasses import replace

    from sleepmove.detection.grid import Grid
    from sleepmove.detection.movements import detect_movements, signals_of_legs
    from sleepmove.detection.params import AnalysisParameters
    from sleepmove.detection.preprocess import signals_at_rate

    params = AnalysisParameters()
    rng = np.random.default_rng(3)
    rate, n = 50.0, 50 * 1200
    grids = {}
    for side in ("left", "right"):  # a loop over legs: noise, a tilt and movements
        xyz = np.asfortranarray(rng.normal(0, 0.004, (n, 3)).astype(np.float32))
        xyz[:, 2] += 1.0
        for onset in rng.integers(1000, n - 1000, 40):  # a loop over movements
            xyz[onset : onset + 60, 0] += 0.3 * np.sin(np.linspace(0, np.pi, 60))
        grids[side] = Grid(START, rate, xyz, np.ones(n, dtype=bool), np.empty((0, 2)))
    signals = signals_of_legs(grids, params.detection)
    drifted = dict(
        grids, right=replace(grids["right"], start_s=START + 2.5, rate_hz=rate * 1.00004)
    )
    reused = signals_at_rate(
        signals["right"],
        drifted["right"].xyz,
        drifted["right"].valid,
        drifted["right"].rate_hz,
        params.detection,
    )
    assert reused is not None and reused.rate_hz == drifted["right"].rate_hz
    copied = drifted["right"].xyz.copy(order="F")  # as if resampled: other samples
    assert (
        signals_at_rate(signals["right"], copied, drifted["right"].valid, rate, params.detection)
        is None
    )
    assert (
        signals_at_rate(
            signals["right"],
            drifted["right"].xyz,
            drifted["right"].valid,
            rate * 1.2,
            params.detection,
        )
        is None
    )  # other widths
    fresh, _ = detect_movements(drifted, START, params.detection, params.rules)
    kept, _ = detect_movements(drifted, START, params.detection, params.rules, signals)
    assert len(fresh) > 0
    for column in fresh.columns:  # a loop over columns
        assert np.array_equal(fresh[column], kept[column])


def test_candidate_pairs_are_distinct_ordered_and_reach_every_window():
    i, j = _pairs(20)  # 190 pairs: all of them
    assert len(set(zip(i.tolist(), j.tolist()))) == 190 and (i < j).all()
    i, j = _pairs(98)  # 4753 pairs: PAIRS of them, the same every time
    assert len(set(zip(i.tolist(), j.tolist()))) == PAIRS and (i < j).all()
    assert set(i.tolist()) | set(j.tolist()) == set(range(98))
    assert np.array_equal(i, _pairs.__wrapped__(98)[0])


def asynchronous_legs(seed: int, offset_s: float = 0.0) -> tuple[Envelope, Envelope]:
    """Eight hours, 40 movements an hour on both legs, the second leg's a random -0.4 to
    +0.4 s from the first's (bilateral movements are not simultaneous), each leg's own
    besides; the second clock `offset_s` ahead."""
    rng = np.random.default_rng(seed)
    span = 8 * 3600
    shared = np.sort(rng.uniform(0, span, 320))
    widths = rng.uniform(1.0, 4.0, len(shared))
    own = [np.sort(rng.uniform(0, span, 480)) for _ in range(2)]
    t = np.arange(0, span, 1 / RATE)
    a = activity(t, shared, widths) + activity(t, own[0], np.ones(len(own[0])))
    late = shared + rng.uniform(-0.4, 0.4, len(shared))
    b = activity(t, late, widths * rng.uniform(0.7, 1.3, len(shared)))
    b += activity(t, own[1], np.ones(len(own[1])))
    every = np.ones(len(a), dtype=bool)
    return (
        Envelope(START, 1 / RATE, a.astype(np.float32), every),
        Envelope(START + offset_s, 1 / RATE, b.astype(np.float32), every),
    )


@pytest.mark.parametrize("seed", [0, 2, 3])
def test_asynchronous_legs_on_one_clock_are_left_alone(seed):
    """A line through half the windows' scattered lags was applied as an offset, drift and
    step (9 of 12 such nights, up to 0.23 s; an independently built two-leg night too): the
    fit must leave the lags much closer than no correction does."""
    found = estimate_clock(*asynchronous_legs(seed), PARAMS)
    assert not found.applied
    assert "lie about as close to no correction" in found.note, found.note


@pytest.mark.parametrize("seed", [0, 2])
def test_asynchronous_legs_on_clocks_1_5_s_apart_are_aligned(seed):
    found = estimate_clock(*asynchronous_legs(seed, offset_s=1.5), PARAMS)
    assert found.applied
    assert all(abs(piece.offset_s - 1.5) < 0.25 for piece in found.pieces)


def test_clocks_that_agree_are_reported_as_such_without_a_warning():
    """Not "not applied": clocks within 20 ms all night need nothing, and say so."""
    e1, e2, _ = legs(6, 40, offset_s=0.0, drift_ppm=0.0)
    found = estimate_clock(e1, e2, PARAMS)
    assert not found.applied and found.warning is None
    assert "nothing to correct" in found.note


def test_a_step_late_in_a_night_of_agreeing_clocks_is_applied():
    """Most windows lie at no lag (the clocks agree until 4.5 h): the fit is no chance
    line for being close to no correction there; the last 1.5 h are 2.5 s off."""
    e1, e2, gaps = legs(6, 40, offset_s=0.0, drift_ppm=0.0, step=(4.5 * 3600, -2.5, 8.0))
    found = estimate_clock(e1, e2, PARAMS, None, gaps)
    assert found.applied and len(found.pieces) == 2
    assert found.pieces[1].offset_s - found.pieces[0].offset_s == pytest.approx(-2.5, abs=0.01)
