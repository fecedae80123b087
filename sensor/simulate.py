"""Simulated nights with ground truth, written in the recorder's CSV format."""

from __future__ import annotations

import functools
import gzip
import json
import os
import shutil
import socket
import tempfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Concatenate, ParamSpec

import numpy as np

from sleepmove.base.atomic import STAGING_PREFIX, write_file
from sleepmove.sensor.simulate_clock import ClockError
from sleepmove.sensor.simulate_gaps import data_gaps
from sleepmove.sensor.simulate_night import (
    SCENARIOS,
    SHORTEST_HOURS,
    WRIST_SCENARIOS,
    NightPlan,
    plan_night,
)
from sleepmove.sensor.simulate_signal import SensorPhysics, draw_physics, leg_signal
from sleepmove.sensor.simulator_families import SIMULATOR_FAMILIES

NIGHT_START_UNIX = 1_741_991_400.0  # 2025-03-14 22:30 UTC; the seed moves it by days and minutes

# What `sleepmove simulate` accepts. A night is at most LONGEST_NIGHT_H (analyze reads no
# longer night); 0.1 h is the shortest every family plans (the stages family needs it; hinge
# and kinematic plan shorter ones, but none of them can be analyzed: 10 min is the usual
# minimum). The simulator holds a night in memory, about 0.3 KB a sample: MOST_SAMPLES
# (30 h at 100 Hz, 3 h at 1000 Hz) keeps it near 3 GB.
SHORTEST_NIGHT_H = 0.1
MOST_SAMPLES = 30 * 3600 * 100


# hinge's scenarios that are always two legs, whatever `sides` asks (the others: one sensor
# unless `sides` names two). The other families say so in their profiles' `sides`.
HINGE_TWO_LEGS = ("alternating", "bilateral")

Options = ParamSpec("Options")


