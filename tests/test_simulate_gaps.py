"""The data gaps a simulator's truth lists: every hole in the written file the analysis does
not bridge, in true time."""

from __future__ import annotations

import numpy as np

from sleepmove.sensor.simulate_clock import ClockError
from sleepmove.sensor.simulate_gaps import data_gaps


def test_holes_over_one_second_in_the_stamps_and_a_lost_end_are_gaps():
    times = np.arange(0.0, 100.0, 0.1)  # 10 Hz for 100 s
    kept = np.ones(len(times), dtype=bool)
    kept[100:105] = False  # 0.5 s lost: bridged
    kept[200:210] = False  # 1.0 s lost: rows 1.1 s apart, a gap
    kept[300:308] = False  # 0.8 s lost, its next row delayed 0.3 s: 1.2 s apart, a gap
    kept[500:900] = False  # a dropped link, 40 s
    kept[990:] = False  # the last second: the end is lost
    stamps = times.copy()
    stamps[308] += 0.3
    gaps = data_gaps(stamps[kept], times[kept], 100.0)
    assert gaps == [[19.9, 21.0], [29.9, 30.8], [49.9, 90.0], [98.9, 100.0]]


def test_no_row_is_one_gap_and_a_whole_stream_none():
    times = np.arange(0.0, 10.0, 0.5)
    assert data_gaps(times[:0], times[:0], 10.0) == [[0.0, 10.0]]
    assert data_gaps(times, times, 10.0) == []


def test_a_clock_reset_adds_the_samples_it_lost():
    times = np.arange(0.0, 100.0, 0.1)
    clock = ClockError(step_at_s=40.0, step_s=-3.0, lost_s=2.5)
    kept = clock.kept(times)
    stamps = clock.stamps(times[kept])  # the clock jumps back: no hole in the stamps
    gaps = data_gaps(stamps, times[kept], 100.0, clock)
    assert gaps == [[40.0, 42.5]]
