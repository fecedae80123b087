"""Irregular timestamps onto a uniform grid: short losses bridged, long ones kept as gaps."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sleepmove.base.clock import STAMP_ROUNDING_S
from sleepmove.base.order_statistics import median, sorted_distinct
from sleepmove.base.words import how_many
from sleepmove.detection.parallel import in_background

COMMON_RATES_HZ = np.array(
    [10, 12.5, 13, 20, 25, 26, 30, 50, 52, 60, 64, 100, 104, 128, 200, 208, 256, 400, 416]
    + [500, 800, 833, 1000, 1600, 1666, 3200]  # Axivity, MetaMotion, Movesense at their fastest
)
# A run of at most this many rows whose stamps lie far from both neighbours, which agree with
# each other, holds corrupted stamps (a flipped digit, a glitching clock): dropped.
STRAY_MAX_ROWS = 16
# At the start or end of a file (one neighbour only), "far" means more than this.
STRAY_END_S = 600.0
# The grid may hold at most this many points per sample plus this many: the memory of the
# analysis stays proportional to the samples actually present, whatever the stamps say.
GRID_POINTS_PER_SAMPLE = 4
GRID_EXTRA_POINTS = 1 << 22


class UnusableTimes(ValueError):
    """The stamps cannot make a grid: too far apart, or spanning far more time than the
    samples could fill. `problem` and `expected` are the two halves of one clear line."""

    def __init__(self, problem: str, expected: str) -> None:
        self.problem = problem
        self.expected = expected
        super().__init__(f"{problem}; expected {expected}")


@dataclass
class Grid:
    """Samples of one sensor on a uniform grid starting at `start_s` (the input's clock)."""

    start_s: float
    rate_hz: float
    xyz: np.ndarray  # (n, 3) float32, gap samples hold the last value before the gap
    valid: np.ndarray  # (n,) bool, False inside data gaps
    gaps_s: np.ndarray  # (k, 2) gap [start, end] on the input's clock
    notes: list[str] = field(default_factory=list)
    # Samples at full scale counted on the input's samples (the grid interpolates them away),
    # as `quality.saturation` gives it; None until counted.
    saturation: dict | None = None

    @property
    def n(self) -> int:
        return len(self.valid)

    @property
    def end_s(self) -> float:
        return self.start_s + (self.n - 1) / self.rate_hz


def estimate_rate(time_s: np.ndarray, max_gap_s: float) -> float:
    """Samples per second of covered time, snapped to a common sensor rate within 2 %."""
    steps = np.diff(time_s)
    return _rate_of_steps(steps, np.flatnonzero((steps < 0) | (steps > max_gap_s)))


def _rate_of_steps(
    steps: np.ndarray, outside: np.ndarray, uncounted: int = 0, in_packets: np.ndarray | None = None
) -> float:
    """The rate over `steps` but those at `outside` (gaps, backward steps) and `uncounted`
    zero steps (rows received twice); `in_packets`: steps within a packet stamped as it
    arrived (a fraction of a step), taken as shared stamps for the typical step.

    Rows lost under the gap length lower the rows per second covered, not the sensor's rate:
    where the typical step (per row, or per packet of rows sharing a stamp) names a common
    rate and the rows covered fall short of it by a loss's worth (up to a fifth), that rate
    is the sensor's. The typical step alone is not trusted: arrival jitter moves it."""
    count = len(steps) - len(outside) - uncounted
    covered = float(steps.sum() - steps[outside].sum())
    if covered <= 0 or count <= 0:
        return 0.0
    rate = count / covered
    nearest = _common_rate_near(rate)
    if nearest is not None:
        return nearest
    # The typical step between stamps (zero steps are rows sharing a packet's stamp), from
    # a sample of them rather than every one.
    between_stamps = steps > 0
    if in_packets is not None:
        between_stamps[in_packets] = False
    positive = steps[between_stamps]
    sample = positive[:: max(1, len(positive) // 100_000)]
    if len(sample):
        stamps = len(steps) - len(outside) - int(np.count_nonzero(steps == 0))
        stamps -= 0 if in_packets is None else len(in_packets)
        rows_per_stamp = count / max(stamps, 1)  # one, or a packet's rows
        typical = _common_rate_near(rows_per_stamp / median(sample.copy()))
        if typical is not None and 0.8 * typical <= rate <= typical:
            return typical
    return rate


def _common_rate_near(rate: float) -> float | None:
    """The common sensor rate within 2 % of `rate`, if there is one."""
    nearest = float(COMMON_RATES_HZ[np.argmin(np.abs(COMMON_RATES_HZ - rate))])
    return nearest if abs(nearest - rate) <= 0.02 * rate else None


def regularize(
    time_s: np.ndarray, xyz: np.ndarray, max_gap_s: float = 1.0, rate_hz: float | None = None
) -> Grid:
    """Put samples on a uniform grid; losses longer than `max_gap_s` become gaps."""
    notes: list[str] = []
    time_s = np.asarray(time_s, dtype=np.float64)
    # `rows`: the input row of each sample, in time order (None: as they come). The (n, 3)
    # samples are read through it once, at interpolation, rather than reordered.
    rows: np.ndarray | None = None
    # One night-long buffer serves in turn as the steps between stamps and the positions in
    # grid steps: each new night-long array would cost fresh pages.
    buffer = np.empty(len(time_s))
    steps = np.subtract(time_s[1:], time_s[:-1], out=buffer[:-1])
    # Backward steps and shared stamps (zero steps) are found in one pass over the night.
    still = np.flatnonzero(steps <= 0)
    backwards = still[steps[still] < 0]
    resets = backwards[steps[backwards] < -max_gap_s]
    if len(resets) > max(STRAY_MAX_ROWS, len(steps) // 100):
        # Clock resets are rare events: stamps that jump back this often are out of order.
        first = int(resets[0])
        raise UnusableTimes(
            f"the time stamps jump back by more than {max_gap_s:g} s {len(resets)} times in "
            f"{len(time_s)} rows (first after sample {first + 1}): the rows are not in time "
            "order, or their times mix time zones",
            "rows in time order, with times in one zone",
        )
    stray = _stray_rows(time_s, steps, resets, max_gap_s)
    if len(stray):
        keep = np.ones(len(time_s), dtype=bool)
        keep[stray] = False
        notes.append(
            f"{how_many(len(stray), 'row')} whose time stamp lies far from both neighbours' "
            f"(corrupted stamps) dropped (first at sample {stray[0] + 1}: {time_s[stray[0]]:.6g} s)"
        )
        time_s = time_s[keep]
        kept = np.empty((len(time_s), 3), dtype=np.float32, order="F")
        for axis in range(3):  # column order kept (see _resample)
            kept[:, axis] = xyz[keep, axis]
        xyz = kept
        buffer = np.empty(len(time_s))
        steps = np.subtract(time_s[1:], time_s[:-1], out=buffer[:-1])
        still = np.flatnonzero(steps <= 0)
        backwards = still[steps[still] < 0]
        resets = backwards[steps[backwards] < -max_gap_s]
    if len(resets):
        time_s = _after_clock_resets(time_s, resets, max_gap_s)
        notes.append(
            f"the clock went back {how_many(len(resets), 'time')} (first after sample "
            f"{resets[0] + 1}): a clock reset; the later samples follow the earlier ones after a "
            "data gap of unknown length"
        )
        steps = np.subtract(time_s[1:], time_s[:-1], out=buffer[:-1])
        still = np.flatnonzero(steps <= 0)
        backwards = still[steps[still] < 0]
    if len(backwards):
        notes.append(
            f"time went backwards by under {max_gap_s:g} s {len(backwards)} "
            "times (timestamp jitter); samples were put in time order"
        )
        rows = np.argsort(time_s, kind="stable")
        time_s = time_s[rows]
        steps = np.subtract(time_s[1:], time_s[:-1], out=buffer[:-1])
        still = np.flatnonzero(steps <= 0)
    repeats = still[steps[still] == 0] + 1  # rows stamped like the row before them
    repeated = _repeated_rows(repeats, xyz, rows, len(time_s))
    if repeated.any():
        notes.append(f"{how_many(int(repeated.sum()), 'duplicated row')} dropped")
    # A row received twice is dropped by staying where it is: it takes the spread stamp of
    # the row before it and counts for nothing else (rate, spread). Interpolation reads the
    # last of equal stamps, and the copy holds that row's values (or, a packet received
    # twice, sits at its run's last stamp holding the last row's values).
    # A step of exactly max_gap_s as the file writes it is no gap: parsed stamps' difference
    # carries rounding (15.960 to 16.960 s is 1.0000000000000018), a gap or not by chance.
    gap_after = np.flatnonzero(steps > max_gap_s + STAMP_ROUNDING_S)
    rate = rate_hz or _rate_of_steps(steps, gap_after, int(repeated.sum()))
    # Rows stamped a fraction of a step after the row before share its packet too: stamped
    # as they arrived, a few at a time (five rows 2 ms apart every half second at 10 Hz).
    # Left there, the grid would hold each packet's noise in one place and interpolate
    # smoothly between: a noise that comes and goes twice a second, read as movement.
    bunched = still_packet_rows(steps, rate) if rate > 0 else np.empty(0, dtype=np.intp)
    if len(bunched) and not rate_hz:  # the rate per packet, as for shared stamps (losses)
        rate = _rate_of_steps(steps, gap_after, int(repeated.sum()), bunched - 1)
    if not rate > 0 or not np.isfinite(rate):
        positive = steps[steps > 0]
        if len(positive) == 0:  # all stamps alike: no rate, however fast or slow
            raise UnusableTimes(
                f"the time does not advance: all {len(time_s):,} samples hold one time stamp",
                "a time stamp per sample that advances with the samples",
            )
        if len(positive) * 2 < len(steps):  # mostly alike (899 of 900): not "too slow"
            raise UnusableTimes(
                f"the time mostly stands still: {len(steps) - len(positive):,} of "
                f"{len(time_s):,} samples hold the time stamp of the one before",
                "a time stamp per sample that advances with the samples",
            )
        typical = f" (median step {median(positive):.3g} s)"
        raise UnusableTimes(
            f"sample rate too low: no two samples are within {max_gap_s:g} s of each "
            f"other{typical}",
            f"raw samples, at least one every {max_gap_s:g} s (not epochs)",
        )
    # Before the positions overwrite the steps; sharing spreads stamps by a packet at most.
    _check_grid_length(steps, gap_after, (time_s[-1] - time_s[0]) * rate, rate, len(time_s))
    if len(bunched):
        notes.append(
            f"{len(bunched)} rows stamped under {BUNCHED_STEP:g} of a sample step after the "
            f"row before (first at sample {bunched[0] + 1}): stamped as packets arrived; "
            "spread back from the packet's last stamp at the rate"
        )
        copies = repeats[repeated]
        repeats = np.union1d(repeats, bunched)
        repeated = np.isin(repeats, copies)
    # The spread stamps are the input's but in runs of shared stamps: those few are kept
    # apart (`in_run`, `run_stamps`) rather than in a night-long copy of the stamps.
    in_run, run_stamps = _spread_runs(time_s, rate, repeats, copies=repeated)
    ends = _stamps_at(np.array([0, len(time_s) - 1]), time_s, in_run, run_stamps)
    start, end = float(ends[0]), float(ends[1])
    n = int(np.floor((end - start) * rate + 1e-9)) + 1
    edges = np.column_stack([gap_after, gap_after + 1])  # the rows around each gap
    gaps = _stamps_at(edges, time_s, in_run, run_stamps)
    position = np.subtract(time_s, start, out=buffer)  # in grid steps, non-decreasing
    position *= rate
    mended = np.subtract(run_stamps, start)
    mended *= rate
    position[in_run] = mended
    values = _resample(position, xyz, rows, n)
    valid = np.ones(n, dtype=bool)
    for gap_start, gap_end in gaps:
        first = int(np.ceil((gap_start - start) * rate))
        last = int(np.floor((gap_end - start) * rate))
        values[first:last] = values[first - 1 if first > 0 else 0]
        valid[first:last] = False
    return Grid(start, rate, values, valid, gaps, notes)


BUNCHED_STEP = 0.25  # of a sample step: rows closer than this share a packet's stamp...
BUNCHED_SHARE = 0.25  # ...where at least this share of the rows are so close


def still_packet_rows(steps: np.ndarray, rate: float) -> np.ndarray:
    """Rows (sorted) stamped after the row before by more than nothing but less than
    BUNCHED_STEP of a sample step: the same packet, stamped row by row as it arrived. Only
    where that is how the file is stamped (BUNCHED_SHARE of its rows: packets of two rows
    make half): a few close stamps in jitter are the rows' own times."""
    bunched = np.flatnonzero((steps > 0) & (steps < BUNCHED_STEP / rate)) + 1
    if len(bunched) < BUNCHED_SHARE * len(steps):
        return bunched[:0]
    return bunched


def _stray_rows(
    time_s: np.ndarray, steps: np.ndarray, resets: np.ndarray, max_gap_s: float
) -> np.ndarray:
    """Rows (sorted) whose stamps are corrupted: a run of at most STRAY_MAX_ROWS rows that
    jumps more than `max_gap_s` away from both its neighbours while those agree with each
    other, or that stands alone more than STRAY_END_S from the rest at either end.

    In the middle of a file such a run always steps back by more than `max_gap_s` on one
    side (a clock reset, `resets`): a clean file pays nothing but the ends' few steps.
    """
    found = []
    if len(resets):
        big = np.flatnonzero(np.abs(steps) > max_gap_s)
        first, last = big[:-1], big[1:]  # rows first + 1 .. last are off, if they are close
        around = time_s[np.minimum(last + 1, len(time_s) - 1)] - time_s[first]
        off = (last - first <= STRAY_MAX_ROWS) & (np.abs(around) <= max_gap_s)
        for a, b in zip(first[off], last[off]):  # a loop over corrupted runs
            found.append(np.arange(a + 1, b + 1))
    if len(time_s) > 4 * STRAY_MAX_ROWS:
        head = np.flatnonzero(np.abs(steps[:STRAY_MAX_ROWS]) > STRAY_END_S)
        if len(head):
            found.append(np.arange(head[-1] + 1))
        tail = np.flatnonzero(np.abs(steps[-STRAY_MAX_ROWS:]) > STRAY_END_S)
        if len(tail):
            found.append(np.arange(len(steps) - STRAY_MAX_ROWS + tail[0] + 1, len(time_s)))
    if not found:
        return np.empty(0, dtype=np.intp)
    return sorted_distinct(np.concatenate(found))


def _check_grid_length(
    steps: np.ndarray, gap_after: np.ndarray, points: float, rate: float, samples: int
) -> None:
    """Refuse a grid far longer than its samples: memory stays proportional to the data."""
    if points <= GRID_POINTS_PER_SAMPLE * samples + GRID_EXTRA_POINTS:
        return
    widest = int(gap_after[np.argmax(steps[gap_after])]) if len(gap_after) else 0
    raise UnusableTimes(
        f"the time stamps span {points / rate / 3600:.4g} h, far more than the "
        f"{samples / rate / 3600:.3g} h of samples could fill (the widest jump: "
        f"{steps[widest] / 3600:.4g} h after sample {widest + 1})",
        "one recording with a continuous clock (split the file, or mend its time stamps)",
    )


def _resample(position: np.ndarray, xyz: np.ndarray, rows: np.ndarray | None, n: int) -> np.ndarray:
    """Linear interpolation of xyz[rows] (at `position`, in grid steps) at grid points 0 ..
    n - 1, as float32 in column order (each axis contiguous: the detector works one axis at a
    time)."""
    out = np.empty((n, 3), dtype=np.float32, order="F")
    xyz = np.asarray(xyz, dtype=np.float32)  # a copy only for other inputs than the readers'
    if len(position) == n and np.max(np.abs(position - np.arange(n))) < 0.05:
        for axis in range(3):  # already on the grid
            column = xyz[:, axis]
            out[:, axis] = column if rows is None else np.take(column, rows, mode="clip")
        return out
    # A span of grid points at a time: its temporaries stay in the core's cache, where whole-
    # night ones would each cost a pass through memory and fresh pages. Grid point k lies
    # between sample `before` (the last at or before it) and the next one.
    firsts = np.arange(0, n, RESAMPLE_SPAN)
    stops = np.append(firsts[1:], n)
    lows = np.searchsorted(position, firsts, side="right") - 1
    highs = np.searchsorted(position, stops - 1, side="right")
    # A span's grid points counted from its first, made once: numpy's arange per span cost
    # as much as a gather.
    span_points = np.arange(RESAMPLE_SPAN, dtype=np.float64)

    def interpolate(spans: range) -> None:
        for span in spans:  # a loop over spans
            first, stop, low, high = firsts[span], stops[span], lows[span], highs[span]
            _interpolate_span(out[first:stop], position, xyz, rows, first, low, high, span_points)

    # The spans are independent: the later half runs on the second core meanwhile.
    half = (len(firsts) + 1) // 2
    later = in_background(interpolate, range(half, len(firsts)))
    interpolate(range(half))
    later.result()
    return out


RESAMPLE_SPAN = 1 << 16  # grid points per pass (temporaries of 0.5 MB)


def _interpolate_span(
    out: np.ndarray,
    position: np.ndarray,
    xyz: np.ndarray,
    rows: np.ndarray | None,
    first: int,
    low: int,
    high: int,
    span_points: np.ndarray,
) -> None:
    """Grid points first .. first + len(out) - 1, whose `before` samples are low .. high - 1
    (`low` at or before the first point, samples up to `high` at or before the last).
    `span_points`: 0.0, 1.0, ... (float64), at least one per grid point."""
    count = len(out)
    # Samples at or before each grid point, counted from `low`: one histogram of the samples'
    # next grid point and its cumulative sum. A zero step (equal stamps) is never read:
    # `before` is the last of equal samples.
    after_low = np.ceil(position[low + 1 : high]).astype(np.intp)
    after_low -= first
    before = np.bincount(after_low, minlength=count)[:count]
    np.cumsum(before, out=before)
    # Steps to the next sample, from `low`; the night's last sample steps 1.0 (it serves only
    # the last grid point, at weight 0).
    segment = position[low : high + 1]
    step = np.empty_like(segment)
    np.subtract(segment[1:], segment[:-1], out=step[:-1])
    step[-1] = 1.0
    # Each grid point (a whole number: exact) less its `before` sample's position, in steps to
    # the next sample. Gathers whose indices are in range use mode "wrap": take's fastest.
    weight = np.add(span_points[:count], first)
    weight -= np.take(segment, before, mode="wrap")
    weight /= np.take(step, before, mode="wrap")
    weight = weight.astype(np.float32)
    # Samples are read through views from `low` (the next sample's from `low` + 1): "clip"
    # keeps the last sample for the grid's last point.
    if rows is None:
        low_rows, high_rows, low_from, high_from = before, before, low, low + 1
    else:
        low_rows = np.take(rows[low:], before, mode="wrap")
        high_rows = np.take(rows[low + 1 :], before, mode="clip")
        low_from, high_from = 0, 0
    high_values = np.empty(count, dtype=np.float32)
    for axis in range(3):  # 1-D gathers: several times faster than gathering (n, 3) rows
        column, low_values = xyz[:, axis], out[:, axis]
        np.take(column[low_from:], low_rows, out=low_values, mode="wrap")
        np.take(column[high_from:], high_rows, out=high_values, mode="clip")
        high_values -= low_values
        high_values *= weight
        low_values += high_values


def _after_clock_resets(time_s: np.ndarray, resets: np.ndarray, max_gap_s: float) -> np.ndarray:
    """Shift each segment after a reset to start just after the previous one ends, leaving a
    gap (its true length is unknown) so no series spans it and no sample is lost."""
    shifted = time_s.copy()
    for index in resets:  # a loop over clock resets
        jump = shifted[index] - shifted[index + 1] + 2 * max_gap_s
        shifted[index + 1 :] += jump
    return shifted


def _repeated_rows(
    repeats: np.ndarray, xyz: np.ndarray, rows: np.ndarray | None, n_rows: int
) -> np.ndarray:
    """Which of `repeats` (rows, in time order, stamped like the row before) were received
    twice.

    A BLE packet delivered again makes the second half of its run of equal stamps repeat the
    first, row for row (a single row stamped on its own: a run of two). A single row of a
    packet delivered again makes its run one longer than the night's usual run (the packet
    size), the copy equal to the row before it. Samples of one packet that merely happen to
    be equal (a still, quantized sensor) do neither, and are kept.
    """
    if len(repeats) == 0:
        return np.zeros(0, dtype=bool)

    def same_values(later: np.ndarray, earlier: np.ndarray) -> np.ndarray:
        if rows is not None:
            later, earlier = rows[later], rows[earlier]
        # Axis by axis, only the pairs equal so far: most differ on the first, and each
        # gather from the night's columns costs a cache miss per row.
        equal = np.arange(len(later))
        for axis in range(3):  # 1-D gathers: (n, 3) row gathers are several times slower
            column = xyz[:, axis]
            equal = equal[column[later[equal]] == column[earlier[equal]]]
        same = np.zeros(len(later), dtype=bool)
        same[equal] = True
        return same

    run_id, run_first, run_size, run_start = _runs(repeats)
    size = run_size[run_id]
    half = size // 2
    offset = repeats - run_first[run_id]  # each row's place in its run (the first's: 0)
    second_half = (size % 2 == 0) & (offset >= half)
    matching = same_values(repeats[second_half], repeats[second_half] - half[second_half])
    mismatches = np.bincount(run_id[second_half], weights=~matching, minlength=len(run_first))
    packet_again = (run_size % 2 == 0) & (mismatches == 0)
    # Every row received twice in a row (a whole file doubled row by row): each odd row of
    # the run repeats the row before it. Runs of one packet doubled so grow to twice the
    # night's usual run, where the excess below would see nothing unusual. A run of two is
    # settled above: its second row repeats the first (the packet again) or differs from it,
    # so neither test below would find it; they skip it (most runs, with host stamps).
    longer = size > 2
    odd = longer & (size % 2 == 0) & ~packet_again[run_id] & (offset % 2 == 1)
    pairs_match = same_values(repeats[odd], repeats[odd] - 1)
    unpaired = np.bincount(run_id[odd], weights=~pairs_match, minlength=len(run_first))
    paired = (run_size > 2) & (run_size % 2 == 0) & ~packet_again & (unpaired == 0)
    pair_copy = odd & paired[run_id]
    # Rows equal to the row before them, in runs longer than usual, up to the excess.
    singles = n_rows - int(run_size.sum())  # rows whose stamp no other row shares: runs of 1
    sizes = np.bincount(run_size)
    sizes[1] += singles
    excess = np.maximum(run_size - int(np.argmax(sizes)), 0)
    candidate = longer & ~packet_again[run_id] & ~paired[run_id] & (excess[run_id] > 0)
    candidate[candidate] = same_values(repeats[candidate], repeats[candidate] - 1)
    rank = np.cumsum(candidate)  # candidates so far; less those of earlier runs
    rank -= np.concatenate([[0], rank[:-1]])[run_start[run_id]]
    row_again = candidate & (rank <= excess[run_id])
    return (second_half & packet_again[run_id]) | pair_copy | row_again


def _runs(repeats: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Runs of equal stamps from the positions of their second and later rows: the run of
    each of those rows, and each run's first row, size, and second row's place in
    `repeats`."""
    new_run = np.ones(len(repeats), dtype=bool)
    new_run[1:] = repeats[1:] != repeats[:-1] + 1
    run_id = np.cumsum(new_run) - 1
    run_start = np.flatnonzero(new_run)
    run_first = repeats[run_start] - 1
    return run_id, run_first, np.bincount(run_id) + 1, run_start


def _spread_runs(
    time_s: np.ndarray, rate: float, repeats: np.ndarray, copies: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Samples sharing one stamp (packet-level stamping) are spread back from it at the rate.

    `repeats`: the second and later rows of each run of equal stamps. `copies`: which of them
    are rows received twice: those take the spread stamp of the row before them and are left
    out of the spread. Gives every row of the runs, in order, and its spread stamp: only
    those are touched, so a clean file costs nothing here.
    """
    if len(repeats) == 0:
        return repeats, np.empty(0)
    run_id, run_first, run_rows, run_start = _runs(repeats)
    # Every row of every run, in order: each run's first row (never a copy), then its repeats.
    first_place = run_start + np.arange(len(run_first))
    head = np.zeros(len(repeats) + len(run_first), dtype=bool)
    head[first_place] = True
    in_run = np.empty(len(head), dtype=np.intp)
    in_run[head] = run_first
    in_run[~head] = repeats
    run_of = np.cumsum(head) - 1
    kept = head.copy()
    kept[~head] = True if copies is None else ~copies
    # Each kept row's place among its run's kept rows (the first row is place 0), and each
    # run's count of kept rows.
    count = np.cumsum(kept)
    place = count - count[first_place][run_of]
    run_size = np.bincount(run_of, weights=kept, minlength=len(run_first)).astype(np.intp)
    probe = time_s[:: max(1, len(time_s) // 10_000)]
    if np.all(probe == np.floor(probe)):
        # Stamps in whole seconds (ISO times written without a fraction): each stamp is the
        # start of its second, cut short, so its rows spread forward from it; never up to
        # the row after the run.
        after = run_first + run_rows
        after_run = np.where(
            after < len(time_s), time_s[np.minimum(after, len(time_s) - 1)], np.inf
        )[run_of]
        moved = time_s[in_run] + place / rate
        stamps = np.minimum(moved, np.nextafter(after_run, -np.inf))
    else:
        # A packet's stamp is its last sample's: its rows spread back from it (from its
        # last row's stamp: rows stamped as they arrived differ by a fraction of a step).
        last_stamp = time_s[run_first + run_rows - 1]
        moved = last_stamp[run_of] - (run_size[run_of] - 1 - place) / rate
        # Never back past the sample before the run (kept in place: no run ends with a moved
        # sample), so the stamps stay in order without a pass over the whole night.
        before_run = np.where(run_first > 0, time_s[np.maximum(run_first - 1, 0)], -np.inf)
        stamps = np.maximum(moved, before_run[run_of])
    if not kept.all():  # each copy: the stamp of the last kept row before it in its run
        last_kept = np.maximum.accumulate(np.where(kept, np.arange(len(kept)), 0))
        stamps[~kept] = stamps[last_kept[~kept]]
    return in_run, stamps


def _stamps_at(
    index: np.ndarray, time_s: np.ndarray, in_run: np.ndarray, run_stamps: np.ndarray
) -> np.ndarray:
    """The spread stamps of rows `index` (any shape): the input's, or for rows of runs
    (`in_run`, in order) their `run_stamps`."""
    stamps = time_s[index]
    if len(in_run):
        found = np.minimum(np.searchsorted(in_run, index), len(in_run) - 1)
        spread = in_run[found] == index
        stamps[spread] = run_stamps[found[spread]]
    return stamps
