"""Irregular BLE timestamps onto a uniform grid."""

import numpy as np
import pytest

from sleepmove.detection.grid import estimate_rate, regularize
from tests.spread_stamps import spread_shared_stamps


def test_jittered_stamps_are_resampled_at_the_nominal_rate():
    rng = np.random.default_rng(1)
    t = np.arange(5000) / 50.0 + rng.normal(0, 0.003, 5000)
    t.sort()
    xyz = np.column_stack([np.sin(t), np.cos(t), np.ones_like(t)])
    grid = regularize(t, xyz)
    assert grid.rate_hz == 50.0 and grid.valid.all() and len(grid.gaps_s) == 0
    expected = np.sin(grid.start_s + np.arange(grid.n) / 50.0)
    assert np.max(np.abs(grid.xyz[:, 0] - expected)) < 0.01


def test_short_losses_are_bridged_and_long_ones_are_gaps():
    t = np.arange(0, 120, 0.02)
    keep = ~(((t > 10) & (t < 10.8)) | ((t > 50) & (t < 53)))
    t = t[keep]
    grid = regularize(t, np.tile([0.0, 0.0, 1.0], (len(t), 1)))
    assert len(grid.gaps_s) == 1
    assert grid.gaps_s[0, 0] == pytest.approx(50.0, abs=0.03)
    assert grid.gaps_s[0, 1] == pytest.approx(53.0, abs=0.03)
    lost = (~grid.valid).sum() / grid.rate_hz
    assert lost == pytest.approx(3.0, abs=0.05)


def test_a_step_of_exactly_the_bridged_second_is_no_gap_whatever_its_rounding():
    # Seconds written to the millisecond: "15.xxx" to "16.xxx" crosses a power of two, where
    # the parsed difference is 1.0 plus rounding a quarter of the time. Not a gap by chance.
    found = []
    for ms in range(0, 1000, 4):  # a loop over where in the second the step falls
        before = np.arange(0, 15_000 + ms + 1, 40)
        after = np.arange(before[-1] + 1000, 30_000, 40)
        stamps = [f"{v / 1000:.3f}" for v in np.concatenate([before, after])]
        t = np.array(stamps, dtype=float)
        found.append(len(regularize(t, np.tile([0.0, 0.0, 1.0], (len(t), 1))).gaps_s))
        t[len(before) :] += 0.002  # 1.002 s: a gap
        found.append(len(regularize(t, np.tile([0.0, 0.0, 1.0], (len(t), 1))).gaps_s))
    assert found == [0, 1] * 250


def test_a_packet_received_twice_is_dropped_and_shared_stamps_spread():
    t = np.repeat(np.arange(0, 20, 0.1), 5)  # five samples per 0.1 s packet stamp
    xyz = np.column_stack([np.arange(len(t)), np.zeros(len(t)), np.ones(len(t))]).astype(float)
    t = np.append(t, t[-5:])
    xyz = np.vstack([xyz, xyz[-5:]])  # the last packet delivered again
    grid = regularize(t, xyz)
    assert grid.rate_hz == 50.0
    assert "5 duplicated rows dropped" in grid.notes
    assert np.all(np.diff(grid.xyz[:, 0]) >= 0)
    assert grid.xyz[-1, 0] == len(t) - 6  # the last sample, once


def test_equal_samples_of_one_packet_are_kept():
    # A still sensor at 1 mg resolution repeats itself within packets stamped together: those
    # samples are data, not a packet received twice.
    rng = np.random.default_rng(0)
    t = np.repeat(np.arange(3000) * 0.2, 10)  # 10 samples per packet at 50 Hz
    xyz = np.round(np.array([0.0, 0.0, 1.0]) + rng.normal(0, 0.0015, (len(t), 3)), 3)
    assert ((np.diff(xyz, axis=0) == 0).all(axis=1) & (np.diff(t) == 0)).sum() > 100
    grid = regularize(t, xyz)
    assert not any("duplicated" in note for note in grid.notes)
    np.testing.assert_array_equal(grid.xyz, xyz.astype(np.float32))
    # The same night with a single row stamped on its own and delivered twice.
    t1 = np.arange(len(t)) * 0.02
    doubled = regularize(np.insert(t1, 700, t1[700]), np.insert(xyz, 700, xyz[700], axis=0))
    assert "1 duplicated row dropped" in doubled.notes
    # The clean night lies on the grid and is copied; the doubled one is interpolated
    # (weights of 0 or 1, up to rounding).
    np.testing.assert_allclose(doubled.xyz, regularize(t1, xyz).xyz, rtol=0, atol=1e-6)


