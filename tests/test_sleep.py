"""Sleep and wake from the evidence of movement: hand-built nights with known answers."""

import numpy as np
import pandas as pd
import pytest

from sleepmove.detection.night import score_night
from sleepmove.detection.params import AnalysisParameters
from sleepmove.detection.sleep import estimate_sleep
from sleepmove.detection.sleep_model import (
    local_spread,
    movement_irregularity,
    movement_vigour,
    series_begun_awake,
    sleep_probability,
)
from sleepmove.detection.table import Table
from sleepmove.pipeline import AnalyzeRequest, analyze, seconds_lost
from sleepmove.reports.summary import _awake_train_statement, _in_bed_statements, assessment
from sleepmove.validate import validate_night
from sleepmove.window import parse_sleep_window

PARAMS = AnalysisParameters()
HOUR = 3600.0


def unit_table(rows, rotation=None, peak=None):
    frame = pd.DataFrame(rows, columns=["onset_s", "duration_s", "kind"])
    frame["offset_s"] = frame["onset_s"] + frame["duration_s"]
    frame["side"] = ""
    frame["peak_g"] = 0.2 if peak is None else peak
    frame["rotation_deg"] = 10.0 if rotation is None else rotation
    frame["posture_change_deg"] = 0.0
    return frame


def plm_train(start, end, interval=25.0, jitter=0.05, seed=0):
    """Regular LMs of one size and length: a PLMS train."""
    rng = np.random.default_rng(seed)
    onsets, t = [], start
    while t < end:
        onsets.append(t)
        t += interval * (1 + rng.normal(0, jitter))
    return [(t, 2.0, "lm") for t in onsets]


def night_of(rows, gaps_s=None, sizes=(None, None)):
    """An 8-hour night of these units (of `sizes`: rotation, peak) scored, one sensor, no
    loss but `gaps_s`."""
    events = unit_table(rows, *sizes).sort_values("onset_s")
    duration = 8 * HOUR
    gaps = np.empty((0, 2)) if gaps_s is None else gaps_s
    loss = np.zeros(int(duration) + 1)
    return score_night(events, duration, gaps, loss, np.zeros(480), False, PARAMS)


def fidgeting(start, end, per_min=2.0, seed=1):
    """Awake in bed: movements at Poisson times, of every size, length and speed (the
    quickest several times the peak acceleration of a PLM)."""
    rng = np.random.default_rng(seed)
    rows, rotation, peak, t = [], [], [], start
    while True:
        t += rng.exponential(60 / per_min)
        if t >= end:
            return rows, (rotation, peak)
        if rng.uniform() < 0.15:
            rows.append((t, rng.uniform(5, 20), "movement"))
        else:
            rows.append((t, float(rng.uniform(0.6, 6)), "lm"))
        rotation.append(float(np.exp(rng.uniform(np.log(2), np.log(40)))))
        peak.append(float(np.exp(rng.uniform(np.log(0.1), np.log(1.5)))))


def sleep_of(rows, duration, sizes=None, **options):
    rotation, peak = sizes if sizes is not None else (None, None)
    return estimate_sleep(unit_table(rows, rotation, peak), duration, PARAMS.sleep, **options)


