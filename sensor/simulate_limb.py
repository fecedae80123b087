"""The limb family: simulated nights of an ankle-strapped accelerometer, built as a blind judge.

Built apart from the detector and the other families: its own hypnogram, its own leg physics
(shank turns in gravity, strap accelerations through soft tissue, tendon rocking), its own wake
behaviour, twitches and bed partner, and its own sensor model. `simulate_limb` writes the
night's CSV file(s) and truth.json and returns the truth.
"""

from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass

import numpy as np

from sleepmove.base.atomic import write_file
from sleepmove.sensor.simulate import written_whole
from sleepmove.sensor.simulate_limb_hypnogram import Hypnogram, plan_hypnogram
from sleepmove.sensor.simulate_limb_leg import Tissue
from sleepmove.sensor.simulate_limb_moves import LEGS, Leg, Move, draw_leg, lasting, posture
from sleepmove.sensor.simulate_limb_render import body_signal, render_leg, sample_times
from sleepmove.sensor.simulate_limb_sensor import draw_sensor, losses, measure, stamps
from sleepmove.sensor.simulate_limb_series import plan_sleep_series, plan_wake_trains
from sleepmove.sensor.simulate_limb_truth import plm_series, truth_events
from sleepmove.sensor.simulate_limb_twitch import (
    plan_hypnic,
    plan_myoclonus,
    plan_partner,
    plan_rem_twitches,
)
from sleepmove.sensor.simulate_limb_wake import (
    hypnic_onsets,
    plan_isolated,
    plan_sleep_turns,
    plan_wake,
)
from sleepmove.sensor.simulate_limb_write import write_csv

LIMB_SCENARIOS: dict[str, str] = {
    "healthy": "no PLMS: isolated leg movements and turns in sleep; still and restless wake",
    "plmd-moderate": "PLMS index about 15-30/h, mostly N1/N2, series waxing and waning",
    "plmd-severe": "PLMS index about 40-80/h, long fast series, some ending in arousals",
    "rls": "restless legs: periodic movements awake before sleep and in a long mid-night "
    "awakening (out of bed), then PLMS",
    "two-legs": "two ankle sensors: unilateral, bilateral and alternating PLM series",
    "twitches": "REM twitch clusters, hypnic jerks and NREM myoclonic clusters; few or no PLMS",
    "partner": "PLMD-moderate beside a bed partner who turns and jolts the mattress; noisy sensor",
}

NIGHT_START_UNIX = 1_741_986_000.0  # 2025-03-14 21:00 UTC; the seed moves it by days and minutes


@dataclass(frozen=True)
class Profile:
    """What a scenario's nights are drawn from."""

    plms_per_h: tuple[float, float] = (0.0, 0.0)
    fast: bool = False
    latency_min: float = 14.0
    awakenings_per_h: float = 1.2
    long_wake: bool = False
    restless: tuple[float, float] = (0.2, 0.6)
    exits: float = 0.35
    isolated_per_h: tuple[float, float] = (2.0, 6.0)
    turns_per_h: tuple[float, float] = (1.5, 3.5)
    hypnic: tuple[float, float] = (0.5, 0.15)
    rem_twitch_per_min: tuple[float, float] = (0.05, 0.3)
    myoclonus_per_h: float = 0.0
    partner: bool = False
    noisy: bool = False
    two_legs: bool = False
    wake_trains: bool = False


PROFILES = {
    "healthy": Profile(),
    "plmd-moderate": Profile(
        plms_per_h=(17, 28), latency_min=16, awakenings_per_h=1.6, restless=(0.3, 0.6)
    ),
    "plmd-severe": Profile(
        plms_per_h=(45, 75),
        fast=True,
        latency_min=20,
        awakenings_per_h=2.4,
        restless=(0.4, 0.7),
        isolated_per_h=(3, 8),
    ),
    "rls": Profile(
        plms_per_h=(20, 40),
        latency_min=35,
        awakenings_per_h=2.0,
        long_wake=True,
        restless=(0.6, 0.9),
        exits=0.8,
        wake_trains=True,
    ),
    "two-legs": Profile(plms_per_h=(20, 45), latency_min=16, awakenings_per_h=1.6, two_legs=True),
    "twitches": Profile(
        plms_per_h=(0, 4), hypnic=(1.0, 0.6), rem_twitch_per_min=(0.8, 2.5), myoclonus_per_h=3.5
    ),
    "partner": Profile(
        plms_per_h=(17, 28), latency_min=16, awakenings_per_h=1.6, partner=True, noisy=True
    ),
}


