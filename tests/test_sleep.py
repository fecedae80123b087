"""Sleep estimation: PLMs are not wake, data gaps are not sleep, a given window wins."""

import numpy as np
import pandas as pd
import pytest

from detection.night import score_night
from detection.params import AnalysisParameters
from detection.sleep import estimate_sleep
from sleepmove.pipeline import AnalyzeRequest, analyze, seconds_lost
from sleepmove.validate import validate_night
from sleepmove.window import parse_sleep_window

PARAMS = AnalysisParameters()


def unit_table(rows):
    frame = pd.DataFrame(rows, columns=["onset_s", "duration_s", "kind"])
    frame["offset_s"] = frame["onset_s"] + frame["duration_s"]
    frame["side"] = ""
    frame["peak_g"] = 0.2
    frame["rotation_deg"] = 10.0
    frame["posture_change_deg"] = 0.0
    return frame


def test_a_night_full_of_periodic_movements_is_not_scored_awake():
    onsets = np.arange(600.0, 6 * 3600, 20.0)  # an LM every 20 s for six hours
    units = unit_table([(t, 2.0, "lm") for t in onsets])
    periodic = np.ones(len(units), dtype=bool)
    sleep = estimate_sleep(units, periodic, 6 * 3600, PARAMS.sleep)
    assert sleep.asleep.mean() > 0.95
    # The same movements without periodicity look like restlessness.
    restless = estimate_sleep(units, ~periodic, 6 * 3600, PARAMS.sleep)
    assert restless.asleep.mean() < 0.05


def test_restless_stretch_is_a_wake_bout_inside_the_sleep_period():
    rows = [(t, 15.0, "movement") for t in np.arange(7200, 7800, 30.0)]
    sleep = estimate_sleep(unit_table(rows), np.zeros(len(rows), bool), 4 * 3600, PARAMS.sleep)
    assert len(sleep.wake_bouts_s) == 1
    start, end = sleep.wake_bouts_s[0]
    assert 7050 <= start <= 7250 and 7750 <= end <= 7950


def test_given_window_replaces_the_estimated_period():
    units = unit_table([(100.0, 2.0, "lm")])
    sleep = estimate_sleep(units, np.zeros(1, bool), 3 * 3600, PARAMS.sleep, (1800, 5400))
    assert sleep.source == "given" and sleep.onset_s == 1800 and sleep.offset_s == 5400


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


def test_estimated_sleep_time_close_to_truth_on_a_plm_night(plm_night, tmp_path):
    folder, _ = plm_night
    out = tmp_path / "o"
    result = analyze(AnalyzeRequest({"": str(folder / "night.csv")}, str(out), report=False))
    expected = validate_night(str(out), str(folder / "truth.json"))["row"][
        "total_sleep_h_reference"
    ]
    assert result.summary["sleep"]["total_sleep_h"] == pytest.approx(expected, rel=0.08)


def test_sleep_window_clock_times_roll_over_midnight():
    origin = 1_741_991_400.0  # 2025-03-14 22:30 UTC, a zone-less clock
    start, end = parse_sleep_window("23:00,06:30", origin, "naive")
    assert start == 1800.0 and end == 8 * 3600.0
    assert parse_sleep_window("120,7200", origin, "relative") == (120.0, 7200.0)
    start, _ = parse_sleep_window("2025-03-14T23:15:00,2025-03-15T06:00:00", origin, "naive")
    assert start == 2700.0
