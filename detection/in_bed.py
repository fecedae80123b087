"""Time in bed: the denominator of the in-bed PLM index, which needs no sleep estimate.

Ankle actigraphs (PAM-RL and others) count PLMs per hour of lying in bed. In bed is the
sleep window when one is given; else the recording, less data gaps, less the stretches at
its start and end where the lower leg stands upright for minutes (getting up, not a knee
drawn up in bed).

Upright is recognized only where the orientation can tell it: when the limb rests in
several postures during sleep, those gravity directions lie in one plane, the plane
perpendicular to the shank (turning in bed rolls the leg about its long axis). Gravity far
out of that plane means the shank is far from horizontal. Where the sleep postures do not
define such a plane, nothing is trimmed: the whole recording counts as in bed.
"""

from __future__ import annotations

import numpy as np

MIN_SPREAD_DEG = 30.0  # sleep postures must span this much to define the shank's plane
MAX_OFF_PLANE_DEG = 20.0  # ...and lie this close to one plane
MIN_POSTURE_EPOCHS = 10  # a sleep posture is held for 5 minutes at least
SLEEP_CORE_MARGIN_MIN = 60.0  # ...and counts this far inside the sleep period
# Getting up holds the shank upright for minutes; a knee drawn up in bed, or a leg raised
# while fidgeting, for seconds: a single upright epoch would otherwise cut the whole end.
MIN_UPRIGHT_MIN = 2.0


def shank_axis(sleep_gravity: np.ndarray) -> np.ndarray | None:
    """The unit vector perpendicular to the gravity directions of sleep postures, or None
    when they do not span a plane (one posture) or do not lie in one."""
    if len(sleep_gravity) < 2:
        return None
    unit = sleep_gravity / np.linalg.norm(sleep_gravity, axis=1, keepdims=True)
    spread = np.degrees(np.arccos(np.clip(unit @ unit.T, -1.0, 1.0))).max()
    if spread < MIN_SPREAD_DEG:
        return None
    axis = np.linalg.svd(unit, full_matrices=True)[2][-1]  # the null direction
    off_plane = np.degrees(np.arcsin(np.clip(np.abs(unit @ axis), 0.0, 1.0)))
    return axis if off_plane.max() <= MAX_OFF_PLANE_DEG else None


def upright_epochs(
    gravity: np.ndarray, asleep: np.ndarray, max_tilt_deg: float, core_margin: int = 0
) -> np.ndarray:
    """Per epoch (rows of mean acceleration), whether the shank stands more than
    `max_tilt_deg` out of horizontal; all False when the sleep postures cannot tell.

    The postures are taken from sleep at least `core_margin` epochs inside the sleep
    period: sitting still before bed can pass for sleep at its edges, and an upright posture
    in the fit would hide the very thing it looks for."""
    finite = np.isfinite(gravity).all(axis=1) & (np.linalg.norm(gravity, axis=1) > 0.3)
    sleeping = np.flatnonzero(asleep)
    core = np.zeros(len(gravity), dtype=bool)
    if len(sleeping):
        core[sleeping[0] + core_margin : max(sleeping[-1] + 1 - core_margin, 0)] = True
    postures = gravity[asleep & finite & core]
    if len(postures) == 0:
        return np.zeros(len(gravity), dtype=bool)
    # One row per distinct posture (10 degree bins), not per epoch: a long posture must not
    # outweigh a short one in the fit. A posture counts once held for MIN_POSTURE_EPOCHS of
    # sleep: the edges of the estimate may reach into the minutes before lying down.
    unit = postures / np.linalg.norm(postures, axis=1, keepdims=True)
    _, first, counts = np.unique(np.round(unit * 6), axis=0, return_index=True, return_counts=True)
    axis = shank_axis(unit[np.sort(first[counts >= MIN_POSTURE_EPOCHS])])
    if axis is None:
        return np.zeros(len(gravity), dtype=bool)
    tilt = np.full(len(gravity), 0.0)
    norms = np.linalg.norm(gravity[finite], axis=1)
    tilt[finite] = np.degrees(np.arcsin(np.clip(np.abs(gravity[finite] @ axis) / norms, 0, 1)))
    return tilt > max_tilt_deg


def held_runs(flags: np.ndarray, min_length: int) -> np.ndarray:
    """`flags` kept only in runs of at least `min_length` consecutive epochs."""
    edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    held = np.zeros(len(flags), dtype=bool)
    for start, stop in zip(starts, stops):  # a loop over runs
        if stop - start >= min_length:
            held[start:stop] = True
    return held


def in_bed_epochs(
    n_epochs: int,
    epoch_s: float,
    asleep: np.ndarray,
    gravity: np.ndarray | None,
    window_s: tuple[float, float] | None,
    max_tilt_deg: float,
) -> np.ndarray:
    """Per epoch, whether it counts as in bed (data gaps are taken out by the caller)."""
    in_bed = np.ones(n_epochs, dtype=bool)
    if window_s is not None:
        starts = np.arange(n_epochs) * epoch_s
        return (starts + epoch_s > window_s[0]) & (starts < window_s[1])
    if gravity is None or not asleep.any():
        return in_bed
    upright = np.zeros(n_epochs, dtype=bool)
    margin = int(round(SLEEP_CORE_MARGIN_MIN * 60 / epoch_s))
    upright[: min(len(gravity), n_epochs)] = upright_epochs(
        gravity[:n_epochs], asleep[: len(gravity)], max_tilt_deg, margin
    )
    # Sleep while upright is the estimate reaching over the edge of lying down: not sleep.
    sleeping = np.flatnonzero(asleep & ~upright)
    if len(sleeping) == 0:
        return in_bed
    first, last = sleeping[0], sleeping[-1]
    # Only the stretches before the first and after the last sleep are trimmed: getting up
    # in the night is wake in bed by the in-bed convention.
    upright = held_runs(upright, int(np.ceil(MIN_UPRIGHT_MIN * 60 / epoch_s)))
    lead = upright[:first]
    if lead.any():
        in_bed[: np.flatnonzero(lead)[-1] + 1] = False
    trail = upright[last + 1 :]
    if trail.any():
        in_bed[last + 1 + np.flatnonzero(trail)[0] :] = False
    return in_bed
