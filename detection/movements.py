"""All movement events of one night, from one or two legs' uniform grids."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from sleepmove.base.order_statistics import median
from sleepmove.detection.events import (
    classify,
    describe,
    find_bursts,
    join_cramps,
    judged_brief,
    lone_spikes,
    merge_close,
    rejoin_long_parts,
    split_jerk_runs,
    twitch_shown,
)
from sleepmove.detection.filters import block_mean, blockwise, first_at_max, ranges_index
from sleepmove.detection.grid import Grid
from sleepmove.detection.held_movements import take_held_movements
from sleepmove.detection.parallel import in_background
from sleepmove.detection.params import DetectionParameters, ScoringRules
from sleepmove.detection.preprocess import LegSignals, leg_signals, signals_at_rate
from sleepmove.detection.table import Table
from sleepmove.detection.trains import find_trains

EVENT_COLUMNS = [
    "onset_s",
    "offset_s",
    "duration_s",
    "kind",
    "side",
    "peak_g",
    "rotation_deg",
    "posture_change_deg",
]


@dataclass
class LegResult:
    side: str
    events: Table
    activity_per_min: np.ndarray  # mean movement acceleration (g) per minute from the origin
    noise_floor_g: float  # median noise floor of the night
    vibrations_rejected: int  # spans of 0.5 s or more without a tilt: the bed shaking
    brief_rejected: int  # brief bursts that are no jerk: too weak, or a slow movement's peak
    # Per second from the origin (NaN before this leg's first sample), for the time in bed:
    orientation_per_s: np.ndarray  # (seconds, 3) mean acceleration: the limb's orientation
    # Of the vibrations rejected, those in runs at PLM intervals (periodic_members)
    vibrations_periodic: int = 0


def signals_of_legs(grids: dict[str, Grid], params: DetectionParameters) -> dict[str, LegSignals]:
    """Each leg's signals (a thread per leg), for `detect_movements` to take later: they
    depend on the samples, and on the rate only through widths that a clock's alignment
    does not move, so they can be computed while the clocks are being aligned."""
    with ThreadPoolExecutor(max_workers=len(grids)) as pool:  # numpy releases the GIL
        found = pool.map(lambda g: leg_signals(g.xyz, g.valid, g.rate_hz, params), grids.values())
        return dict(zip(grids, found))


def detect_movements(
    grids: dict[str, Grid],
    origin_s: float,
    params: DetectionParameters,
    rules: ScoringRules,
    computed: dict[str, LegSignals] | None = None,
) -> tuple[Table, list[LegResult]]:
    """Events of every leg, times in seconds from `origin_s`, sorted by onset. `computed`:
    legs' signals from `signals_of_legs`, used where they still hold for the grid (the same
    samples; its rate may have been aligned since)."""
    bursts: dict[str, Table] = {}
    signals: dict[str, LegSignals] = {}
    trains: list[Table] = []
    computed = computed or {}

    def bursts_of(side: str) -> tuple[LegSignals, np.ndarray, np.ndarray, Future[np.ndarray]]:
        return _bursts(grids[side], params, computed.get(side), origin_s)

    if len(grids) == 1:
        found = {side: bursts_of(side) for side in grids}
    else:  # the legs are independent, and numpy releases the GIL on whole arrays
        with ThreadPoolExecutor(max_workers=len(grids)) as pool:
            found = dict(zip(grids, pool.map(bursts_of, list(grids))))
    activity_per_min: dict[str, Future[np.ndarray]] = {}
    for side, grid in grids.items():
        sig, starts, ends, activity_per_min[side] = found[side]
        offset = grid.start_s - origin_s
        frame = Table({"start": starts, "end": ends})
        frame["onset_s"] = starts / grid.rate_hz + offset
        frame["offset_s"] = ends / grid.rate_hz + offset
        frame["side"] = side
        frame["used"] = False
        signals[side], bursts[side] = sig, frame
    if len(grids) == 2:
        # ALMA first: each leg alone would look like a rhythmic train (HFT) too.
        for frame in bursts.values():
            frame["row"] = np.arange(len(frame))
        both = Table.concat(bursts.values(), ["onset_s", "offset_s", "side", "row", "used"])
        both = both.sorted_by("onset_s")
        _mark_trains(both, "alma", params, trains, sides=both["side"])
        for side, frame in bursts.items():
            frame["used"][both["row"][both["used"] & (both["side"] == side)]] = True
    for side, frame in bursts.items():
        _mark_trains(frame, "hft", params, trains, sides=None, sig=signals[side])

    def finish(side: str) -> LegResult:
        found = (signals[side], bursts[side], activity_per_min[side])
        return _finish_leg(side, grids[side], *found, origin_s, params, rules)

    if len(grids) == 1:
        legs = [finish(side) for side in grids]
    else:  # describing one leg's events needs nothing of the other's: a thread each
        with ThreadPoolExecutor(max_workers=len(grids)) as pool:
            legs = list(pool.map(finish, list(grids)))
    events = Table.concat([leg.events for leg in legs] + trains, EVENT_COLUMNS)
    return events.sorted_by("onset_s", "side"), legs


def _bursts(
    grid: Grid, params: DetectionParameters, computed: LegSignals | None, origin_s: float
) -> tuple[LegSignals, np.ndarray, np.ndarray, Future[np.ndarray]]:
    """The leg's signals, its bursts, and its activity per minute (`_activity_per_minute`,
    begun on the second core: it needs only the signals)."""
    sig = None
    if computed is not None:
        sig = signals_at_rate(computed, grid.xyz, grid.valid, grid.rate_hz, params)
    if sig is None:  # none yet, or the grid was resampled since (a clock reset)
        sig = leg_signals(grid.xyz, grid.valid, grid.rate_hz, params)
    activity_per_min = in_background(_activity_per_minute, sig, grid, origin_s)
    return sig, *_drop_blips(sig, *find_bursts(sig, params), params), activity_per_min


def _mark_trains(
    frame: Table,
    kind: str,
    params: DetectionParameters,
    trains: list[Table],
    sides: np.ndarray | None,
    sig: LegSignals | None = None,
) -> None:
    """Find trains among the bursts not yet used, mark their members used, add the trains.
    `sig`: the leg's signals, for the length of tremor bursts (hft)."""
    available = np.flatnonzero(~frame["used"])
    if len(available) < params.train_min_bursts:
        return
    onsets = frame["onset_s"][available]
    offsets = frame["offset_s"][available]
    if kind == "hft":
        freq, max_burst = params.hft_freq_hz, params.hft_max_burst_s
    else:  # ALMA alternates: the interval between the legs is half the per-leg period
        freq = (2 * params.alma_freq_hz[0], 2 * params.alma_freq_hz[1])
        max_burst = params.alma_max_burst_s
    found = find_trains(
        onsets,
        offsets - onsets,
        freq,
        max_burst,
        params.train_min_bursts,
        params.train_max_interval_cv,
        None if sides is None else sides[available],
    )
    if kind == "hft" and found:  # tremor bursts last a quarter second or more; jerks do not
        assert sig is not None, "foot tremor trains need the leg's signals"
        members = np.concatenate([np.arange(start, end + 1) for start, end in found])
        lengths = np.zeros(len(onsets))
        lengths[members] = _burst_lengths(
            sig, frame["start"][available[members]], frame["end"][available[members]]
        )
        found = [
            (start, end)
            for start, end in found  # a loop over trains
            if median(lengths[start : end + 1].copy()) >= params.hft_min_burst_s
        ]
    if not found:
        return
    first = np.array([start for start, _ in found])
    for start, end in found:  # a loop over trains
        frame["used"][available[start : end + 1]] = True
    side = "bilateral" if sides is not None else frame["side"][available[first]]
    train = Table(
        {
            "onset_s": onsets[first],
            "offset_s": np.array([offsets[a : b + 1].max() for a, b in found]),
            "kind": np.full(len(found), kind, dtype=object),
        }
    )
    train["side"] = side
    for name in ("peak_g", "rotation_deg", "posture_change_deg"):
        train[name] = np.full(len(found), np.nan)
    train["duration_s"] = train["offset_s"] - train["onset_s"]
    trains.append(train)


