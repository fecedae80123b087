"""Rhythmic trains: HFT on one leg, ALMA alternating between the legs."""

import numpy as np

from sleepmove.detection.trains import find_trains

HFT = dict(freq_hz=(0.3, 4.0), max_burst_s=1.0, min_bursts=4, max_cv=0.35)
ALMA = dict(freq_hz=(1.0, 6.0), max_burst_s=0.5, min_bursts=4, max_cv=0.35)


def test_four_regular_bursts_are_a_train_three_are_not():
    durations = np.full(4, 0.25)
    assert find_trains(np.array([0, 0.8, 1.6, 2.4]), durations, **HFT) == [(0, 3)]
    assert find_trains(np.array([0, 0.8, 1.6]), durations[:3], **HFT) == []


def test_irregular_bursts_are_no_rhythm():
    onsets = np.array([0, 0.3, 3.0, 3.3, 6.2])
    assert find_trains(onsets, np.full(5, 0.2), **HFT) == []


def test_bursts_too_slow_or_too_long_are_no_train():
    assert find_trains(np.arange(5) * 4.0, np.full(5, 0.2), **HFT) == []
    assert find_trains(np.arange(5) * 1.0, np.full(5, 1.5), **HFT) == []


def test_alma_needs_the_legs_to_alternate():
    onsets = np.arange(8) * 0.4
    alternating = np.array(["left", "right"] * 4)
    same = np.array(["left"] * 8)
    assert find_trains(onsets, np.full(8, 0.2), sides=alternating, **ALMA) == [(0, 7)]
    assert find_trains(onsets, np.full(8, 0.2), sides=same, **ALMA) == []


def test_one_stumble_does_not_split_a_train():
    onsets = np.concatenate([np.arange(5) * 0.4, 2.6 + np.arange(5) * 0.4])
    sides = np.array(
        ["left", "right", "left", "right", "left", "left", "right", "left", "right", "left"]
    )
    assert find_trains(onsets, np.full(10, 0.2), sides=sides, **ALMA) == [(0, 9)]