def test_one_row_of_a_packet_received_twice_is_dropped():
    # Packets of 4 samples stamped together; the second row of one packet arrives twice, so
    # its run of equal stamps is one longer than the night's usual run, with the copy equal
    # to the row before it. A packet of 5 distinct samples is data, and is kept whole.
    rng = np.random.default_rng(2)
    t = np.repeat(np.arange(500) * 0.08, 4)  # 50 Hz
    xyz = rng.normal(size=(len(t), 3))
    clean = regularize(t, xyz)
    doubled = regularize(np.insert(t, 801, t[800]), np.insert(xyz, 801, xyz[800], axis=0))
    assert "1 duplicated row dropped" in doubled.notes
    # The clean night lies on the grid and is copied; the doubled one is interpolated
    # (weights of 0 or 1, up to rounding).
    np.testing.assert_allclose(doubled.xyz, clean.xyz, rtol=0, atol=1e-6)
    longer = regularize(np.insert(t, 801, t[800]), np.insert(xyz, 801, xyz[900], axis=0))
    assert not any("duplicated" in note for note in longer.notes)


def test_estimate_rate_ignores_gaps():
    t = np.concatenate([np.arange(0, 100, 0.04), np.arange(200, 300, 0.04)])
    assert estimate_rate(t, 1.0) == 25.0


def test_samples_sharing_a_stamp_are_spread_back_at_the_rate():
    stamps = np.array([0.0, 0.1, 0.1, 0.1, 0.2, 0.3, 0.3])
    spread = spread_shared_stamps(stamps, 30.0)
    np.testing.assert_allclose(
        spread, [0.0, 0.1 - 2 / 30, 0.1 - 1 / 30, 0.1, 0.2, 0.3 - 1 / 30, 0.3]
    )
    # A run at the very start spreads freely; one that would reach back past the sample
    # before it stops there, so the stamps stay in time order.
    stamps = np.array([0.0, 0.0, 0.0, 0.01, 0.05, 0.05, 0.05, 0.05])
    np.testing.assert_allclose(
        spread_shared_stamps(stamps, 10.0), [-0.2, -0.1, 0.0, 0.01, 0.01, 0.01, 0.01, 0.05]
    )


def test_the_grid_and_its_gaps_start_at_spread_stamps():
    # Packets of 4 rows stamped with their last sample's time at 25 Hz, and a 10 s loss: the
    # grid starts at the first packet's first spread stamp, and the gap ends at the first
    # spread stamp after it (regularize looks these up among the runs' stamps).
    t = np.repeat(np.arange(1, 51) * 0.16, 4)
    t[100:] += 10.0
    xyz = np.random.default_rng(4).normal(size=(len(t), 3))
    grid = regularize(t, xyz, rate_hz=25.0)
    spread = spread_shared_stamps(t, 25.0)
    assert grid.start_s == spread[0] == t[0] - 3 / 25
    assert grid.gaps_s.tolist() == [[spread[99], spread[100]]]
    assert spread[100] == t[100] - 3 / 25 and spread[99] == t[99]


# The grid is interpolated a span of grid points at a time: spans of one point, of a few
# (their edges falling inside packets and gaps), and the default.
SPANS = [1, 7, None]


@pytest.mark.parametrize("span", SPANS)
def test_resampling_equals_linear_interpolation_of_each_axis(span, monkeypatch):
    if span:
        monkeypatch.setattr("sleepmove.detection.grid.RESAMPLE_SPAN", span)
    rng = np.random.default_rng(3)
    t = np.sort(np.arange(2000) / 50.0 + rng.normal(0, 0.006, 2000))
    t[500:510] = t[500]  # a packet sharing one stamp
    t[1200:] += 0.5  # a loss bridged by interpolation (under max_gap_s)
    xyz = rng.normal(size=(2000, 3))
    stamps_given = t.copy()
    grid = regularize(t, xyz, rate_hz=50.0)
    np.testing.assert_array_equal(t, stamps_given)  # the caller's stamps are left alone
    spread = spread_shared_stamps(t - t[0], 50.0)
    grid_t = np.arange(grid.n) / 50.0
    assert grid.n > 2020 and grid.valid.all()  # the loss was bridged, not a gap
    for axis in range(3):
        expected = np.interp(grid_t, spread, xyz[:, axis])
        np.testing.assert_allclose(grid.xyz[:, axis], expected, atol=1e-5)