# A burst whose envelope peaks this early in it is a jerk settling, not a tremor's swing
# (a sine-shaped burst peaks at half its span; jerks in simulated runs at 0.23-0.29).
EARLY_PEAK = 0.4


def _burst_lengths(sig: LegSignals, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Seconds of each burst that count for foot tremor (bursts of 250 ms or more): its span,
    unless its 0.1 s envelope peaks in the first `EARLY_PEAK` of it, then the time that
    envelope is over half its peak. A jerk is an abrupt twitch that then settles: its peak
    comes early, and the settling stretched a 70 ms jerk into a third of a second, so runs
    of jerks seconds apart passed for tremor. A tremor burst swings smoothly, its peak mid-
    burst (over half its peak for only about half its length, which would read as brief)."""
    inside, offsets = ranges_index(starts, ends)
    envelope = sig.envelope[inside]
    counts = ends - starts
    largest, first_peak = first_at_max(envelope, offsets)
    peak = np.repeat(largest, counts)
    early = (first_peak - offsets + 0.5) < EARLY_PEAK * counts
    lengths = counts.astype(np.float64)
    if early.any():
        lengths[early] = np.add.reduceat(envelope >= 0.5 * peak, offsets)[early]
    return lengths / sig.rate_hz


def _finish_leg(
    side: str,
    grid: Grid,
    sig: LegSignals,
    bursts: Table,
    activity_per_min: Future[np.ndarray],
    origin_s: float,
    params: DetectionParameters,
    rules: ScoringRules,
) -> LegResult:
    free = bursts[~bursts["used"]]
    merge_gap = int(round(rules.same_leg_merge_gap_s * grid.rate_hz))
    starts, ends = merge_close(free["start"], free["end"], merge_gap)
    if params.jerk_rest_s > 0:  # infants: the jerks of a cluster, one by one
        starts, ends = split_jerk_runs(sig, starts, ends, merge_gap, params)
        starts, ends = rejoin_long_parts(starts, ends, sig.rate_hz, params)
    events = describe(sig, starts, ends, params)
    kind = classify(events, params, rules.lm_max_s)
    # A jerk that settled is as long as it was active: its settling is no movement.
    settled = (kind == "jerk") & events["settled"]
    events["offset_s"] = np.where(
        settled, events["onset_s"] + events["active_s"], events["offset_s"]
    )
    events["duration_s"] = np.where(settled, events["active_s"], events["duration_s"])
    events, kind = take_held_movements(sig, events, kind, params, rules.lm_max_s)
    joined = join_cramps(events, kind, params)
    events, kind = events[joined], kind[joined]
    rejected = kind == ""
    brief = judged_brief(events, params)
    vibrations, brief_rejected = int((rejected & ~brief).sum()), int((rejected & brief).sum())
    periodic = periodic_members(
        events["onset_s"][rejected & ~brief],
        rules.imi_min_s,
        rules.imi_max_s,
        rules.min_series_count,
    )
    events = events[kind != ""]
    events["kind"] = kind[kind != ""]
    offset = grid.start_s - origin_s
    events["onset_s"] = events["onset_s"] + offset
    events["offset_s"] = events["offset_s"] + offset
    events["side"] = side
    return LegResult(
        side=side,
        events=events[EVENT_COLUMNS],
        activity_per_min=activity_per_min.result(),
        noise_floor_g=median(sig.floor_blocks.copy()),  # one value per 1 s block
        vibrations_rejected=vibrations,
        vibrations_periodic=periodic,
        brief_rejected=brief_rejected,
        orientation_per_s=_per_second_from_origin(sig.level_blocks, sig, grid, origin_s),
    )


def periodic_members(onsets_s: np.ndarray, low_s: float, high_s: float, least: int) -> int:
    """How many of these (sorted) times lie in runs of `least` or more whose intervals all
    fall in [low_s, high_s]: a PLM series' rhythm, here among bursts rejected as the bed
    shaking, which a bed partner's movements rarely keep for long."""
    if len(onsets_s) < least:
        return 0
    steps = np.diff(onsets_s)
    keeps = np.concatenate([[False], (steps >= low_s) & (steps <= high_s), [False]])
    starts = np.flatnonzero(keeps[1:] & ~keeps[:-1])  # each run of kept intervals
    ends = np.flatnonzero(~keeps[1:] & keeps[:-1])
    members = ends - starts + 1  # n intervals join n + 1 times
    return int(members[members >= least].sum())


def _per_second_from_origin(
    per_block: np.ndarray, sig: LegSignals, grid: Grid, origin_s: float
) -> np.ndarray:
    """Per-block values as seconds from the origin: blocks are one second of samples, so a
    leg that starts late is shifted by its lead."""
    lead = max(int(round(grid.start_s - origin_s)), 0)
    if lead == 0:
        return per_block
    padding = np.full((lead, *per_block.shape[1:]), np.nan, dtype=per_block.dtype)
    return np.concatenate([padding, per_block])


def _drop_blips(
    sig: LegSignals, starts: np.ndarray, ends: np.ndarray, params: DetectionParameters
) -> tuple[np.ndarray, np.ndarray]:
    """Brief bursts that barely pass the onset are noise: drop them before trains are sought
    and before the 0.5 s merge, where a blip after a jerk would stretch it into an LM.

    A brief burst is judged on the short envelope alone. The 0.5 s scale cannot resolve it:
    there a twitch's oscillation leaves echoes a quarter second before and after it, and
    merged with the twitch they made a 0.6 s "movement" without rotation, dropped as a bed
    vibration (small twitches were missed that way). A sensor glitch (events.lone_spikes)
    goes too, however large."""
    if len(starts) == 0:
        return starts, ends
    keep = ~lone_spikes(sig, starts, ends, params)
    brief = np.flatnonzero(((ends - starts) < params.jerk_max_s * sig.rate_hz) & keep)
    if len(brief):
        inside, offsets = ranges_index(starts[brief], ends[brief])
        peak = np.maximum.reduceat(sig.envelope[inside] / sig.floor_at(inside), offsets)
        shown = twitch_shown(sig, starts[brief], ends[brief], params)
        keep[brief[(peak < params.blip_max_factor) & ~shown]] = False
    return starts[keep], ends[keep]


def _activity_per_minute(sig: LegSignals, grid: Grid, origin_s: float) -> np.ndarray:
    """Mean movement acceleration above the noise floor per clock minute from the origin."""
    lead = int(round((grid.start_s - origin_s) * grid.rate_hz))
    per_minute = int(round(60 * grid.rate_hz))
    above = blockwise(np.subtract, sig.envelope, sig.floor_blocks, sig.block)
    np.maximum(above, 0, out=above)
    if lead > 0:
        above = np.concatenate([np.zeros(lead, dtype=np.float32), above])
    return block_mean(above, per_minute)
