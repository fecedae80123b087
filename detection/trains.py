"""Rhythmic trains: hypnagogic foot tremor (one leg) and ALMA (alternating between legs)."""

from __future__ import annotations

import numpy as np


def find_trains(
    onsets: np.ndarray,
    durations: np.ndarray,
    freq_hz: tuple[float, float],
    max_burst_s: float,
    min_bursts: int,
    max_cv: float,
    sides: np.ndarray | None = None,
) -> list[tuple[int, int]]:
    """Index ranges [first, last] of >= `min_bursts` short bursts repeating at `freq_hz`.

    Bursts are sorted by onset. With `sides`, consecutive bursts must switch side (ALMA).
    Regularity (coefficient of variation of the intervals) separates a rhythm from chance.
    """
    shortest, longest = 1.0 / freq_hz[1], 1.0 / freq_hz[0]
    intervals = np.diff(onsets)
    link = (intervals >= shortest) & (intervals <= longest)
    link &= (durations[:-1] <= max_burst_s) & (durations[1:] <= max_burst_s)
    if sides is not None:
        link &= sides[1:] != sides[:-1]
    trains = []
    edges = np.diff(np.concatenate([[0], link.astype(np.int8), [0]]))
    for first, stop in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
        # links first..stop-1 join bursts first..stop
        if stop - first + 1 < min_bursts:
            continue
        run = intervals[first:stop]
        if np.std(run) <= max_cv * np.mean(run):
            if trains and onsets[first] - onsets[trains[-1][1]] <= 2 * longest:
                trains[-1] = (trains[-1][0], int(stop))  # one stumble does not end a rhythm
            else:
                trains.append((int(first), int(stop)))
    return trains
