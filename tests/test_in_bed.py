"""Time in bed and the in-bed PLM index: known answers from hand-built nights."""

import numpy as np
import pandas as pd
import pytest

from sleepmove.detection.in_bed import in_bed_epochs, shank_axis, upright_epochs
from sleepmove.detection.night import score_night
from sleepmove.detection.params import AnalysisParameters
from sleepmove.pipeline import seconds_lost

PARAMS = AnalysisParameters()
HOUR = 3600.0


def complete(events: pd.DataFrame, peak: float = 0.2, posture_deg: float = 30.0):
    """Fill in the columns these tests do not vary: offsets from durations, one unnamed
    sensor, a 10 degree tilt, and a posture change on every large movement."""
    events["offset_s"] = events["onset_s"] + events["duration_s"]
    for name, value in (("side", ""), ("peak_g", peak), ("rotation_deg", 10.0)):
        if name not in events:
            events[name] = value
    if "posture_change_deg" not in events:
        events["posture_change_deg"] = np.where(events["kind"] == "movement", posture_deg, 0.0)
    return events


def test_the_shank_axis_is_perpendicular_to_the_lying_postures():
    # Turning in bed rolls the leg about its long axis (here z): gravity stays in the x-y plane.
    postures = np.array([[1.0, 0, 0], [0, 1.0, 0], [-0.7, 0.7, 0.05]])
    axis = shank_axis(postures)
    assert abs(axis @ np.array([0, 0, 1.0])) == pytest.approx(1.0, abs=0.01)
    assert shank_axis(postures[:1]) is None  # one posture defines no plane
    assert shank_axis(np.array([[1.0, 0, 0], [0.98, 0.2, 0]])) is None  # too close together
    scattered = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [0.6, 0.6, 0.5]])
    assert shank_axis(scattered) is None  # not in one plane: orientation cannot tell


def test_upright_needs_sleep_postures_that_define_the_plane():
    gravity = np.array([[0, 0, 1.0]] * 12 + [[1.0, 0, 0]] * 12 + [[0, 1.0, 0]] * 12)
    asleep = np.array([False] * 12 + [True] * 24)
    assert upright_epochs(gravity, asleep, 45.0).tolist() == [True] * 12 + [False] * 24
    one_posture = asleep.copy()
    one_posture[24:] = False
    assert not upright_epochs(gravity, one_posture, 45.0).any()


def test_a_given_window_is_the_time_in_bed():
    in_bed = in_bed_epochs(10, 30.0, np.ones(10, bool), None, (60.0, 200.0), 45.0)
    assert in_bed.tolist() == [False, False, True, True, True, True, True, False, False, False]


def test_a_knee_drawn_up_for_a_moment_is_not_getting_up():
    """After the last sleep, one epoch with the shank steep (a knee drawn up while awake in
    bed) leaves the end in bed; four minutes upright (got up) end the time in bed there."""
    n = 500  # 30 s epochs; asleep 5 .. 449, on the back then on the side (rolled about z)
    asleep = np.zeros(n, dtype=bool)
    asleep[5:450] = True
    knee_up = np.zeros((n, 3))
    knee_up[:250] = [1.0, 0, 0]
    knee_up[250:] = [0, 1.0, 0]
    knee_up[460] = [0, 0.5, 0.87]  # 60 degrees out of the lying plane, for one epoch
    assert in_bed_epochs(n, 30.0, asleep, knee_up, None, 45.0).all()
    got_up = knee_up.copy()
    got_up[470:478] = [0, 0, 1.0]  # upright from epoch 470 for 4 minutes, then lying again
    in_bed = in_bed_epochs(n, 30.0, asleep, got_up, None, 45.0)
    assert in_bed.tolist() == [True] * 470 + [False] * 30


