"""O(n) smoothing and block statistics used by the detector."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

MEAN_SPAN = 1 << 16  # moving-mean outputs per pass (temporaries of 0.25 MB in float32)
POSITIVE_INF_BITS = np.uint32(0x7F800000)  # float32 +inf's bits, the largest of +0..+inf


def moving_mean(values: np.ndarray, width: int) -> np.ndarray:
    """Centred moving mean along axis 0, in the values' precision (at least float32); the
    window shrinks at the ends."""
    out = np.empty_like(values, dtype=np.result_type(values.dtype, np.float32))
    for _ in _mean_pieces(values, width, out):  # each piece is written into `out`
        pass
    return out


def moving_mean_pieces(values: np.ndarray, width: int) -> Iterator[tuple[int, np.ndarray]]:
    """`moving_mean(values, width)` a piece at a time, in order: each piece's first index and
    its means, the very numbers of the whole night's. A piece fits the core's cache, so what
    is done with it next costs no night-long pass or temporary."""
    return _mean_pieces(values, width, None)


def _mean_pieces(
    values: np.ndarray, width: int, out: np.ndarray | None
) -> Iterator[tuple[int, np.ndarray]]:
    """The pieces of `moving_mean`, each written into `out` where given."""
    width = max(int(width), 1)
    n = len(values)
    before, after = width // 2, width - width // 2
    dtype = np.result_type(values.dtype, np.float32)

    def place(first: int, stop: int) -> np.ndarray:  # where the means of [first, stop) go
        if out is None:
            return np.empty((stop - first, *values.shape[1:]), dtype=dtype)
        return out[first:stop]

    if n < width:
        if n:
            yield 0, _clipped_means(values, np.arange(n), before, after, place(0, n))
        return
    if before:
        yield 0, _clipped_means(values, np.arange(before), before, after, place(0, before))
    # A span at a time: the sums' temporaries stay in the core's cache. Each sum is the
    # same additions wherever its span starts, so the numbers equal the whole night's.
    for first in range(before, n - after + 1, MEAN_SPAN):  # a loop over spans
        stop = min(first + MEAN_SPAN, n - after + 1)
        sums = window_sums(values[first - before : stop - before + width - 1], width)
        yield first, np.divide(sums, width, out=place(first, stop))
    if after > 1:
        tail = np.arange(n - after + 1, n)
        yield tail[0], _clipped_means(values, tail, before, after, place(tail[0], n))


def _clipped_means(
    values: np.ndarray, edges: np.ndarray, before: int, after: int, out: np.ndarray
) -> np.ndarray:
    """The means at `edges` (consecutive), whose windows an end clips: from a short
    cumulative sum."""
    n = len(values)
    low = np.maximum(edges - before, 0)
    high = np.minimum(edges + after, n)
    first = low[0]
    cumulative = np.zeros((high[-1] - first + 1, *values.shape[1:]))
    np.cumsum(values[first : high[-1]], axis=0, out=cumulative[1:])
    count = (high - low).reshape(-1, *([1] * (values.ndim - 1)))
    out[...] = (cumulative[high - first] - cumulative[low - first]) / count
    return out


def window_sums(values: np.ndarray, width: int) -> np.ndarray:
    """Sums of every `width` consecutive values along axis 0 (n - width + 1 of them).

    By doubling: sums over 1, 2, 4, ... values, each the previous shifted and added, and the
    powers of two that make up `width` added together. About 2 log2(width) whole-array
    additions, which vectorize, where a cumulative sum is one sequential pass (and would need
    float64 for its differences to keep their precision over a night).
    """
    n = len(values)
    count = n - width + 1
    if count <= 0:
        return values[:0].copy()
    total = None
    offset = 0
    power, span = values, 1  # power[i] = values[i : i + span].sum(axis=0)
    buffers: list[np.ndarray | None] = [None, None]  # alternated: no fresh pages per step
    while True:
        if width & span:
            part = power[offset : offset + count]
            if total is None:
                total = part.copy()
            else:
                total += part
            offset += span
        if 2 * span > width:
            return total
        step = span.bit_length() % 2
        if buffers[step] is None:
            buffers[step] = np.empty_like(values)
        doubled = buffers[step][: len(power) - span]
        np.add(power[:-span], power[span:], out=doubled)
        power, span = doubled, 2 * span


def true_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[start, end) of every run of True in a 1-D boolean mask."""
    if len(mask) == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    # One comparison of neighbours finds every boundary; runs then alternate in value.
    bounds = np.concatenate([[0], np.flatnonzero(mask[1:] != mask[:-1]) + 1, [len(mask)]])
    first = 0 if mask[0] else 1
    return bounds[:-1][first::2], bounds[1:][first::2]


