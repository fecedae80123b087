"""Noise-free sensor signal of one leg of the "kinematic" family, from planned joint motions.

A still leg reads a constant (gravity in its posture). Only around movements is the leg's
motion computed, on a grid `oversample` times finer than the sensor's, with the linear
acceleration taken from the sensor's path; the sensor's own low-pass (a boxcar over its sample
period) brings it to the output rate. Loops run over movements, never over samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sleepmove.sensor.simulate_kinematic_leg import LegGeometry, forces, gravity_only
from sleepmove.sensor.simulate_kinematic_shapes import Shape

MARGIN_S = 0.3


@dataclass
class Component:
    event: int  # index of the truth event it belongs to
    leg: str  # "body" (shared by both legs) or the leg's name
    dof: int  # index into simulate_kinematic_leg.DOFS
    amp: float  # degrees or metres
    onset: float  # true time, s
    shape: Shape

    @property
    def end(self) -> float:
        return self.onset + self.shape.length_s


def render_leg(
    components: list[Component],
    q0: np.ndarray,
    leg: LegGeometry,
    first_s: float,
    rate_hz: float,
    n: int,
    oversample: int,
) -> tuple[np.ndarray, dict[int, float], dict[int, float]]:
    """Clean signal (n,3) in g at samples first_s + i / rate_hz, each event's peak departure
    (g) from the reading just before it as the sensor samples it, and the same of the
    gravity part alone (how far the movement tilts the sensor)."""
    out = np.empty((n, 3))
    peaks: dict[int, float] = {}
    tilts: dict[int, float] = {}
    comps = sorted(components, key=lambda c: c.onset)
    baseline = np.array(q0, dtype=np.float64)
    cursor = 0  # first sample not yet written
    for span_comps in _spans(comps):
        start = min(c.onset for c in span_comps) - MARGIN_S
        end = max(c.end for c in span_comps) + MARGIN_S
        a = int(np.clip(np.floor((start - first_s) * rate_hz), 0, n))
        b = int(np.clip(np.ceil((end - first_s) * rate_hz) + 1, a, n))
        if a > cursor:
            out[cursor:a] = gravity_only(baseline, leg)[0]
        if b > a:
            times = first_s + np.arange(a, b) / rate_hz
            offsets = (np.arange(oversample) - (oversample - 1) / 2) / (rate_hz * oversample)
            fine = (times[:, None] + offsets[None, :]).ravel()
            q = np.repeat(baseline[None, :], len(fine), axis=0)
            for c in span_comps:
                q[:, c.dof] += c.amp * c.shape(fine - c.onset)
            force, gravity = forces(q, 1.0 / (rate_hz * oversample), leg)
            out[a:b] = force.reshape(b - a, oversample, 3).mean(axis=1)
            _peaks(span_comps, out[a:b], a, first_s, rate_hz, peaks)
            tilt = gravity.reshape(b - a, oversample, 3).mean(axis=1)
            _peaks(span_comps, tilt, a, first_s, rate_hz, tilts)
            cursor = b
        else:
            cursor = max(cursor, a)
        for c in span_comps:
            if c.shape.persistent:
                baseline[c.dof] += c.amp
    if cursor < n:
        out[cursor:] = gravity_only(baseline, leg)[0]
    return out, peaks, tilts


def rest_turns(components: list[Component], q0: np.ndarray, leg: LegGeometry) -> dict[int, float]:
    """Each event's rest-to-rest change of the leg's orientation (degrees): the angle between
    the gravity direction in the sensor frame at rest before the event and at rest after it.

    Only persistent (`step`) components leave a leg elsewhere; movements of one leg never
    overlap in time, so the rest before an event is q0 plus every earlier event's steps."""
    by_event: dict[int, list[Component]] = {}
    for c in sorted(components, key=lambda c: c.onset):
        by_event.setdefault(c.event, []).append(c)
    baseline = np.array(q0, dtype=np.float64)
    turns: dict[int, float] = {}
    for event, comps in sorted(by_event.items(), key=lambda kv: kv[1][0].onset):
        after = baseline.copy()
        for c in comps:
            if c.shape.persistent:
                after[c.dof] += c.amp
        before_g, after_g = gravity_only(np.stack([baseline, after]), leg)
        cosine = float(np.clip(np.dot(before_g, after_g), -1.0, 1.0))
        turns[event] = float(np.degrees(np.arccos(cosine)))
        baseline = after
    return turns


def _spans(comps: list[Component]):
    """Groups of components whose windows (with margins) overlap."""
    group: list[Component] = []
    group_end = -np.inf
    for c in comps:
        if group and c.onset - MARGIN_S > group_end + MARGIN_S:
            yield group
            group, group_end = [], -np.inf
        group.append(c)
        group_end = max(group_end, c.end)
    if group:
        yield group


def _peaks(comps, span, a, first_s, rate_hz, peaks) -> None:
    b = a + len(span)
    by_event: dict[int, tuple[float, float]] = {}
    for c in comps:
        lo, hi = by_event.get(c.event, (np.inf, -np.inf))
        by_event[c.event] = (min(lo, c.onset), max(hi, c.end))
    for event, (onset, end) in by_event.items():
        i0 = int(np.clip(np.floor((onset - first_s) * rate_hz) - 1, a, b - 1))
        i1 = int(np.clip(np.ceil((end - first_s) * rate_hz) + 1, i0 + 1, b))
        departure = np.linalg.norm(span[i0 - a : i1 - a] - span[i0 - a], axis=1).max()
        peaks[event] = max(peaks.get(event, 0.0), float(departure))