def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(*bounds))


def plan_night(
    profile: Profile,
    hyp: Hypnogram,
    legs: dict[str, Leg],
    worn: list[str],
    rng: np.random.Generator,
) -> tuple[list[Move], list[tuple[float, float]]]:
    """Every movement of the night (sorted), and the spans spent out of the radio's reach."""
    onset = hyp.onset_s()
    lateralities = ["left", "right", "bilateral", "alternating", "mixed"]
    if len(worn) == 1:  # one sensor: series mostly involve the leg that wears it
        lateralities = ["bilateral", "bilateral", worn[0], worn[0], "mixed"]
    quiet: list[tuple[float, float]] = []
    if profile.wake_trains:
        bouts = sorted(hyp.wake_bouts(), key=lambda ab: ab[0] - ab[1])
        quiet = [(0.0, onset)] + bouts[:1]
    moves, away = plan_wake(rng, hyp, legs, _uniform(rng, profile.restless), profile.exits, quiet)
    moves += plan_sleep_turns(rng, hyp, _uniform(rng, profile.turns_per_h))
    per_hour = _uniform(rng, profile.plms_per_h)
    series = plan_sleep_series(rng, hyp, per_hour, profile.fast, legs, lateralities, 1)
    moves += series
    if profile.wake_trains:
        spans = [(a, b) for a, b in quiet if b - a > 90]
        for a0, a1 in away:  # trains go on after a trip out of bed, not during it
            spans = [(max(a, a1 + 60) if a <= a0 <= b else a, b) for a, b in spans]
        first = 1 + max((m.series or 0) for m in series) if series else 1
        moves += plan_wake_trains(rng, spans, legs, lateralities, first)
    moves += plan_isolated(rng, hyp, _uniform(rng, profile.isolated_per_h), legs)
    moves += plan_hypnic(rng, hypnic_onsets(hyp), *profile.hypnic, legs)
    moves += plan_rem_twitches(rng, hyp, _uniform(rng, profile.rem_twitch_per_min), legs)
    if profile.myoclonus_per_h:
        moves += plan_myoclonus(rng, hyp, profile.myoclonus_per_h, legs)
    if profile.partner:
        moves += plan_partner(rng, hyp.night_s)
    night = hyp.night_s
    moves = [m for m in moves if 0 < m.onset_s and m.end_s() < night - 1]
    return sorted(moves, key=lambda m: m.onset_s), away


