"""Hypnic jerks at sleep onset; the motion-based proxy of excessive fragmentary myoclonus."""

import numpy as np

from sleepmove.detection.myoclonus import efm_proxy_spans, hypnic_jerks
from sleepmove.detection.sleep import SleepResult


def sleep_from(asleep):
    asleep = np.asarray(asleep, dtype=bool)
    return SleepResult(30.0, asleep, None, None, "estimated", [], asleep.astype(float), 1.0)


def test_isolated_jerk_near_sleep_onset_is_hypnic():
    asleep = [False] * 20 + [True] * 100  # sleep starts at 600 s
    jerks = np.array([500.0, 1200.0, 3000.0, 3005.0])
    labels = hypnic_jerks(jerks, sleep_from(asleep), window_s=900)
    # 500 and 1200 s are within 15 min of the onset; 3000/3005 are far and not isolated
    assert labels.tolist() == [True, True, False, False]


def test_jerks_close_together_are_not_hypnic():
    asleep = [False] * 20 + [True] * 100
    labels = hypnic_jerks(np.array([590.0, 595.0]), sleep_from(asleep), window_s=900)
    assert labels.tolist() == [False, False]


def test_efm_proxy_needs_20_minutes_of_5_per_minute_in_sleep():
    jerks = np.zeros(60)
    jerks[10:32] = 6  # 22 minutes at 6 per minute
    asleep = np.ones(60, dtype=bool)
    spans = efm_proxy_spans(jerks, asleep, 5.0, 20.0)
    assert [(a, b) for a, b, _ in spans] == [(10, 32)]
    assert spans[0][2] == 6.0
    short = np.zeros(60)
    short[10:29] = 6  # 19 minutes: not enough
    assert efm_proxy_spans(short, asleep, 5.0, 20.0) == []
    awake = asleep.copy()
    awake[20] = False  # a minute of wake breaks the span
    assert efm_proxy_spans(jerks, awake, 5.0, 20.0) == []