@pytest.mark.parametrize("span", SPANS)
def test_resampling_reads_through_reordered_and_deduplicated_rows(span, monkeypatch):
    if span:
        monkeypatch.setattr("sleepmove.detection.grid.RESAMPLE_SPAN", span)
    # Two stamps out of order and a packet received twice: the grid interpolates the samples
    # in time order, once each, exactly as if they had arrived clean.
    rng = np.random.default_rng(4)
    t = np.arange(3000) / 50.0 + rng.normal(0, 0.004, 3000)
    t.sort()
    xyz = rng.normal(size=(3000, 3))
    clean = regularize(t, xyz, rate_hz=50.0)
    order = np.arange(3000)
    order[[100, 101]] = order[[101, 100]]  # time goes back by one step
    messy_t = np.insert(t[order], 2001, t[order][2000])  # row 2000 arrives twice
    messy_xyz = np.insert(xyz[order], 2001, xyz[order][2000], axis=0)
    messy = regularize(messy_t, messy_xyz, rate_hz=50.0)
    assert any("duplicated" in note for note in messy.notes)
    assert any("time order" in note for note in messy.notes)
    np.testing.assert_array_equal(messy.xyz, clean.xyz)


def _night(n=6000, rate=10.0, seed=5):
    rng = np.random.default_rng(seed)
    return 1_741_991_400.0 + np.arange(n) / rate, rng.normal(size=(n, 3)).astype(np.float32)


def test_samples_further_apart_than_a_gap_are_refused_not_divided_by_zero():
    from sleepmove.detection.grid import UnusableTimes

    t, xyz = _night(600)
    with pytest.raises(UnusableTimes, match=r"sample rate too low.*median step 60 s"):
        regularize(t[0] + 60.0 * np.arange(600), xyz, 1.0)  # one-minute epochs


@pytest.mark.parametrize("rate", [500.0, 800.0, 1000.0, 1666.0, 3200.0])
def test_the_fastest_sensors_rates_are_taken_exactly(rate):
    """Stamps to the millisecond, which a 1000 Hz file's are: its rate was 999.9999999396."""
    n = int(rate * 20)
    stamps = np.round(1.7e9 + np.arange(n) / rate, 3)
    xyz = np.random.default_rng(0).normal(0, 0.01, (n, 3)).astype(np.float32)
    assert regularize(stamps, xyz, 1.0).rate_hz == rate


def test_stamps_that_never_advance_are_refused_as_such():
    """Said before: 'no two samples are within 1 s of each other' (they are all 0 s apart)."""
    from sleepmove.detection.grid import UnusableTimes

    _, xyz = _night(900)
    with pytest.raises(UnusableTimes, match="the time does not advance: all 900 samples hold"):
        regularize(np.full(900, 1.7e9), xyz, 1.0)
    one_later = np.append(np.full(899, 1.7e9), 1.7e9 + 5)  # was: "median step 5 s"
    with pytest.raises(UnusableTimes, match="mostly stands still: 898 of 900 samples hold"):
        regularize(one_later, xyz, 1.0)


def test_corrupted_stamps_are_dropped_and_counted():
    # A flipped digit (31 years on), a stamp 1e7 s back, a burst of three stamps an hour on,
    # and a first stamp from an unset clock (0): each far from both neighbours, dropped.
    t, xyz = _night()
    clean = regularize(t, xyz, 1.0)
    bad = t.copy()
    bad[1000] += 31 * 365.25 * 86400
    bad[2000] -= 1e7
    bad[3000:3003] += 3600
    bad[0] = 0.0
    grid = regularize(bad, xyz, 1.0)
    assert "6 rows whose time stamp lies far from both neighbours'" in " ".join(grid.notes)
    assert grid.n == clean.n - 1 and len(grid.gaps_s) == 0  # the first sample went too
    assert grid.rate_hz == 10.0


def test_a_clock_reset_is_not_taken_for_corrupted_stamps():
    t, xyz = _night()
    reset = t.copy()
    reset[3000:] -= 3600
    grid = regularize(reset, xyz, 1.0)
    assert "clock went back" in " ".join(grid.notes) and "far from" not in " ".join(grid.notes)
    assert grid.n >= 6000


@pytest.mark.parametrize("jump_s", [31 * 365.25 * 86400, 1e7])
def test_the_grid_never_outgrows_its_samples(jump_s):
    # A clock that jumps for good: the grid would need millions of points per sample.
    from sleepmove.detection.grid import GRID_EXTRA_POINTS, GRID_POINTS_PER_SAMPLE, UnusableTimes

    t, xyz = _night()
    t[3000:] += jump_s
    with pytest.raises(UnusableTimes, match=r"the time stamps span .* after sample 3000\)"):
        regularize(t, xyz, 1.0)
    # A long loss within the bound is a gap, as ever.
    t, xyz = _night()
    loss_s = (GRID_POINTS_PER_SAMPLE * 6000 + GRID_EXTRA_POINTS) / 10.0 / 2
    t[3000:] += loss_s
    grid = regularize(t, xyz, 1.0)
    assert len(grid.gaps_s) == 1 and grid.n == pytest.approx(6000 + loss_s * 10, abs=2)