@written_whole  # every file or none: an interrupted night must not pass for a recording
def simulate_limb(
    out_dir: str,
    hours: float = 8.0,
    rate_hz: float = 50.0,
    sides: list[str] | None = None,
    seed: int = 0,
    scenario: str = "plmd-moderate",
    compress: bool = False,
    clock_errors: dict | None = None,  # accepted for the common interface; clocks are true here
) -> dict:
    """Write the night's CSV file(s) (`night.csv`, or `left.csv` and `right.csv`) and
    truth.json into `out_dir`; return the truth."""
    if scenario not in LIMB_SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(LIMB_SCENARIOS)}")
    if not 0.05 <= hours <= 30:
        raise ValueError(f"hours must be 0.05 to 30, not {hours}")
    profile = PROFILES[scenario]
    rng = np.random.default_rng([seed, zlib.crc32(scenario.encode())])
    named = [s for s in (sides or []) if s in LEGS]
    if profile.two_legs and len(named) < 2:
        named = list(LEGS)
    worn_leg = str(rng.choice(LEGS))
    # side key -> the leg that wears that sensor
    worn = {s: s for s in named} if named else {"single": worn_leg}
    night_s = hours * 3600
    hyp = plan_hypnogram(
        rng, night_s, profile.latency_min, profile.awakenings_per_h, profile.long_wake
    )
    legs = {leg: draw_leg(rng) for leg in LEGS}
    moves, away = plan_night(profile, hyp, legs, list(worn.values()), rng)
    start_unix = (
        NIGHT_START_UNIX
        + (seed % 365) * 86400
        + float(rng.integers(0, 120)) * 60
        + (round(float(rng.uniform(0, 60)), 3))
    )
    reading = rng.random() < 0.35  # reading in bed before sleep: knees drawn up
    initial = {leg: posture("knees-up" if reading else "supine", leg, rng) for leg in LEGS}

    files, sensors, gaps, seen, noise, rows = {}, {}, {}, {}, {}, {}
    for index, (side, leg) in enumerate(worn.items()):  # a loop over sensors
        rate = rate_hz
        if profile.noisy and rate_hz in (25.0, 50.0, 100.0):
            rate = {25.0: 26.0, 50.0: 52.0, 100.0: 104.0}[rate_hz]  # a cheap sensor's own ODR
        offset = 0.0 if index == 0 else round(float(rng.uniform(0.5, 15)), 3)
        model = draw_sensor(rng, rate, profile.noisy, offset)
        t = sample_times(night_s, rate, offset)
        tissue = Tissue(hz=float(rng.uniform(10, 24)), damping=float(rng.uniform(0.15, 0.45)))
        rest, seen[side] = render_leg(
            moves, leg, len(t), rate, offset, model.integrate, initial[leg], tissue
        )
        keep = losses(model, t, away, rng)
        gaps[side] = _gaps(t, keep, 1 / rate)
        noise[side] = model.noise_g
        rows[side] = (model, t, rest, keep)
        sensors[side] = model.truth()
        files[side] = "night.csv" if side == "single" else f"{side}.csv"
    if scenario == "healthy":
        _keep_healthy_clean(moves, seen, noise, gaps, hyp, worn)
    events, hidden = truth_events(moves, seen, noise, gaps, hyp, worn)
    for side, (model, t, rest, keep) in rows.items():  # a loop over sensors: the files
        force = rest + body_signal(t, hyp, rng)
        for part in seen[side].values():  # a loop over the leg's movements
            force[part.first : part.first + len(part.delta)] += part.delta
        values, celsius = measure(model, force, t, rng)
        unix = start_unix + stamps(model, t, rng)
        suffix = ".gz" if compress else ""
        files[side] += suffix
        write_csv(
            os.path.join(out_dir, files[side]),
            model,
            unix[keep],
            values[keep],
            celsius[keep],
            compress,
        )
    truth = {
        "family": "limb",
        "scenario": scenario,
        "description": LIMB_SCENARIOS[scenario],
        "seed": seed,
        "hours": hours,
        "start_unix": start_unix,
        "files": files,
        "sensors": sensors,
        "data_gaps_s": gaps,
        "sleep": {
            "onset_s": hyp.onset_s(),
            "offset_s": hyp.offset_s(),
            "wake_bouts_s": [list(b) for b in hyp.wake_bouts()],
        },
        "hypnogram": [list(s) for s in hyp.segments()],
        "events": events,
        "hidden_events": hidden,
        "out_of_bed_s": [[round(a, 3), round(b, 3)] for a, b in away],
    }
    write_file(os.path.join(out_dir, "truth.json"), json.dumps(truth, indent=1))
    return truth


def _gaps(t: np.ndarray, keep: np.ndarray, step: float) -> list[list[float]]:
    """Stretches without samples: from the first missing sample to the next one present."""
    edges = np.diff(np.concatenate([[0], (~keep).astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [
        [round(float(t[a]), 3), round(float(t[b]) if b < len(t) else float(t[-1]) + step, 3)]
        for a, b in zip(starts, stops)
    ]


def _keep_healthy_clean(
    moves: list[Move], seen: dict, noise: dict, gaps: dict, hyp: Hypnogram, worn: dict[str, str]
) -> None:
    """A healthy night has no PLM series in sleep: where its random movements happen to line
    up into one, leave out a movement of it that leaves no trace (rendered, not yet added)."""
    for _ in range(200):  # a loop over repairs, each removing one movement
        events, _ = truth_events(moves, seen, noise, gaps, hyp, worn)
        onsets = {round(m.onset_s, 3): i for i, m in enumerate(moves)}
        bad = [run for run in plm_series(events) if any(e["stage"] != "W" for e in run)]
        if not bad:
            return
        for event in bad[0][2::-1] + bad[0][3:]:  # prefer the third movement of the run
            index = _index_of(moves, seen, event, onsets)
            if index is not None and moves[index].droppable and not lasting(moves[index]):
                moves[index].kind = "dropped"  # never happened: its signal is not added
                for parts in seen.values():  # a loop over sensors
                    parts.pop(index, None)
                break
        else:
            return


def _index_of(moves: list[Move], seen: dict, event: dict, onsets: dict) -> int | None:
    for parts in seen.values():  # a loop over sensors
        for index, part in parts.items():  # a loop over the sensor's movements
            if abs(part.onset_s - event["onset_s"]) < 0.002 and moves[index].tag == event["tag"]:
                return index
    return onsets.get(event["onset_s"])