def asleep_share(sleep, start, end):
    first, last = int(start // sleep.epoch_s), int(end // sleep.epoch_s)
    return float(sleep.asleep[first:last].mean())


def test_local_spread_is_the_sd_of_each_neighbourhood():
    values = np.array([0.0, 1.0, 2.0, np.nan, 10.0])
    spread = local_spread(values, 1)
    # [nan, 0, 1] has too few values; [0, 1, 2]: sd 1; [1, 2, nan]: too few.
    assert np.isnan(spread[0]) and spread[1] == pytest.approx(1.0) and np.isnan(spread[2])


def test_vigour_is_the_log_peak_over_the_typical_in_units_of_the_nights_spread():
    # Small movements' log peaks 0, 0, 1, 2, 3: quartiles 0, 1, 2, so the spread is 2.
    peak = np.exp([0.0, 0.0, 1.0, 2.0, 3.0, 5.0, np.nan])
    small = np.array([True] * 5 + [False, True])
    vigour = movement_vigour(peak, small, PARAMS.sleep)
    # The large movement (5) neither sets the scale nor escapes it; an unknown peak is typical.
    assert vigour == pytest.approx([-0.5, -0.5, 0.0, 0.5, 1.0, 2.0, 0.0])
    # LMs alike in size (quartiles 0.05, 0.1, 0.15): the spread is held at its minimum, 0.5.
    alike = movement_vigour(np.exp([0.0, 0.1, 0.2]), np.ones(3, bool), PARAMS.sleep)
    assert alike == pytest.approx([-0.2, 0.0, 0.2])


def test_a_threefold_peak_is_vigorous_among_alike_lms_only():
    """A movement three times the typical LM's peak stands out on a night of alike LMs; on a
    night whose LMs differ 25-fold in size it is one of them."""
    alike = np.r_[np.full(20, 0.1), 0.3]
    varied = np.r_[np.geomspace(0.1 / 5, 0.1 * 5, 20), 0.3]
    small = np.ones(21, dtype=bool)
    sleep = PARAMS.sleep

    def weight(vigour: float) -> float:  # as epoch_features weighs it
        return float(np.clip((vigour - sleep.vigorous_low) / sleep.vigorous_span, 0, 1))

    assert weight(movement_vigour(alike, small, sleep)[-1]) == 1.0
    assert weight(movement_vigour(varied, small, sleep)[-1]) < 0.5


def test_regular_intervals_are_regular_and_poisson_ones_are_not():
    regular = np.cumsum(np.full(40, 25.0))
    rng = np.random.default_rng(3)
    poisson = np.cumsum(rng.exponential(30.0, 400) + 1.0)
    gaps = np.empty((0, 2))
    assert np.nanmax(movement_irregularity(regular, gaps, PARAMS.sleep)) < 0.01
    # The SD of the log of exponential intervals is about 1.28.
    assert np.nanmedian(movement_irregularity(poisson, gaps, PARAMS.sleep)) > 0.8
    # An interval across a data gap is no interval: two regular trains stay regular.
    onsets = np.r_[np.arange(0.0, 100, 25), np.arange(3000.0, 3100, 25)]
    split = movement_irregularity(onsets, np.array([[100.0, 2900]]), PARAMS.sleep)
    assert np.nanmax(split) < 0.01


def test_sleep_probability_follows_strong_evidence_and_bridges_a_missing_epoch():
    evidence = np.r_[np.full(40, 4.0), np.full(200, -3.0), np.full(40, 4.0)]
    usable = np.ones(len(evidence), dtype=bool)
    usable[100] = False  # a lost epoch in the middle of sleep
    p_sleep = sleep_probability(evidence, usable, PARAMS.sleep)
    assert (p_sleep[:35] < 0.1).all() and (p_sleep[45:235] > 0.9).all()
    assert (p_sleep[245:] < 0.1).all()


def test_a_night_of_periodic_movements_in_sleep_is_sleep():
    rows = plm_train(0.5 * HOUR, 7.5 * HOUR)
    sleep = sleep_of(rows, 8 * HOUR)
    assert asleep_share(sleep, 0.6 * HOUR, 7.4 * HOUR) > 0.95


def test_a_plms_train_of_every_size_is_sleep():
    """Which joints join a PLM (the ankle alone, or knee and hip too) changes what a shank
    sensor sees of it tenfold within one series: sizes 0.3-30 degrees at random, of alike
    length at a regular pace, are PLMS all the same. Judged by the larger of the spreads of
    size and of length, most of such a night read as wake (the blind `limb` family's PLMD
    nights: PLM index -40 to -77 %)."""
    rows = plm_train(0.5 * HOUR, 7.5 * HOUR, seed=7)
    rng = np.random.default_rng(8)
    rotation = np.exp(rng.uniform(np.log(0.3), np.log(30.0), len(rows)))
    peak = 0.01 * rotation  # as large in acceleration as in turn
    sleep = sleep_of(rows, 8 * HOUR, (rotation, peak))
    assert asleep_share(sleep, 0.6 * HOUR, 7.4 * HOUR) > 0.95


def test_irregular_fidgeting_of_every_size_is_wake():
    rows, sizes = fidgeting(3 * HOUR, 4 * HOUR, per_min=2.0)
    sleep = sleep_of(rows, 8 * HOUR, sizes)
    assert asleep_share(sleep, 3.1 * HOUR, 3.9 * HOUR) < 0.1
    assert asleep_share(sleep, 1 * HOUR, 2.8 * HOUR) > 0.95
    assert asleep_share(sleep, 4.2 * HOUR, 7.5 * HOUR) > 0.95


def test_periodic_movements_in_fidgeting_wake_are_plmw_not_plms():
    """Fidgeting makes chance series that the rules rightly score: they are PLMs in wake."""
    wake_rows, (rotation, peak) = fidgeting(2 * HOUR, 3 * HOUR, per_min=2.5, seed=4)
    rows = wake_rows + plm_train(4 * HOUR, 5 * HOUR)
    rotation = np.r_[rotation, np.full(len(rows) - len(wake_rows), 10.0)]
    peak = np.r_[peak, np.full(len(rows) - len(wake_rows), 0.2)]
    score = night_of(rows, sizes=(rotation, peak))
    units = score.units
    in_wake = (units["onset_s"] >= 2 * HOUR) & (units["onset_s"] < 3 * HOUR)
    chance = units["periodic"] & in_wake
    assert chance.sum() >= 8  # chance series among the fidgets...
    # ...in wake but for the first and last minutes, where bouts' edges blur.
    assert (chance & units["asleep"]).sum() <= 0.2 * chance.sum()
    train = (units["onset_s"] >= 4 * HOUR) & (units["onset_s"] < 5 * HOUR)
    assert (units["periodic"] & train & units["asleep"]).sum() >= 0.95 * train.sum()


def test_an_hour_awake_in_mid_night_does_not_end_the_sleep_period():
    rows, sizes = fidgeting(3 * HOUR, 4 * HOUR, per_min=3.0, seed=5)
    sleep = sleep_of(rows, 8 * HOUR, sizes)
    assert asleep_share(sleep, 3.1 * HOUR, 3.9 * HOUR) < 0.1
    # Both halves of the night count: sleep before and after the hour awake.
    assert asleep_share(sleep, 0.7 * HOUR, 2.9 * HOUR) > 0.95
    assert asleep_share(sleep, 4.1 * HOUR, 7.5 * HOUR) > 0.95
    assert sleep.onset_s < 0.7 * HOUR and sleep.offset_s > 7.5 * HOUR
    assert len(sleep.wake_bouts_s) >= 1


def test_given_window_bounds_the_sleep_period():
    rows, sizes = fidgeting(3 * HOUR, 3.5 * HOUR, per_min=3.0, seed=6)
    sleep = sleep_of(rows, 8 * HOUR, sizes, window_s=(1800.0, 7 * HOUR))
    assert sleep.source == "given" and sleep.onset_s == 1800 and sleep.offset_s == 7 * HOUR
    assert asleep_share(sleep, 3.1 * HOUR, 3.4 * HOUR) < 0.1  # wake inside it still shows


def test_data_gaps_are_not_sleep_time():
    units = unit_table([(60.0, 2.0, "lm")])
    duration = 3 * 3600.0
    gaps = np.array([[3600.0, 4500.0]])
    loss = seconds_lost(gaps, int(duration) + 1)
    assert loss.sum() == pytest.approx(900.0)
    with_gap = score_night(units, duration, gaps, loss, np.zeros(180), False, PARAMS)
    no_gap = score_night(
        units, duration, np.empty((0, 2)), np.zeros(int(duration) + 1), np.zeros(180), False, PARAMS
    )
    assert no_gap.total_sleep_s - with_gap.total_sleep_s == pytest.approx(900.0)
    assert no_gap.in_bed_s - with_gap.in_bed_s == pytest.approx(900.0)


def test_estimated_sleep_time_close_to_truth_on_a_plm_night(long_plm_night, tmp_path):
    folder, _ = long_plm_night
    out = tmp_path / "o"
    result = analyze(AnalyzeRequest({"": str(folder / "night.csv")}, str(out), report=False))
    expected = validate_night(str(out), str(folder / "truth.json"))["row"][
        "total_sleep_h_reference"
    ]
    assert result.summary["sleep"]["total_sleep_h"] == pytest.approx(expected, rel=0.05)


def test_sleep_window_clock_times_roll_over_midnight():
    origin = 1_741_991_400.0  # 2025-03-14 22:30 UTC, a zone-less clock
    start, end = parse_sleep_window("23:00,06:30", origin, "naive")
    assert start == 1800.0 and end == 8 * 3600.0
    assert parse_sleep_window("120,7200", origin, "relative") == (120.0, 7200.0)
    start, _ = parse_sleep_window("2025-03-14T23:15:00,2025-03-15T06:00:00", origin, "naive")
    assert start == 2700.0


def test_recordings_shorter_than_the_evidence_window_are_scored():
    for duration in (10.0, 45.0, 61.0):  # one, two and three epochs against a 3-epoch window
        sleep = sleep_of(plm_train(1.0, duration), duration)
        assert len(sleep.asleep) == len(sleep.p_sleep) == int(np.ceil(duration / 30))


def test_a_short_recording_is_not_made_wake_by_a_nights_latency():
    """The position in the night is a night's: a quiet one-hour nap with a few isolated LMs
    is mostly sleep, not the 12.5 minutes of latency and 5 of final awakening an 8-hour
    night's quiet start and end are called."""
    rows = [(t, 2.0, "lm") for t in (400.0, 1100.0, 1900.0, 2600.0, 3100.0)]
    sleep = sleep_of(rows, 3600.0)
    assert asleep_share(sleep, 300.0, 3300.0) > 0.9


def test_sleep_probability_is_the_exact_posterior():
    """Against enumeration of every one of the 2^6 sleep/wake paths of six epochs."""
    import itertools

    params = PARAMS.sleep
    evidence = np.array([2.0, -1.0, 0.5, -3.0, 1.5, 0.0])
    usable = np.array([True, True, False, True, True, True])
    used = np.where(usable, evidence, 0.0)
    to_wake = params.epoch_s / (params.mean_sleep_bout_min * 60)
    to_sleep = params.epoch_s / (params.mean_wake_bout_min * 60)
    step = {(0, 0): 1 - to_wake, (0, 1): to_wake, (1, 0): to_sleep, (1, 1): 1 - to_sleep}
    start = {0: 1 - params.start_awake, 1: params.start_awake}
    end = {0: 1 - params.end_awake, 1: params.end_awake}
    asleep_weight, total = np.zeros(6), 0.0
    for path in itertools.product((0, 1), repeat=6):  # 0 asleep, 1 awake
        weight = start[path[0]] * end[path[-1]]
        for t, state in enumerate(path):
            weight *= np.exp(used[t] / 2 if state else -used[t] / 2)
            if t:
                weight *= step[(path[t - 1], state)]
        total += weight
        asleep_weight += weight * (np.array(path) == 0)
    assert sleep_probability(evidence, usable, params) == pytest.approx(asleep_weight / total)


def test_a_series_begun_in_the_first_minutes_is_marked_as_begun_awake():
    """From its first movement's onset to its last one's offset, only for a series whose first
    movement comes within `awake_series_min` of the start."""
    units = unit_table(plm_train(5 * 60, 30 * 60) + plm_train(60 * 60, 90 * 60))
    units["series"] = np.where(units["onset_s"] < 45 * 60, 0, 1)
    units.loc[units.index[-1], "series"] = -1  # an LM in no series adds nothing
    spanned = series_begun_awake(Table.of(units), 960, PARAMS.sleep)  # 8 h
    first_series = units[units["series"] == 0]
    first = int(first_series["onset_s"].min() // 30)
    last = int(first_series["offset_s"].max() // 30)
    expected = np.zeros(960)
    expected[first : last + 1] = 1.0
    np.testing.assert_array_equal(spanned, expected)
    assert first == 10 and PARAMS.sleep.awake_series_min == 10.0
    # A 2-hour recording (a nap, a test) has a quarter of the night's 10 minutes, as the
    # latency's scale shrinks: a series from minute 5 then began asleep, one from minute 2
    # awake.
    assert series_begun_awake(Table.of(units), 240, PARAMS.sleep).sum() == 0
    units["onset_s"] -= 3 * 60
    assert series_begun_awake(Table.of(units), 240, PARAMS.sleep)[4] == 1.0


def test_a_train_broken_into_series_stays_begun_awake_to_its_last_piece():
    """Restless legs' train from minute 5, broken at minute 20 (a fidget under 10 s from a
    PLM ends a series) and again at minute 35: its pieces, each begun within
    `awake_train_break_s` (90 s) of the one before, began awake as its start did. A series
    begun three minutes after the train's end, or one with no early start, did not."""
    rows = plm_train(5 * 60, 20 * 60) + plm_train(20 * 60 + 30, 35 * 60)
    rows += plm_train(35 * 60 + 80, 50 * 60) + plm_train(53 * 60, 70 * 60)
    units = unit_table(rows)
    units["series"] = np.searchsorted(
        [20 * 60 + 30, 35 * 60 + 80, 53 * 60], units["onset_s"], "right"
    )
    spanned = series_begun_awake(Table.of(units), 960, PARAMS.sleep)
    assert PARAMS.sleep.awake_train_break_s == 90.0
    by_series = units.groupby("series")
    first = (by_series["onset_s"].min() // 30).astype(int)
    last = (by_series["offset_s"].max() // 30).astype(int)
    assert spanned[first[0] : last[2] + 1].all()  # the train, minutes 5 to 50
    assert spanned[last[2] + 1 :].sum() == 0  # the series from minute 53
    units["onset_s"] += 10 * 60  # the train from minute 15: no piece of it began awake
    units["offset_s"] += 10 * 60
    assert series_begun_awake(Table.of(units), 960, PARAMS.sleep).sum() == 0


def test_a_periodic_train_from_lights_out_is_wake_until_it_stops():
    """Restless legs: periodic movements from the first minutes on, for most of an hour,
    before sleep; PLMS later in the night. The train is PLMW: sleep starts after it."""
    rows = plm_train(4 * 60, 50 * 60, seed=2) + plm_train(1.5 * HOUR, 7.5 * HOUR, seed=3)
    score = night_of(rows)
    units = score.units
    awake_train = units["onset_s"] < 50 * 60
    assert units["periodic"][awake_train].mean() > 0.9  # scored periodic: PLMW...
    assert not units["asleep"][awake_train].any()  # ...not PLMS
    sleep_train = units["onset_s"] >= 1.6 * HOUR
    assert units["asleep"][sleep_train].mean() > 0.95


def test_a_series_is_begun_awake_counting_from_lights_out_of_a_sleep_window():
    units = unit_table(plm_train(5 * 60, 20 * 60) + plm_train(HOUR + 5 * 60, HOUR + 20 * 60))
    units["series"] = np.where(units["onset_s"] < HOUR, 0, 1)
    spanned = series_begun_awake(Table.of(units), 960, PARAMS.sleep, lights_out_s=HOUR)
    assert spanned[: int(HOUR // 30)].sum() == 0  # before lights out: the window decides
    assert spanned[int((HOUR + 6 * 60) // 30)] == 1.0


@pytest.mark.parametrize(("start_min", "warned"), [(12.0, True), (4.0, False)])
def test_the_summary_warns_of_plms_counted_soon_after_lights_out(start_min, warned):
    """A train from minute 12 is counted as PLMS and may be restless legs awake: said. One
    from minute 4 is taken as awake, and the PLMS of the night start later: nothing to say."""
    rows = plm_train(start_min * 60, 50 * 60, seed=2) + plm_train(1.5 * HOUR, 7.5 * HOUR)
    score = night_of(rows)
    said = " ".join(_in_bed_statements(score, PARAMS))
    assert ("began within 15 minutes of lights out" in said) == warned, said


def test_the_summary_warns_of_plms_counted_soon_after_a_train_taken_as_awake():
    """A train from minute 4 to 30 is taken as restless legs awake; a train counted as PLMS
    from minute 36, 6 minutes after it, may be the same restlessness: said, with both."""
    rows = plm_train(4 * 60, 30 * 60, seed=2) + plm_train(36 * 60, 7.5 * HOUR)
    score = night_of(rows)
    assert score.units["asleep"][score.units["onset_s"] > HOUR].all()  # the night's PLMS
    said = " ".join(_in_bed_statements(score, PARAMS))
    assert "A periodic train from lights out, 26 min long, was taken as restless" in said
    assert "began 6 minutes after the last" in said


def test_the_other_reading_of_a_train_taken_as_awake_counts_it_as_sleep():
    """A train from minute 4 to 30 is taken as restless legs awake; the PLMS train from
    minute 36 on is sleep. The other reading, the sleeper asleep through the first train,
    adds its awake epochs to the sleep and its PLMs to the PLMS: counted by hand from the
    epochs and units the estimate gave. The summary says both readings."""
    rows = plm_train(4 * 60, 30 * 60, seed=2) + plm_train(36 * 60, 7.5 * HOUR)
    score = night_of(rows)
    units, sleep = score.units, score.sleep
    begin, end = sleep.awake_trains_s[0]
    first, last = int(begin // 30), int(end // 30)
    awake_in_train = ~sleep.asleep[first : last + 1]
    assert awake_in_train.all()  # the whole train was taken as wake
    in_train = (units["onset_s"] >= first * 30) & (units["onset_s"] < (last + 1) * 30)
    plmw_in_train = int((units["periodic"] & units["clm"] & ~units["asleep"] & in_train).sum())
    assert plmw_in_train == len(plm_train(4 * 60, 30 * 60, seed=2))  # every one periodic
    expected = (score.counts["plm"] + plmw_in_train) / (
        (score.total_sleep_s + 30 * awake_in_train.sum()) / HOUR
    )
    other = score.indices["plm_index_awake_trains_asleep"]
    assert other == pytest.approx(expected, rel=1e-9)
    assert other > score.indices["plm_index"]
    said = " ".join(_in_bed_statements(score, PARAMS))
    assert f"Had you been asleep through it, the PLM index would be {other:.1f}/h" in said
    # Where the two readings fall either side of the threshold, it is said.
    plms = units["onset_s"][units["periodic"] & units["clm"] & units["asleep"]]
    between = (other + score.indices["plm_index"]) / 2
    said = _awake_train_statement(score, plms, between)
    assert f"{other:.1f}/h, above the {between:g}/h threshold." in said
    assert "threshold" not in _awake_train_statement(score, plms, 1000.0)


def test_the_other_reading_stops_at_lights_on():
    """A sleep window of 60-100 min and a train from minute 64 to 150: the other reading
    counts the train's PLMs and time up to lights on only (after it no time counts, and
    120 PLMs after it made a reading of 310/h where the in-bed index was 130/h)."""
    rows = plm_train(64 * 60, 150 * 60, seed=2)
    events = unit_table(rows).sort_values("onset_s")
    duration = 8 * HOUR
    loss = np.zeros(int(duration) + 1)
    score = score_night(
        events, duration, np.empty((0, 2)), loss, np.zeros(480), False, PARAMS, (3600.0, 6000.0)
    )
    units = score.units
    assert score.sleep.awake_trains_s  # the train was taken as awake
    inside = (units["onset_s"] >= 3600) & (units["onset_s"] < 6000)
    plmw = int((units["periodic"] & units["clm"] & ~units["asleep"] & inside).sum())
    awake_s = 30 * int((~score.sleep.asleep[120:200]).sum())  # epochs of the window
    expected = (score.counts["plm"] + plmw) / ((score.total_sleep_s + awake_s) / HOUR)
    assert score.indices["plm_index_awake_trains_asleep"] == pytest.approx(expected, rel=1e-9)
    assert score.indices["plm_index_awake_trains_asleep"] <= 1.05 * 3600 / 25  # one per 25 s


def test_no_other_reading_without_a_train_taken_as_awake():
    score = night_of(plm_train(40 * 60, 7.5 * HOUR))
    assert score.sleep.awake_trains_s == []
    assert score.indices["plm_index_awake_trains_asleep"] is None


def test_a_short_loss_ends_the_series_but_not_the_rhythm_sleep_reads():
    """A 1.5 s loss inside a PLMS train: by the rules it ends the series (an LM may hide in
    it), but the sleep estimate reads the rhythm across it (rhythm_gap_s, 2 s): the same
    probability of sleep as without the loss. A 30 s loss is read as a break in it."""
    rows = plm_train(40 * 60, 7 * HOUR, seed=4)
    events = unit_table(rows).sort_values("onset_s")
    duration = 8 * HOUR
    middle = float(events["onset_s"].iloc[len(events) // 2]) + 5.0

    def scored(gap_s: float):
        gaps = np.array([[middle, middle + gap_s]]) if gap_s else np.empty((0, 2))
        loss = np.zeros(int(duration) + 1)
        loss[int(middle) : int(middle + gap_s)] = 1.0
        return score_night(events, duration, gaps, loss, np.zeros(480), False, PARAMS)

    whole, short = scored(0.0), scored(1.5)
    assert whole.units["series"].max() == 0 and short.units["series"].max() == 1
    np.testing.assert_array_equal(short.sleep.p_sleep, whole.sleep.p_sleep)
    assert PARAMS.sleep.rhythm_gap_s == 2.0
    assert not np.array_equal(scored(30.0).sleep.p_sleep, whole.sleep.p_sleep)


def test_gaps_inside_runs_of_clms_are_counted_and_said():
    from sleepmove.detection.night import gaps_in_runs

    onsets = np.array([0.0, 20.0, 40.0, 200.0, 220.0])
    gaps = np.array([[25.0, 27.0], [100.0, 102.0], [45.0, 150.0], [225.0, 230.0]])
    # 25-27: CLMs 5 s before and 13 s after; 100-102: 98 s to the next; 45-150: 5 s and 50 s;
    # 225-230: none after.
    assert gaps_in_runs(onsets, gaps, PARAMS.rules) == 2
    rows = plm_train(40 * 60, 7 * HOUR, seed=4)
    middles = np.array([row[0] for row in rows])[[100, 200, 300, 400]] + 5.0
    gaps_s = np.column_stack([middles, middles + 1.5])
    score = night_of(rows, gaps_s)
    assert score.gaps_in_runs == 4
    said = " ".join(assessment(score, PARAMS)["statements"])
    assert "4 data gaps fell between limb movements less than 90 s apart" in said, said
    two = night_of(rows, gaps_s[:2])
    assert "data gaps fell between" not in " ".join(assessment(two, PARAMS)["statements"])
