"""The one scoring path: limb-movement events to scored units and PLM series.

`analyze` (detection/night.py), `sleepmove live` and `sleepmove validate` all score through
`score_units`, so the rules (docs: scoring-rules.md) are applied in one place: events in
data gaps leave, the legs combine into units (bilateral LMs, CLMs), and the units in the
sequence get their PLM series and inter-movement intervals.
"""

from __future__ import annotations

import numpy as np

from sleepmove.detection.bilateral import UNIT_COLUMNS, combine_legs
from sleepmove.detection.params import ScoringRules
from sleepmove.detection.respiratory import respiratory_windows
from sleepmove.detection.series import intervals, score_series
from sleepmove.detection.table import Table

# Kinds in the sequence series are scored on; any that is no CLM ends a series.
SERIES_KINDS = ("lm", "movement", "hft", "alma", "cramp")


def score_units(
    events: Table,
    rules: ScoringRules,
    gaps_s: np.ndarray,
    two_legs: bool,
    series_break_gap_s: float,
    respiratory_s: np.ndarray | None = None,
) -> Table:
    """Units (bilateral.UNIT_COLUMNS) with `series` (-1: none), `periodic`, `imi_s` and
    `respiratory` (an LM no CLM for a respiratory event's sake).

    `events`: limb movements, jerks and the like, one row per leg's event (onset_s,
    offset_s, duration_s, kind, side, peak_g, rotation_deg, posture_change_deg), seconds
    from the origin. `gaps_s`: data gaps from the same origin, of one leg or both, in any
    order; the gaps of `series_break_gap_s` or more end a series. `respiratory_s`: (start,
    end) seconds of a sleep study's apneas, hypopneas and RERAs, if any (detection.respiratory)."""
    gaps = union_gaps(gaps_s)
    events = Table.of(events)
    if len(events):
        # With two legs a gap on one is a gap of the night (its time leaves every
        # denominator), so the other leg's events in it leave every count too.
        events = events[~within_gaps(events["onset_s"], gaps)]
    units = combine_legs(events, rules, two_legs) if len(events) else _empty_units()
    sequence = np.isin(units["kind"], SERIES_KINDS)
    onsets = units["onset_s"]
    clm = units["clm"].astype(bool)
    related = np.zeros(len(units), dtype=bool)
    if respiratory_s is not None and len(units):
        windows = union_gaps(respiratory_windows(respiratory_s, rules))
        related = clm & overlapping(onsets, units["offset_s"], windows)
        clm &= ~related
        units["clm"] = clm
        if not rules.respiratory_breaks_series:  # not scored: as if it were not there
            sequence &= ~related
    units["respiratory"] = related
    breaking = series_breaking_gaps(gaps, series_break_gap_s)
    series = np.full(len(units), -1)
    series[sequence] = score_series(onsets[sequence], clm[sequence], breaking, rules)
    imi = np.full(len(units), np.nan)
    imi[sequence] = intervals(
        onsets[sequence], clm[sequence], breaking, rules.non_clm_breaks_series
    )
    units["series"] = series
    units["periodic"] = series >= 0
    units["imi_s"] = imi
    return units


def union_gaps(gaps_s: np.ndarray) -> np.ndarray:
    """Gaps sorted by start, overlapping or touching ones joined: the searches over gaps
    (`within_gaps`, series.gap_between) need them sorted and disjoint, and two legs'
    gaps come interleaved."""
    gaps = np.asarray(gaps_s, dtype=float).reshape(-1, 2)
    if len(gaps) == 0:
        return gaps
    gaps = gaps[np.argsort(gaps[:, 0], kind="stable")]
    reach = np.maximum.accumulate(gaps[:, 1])
    new = np.ones(len(gaps), dtype=bool)
    new[1:] = gaps[1:, 0] > reach[:-1]
    starts = np.flatnonzero(new)
    return np.column_stack([gaps[starts, 0], np.maximum.reduceat(gaps[:, 1], starts)])


def within_gaps(times_s: np.ndarray, gaps_s: np.ndarray) -> np.ndarray:
    """Whether each time falls inside one of the (sorted, disjoint) gaps."""
    return gap_holding(times_s, gaps_s) >= 0


def gap_holding(times_s: np.ndarray, gaps_s: np.ndarray) -> np.ndarray:
    """Per time, the index of the (sorted, disjoint) gap it falls inside, or -1."""
    gaps = np.asarray(gaps_s, dtype=float).reshape(-1, 2)
    if len(gaps) == 0:
        return np.full(len(times_s), -1)
    index = np.searchsorted(gaps[:, 0], times_s, side="right") - 1
    inside = (index >= 0) & (times_s < gaps[np.maximum(index, 0), 1])
    return np.where(inside, index, -1)


def overlapping(starts_s: np.ndarray, ends_s: np.ndarray, spans_s: np.ndarray) -> np.ndarray:
    """Per interval (start, end), whether it overlaps one of the (sorted, disjoint) spans."""
    spans = np.asarray(spans_s, dtype=float).reshape(-1, 2)
    starts_s = np.asarray(starts_s, dtype=float)
    if len(spans) == 0:
        return np.zeros(len(starts_s), dtype=bool)
    # The first span that ends after the interval starts overlaps it if it starts before
    # the interval ends.
    index = np.searchsorted(spans[:, 1], starts_s, side="right")
    first = spans[np.minimum(index, len(spans) - 1), 0]
    return (index < len(spans)) & (first < np.asarray(ends_s, dtype=float))


def series_breaking_gaps(gaps_s: np.ndarray, shortest_s: float) -> np.ndarray:
    """The data gaps long enough to end a PLM series. A gap ends a series because a limb
    movement could hide in it; a loss of a second or so, common on a BLE link, would
    otherwise end series by the dozen a night (a PLM index 15 % low on a lossy link)."""
    gaps = np.asarray(gaps_s, dtype=float).reshape(-1, 2)
    return gaps[gaps[:, 1] - gaps[:, 0] >= shortest_s]


def _empty_units() -> Table:
    units = Table({name: np.zeros(0) for name in UNIT_COLUMNS})
    units["kind"] = np.zeros(0, dtype=object)
    units["side"] = np.zeros(0, dtype=object)
    units["clm"] = np.zeros(0, dtype=bool)
    return units