def test_in_bed_plm_index_known_answer():
    """8 h: 30 min up and about, then in bed; one PLM train of 120 movements in sleep, a
    10-minute data gap. In bed = 7.5 h - 10 min, whatever the sleep estimate says."""
    duration = 8 * HOUR
    rows = [(t, 15.0, "movement") for t in np.arange(60.0, 1700.0, 120.0)]  # up and about
    train = 2 * HOUR + 25.0 * np.arange(120)
    rows += [(t, 2.0, "lm") for t in train]
    events = pd.DataFrame(rows, columns=["onset_s", "duration_s", "kind"])
    complete(events)
    seconds = np.arange(int(duration))
    orientation = np.zeros((len(seconds), 3))
    orientation[seconds < 1800] = [0, 0, 1.0]  # shank upright
    orientation[(seconds >= 1800) & (seconds < 4 * HOUR)] = [1.0, 0, 0]  # on the back
    orientation[seconds >= 4 * HOUR] = [0, 1.0, 0]  # on the side
    gaps = np.array([[5 * HOUR, 5 * HOUR + 600]])
    loss = seconds_lost(gaps, int(duration) + 1)
    score = score_night(
        events, duration, gaps, loss, np.zeros(480), False, PARAMS, orientation_per_s=orientation
    )
    assert score.in_bed_s == pytest.approx(7.5 * HOUR - 600)
    assert score.counts["plm_in_bed"] == 120
    expected = 120 / ((7.5 * HOUR - 600) / HOUR)
    assert score.indices["plm_index_in_bed"] == pytest.approx(expected, rel=1e-9)
    # Without orientation, the whole recording less the gap is in bed.
    flat = score_night(events, duration, gaps, loss, np.zeros(480), False, PARAMS)
    assert flat.in_bed_s == pytest.approx(duration - 600)


def test_the_flag_says_when_the_sleep_estimate_decides_the_plm_index():
    from sleepmove.detection.night import estimate_drives_index

    assert estimate_drives_index(20.0, 10.0)  # apart by half
    assert not estimate_drives_index(20.0, 18.0)  # a tenth
    assert not estimate_drives_index(3.0, 1.5)  # small indices: under 2/h apart
    assert estimate_drives_index(None, 5.0)  # no sleep found, PLMs in bed
    assert not estimate_drives_index(None, 0.0) and not estimate_drives_index(5.0, None)


def test_the_assessment_explains_the_in_bed_index_and_warns_of_early_plms():
    from sleepmove.reports.summary import assessment

    duration = 8 * HOUR
    # Periodic from the twelfth minute: counted as PLMS (a train from within the first ten
    # is taken as awake), early enough to be restless legs awake.
    train = 720.0 + 25.0 * np.arange(100)
    events = pd.DataFrame({"onset_s": train, "duration_s": 2.0, "kind": "lm"})
    complete(events)
    loss = np.zeros(int(duration) + 1)
    score = score_night(events, duration, np.empty((0, 2)), loss, np.zeros(480), False, PARAMS)
    statements = " ".join(assessment(score, PARAMS)["statements"])
    assert "PLM index in bed" in statements and "does not depend on" in statements
    assert "restless legs" in statements


@pytest.mark.parametrize(
    "age_group, words",
    [
        ("adult", "15/h threshold for adults"),
        ("child", "5/h threshold for children"),
        ("infant", "5/h threshold for children (none is published for infants)"),
    ],
)
def test_the_threshold_is_named_by_whose_it_is(age_group, words):
    from sleepmove.detection.params import default_parameters
    from sleepmove.reports.summary import assessment

    params = default_parameters(age_group=age_group)
    duration = 8 * HOUR
    events = pd.DataFrame({"onset_s": 3600.0 + 25.0 * np.arange(100), "duration_s": 2.0})
    events["kind"] = "lm"
    complete(events)
    loss = np.zeros(int(duration) + 1)
    score = score_night(events, duration, np.empty((0, 2)), loss, np.zeros(480), False, params)
    assert words in " ".join(assessment(score, params)["statements"])


def test_jerks_while_awake_are_counted_apart_and_said_plainly():
    from sleepmove.reports.summary import assessment

    duration = 8 * HOUR
    rows = [(t, 0.2, "jerk") for t in np.arange(3 * HOUR, 3 * HOUR + 900, 7.0)]  # 129 in 15 min
    rows += [(t, 15.0, "movement") for t in np.arange(3 * HOUR, 3 * HOUR + 900, 60.0)]  # awake
    rows += [(t, 0.2, "jerk") for t in np.arange(5 * HOUR, 5 * HOUR + 600, 30.0)]  # 20 asleep
    events = pd.DataFrame(rows, columns=["onset_s", "duration_s", "kind"]).sort_values("onset_s")
    complete(events, peak=0.3)
    loss = np.zeros(int(duration) + 1)
    score = score_night(events, duration, np.empty((0, 2)), loss, np.zeros(480), False, PARAMS)
    assert score.counts["jerk_in_wake"] >= 100 and score.counts["jerk_in_sleep"] >= 15
    wake_min = score.wake_s / 60
    assert score.indices["jerk_rate_wake_per_min"] == pytest.approx(
        score.counts["jerk_in_wake"] / wake_min
    )
    said = " ".join(assessment(score, PARAMS)["statements"])
    assert "while awake" in said and "seizures" in said
    # Jerks in sleep alone say nothing of the kind.
    asleep_only = events[events["onset_s"] >= 5 * HOUR]
    quiet = score_night(asleep_only, duration, np.empty((0, 2)), loss, np.zeros(480), False, PARAMS)
    assert "while awake" not in " ".join(assessment(quiet, PARAMS)["statements"])


