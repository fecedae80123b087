"""Scenario profiles of the `sway` simulator family: what differs between the nights.

Each profile holds ranges; a night draws its own values from them (seed), so that no two
nights of a scenario share one rhythm, one size of movement or one sleep architecture.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SwayProfile:
    """What a scenario's nights are made of (ranges are drawn per night)."""

    description: str
    two_legs: bool = False
    plms_per_h: tuple[float, float] = (0.0, 3.0)  # periodic LMs per hour of sleep
    isolated_per_h: tuple[float, float] = (1.0, 5.0)  # non-periodic LMs in sleep
    latency_min: tuple[float, float] = (5.0, 30.0)
    awakenings_per_h: tuple[float, float] = (0.5, 2.0)
    mid_wake_min: tuple[float, float] = (0.0, 0.0)  # one long awakening in mid-night
    plmw: bool = False  # periodic LMs while awake (restless legs)
    rem_twitch_per_min: tuple[float, float] = (0.1, 0.8)
    hypnic_p: float = 0.3  # chance of a hypnic jerk at each sleep onset
    partner: bool = False
    noise_mg: tuple[float, float] = (2.0, 7.0)
    leave_bed_p: float = 0.35  # chance a long wake bout includes getting up


PROFILES: dict[str, SwayProfile] = {
    "healthy": SwayProfile(
        "a healthy sleeper: no PLMS, some isolated LMs, fidgeting awake", plms_per_h=(0.0, 0.0)
    ),
    "plmd-moderate": SwayProfile(
        "periodic limb movements in sleep, about 15-30/h, mostly in light NREM",
        plms_per_h=(15.0, 30.0),
    ),
    "plmd-severe": SwayProfile(
        "severe PLMD, about 40-80/h, long series breaking at arousals",
        plms_per_h=(40.0, 80.0),
        awakenings_per_h=(1.5, 3.5),
    ),
    "rls": SwayProfile(
        "restless legs: periodic movements awake before sleep and in a mid-night awakening",
        plms_per_h=(15.0, 40.0),
        latency_min=(25.0, 70.0),
        mid_wake_min=(20.0, 45.0),
        plmw=True,
        leave_bed_p=0.6,
    ),
    "two-legs": SwayProfile(
        "two ankles: series alternating between legs, one-sided and bilateral",
        two_legs=True,
        plms_per_h=(15.0, 45.0),
    ),
    "twitches": SwayProfile(
        "many REM twitches and hypnic jerks, few PLMS",
        plms_per_h=(0.0, 6.0),
        rem_twitch_per_min=(3.0, 10.0),
        hypnic_p=0.9,
        latency_min=(2.0, 20.0),
    ),
    "partner": SwayProfile(
        "moderate PLMD with a restless bed partner shaking the mattress; a noisier sensor",
        plms_per_h=(15.0, 30.0),
        partner=True,
        noise_mg=(8.0, 16.0),
    ),
}

SWAY_SCENARIOS: dict[str, str] = {name: p.description for name, p in PROFILES.items()}
