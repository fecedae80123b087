"""Sleep or wake per epoch from the evidence of movement: a two-state hidden Markov model.

Why an HMM: wake and sleep come in bouts of minutes, never alternate epoch by epoch, and the
evidence of one epoch is weak on its own (a quiet minute happens in wake, an LM in sleep).
Forward-backward smoothing weighs each epoch's evidence against its neighbours' through the
bout lengths, and gives a probability of sleep per epoch (`p_sleep`) rather than a bare
label, from which the night's confidence follows. Its few numbers (SleepParameters) are
interpretable and were tuned on training seeds of two independently built simulators and on
nights written as movements (benchmarks/tune_sleep.py).

The evidence per epoch is the log-odds of wake from what differs between wake with
fidgeting and sleep with periodic movements:
- large body movements and posture changes (strong evidence of wake);
- the irregularity of the intervals between movements: PLMS trains are regular (interval
  CV 0.1-0.3); fidgeting is irregular, Poisson-like (the SD of the log-interval of
  exponential intervals is 1.28, of PLMS trains about 0.2). Signed: a regular train of alike
  movements speaks for sleep, which is why restless legs awake pass for it;
- how much the size and the duration vary from one movement to the next (the mean of the
  two spreads, not the larger: which joints join a PLM, the ankle alone or knee and hip
  too, changes what a shank sensor sees of it tenfold within one series, where the burst's
  length stays alike);
- how much quicker a movement is than the night's typical LM;
- a quiet epoch is mild evidence of sleep.
- the position in the night: evidence of wake fading over the first minutes (sleep
  latency) and rising over the last (final awakening), and the model's start and end awake;
- a PLM series begun within minutes of lights out began awake (sleep onset and the stable
  sleep PLMS come in take longer): restless legs' periodic movements before sleep.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from sleepmove.base.order_statistics import quantiles
from sleepmove.detection.params import SleepParameters
from sleepmove.detection.table import Table

MOVING_KINDS = ("lm", "movement", "cramp")
LARGE_KINDS = ("movement", "cramp")  # a cramp wakes: large-movement evidence


def local_spread(values: np.ndarray, reach: int) -> np.ndarray:
    """Per item, the SD of the finite `values` among the `reach` before and after it and
    itself (NaN where fewer than three are finite): how irregular the neighbourhood is."""
    n = len(values)
    if n == 0:
        return np.zeros(0)
    padded = np.concatenate([np.full(reach, np.nan), values, np.full(reach, np.nan)])
    windows = sliding_window_view(padded, 2 * reach + 1)
    finite = np.isfinite(windows)
    count = finite.sum(axis=1)
    filled = np.where(finite, windows, 0.0)
    mean = filled.sum(axis=1) / np.maximum(count, 1)
    square = (np.where(finite, windows - mean[:, None], 0.0) ** 2).sum(axis=1)
    spread = np.sqrt(square / np.maximum(count - 1, 1))
    return np.where(count >= 3, spread, np.nan)


def movement_irregularity(
    onsets_s: np.ndarray, gaps_s: np.ndarray, params: SleepParameters
) -> np.ndarray:
    """Per movement (sorted onsets), the local SD of the log-interval to its neighbours.

    Intervals longer than `params.max_interval_s` or across a data gap say nothing about a
    rhythm and are left out.
    """
    if len(onsets_s) < 2:
        return np.full(len(onsets_s), np.nan)
    interval = np.diff(onsets_s)
    log_interval = np.log(np.maximum(interval, 0.5))
    usable = interval <= params.max_interval_s
    for start, end in np.asarray(gaps_s).reshape(-1, 2):  # a loop over gaps
        usable &= ~((onsets_s[:-1] < end) & (onsets_s[1:] > start))
    log_interval[~usable] = np.nan
    # Movement i sits between interval i-1 and interval i: its neighbourhood is the
    # intervals i-reach .. i+reach-1.
    reach = params.irregularity_reach
    spread = local_spread(log_interval, reach)
    padded = np.concatenate([[np.nan], spread])
    after = np.concatenate([spread, [np.nan]])
    return np.fmax(padded, after)


def epoch_features(
    units: Table,
    gaps_s: np.ndarray,
    n_epochs: int,
    params: SleepParameters,
    lights_out_s: float = 0.0,
    trains: list[tuple[float, float]] | None = None,
) -> dict[str, np.ndarray]:
    """The per-epoch evidence the model weighs (each a count or share per epoch).
    `lights_out_s`: where the night in bed starts (the sleep window's, else the recording's);
    `trains`: its `awake_trains`, where the caller has them."""
    units = Table.of(units)
    epoch = params.epoch_s
    moving = np.isin(units["kind"], MOVING_KINDS)
    order = np.argsort(units["onset_s"][moving], kind="stable")
    onset = units["onset_s"][moving][order]
    offset = units["offset_s"][moving][order]
    kind = units["kind"][moving][order]
    rotation = np.asarray(units["rotation_deg"][moving][order], dtype=float)
    peak = np.asarray(units["peak_g"][moving][order], dtype=float)
    duration = offset - onset
    irregular = movement_irregularity(onset, gaps_s, params)
    size_spread = local_spread(np.log(np.maximum(rotation, 0.5)), params.irregularity_reach)
    length_spread = local_spread(np.log(np.maximum(duration, 0.1)), params.irregularity_reach)
    first = np.clip((onset // epoch).astype(int), 0, n_epochs - 1)
    last = np.clip((offset // epoch).astype(int), 0, n_epochs - 1)
    big = np.zeros(n_epochs)
    large = np.isin(kind, LARGE_KINDS)
    for a, b in zip(first[large], last[large]):  # a loop over events: each epoch it touches
        big[a : b + 1] += 1.0
    small = ~large
    # Signed, per movement: -1 in regular company (a PLMS train), +1 in irregular company
    # (fidgeting), 0 where there is no neighbour to compare with.
    irregular_weight = _signed(irregular, params.irregular_low, params.irregular_high)
    # The mean of the two (the length's alone where no size was measured): the larger of
    # them, as before, read the PLMD nights of the blind `limb` family as wake (PLM index
    # -40 to -77 %), their series mixing ankle, knee and triple flexions.
    spread = np.where(np.isnan(size_spread), length_spread, (size_spread + length_spread) / 2)
    variable_weight = _signed(spread, params.variable_low, params.variable_high)
    vigour = movement_vigour(peak, small, params)
    vigorous_weight = np.clip((vigour - params.vigorous_low) / params.vigorous_span, 0.0, 1.0)
    features = {
        "large": big,
        "vigorous": np.bincount(first[small], vigorous_weight[small], minlength=n_epochs),
        "moves": np.bincount(first[small], minlength=n_epochs).astype(float),
        "irregular": np.bincount(first[small], irregular_weight[small], minlength=n_epochs),
        "variable": np.bincount(first[small], variable_weight[small], minlength=n_epochs),
        "awake_series": train_epochs(
            awake_trains(units, n_epochs, params, lights_out_s) if trains is None else trains,
            n_epochs,
            params,
        ),
    }
    return features


def night_shrink(n_epochs: int, params: SleepParameters) -> float:
    """The scales of the position in the night are a night's; a shorter recording (a nap, a
    test) shrinks them in proportion, or they alone would make most of an hour wake."""
    return min(1.0, n_epochs * params.epoch_s / 3600 / params.night_h)


def series_begun_awake(
    units: Table, n_epochs: int, params: SleepParameters, lights_out_s: float = 0.0
) -> np.ndarray:
    """Per epoch, 1 where a train of `awake_trains` runs (from its first movement's onset to
    its last one's offset)."""
    return train_epochs(awake_trains(units, n_epochs, params, lights_out_s), n_epochs, params)


def train_epochs(
    trains: list[tuple[float, float]], n_epochs: int, params: SleepParameters
) -> np.ndarray:
    """Per epoch, 1 where one of `trains` ((begin, end) seconds) runs."""
    spanned = np.zeros(n_epochs)
    for begin, end in trains:  # a loop over trains
        first = int(begin // params.epoch_s)
        last = min(int(end // params.epoch_s), n_epochs - 1)
        spanned[first : last + 1] = 1.0
    return spanned


def awake_trains(
    units: Table, n_epochs: int, params: SleepParameters, lights_out_s: float = 0.0
) -> list[tuple[float, float]]:
    """(begin, end) seconds of each train of PLM series begun awake: a series that began
    within `awake_series_min` of lights out, with the series that continue it, each begun
    within `awake_train_break_s` of the end of the one before. A fidget under 10 s from a
    PLM, or a skipped movement, breaks restless legs' train into series; its pieces are as
    awake as its start. The minutes are shorter in proportion for a recording shorter than
    a night, as the latency's scale is."""
    if "series" not in units or len(units) == 0:
        return []
    series = np.asarray(units["series"])
    members = series >= 0
    if not members.any():
        return []
    ids, which = np.unique(series[members], return_inverse=True)
    begins, ends = np.full(len(ids), np.inf), np.full(len(ids), -np.inf)
    np.minimum.at(begins, which, np.asarray(units["onset_s"], dtype=float)[members])
    np.maximum.at(ends, which, np.asarray(units["offset_s"], dtype=float)[members])
    order = np.argsort(begins, kind="stable")
    soon = params.awake_series_min * 60 * night_shrink(n_epochs, params)
    trains: list[tuple[float, float]] = []
    for begin, end in zip(begins[order], ends[order]):  # a loop over series
        if trains and begin <= trains[-1][1] + params.awake_train_break_s:
            trains[-1] = (trains[-1][0], max(trains[-1][1], end))
        elif lights_out_s <= begin < lights_out_s + soon:
            trains.append((begin, end))
    return trains


def movement_vigour(peak_g: np.ndarray, small: np.ndarray, params: SleepParameters) -> np.ndarray:
    """Per movement, how much quicker it is than the night's typical small movement: the log
    of its peak acceleration over their median, in units of their spread (interquartile
    range of the log peak, at least `params.vigorous_min_spread`). Fidgets are quicker than
    PLMs, but each night is its own scale: lever arm and mounting change the absolute figure
    from sensor to sensor, and one leg's LMs differ threefold in size where another's
    differ by half (a fixed bar took a third of the first's PLMs for fidgets)."""
    log_peak = np.log(np.maximum(peak_g, 1e-3))  # a zero peak is no scale: 1 mg at least
    usable = log_peak[small & np.isfinite(log_peak)]
    if len(usable) == 0:
        return np.zeros(len(peak_g))
    low, typical, high = quantiles(usable, (0.25, 0.5, 0.75))
    spread = max(high - low, params.vigorous_min_spread)
    return np.nan_to_num((log_peak - typical) / spread, nan=0.0)


def _signed(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """-1 at or under `low`, +1 at or over `high`, linear between; 0 where NaN."""
    scaled = np.clip((values - low) / (high - low), 0.0, 1.0) * 2 - 1
    return np.nan_to_num(scaled, nan=0.0)


EVIDENCE = ("large", "irregular", "variable", "vigorous", "moves", "early", "late", "awake_series")


def evidence(features: dict[str, np.ndarray], params: SleepParameters) -> dict[str, np.ndarray]:
    """Per epoch, each piece of evidence over the centred window of `window_epochs`; and the
    position in the night: `early` fades over the first minutes (the sleep latency), `late`
    rises over the last ones (the final awakening)."""
    width = params.window_epochs
    kernel = np.ones(width)

    n = len(features["large"])

    def around(values: np.ndarray) -> np.ndarray:
        # "same" gives max(n, width) values: a night shorter than the window keeps its n.
        full = np.convolve(values, kernel, mode="full")
        first = (width - 1) // 2
        return full[first : first + n]

    minutes = (np.arange(n) + 0.5) * params.epoch_s / 60
    shrink = night_shrink(n, params)
    return {
        "large": np.minimum(around(features["large"]), params.large_cap),
        "irregular": around(features["irregular"]),
        "variable": around(features["variable"]),
        "vigorous": around(features["vigorous"]),
        "moves": around(features["moves"]),
        "early": np.exp(-minutes / (params.latency_scale_min * shrink)),
        "late": np.exp(-(minutes[-1] - minutes) / (params.final_wake_scale_min * shrink)),
        "awake_series": features["awake_series"],
    }


def wake_log_odds(features: dict[str, np.ndarray], params: SleepParameters) -> np.ndarray:
    """Per epoch, the log-odds that its neighbourhood is wake rather than sleep."""
    weights = params.evidence_weights()
    log_odds = np.full(len(features["large"]), params.quiet_log_odds)
    for name, values in evidence(features, params).items():
        log_odds += weights[name] * values
    return log_odds


def sleep_probability(
    log_odds_wake: np.ndarray, usable: np.ndarray, params: SleepParameters
) -> np.ndarray:
    """Forward-backward over two states (0 sleep, 1 wake); epochs that are not `usable`
    (data lost) carry no evidence. The recording starts and ends awake."""
    n = len(log_odds_wake)
    evidence = np.where(usable, np.clip(log_odds_wake, -30, 30), 0.0)
    # Emission likelihoods up to a common factor per epoch, of sleep and of wake.
    sleep_like = np.exp(-evidence / 2).tolist()
    wake_like = np.exp(evidence / 2).tolist()
    to_wake = params.epoch_s / (params.mean_sleep_bout_min * 60)
    to_sleep = params.epoch_s / (params.mean_wake_bout_min * 60)
    stay_asleep, stay_awake = 1 - to_wake, 1 - to_sleep
    # Two states: plain floats are ten times faster than numpy's small-array calls here.
    forward = [(0.0, 0.0)] * n
    a = (1 - params.start_awake) * sleep_like[0]
    b = params.start_awake * wake_like[0]
    forward[0] = (a / (a + b), b / (a + b))
    for t in range(1, n):  # a loop over epochs (about a thousand a night), not samples
        prev_a, prev_b = forward[t - 1]
        a = (prev_a * stay_asleep + prev_b * to_sleep) * sleep_like[t]
        b = (prev_a * to_wake + prev_b * stay_awake) * wake_like[t]
        forward[t] = (a / (a + b), b / (a + b))
    p_sleep = np.empty(n)
    a, b = 1 - params.end_awake, params.end_awake
    fa, fb = forward[-1]
    p_sleep[-1] = fa * a / (fa * a + fb * b)
    for t in range(n - 2, -1, -1):  # a loop over epochs
        next_a, next_b = sleep_like[t + 1] * a, wake_like[t + 1] * b
        a = stay_asleep * next_a + to_wake * next_b
        b = to_sleep * next_a + stay_awake * next_b
        a, b = a / (a + b), b / (a + b)
        fa, fb = forward[t]
        p_sleep[t] = fa * a / (fa * a + fb * b)
    return p_sleep