def test_sitting_still_before_bed_is_trimmed_even_when_it_passes_for_sleep():
    """45 minutes upright and still, with restless legs pulling at regular intervals (which
    the sleep model may call sleep), then 7 h 15 min lying in two postures: in bed 7.25 h."""
    duration = 8 * HOUR
    rows = [(t, 2.0, "lm") for t in 60.0 + 25.0 * np.arange(100)]  # while upright
    rows += [(t, 15.0, "movement") for t in (4 * HOUR,)]  # turning over
    events = pd.DataFrame(rows, columns=["onset_s", "duration_s", "kind"])
    complete(events, posture_deg=60.0)
    seconds = np.arange(int(duration))
    orientation = np.zeros((len(seconds), 3))
    orientation[seconds < 2700] = [0, 0, 1.0]  # shank upright
    orientation[(seconds >= 2700) & (seconds < 4 * HOUR)] = [1.0, 0, 0]
    orientation[seconds >= 4 * HOUR] = [0, 1.0, 0]
    loss = np.zeros(int(duration) + 1)
    score = score_night(
        events,
        duration,
        np.empty((0, 2)),
        loss,
        np.zeros(480),
        False,
        PARAMS,
        orientation_per_s=orientation,
    )
    assert score.in_bed_s == pytest.approx(duration - 2700)


def test_a_gap_on_one_leg_takes_the_other_legs_events_out_too():
    """The right sensor drops out for an hour: that hour leaves total sleep, so the left
    leg's movements in it must leave the counts (they were counted in sleep)."""
    duration = 6 * HOUR
    left = 0.5 * HOUR + 30.0 * np.arange(int(5 * HOUR / 30))
    events = pd.DataFrame({"onset_s": left, "duration_s": 2.0, "kind": "lm", "side": "left"})
    complete(events)
    gaps = np.array([[1.5 * HOUR, 2.5 * HOUR]])
    loss = seconds_lost(gaps, int(duration) + 1)
    score = score_night(events, duration, gaps, loss, np.zeros(360), True, PARAMS)
    inside = (score.units["onset_s"] >= 1.5 * HOUR) & (score.units["onset_s"] < 2.5 * HOUR)
    assert not inside.any()
    assert score.counts["lm"] == len(left) - 120


def test_epochs_table_agrees_with_the_summary_over_gaps_and_a_short_last_minute():
    duration = 5 * HOUR + 30  # an odd number of epochs: the last minute holds one
    events = pd.DataFrame({"onset_s": [600.0], "duration_s": [2.0], "kind": ["lm"]})
    complete(events)
    gaps = np.array([[1 * HOUR, 4 * HOUR]])
    loss = seconds_lost(gaps, int(duration) + 1)
    score = score_night(events, duration, gaps, loss, np.zeros(301), False, PARAMS)
    minutes = score.minutes
    lost = minutes["data_loss_s"] >= 30
    assert lost.sum() == 180 and not (minutes["asleep"] & lost).any()
    assert not (minutes["in_bed"] & lost).any()
    assert minutes["asleep"].sum() / 60 == pytest.approx(score.total_sleep_s / 3600, abs=0.05)
    assert minutes["p_sleep"][-1] == pytest.approx(score.sleep.p_sleep[-1], abs=1e-3)
    # a lost minute holds no evidence: no probability either (the prior read as a finding)
    assert np.isnan(minutes["p_sleep"][lost]).all()
    assert np.isfinite(minutes["p_sleep"][~lost]).all()


def test_indices_need_enough_sleep_or_wake_to_stand_on():
    """All night fidgeting leaves minutes of 'sleep': no PLM index of 90/h from them. The
    fidgets vary in size and length (0.5-8 s): of one length, with sizes counting half in
    how unlike they are, half an hour passed for sleep."""
    from sleepmove.reports.summary import assessment

    duration = 8 * HOUR
    rng = np.random.default_rng(2)
    onsets = np.cumsum(rng.exponential(20.0, 1500)) + 60
    onsets = onsets[onsets < duration - 60]
    lengths = np.exp(rng.uniform(np.log(0.5), np.log(8.0), len(onsets)))
    events = pd.DataFrame({"onset_s": onsets, "duration_s": lengths, "kind": "lm"})
    events["offset_s"] = events["onset_s"] + lengths
    events["side"] = ""
    events["peak_g"] = np.exp(rng.uniform(np.log(0.1), np.log(1.5), len(onsets)))
    events["rotation_deg"] = np.exp(rng.uniform(np.log(2), np.log(40), len(onsets)))
    events["posture_change_deg"] = 0.0
    loss = np.zeros(int(duration) + 1)
    score = score_night(events, duration, np.empty((0, 2)), loss, np.zeros(480), False, PARAMS)
    assert score.total_sleep_s < 0.5 * HOUR
    assert score.indices["plm_index"] is None and score.indices["lm_index"] is None
    assert score.indices["jerk_rate_per_min"] is None
    assert score.indices["plm_index_in_bed"] is not None
    said = " ".join(assessment(score, PARAMS)["statements"])
    assert "too little for a PLM index" in said or "No sleep was found" in said


