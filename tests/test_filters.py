"""The O(n) filters against brute force."""

import numpy as np
import pytest

from sleepmove.detection.filters import (
    block_mean,
    block_median,
    blockwise,
    moving_mean,
    moving_mean_in_spans,
    rolling_rank,
    span_means,
    true_runs,
    window_sums,
)


@pytest.mark.parametrize("n", [1, 2, 5, 10, 101])
@pytest.mark.parametrize("width", [1, 2, 3, 4, 25, 200])
def test_moving_mean_equals_the_mean_of_each_clipped_window(n, width):
    values = np.random.default_rng(n * width).normal(size=(n, 3))
    expected = np.array(
        [
            values[max(i - width // 2, 0) : min(i + width - width // 2, n)].mean(axis=0)
            for i in range(n)
        ]
    )
    np.testing.assert_allclose(moving_mean(values, width), expected)


@pytest.mark.parametrize("span", [1, 3, 16])
@pytest.mark.parametrize("width", [1, 4, 25])
def test_moving_mean_span_by_span_equals_the_whole_signal_at_once(span, width, monkeypatch):
    # The interior is summed a span at a time: the same additions, so the same bits.
    values = np.random.default_rng(width).normal(size=211).astype(np.float32)
    whole = moving_mean(values, width)  # one span: MEAN_SPAN exceeds the length
    monkeypatch.setattr("sleepmove.detection.filters.MEAN_SPAN", span)
    np.testing.assert_array_equal(moving_mean(values, width), whole)
    expected = [values[max(i - width // 2, 0) : i + width - width // 2].mean() for i in range(211)]
    np.testing.assert_allclose(whole, expected, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("span", [None, 8])  # 8: block medians sorted a few blocks a pass
@pytest.mark.parametrize("n,block", [(10, 4), (12, 4), (7, 10), (101, 25), (103, 4)])
def test_block_mean_and_median_match_numpy_per_block(n, block, span, monkeypatch):
    if span:
        monkeypatch.setattr("sleepmove.detection.filters.MEAN_SPAN", span)
    values = np.random.default_rng(n).normal(size=n)
    blocks = [values[i : i + block] for i in range(0, n, block)]
    np.testing.assert_allclose(block_mean(values, block), [b.mean() for b in blocks])
    upper_middle = [np.sort(b)[len(b) // 2] for b in blocks]
    np.testing.assert_allclose(block_median(values, block), upper_middle)


@pytest.mark.parametrize("n", [12, 14, 3])
def test_blockwise_applies_each_blocks_value_to_its_samples(n):
    values = np.arange(n, dtype=np.float32)
    per_block = np.array([10, 20, 30, 40], dtype=np.float32)[: -(-n // 4)]  # with a partial tail
    spread = np.repeat(per_block, 4)[:n]
    np.testing.assert_array_equal(blockwise(np.divide, values, per_block, 4), values / spread)
    out = values.copy()
    assert blockwise(np.subtract, out, per_block, 4, out=out) is out
    np.testing.assert_array_equal(out, values - spread)


def test_span_means_allow_overlapping_spans():
    values = np.arange(20.0).reshape(10, 2)
    starts, ends = np.array([0, 2, 9]), np.array([4, 3, 10])
    expected = [values[s:e].mean(axis=0) for s, e in zip(starts, ends)]
    np.testing.assert_allclose(span_means(values, starts, ends), expected)


@pytest.mark.parametrize("width", [1, 2, 5, 50])
def test_moving_mean_in_spans_equals_the_whole_signal_smoothed(width):
    values = np.random.default_rng(width).normal(size=(300, 3))
    starts, ends = np.array([0, 10, 40, 41, 290]), np.array([5, 30, 41, 60, 300])
    whole = moving_mean(values, width)
    expected = np.concatenate([whole[s:e] for s, e in zip(starts, ends)])
    np.testing.assert_allclose(moving_mean_in_spans(values, starts, ends, width), expected)


# The last two: the last hop's centre lies past the end and is clamped to the last sample.
@pytest.mark.parametrize(
    "n,window,rank,hop",
    [(50, 5, 2, 1), (97, 25, 12, 1), (300, 30, 6, 10), (305, 30, 6, 10), (6, 5, 2, 4)],
)
def test_rolling_rank_is_the_ranked_value_of_each_clamped_window(n, window, rank, hop):
    values = np.random.default_rng(n).normal(size=n)
    half = window // 2

    def ranked_at(i):
        window_values = values[np.clip(np.arange(i - half, i - half + window), 0, n - 1)]
        return np.sort(window_values)[rank]

    centres = np.minimum(np.arange(n) // hop * hop + hop // 2, n - 1)
    expected = [ranked_at(c) for c in centres]
    np.testing.assert_allclose(rolling_rank(values, window, rank, hop), expected)


@pytest.mark.parametrize("width", [1, 2, 3, 7, 8, 10, 50, 99, 100])
def test_window_sums_equal_each_window_summed(width):
    values = np.random.default_rng(width).normal(size=(100, 3))
    expected = [values[i : i + width].sum(axis=0) for i in range(101 - width)]
    np.testing.assert_allclose(window_sums(values, width), np.reshape(expected, (-1, 3)))
    assert len(window_sums(values[:5], 6)) == 0


def test_moving_mean_keeps_float32_precise_over_a_long_signal():
    # A cumulative sum in float32 would lose the small values under the large running total.
    values = (1.0 + np.random.default_rng(0).normal(0, 1e-3, 3_000_000)).astype(np.float32)
    smooth = moving_mean(values, 50)
    assert smooth.dtype == np.float32
    exact = np.convolve(values.astype(np.float64), np.ones(50) / 50, mode="valid")
    np.testing.assert_allclose(smooth[25 : 25 + len(exact)], exact, rtol=1e-6)


@pytest.mark.parametrize(
    "mask, runs",
    [
        ([], []),
        ([0, 0], []),
        ([1], [(0, 1)]),
        ([1, 1, 0, 1, 0, 0, 1, 1], [(0, 2), (3, 4), (6, 8)]),
        ([0, 1, 1, 0], [(1, 3)]),
    ],
)
def test_true_runs_are_the_start_and_end_of_each_run(mask, runs):
    starts, ends = true_runs(np.array(mask, dtype=bool))
    assert list(zip(starts.tolist(), ends.tolist())) == runs


def test_span_means_of_a_restless_night_equal_those_gathered_span_by_span(monkeypatch):
    """Spans covering most of the night are cut from whole-night means (faster); the numbers
    are those of the span-by-span path, to float64 rounding."""
    from sleepmove.detection import filters

    rng = np.random.default_rng(2)
    values = np.asfortranarray(rng.normal(0, 1, (6000, 3)).astype(np.float32))
    starts, ends = np.array([0, 40, 2500, 5990]), np.array([30, 2400, 5900, 6000])
    fast = filters.moving_means_in_spans(values, starts, ends, 50)
    monkeypatch.setattr(filters, "WHOLE_NIGHT_SHARE", 10.0)  # span by span
    gathered = filters.moving_means_in_spans(values, starts, ends, 50)
    for mine, theirs in zip(fast, gathered):
        np.testing.assert_allclose(mine, theirs, rtol=1e-9, atol=1e-12)
    once = filters.moving_mean(values[:, 1].astype(np.float64), 50)
    samples = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends)])
    np.testing.assert_allclose(fast[0][:, 1], once[samples], rtol=1e-9, atol=1e-12)
