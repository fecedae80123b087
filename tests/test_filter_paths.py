"""Faster paths of the detection filters give the very numbers of the plain ones, bit for bit."""

import numpy as np
import pytest

from sleepmove.detection import filters


def _night(n: int = 20_000, seed: int = 3) -> np.ndarray:
    """Column-order float32 samples, as a grid holds them."""
    rng = np.random.default_rng(seed)
    return np.asfortranarray(rng.normal(0, 1, (n, 3)).astype(np.float32))


def _spans(n: int, count: int, longest: int, seed: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Sorted, disjoint, non-empty spans, the last reaching the end."""
    rng = np.random.default_rng(seed)
    starts = np.sort(rng.choice(np.arange(0, n, longest + 1), count, replace=False))
    ends = np.minimum(starts + rng.integers(1, longest + 1, count), n)
    ends[-1] = n
    return starts, ends


def test_disjoint_span_means_gathered_equal_those_of_whole_columns(monkeypatch):
    values = _night()
    starts, ends = _spans(len(values), 40, 60)
    gathered = filters.disjoint_span_means(values, starts, ends)  # few samples: gathered
    monkeypatch.setattr(filters, "WHOLE_NIGHT_SHARE", 0.0)  # whole columns
    whole = filters.disjoint_span_means(values, starts, ends)
    assert gathered.tobytes() == whole.tobytes()
    one = filters.disjoint_span_means(values[:, 2].copy(), starts, ends)
    assert one.tobytes() == whole[:, 2].tobytes()


def test_span_means_column_by_column_equal_those_of_gathered_rows():
    values = _night()
    rng = np.random.default_rng(5)
    starts = rng.integers(0, len(values) - 1, 300)  # overlapping spans
    ends = np.minimum(starts + rng.integers(1, 300, 300), len(values))
    rows = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends)])
    offsets = np.cumsum(ends - starts) - (ends - starts)
    sums = np.add.reduceat(values[rows], offsets, axis=0, dtype=np.float64)
    expected = sums / (ends - starts)[:, None]
    assert filters.span_means(values, starts, ends).tobytes() == expected.tobytes()


def test_block_median_of_float32_bits_equals_that_of_sorted_floats():
    """Sorted by their bits, +0..+inf keep their order; rows with negatives, -0 or NaN are
    sorted as floats: the medians are those of sorting every row as floats."""
    rng = np.random.default_rng(6)
    values = np.abs(rng.normal(0, 1, 100 * 700 + 37)).astype(np.float32)
    values[rng.integers(0, len(values), 300)] = np.inf
    values[rng.integers(0, len(values), 300)] = 0.0
    odd = rng.integers(0, len(values), 200)
    values[odd[:50]] = -values[odd[:50]]
    values[odd[50:100]] = -0.0
    values[odd[100:150]] = np.nan
    values[odd[150:]] = -np.float32(np.nan)
    for block in (1, 2, 7, 100):
        n_full = len(values) // block
        rows = np.sort(values[: n_full * block].reshape(n_full, block), axis=1)
        got = filters.block_median(values, block)
        assert got[:n_full].tobytes() == rows[:, block // 2].tobytes()
        as_double = filters.block_median(values.astype(np.float64), block)
        assert np.array_equal(as_double, got.astype(np.float64), equal_nan=True)


def test_moving_mean_pieces_are_the_whole_nights_means(monkeypatch):
    monkeypatch.setattr(filters, "MEAN_SPAN", 64)  # many pieces
    values = _night(1000)[:, 1]
    for n in (0, 1, 5, 49, 50, 51, 1000):
        for width in (1, 2, 10, 50):
            whole = filters.moving_mean(values[:n], width)
            pieces = list(filters.moving_mean_pieces(values[:n], width))
            joined = np.concatenate([piece for _, piece in pieces]) if pieces else whole[:0]
            lengths = [len(piece) for _, piece in pieces]
            assert [first for first, _ in pieces] == [sum(lengths[:k]) for k in range(len(pieces))]
            assert joined.tobytes() == whole.tobytes()


def test_squared_steps_added_span_by_span_equal_those_of_the_whole_night(monkeypatch):
    from sleepmove.detection import preprocess

    monkeypatch.setattr(preprocess, "MEAN_SPAN", 64)
    rng = np.random.default_rng(7)
    for n in (3, 50, 51, 300):
        mean = rng.normal(0, 1, n).astype(np.float32)
        for behind, ahead in ((1, 0), (25, 25), (26, 25)):
            step = preprocess._mean_step(mean, behind, ahead, out=np.empty(n, np.float32))
            start = rng.normal(0, 1, n).astype(np.float32)
            expected = start + step * step
            change = start.copy()
            preprocess._add_squared_steps(mean, behind, ahead, change)
            assert change.tobytes() == expected.tobytes()


def test_far_from_holds_the_departure_is_that_from_the_25_s_rest():
    """Far from any rest, a sample departs from its block's 25 s rest: found for the far
    samples alone where they are few, from the whole night's departure where many."""
    from sleepmove.detection import preprocess
    from sleepmove.detection.params import DetectionParameters

    params = DetectionParameters()
    rate, block = 100.0, 100
    for n, far_share in ((100_000, 0.07), (12_000, 0.58)):
        xyz = _night(n, seed=n)
        starts, ends = np.array([1000, 9000]), np.array([2000, n - 1000])
        if far_share > 0.5:
            ends[1] = 10_000
        levels = np.array([[0.1, 0.2, 0.9], [0.3, -0.1, 0.8]])
        holds = (starts, ends, levels, np.array([True, True]))
        rest, _ = preprocess._rest_orientation(xyz, block, params)
        got = preprocess._departure_from_holds(xyz, rest, block, rate, params, holds)
        whole = preprocess._departure_from_rest(xyz, rest, block)
        far = slice(2000, 9000)
        assert (9000 - 2000) / n == pytest.approx(far_share, abs=0.01)
        for axis in range(3):
            assert got[axis][far].tobytes() == whole[axis][far].tobytes()
            in_rest = xyz[1000:2000, axis] - np.float32(levels[0, axis])
            assert got[axis][1000:2000].tobytes() == in_rest.tobytes()


def test_valid_blocks_are_those_of_reduceat():
    from sleepmove.detection import preprocess

    rng = np.random.default_rng(8)
    for n, block in ((1000, 100), (1037, 100), (5, 7), (64, 1)):
        valid = rng.random(n) > 0.01
        expected = np.logical_and.reduceat(valid, np.arange(0, n, block))
        assert np.array_equal(preprocess._valid_blocks(valid, block), expected)