def test_a_given_window_decides_the_early_warning_and_the_confidence():
    from sleepmove.reports.summary import assessment

    duration = 8 * HOUR
    train = 300.0 + 25.0 * np.arange(100)  # periodic from the fifth minute...
    events = pd.DataFrame({"onset_s": train, "duration_s": 2.0, "kind": "lm"})
    complete(events)
    loss = np.zeros(int(duration) + 1)
    window = (1 * HOUR, 7 * HOUR)  # ...but lights went out an hour in
    score = score_night(
        events, duration, np.empty((0, 2)), loss, np.zeros(480), False, PARAMS, window
    )
    assert "restless legs" not in " ".join(assessment(score, PARAMS)["statements"])
    inside = slice(int(window[0] // 30), int(window[1] // 30))
    p = score.sleep.p_sleep[inside]
    assert score.sleep.confidence == pytest.approx(((p < 0.2) | (p > 0.8)).mean())


def test_a_sensor_that_started_late_is_said_and_orientation_comes_from_the_fuller_leg():
    from sleepmove.detection.grid import Grid
    from sleepmove.detection.params import QualityParameters
    from sleepmove.pipeline import _best_covered, _uneven_legs

    def grid(start_s, hours):
        n = int(hours * 3600 * 10)
        return Grid(start_s, 10.0, np.zeros((n, 3), np.float32), np.ones(n, bool), np.empty((0, 2)))

    uneven_s = QualityParameters().uneven_legs_s  # 10 minutes
    notes = _uneven_legs({"left": grid(0.0, 8), "right": grid(7200.0, 6)}, uneven_s)
    assert len(notes) == 1 and notes[0].startswith("right: started 120 min after the left")
    assert _uneven_legs({"left": grid(0.0, 8), "right": grid(60.0, 8)}, uneven_s) == []
    late = np.full((100, 3), np.nan)
    late[60:] = 1.0
    full = np.ones((100, 3))
    assert _best_covered([late, full]) is full


@pytest.mark.parametrize("duration", [61.0, 8 * HOUR + 12.5])
def test_the_last_epoch_counts_only_what_is_left_of_the_recording(duration):
    """A recording that ends part way into an epoch: counted whole, that epoch made the time
    in bed longer than the recording (a 61-s night was 90 s in bed)."""
    events = complete(pd.DataFrame({"onset_s": [], "duration_s": [], "kind": []}))
    loss = seconds_lost(np.empty((0, 2)), int(np.ceil(duration)))
    score = score_night(
        events, duration, np.empty((0, 2)), loss, np.zeros(1), False, PARAMS, (0.0, duration)
    )
    assert score.in_bed_s == pytest.approx(duration)
    assert score.total_sleep_s <= duration


def test_a_sleep_window_cutting_epochs_counts_only_its_own_time_and_movements():
    """Lights out at 610 s and on at 2410 s cut epochs 20 and 80 in parts: in bed is the
    half hour exactly (whole epochs made it 0.5083 h), and a PLM train begun at 400 s
    counts in bed (and asleep) only from lights out."""
    duration = HOUR
    train = 400.0 + 20.0 * np.arange(100)  # 400 .. 2380 s, every 20 s
    events = complete(pd.DataFrame({"onset_s": train, "duration_s": 2.0, "kind": "lm"}))
    loss = seconds_lost(np.empty((0, 2)), int(duration) + 1)
    score = score_night(
        events, duration, np.empty((0, 2)), loss, np.zeros(60), False, PARAMS, (610.0, 2410.0)
    )
    assert score.in_bed_s == pytest.approx(1800.0)
    inside = int(((train >= 610.0) & (train < 2410.0)).sum())  # 620 .. 2380 s
    assert score.counts["plm_in_bed"] == inside == 89
    assert score.total_sleep_s <= 1800.0
    units = score.units
    assert not (units["asleep"] & (units["onset_s"] < 610.0)).any()
