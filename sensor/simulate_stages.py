"""Entry point of the "stages" simulator family: a night from a hypnogram, as a sensor writes it.

A second family, built independently of `sensor.simulate`, so detectors can be tuned on one
family's seeds and judged on held-out seeds of both. Same signature and output contract:
`<side>.csv` per leg (or `night.csv`), optionally gzip-compressed, and `truth.json`.

truth.json amplitudes are the peak departure (g) of the noise-free signal from the leg's
resting reading (for jerks the peak of the continuous transient, which a slow sensor may
not catch at its samples); `sampled_peak` is that departure at the samples (the largest
over the legs), what the recording holds of it (a 70 ms twitch at 25 Hz: one or two).
"""

from __future__ import annotations

import json
import os

import numpy as np

from sleepmove.base.atomic import write_file
from sleepmove.sensor.simulate import written_whole
from sleepmove.sensor.simulate_clock import ClockError
from sleepmove.sensor.simulate_gaps import data_gaps
from sleepmove.sensor.simulate_stages_night import PROFILES, build_night, side_of
from sleepmove.sensor.simulate_stages_signal import (
    LegRenderer,
    draw_gaps,
    draw_physics,
    host_stream,
    measure,
    sample_times,
    write_csv,
)

STAGES_SCENARIOS: dict[str, str] = {name: p.description for name, p in PROFILES.items()}
RATES_HZ = (12.5, 25.0, 50.0, 100.0)


@written_whole  # every file or none: an interrupted night must not pass for a recording
def simulate_stages(
    out_dir: str,
    hours: float = 8.0,
    rate_hz: float = 50.0,
    sides: list[str] | None = None,
    seed: int = 0,
    scenario: str = "plmd-moderate",
    compress: bool = False,
    clock_errors: dict[str, ClockError] | None = None,
) -> dict:
    """Simulate one night of the "stages" family into out_dir; return its truth.

    `clock_errors` (by side, "" for one unnamed sensor): sensors whose stamps come from their
    own clock on top of the host's (default: none); truth stays in true time."""
    if scenario not in PROFILES:
        raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(PROFILES)}")
    profile = PROFILES[scenario]
    names = list(profile.sides) if sides is None else list(sides)
    legs = names or [""]
    night_s = hours * 3600.0
    night = build_night(seed, hours, legs, scenario)
    rng = np.random.default_rng([seed, 0xB1E])
    day = int(rng.integers(0, 3 * 365))
    start_unix = round(1672531200.0 + day * 86400 + rng.uniform(21.5, 24.5) * 3600, 3)
    noise = night.noise_mg if night.noise_mg is not None else rng.uniform(*profile.noise_mg)
    base_rate = profile.rate_hz or rate_hz
    os.makedirs(out_dir, exist_ok=True)
    truth_sensors: dict[str, dict] = {}
    files: dict[str, str] = {}
    gaps_out: dict[str, list] = {}
    peaks: dict[int, float] = {}
    sampled: dict[int, float] = {}  # the same at the samples
    for i, leg in enumerate(legs):  # a loop over sensors
        leg_rng = np.random.default_rng([seed, 0x1E6, i])
        rate = base_rate
        if i > 0 and leg_rng.random() < 0.5:  # a second sensor of another make
            rate = float(leg_rng.choice([r for r in RATES_HZ if r != base_rate]))
        phys = draw_physics(
            leg_rng,
            rate,
            noise * leg_rng.uniform(0.9, 1.1) if i else noise,
            profile.units,
            profile.time_format,
            0.0 if i == 0 else leg_rng.uniform(0.3, 5.0),
            profile.placement,
        )
        times = sample_times(phys, night_s)
        renderer = LegRenderer(phys, i, leg_rng)
        clean, amp, at_samples = renderer.render(times, night.events, leg, night.posture0)
        for k, v in amp.items():
            peaks[k] = max(peaks.get(k, 0.0), v)
        for k, v in at_samples.items():
            sampled[k] = max(sampled.get(k, 0.0), v)
        xyz = measure(phys, clean, times, leg_rng)
        del clean
        per_8h, per_h = profile.disconnects_per_8h, profile.losses_per_h
        drops, losses = draw_gaps(leg_rng, night_s, per_8h, per_h)
        rows, stamps = host_stream(phys, times, drops, losses, leg_rng)
        key = leg or "single"
        clock = (clock_errors or {}).get(leg)
        if clock is not None:  # after every draw: the night is the same as without it
            kept = clock.kept(times[rows])
            rows, stamps = rows[kept], clock.stamps(stamps[kept], times[rows[kept]])
        # The holes the file shows (drops, losses past 1 s), and the samples a reset lost.
        gaps = data_gaps(stamps, times[rows], night_s, clock)
        name = (leg or "night") + (".csv.gz" if compress else ".csv")
        write_csv(os.path.join(out_dir, name), start_unix + stamps, xyz[rows], phys, compress)
        files[key] = name
        truth_sensors[key] = phys.truth()
        if clock is not None:
            truth_sensors[key]["clock_error"] = clock.truth()
        gaps_out[key] = gaps
    events = [
        {
            "onset_s": round(e["onset_s"], 3),
            "duration_s": round(e["duration_s"], 3),
            "kind": e["kind"],
            "side": side_of(e["_legs"], legs),
            "amplitude": round(peaks.get(k, 0.0), 4),
            "sampled_peak": round(sampled.get(k, 0.0), 4),
            "hypnic": e["hypnic"],
            "posture_change": e["posture_change"],
        }
        for k, e in enumerate(night.events)
    ]
    truth = {
        "scenario": scenario,
        "description": STAGES_SCENARIOS[scenario],
        "seed": seed,
        "family": "stages",
        "start_unix": start_unix,
        "hours": hours,
        "files": files,
        "sensors": truth_sensors,
        "data_gaps_s": gaps_out,
        "sleep": {
            "onset_s": night.onset_s,
            "offset_s": night.offset_s,
            "wake_bouts_s": night.wake_bouts(),
        },
        "hypnogram": [[float(a), float(b), s] for a, b, s in night.hypnogram],
        "events": events,
    }
    if profile.placement == "wrist":
        _write_legs(out_dir, night.leg_events, legs)
    write_file(os.path.join(out_dir, "truth.json"), json.dumps(truth, indent=1))
    return truth


def _write_legs(out_dir: str, events: list[dict], legs: list[str]) -> None:
    """legs.json beside a wrist night's truth.json: the legs' movements (amplitude: the
    planned rotation in degrees; they are not rendered), which the wrist carries only where
    the arm joined them (its events in truth.json) or as faint jolts."""
    record = {
        "placement": "wrist",
        "note": "the legs' movements during a wrist recording; truth.json holds the arm's",
        "events": [
            {
                "onset_s": round(e["onset_s"], 3),
                "duration_s": round(e["duration_s"], 3),
                "kind": e["kind"],
                "side": side_of(e["_legs"], legs),
                "amplitude": round(e["_spec"].get("deg", 0.0), 2),
                "hypnic": e["hypnic"],
                "posture_change": e["posture_change"],
            }
            for e in sorted(events, key=lambda e: e["onset_s"])
        ],
    }
    write_file(os.path.join(out_dir, "legs.json"), json.dumps(record, indent=1))