def block_mean(values: np.ndarray, block: int) -> np.ndarray:
    """Mean of consecutive blocks of `block` samples (the last partial block included)."""
    firsts = np.arange(0, len(values), block)
    # Sums in the values' own precision: a block is short, and a float64 cast of every sample
    # would cost more than the sums.
    sums = np.add.reduceat(values, firsts, axis=0).astype(np.float64)
    counts = np.diff(np.append(firsts, len(values))).reshape(-1, *([1] * (values.ndim - 1)))
    return sums / counts


def blockwise(
    op: np.ufunc,
    values: np.ndarray,
    per_block: np.ndarray,
    block: int,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """`op(values[i], per_block[i // block])` for every sample of a 1-D signal: the per-block
    values act over their blocks without being spread into a night-long array."""
    out = np.empty_like(values) if out is None else out
    full = len(values) // block
    head = slice(0, full * block)
    op(
        values[head].reshape(full, block),
        per_block[:full, None],
        out=out[head].reshape(full, block),
    )
    if len(values) > full * block:
        op(values[full * block :], per_block[full], out=out[full * block :])
    return out


def block_median(values: np.ndarray, block: int) -> np.ndarray:
    """Median of consecutive blocks of a 1-D signal; of an even count, the upper middle value.

    Each block sorted: numpy's vectorized sort of short rows beats its selection, which
    pays a call per row (4.6 against 5.7 ms for an 8 h 100 Hz night). A span of blocks at a
    time: the sorted copy stays in the core's cache instead of costing a night's fresh pages.
    float32 rows are sorted by their bits as unsigned integers (3.0 against 4.3 ms): for
    +0 to +inf, the order of the values. A row holding anything else (a negative value, -0,
    NaN) sorts its largest key past +inf's, and is sorted again as floats.
    """
    n_full = len(values) // block
    rows = values[: n_full * block].reshape(n_full, block)
    out = np.empty(n_full + (len(values) > n_full * block), dtype=values.dtype)
    keys = rows.view(np.uint32) if values.dtype == np.float32 else None
    per_pass = max(MEAN_SPAN // block, 1)
    for first in range(0, n_full, per_pass):  # a loop over spans of blocks
        span = slice(first, min(first + per_pass, n_full))
        if keys is None:
            out[span] = np.sort(rows[span], axis=1)[:, block // 2]
            continue
        ordered = np.sort(keys[span], axis=1)
        out[span] = ordered[:, block // 2].view(np.float32)
        other = first + np.flatnonzero(ordered[:, -1] > POSITIVE_INF_BITS)
        if len(other):
            out[other] = np.sort(rows[other], axis=1)[:, block // 2]
    tail = values[n_full * block :]
    if len(tail):
        out[-1] = np.partition(tail, len(tail) // 2)[len(tail) // 2]
    return out


def angle_deg(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Angle between paired rows of two (k, 3) arrays of vectors."""
    dot = np.einsum("ij,ij->i", first, second)
    norms = np.linalg.norm(first, axis=1) * np.linalg.norm(second, axis=1)
    return np.degrees(np.arccos(np.clip(dot / np.maximum(norms, 1e-12), -1.0, 1.0)))


def ranges_index(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of every [start, end) range, concatenated, and where each range begins in them."""
    lengths = np.asarray(ends) - np.asarray(starts)
    offsets = np.cumsum(lengths) - lengths
    index = np.arange(int(lengths.sum())) - np.repeat(offsets - starts, lengths)
    return index, offsets


def first_at_max(values: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per range of `values` (concatenated, each starting at `offsets`, as `ranges_index`
    gives them; none empty): its largest value, and the position in `values` of its first
    sample at that value."""
    counts = np.diff(offsets, append=len(values))
    largest = np.maximum.reduceat(values, offsets)
    at_largest = np.flatnonzero(values == np.repeat(largest, counts))
    return largest, at_largest[np.searchsorted(at_largest, offsets)]


# Spans reaching over more than this share of the night (a restless night, where events fill
# most of it) are cut from a whole-night mean: contiguous passes, where gathering each span's
# samples costs several times more (0.3 s against 0.05 s for 68 % of an 8 h 100 Hz night).
WHOLE_NIGHT_SHARE = 0.25


def span_means(values: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Mean of values[start:end] along axis 0 for each non-empty span (spans may overlap)."""
    if len(starts) == 0:
        return np.empty((0, *values.shape[1:]))
    index, offsets = ranges_index(starts, ends)
    # Column by column: gathering a column of column-order samples is a third of gathering
    # rows, and reduceat sums each span alike (its first value plus the pairwise rest).
    columns = values.reshape(len(values), -1)
    sums = np.column_stack(
        [
            np.add.reduceat(columns[:, k][index], offsets, dtype=np.float64)
            for k in range(columns.shape[1])
        ]
    )
    if values.ndim == 1:
        sums = sums[:, 0]
    return sums / (np.asarray(ends) - starts).reshape(-1, *([1] * (values.ndim - 1)))


def disjoint_span_means(values: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Mean of values[start:end] along axis 0 for sorted, disjoint, non-empty spans: sums by
    reduceat over the spans' bounds where they cover much of the night (holds), over their
    gathered samples where they cover little of it (events)."""
    if len(starts) == 0:
        return np.zeros((0, *values.shape[1:]))
    # Column by column: along axis 0 of column-order samples is 3 x slower.
    columns = values.reshape(len(values), -1)
    whole = np.sum(ends - starts) > len(values) * WHOLE_NIGHT_SHARE
    if not whole:
        # Few samples (events): gathered, rather than a float64 copy of the whole column
        # made and summed between the spans too. reduceat sums a span alike wherever it
        # lies (its first value plus the pairwise sum of the rest): the same numbers.
        index, offsets = ranges_index(starts, ends)
        parts = [columns[:, k][index] for k in range(columns.shape[1])]
    else:
        offsets = np.column_stack([starts, ends]).ravel()
        if offsets[-1] == len(values):  # reduceat takes the last span to the end by itself
            offsets = offsets[:-1]
        parts = [columns[:, k] for k in range(columns.shape[1])]
    sums = np.column_stack([np.add.reduceat(part, offsets, dtype=np.float64) for part in parts])
    if whole:  # every other sum is of the samples between two spans
        sums = sums[::2]
    if values.ndim == 1:
        sums = sums[:, 0]
    return sums / (ends - starts).reshape(-1, *([1] * (values.ndim - 1)))


def _mean_f64(column: np.ndarray, before: int, after: int) -> np.ndarray:
    """Centred moving mean of a 1-D column over `before` samples back to `after` - 1 ahead,
    the window clipped at the ends, from a float64 running sum (as the span means are)."""
    n = len(column)
    width = before + after
    cumulative = np.zeros(n + 1)
    np.cumsum(column, out=cumulative[1:])
    out = np.empty(n)
    if n >= width:
        np.subtract(
            cumulative[width:], cumulative[: n + 1 - width], out=out[before : n - after + 1]
        )
        out[before : n - after + 1] /= width
    head = np.arange(min(before, n))
    tail = np.arange(max(n - after + 1, before, len(head)), n)
    for edge in (head, tail):  # windows clipped by an end: a few samples each
        low, high = np.maximum(edge - before, 0), np.minimum(edge + after, n)
        out[edge] = (cumulative[high] - cumulative[low]) / (high - low)
    return out


def moving_mean_in_spans(
    values: np.ndarray, starts: np.ndarray, ends: np.ndarray, width: int
) -> np.ndarray:
    """`moving_mean(values, width)[start:end]` of every span, concatenated: the same numbers
    without smoothing the whole night when only the events need it."""
    width = max(int(width), 1)
    n = len(values)
    before, after = width // 2, width - width // 2
    # Each span's samples need values from `before` ahead of it to `after` past it.
    reach_lo = np.maximum(starts - before, 0)
    reach_hi = np.minimum(ends - 1 + after, n)
    gathered, reach_at = ranges_index(reach_lo, reach_hi)
    low, high, count = _windows_in_reach(starts, ends, n, before, after, reach_lo, reach_at)
    columns = values.reshape(n, -1)
    out = np.empty((len(low), columns.shape[1]))
    cumulative = np.zeros(len(gathered) + 1)
    for k in range(columns.shape[1]):  # one column at a time: 1-D gathers are cheaper
        _window_means(columns[:, k][gathered], low, high, count, cumulative, out[:, k])
    return out if values.ndim == 2 else out[:, 0]


def moving_mean_twice_in_spans(
    values: np.ndarray, starts: np.ndarray, ends: np.ndarray, width: int
) -> np.ndarray:
    """`moving_mean(moving_mean(values, width), width)[start:end]` of every span,
    concatenated: the first mean over each span widened by the second's reach. Two means of
    a width T pass a tilt held for T or more and leave a tenth of what one leaves of an
    oscillation of 2/T Hz or faster (a bed's vibration): 5 % of its amplitude at most, where
    one mean leaves 22 %."""
    width = max(int(width), 1)
    n = len(values)
    before, after = width // 2, width - width // 2
    # The second mean at a span's samples takes the first from `before` ahead to `after` past.
    reach_lo = np.maximum(starts - before, 0)
    reach_hi = np.minimum(ends - 1 + after, n)
    once = moving_mean_in_spans(values, reach_lo, reach_hi, width)
    lengths = reach_hi - reach_lo
    reach_at = np.cumsum(lengths) - lengths  # where each span's reach begins in `once`
    low, high, count = _windows_in_reach(starts, ends, n, before, after, reach_lo, reach_at)
    columns = once.reshape(len(once), -1)
    out = np.empty((len(low), columns.shape[1]))
    cumulative = np.zeros(len(once) + 1)
    for k in range(columns.shape[1]):  # one column at a time
        _window_means(columns[:, k], low, high, count, cumulative, out[:, k])
    return out if values.ndim == 2 else out[:, 0]


def _windows_in_reach(
    starts: np.ndarray,
    ends: np.ndarray,
    n: int,
    before: int,
    after: int,
    reach_lo: np.ndarray,
    reach_at: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every sample of the spans, concatenated: its window [low, high) as positions in
    the spans' reaches laid end to end (reach k from `reach_lo[k]`, at `reach_at[k]`), and
    its count of samples, the window clipped by the night's ends."""
    samples, _ = ranges_index(starts, ends)
    shift = np.repeat(reach_at - reach_lo, np.asarray(ends) - starts)  # sample -> reach
    low = np.maximum(samples - before, 0)
    high = np.minimum(samples + after, n)
    count = high - low
    low += shift
    high += shift
    return low, high, count


def _window_means(
    column: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    count: np.ndarray,
    cumulative: np.ndarray,
    out: np.ndarray,
) -> None:
    """The mean of `column[low:high]` for each window into `out`: the difference of a
    float64 running sum (in `cumulative`, its first value 0), over the count."""
    np.cumsum(column, out=cumulative[1:])
    np.subtract(cumulative[high], cumulative[low], out=out)
    out /= count


def spans_reach_far(n: int, starts: np.ndarray, ends: np.ndarray, width: int) -> bool:
    """Whether the samples that means of `width` over the spans reach cover more than
    WHOLE_NIGHT_SHARE of the night's `n`: `moving_means_in_spans` then takes whole-night
    means."""
    width = max(int(width), 1)
    before, after = width // 2, width - width // 2
    reach = np.minimum(ends - 1 + after, n) - np.maximum(starts - before, 0)
    return bool(np.sum(reach) > n * WHOLE_NIGHT_SHARE)


def moving_means_in_spans(
    values: np.ndarray, starts: np.ndarray, ends: np.ndarray, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """`moving_mean_in_spans` and `moving_mean_twice_in_spans` of the same spans; on a
    restless night from one whole-night first mean per column."""
    width = max(int(width), 1)
    n = len(values)
    before, after = width // 2, width - width // 2
    if not spans_reach_far(n, starts, ends, width):
        return (
            moving_mean_in_spans(values, starts, ends, width),
            moving_mean_twice_in_spans(values, starts, ends, width),
        )
    samples, _ = ranges_index(starts, ends)
    columns = values.reshape(n, -1)
    once = np.empty((len(samples), columns.shape[1]))
    twice = np.empty_like(once)
    for k in range(columns.shape[1]):  # one column at a time
        first = _mean_f64(columns[:, k], before, after)
        once[:, k] = first[samples]
        twice[:, k] = _mean_f64(first, before, after)[samples]
    if values.ndim == 1:
        return once[:, 0], twice[:, 0]
    return once, twice


def rolling_rank(values: np.ndarray, window: int, rank: int, hop: int = 1) -> np.ndarray:
    """The `rank`-th smallest (0: the minimum) of each centred `window` of a 1-D signal, its
    ends padded with the end values; computed at every `hop`-th position, held over the hop.

    A hop keeps long windows cheap where the statistic changes slowly (a 5-minute noise floor
    evaluated every 10 s): the cost is window / hop selections per value.
    """
    n = len(values)
    half = window // 2
    padded = np.pad(values, (half, window - 1 - half), mode="edge")
    every = sliding_window_view(padded, window)  # window i covers i-half..
    # The centre of each hop, by slicing: a strided view that the partition copies once (a
    # fancy index would copy it first, which took twice as long as the partition).
    ranked = np.partition(every[hop // 2 :: hop], rank, axis=1)[:, rank]
    if len(ranked) * hop < n:  # the last hop's centre lies past the end: the last window
        ranked = np.append(ranked, np.partition(every[n - 1], rank)[rank])
    return np.repeat(ranked, hop)[:n]
