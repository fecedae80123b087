"""Entry point of the "kinematic" simulator family: a jointed leg in a bed, as a shank sensor
records it. A third family, built apart from `hinge` and `stages` as a held-out judge.

The leg is three segments (pelvis-thigh-shank, the foot acting through its tendons) whose
joint angles follow minimum-jerk or damped second-order time courses; the body rolls between
supine, side and prone postures. The sensor, strapped on the distal shank at some angle,
feels gravity turned by the shank's orientation plus the second derivative of its position,
then its own flaws (offset, gain, cross-axis, white + 1/f noise, offset random walk and
warm-up drift, spikes, LSB, full scale) and a BLE link's (packets lost in bursts, drops,
arrival stamps with jitter). Same signature and output contract as the other families:
`<side>.csv` per leg (or `night.csv`), optionally gzip-compressed, and `truth.json`.

Truth in true time. `amplitude` is the event's peak departure (g) of the noise-free signal,
as the sensor samples it, from the reading just before it (the largest over the legs that
move). A movement that stays below what any accelerometer of that noise could see (below
max(8 mg, 3x the sensor's noise) on every leg that moved: a leg sliding across the sheet,
a side sleeper's slow flexion about the vertical, a toe twitch) is not an event the
recording holds: it goes to `hidden_events`, not `events`. `transient_only` lists the events
(indices) that tilt no sensor by that much and show only as linear acceleration at their
start and end (a side sleeper's flexion about the vertical).

An event's kind follows the README's convention, from the leg's kinematics: an event that
leaves a leg it moves resting at 5 degrees or more from where it rested before (the angle
between the gravity direction in the sensor frame at rest before and at rest after) is a
posture change, kind `movement` (a turn, or a leg shift that repositions the shank);
otherwise the duration decides (`jerk` < 0.5 s, `lm` up to 10 s, `movement` beyond). PLM
series are planned from pulses only (the leg returns to where it was), never a posture change.
"""

from __future__ import annotations

import json
import os
import zlib

import numpy as np

from sleepmove.base.atomic import write_file
from sleepmove.sensor.simulate import written_whole
from sleepmove.sensor.simulate_clock import ClockError
from sleepmove.sensor.simulate_gaps import data_gaps
from sleepmove.sensor.simulate_kinematic_hypnogram import segments, sleep_period
from sleepmove.sensor.simulate_kinematic_leg import draw_geometry
from sleepmove.sensor.simulate_kinematic_plan import build_plan
from sleepmove.sensor.simulate_kinematic_profiles import PROFILES
from sleepmove.sensor.simulate_kinematic_render import render_leg, rest_turns
from sleepmove.sensor.simulate_kinematic_sensor import draw_spec, link, measure, write_csv

KINEMATIC_SCENARIOS: dict[str, str] = {name: p.description for name, p in PROFILES.items()}
ORIGIN_UNIX = 1_704_067_200.0  # 2024-01-01 00:00 UTC
FLOOR_G = 0.008  # an event under max(FLOOR_G, 3 x noise) on every leg is hidden
INTERNAL_HZ = 160.0  # movements are computed at least this finely, then low-passed
POSTURE_DEG = 5.0  # a rest-to-rest change of the gravity direction this large: posture change


