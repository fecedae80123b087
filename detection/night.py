"""Score a night: units per the rule set, PLM series, sleep, indices. Arrays in, results out."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from detection.bilateral import combine_legs
from detection.indices import imi_distribution, per_hour, periodicity_index
from detection.myoclonus import efm_proxy_spans, hypnic_jerks
from detection.params import AnalysisParameters
from detection.series import intervals, score_series
from detection.sleep import SleepResult, asleep_at, estimate_sleep

SERIES_KINDS = ("lm", "movement", "hft", "alma")
MIN_LM_INDEX_FOR_PI = 10.0


@dataclass
class NightScore:
    units: pd.DataFrame  # one row per scored event, with clm, periodic, series, asleep, imi_s
    sleep: SleepResult
    minutes: pd.DataFrame  # one row per minute
    indices: dict
    counts: dict
    imi: dict
    total_sleep_s: float
    wake_s: float
    efm_spans_min: list[tuple[int, int, float]]


def score_night(
    events: pd.DataFrame,
    duration_s: float,
    gaps_s: np.ndarray,
    loss_per_second: np.ndarray,
    activity_per_min: np.ndarray,
    two_legs: bool,
    params: AnalysisParameters,
    sleep_window_s: tuple[float, float] | None = None,
) -> NightScore:
    """`gaps_s` are data gaps from the origin; `loss_per_second[i]` is lost time in second i."""
    rules = params.rules
    units = combine_legs(events, rules, two_legs) if len(events) else _empty_units()
    sequence = units["kind"].isin(SERIES_KINDS).to_numpy()
    onsets = units["onset_s"].to_numpy()
    clm = units["clm"].to_numpy(dtype=bool)
    series = np.full(len(units), -1)
    series[sequence] = score_series(onsets[sequence], clm[sequence], gaps_s, rules)
    imi = np.full(len(units), np.nan)
    imi[sequence] = intervals(onsets[sequence], clm[sequence], gaps_s, rules.non_clm_breaks_series)
    units["series"] = series
    units["periodic"] = series >= 0
    units["imi_s"] = imi
    sleep = estimate_sleep(
        units, units["periodic"].to_numpy(), duration_s, params.sleep, sleep_window_s
    )
    units["asleep"] = asleep_at(sleep, onsets) if len(units) else np.zeros(0, dtype=bool)
    jerk_mask = (units["kind"] == "jerk").to_numpy()
    units["hypnic"] = False
    units.loc[jerk_mask, "hypnic"] = hypnic_jerks(
        onsets[jerk_mask], sleep, params.sleep.hypnic_window_min * 60
    )
    loss_per_epoch = _per_block(loss_per_second, int(sleep.epoch_s), len(sleep.asleep))
    total_sleep_s = float(((sleep.epoch_s - loss_per_epoch) * sleep.asleep).sum())
    valid_s = float(duration_s - loss_per_second.sum())
    wake_s = max(valid_s - total_sleep_s, 0.0)
    minutes = _minutes(units, sleep, loss_per_second, activity_per_min, duration_s)
    efm = efm_proxy_spans(
        minutes["jerks_in_sleep"].to_numpy(),
        minutes["asleep"].to_numpy(),
        params.sleep.efm_min_rate_per_min,
        params.sleep.efm_min_span_min,
    )
    counts = _counts(units)
    in_sleep_clm = clm & units["asleep"].to_numpy()
    pi = periodicity_index(imi[clm], in_sleep_clm[clm], rules.imi_min_s, rules.imi_max_s)
    sleep_h, wake_h = total_sleep_s / 3600, wake_s / 3600
    lm_index = per_hour(int(in_sleep_clm.sum()), sleep_h)
    indices = {
        "plm_index": per_hour(counts["plm"], sleep_h),
        "plmw_index": per_hour(counts["plmw"], wake_h),
        "lm_index": lm_index,
        "periodicity_index": pi,
        "periodicity_index_simple": (
            counts["plm"] / int(in_sleep_clm.sum()) if in_sleep_clm.any() else None
        ),
        "periodicity_index_reliable": bool(
            lm_index is not None and lm_index >= MIN_LM_INDEX_FOR_PI
        ),
        "jerk_rate_per_min": (
            counts["jerk_in_sleep"] / (total_sleep_s / 60) if total_sleep_s > 0 else None
        ),
        "alternation_index": alternation_index(units) if two_legs else None,
    }
    imi_in_sleep = imi[clm & units["asleep"].to_numpy()]
    return NightScore(
        units=units,
        sleep=sleep,
        minutes=minutes,
        indices=indices,
        counts=counts,
        imi=imi_distribution(imi_in_sleep, rules.imi_min_s, rules.imi_max_s),
        total_sleep_s=total_sleep_s,
        wake_s=wake_s,
        efm_spans_min=efm,
    )


def alternation_index(units: pd.DataFrame) -> float | None:
    """Among consecutive monolateral PLMs of a series, the share whose side switches."""
    plm = units[units["periodic"]]
    switches = pairs = 0
    for _, members in plm.groupby("series"):  # a loop over series
        sides = members["side"].to_numpy()
        for previous, current in zip(sides[:-1], sides[1:]):
            if previous != "bilateral" and current != "bilateral":
                pairs += 1
                switches += previous != current
    return switches / pairs if pairs else None


def _counts(units: pd.DataFrame) -> dict:
    kind = units["kind"]
    periodic = units["periodic"] & units["clm"]
    asleep = units["asleep"]
    return {
        "jerk": int((kind == "jerk").sum()),
        "jerk_in_sleep": int(((kind == "jerk") & asleep).sum()),
        "hypnic_jerk": int(units["hypnic"].sum()),
        "lm": int((kind == "lm").sum()),
        "clm": int(units["clm"].sum()),
        "clm_in_sleep": int((units["clm"] & asleep).sum()),
        "plm": int((periodic & asleep).sum()),
        "plmw": int((periodic & ~asleep).sum()),
        "plm_series": int(units.loc[units["series"] >= 0, "series"].nunique()),
        "movement": int((kind == "movement").sum()),
        "hft": int((kind == "hft").sum()),
        "alma": int((kind == "alma").sum()),
    }


def _per_block(values: np.ndarray, block: int, n_blocks: int) -> np.ndarray:
    padded = np.zeros(n_blocks * block)
    length = min(len(values), len(padded))
    padded[:length] = values[:length]
    return padded.reshape(n_blocks, block).sum(axis=1)


def _minutes(
    units, sleep: SleepResult, loss_per_second, activity_per_min, duration_s
) -> pd.DataFrame:
    n = max(int(np.ceil(duration_s / 60.0)), 1)
    minute = (units["onset_s"].to_numpy() // 60).astype(int).clip(0, n - 1)
    kind = units["kind"].to_numpy()
    asleep = units["asleep"].to_numpy(dtype=bool)
    periodic = units["periodic"].to_numpy(dtype=bool) & units["clm"].to_numpy(dtype=bool)
    per_epoch = int(round(60 / sleep.epoch_s))
    asleep_min = _per_block(sleep.asleep.astype(float), per_epoch, n) / per_epoch >= 0.5
    activity = np.zeros(n)
    activity[: min(n, len(activity_per_min))] = activity_per_min[:n]
    return pd.DataFrame(
        {
            "start_s": np.arange(n) * 60.0,
            "asleep": asleep_min,
            "jerks": np.bincount(minute[kind == "jerk"], minlength=n),
            "jerks_in_sleep": np.bincount(minute[(kind == "jerk") & asleep], minlength=n),
            "lms": np.bincount(minute[kind == "lm"], minlength=n),
            "plms": np.bincount(minute[periodic], minlength=n),
            "activity": np.round(activity, 5),
            "data_loss_s": np.round(_per_block(loss_per_second, 60, n), 3),
        }
    )


def _empty_units() -> pd.DataFrame:
    from detection.bilateral import UNIT_COLUMNS

    frame = pd.DataFrame({c: pd.Series(dtype=float) for c in UNIT_COLUMNS})
    frame["kind"] = frame["kind"].astype(object)
    frame["side"] = frame["side"].astype(object)
    frame["clm"] = frame["clm"].astype(bool)
    return frame