@contextmanager
def staged_night(out_dir: str) -> Iterator[str]:
    """A hidden folder inside `out_dir` to write one night's files into; once all are complete
    they are moved into `out_dir`. An interrupt or a failed write (a full disk) removes the
    folder, and `out_dir` when this made it: a half-written CSV, or one leg's without
    truth.json, would look like a genuine recording (which a rerun refuses to replace). An
    OSError names the file by the name it was to have in `out_dir`."""
    made = not os.path.isdir(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    _remove_abandoned_stages(out_dir)
    stage = tempfile.mkdtemp(dir=out_dir, prefix=f"{STAGING_PREFIX}{os.getpid()}-{_HOST}-")
    try:
        yield stage
        # truth.json first: a folder holding it is an earlier simulation's, which a rerun
        # writes over; a CSV alone would be taken for a recording.
        for name in sorted(os.listdir(stage), key=lambda name: name != "truth.json"):
            os.replace(os.path.join(stage, name), os.path.join(out_dir, name))
        os.rmdir(stage)
    except BaseException as error:
        shutil.rmtree(stage, ignore_errors=True)
        if made:
            shutil.rmtree(out_dir, ignore_errors=True)
        inside = isinstance(error, OSError) and isinstance(error.filename, str)
        if inside and os.path.dirname(os.path.abspath(error.filename)) == os.path.abspath(stage):
            target = os.path.join(out_dir, os.path.basename(error.filename))
            raise OSError(error.errno, error.strerror, target) from None
        raise


# This computer, in a staging folder's name (its process id means nothing elsewhere).
_HOST = f"{zlib.crc32(socket.gethostname().encode()):08x}"


def _remove_abandoned_stages(out_dir: str) -> None:
    """Staging folders left in `out_dir` by a simulation killed outright (kill -9, a power
    cut: nothing could remove them), told by the process named in them being gone: a night's
    half-written files, up to hundreds of MB, stayed for good."""
    for entry in os.scandir(out_dir):  # a loop over the folder's entries
        if not (entry.name.startswith(STAGING_PREFIX) and entry.is_dir(follow_symlinks=False)):
            continue
        pid, host = (entry.name[len(STAGING_PREFIX) :].split("-") + ["", ""])[:2]
        # Only this computer's: a folder shared with another one holds its live stages too.
        if host == _HOST and pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(entry.path, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # gone; a number past any pid
        return False
    except PermissionError:  # another user's: running
        pass
    return True


def written_whole(
    simulate_night: Callable[Concatenate[str, Options], dict],
) -> Callable[Concatenate[str, Options], dict]:
    """`simulate_night(out_dir, ...)` writing into a staging folder (`staged_night`): its
    files reach `out_dir` together, or none does. The same bytes as written in place (a
    gzip header names the file's base name, which the staging folder keeps)."""

    @functools.wraps(simulate_night)
    def whole(out_dir: str, *args: Options.args, **kwargs: Options.kwargs) -> dict:
        with staged_night(out_dir) as stage:
            return simulate_night(stage, *args, **kwargs)

    return whole


def shortest_hours(family: str, scenario: str) -> float:
    """The shortest night the family's scenario can be planned for, hours."""
    return max(SHORTEST_NIGHT_H, SHORTEST_HOURS.get(scenario, 0.0) if family == "hinge" else 0.0)


@written_whole  # every file or none: an interrupted night must not pass for a recording
def simulate(
    out_dir: str,
    hours: float = 8.0,
    rate_hz: float = 50.0,
    sides: list[str] | None = None,
    seed: int = 0,
    scenario: str = "plmd-moderate",
    compress: bool = False,
    mixed_rates: bool = True,
    clock_errors: dict[str, ClockError] | None = None,
) -> dict:
    """Write `<side>.csv` (`night.csv` for one unnamed sensor) and `truth.json`; return truth.

    With `mixed_rates`, a second sensor runs at the first one's rate or twice it (drawn), as
    pairs of different sensors do; without, both run at `rate_hz`. `clock_errors` (by side,
    "" for one unnamed sensor): sensors that stamp on their own clock (default: the host's).
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    sides = list(sides or [])
    if scenario in HINGE_TWO_LEGS and len(sides) < 2:
        sides = ["left", "right"]
    rng = np.random.default_rng(seed)
    if scenario == "lossy":
        rate_hz = min(rate_hz, 25.0)
    plan = plan_night(scenario, hours, sides, rng)
    # Nights of different seeds fall on different dates, as a series of recordings would.
    start_unix = NIGHT_START_UNIX + (seed % 365) * 86400 + int(rng.integers(0, 90)) * 60
    os.makedirs(out_dir, exist_ok=True)
    legs = sides or [""]
    files, sensors, gaps = {}, {}, {}
    for index, side in enumerate(legs):
        factor = 1 if index == 0 else int(rng.choice([1, 2]))  # drawn either way: same nights
        physics = draw_physics(rng, float(rate_hz * (factor if mixed_rates else 1)), scenario)
        offset = 0.0 if index == 0 else float(rng.uniform(1, 20))
        t, xyz = leg_signal(plan, side, physics, offset, rng)
        true_end = float(t[-1])
        t, true_t, xyz = _link(t, xyz, physics, rng)
        clock = (clock_errors or {}).get(side)
        stamps = t
        if clock is not None:  # after every draw: the night is the same as without it
            kept = clock.kept(t)
            t, true_t, xyz, stamps = t[kept], true_t[kept], xyz[kept], clock.stamps(t[kept])
        # The holes the file shows (drops, losses past 1 s), and the samples a reset lost.
        leg_gaps = data_gaps(stamps, true_t, true_end, clock)
        name = (side or "night") + (".csv.gz" if compress else ".csv")
        _write_csv(os.path.join(out_dir, name), start_unix + stamps, xyz)
        files[side or "single"] = name
        sensors[side or "single"] = asdict(physics) | {"start_offset_s": offset}
        if clock is not None:
            sensors[side or "single"]["clock_error"] = clock.truth()
        gaps[side or "single"] = leg_gaps
    truth = truth_record(plan, legs, start_unix, files, sensors, gaps, scenario, seed)
    write_file(os.path.join(out_dir, "truth.json"), json.dumps(truth, indent=1))
    if scenario in WRIST_SCENARIOS:
        leg_plan = NightPlan(plan.hours, plan.sleep_onset_s, plan.sleep_offset_s, [])
        leg_plan.events = plan.leg_events
        leg_truth = truth_record(leg_plan, [""], start_unix, {}, {}, {}, scenario, seed)
        write_legs(out_dir, leg_truth["events"])
    return truth


def write_legs(out_dir: str, events: list[dict]) -> None:
    """legs.json beside a wrist night's truth.json: what the legs did, which the wrist sensor
    carries only where the arm joined (its own events in truth.json) or as faint jolts."""
    record = {
        "placement": "wrist",
        "note": "the legs' movements during a wrist recording; truth.json holds the arm's",
        "events": events,
    }
    write_file(os.path.join(out_dir, "legs.json"), json.dumps(record, indent=1))


def _link(t, xyz, physics: SensorPhysics, rng):
    """BLE: host timestamps with jitter, short packet losses, disconnections, repeated rows.
    Returns the rows' stamps, their true times and their samples."""
    n = len(t)
    keep = np.ones(n, dtype=bool)
    fs = physics.rate_hz
    hours = (t[-1] - t[0]) / 3600
    losses = int(physics.losses_per_hour * hours)
    if losses and n <= int(60 * fs):  # a night under a minute: no packet is lost in it
        losses = 0
    for start in rng.integers(int(60 * fs), n, losses):
        keep[start : start + int(rng.uniform(0.1, 0.8) * fs)] = False
    for start in rng.integers(
        int(600 * fs), max(n - int(600 * fs), int(601 * fs)), physics.disconnects
    ):
        length = int(rng.uniform(30, 240) * fs)
        # A night under ten minutes can draw a drop after its end: none happened. Drawn all
        # the same, so that longer nights (every start inside) keep their draws.
        if start >= n:
            continue
        keep[start : start + length] = False
    stamps = t + rng.normal(0, physics.jitter_s, n)
    stamps = np.maximum.accumulate(stamps[keep])
    xyz = xyz[keep]
    repeat = rng.uniform(size=len(stamps)) < 1e-4
    index = np.sort(np.concatenate([np.arange(len(stamps)), np.flatnonzero(repeat)]))
    return stamps[index], t[keep][index], xyz[index]


def _write_csv(path: str, unix_s: np.ndarray, xyz: np.ndarray) -> None:
    body = np.column_stack([unix_s, xyz])
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "wt") as handle:
            handle.write("time,x,y,z\n")
            np.savetxt(handle, body, fmt=["%.3f", "%.4f", "%.4f", "%.4f"], delimiter=",")
    except OSError as error:  # a full disk: a write names no file, the message must
        if error.filename is None:
            raise OSError(error.errno, error.strerror, path) from None
        raise


def truth_record(plan: NightPlan, legs, start_unix, files, sensors, gaps, scenario, seed) -> dict:
    two = len(legs) == 2
    events = []
    for event in plan.events:
        side = event.side
        if side == "posture":
            side = "bilateral" if two else legs[0]
        events.append(
            {
                "onset_s": round(event.onset_s, 4),
                "duration_s": round(event.duration_s, 4),
                "kind": event.kind,
                "side": side,
                "amplitude": round(event.amplitude, 4),
                "hypnic": event.hypnic,
                "posture_change": event.side == "posture",
            }
        )
    return {
        "scenario": scenario,
        "description": SCENARIOS[scenario],
        "seed": seed,
        "start_unix": start_unix,
        "hours": plan.hours,
        "files": files,
        "sensors": sensors,
        "data_gaps_s": gaps,
        "sleep": {
            "onset_s": plan.sleep_onset_s,
            "offset_s": plan.sleep_offset_s,
            "wake_bouts_s": [list(b) for b in plan.wake_bouts_s],
        },
        "events": events,
    }


def _family_stages():
    """The independently built family, imported only when asked for."""
    from sleepmove.sensor.simulate_stages import STAGES_SCENARIOS, simulate_stages

    return STAGES_SCENARIOS, simulate_stages


def _family_kinematic():
    """The third family, a held-out judge built apart from both, imported only when asked for."""
    from sleepmove.sensor.simulate_kinematic import KINEMATIC_SCENARIOS, simulate_kinematic

    return KINEMATIC_SCENARIOS, simulate_kinematic


def _family_limb():
    """The fourth family, a second judge built blind to the detector and to the other
    families, imported only when asked for."""
    from sleepmove.sensor.simulate_limb import LIMB_SCENARIOS, simulate_limb

    return LIMB_SCENARIOS, simulate_limb


def _family_sway():
    """The fifth family, a third judge built blind to the detector and to the other
    families, imported only when asked for."""
    from sleepmove.sensor.simulate_sway import SWAY_SCENARIOS, simulate_sway

    return SWAY_SCENARIOS, simulate_sway


# The families beside hinge, each loaded when asked for: (scenarios, simulate)
_OTHER_FAMILIES = {
    "stages": _family_stages,
    "kinematic": _family_kinematic,
    "limb": _family_limb,
    "sway": _family_sway,
}


def family_scenarios() -> dict[str, dict[str, str]]:
    """Every simulator family and its scenarios. Families built apart from each other:
    a detector tuned on one would learn that one's picture of a night (see benchmarks)."""
    return {"hinge": SCENARIOS} | {name: load()[0] for name, load in _OTHER_FAMILIES.items()}


def two_leg_scenarios() -> dict[str, set[str]]:
    """Each family's scenarios that write two legs (left.csv, right.csv) unless `sides`
    names one: the benchmarks' nights of them have two."""
    from sleepmove.sensor.simulate_kinematic_profiles import PROFILES as KINEMATIC
    from sleepmove.sensor.simulate_limb import PROFILES as LIMB
    from sleepmove.sensor.simulate_stages_night import PROFILES as STAGES
    from sleepmove.sensor.simulate_sway import PROFILES as SWAY

    return {
        "hinge": set(HINGE_TWO_LEGS),
        "stages": {name for name, profile in STAGES.items() if len(profile.sides) == 2},
        "kinematic": {name for name, profile in KINEMATIC.items() if len(profile.sides) == 2},
        "limb": {name for name, profile in LIMB.items() if profile.two_legs},
        "sway": {name for name, profile in SWAY.items() if profile.two_legs},
    }


def simulate_family(family: str, out_dir: str, **options) -> dict:
    """`simulate` of the named family; returns its truth."""
    if family == "hinge":
        return simulate(out_dir, **options)
    if family in _OTHER_FAMILIES:
        options.pop("mixed_rates", None)  # hinge's alone
        return _OTHER_FAMILIES[family]()[1](out_dir, **options)
    raise ValueError(f"unknown simulator family {family!r}; known: {', '.join(SIMULATOR_FAMILIES)}")
