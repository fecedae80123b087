"""Limb movements among the posture changes of busy wake: hand-built ankle signals."""

from dataclasses import replace

import numpy as np

from sleepmove.detection.grid import regularize
from sleepmove.detection.movements import detect_movements
from sleepmove.detection.params import WASM2016, DetectionParameters

RATE = 50.0


def quiet_leg(seconds=600, seed=0):
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    rest = np.tile([0.3, -0.2, 0.93], (n, 1))
    return np.arange(n) / RATE, rest / np.linalg.norm(rest[0]), rng.normal(0, 0.003, (n, 3))


def rotate(vectors, axis, degrees):
    """Rodrigues' rotation of each row about a unit axis by its own angle."""
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    angle = np.radians(np.asarray(degrees, float))[:, None]
    return (
        vectors * np.cos(angle)
        + np.cross(axis, vectors) * np.sin(angle)
        + axis * (vectors @ axis)[:, None] * (1 - np.cos(angle))
    )


def posture_change(gravity, start_s, length_s, axis, degrees):
    """Turn the leg from start_s on over length_s, and leave it there."""
    a, b = int(start_s * RATE), int((start_s + length_s) * RATE)
    ramp = np.concatenate([np.linspace(0, degrees, b - a), np.full(len(gravity) - b, degrees)])
    gravity[a:] = rotate(gravity[a:], axis, ramp)


def lm(gravity, start_s, length_s, degrees):
    """A dorsiflexion: a tilt about the ankle's hinge (x), held, then released."""
    a, b = int(start_s * RATE), int((start_s + length_s) * RATE)
    edge = int(0.3 * RATE)
    shape = np.ones(b - a)
    shape[:edge] = np.linspace(0, 1, edge)
    shape[-edge:] = np.linspace(1, 0, edge)
    gravity[a:b] = rotate(gravity[a:b], [1.0, 0.0, 0.0], degrees * shape)


def detect(t, xyz, params=None):
    grid = regularize(t, xyz)
    events, _ = detect_movements(
        {"": grid}, grid.start_s, params or DetectionParameters(), WASM2016
    )
    return events.to_pandas()


def test_an_lm_just_before_a_posture_change_is_still_an_lm():
    """The posture change after an event is measured up to 3 s after it, but not inside the
    next event: an LM 1.5 s before the leg turns over kept no posture of its own, and was
    called a movement when the window reached into the turn."""
    t, gravity, noise = quiet_leg()
    lm(gravity, 300.0, 2.0, 15.0)
    posture_change(gravity, 303.5, 2.0, [0.0, 1.0, 0.3], 60.0)
    events = detect(t, gravity + noise)
    assert events["kind"].tolist() == ["lm", "movement"]
    assert abs(events["onset_s"].iloc[0] - 300.0) < 0.3
    assert abs(events["onset_s"].iloc[1] - 303.5) < 0.5


def busy_wake():
    """Turning over every 9-10 s, with an LM in each posture between the turns."""
    t, gravity, noise = quiet_leg()
    turns = [
        (300.0, [0.0, 1.0, 0.3], 40.0),
        (309.5, [1.0, 0.2, 0.0], 35.0),
        (319.0, [0.2, -1.0, 0.4], 45.0),
        (328.0, [-1.0, 0.3, 0.2], 30.0),
    ]
    for start, axis, degrees in turns:
        posture_change(gravity, start, 1.5, axis, degrees)
    lms = [304.5, 314.0, 323.0]
    for start in lms:
        lm(gravity, start, 1.5, 12.0)
    return t, gravity + noise, lms


def test_lms_between_posture_changes_seconds_apart_are_found():
    """In busy wake no 25 s window holds the posture the leg rests in between turns: with
    that rest alone the leg never looked still, and the LMs merged with the turns into one
    long movement. The leg holding still for a second is a rest, at any orientation."""
    t, xyz, lms = busy_wake()
    events = detect(t, xyz)
    found = events[events["kind"] == "lm"]["onset_s"].to_numpy()
    assert len(found) == len(lms)
    assert np.all(np.abs(found - lms) < 0.5)
    assert (events["kind"] == "movement").sum() == 4


def test_without_rests_from_holds_busy_wake_merges():
    """The same night with the 25 s rest alone (hold_min_s = 0): what the holds fix."""
    t, xyz, lms = busy_wake()
    events = detect(t, xyz, replace(DetectionParameters(), hold_min_s=0.0))
    assert (events["kind"] == "lm").sum() < len(lms)


def test_a_held_flexion_released_just_before_the_leg_turns_is_one_lm():
    """The limb's rest is where it holds still, unless it returns from there to where it
    came from (a flexion held, then released). Released 1.2 s before the leg turned over, it
    never held still at its rest a whole second: the flexion was taken for the rest and the
    LM vanished, its release part of the turn (on a hinge night, its onset called a jerk).
    A brief stop back at the rest (0.4 s) shows the return as well as a hold does."""
    t, gravity, noise = quiet_leg()
    lm(gravity, 300.0, 4.0, 4.0)
    posture_change(gravity, 305.2, 2.0, [0.0, 1.0, 0.3], 40.0)
    events = detect(t, gravity + noise)
    assert events["kind"].tolist() == ["lm", "movement"]
    assert abs(events["onset_s"].iloc[0] - 300.0) < 0.3
    assert abs(events["duration_s"].iloc[0] - 4.0) < 0.5
