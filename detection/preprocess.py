"""Resting orientation, movement signals at two time scales, and adaptive noise floors."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from sleepmove.base.order_statistics import median, quantile, sorted_distinct
from sleepmove.detection.filters import (
    MEAN_SPAN,
    angle_deg,
    block_mean,
    block_median,
    blockwise,
    disjoint_span_means,
    moving_mean,
    moving_mean_pieces,
    ranges_index,
    rolling_rank,
    true_runs,
)
from sleepmove.detection.parallel import in_background
from sleepmove.detection.params import DetectionParameters

FLOOR_HOP_BLOCKS = 10  # the 5-minute noise floor is re-evaluated every 10 blocks (10 s)


@dataclass
class LegSignals:
    rate_hz: float
    block: int  # samples per block of the noise floors (1 s)
    xyz: np.ndarray  # (n, 3) g
    deviation_sq: np.ndarray  # (n,) g²: squared distance from the resting orientation
    envelope: np.ndarray  # (n,) g: 0.1 s RMS of the deviation (sees brief jerks)
    floor_blocks: np.ndarray  # (blocks,) g: tracked noise floor of the envelope, per block
    slow_ratio: np.ndarray  # (n,) 0.5 s mean deviation vector over its noise floor
    activity: np.ndarray  # (n,) the larger of envelope and slow, each in units of its floor
    valid: np.ndarray  # (n,) bool
    # Per 1 s block, kept at no cost for the time in bed (the rest is computed from them):
    level_blocks: np.ndarray  # (blocks, 3) g: mean acceleration (the limb's orientation)

    def floor_at(self, samples: np.ndarray) -> np.ndarray:
        """The envelope's noise floor at these sample indices."""
        return self.floor_blocks[samples // self.block]


def widths(rate_hz: float, params: DetectionParameters) -> tuple[int, int, int]:
    """The samples per noise-floor block, per envelope and per slow window: all that
    `leg_signals` takes from the rate."""
    return (
        max(int(round(params.baseline_block_s * rate_hz)), 1),
        max(int(round(params.envelope_window_s * rate_hz)), 1),
        max(int(round(params.slow_window_s * rate_hz)), 1),
    )


def signals_at_rate(
    sig: LegSignals, xyz: np.ndarray, valid: np.ndarray, rate_hz: float, params: DetectionParameters
) -> LegSignals | None:
    """`sig` as leg_signals(xyz, valid, rate_hz) would compute them, or None: computed from
    these very samples at a rate that gives the same widths (a clock's drift of tens of ppm
    moves none), only the rate differs."""
    if sig.xyz is not xyz or sig.valid is not valid:
        return None
    if widths(sig.rate_hz, params) != widths(rate_hz, params):
        return None
    return replace(sig, rate_hz=rate_hz)


def leg_signals(
    xyz: np.ndarray, valid: np.ndarray, rate_hz: float, params: DetectionParameters
) -> LegSignals:
    block, env_width, slow_width = widths(rate_hz, params)
    # The rests the limb holds still in (`rest_holds`) and the 25 s rest need only the
    # samples. The worker takes the holds' steps over two axes, then the 25 s rest (needed
    # once the holds are known); here, the sensor's resolution, the third axis and the holds.
    by_holds = params.hold_min_s > 0
    if by_holds:
        two_axes = in_background(_squared_hold_steps, xyz, (0, 1), rate_hz, params)
    resting = in_background(_rest_orientation, xyz, block, params)
    lowest = max(params.min_floor_g, _quantum(xyz))
    if by_holds:
        mean = moving_mean(xyz[:, 2], slow_width)
        change = two_axes.result()  # the axes' squares in order, as `_squared_hold_steps`
        _add_squared_steps(mean, *_hold_reach(slow_width), change)
        del mean
        found = _holds_of_change(change, valid, xyz, block, rate_hz, params, lowest)
    rest, level = resting.result()
    if by_holds:
        delta = _departure_from_holds(xyz, rest, block, rate_hz, params, found)
    else:
        delta = _departure_from_rest(xyz, rest, block)  # one array per axis
    # The two time scales depend only on the departure: the slow one runs meanwhile.
    slow_ratio = in_background(_slow_ratio, delta, valid, block, rate_hz, params, lowest)
    deviation_sq = _squared_norm(delta)
    envelope = moving_mean(deviation_sq, env_width)
    np.sqrt(envelope, out=envelope)
    if not valid.all():
        envelope[~valid] = 0.0
    floor = noise_floor(_block_levels(envelope, valid, block), params, lowest)
    activity = blockwise(np.divide, envelope, floor, block)
    ratio = slow_ratio.result()
    np.maximum(activity, ratio, out=activity)
    return LegSignals(
        rate_hz, block, xyz, deviation_sq, envelope, floor, ratio, activity, valid, level
    )


def _slow_ratio(
    delta: list[np.ndarray],
    valid: np.ndarray,
    block: int,
    rate_hz: float,
    params: DetectionParameters,
    lowest: float,
) -> np.ndarray:
    """The 0.5 s mean deviation vector over its noise floor."""
    # Averaging the deviation *vector* cancels noise but keeps the quasi-static tilt of a
    # rotating foot: small, slow LMs stand out of a noisy sensor at this scale.
    slow_width = widths(rate_hz, params)[2]
    slow = np.empty(len(valid), dtype=np.float32)
    # The three axes' means a piece at a time, squared and summed while in the core's cache:
    # no night-long mean per axis, nor passes over them.
    pieces = [moving_mean_pieces(component, slow_width) for component in delta]
    for (first, x), (_, y), (_, z) in zip(*pieces):
        part = np.multiply(x, x, out=slow[first : first + len(x)])
        y *= y
        part += y
        z *= z
        part += z
    np.sqrt(slow, out=slow)
    if not valid.all():
        slow[~valid] = 0.0
    # The mean vector's noise has 3 degrees of freedom (the RMS envelope's about 15 at 50 Hz):
    # a wider spread, so its floor is scaled to keep chance crossings as rare.
    slow_floor = noise_floor(
        _block_levels(slow, valid, block), params, lowest / 2, params.slow_floor_scale
    )
    return blockwise(np.divide, slow, slow_floor, block, out=slow)


def _squared_norm(components: list[np.ndarray]) -> np.ndarray:
    x, y, z = components
    out = x * x
    out += y * y
    out += z * z
    return out


def _rest_orientation(
    xyz: np.ndarray, block: int, params: DetectionParameters
) -> tuple[np.ndarray, np.ndarray]:
    """The nearest of three resting orientations (preceding, centred, following) per block
    (float32), and the block's mean orientation.

    Rest comes from medians of 1 s block means over windows longer than twice any CLM, so an
    LM, even a held one, never dominates them: an LM departs from all three, while around a
    posture change one window always sits in the current posture. The choice is made per
    block, by the block's mean orientation.
    """
    level = block_mean(xyz, block)
    window = max(int(round(params.baseline_window_s / params.baseline_block_s)), 1)
    reach = (window - 1) // 2
    centred = np.column_stack(
        [rolling_rank(level[:, axis], window, window // 2) for axis in range(3)]
    )
    # The preceding and following windows are the centred one, shifted by half a window.
    blocks = np.arange(len(level))
    candidates = np.stack(
        [
            centred[np.maximum(blocks - reach, 0)],
            centred,
            centred[np.minimum(blocks + reach, len(level) - 1)],
        ]
    )
    distance = ((candidates - level) ** 2).sum(axis=2)
    return candidates[distance.argmin(axis=0), blocks].astype(np.float32), level


def _departure_from_rest(xyz: np.ndarray, rest: np.ndarray, block: int) -> list[np.ndarray]:
    """xyz minus its block's rest (`_rest_orientation`), one array per axis: three 11 MB
    arrays are reused from the heap, where one (n, 3) array of a night (35 MB) would be
    mapped fresh (see `sleepmove.memory`)."""
    full = len(xyz) // block * block
    delta = []
    for axis in range(3):
        component = np.empty(len(xyz), dtype=np.float32)
        np.subtract(
            xyz[:full, axis].reshape(-1, block),
            rest[: full // block, axis, None],
            out=component[:full].reshape(-1, block),
        )
        component[full:] = xyz[full:, axis] - rest[-1, axis]
        delta.append(component)
    return delta


def _departure_from_holds(
    xyz: np.ndarray,
    rest_blocks: np.ndarray,
    block: int,
    rate_hz: float,
    params: DetectionParameters,
    holds: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> list[np.ndarray]:
    """xyz minus the rest the limb holds still in (`holds`: `rest_holds`), one array per axis;
    the samples far from any such rest minus their block's 25 s rest (`rest_blocks`).

    In a rest the departure is from its own level; between two rests, from the nearer of
    the two. Where movements crowd a 25 s window (a busy hand, awake), the window's median
    is the posture the movements hold, not the rest between them: the rests looked like
    movement, and neighbouring movements merged into one long one.
    """
    n = len(xyz)
    starts, ends, levels, rest = holds
    starts, ends, levels = starts[rest], ends[rest], levels[rest].astype(np.float32)
    if len(starts) == 0:
        return _departure_from_rest(xyz, rest_blocks, block)
    # The night as segments: before the first rest, each rest and the gap after it. The
    # rests either side of each segment (a rest is both of its own).
    bounds = np.concatenate([[0], np.column_stack([starts, ends]).ravel(), [n]])
    length = np.diff(bounds)
    rests = np.arange(len(starts))
    before = np.concatenate([[0], np.repeat(rests, 2)])
    after = np.concatenate([np.repeat(rests, 2), [len(starts) - 1]])
    # Far from any rest (a long spell of movement), the 25 s rest stands.
    far = (before != after) & (length > params.baseline_window_s * rate_hz)
    far[0] = length[0] > params.baseline_window_s * rate_hz
    far[-1] = length[-1] > params.baseline_window_s * rate_hz
    # Between two rests, the nearer one: only the samples between rests need the look (in a
    # rest both are the same), and there are few of them where rests fill the night.
    between = np.flatnonzero(before != after)
    inside, _ = ranges_index(bounds[between], bounds[between + 1])
    closer = np.zeros(len(inside), dtype=np.float32)  # squared distance: before less after
    for axis in range(3):
        samples = xyz[:, axis].take(inside)  # gathering from the column: a third faster
        to_before = samples - np.repeat(levels[before[between], axis], length[between])
        to_after = samples - np.repeat(levels[after[between], axis], length[between])
        to_before *= to_before
        to_after *= to_after
        closer += to_before
        closer -= to_after
    # As positions: gathering by them is ten times faster than by a mask of random look.
    nearer_after = np.flatnonzero(closer > 0)
    to_after_samples = inside[nearer_after]
    # The far samples' departure from the 25 s rest: where they are few (a sleeping night),
    # found for them alone rather than for the whole night.
    far_samples, far_whole = None, None
    if length[far].sum() > n // 8:
        far_samples = np.repeat(far, length)
        far_whole = _departure_from_rest(xyz, rest_blocks, block)
    elif far.any():
        far_samples, _ = ranges_index(bounds[:-1][far], bounds[1:][far])

    def on_axis(axis: int) -> np.ndarray:
        rest_level = np.repeat(levels[before, axis], length)
        after_level = np.repeat(levels[after[between], axis], length[between])
        rest_level[to_after_samples] = after_level.take(nearer_after)
        component = np.subtract(xyz[:, axis], rest_level, dtype=np.float32, out=rest_level)
        if far_whole is not None:
            np.copyto(component, far_whole[axis], where=far_samples)
        elif far_samples is not None:  # as `_departure_from_rest` finds them
            rest_far = rest_blocks[far_samples // block, axis]
            component[far_samples] = np.subtract(xyz[far_samples, axis], rest_far)
        return component

    # The axes are independent: one of them on the second core meanwhile.
    first = in_background(on_axis, 0)
    others = [on_axis(axis) for axis in (1, 2)]
    return [first.result(), *others]


def rest_holds(
    xyz: np.ndarray,
    valid: np.ndarray,
    block: int,
    rate_hz: float,
    params: DetectionParameters,
    lowest: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Holds: `hold_min_s` or more over which the orientation does not change (the 0.5 s
    mean after each sample differs from the 0.5 s before it by under `hold_still_factor` x
    its noise floor). Returns their [start, end), mean orientation (k, 3) and whether each
    is a rest: it is, unless the limb came to it from the orientation it then returns to
    within the rest window, `baseline_window_s` (a flexion held, then released)."""
    change = _squared_hold_steps(xyz, (0, 1, 2), rate_hz, params)
    return _holds_of_change(change, valid, xyz, block, rate_hz, params, lowest)


def _hold_reach(width: int) -> tuple[int, int]:
    """The samples back and ahead between the two 0.5 s means a hold's step compares."""
    ahead = width // 2  # the centred mean `ahead` samples on covers the `width` after
    behind = width - ahead  # ...and `behind` samples back, the `width` before
    return behind, ahead


def _squared_hold_steps(
    xyz: np.ndarray, axes: tuple[int, ...], rate_hz: float, params: DetectionParameters
) -> np.ndarray:
    """The squared steps of the 0.5 s mean (`rest_holds`) summed over `axes`, in order."""
    width = widths(rate_hz, params)[2]
    change = np.zeros(len(xyz), dtype=np.float32)
    for axis in axes:
        _add_squared_steps(moving_mean(xyz[:, axis], width), *_hold_reach(width), change)
    return change


def _holds_of_change(
    change: np.ndarray,
    valid: np.ndarray,
    xyz: np.ndarray,
    block: int,
    rate_hz: float,
    params: DetectionParameters,
    lowest: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`rest_holds` from the squared steps over the three axes (`_squared_hold_steps`);
    their root is taken in place."""
    np.sqrt(change, out=change)
    if not valid.all():
        change[~valid] = np.inf
    # Two 0.5 s means differ by far less than single samples: the envelope's lowest floor
    # (quantization) is too high a bound for them.
    floor = noise_floor(_block_levels(change, valid, block), params, lowest / 4)
    still = np.empty(len(change), dtype=bool)
    blockwise(np.less, change, floor * np.float32(params.hold_still_factor), block, out=still)
    del change
    starts, ends = true_runs(still)
    long = ends - starts >= max(int(round(params.hold_min_s * rate_hz)), 1)
    brief = ~long & (ends - starts >= max(int(round(params.hold_stop_s * rate_hz)), 1))
    stop_starts, stop_ends = starts[brief], ends[brief]
    starts, ends = starts[long], ends[long]
    levels = disjoint_span_means(xyz, starts, ends)
    # Neighbouring holds closer than the smallest tilt an LM may have (events.classify's
    # floor, min_tilt_deg) are one place (a held flexion with a second push in it): the
    # limb's path is judged from place to place. Not the 1.5 deg rotation bar: a small
    # flexion held a second and released (0.9 deg) was its own rest and vanished.
    moved = angle_deg(levels[:-1], levels[1:]) >= params.min_tilt_deg
    first = np.flatnonzero(np.concatenate([[True], moved]))  # each place's first hold
    last = np.append(first[1:] - 1, len(starts) - 1)  # ...and its last
    place_rest = np.ones(len(first), dtype=bool)
    if len(first) >= 3:
        came_from, went_to = last[:-2], first[2:]  # the holds either side of each place
        away = np.minimum(
            angle_deg(levels[came_from], levels[first[1:-1]]),
            angle_deg(levels[last[1:-1]], levels[went_to]),
        )
        back = angle_deg(levels[came_from], levels[went_to])
        reach = params.baseline_window_s * rate_hz
        place_rest[1:-1] = ~((back < 0.5 * away) & (starts[went_to] - ends[came_from] <= reach))
        place_rest[1:-1] &= ~_stopped_back(
            xyz, (stop_starts, stop_ends), (starts, ends, levels), came_from, went_to, reach
        )
    return starts, ends, levels, np.repeat(place_rest, last - first + 1)


def _stopped_back(
    xyz: np.ndarray,
    stops: tuple[np.ndarray, np.ndarray],
    holds: tuple[np.ndarray, np.ndarray, np.ndarray],
    came_from: np.ndarray,
    went_to: np.ndarray,
    reach: float,
) -> np.ndarray:
    """Per place between holds `came_from` and `went_to`, whether the limb stopped briefly
    back where it came from on its way to `went_to`: a flexion held, released, and the leg
    moving on within a second (a turn) never holds still at its rest for `hold_min_s`, but
    its brief stop there shows the return as well."""
    stop_starts, stop_ends = stops
    starts, ends, levels = holds
    # The first brief stop after the place's last hold (the one before `went_to`)...
    following = np.searchsorted(stop_starts, ends[went_to - 1])
    seen = following < len(stop_starts)
    following = np.minimum(following, max(len(stop_starts) - 1, 0))
    if not seen.any():
        return seen
    # ...before the next place begins.
    seen &= stop_starts[following] < starts[went_to]
    chosen = following[seen]
    stop_levels = disjoint_span_means(xyz, stop_starts[chosen], stop_ends[chosen])
    origin = levels[came_from[seen]]
    away = angle_deg(origin, levels[went_to[seen] - 1])
    back = angle_deg(origin, stop_levels)
    seen[seen] = (back < 0.5 * away) & (stop_starts[chosen] - ends[came_from[seen]] <= reach)
    return seen


def _mean_step(mean: np.ndarray, behind: int, ahead: int, out: np.ndarray) -> np.ndarray:
    """mean[i + ahead] - mean[i - behind] for every i, the ends held at the end values (a
    hold may run to either end); written into `out` without a padded copy."""
    n, width = len(mean), behind + ahead
    if n <= width:  # too short for the three parts: the padded copy is small
        padded = np.concatenate([np.repeat(mean[:1], behind), mean, np.repeat(mean[-1:], ahead)])
        return np.subtract(padded[width:], padded[:n], out=out)
    np.subtract(mean[ahead:width], mean[0], out=out[:behind])
    np.subtract(mean[width:], mean[: n - width], out=out[behind : n - ahead])
    np.subtract(mean[n - 1], mean[n - width : n - behind], out=out[n - ahead :])
    return out


def _add_squared_steps(mean: np.ndarray, behind: int, ahead: int, change: np.ndarray) -> None:
    """change += `_mean_step`(mean, behind, ahead) ** 2, a span at a time: each span's steps
    are squared and added while in the core's cache, with no night-long array of steps."""
    n, width = len(mean), behind + ahead
    if n <= width:  # too short for spans
        step = _mean_step(mean, behind, ahead, out=np.empty(n, dtype=change.dtype))
        step *= step
        change += step
        return
    for first, step in _step_spans(mean, behind, ahead):
        step *= step
        change[first : first + len(step)] += step


def _step_spans(mean: np.ndarray, behind: int, ahead: int) -> Iterator[tuple[int, np.ndarray]]:
    """`_mean_step`'s steps of a signal longer than its window, a span at a time: each
    span's first index and steps. The ends held at the end values, as there."""
    n, width = len(mean), behind + ahead
    yield 0, np.subtract(mean[ahead:width], mean[0])
    for first in range(behind, n - ahead, MEAN_SPAN):  # a loop over spans
        stop = min(first + MEAN_SPAN, n - ahead)
        later, earlier = mean[first + ahead : stop + ahead], mean[first - behind : stop - behind]
        yield first, np.subtract(later, earlier)
    yield n - ahead, np.subtract(mean[n - 1], mean[n - width : n - behind])


def _block_levels(signal: np.ndarray, valid: np.ndarray, block: int) -> np.ndarray:
    """The signal's median per block; blocks with data gaps take the night's median."""
    # Kept in float32: ranks select values, and selecting among float32 values is twice as
    # fast as among float64 ones.
    blocks = block_median(signal, block).astype(np.float32, copy=False)
    if valid.all():  # most nights: no block to fill
        return blocks
    valid_blocks = _valid_blocks(valid, block)
    if valid_blocks.any():
        blocks[~valid_blocks] = median(blocks[valid_blocks].astype(np.float64))
    return blocks


def _valid_blocks(valid: np.ndarray, block: int) -> np.ndarray:
    """Whether each block (the last one partial) is free of data gaps: the full blocks by
    rows, where reduceat over the blocks took twice as long."""
    full = len(valid) // block
    out = np.empty(-(-len(valid) // block), dtype=bool)
    valid[: full * block].reshape(full, block).all(axis=1, out=out[:full])
    if len(out) > full:
        out[-1] = valid[full * block :].all()
    return out


def noise_floor(
    blocks: np.ndarray,
    params: DetectionParameters,
    lowest: float,
    scale: float = 1.0,
) -> np.ndarray:
    """The resting level of per-block medians, tracked through the night (sensor noise
    changes), times `scale`. Per block, not per sample: it is constant within a block, and a
    night-long copy would cost a pass and fresh pages."""
    window = max(int(round(params.noise_window_s / params.baseline_block_s)), 1)
    # The 20th percentile: movements may fill most of a restless 5 minutes, noise never leaves.
    # A dense cluster of twitches (10 a minute, 0.25 s each) touches under a twentieth of the
    # 1 s blocks and leaves their medians alone: it cannot lift the floor that judges it.
    floor_blocks = rolling_rank(blocks, window, int(0.2 * window), hop=FLOOR_HOP_BLOCKS)
    floor_blocks = np.maximum(floor_blocks, np.float32(lowest))
    if scale != 1.0:
        floor_blocks *= np.float32(scale)
    return floor_blocks


def _quantum(xyz: np.ndarray) -> float:
    """The sensor's resolution: the smallest step between distinct sample values."""
    sample = xyz[: min(len(xyz), 200_000), 0]
    steps = np.diff(sorted_distinct(sample))
    steps = steps[steps > 0]
    return quantile(steps, 0.05) if len(steps) else 0.0  # np.percentile(steps, 5)
