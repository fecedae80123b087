"""Nights written directly as detected movements, from what sleep research knows of them.

A third body of training data for the sleep model, beside the two signal simulators: it
holds the model to the physiology the simulators may not share. Awake in bed, people fidget
at 1-4 movements a minute at Poisson times, of every size and length, sometimes no quicker
than a PLM; in sleep, PLMs come in regular trains of like movements. No signal is simulated:
the events go straight to the scoring, so a night costs milliseconds.
"""

from __future__ import annotations

import numpy as np

from sleepmove.detection.night import score_night
from sleepmove.detection.params import AnalysisParameters
from sleepmove.detection.table import Table

HOURS = 8.0


def _fidgets(start: float, end: float, rng: np.random.Generator, quick: bool) -> list[tuple]:
    rate = rng.uniform(1.0, 4.0) / 60
    rows, t = [], start + rng.exponential(1 / rate)
    while t < end - 20:
        if rng.uniform() < 0.15:
            duration = rng.uniform(5, 20)
            rows.append((t, duration, "movement", 0.5, 30.0, rng.uniform(10, 60)))
        else:
            duration = rng.uniform(0.6, 6)
            peak = float(np.exp(rng.uniform(np.log(0.1), np.log(1.5)))) if quick else 0.2
            rotation = float(np.exp(rng.uniform(np.log(2), np.log(40))))
            rows.append((t, duration, "lm", peak, rotation, 0.0))
        t += duration + rng.exponential(1 / rate)
    return rows


def _plm_trains(start: float, end: float, rng: np.random.Generator, per_hour: float) -> list:
    rows, t = [], start + rng.uniform(60, 900)
    size = rng.uniform(6, 20)
    while t < end - 300 and per_hour > 0:
        interval = rng.uniform(15, 40)
        spread = rng.uniform(0.05, 0.3)
        count = int(rng.integers(4, 60))
        for _ in range(count):  # a loop over movements
            if t >= end - 60:
                break
            duration = float(np.clip(rng.lognormal(np.log(2.0), 0.4), 0.6, 8))
            rotation = float(size * rng.lognormal(0, 0.25))
            rows.append((t, duration, "lm", 0.2 * rng.lognormal(0, 0.2), rotation, 0.0))
            t += interval * (1 + rng.normal(0, spread))
        t += count * interval * rng.uniform(0.5, 3.0) * 40 / max(per_hour, 1)
    return rows


def unit_night(seed: int) -> dict:
    """One night's events and truth, as `benchmarks.tune_sleep` records them."""
    rng = np.random.default_rng(seed)
    total = HOURS * 3600
    onset = rng.uniform(10, 40) * 60
    offset = total - rng.uniform(5, 20) * 60
    bouts: list[tuple[float, float]] = []
    for _ in range(int(rng.integers(2, 5))):  # a loop over wake bouts, kept apart
        start = rng.uniform(onset + 1800, offset - 3600)
        end = start + rng.uniform(5, 30) * 60
        if all(end + 1200 < a or start > b + 1200 for a, b in bouts):
            bouts.append((start, end))
    bouts.sort()
    quick = bool(rng.uniform() < 0.5)
    wake = [(0.0, onset), *bouts, (offset, total)]
    rows = [row for a, b in wake for row in _fidgets(a, b, rng, quick)]
    sleep_spans, cursor = [], onset
    for a, b in bouts:
        sleep_spans.append((cursor, a))
        cursor = b
    sleep_spans.append((cursor, offset))
    per_hour = float(rng.choice([0.0, rng.uniform(5, 60)]))
    for a, b in sleep_spans:  # a loop over sleep spans
        rows += _plm_trains(a, b, rng, per_hour)
        for t in rng.uniform(a, b, int((b - a) / 3600 * rng.uniform(2, 5))):
            rows.append((t, float(rng.uniform(0.6, 5)), "lm", 0.2, float(rng.uniform(4, 20)), 0.0))
        for t in np.arange(a + rng.uniform(900, 3600), b - 300, rng.uniform(1800, 5400)):
            rows.append((t, float(rng.uniform(3, 10)), "movement", 0.5, 40.0, 30.0))
    rows.sort()
    kept, last_end = [], -np.inf
    for row in rows:  # a loop over events: one leg, no overlaps
        if row[0] > last_end + 1.5:
            kept.append(row)
            last_end = row[0] + row[1]
    onset_s, duration_s, kind, peak, rotation, posture = (np.array(c) for c in zip(*kept))
    events = Table(
        {
            "onset_s": onset_s.astype(float),
            "offset_s": (onset_s + duration_s).astype(float),
            "duration_s": duration_s.astype(float),
            "kind": kind.astype(object),
            "side": np.full(len(kept), "", dtype=object),
            "peak_g": peak.astype(float),
            "rotation_deg": rotation.astype(float),
            "posture_change_deg": posture.astype(float),
        }
    )
    n_seconds = int(total) + 1
    args = (
        events,
        total,
        np.empty((0, 2)),
        np.zeros(n_seconds),
        np.zeros(int(HOURS * 60)),
        False,
        AnalysisParameters(),
    )
    score = score_night(*args)
    units = score.units
    in_sleep = np.zeros(len(units), dtype=bool)
    for a, b in sleep_spans:  # a loop over sleep spans
        in_sleep |= (units["onset_s"] >= a) & (units["onset_s"] < b)
    periodic = units["periodic"].astype(bool) & units["clm"].astype(bool)
    sleep_h = sum(b - a for a, b in sleep_spans) / 3600
    return {
        "captured": {"args": args, "kwargs": {}},
        "truth_plm_index": float((periodic & in_sleep).sum() / sleep_h),
        "truth_total_sleep_h": sleep_h,
        "truth_plm_index_in_bed": float(periodic.sum() / HOURS),
    }
