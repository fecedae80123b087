"""Sleep and wake per epoch, the sleep period and wake bouts, for the ankle and the wrist.

The evidence and the model live in `detection.sleep_model`. Being scored periodic is not
evidence of sleep: people awake in bed fidget into chance series. What tells the two apart is
how regular and how alike the movements are and the large movements around them; regular
trains of alike movements, as PLMS are, do speak for sleep, so restless-legs movements while
awake pass for sleep, unless their train begins within minutes of lights out (the summary
warns when PLMS start soon after it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sleepmove.detection.params import SleepParameters
from sleepmove.detection.sleep_model import (
    awake_trains,
    epoch_features,
    sleep_probability,
    wake_log_odds,
)
from sleepmove.detection.table import Table


@dataclass
class SleepResult:
    epoch_s: float
    asleep: np.ndarray  # one bool per epoch from the origin
    onset_s: float | None
    offset_s: float | None
    source: str  # "estimated" or "given"
    wake_bouts_s: list[tuple[float, float]]
    p_sleep: np.ndarray  # per epoch, the model's probability of sleep
    confidence: float  # share of epochs the model is sure of (p_sleep under 0.2 or over 0.8)
    window_s: tuple[float, float] | None = None  # the sleep window given, if any
    # (begin, end) seconds of the PLM trains begun awake (sleep_model.awake_trains)
    awake_trains_s: list[tuple[float, float]] = field(default_factory=list)


def estimate_sleep(
    units: Table,
    duration_s: float,
    params: SleepParameters,
    window_s: tuple[float, float] | None = None,
    gaps_s: np.ndarray | None = None,
    loss_per_second: np.ndarray | None = None,
) -> SleepResult:
    """Sleep per epoch; `window_s` (lights out, lights on) bounds the sleep period instead of
    the estimate: outside it is wake, inside the model still tells wake bouts."""
    n_epochs = max(int(np.ceil(duration_s / params.epoch_s)), 1)
    gaps = np.empty((0, 2)) if gaps_s is None else np.asarray(gaps_s, dtype=float)
    lights_out = window_s[0] if window_s is not None else 0.0
    trains = awake_trains(units, n_epochs, params, lights_out)
    features = epoch_features(units, gaps, n_epochs, params, lights_out, trains)
    log_odds = wake_log_odds(features, params)
    usable = _usable_epochs(loss_per_second, n_epochs, params.epoch_s)
    p_sleep = sleep_probability(log_odds, usable, params)
    asleep = p_sleep >= 0.5
    source = "estimated"
    judged = usable.copy()  # the epochs whose sleep the model decides
    if window_s is not None:
        starts = np.arange(n_epochs) * params.epoch_s
        inside = (starts >= window_s[0] - params.epoch_s / 2) & (
            starts + params.epoch_s <= window_s[1] + params.epoch_s / 2
        )
        asleep &= inside
        p_sleep = np.where(inside, p_sleep, 0.0)
        judged &= inside
        source = "given"
    period = _period(asleep)
    bouts = _wake_bouts(asleep, period, params.epoch_s)
    onset, offset = _first_last_sleep(asleep, params.epoch_s)
    sure = (p_sleep[judged] < 0.2) | (p_sleep[judged] > 0.8)
    confidence = float(sure.mean()) if judged.any() else 0.0
    return SleepResult(
        params.epoch_s, asleep, onset, offset, source, bouts, p_sleep, confidence, window_s, trains
    )


def _usable_epochs(loss_per_second: np.ndarray | None, n_epochs: int, epoch_s: float) -> np.ndarray:
    """Epochs with at least half their data: the others carry no evidence and no sleep."""
    if loss_per_second is None:
        return np.ones(n_epochs, dtype=bool)
    per_epoch = int(round(epoch_s))
    padded = np.zeros(n_epochs * per_epoch)
    length = min(len(loss_per_second), len(padded))
    padded[:length] = loss_per_second[:length]
    return padded.reshape(n_epochs, per_epoch).sum(axis=1) < epoch_s / 2


def _period(asleep: np.ndarray) -> tuple[int, int] | None:
    index = np.flatnonzero(asleep)
    return None if len(index) == 0 else (int(index[0]), int(index[-1]) + 1)


def _wake_bouts(asleep: np.ndarray, period, epoch_s: float) -> list[tuple[float, float]]:
    if period is None:
        return []
    inside = ~asleep[period[0] : period[1]]
    edges = np.diff(np.concatenate([[0], inside.astype(np.int8), [0]]))
    return [
        ((period[0] + a) * epoch_s, (period[0] + b) * epoch_s)
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1))
    ]


def _first_last_sleep(asleep: np.ndarray, epoch_s: float) -> tuple[float | None, float | None]:
    index = np.flatnonzero(asleep)
    if len(index) == 0:
        return None, None
    return float(index[0] * epoch_s), float((index[-1] + 1) * epoch_s)


def asleep_at(sleep: SleepResult, times_s: np.ndarray) -> np.ndarray:
    """Whether each time falls in sleep; never before lights out or after lights on of a
    sleep window given, though its epoch is half inside and counted asleep."""
    times_s = np.asarray(times_s, dtype=float)
    epochs = np.clip((times_s // sleep.epoch_s).astype(int), 0, len(sleep.asleep) - 1)
    return sleep.asleep[epochs] & within_window(sleep.window_s, times_s)


def within_window(window_s: tuple[float, float] | None, times_s: np.ndarray) -> np.ndarray:
    """Whether each time lies from lights out up to lights on (all of them without a window)."""
    times_s = np.asarray(times_s, dtype=float)
    if window_s is None:
        return np.ones(times_s.shape, dtype=bool)
    return (times_s >= window_s[0]) & (times_s < window_s[1])


def window_share(
    window_s: tuple[float, float] | None, n_epochs: int, epoch_s: float, duration_s: float
) -> np.ndarray:
    """Per epoch, the share of its recorded length inside the sleep window (1 without one):
    an epoch counted whole where the window cuts it made a 30-min window 30.5 min in bed."""
    starts = np.arange(n_epochs) * epoch_s
    ends = np.minimum(starts + epoch_s, max(duration_s, 0.0))
    lengths = ends - starts
    if window_s is None:
        return np.ones(n_epochs)
    inside = np.clip(np.minimum(ends, window_s[1]) - np.maximum(starts, window_s[0]), 0, None)
    return np.divide(inside, lengths, out=np.zeros(n_epochs), where=lengths > 0)