@written_whole  # every file or none: an interrupted night must not pass for a recording
def simulate_kinematic(
    out_dir: str,
    hours: float = 8.0,
    rate_hz: float = 50.0,
    sides: list[str] | None = None,
    seed: int = 0,
    scenario: str = "plmd-moderate",
    compress: bool = False,
    clock_errors: dict[str, ClockError] | None = None,
) -> dict:
    """Simulate one night of the "kinematic" family into out_dir; return its truth.

    `clock_errors` (by side, "" for one unnamed sensor): sensors whose stamps come from their
    own clock on top of the host's (default: none); truth stays in true time."""
    if scenario not in PROFILES:
        raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(PROFILES)}")
    profile = PROFILES[scenario]
    legs = (list(profile.sides) if sides is None else list(sides)) or [""]
    night_s = hours * 3600.0
    rng = np.random.default_rng([seed, 0x4B1E, zlib.crc32(scenario.encode())])
    signs = {leg: _sign(leg, rng) for leg in legs}
    plan = build_plan(rng, hours, legs, signs, profile)
    day = int(rng.integers(0, 2 * 365))
    start_unix = round(ORIGIN_UNIX + day * 86400 + rng.uniform(21.0, 24.5) * 3600, 3)
    base_rate = profile.rate_hz or rate_hz
    os.makedirs(out_dir, exist_ok=True)
    files, sensors, gaps_out = {}, {}, {}
    peaks: dict[str, dict[int, float]] = {}
    tilts: dict[str, dict[int, float]] = {}
    floors: dict[str, float] = {}
    turns: dict[str, dict[int, float]] = {}
    for i, leg in enumerate(legs):  # a loop over sensors
        leg_rng = np.random.default_rng([seed, 0x5E45, i, zlib.crc32(scenario.encode())])
        geometry = draw_geometry(leg_rng, signs[leg])
        rate = base_rate
        if i > 0 and leg_rng.random() < 0.4:  # a second sensor of another make
            rate = base_rate * 2 if base_rate <= 50 else base_rate / 2
        offset = 0.0 if i == 0 else float(leg_rng.uniform(0.3, 5.0))
        spec = draw_spec(leg_rng, rate, profile, night_s, offset)
        true_rate = spec.true_rate_hz
        n = int((night_s - offset) * true_rate)
        times = offset + np.arange(n) / true_rate
        moving = [c for c in plan.components if c.leg in ("body", leg)]
        turns[leg] = rest_turns(moving, plan.q0[leg], geometry)
        oversample = max(2, int(np.ceil(INTERNAL_HZ / rate)))
        clean, peaks[leg], tilts[leg] = render_leg(
            moving, plan.q0[leg], geometry, offset, true_rate, n, oversample
        )
        xyz = measure(spec, clean, times, leg_rng)
        del clean
        rows, stamps = link(spec, times, leg_rng)
        key = leg or "single"
        clock = (clock_errors or {}).get(leg)
        if clock is not None:  # after every draw: the night is the same as without it
            kept = clock.kept(times[rows])
            rows, stamps = rows[kept], clock.stamps(stamps[kept], times[rows[kept]])
        # The holes the file shows (drops, losses past 1 s), and the samples a reset lost.
        gaps = data_gaps(stamps, times[rows], night_s, clock)
        name = (leg or "night") + (".csv.gz" if compress else ".csv")
        write_csv(os.path.join(out_dir, name), start_unix + stamps, xyz[rows], compress)
        files[key] = name
        sensors[key] = spec.truth() | {"geometry": geometry.truth()}
        if clock is not None:
            sensors[key]["clock_error"] = clock.truth()
        gaps_out[key] = gaps
        floors[leg] = max(FLOOR_G, 3 * spec.noise_g)
    events, hidden, series, transient = _truth_events(plan, legs, peaks, tilts, floors, turns)
    onset, offset_s, bouts = sleep_period(plan.stages)
    truth = {
        "scenario": scenario,
        "description": KINEMATIC_SCENARIOS[scenario],
        "seed": seed,
        "family": "kinematic",
        "start_unix": start_unix,
        "hours": hours,
        "files": files,
        "sensors": sensors,
        "data_gaps_s": gaps_out,
        "sleep": {"onset_s": onset, "offset_s": offset_s, "wake_bouts_s": bouts},
        "hypnogram": [[a, b, s] for a, b, s in segments(plan.stages)],
        "events": events,
        "hidden_events": hidden,
        "plm_series_planned": series,
        "transient_only": transient,
    }
    write_file(os.path.join(out_dir, "truth.json"), json.dumps(truth, indent=1))
    return truth


def _sign(leg: str, rng) -> float:
    if leg.lower().startswith("l"):
        return 1.0
    if leg.lower().startswith("r"):
        return -1.0
    return float(rng.choice([-1.0, 1.0]))


def _kind(e: dict, turned_deg: float) -> tuple[str, bool]:
    """(kind, posture_change) of a planned event whose legs' resting orientation changes by
    at most `turned_deg`: the README's convention, whatever the planner called it."""
    if turned_deg >= POSTURE_DEG:
        return "movement", True
    if e["duration_s"] < 0.5:
        return "jerk", False
    return ("lm" if e["duration_s"] <= 10.0 else "movement"), False


def _truth_events(plan, legs, peaks, tilts, floors, turns):
    """Visible events (the contract's fields), hidden ones, and the planned PLM series as
    indices into the visible events, and the visible events that tilt no sensor by its floor
    (seen only through their linear acceleration: flexion about the vertical). `turns`: each
    leg's rest-to-rest orientation change per event (degrees), which decides posture changes."""
    events, hidden, index_of, transient = [], [], {}, []
    for k, e in enumerate(plan.events):
        kind, posture = _kind(e, max(turns[leg].get(k, 0.0) for leg in e["legs"]))
        if e["series"] is not None and (posture or kind != "lm"):
            raise AssertionError(f"PLM series member {k} is not an LM: {kind}")
        amplitude = max(peaks[leg].get(k, 0.0) for leg in e["legs"])
        seen = any(peaks[leg].get(k, 0.0) >= floors[leg] for leg in e["legs"])
        side = "bilateral" if len(legs) == 2 and len(e["legs"]) == 2 else e["legs"][0]
        record = {
            "onset_s": round(e["onset_s"], 3),
            "duration_s": round(e["duration_s"], 3),
            "kind": kind,
            "side": side,
            "amplitude": round(amplitude, 4),
            "hypnic": bool(e["hypnic"]),
            "posture_change": posture,
        }
        if seen:
            index_of[k] = len(events)
            if all(tilts[leg].get(k, 0.0) < floors[leg] for leg in e["legs"]):
                transient.append(len(events))
            events.append(record)
        else:
            hidden.append(record | {"why": "below max(8 mg, 3 x noise) on every leg that moved"})
    series = [[index_of[k] for k in s if k in index_of] for s in plan.series]
    return events, hidden, series, transient