def test_a_file_of_packets_doubled_row_by_row_keeps_its_rate():
    # Stamps per packet of 8 to 12 rows at 100 Hz, every row written twice: the runs of equal
    # stamps double, so the night's usual run does too; each odd row repeats the one before.
    rng = np.random.default_rng(1)
    sizes = rng.integers(8, 13, 2000)
    t = np.repeat(np.cumsum(sizes) / 100.0, sizes)
    xyz = rng.normal(size=(len(t), 3)).astype(np.float32)
    clean = regularize(t, xyz)
    doubled = regularize(np.repeat(t, 2), np.repeat(xyz, 2, axis=0))
    assert doubled.rate_hz == clean.rate_hz == 100.0
    assert f"{len(t)} duplicated rows dropped" in doubled.notes
    np.testing.assert_allclose(doubled.xyz, clean.xyz, atol=1e-6)


def test_stamps_of_uneven_arrival_keep_the_rate_they_cover():
    """Arrival jitter makes long steps that lose no row (a late stamp, then a quick one):
    counted as lost rows, they read a 100 Hz sensor as 112 Hz (a regression once)."""
    rng = np.random.default_rng(7)
    t = np.arange(60_000) / 100.0 + rng.exponential(0.004, 60_000)
    t.sort()
    grid = regularize(t, np.tile([0.0, 0.0, 1.0], (len(t), 1)))
    assert grid.rate_hz == 100.0


def test_rows_lost_here_and_there_do_not_lower_the_rate():
    rng = np.random.default_rng(8)
    t = np.arange(30_000) / 25.0
    t = t[rng.random(len(t)) > 0.05]  # 5 % of rows lost, one by one
    assert regularize(t, np.tile([0.0, 0.0, 1.0], (len(t), 1))).rate_hz == 25.0


def test_packets_lost_here_and_there_do_not_lower_the_rate():
    """Rows in packets of 4 sharing one stamp, 8 % of the packets lost: the typical step is
    the packet's (zero steps inside a packet are no step); it once sampled only zeros and
    fell back to the rows covered (92 Hz)."""
    rng = np.random.default_rng(9)
    packets = np.arange(120_000) * 0.04  # 4 rows at 100 Hz per stamp
    packets = packets[rng.random(len(packets)) > 0.08]
    t = np.repeat(packets, 4)
    xyz = np.column_stack([rng.normal(0, 0.01, (len(t), 2)), np.ones(len(t))])
    assert regularize(t, xyz).rate_hz == 100.0


def test_rows_stamped_as_their_packet_arrived_are_spread_back_at_the_rate():
    """Five rows 2 ms apart every half second, 10 Hz: stamped as each packet arrived. Spread
    back from each packet's last stamp, every row lands on the grid point it was sampled
    at, and noise stays noise: it is not gathered into one place twice a second."""
    packets = 600
    stamps = (np.arange(packets) * 0.5)[:, None] + np.arange(5) * 0.002
    rng = np.random.default_rng(3)
    xyz = rng.normal(0, 0.01, (packets * 5, 3)) + [0, 0, 1]
    grid = regularize(stamps.ravel(), xyz)
    assert grid.rate_hz == 10.0 and grid.n == packets * 5 and grid.valid.all()
    assert grid.start_s == pytest.approx(0.008 - 0.4)
    np.testing.assert_allclose(grid.xyz, xyz, atol=1e-6)
    assert any("stamped as packets arrived" in note for note in grid.notes)


def test_rows_stamped_as_their_packet_arrived_keep_the_rate_when_packets_are_lost():
    """As above, a twentieth of the packets lost: the rows a second fall short of 10, and
    the typical step between stamps is a packet's 2 ms within it; per packet, as for shared
    stamps, the step names 10 Hz (it read 9.6 Hz, under the 10 Hz a night needs)."""
    rng = np.random.default_rng(4)
    kept = np.sort(rng.choice(2000, 1900, replace=False))
    stamps = (kept * 0.5)[:, None] + np.arange(5) * 0.002
    xyz = rng.normal(0, 0.01, (len(kept) * 5, 3)) + [0, 0, 1]
    grid = regularize(stamps.ravel(), xyz)
    assert grid.rate_hz == 10.0
