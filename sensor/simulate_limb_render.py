"""The limb family's rendering: a leg's movements into the specific force its strap feels.

Each movement is rendered on its own short fine grid (so its true peak is known) and averaged
down to the sensor's samples; the shank's resting posture holds between movements and takes
each movement's lasting turn at its end. A faint body signal rides on top: the heartbeat's
recoil along the body (ballistocardiogram) and breathing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sleepmove.sensor.simulate_limb_hypnogram import Hypnogram
from sleepmove.sensor.simulate_limb_leg import (
    FINE_HZ,
    Action,
    Tissue,
    posture_matrix,
    render,
    rotation_vector,
    settled,
)
from sleepmove.sensor.simulate_limb_moves import Move


@dataclass
class Seen:
    """One leg's part of a movement as its sensor got it."""

    onset_s: float
    end_s: float
    amplitude: float  # peak departure of the noise-free signal, g (continuous)
    sampled: float  # the same over the sensor's samples
    first: int  # sample index range of its window
    delta: np.ndarray  # (samples, 3) change it makes, g


def sample_times(night_s: float, rate_hz: float, offset_s: float) -> np.ndarray:
    return offset_s + np.arange(int((night_s - offset_s) * rate_hz)) / rate_hz


def render_leg(
    moves: list[Move],
    leg: str,
    n: int,
    rate_hz: float,
    offset_s: float,
    integrate: float,
    initial: tuple[float, float],
    tissue: Tissue,
) -> tuple[np.ndarray, dict[int, Seen]]:
    """The leg's resting signal (n, 3, g) and each of its movements as seen (by move index)."""
    frame = posture_matrix(*initial)
    k = max(2, int(np.ceil(FINE_HZ / rate_hz)))
    step = 1.0 / (rate_hz * k)
    average = max(1, int(round(integrate * k)))
    ends: list[tuple[int, Action]] = []
    seen: dict[int, Seen] = {}
    for index in sorted(range(len(moves)), key=lambda i: moves[i].onset_s):  # a loop over moves
        action = moves[index].actions.get(leg)
        if action is None:
            continue
        if action.target is not None:
            action.residual = rotation_vector(frame.T @ posture_matrix(*action.target))
        post = 0.6 + (
            min(4.0, 4 / (action.bed_damping * 2 * np.pi * action.bed_hz)) if action.bed_g else 0.0
        )
        first = max(0, int(np.ceil((action.onset_s - 0.2 - offset_s) * rate_hz)))
        stop = min(n, int((action.onset_s + action.duration_s + post - offset_s) * rate_hz) + 1)
        ends.append((max(stop, first), action))
        if stop <= first + 1:
            frame = settled(frame, action)
            continue
        rows = np.arange(first, stop)
        fine = offset_s + (rows[:, None] * k - (k - 1) + np.arange(k)[None]) * step
        delta = render(action, fine - action.onset_s, frame, tissue)
        if action.pulse_g and not action.impacts_g:
            # A twitch is drawn by its peak at the strap, whatever the tissue made of the kick
            # (all its parts are linear in the kick's size at such small turns).
            delta *= action.pulse_g / max(float(np.max(np.linalg.norm(delta, axis=2))), 1e-12)
        sampled = delta[:, k - average :, :].mean(axis=1)
        seen[index] = Seen(
            onset_s=action.onset_s,
            end_s=action.onset_s + action.duration_s,
            amplitude=float(np.max(np.linalg.norm(delta, axis=2))),
            sampled=float(np.max(np.linalg.norm(sampled, axis=1))),
            first=first,
            delta=sampled,
        )
        frame = settled(frame, action)
    # The resting posture takes each lasting turn where its movement's window ends (in the
    # order they end, where windows overlap).
    frame = posture_matrix(*initial)
    switches, ups = [0], [frame[2].copy()]
    for stop, action in sorted(ends, key=lambda pair: pair[0]):  # a loop over moves
        frame = settled(frame, action)
        switches.append(min(stop, n))
        ups.append(frame[2].copy())
    lengths = np.diff(np.append(switches, n))
    return np.repeat(np.array(ups), lengths, axis=0), seen


def body_signal(t: np.ndarray, hyp: Hypnogram, rng: np.random.Generator) -> np.ndarray:
    """Heartbeat recoil (mostly along the shank, which lies along the body) and breathing."""
    rate = np.array([66, 60, 57, 54, 61])[hyp.stage_at(t)] * rng.uniform(0.85, 1.15)
    breath_hz = rng.uniform(0.2, 0.3)
    # Heart period with respiratory sinus arrhythmia; beats where the phase passes whole turns.
    beat_phase = np.cumsum(rate / 60 * (1 + 0.05 * np.sin(2 * np.pi * breath_hz * t))) * (
        t[1] - t[0] if len(t) > 1 else 0.02
    )
    since = (beat_phase % 1.0) * 60 / rate  # seconds since the last beat
    wave = sum(
        a * np.exp(-(((since - c) / 0.025) ** 2))
        for a, c in ((0.4, 0.1), (-1.0, 0.18), (1.0, 0.25), (-0.6, 0.33))
    )
    size = rng.uniform(0.0003, 0.0015)
    out = np.zeros((len(t), 3))
    out[:, 0] = size * wave
    out[:, 1] = 0.4 * size * wave + rng.uniform(0.0001, 0.0004) * np.sin(2 * np.pi * breath_hz * t)
    return out
