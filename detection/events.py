"""Movement events on one leg: hysteresis bursts, same-leg merging, features, kinds."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sleepmove.detection.filters import (
    angle_deg,
    disjoint_span_means,
    first_at_max,
    moving_mean_in_spans,
    moving_mean_twice_in_spans,
    moving_means_in_spans,
    ranges_index,
    span_means,
    spans_reach_far,
    true_runs,
)
from sleepmove.detection.parallel import in_background
from sleepmove.detection.params import DetectionParameters
from sleepmove.detection.preprocess import LegSignals
from sleepmove.detection.table import Table

KINDS = ("jerk", "lm", "movement", "hft", "alma")


def find_bursts(sig: LegSignals, params: DetectionParameters) -> tuple[np.ndarray, np.ndarray]:
    """Sample spans where activity rises over the onset threshold, bounded by the offset one."""
    starts, ends = true_runs(sig.activity > params.offset_factor)
    if len(starts) == 0:
        return starts, ends
    reaches_onset = span_max(sig.activity, starts, ends) > params.onset_factor
    starts, ends = _tighten(sig, starts[reaches_onset], ends[reaches_onset], params)
    # Tightened neighbours may now touch or overlap: one burst then.
    order = np.argsort(starts, kind="stable")
    return merge_close(starts[order], ends[order], 1)


def split_jerk_runs(
    sig: LegSignals,
    starts: np.ndarray,
    ends: np.ndarray,
    merge_gap: int,
    params: DetectionParameters,
) -> tuple[np.ndarray, np.ndarray]:
    """Movements (merged bursts: sorted, disjoint) split where the limb rests between brief
    peaks: the jerks of a cluster, as in benign sleep myoclonus of infancy (1-5 a second).

    The 0.5 s slow signal smears a brief jerk over a quarter second either side, so a run
    of jerks a few tenths of a second apart holds the activity over its offset from the
    first jerk to the last, although the limb is back at rest between them. At rest: every
    sample's departure from rest under `twitch_support_factor` x the noise floor (noise
    alone stays under it) for `jerk_rest_s` on end, two samples at least. A movement is
    split at a rest of `merge_gap` samples or more (activity that far apart is not one
    movement, wherever the smoothing put the burst's edges), and at a shorter one between
    brief peaks (each under `jerk_max_s`) in a run of `jerk_cluster_min_jerks` or more, in a
    movement that such peaks make up most of: a series of jerks, not one LM. An LM's held
    tilt keeps it away from rest, so it is not split; a brief peak beside a longer part
    stays with it."""
    if len(starts) == 0:
        return starts, ends
    least = max(int(round(params.jerk_rest_s * sig.rate_hz)), 2)
    inside, offsets = ranges_index(starts, ends)
    level = sig.floor_at(inside) * np.float32(params.twitch_support_factor)
    rest_from, rest_to = true_runs(sig.deviation_sq[inside] < np.square(level))
    # Runs are found in the movements' samples end to end: only one inside a movement,
    # touching neither of its edges (nor running on into the next one), splits it.
    movement = np.searchsorted(offsets, rest_from, side="right") - 1
    movement_end = np.append(offsets[1:], len(inside))[movement]
    rest = (
        (rest_to - rest_from >= least) & (rest_from > offsets[movement]) & (rest_to < movement_end)
    )
    if not rest.any():
        return starts, ends
    rest_start, rest_end = inside[rest_from[rest]], inside[rest_to[rest]]
    # The pieces between rests: a movement's start and every rest's end open one, every
    # rest's start and the movement's end close one; pieces are disjoint, so sorting each
    # side pairs them. Rest k lies between pieces `after[k]` - 1 and `after[k]`.
    piece_starts = np.sort(np.concatenate([starts, rest_end]))
    piece_ends = np.sort(np.concatenate([ends, rest_start]))
    after = np.searchsorted(piece_starts, rest_end)
    brief = piece_ends - piece_starts < params.jerk_max_s * sig.rate_hz
    follows_rest = np.zeros(len(piece_starts), dtype=bool)
    follows_rest[after] = True
    # Runs of brief pieces joined by rests; a longer piece or a movement's end ends a run.
    continues = follows_rest & brief
    continues[1:] &= brief[:-1]
    run = np.cumsum(~continues) - 1
    in_series = brief & (np.bincount(run)[run] >= params.jerk_cluster_min_jerks)
    # ...in a movement made mostly of brief peaks: a restless swing that passes through
    # rest now and then is mostly longer parts.
    movement = np.cumsum(~follows_rest) - 1
    length = piece_ends - piece_starts
    longer = np.bincount(movement, weights=np.where(brief, 0, length))
    in_series &= (longer < 0.5 * np.bincount(movement, weights=length))[movement]
    split = (rest_end - rest_start >= merge_gap) | (in_series[after] & in_series[after - 1])
    opens = ~follows_rest  # a piece opens a movement where no rest, or a split one, is before it
    opens[after[split]] = True
    closes = np.append(opens[1:], True)
    return piece_starts[opens], piece_ends[closes]


def rejoin_long_parts(
    starts: np.ndarray, ends: np.ndarray, rate_hz: float, params: DetectionParameters
) -> tuple[np.ndarray, np.ndarray]:
    """Movements (sorted, disjoint) with neighbours under `long_part_merge_gap_s` apart
    joined where both are `jerk_max_s` or longer: `split_jerk_runs` frees the brief jerks of
    a cluster, but two parts no jerk could be are one movement by the adults' rule."""
    if params.long_part_merge_gap_s <= 0 or len(starts) < 2:
        return starts, ends
    long = ends - starts >= params.jerk_max_s * rate_hz
    join = long[1:] & long[:-1] & (starts[1:] - ends[:-1] < params.long_part_merge_gap_s * rate_hz)
    first = np.flatnonzero(np.concatenate([[True], ~join]))
    return starts[first], np.maximum.reduceat(ends, first)


def _tighten(
    sig: LegSignals, starts: np.ndarray, ends: np.ndarray, params: DetectionParameters
) -> tuple[np.ndarray, np.ndarray]:
    """Edges where either scale shows the burst, each scale's smoothing taken back."""
    if len(starts) == 0:
        return starts, ends
    inside, offsets = ranges_index(starts, ends)  # the bursts' samples, burst after burst
    half_env = int(round(params.envelope_window_s * sig.rate_hz / 2))
    half_slow = int(round(params.slow_window_s * sig.rate_hz / 2))
    scales = (
        (sig.envelope[inside] > sig.floor_at(inside) * params.offset_factor, half_env),
        (sig.slow_ratio[inside] > params.offset_factor, half_slow),
    )
    never, none = np.iinfo(np.intp).max // 2, -1  # sums with a half stay in range
    new_starts, new_ends = np.full(len(starts), never), np.full(len(starts), none)
    for shown, half in scales:  # per scale, its first and last sample over the threshold
        first = np.minimum.reduceat(np.where(shown, inside, never), offsets)
        last = np.maximum.reduceat(np.where(shown, inside, none), offsets)
        # Seen, and for longer than the smoothing it takes back on both sides.
        wide = (first != never) & (last - first + 1 > 2 * half)
        np.minimum(new_starts, np.where(wide, first + half, never), out=new_starts)
        np.maximum(new_ends, np.where(wide, last + 1 - half, none), out=new_ends)
    seen = new_starts != never
    new_starts = np.where(seen, new_starts, starts)
    new_ends = np.where(seen, new_ends, ends)
    return new_starts, np.maximum(new_ends, new_starts + 1)


def span_max(values: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Maximum of `values` over each [start, end) of sorted, disjoint, non-empty spans."""
    if len(starts) == 0:
        return values[:0].copy()
    bounds = np.column_stack([starts, ends]).ravel()
    if bounds[-1] == len(values):  # reduceat takes the last span to the end by itself
        bounds = bounds[:-1]
    return np.maximum.reduceat(values, bounds)[::2]


def merge_close(
    starts: np.ndarray, ends: np.ndarray, max_gap: int
) -> tuple[np.ndarray, np.ndarray]:
    """Join spans separated by fewer than `max_gap` samples (offset to onset)."""
    if len(starts) < 2:
        return starts, ends
    new_group = np.ones(len(starts), dtype=bool)
    new_group[1:] = starts[1:] - ends[:-1] >= max_gap
    first = np.flatnonzero(new_group)
    return starts[first], np.maximum.reduceat(ends, first)


def describe(
    sig: LegSignals, starts: np.ndarray, ends: np.ndarray, params: DetectionParameters
) -> Table:
    """Timing, peak acceleration and rotation of each span (sorted, disjoint, non-empty)."""
    rate = sig.rate_hz
    context = int(round(3.0 * rate))
    guard = int(round(0.3 * rate))
    if len(starts):
        smooth_width = max(int(round(params.rotation_smoothing_s * rate)), 1)
        # The smoothing for the rotation, and the same mean taken twice for the tilt held
        # (see classify): started on the second core, to be finished after the rest.
        smoothed = _start_smoothing(sig.xyz, starts, ends, smooth_width)
        # The root of the largest square: the square root is monotonic, one root per event.
        peak = np.sqrt(span_max(sig.deviation_sq, starts, ends)).astype(np.float64)
        # Brief jerks are judged on the short envelope alone: the slow signal cannot see them.
        inside, offsets = ranges_index(starts, ends)
        peak_factor, at_peak = first_at_max(sig.envelope[inside] / sig.floor_at(inside), offsets)
        rise_s = (at_peak - offsets) / rate
        active_s = _active_seconds(sig, starts, ends, peak_factor, params)
        # Only a brief span can be a twitch (see classify): longer ones need no look.
        twitch = np.zeros(len(starts), dtype=bool)
        brief = np.flatnonzero(is_brief((ends - starts) / rate, params))
        peak[brief] = _brief_peak(sig, starts, ends, brief, params)
        twitch[brief] = twitch_shown(sig, starts[brief], ends[brief], params)
        glitch_unseen = _glitch_unseen(sig, starts, ends, params)
        before, after = _rests_around(sig.xyz, starts, ends, context, guard)
        posture = angle_deg(before, after)
        smooth, steady = smoothed()
        counts = ends - starts
        unit = before / np.maximum(np.linalg.norm(before, axis=1), 1e-12)[:, None]
        rest = np.repeat(unit, counts, axis=0)  # each sample's rest: one copy for both
        # The two profiles are independent: the held tilt's on the second core meanwhile.
        tilted = in_background(_rotation_profile, rest, steady, counts, offsets, False)
        rotation, held = _rotation_profile(rest, smooth, counts, offsets)
        tilt, _ = tilted.result()
        del smooth, steady, rest
        mean_tilt = angle_deg(before, disjoint_span_means(sig.xyz, starts, ends))
        floor = sig.floor_at(starts).astype(np.float64)
    else:
        peak = peak_factor = posture = rotation = held = tilt = mean_tilt = floor = np.zeros(0)
        active_s = rise_s = np.zeros(0)
        twitch = glitch_unseen = np.zeros(0, dtype=bool)
    events = Table(
        {
            "start": starts,
            "end": ends,
            "onset_s": starts / rate,
            "offset_s": ends / rate,
            "duration_s": (ends - starts) / rate,
            "peak_g": peak,
            "peak_factor": peak_factor.astype(np.float64),
            "active_s": active_s,  # from the onset until the settling (_active_seconds)
            "rise_s": rise_s,  # from the onset to the envelope's peak (classify: pushes)
            "twitch": twitch,  # judged for brief spans only
            "glitch_unseen": glitch_unseen,  # see _glitch_unseen
            "rotation_deg": rotation,
            "held_share": held,
            "tilt_deg": tilt,  # the rotation through a second mean (see classify)
            "mean_tilt_deg": mean_tilt,  # the event's mean orientation from the rest before
            "floor_g": floor,  # the envelope's noise floor at the onset
            "posture_change_deg": posture,
            "rest_before": before if len(starts) else np.zeros((0, 3)),
            "rest_after": after if len(starts) else np.zeros((0, 3)),
        }
    )
    events["settled"] = settled_jerk(events, params)  # see classify
    # The rotation is measured from the rest before: a rest window reaching into a data
    # gap reads the gap's fill, and the turn across it (review).
    rests_whole = ~_gap_within(sig.valid, starts - context, ends + context)
    events["slow_glimpse"] = slow_glimpse(events, rate, params) & rests_whole  # see classify
    return events


def _active_seconds(
    sig: LegSignals,
    starts: np.ndarray,
    ends: np.ndarray,
    peak_factor: np.ndarray,
    params: DetectionParameters,
) -> np.ndarray:
    """Per event, the seconds from its onset to the last sample whose 0.1 s envelope is at
    least `settle_share` of the event's peak (`peak_factor`, over the floor): its length
    without the settling that follows a strong brief jerk. Skin and strap ring on after a
    twitch of 0.1-0.2 s, and the envelope stays over the offset bar (a small multiple of the
    floor) for a few tenths of a second more: such jerks measured 0.5-0.8 s, and were taken
    for LMs or, without rotation, for bed vibrations (events.classify). Looked at only for
    spans that may be such a jerk (settled_jerk); the others keep their whole length."""
    active = (ends - starts) / sig.rate_hz
    maybe = np.flatnonzero(~is_brief(active, params) & (active < params.settle_max_s))
    if len(maybe) == 0:
        return active
    inside, offsets = ranges_index(starts[maybe], ends[maybe])
    over_floor = sig.envelope[inside] / sig.floor_at(inside)
    counts = np.diff(offsets, append=len(inside))
    strong = over_floor >= params.settle_share * np.repeat(peak_factor[maybe], counts)
    last = np.maximum.reduceat(np.where(strong, np.arange(len(inside)), -1), offsets)
    active[maybe] = (last + 1 - offsets) / sig.rate_hz
    return active


def _start_smoothing(
    xyz: np.ndarray, starts: np.ndarray, ends: np.ndarray, width: int
) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
    """`moving_means_in_spans` begun on the second core; call the result for both means.
    Over the spans alone, the second core takes the mean taken twice (two thirds of the
    work) and the caller the first, when it asks for them, rather than waiting on both."""
    if spans_reach_far(len(xyz), starts, ends, width):  # one first mean serves both
        return in_background(moving_means_in_spans, xyz, starts, ends, width).result
    twice = in_background(moving_mean_twice_in_spans, xyz, starts, ends, width)
    return lambda: (moving_mean_in_spans(xyz, starts, ends, width), twice.result())


def _rests_around(
    xyz: np.ndarray, starts: np.ndarray, ends: np.ndarray, context: int, guard: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean orientation before and after each span (sorted, disjoint): from `guard` to
    `context` samples off its edges, but never past the neighbouring span's edge. In busy
    wake the next movement often starts within the context; a window reaching into it
    measured that movement's tilt as this one's posture change, and an LM between two
    movements came out `movement`. Where the gap to a neighbour is shorter than the guard,
    the window is one sample: the first after the neighbour before ends, the last before the
    neighbour after starts (a noisy measure; measuring across the whole short gap is
    untried)."""
    n = len(xyz)
    previous_end = np.concatenate([[0], ends[:-1]])
    next_start = np.concatenate([starts[1:], [n]])
    lo = np.maximum(starts - context, previous_end)
    hi = np.maximum(starts - guard, lo + 1)
    hi = np.minimum(hi, np.maximum(starts, 1))
    lo = np.clip(lo, 0, hi - 1)
    before = span_means(xyz, lo, hi)
    hi = np.minimum(ends + context, next_start)
    lo = np.minimum(ends + guard, hi - 1)
    lo = np.clip(np.maximum(lo, np.minimum(ends, n - 1)), 0, n - 1)
    hi = np.clip(np.maximum(hi, lo + 1), 1, n)
    after = span_means(xyz, lo, hi)
    return before, after


def twitch_shown(
    sig: LegSignals, starts: np.ndarray, ends: np.ndarray, params: DetectionParameters
) -> np.ndarray:
    """Per span: a brief twitch the 0.1 s envelope dilutes: its departure from rest reaches
    `twitch_peak_factor` x the noise floor, and is held (`departure_held`). Sensor noise never
    does either (its largest samples stay under 3 x the floor)."""
    peak_sq, held = departure_held(sig, starts, ends, params)
    return (peak_sq >= params.twitch_peak_factor**2) & held


def _glitch_unseen(
    sig: LegSignals, starts: np.ndarray, ends: np.ndarray, params: DetectionParameters
) -> np.ndarray:
    """Per span: it may be a glitched sample that `lone_spikes` cannot judge, at a rate where
    a twitch of `twitch_min_s` may be one sample too; its departure is not held for two
    samples. Only spans that may be jerks (under `settle_max_s`) are looked at."""
    unseen = np.zeros(len(starts), dtype=bool)
    if glitches_judged(sig.rate_hz, params):
        return unseen
    may_jerk = np.flatnonzero((ends - starts) / sig.rate_hz < params.settle_max_s)
    unseen[may_jerk] = ~departure_held(sig, starts[may_jerk], ends[may_jerk], params)[1]
    return unseen


def departure_held(
    sig: LegSignals, starts: np.ndarray, ends: np.ndarray, params: DetectionParameters
) -> tuple[np.ndarray, np.ndarray]:
    """Per span: its largest departure from rest over the noise floor, squared; and whether
    the departure stays over `twitch_support_factor` x the floor for `twitch_min_s` on end,
    two samples at least (a single glitched sample is no movement). The span is widened by
    the envelope's half window: the burst's edges took that smoothing back, the movement's
    own samples may reach past them."""
    if len(starts) == 0:
        return np.zeros(0), np.zeros(0, dtype=bool)
    inside, offsets = _widened_by_envelope(sig, starts, ends, params)
    floor_sq = np.square(sig.floor_at(inside))
    deviation_sq = sig.deviation_sq[inside]
    peak_sq = np.maximum.reduceat(deviation_sq / floor_sq, offsets)
    # Consecutive samples over the support level, `least` of them, within one span.
    least = max(int(round(params.twitch_min_s * sig.rate_hz)), 2)
    above = deviation_sq > floor_sq * params.twitch_support_factor**2
    runs = np.concatenate([[0], np.cumsum(above, dtype=np.int64)])
    span = np.repeat(np.arange(len(offsets)), np.diff(np.append(offsets, len(inside))))
    first = np.arange(max(len(inside) - least + 1, 0))
    held = (runs[first + least] - runs[first] == least) & (span[first] == span[first + least - 1])
    return peak_sq, np.bincount(span[first][held], minlength=len(offsets)) > 0


def lone_spikes(
    sig: LegSignals, starts: np.ndarray, ends: np.ndarray, params: DetectionParameters
) -> np.ndarray:
    """Per span: a sensor glitch, one sample thrown off and back. Its largest departure
    from rest stands alone: every other sample of the span, widened by the envelope's half
    window (the span's edges took that smoothing back), departs under
    `spike_neighbour_share` of it. A twitch of `twitch_min_s` or more moves the samples beside
    its peak (a third of it and more, by the sampling's phase), but only where it spans more
    than two sample intervals: at lower rates a twitch may be one sample too, and nothing is
    called a glitch. A glitch lights the 0.5 s mean for that long, so a span of up to a slow
    window may be one: how far the span's edges were trimmed depends on the rate."""
    found = np.zeros(len(starts), dtype=bool)
    if len(starts) == 0 or not glitches_judged(sig.rate_hz, params):
        return found
    longest = int(round(params.slow_window_s * sig.rate_hz)) + 1
    short = np.flatnonzero(ends - starts <= longest)
    if len(short) == 0:
        return found
    inside, offsets = _widened_by_envelope(sig, starts[short], ends[short], params)
    departure = sig.deviation_sq[inside]
    largest, peak_at = first_at_max(departure, offsets)
    others = departure.copy()
    others[peak_at] = 0.0
    alone = np.maximum.reduceat(others, offsets) < params.spike_neighbour_share**2 * largest
    counts = np.diff(offsets, append=len(inside))
    found[short] = alone & (counts > 1) & (largest > 0)
    return found


def glitches_judged(rate_hz: float, params: DetectionParameters) -> bool:
    """Whether a glitched sample can be told from a twitch by its shape (lone_spikes): only
    where a twitch of `twitch_min_s` spans more than two sample intervals, so it moves the
    samples beside its peak; at lower rates it may be one sample too."""
    return rate_hz * params.twitch_min_s > 2


def _brief_peak(
    sig: LegSignals,
    starts: np.ndarray,
    ends: np.ndarray,
    brief: np.ndarray,
    params: DetectionParameters,
) -> np.ndarray:
    """The largest departure from rest of the spans `brief` (indices into the sorted,
    disjoint `starts`/`ends`), widened by the envelope but not into a neighbouring span: at
    25 Hz the slow scale's edges, its smoothing taken back, fell one sample past a lone
    twitch, whose peak then read 0.01 g for 0.3 g; an infant's jerks, split a few samples
    apart, would read each other's (review)."""
    if len(brief) == 0:
        return np.zeros(0)
    previous_end = np.concatenate([[0], ends[:-1]])[brief]
    next_start = np.concatenate([starts[1:], [len(sig.deviation_sq)]])[brief]
    inside, offsets = _widened_by_envelope(
        sig, starts[brief], ends[brief], params, (previous_end, next_start)
    )
    return np.sqrt(np.maximum.reduceat(sig.deviation_sq[inside], offsets)).astype(np.float64)


def _widened_by_envelope(
    sig: LegSignals,
    starts: np.ndarray,
    ends: np.ndarray,
    params: DetectionParameters,
    within: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """`ranges_index` of the spans widened by the envelope's half window either side
    (within the recording, and within `within`'s bounds where given): their edges took that
    smoothing back, and the movement's own samples may reach past them."""
    half = int(round(params.envelope_window_s * sig.rate_hz / 2))
    lowest, highest = within if within is not None else (0, len(sig.deviation_sq))
    return ranges_index(
        np.maximum(np.maximum(starts - half, 0), lowest),
        np.minimum(np.minimum(ends + half, len(sig.deviation_sq)), highest),
    )


def _rotation_profile(
    rest: np.ndarray,
    vectors: np.ndarray,
    counts: np.ndarray,
    offsets: np.ndarray,
    held_share: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Per event, the largest angle between its rest (`rest`: the unit rest vector of each
    of its samples) and its `counts` vectors (concatenated, event by event, starting at
    `offsets`), and (`held_share`) the share of its samples tilted at least half that far: a
    held flexion (a cramp) keeps its tilt, a restless swing does not. The largest angle has
    the smallest cosine: one arccos per event."""
    dot = np.einsum("ij,ij->i", rest, vectors)
    cosine = dot / np.maximum(np.sqrt(np.einsum("ij,ij->i", vectors, vectors)), 1e-12)
    smallest = np.clip(np.minimum.reduceat(cosine, offsets), -1.0, 1.0)
    largest = np.arccos(smallest)
    if not held_share:
        return np.degrees(largest), None
    half_way = np.repeat(np.cos(largest / 2), counts)
    held = np.add.reduceat((cosine <= half_way).astype(np.int32), offsets) / counts
    return np.degrees(largest), held


def is_brief(duration_s: np.ndarray, params: DetectionParameters) -> np.ndarray:
    """A jerk's length: the spans `classify` calls jerks and `describe` looks at for twitches."""
    return duration_s < params.jerk_max_s


def settled_jerk(events: Table, params: DetectionParameters) -> np.ndarray:
    """A span measured 0.5 s or longer that is a brief jerk and its settling: active (see
    _active_seconds) under `jerk_max_s`, rotating the limb less than
    `settle_max_rotation_deg` (an LM moves the foot; a jerk's settling does not), holding
    its mean orientation within `settle_max_held_deg` of the rest (ringing averages out; a
    small tilt held after a brisk push, an LM, stays under a tenth of the push's envelope as
    ringing does, and under the rotation bar too), and under `settle_max_s` in all (a thump
    on the bed rings on for longer: a vibration). On the simulators' training seeds, 72 of
    91 such jerks and 1 of 2049 LMs measured 0.5-1.2 s; the jerks measured 0.78 s at most and
    held 0.74 degrees or less in 95 of 100."""
    duration = events["duration_s"]
    return (
        ~is_brief(duration, params)
        & (duration < params.settle_max_s)
        & (events["mean_tilt_deg"] < params.settle_max_held_deg)
        & is_brief(events["active_s"], params)
        & (events["rotation_deg"] < params.settle_max_rotation_deg)
    )


def judged_brief(events: Table, params: DetectionParameters) -> np.ndarray:
    """The spans classify judges as jerks may be: measured brief, or a jerk and its
    settling (settled_jerk)."""
    return is_brief(events["duration_s"], params) | events["settled"]


def classify(events: Table, params: DetectionParameters, lm_max_s: float) -> np.ndarray:
    """jerk (< 0.5 s), movement (posture change or > lm_max_s), lm otherwise; cramp: a
    strong flexion held for tens of seconds that the foot returns from; '' = vibration, or
    a brief span that is no jerk (too weak, or a slow movement's peak: slow_glimpse)."""
    duration = events["duration_s"]
    brief = judged_brief(events, params)
    kind = np.where(brief, "jerk", "lm").astype(object)
    posture = events["posture_change_deg"] >= params.posture_change_deg
    kind[(duration > lm_max_s) | posture] = "movement"
    cramp = (
        (duration >= params.cramp_min_s)
        & (events["rotation_deg"] >= params.cramp_min_rotation_deg)
        & (events["held_share"] >= params.cramp_min_held_share)
        & ~posture
    )
    kind[cramp] = "cramp"
    # A bed shaking under a still foot: acceleration that averages out over half a second,
    # without the rotation (or sustained push) that moves a limb.
    # A shank-worn sensor sees a foot's small LMs only as a small tilt of the shank: where the
    # sensor is quiet, a tilt `rotation_floor_factor` x its noise floor (as an angle) will do,
    # down to `min_tilt_deg`, which the 0.5 s mean taken twice leaves of no vibration under
    # 0.1 g; and held: the event's mean orientation `held_tilt_share` of that from the rest
    # (an oscillation, however slow its swing, averages out over the event).
    needed = np.clip(
        params.rotation_floor_factor * np.degrees(events["floor_g"]),
        params.min_tilt_deg,
        params.min_rotation_deg,
    )
    tilted = (events["tilt_deg"] >= needed) & (
        events["mean_tilt_deg"] >= params.held_tilt_share * needed
    )
    if params.lasting_tilt_share > 0:  # ...or a tilt too large a share of the peak for a swing
        above_noise = params.tilt_floor_factor * np.degrees(events["floor_g"])
        tilted |= (
            (events["peak_factor"] >= params.onset_factor)  # the envelope shows it, not drift
            & (events["tilt_deg"] >= above_noise)
            & (events["mean_tilt_deg"] >= params.held_tilt_share * above_noise)
            & (
                np.sin(np.radians(events["tilt_deg"]))
                >= params.lasting_tilt_share * events["peak_g"]
            )
        )
    # ...or, where asked for (push_min_factor, off by default), an abrupt push: see params.
    pushed = (
        (params.push_min_factor > 0)
        & (events["peak_factor"] >= params.push_min_factor)
        & (events["rise_s"] <= params.push_max_rise_s)
    )
    still = (events["rotation_deg"] < params.min_rotation_deg) & ~tilted & ~pushed
    vibration = still & ~brief
    # A jerk stands `jerk_min_peak_factor` x the floor in its 0.1 s envelope, or
    # `jerk_lone_peak_factor` x where it may be a glitch nothing else tells apart.
    bar = np.where(
        events["glitch_unseen"], params.jerk_lone_peak_factor, params.jerk_min_peak_factor
    )
    weak_jerk = brief & (events["peak_factor"] < bar) & ~events["twitch"]
    kind[vibration | weak_jerk] = ""
    # Only what would be a jerk: a brief turn to a new posture stays a movement (review).
    kind[(kind == "jerk") & events["slow_glimpse"]] = ""
    return kind


def slow_glimpse(events: Table, rate_hz: float, params: DetectionParameters) -> np.ndarray:
    """Spans measured brief that turned the limb too far for their peak acceleration to be
    a jerk: the peak of a small smooth movement, the rest of it under the noise bar.

    A jerk is impulsive: much acceleration, little rotation. A smooth movement turns the
    limb with little acceleration; its rotation per g of peak grows with the square of its
    time scale, which a small movement's span above the bar understates (a 3 degree
    flexion of 0.7 s measured 0.42 s: 33-37 degrees per g; most simulated jerks under 10).
    Such a span is neither a jerk nor a measurable LM. Only a span that barely clears the
    bar (`slow_glimpse_max_factor`) is judged. Off (0) for infants: their fused jerk runs
    turn the limb.
    Judged only where the envelope's 0.1 s holds two samples or more: sampled slower (12.5
    Hz), a jerk's peak falls between samples and its rotation per g reads high (17-18)."""
    if params.jerk_max_rotation_per_g <= 0 or rate_hz * params.envelope_window_s < 2:
        return np.zeros(len(events["duration_s"]), dtype=bool)
    turned = events["rotation_deg"] > params.jerk_max_rotation_per_g * events["peak_g"]
    # A glimpse: the span barely clears the bar. A turn far above it that measured brief
    # was brief (a quick roll of the forearm turns the limb without accelerating it). On a
    # sensor of 6-12 mg noise a roll of 12-20 degrees out and back in 0.3-0.4 s stays under
    # the bar's 20 x and is dropped too (review): a cap on the rotation (4 degrees) kept it,
    # but also a held-out LM's 5 degree glimpse; its time scale is a slow movement's.
    faint = events["peak_factor"] < params.slow_glimpse_max_factor
    return is_brief(events["duration_s"], params) & turned & faint


def _gap_within(valid: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Per range [start, end): whether it holds a sample that is not valid (a data gap,
    filled on the grid). The lost samples' positions, not a night-long running count."""
    lost = np.flatnonzero(~valid)
    return np.searchsorted(lost, starts) < np.searchsorted(lost, ends)


def join_cramps(events: Table, kind: np.ndarray, params: DetectionParameters) -> np.ndarray:
    """Cramp candidates among one leg's classified events (sorted by onset): a large tilt
    away from rest that comes back to the same rest 15 s to 3 min later. A held flexion
    longer than the resting-orientation windows (25 s) is seen as two posture changes, out
    and back, with the hold between them. The first becomes the cramp, its offset the
    return's (in place, in `events`); returns the rows to keep."""
    keep = np.ones(len(kind), dtype=bool)
    onset, offset = events["onset_s"], events["offset_s"]
    away = np.flatnonzero(
        (kind == "movement") & (events["posture_change_deg"] >= params.cramp_min_rotation_deg)
    )
    # The next large tilt decides: a cramp's release, or something else. Each tilt and the
    # next, judged at once: the release is a tilt as large as the pull, back to the same rest.
    pull, release = away[:-1], away[1:]
    back = angle_deg(events["rest_before"][pull], events["rest_after"][release])
    held_s = offset[release] - onset[pull]
    # Held: a cramping leg is locked in its contraction; its tremor and wobble keep the
    # activity up without the discrete movements of a free leg. An LM between the pull and
    # the release says the leg moved freely: busy wake (a posture change, LMs, a posture
    # change back near the first) is no cramp, and its LMs must not be swallowed by one.
    # Not a tremor's: a locked leg's wobble of a few degrees passes for LMs seconds apart
    # (under `cramp_tremor_deg` or `cramp_tremor_share` of the pull, whichever is more; an
    # LM without a measured rotation counts as one).
    lm_rotation = np.where(kind == "lm", np.nan_to_num(events["rotation_deg"]), -np.inf)
    freest = np.array(  # a loop over tilts
        [lm_rotation[i + 1 : j].max(initial=-np.inf) for i, j in zip(pull, release)]
    )
    tremor = np.maximum(
        params.cramp_tremor_deg, params.cramp_tremor_share * events["posture_change_deg"][pull]
    )
    moved_freely = freest >= tremor
    cramp = (
        (onset[release] - onset[pull] <= params.cramp_max_s)
        & (back <= params.cramp_return_deg)
        & (held_s >= params.cramp_min_s)
        & ~moved_freely
    )
    last_release = -1
    for i, j in zip(pull[cramp], release[cramp]):  # a loop over cramp candidates
        if i == last_release:  # this tilt was the previous cramp's release
            continue
        kind[i] = "cramp"
        events["offset_s"][i] = offset[j]
        events["end"][i] = events["end"][j]
        events["duration_s"][i] = offset[j] - onset[i]
        keep[i + 1 : j + 1] = False
        last_release = j
    return keep
