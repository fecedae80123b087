"""PLM series rules on hand-built event lists with hand-computed answers."""

import numpy as np

from sleepmove.detection.params import AASM2012, WASM2016
from sleepmove.detection.series import intervals, score_series

NO_GAPS = np.empty((0, 2))


def series_of(onsets, clm=None, gaps=NO_GAPS, rules=WASM2016):
    onsets = np.asarray(onsets, dtype=float)
    clm = np.ones(len(onsets), dtype=bool) if clm is None else np.asarray(clm)
    return score_series(onsets, clm, gaps, rules).tolist()


def test_four_clms_at_20_s_make_one_series():
    assert series_of([0, 20, 40, 60]) == [0, 0, 0, 0]


def test_three_clms_are_not_a_series():
    assert series_of([0, 20, 40]) == [-1, -1, -1]


def test_imi_bounds_are_inclusive_10_and_90():
    assert series_of([0, 10, 100, 110]) == [0, 0, 0, 0]


def test_imi_below_10_breaks_the_series_wasm():
    # 0,20,40 | 49.9 (IMI 9.9 breaks) then 49.9,69.9,89.9,109.9 is a new series of four
    assert series_of([0, 20, 40, 49.9, 69.9, 89.9, 109.9]) == [-1, -1, -1, 0, 0, 0, 0]


def test_imi_above_90_breaks_the_series():
    assert series_of([0, 20, 40, 60, 150.5, 170, 190]) == [0, 0, 0, 0, -1, -1, -1]


def test_a_non_clm_breaks_the_series():
    onsets = [0, 20, 40, 50, 60, 80, 100, 120]
    clm = [True, True, True, False, True, True, True, True]
    assert series_of(onsets, clm) == [-1, -1, -1, -1, 0, 0, 0, 0]


def test_a_data_gap_breaks_the_series():
    gaps = np.array([[45.0, 55.0]])
    assert series_of([0, 20, 40, 60, 80, 100, 120], gaps=gaps) == [-1, -1, -1, 0, 0, 0, 0]


def test_two_series_get_two_ids():
    assert series_of([0, 20, 40, 60, 200, 220, 240, 260]) == [0, 0, 0, 0, 1, 1, 1, 1]


def test_aasm_accepts_5_s_intervals_and_skips_short_ones():
    # IMIs 6, 6, 6: periodic for AASM (5-90), not for WASM (10-90)
    assert series_of([0, 6, 12, 18], rules=AASM2012) == [0, 0, 0, 0]
    assert series_of([0, 6, 12, 18]) == [-1, -1, -1, -1]
    # 23 is 3 s after 20: AASM skips it and keeps the series; WASM breaks there
    onsets = [0, 20, 23, 40, 60]
    assert series_of(onsets, rules=AASM2012) == [0, 0, -1, 0, 0]
    assert series_of(onsets) == [-1, -1, -1, -1, -1]


def test_intervals_are_onset_to_onset_and_unmeasurable_after_gaps_and_non_clms():
    onsets = np.array([0.0, 20.0, 35.0, 50.0, 80.0])
    clm = np.array([True, True, False, True, True])
    gaps = np.array([[60.0, 70.0]])
    imi = intervals(onsets, clm, gaps)
    assert np.isnan(imi[0]) and imi[1] == 20.0
    assert np.isnan(imi[2]) and np.isnan(imi[3])  # a non-CLM ends the chain
    assert np.isnan(imi[4])  # a gap lies between 50 and 80
