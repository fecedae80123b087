"""All movement events of one night, from one or two legs' uniform grids."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from detection.events import classify, describe, find_bursts, merge_close, span_max
from detection.filters import block_mean
from detection.grid import Grid
from detection.params import DetectionParameters, ScoringRules
from detection.preprocess import LegSignals, leg_signals
from detection.trains import find_trains

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
    events: pd.DataFrame
    activity_per_min: np.ndarray  # mean movement acceleration (g) per minute from the origin
    noise_floor_g: float  # median noise floor of the night
    vibrations_rejected: int


def detect_movements(
    grids: dict[str, Grid], origin_s: float, params: DetectionParameters, rules: ScoringRules
) -> tuple[pd.DataFrame, list[LegResult]]:
    """Events of every leg, times in seconds from `origin_s`, sorted by onset."""
    legs: list[LegResult] = []
    bursts: dict[str, pd.DataFrame] = {}
    signals: dict[str, LegSignals] = {}
    trains: list[pd.DataFrame] = []
    if len(grids) == 1:
        found = {side: _bursts(grid, params) for side, grid in grids.items()}
    else:  # the legs are independent, and numpy releases the GIL on whole arrays
        with ThreadPoolExecutor(max_workers=len(grids)) as pool:
            found = dict(zip(grids, pool.map(lambda g: _bursts(g, params), grids.values())))
    for side, grid in grids.items():
        sig, starts, ends = found[side]
        offset = grid.start_s - origin_s
        frame = pd.DataFrame({"start": starts, "end": ends})
        frame["onset_s"] = starts / grid.rate_hz + offset
        frame["offset_s"] = ends / grid.rate_hz + offset
        frame["side"] = side
        frame["used"] = False
        signals[side], bursts[side] = sig, frame
    if len(grids) == 2:
        # ALMA first: each leg alone would look like a rhythmic train (HFT) too.
        both = pd.concat(bursts.values(), keys=list(bursts), names=["leg", "row"])
        both = both.sort_values("onset_s", kind="stable")
        _mark_trains(both, "alma", params, trains, sides=both["side"].to_numpy())
        for (leg, row), used in both["used"].items():
            if used:
                bursts[leg].loc[row, "used"] = True
    for frame in bursts.values():
        _mark_trains(frame, "hft", params, trains, sides=None)
    for side, grid in grids.items():
        legs.append(_finish_leg(side, grid, signals[side], bursts[side], origin_s, params, rules))
    all_events = [leg.events for leg in legs] + [t[EVENT_COLUMNS] for t in trains if len(t)]
    events = pd.concat(all_events, ignore_index=True) if all_events else pd.DataFrame()
    events = events.reindex(columns=EVENT_COLUMNS)
    return events.sort_values(["onset_s", "side"], kind="stable").reset_index(drop=True), legs


def _bursts(grid: Grid, params: DetectionParameters) -> tuple[LegSignals, np.ndarray, np.ndarray]:
    sig = leg_signals(grid.xyz, grid.valid, grid.rate_hz, params)
    return sig, *_drop_blips(sig, *find_bursts(sig, params), params)


def _mark_trains(
    frame: pd.DataFrame,
    kind: str,
    params: DetectionParameters,
    trains: list[pd.DataFrame],
    sides: np.ndarray | None,
) -> None:
    available = frame[~frame["used"]]
    if len(available) < params.train_min_bursts:
        return
    onsets = available["onset_s"].to_numpy()
    durations = (available["offset_s"] - available["onset_s"]).to_numpy()
    if kind == "hft":
        freq, max_burst = params.hft_freq_hz, params.hft_max_burst_s
    else:  # ALMA alternates: the interval between the legs is half the per-leg period
        freq = (2 * params.alma_freq_hz[0], 2 * params.alma_freq_hz[1])
        max_burst = params.alma_max_burst_s
    found = find_trains(
        onsets,
        durations,
        freq,
        max_burst,
        params.train_min_bursts,
        params.train_max_interval_cv,
        sides,
    )
    rows = []
    for first, last in found:
        members = available.index[first : last + 1]
        frame.loc[members, "used"] = True
        side = "bilateral" if sides is not None else available["side"].iloc[first]
        rows.append(
            {
                "onset_s": onsets[first],
                "offset_s": available["offset_s"].iloc[first : last + 1].max(),
                "kind": kind,
                "side": side,
                "peak_g": np.nan,
                "rotation_deg": np.nan,
                "posture_change_deg": np.nan,
            }
        )
    if rows:
        train = pd.DataFrame(rows)
        train["duration_s"] = train["offset_s"] - train["onset_s"]
        trains.append(train)


def _finish_leg(
    side: str,
    grid: Grid,
    sig: LegSignals,
    bursts: pd.DataFrame,
    origin_s: float,
    params: DetectionParameters,
    rules: ScoringRules,
) -> LegResult:
    free = bursts[~bursts["used"]]
    merge_gap = int(round(rules.same_leg_merge_gap_s * grid.rate_hz))
    starts, ends = merge_close(free["start"].to_numpy(), free["end"].to_numpy(), merge_gap)
    events = describe(sig, starts, ends, params)
    events["kind"] = classify(events, params, rules.lm_max_s)
    rejected = int((events["kind"] == "").sum())
    events = events[events["kind"] != ""].copy()
    offset = grid.start_s - origin_s
    events["onset_s"] += offset
    events["offset_s"] += offset
    events["side"] = side
    return LegResult(
        side=side,
        events=events[EVENT_COLUMNS].reset_index(drop=True),
        activity_per_min=_activity_per_minute(sig, grid, origin_s),
        # One value per second: the floor is constant within its 1 s blocks.
        noise_floor_g=float(np.median(sig.floor[:: max(int(round(grid.rate_hz)), 1)])),
        vibrations_rejected=rejected,
    )


def _drop_blips(
    sig: LegSignals, starts: np.ndarray, ends: np.ndarray, params: DetectionParameters
) -> tuple[np.ndarray, np.ndarray]:
    """Brief bursts that barely pass the onset are noise: drop them before trains are sought
    and before the 0.5 s merge, where a blip after a jerk would stretch it into an LM."""
    if len(starts) == 0:
        return starts, ends
    peak = span_max(sig.activity, starts, ends)
    brief = (ends - starts) < params.jerk_max_s * sig.rate_hz
    keep = ~(brief & (peak < params.blip_max_factor))
    return starts[keep], ends[keep]


def _activity_per_minute(sig: LegSignals, grid: Grid, origin_s: float) -> np.ndarray:
    """Mean movement acceleration above the noise floor per clock minute from the origin."""
    lead = int(round((grid.start_s - origin_s) * grid.rate_hz))
    per_minute = int(round(60 * grid.rate_hz))
    above = np.maximum(sig.envelope - sig.floor, 0)
    if lead > 0:
        above = np.concatenate([np.zeros(lead, dtype=np.float32), above])
    return block_mean(above, per_minute)
