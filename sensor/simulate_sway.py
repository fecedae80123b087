"""The `sway` simulator family: nights of an ankle-worn BLE accelerometer with ground truth.

An independent model (see simulate_sway_* for each part): a sleep architecture of cycles and
awakenings (sleep), the sleeper's and a partner's movements planned on it (plan), each moving
a rigid shank pivoting at the knee (motion), seen by a band with its own errors, packet loss
and time stamps (sensor). truth.json lists every event the sensor could show, and the ones too
small for it (`hidden_events`).
"""

from __future__ import annotations

import json
import os
import zlib

import numpy as np

from sleepmove.sensor.simulate import written_whole
from sleepmove.sensor.simulate_sway_motion import LegTrack, Move
from sleepmove.sensor.simulate_sway_plan import plan_moves
from sleepmove.sensor.simulate_sway_profiles import PROFILES, SWAY_SCENARIOS
from sleepmove.sensor.simulate_sway_sensor import draw_sensor, record, write_csv
from sleepmove.sensor.simulate_sway_sleep import plan_hypnogram, sleep_summary

__all__ = ["PROFILES", "SWAY_SCENARIOS", "simulate_sway"]

ZONES_MIN = [-300, -240, 0, 60, 120, 330, 540, 600]
MIN_VISIBLE_G = 0.008


def _start_unix(rng: np.random.Generator, zone_min: int) -> float:
    """A bedtime between 21:00 and 01:00 local time, some night of 2022-2025."""
    day = 1640995200 + 86400 * int(rng.integers(0, 4 * 365))
    local = day + 21 * 3600 + rng.uniform(0, 4 * 3600)
    return round(local - zone_min * 60, 3)


def _event(move: Move, amplitude: float, sampled: float) -> dict:
    event = {
        "onset_s": round(move.onset, 3),
        "duration_s": round(move.duration, 3),
        "kind": move.kind,
        "side": move.side,
        "amplitude": round(amplitude, 4),
    }
    if move.kind == "jerk":
        event["sampled_peak"] = round(sampled, 4)
    event.update(move.extra)
    return event


def _in_gaps(a: float, b: float, gaps: list[list[float]]) -> bool:
    return any(g0 <= a and b <= g1 for g0, g1 in gaps)


@written_whole  # every file or none: an interrupted night must not pass for a recording
def simulate_sway(
    out_dir: str,
    hours: float = 8.0,
    rate_hz: float = 50.0,
    sides: list[str] | None = None,
    seed: int = 0,
    scenario: str = "plmd-moderate",
    compress: bool = False,
    clock_errors: dict | None = None,
) -> dict:
    """Write the night's CSV file(s) and truth.json into out_dir; return the truth.

    sides: None for the scenario's own legs; two names for two ankles ("left", "right"); one
    name for one sensor. `clock_errors` is accepted for the common signature and ignored.
    """
    if scenario not in PROFILES:
        raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(PROFILES)}")
    profile = PROFILES[scenario]
    rng = np.random.default_rng([seed, zlib.crc32(scenario.encode())])
    names = list(sides) if sides else (["left", "right"] if profile.two_legs else ["single"])
    two = len(names) == 2
    # Which leg each sensor is strapped to (a single band: either ankle).
    legs = ["left", "right"] if two else [str(rng.choice(["left", "right"]))]
    side_of_leg = dict(zip(legs, names))
    hypnogram = plan_hypnogram(
        rng, hours, profile.latency_min, profile.awakenings_per_h, profile.mid_wake_min
    )
    end = hypnogram[-1][1]
    zone = int(rng.choice(ZONES_MIN))
    start_unix = _start_unix(rng, zone)
    sensors = {name: draw_sensor(rng, rate_hz, profile.noise_mg, zone) for name in names}
    moves, (th0, ps0) = plan_moves(rng, profile, hypnogram, legs)
    tracks = {}
    for leg, name in side_of_leg.items():
        s = sensors[name]
        n = int((end - s.start_offset_s) * s.true_rate)
        tracks[leg] = LegTrack(
            s.start_offset_s,
            s.true_rate,
            n,
            rng.uniform(0.25, 0.4),
            th0 + rng.normal(0, 0.05),
            ps0 + rng.normal(0, 0.1),
        )
    seen = []
    for move in moves:  # in time order: each movement starts from the posture left before
        peak, sampled, visible = 0.0, 0.0, False
        for leg, lm in move.legs.items():
            p, q = tracks[leg].add(move, lm)
            limit = max(MIN_VISIBLE_G, 3 * sensors[side_of_leg[leg]].noise_g)
            peak, sampled, visible = max(peak, p), max(sampled, q), visible or p >= limit
        seen.append((move, peak, sampled, visible, list(move.legs)))
    files, gaps = {}, {}
    for leg, name in side_of_leg.items():
        file = ("night" if name == "single" else name) + (".csv.gz" if compress else ".csv")
        _, stamps, readings, gaps[name] = record(rng, sensors[name], tracks[leg].signal())
        write_csv(os.path.join(out_dir, file), stamps, start_unix, readings, sensors[name])
        files[name] = file
    events, hidden = [], []
    for move, peak, sampled, visible, moved in seen:
        event = _event(move, peak, sampled)
        end_s = move.onset + move.duration
        if all(_in_gaps(move.onset, end_s, gaps[side_of_leg[leg]]) for leg in moved):
            hidden.append({**event, "reason": "data gap"})
        elif visible:
            events.append(event)
        else:
            hidden.append({**event, "reason": "below the sensor's noise"})
    truth = {
        "family": "sway",
        "scenario": scenario,
        "description": SWAY_SCENARIOS[scenario],
        "seed": seed,
        "hours": hours,
        "start_unix": start_unix,
        "files": files,
        "sensors": {
            name: {**s.truth(), "leg": leg}
            for leg, name in side_of_leg.items()
            for s in [sensors[name]]
        },
        "data_gaps_s": gaps,
        "sleep": sleep_summary(hypnogram),
        "hypnogram": [[a, b, s] for a, b, s in hypnogram],
        "events": events,
        "hidden_events": hidden,
    }
    with open(os.path.join(out_dir, "truth.json"), "w") as handle:
        json.dump(truth, handle, indent=1)
    return truth
