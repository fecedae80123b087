"""Hypnic jerks at sleep onset and a motion-based proxy of excessive fragmentary myoclonus."""

from __future__ import annotations

import numpy as np

from sleepmove.detection.sleep import SleepResult
from sleepmove.detection.table import Table


def hypnic_jerks(jerk_onsets_s: np.ndarray, sleep: SleepResult, window_s: float) -> np.ndarray:
    """Jerks within `window_s` of a wake-to-sleep transition and isolated (none within 10 s)."""
    asleep = sleep.asleep.astype(np.int8)
    transitions = np.flatnonzero(np.diff(np.concatenate([[0], asleep])) == 1) * sleep.epoch_s
    if len(transitions) == 0 or len(jerk_onsets_s) == 0:
        return np.zeros(len(jerk_onsets_s), dtype=bool)
    nearest = np.min(np.abs(jerk_onsets_s[:, None] - transitions[None, :]), axis=1)
    spacing = np.diff(jerk_onsets_s)
    before = np.concatenate([[np.inf], spacing])
    after = np.concatenate([spacing, [np.inf]])
    return (nearest <= window_s) & (before > 10.0) & (after > 10.0)


def efm_proxy_spans(
    jerks_per_min: np.ndarray, asleep_min: np.ndarray, min_rate: float, min_span_min: float
) -> list[tuple[int, int, float]]:
    """Spans [first, end) minute of >= min_span sleep minutes averaging >= min_rate jerks/min."""
    span = int(min_span_min)
    n = len(jerks_per_min)
    if n < span:
        return []
    sleep_jerks = np.where(asleep_min, jerks_per_min, 0.0)
    window_rate = np.convolve(sleep_jerks, np.ones(span), mode="valid") / span
    window_sleep = np.convolve(asleep_min.astype(float), np.ones(span), mode="valid") == span
    qualifies = (window_rate >= min_rate) & window_sleep
    covered = np.zeros(n, dtype=bool)
    for start in np.flatnonzero(qualifies):
        covered[start : start + span] = True
    edges = np.diff(np.concatenate([[0], covered.astype(np.int8), [0]]))
    spans = []
    for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
        # A window's average can reach over quiet minutes at its ends: trim them.
        busy = np.flatnonzero(sleep_jerks[a:b] >= min_rate)
        if len(busy) == 0:
            continue
        a, b = a + busy[0], a + busy[-1] + 1
        if b - a >= span and sleep_jerks[a:b].mean() >= min_rate:
            spans.append((int(a), int(b), float(sleep_jerks[a:b].mean())))
    return spans


def jerk_clusters(
    onsets_s: np.ndarray,
    offsets_s: np.ndarray,
    sides: np.ndarray,
    max_gap_s: float,
    min_jerks: int,
) -> tuple[np.ndarray, Table]:
    """Clusters of jerks, as in benign sleep myoclonus of infancy: runs of jerks (sorted by
    onset) whose consecutive onsets are under `max_gap_s` apart, `min_jerks` or more.

    Returns the cluster of each jerk (-1 for none) and the clusters (onset_s, offset_s,
    jerks, rate_per_s, side). A cluster lasts from its first onset to its latest offset;
    its rate is jerks / duration, so that events.csv (duration_s, parts) gives it back.
    Its side is the members' one side, or "bilateral" where they touch both legs."""
    n = len(onsets_s)
    member = np.full(n, -1)
    if n == 0:
        return member, _no_clusters()
    starts = np.ones(n, dtype=bool)
    starts[1:] = np.diff(onsets_s) >= max_gap_s
    run = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    size = np.diff(np.append(first, n))
    kept = size >= min_jerks
    if not kept.any():
        return member, _no_clusters()
    number = np.cumsum(kept) - 1  # clusters numbered among the runs that qualify
    member = np.where(kept[run], number[run], -1)
    onset = onsets_s[first][kept]
    offset = np.maximum.reduceat(offsets_s, first)[kept]
    _, side_code = np.unique(sides.astype(str), return_inverse=True)
    mixed = (np.minimum.reduceat(side_code, first) != np.maximum.reduceat(side_code, first))[kept]
    side = np.where(mixed, "bilateral", sides[first][kept]).astype(object)
    jerks = size[kept]
    duration = offset - onset
    clusters = Table(
        {
            "onset_s": onset,
            "offset_s": offset,
            "jerks": jerks,
            "rate_per_s": jerks / np.maximum(duration, 1e-9),
            "side": side,
        }
    )
    return member, clusters


def _no_clusters() -> Table:
    empty = Table({name: np.zeros(0) for name in ("onset_s", "offset_s", "rate_per_s")})
    empty["jerks"] = np.zeros(0, dtype=int)
    empty["side"] = np.zeros(0, dtype=object)
    return empty
