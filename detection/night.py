"""Score a night: units per the rule set, PLM series, sleep, indices. Arrays in, results out."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sleepmove.detection.in_bed import in_bed_epochs
from sleepmove.detection.indices import imi_distribution, per_hour, periodicity_index
from sleepmove.detection.myoclonus import efm_proxy_spans, hypnic_jerks, jerk_clusters
from sleepmove.detection.params import AnalysisParameters, ScoringRules, SleepParameters
from sleepmove.detection.scoring import score_units, series_breaking_gaps, union_gaps
from sleepmove.detection.sleep import (
    SleepResult,
    asleep_at,
    estimate_sleep,
    window_share,
    within_window,
)
from sleepmove.detection.sleep_model import train_epochs
from sleepmove.detection.table import Table

MIN_LM_INDEX_FOR_PI = 10.0


@dataclass
class NightScore:
    units: Table  # one row per scored event, with clm, periodic, series, asleep, imi_s
    sleep: SleepResult
    minutes: Table  # one row per minute
    indices: dict
    counts: dict
    imi: dict
    total_sleep_s: float
    wake_s: float
    in_bed_s: float
    in_bed: np.ndarray  # per sleep epoch: counted as in bed
    sleep_epoch_loss_s: np.ndarray  # per sleep epoch: seconds of data lost
    efm_spans_min: list[tuple[int, int, float]]
    gaps_in_runs: int = 0  # data gaps with a CLM within the longest IMI before and after
    respiratory_events: int | None = None  # how many were given (None: none, not applied)


def score_night(
    events: Table,
    duration_s: float,
    gaps_s: np.ndarray,
    loss_per_second: np.ndarray,
    activity_per_min: np.ndarray,
    two_legs: bool,
    params: AnalysisParameters,
    sleep_window_s: tuple[float, float] | None = None,
    orientation_per_s: np.ndarray | None = None,
    respiratory_s: np.ndarray | None = None,
) -> NightScore:
    """`gaps_s` are data gaps from the origin; `loss_per_second[i]` is lost time in second i;
    `orientation_per_s` (mean acceleration, (seconds, 3)) tells the time in bed;
    `respiratory_s`, a sleep study's respiratory events ((start, end) from the origin), make
    the LMs near them no CLMs (detection.respiratory)."""
    rules = params.rules
    break_gap_s = params.detection.series_break_gap_s
    units = score_units(events, rules, gaps_s, two_legs, break_gap_s, respiratory_s)
    onsets = units["onset_s"]
    joined = union_gaps(gaps_s)
    # The sleep estimate's rhythm of movements reads across shorter losses (rhythm_gap_s)
    breaking = series_breaking_gaps(joined, params.sleep.rhythm_gap_s)
    breaking_series = series_breaking_gaps(joined, break_gap_s)
    sleep = estimate_sleep(
        units, duration_s, params.sleep, sleep_window_s, breaking, loss_per_second
    )
    units["asleep"] = asleep_at(sleep, onsets) if len(units) else np.zeros(0, dtype=bool)
    in_bed = in_bed_epochs(
        len(sleep.asleep),
        sleep.epoch_s,
        sleep.asleep,
        _per_epoch_mean(orientation_per_s, int(sleep.epoch_s), len(sleep.asleep)),
        sleep_window_s,
        params.sleep.min_in_bed_lying_deg,
    )
    epoch_of_unit = np.clip((onsets // sleep.epoch_s).astype(int), 0, len(in_bed) - 1)
    units["in_bed"] = (
        in_bed[epoch_of_unit] & within_window(sleep_window_s, onsets)
        if len(units)
        else np.zeros(0, dtype=bool)
    )
    jerk_mask = units["kind"] == "jerk"
    hypnic = np.zeros(len(units), dtype=bool)
    hypnic[jerk_mask] = hypnic_jerks(onsets[jerk_mask], sleep, params.sleep.hypnic_window_min * 60)
    units["hypnic"] = hypnic
    units = _with_jerk_clusters(units, sleep, in_bed, params)
    clm, imi = units["clm"].astype(bool), units["imi_s"]  # with the clusters' rows
    loss_per_epoch = _per_block(loss_per_second, int(sleep.epoch_s), len(sleep.asleep))
    # The last epoch lasts what is left of the recording: counted whole, time in bed (and
    # sleep) exceeded the recording's, and a 61-s night was 90 s in bed.
    epoch_lengths = np.clip(duration_s - np.arange(len(sleep.asleep)) * sleep.epoch_s, 0, None)
    recorded = np.clip(np.minimum(epoch_lengths, sleep.epoch_s) - loss_per_epoch, 0, None)
    recorded *= window_share(sleep_window_s, len(sleep.asleep), sleep.epoch_s, duration_s)
    total_sleep_s = float((recorded * sleep.asleep).sum())
    in_bed_s = float(recorded[in_bed].sum())
    valid_s = float(duration_s - loss_per_second.sum())
    wake_s = max(valid_s - total_sleep_s, 0.0)
    minutes = _minutes(units, sleep, in_bed, loss_per_second, activity_per_min, duration_s)
    efm = efm_proxy_spans(
        minutes["jerks_in_sleep"],
        minutes["asleep"],
        params.sleep.efm_min_rate_per_min,
        params.sleep.efm_min_span_min,
    )
    counts = _counts(units)
    in_sleep_clm = clm & units["asleep"]
    pi = periodicity_index(imi[clm], in_sleep_clm[clm], rules.imi_min_s, rules.imi_max_s)
    # An index per hour of sleep (or wake) needs enough of it: PLMs over two minutes of
    # sleep made "90/h" from an all-wake night.
    least_h = params.sleep.min_index_h
    sleep_h = total_sleep_s / 3600 if total_sleep_s / 3600 >= least_h else 0.0
    wake_h = wake_s / 3600 if wake_s / 3600 >= least_h else 0.0
    lm_index = per_hour(int(in_sleep_clm.sum()), sleep_h)
    plm_index = per_hour(counts["plm"], sleep_h)
    plm_index_in_bed = per_hour(counts["plm_in_bed"], in_bed_s / 3600)
    indices = {
        "plm_index": plm_index,
        "plm_index_in_bed": plm_index_in_bed,
        "plm_index_awake_trains_asleep": _index_awake_trains_asleep(
            units, sleep, recorded, counts["plm"], total_sleep_s, params.sleep
        ),
        "sleep_estimate_drives_plm_index": estimate_drives_index(plm_index, plm_index_in_bed),
        "plmw_index": per_hour(counts["plmw"], wake_h),
        "lm_index": lm_index,
        "periodicity_index": pi,
        "periodicity_index_simple": (
            counts["plm"] / int(in_sleep_clm.sum()) if in_sleep_clm.any() else None
        ),
        "periodicity_index_reliable": bool(
            lm_index is not None and lm_index >= MIN_LM_INDEX_FOR_PI
        ),
        "jerk_rate_per_min": counts["jerk_in_sleep"] / (sleep_h * 60) if sleep_h else None,
        "jerk_rate_wake_per_min": counts["jerk_in_wake"] / (wake_h * 60) if wake_h else None,
        "alternation_index": alternation_index(units) if two_legs else None,
    }
    imi_in_sleep = imi[clm & units["asleep"]]
    return NightScore(
        units=units,
        sleep=sleep,
        minutes=minutes,
        indices=indices,
        counts=counts,
        imi=imi_distribution(imi_in_sleep, rules.imi_min_s, rules.imi_max_s),
        total_sleep_s=total_sleep_s,
        wake_s=wake_s,
        in_bed_s=in_bed_s,
        in_bed=in_bed,
        sleep_epoch_loss_s=loss_per_epoch,
        efm_spans_min=efm,
        gaps_in_runs=gaps_in_runs(units["onset_s"][clm], breaking_series, rules),
        respiratory_events=None if respiratory_s is None else len(respiratory_s),
    )


def _index_awake_trains_asleep(
    units: Table,
    sleep: SleepResult,
    recorded_s: np.ndarray,
    plms: int,
    total_sleep_s: float,
    params: SleepParameters,
) -> float | None:
    """The PLM index had the PLM trains taken as restless legs awake (sleep.awake_trains_s:
    begun within minutes of lights out) been sleep: their awake epochs' time added to the
    sleep, their PLMs to the PLMS. None where no train was taken so. A motion sensor cannot
    tell such a train from PLMS after a quick sleep onset; this is the other reading.
    `recorded_s`: per sleep epoch, the seconds that count (score_night's)"""
    trains = sleep.awake_trains_s
    if not trains:
        return None
    n_epochs = len(sleep.asleep)
    added = (train_epochs(trains, n_epochs, params) > 0) & ~sleep.asleep
    epoch = np.clip((units["onset_s"] // sleep.epoch_s).astype(int), 0, n_epochs - 1)
    periodic = units["periodic"] & units["clm"].astype(bool)
    # Within the sleep window only: after lights on no time is counted (window_share).
    inside = within_window(sleep.window_s, units["onset_s"])
    plms_added = int((periodic & ~units["asleep"] & added[epoch] & inside).sum())
    sleep_h = (total_sleep_s + float(recorded_s[added].sum())) / 3600
    return per_hour(plms + plms_added, sleep_h if sleep_h >= params.min_index_h else 0.0)


def gaps_in_runs(clm_onsets_s: np.ndarray, gaps_s: np.ndarray, rules: ScoringRules) -> int:
    """The data gaps with a CLM within the longest IMI before and after: each ends any PLM
    series there (the rules: an LM may hide in it), so the PLM index leaves out what a
    loss may have cut; many of them on a lossy link."""
    gaps = np.asarray(gaps_s, dtype=float).reshape(-1, 2)
    onsets = np.sort(np.asarray(clm_onsets_s, dtype=float))
    if len(onsets) < 2 or not len(gaps):
        return 0
    before = np.searchsorted(onsets, gaps[:, 0], side="right") - 1
    after = np.searchsorted(onsets, gaps[:, 1], side="left")
    has_both = (before >= 0) & (after < len(onsets))
    before, after = before[has_both], after[has_both]
    near_before = gaps[has_both, 0] - onsets[before] <= rules.imi_max_s
    near_after = onsets[after] - gaps[has_both, 1] <= rules.imi_max_s
    return int((near_before & near_after).sum())


def estimate_drives_index(plm_index: float | None, in_bed_index: float | None) -> bool:
    """Whether the PLMS index and the in-bed index part so far (over a quarter, and over
    2/h) that which movements fell in sleep, an estimate, decides the figure."""
    if in_bed_index is None:
        return False
    if plm_index is None:
        return in_bed_index > 2.0
    difference = abs(plm_index - in_bed_index)
    return bool(difference > 2.0 and difference > 0.25 * max(plm_index, in_bed_index))


def alternation_index(units: Table) -> float | None:
    """Among consecutive monolateral PLMs of a series, the share whose side switches."""
    units = Table.of(units)
    plm = units[units["periodic"].astype(bool)]
    order = np.argsort(plm["series"], kind="stable")  # each series together, in onset order
    series, sides = plm["series"][order], plm["side"][order]
    same_series = series[1:] == series[:-1]
    monolateral = sides != "bilateral"
    pairs = same_series & monolateral[1:] & monolateral[:-1]
    switches = pairs & (sides[1:] != sides[:-1])
    return int(switches.sum()) / int(pairs.sum()) if pairs.any() else None


def _counts(units: Table) -> dict:
    kind = units["kind"]
    clm = units["clm"].astype(bool)
    periodic = units["periodic"] & clm
    asleep = units["asleep"]
    return {
        "jerk": int((kind == "jerk").sum()),
        "jerk_in_sleep": int(((kind == "jerk") & asleep).sum()),
        # Hypnic jerks belong to falling asleep, whichever side of the edge they fell.
        "jerk_in_wake": int(((kind == "jerk") & ~asleep & ~units["hypnic"]).sum()),
        "hypnic_jerk": int(units["hypnic"].sum()),
        "lm": int((kind == "lm").sum()),
        "clm": int(clm.sum()),
        # LMs no CLM for a respiratory event's sake (0 unless the events were given)
        "lm_respiratory": int(units["respiratory"].sum()),
        "clm_in_sleep": int((clm & asleep).sum()),
        "plm": int((periodic & asleep).sum()),
        "plmw": int((periodic & ~asleep).sum()),
        "plm_in_bed": int((periodic & units["in_bed"]).sum()),
        "plm_series": len(set(units["series"][units["series"] >= 0].tolist())),
        "movement": int((kind == "movement").sum()),
        "hft": int((kind == "hft").sum()),
        "alma": int((kind == "alma").sum()),
        "cramp": int((kind == "cramp").sum()),
        "jerk_cluster": int((kind == "jerk_cluster").sum()),
        "jerk_cluster_in_sleep": int(((kind == "jerk_cluster") & asleep).sum()),
        "jerk_cluster_in_wake": int(((kind == "jerk_cluster") & ~asleep).sum()),
    }


def _with_jerk_clusters(
    units: Table, sleep: SleepResult, in_bed: np.ndarray, params: AnalysisParameters
) -> Table:
    """Add one `jerk_cluster` unit per cluster of jerks (detection.myoclonus.jerk_clusters),
    with `jerks` (also in `parts`) and `rate_per_s`; other units get 0 and NaN there.

    Clusters are found among the scored jerk units, a bilateral jerk counting once, and
    added after the sleep estimate, which so never sees them. Their member jerks stay jerk
    units, counted as jerks as before: a cluster describes jerks, it does not replace them."""
    det = params.detection
    jerks = units[units["kind"] == "jerk"]
    member, clusters = jerk_clusters(
        jerks["onset_s"],
        jerks["offset_s"],
        jerks["side"],
        det.jerk_cluster_max_gap_s,
        det.jerk_cluster_min_jerks,
    )
    units["jerks"] = np.zeros(len(units), dtype=int)
    units["rate_per_s"] = np.full(len(units), np.nan)
    if not len(clusters):
        return units
    # A cluster's members are consecutive jerks: its peak is the largest of theirs.
    grouped = member[member >= 0]
    starts = np.flatnonzero(np.diff(grouped, prepend=-1))
    peaks = np.fmax.reduceat(jerks["peak_g"][member >= 0], starts)
    onsets = clusters["onset_s"]
    epoch = np.clip((onsets // sleep.epoch_s).astype(int), 0, len(in_bed) - 1)
    added = Table(
        {
            "onset_s": onsets,
            "offset_s": clusters["offset_s"],
            "duration_s": clusters["offset_s"] - onsets,
            "kind": np.full(len(clusters), "jerk_cluster", dtype=object),
            "side": clusters["side"],
            "parts": clusters["jerks"],
            "clm": np.zeros(len(clusters), dtype=bool),
            "respiratory": np.zeros(len(clusters), dtype=bool),
            "peak_g": peaks,
            "rotation_deg": np.full(len(clusters), np.nan),
            "posture_change_deg": np.full(len(clusters), np.nan),
            "series": np.full(len(clusters), -1),
            "periodic": np.zeros(len(clusters), dtype=bool),
            "imi_s": np.full(len(clusters), np.nan),
            "asleep": asleep_at(sleep, onsets),
            "in_bed": in_bed[epoch] & within_window(sleep.window_s, onsets),
            "hypnic": np.zeros(len(clusters), dtype=bool),
            "jerks": clusters["jerks"],
            "rate_per_s": clusters["rate_per_s"],
        }
    )
    return Table.concat([units, added], units.columns).sorted_by("onset_s")


def _per_epoch_mean(per_second: np.ndarray | None, epoch: int, n_epochs: int) -> np.ndarray | None:
    """Mean of (seconds, 3) rows per epoch (NaN rows ignored; NaN where none)."""
    if per_second is None or len(per_second) == 0:
        return None
    rows = np.full((n_epochs * epoch, per_second.shape[1]), np.nan)
    length = min(len(per_second), len(rows))
    rows[:length] = per_second[:length]
    blocks = rows.reshape(n_epochs, epoch, -1)
    counts = np.isfinite(blocks).all(axis=2).sum(axis=1)
    sums = np.nansum(blocks, axis=1)
    return np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], np.nan)


def _per_block(values: np.ndarray, block: int, n_blocks: int) -> np.ndarray:
    padded = np.zeros(n_blocks * block)
    length = min(len(values), len(padded))
    padded[:length] = values[:length]
    return padded.reshape(n_blocks, block).sum(axis=1)


def _minutes(
    units: Table,
    sleep: SleepResult,
    in_bed: np.ndarray,
    loss_per_second: np.ndarray,
    activity_per_min: np.ndarray,
    duration_s: float,
) -> Table:
    n = max(int(np.ceil(duration_s / 60.0)), 1)
    minute = (units["onset_s"] // 60).astype(int).clip(0, n - 1)
    kind = units["kind"]
    asleep = units["asleep"].astype(bool)
    periodic = units["periodic"].astype(bool) & units["clm"].astype(bool)
    per_epoch = int(round(60 / sleep.epoch_s))
    # A last minute may hold fewer epochs than the others: each minute over its own count.
    epochs = np.maximum(_per_block(np.ones(len(sleep.asleep)), per_epoch, n), 1)
    lost = _per_block(loss_per_second, 60, n)
    recorded = lost < 30  # a minute mostly lost is neither sleep nor time in bed
    asleep_min = (_per_block(sleep.asleep.astype(float), per_epoch, n) / epochs >= 0.5) & recorded
    p_sleep_min = _per_block(sleep.p_sleep, per_epoch, n) / epochs
    in_bed_min = (_per_block(in_bed.astype(float), per_epoch, n) / epochs >= 0.5) & recorded
    activity = np.zeros(n)
    activity[: min(n, len(activity_per_min))] = activity_per_min[:n]
    return Table(
        {
            "start_s": np.arange(n) * 60.0,
            "asleep": asleep_min,
            # No data, no evidence: the model's prior there (0.9 through a 90-minute hole)
            # read as a finding. Empty, as such a minute is neither asleep nor in bed.
            "p_sleep": np.round(np.where(recorded, p_sleep_min, np.nan), 3),
            "in_bed": in_bed_min,
            "jerks": np.bincount(minute[kind == "jerk"], minlength=n),
            "jerks_in_sleep": np.bincount(minute[(kind == "jerk") & asleep], minlength=n),
            "lms": np.bincount(minute[kind == "lm"], minlength=n),
            "plms": np.bincount(minute[periodic], minlength=n),
            "activity": np.round(activity, 5),
            "data_loss_s": np.round(lost, 3),
        }
    )
