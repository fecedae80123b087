"""Scenarios of the "kinematic" simulator family: who sleeps, how, and with which sensor."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    description: str
    sides: tuple[str, ...] = ()
    rate_hz: float | None = None  # forces the sensor's rate
    latency_min: tuple[float, float] = (5, 25)
    final_wake_min: tuple[float, float] = (3, 15)
    awakenings_per_h: float = 1.2
    waso_bouts: tuple[int, int] = (0, 1)
    waso_min: tuple[float, float] = (4, 15)
    plms_per_h: tuple[float, float] = (0, 0)  # PLM series target, per hour of NREM+REM sleep
    plmw_per_h: float = 0.0  # PLMs while awake, per hour of wake
    lm_sleep_per_h: tuple[float, float] = (1, 4)  # isolated LMs in sleep
    turns_sleep_per_h: tuple[float, float] = (1, 3)  # posture changes in sleep
    turns_wake_per_h: tuple[float, float] = (4, 10)
    leg_shifts_per_h: tuple[float, float] = (0.5, 2)  # one leg repositioned, in sleep
    fidget_active: tuple[float, float] = (0.15, 0.4)  # share of wake in fidgeting bursts
    fidget_per_min: tuple[float, float] = (1.5, 4)  # movements per minute in a burst
    still_wake: float = 0.35  # chance that a wake bout is lain through still
    twitch_clusters_per_min: tuple[float, float] = (0.1, 0.4)  # in REM
    nrem_twitch_per_h: tuple[float, float] = (0, 4)
    hypnic: tuple[float, int] = (0.3, 2)  # chance of sleep starts at a sleep onset; at most
    lateral: float = 0.45  # how much the sleeper prefers lying on a side
    bilateral: float = 0.35  # two legs: share of PLM series on both legs at once
    alternating: float = 0.15  # two legs: share of PLM series alternating between legs
    noise_mg: tuple[float, float] = (1.5, 4.0)
    spikes_per_h: float = 0.5
    bad_share: tuple[float, float] = (0.001, 0.008)
    disconnects_per_8h: float = 0.5


PROFILES: dict[str, Profile] = {
    "healthy": Profile("healthy sleeper: no PLMS, a few isolated LMs, turns and REM twitches"),
    "plmd-moderate": Profile(
        "PLM series in NREM sleep, PLMS index about 15-35/h", plms_per_h=(15, 35)
    ),
    "plmd-severe": Profile(
        "PLM series through NREM sleep and some in wake, PLMS index about 50-90/h",
        plms_per_h=(50, 90),
        plmw_per_h=20,
        lm_sleep_per_h=(3, 8),
        awakenings_per_h=2.0,
    ),
    "restless-wake": Profile(
        "long fidgeting wake (sleep latency and wake bouts), no PLMS",
        latency_min=(25, 70),
        waso_bouts=(2, 4),
        waso_min=(8, 25),
        fidget_active=(0.5, 0.85),
        fidget_per_min=(3, 8),
        still_wake=0.0,
        turns_wake_per_h=(8, 16),
    ),
    "twitchy": Profile(
        "many REM twitches and sleep starts (jerks), few LMs, no PLMS",
        twitch_clusters_per_min=(1.5, 3.0),
        nrem_twitch_per_h=(20, 60),
        hypnic=(0.95, 4),
        awakenings_per_h=2.0,
    ),
    "two-legs": Profile(
        "both legs: PLM series on one leg, both at once or alternating, PLMS 20-45/h",
        sides=("left", "right"),
        plms_per_h=(20, 45),
    ),
    "low-rate": Profile(
        "25 Hz sensor with bursty packet loss and link drops, PLMS 15-35/h",
        rate_hz=25.0,
        plms_per_h=(15, 35),
        noise_mg=(2.0, 5.0),
        bad_share=(0.03, 0.08),
        disconnects_per_8h=2.5,
    ),
    "side-sleeper": Profile(
        "mostly on one side, where hip and knee flex nearly about the vertical; PLMS 15-35/h",
        plms_per_h=(15, 35),
        lateral=0.9,
    ),
}
