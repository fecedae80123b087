"""The second sensor's clock against the first's, from what both legs see at once.

Two devices keep their own clocks: an offset, a drift of tens of ppm (40 ppm is 1.15 s over
8 h) and now and then a reset. The bilateral rules work on 0.5 s, so the second sensor's
times are mapped onto the first's before its events are placed.

Posture changes, whole-body movements, bilateral jerks and LMs and bed vibrations reach both
ankles at once. Each leg's activity (summed absolute sample steps, a cheap high-pass) is
binned at `envelope_rate_hz`, log-compressed above its night's median, and cross-correlated:
first the whole night at `coarse_rate_hz` (the offset, within `max_offset_s`), then windows
across the night near that lag. Windows with one clear peak give the lag (second clock minus
first) at their time; a robust line through them is the offset and drift, in pieces where
the lag jumps (a reset). Times here are seconds on each sensor's clock, as the grids hold
them.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace

import numpy as np

from sleepmove.base.order_statistics import median, quantile
from sleepmove.detection.filters import MEAN_SPAN
from sleepmove.detection.grid import Grid
from sleepmove.detection.params import ClockAlignmentParameters


@dataclass
class Envelope:
    """Activity per bin: bin j is centred at start_s + j * step_s (the sensor's clock)."""

    start_s: float
    step_s: float
    values: np.ndarray  # float32, 0 in quiet bins and in data gaps
    valid: np.ndarray  # bool, False where the sensor was not recording

    def at(self, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Values (linear) and recording flags (nearest bin) at `times`; outside: 0, False."""
        j = (times - self.start_s) / self.step_s
        return self._values_at(j), self._recording_at(j)

    def values_at(self, times: np.ndarray) -> np.ndarray:
        """at's values alone: the flags cost about as much as the interpolation."""
        return self._values_at((times - self.start_s) / self.step_s)

    def _values_at(self, j: np.ndarray) -> np.ndarray:
        n = len(self.values)
        if n == 0 or len(j) == 0:
            return np.zeros(len(j))
        values = self._values_in_step(j)
        if values is not None:
            return values
        # Only the bins these times reach (the same interpolation, bit for bit): a span of
        # times costs a span of bins, not the night's.
        low = int(min(max(np.floor(j.min()), 0), n - 1))
        high = int(min(max(np.ceil(j.max()) + 1, low + 1), n))
        return np.interp(j, np.arange(low, high), self.values[low:high], left=0.0, right=0.0)

    def _values_in_step(self, j: np.ndarray) -> np.ndarray | None:
        """np.interp's numbers where the times keep in step with a run of bins inside (time i
        within a bin of bin first + i), from slices: (next - this) * (j - this bin) + this in
        float64, without its search (half the time or less). None for other times.

        Times on the bins' own grid sit at their bin or, rounded, just under it (np.interp's
        bin is then the one before); times off it sit at a steady distance into their bin."""
        count, n = len(j), len(self.values)
        first = math.floor(j[0])
        if j[0] - first > 1 - 1e-3:  # a rounding just under the next bin: that bin's run
            first += 1
        last = first + count - 1
        # From bin 3 on, j - bin is exact wherever it is within 1 (Sterbenz), so the checks
        # below decide as exact comparisons would; the first and last times, and every
        # 1024th, reject a drifting or jumping clock cheaply.
        if first < 3 or last + 1 >= n or not -1 <= j[-1] - last < 1:
            return None
        bins = np.arange(first, last + 1, dtype=float)
        probe = j[::1024] - bins[::1024]
        if not (probe.min() >= -1 and probe.max() < 1):
            return None
        offset = j - bins
        low, high = offset.min(), offset.max()
        if not (low >= -1 and high < 1):
            return None
        this = self.values[first : last + 1]
        after = self.values[first + 1 : last + 2]
        if low < 0:  # some times just under their bin: the bin before, and j - that bin
            under = offset < 0
            this, after = (
                np.where(under, self.values[first - 1 : last], this),
                np.where(under, this, after),
            )
            offset = np.subtract(j, bins - under, out=offset)
        values = np.subtract(after, this, dtype=float)
        values *= offset
        values += this
        return values

    def _recording_at(self, j: np.ndarray) -> np.ndarray:
        n = len(self.values)
        if n == 0 or len(j) == 0:
            return np.zeros(len(j), dtype=bool)
        inside = (j >= 0) & (j <= n - 1)
        nearest = np.clip(np.rint(j).astype(np.intp), 0, n - 1)
        return inside & self.valid[nearest]


@dataclass
class ClockPiece:
    """lag(c1) = offset_s + drift * (c1 - reference_s): the second clock minus the first's,
    from `start2_s` on (the second sensor's clock; -inf for the first piece)."""

    start2_s: float
    offset_s: float
    drift: float
    windows: int = 0


@dataclass
class ClockAlignment:
    reference_s: float  # the first sensor's start (its clock): where offset_s holds
    pieces: list[ClockPiece] = field(default_factory=list)
    residual_s: float | None = None  # robust SD of the used windows' lags about the fit
    uncertainty_s: float | None = None  # the fit's largest standard error over the night
    windows_used: int = 0
    windows_tried: int = 0
    applied: bool = False
    note: str = ""
    warning: str | None = None
    largest_s: float = 0.0  # the largest correction over the overlap

    def to_first(self, c2: np.ndarray) -> np.ndarray:
        """Times on the second sensor's clock as the first's."""
        c2 = np.asarray(c2, dtype=np.float64)
        starts = np.array([p.start2_s for p in self.pieces])
        which = np.searchsorted(starts, c2, side="right") - 1
        offset = np.array([p.offset_s for p in self.pieces])[which]
        drift = np.array([p.drift for p in self.pieces])[which]
        return (c2 - offset + drift * self.reference_s) / (1 + drift)

    def as_dict(self, origin_s: float) -> dict:
        """For summary.json: offset (s) at the first sensor's start, drift (ppm), residual
        (ms), windows used, applied, and the steps where the clock was reset."""
        out: dict = {"applied": self.applied}
        if self.pieces:
            first = self.pieces[0]
            out |= {
                "offset_s": round(first.offset_s, 4),
                "drift_ppm": round(first.drift * 1e6, 2),
                "residual_ms": _ms(self.residual_s),
                "uncertainty_ms": _ms(self.uncertainty_s),
            }
        out |= {"windows_used": self.windows_used, "windows_tried": self.windows_tried}
        if len(self.pieces) > 1:
            steps = []
            for before, piece in zip(self.pieces, self.pieces[1:]):  # a loop over steps
                at = float(self.to_first(np.array([piece.start2_s]))[0])
                lag = piece.offset_s + piece.drift * (at - self.reference_s)
                lag_before = before.offset_s + before.drift * (at - self.reference_s)
                steps.append(
                    {
                        "at_s": round(at - origin_s, 2),
                        "step_s": round(lag - lag_before, 4),
                        "offset_s": round(piece.offset_s, 4),
                        "drift_ppm": round(piece.drift * 1e6, 2),
                    }
                )
            out["steps"] = steps
        if self.note:
            out["note"] = self.note
        return out


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None or not np.isfinite(seconds) else round(seconds * 1e3, 1)


def activity_envelope(grid: Grid, params: ClockAlignmentParameters) -> Envelope:
    """One leg's activity binned at about `envelope_rate_hz` (whole samples per bin)."""
    per_bin = max(int(grid.rate_hz / params.envelope_rate_hz), 1)
    bins = (grid.n - 1) // per_bin
    total = np.zeros(max(bins, 0), dtype=np.float32)
    if bins < 1:
        return Envelope(grid.start_s, per_bin / grid.rate_hz, total, np.zeros(0, dtype=bool))
    # A span of bins at a time: the steps stay in the core's cache instead of costing a
    # night's fresh pages per axis. Bins summed by strided adds in sample order: numpy's
    # reshape-sum pays a loop per row of a few samples (7 times slower); under 8 samples a
    # bin its sums are the same, bit for bit.
    per_pass = max(MEAN_SPAN // per_bin, 1)
    steps = np.empty(per_pass * per_bin, dtype=grid.xyz.dtype)
    sums = np.empty(per_pass, dtype=np.float32)
    valid = np.empty(bins, dtype=bool)
    for first in range(0, bins, per_pass):  # a loop over spans of bins
        stop = min(first + per_pass, bins)
        step, part = steps[: (stop - first) * per_bin], sums[: stop - first]
        for axis in range(3):  # a loop over axes: each is contiguous (column order)
            column = grid.xyz[first * per_bin : stop * per_bin + 1, axis]
            np.subtract(column[1:], column[:-1], out=step)
            np.abs(step, out=step)
            part[:] = step[::per_bin]
            for k in range(1, per_bin):  # a loop over a bin's samples (a handful)
                part += step[k::per_bin]
            total[first:stop] += part
        # A bin is recorded if its per_bin + 1 samples all are. Most spans hold no gap: one
        # check instead of per_bin + 1 strided passes over the night's flags.
        recording = grid.valid[first * per_bin : stop * per_bin + 1]
        span_valid = valid[first:stop]
        if recording.all():
            span_valid[:] = True
            continue
        span_valid[:] = recording[per_bin::per_bin]
        for k in range(per_bin):  # a loop over a bin's samples: recording throughout
            span_valid &= recording[k:-1:per_bin]
    recorded = total[valid]
    scale = _median_by_selection(recorded) if len(recorded) else 0.0
    if scale <= 0 and len(recorded):  # a quantized still sensor: most steps are zero
        scale = quantile(recorded, 0.9) or float(recorded.max()) or 1.0  # np.percentile 90
    total /= scale or 1.0
    total -= params.activity_over_median
    np.maximum(total, 0, out=total)
    np.log1p(total, out=total)
    total[~valid] = 0
    # The bin's steps lie between samples: its centre is half a bin after its first sample.
    return Envelope(grid.start_s + per_bin / 2 / grid.rate_hz, per_bin / grid.rate_hz, total, valid)


def estimate_clock(
    first: Envelope,
    second: Envelope,
    params: ClockAlignmentParameters,
    gaps_first: np.ndarray | None = None,
    gaps_second: np.ndarray | None = None,
) -> ClockAlignment:
    """The second clock against the first from the two legs' envelopes; `gaps_*` (each
    sensor's data gaps on its own clock) are where a step is placed when one falls near it."""
    reference = first.start_s
    result = ClockAlignment(reference)
    if len(first.values) < 2 or len(second.values) < 2:
        return _not_applied(result, params, "a sensor holds too few samples")
    dt = 1.0 / params.envelope_rate_hz
    lag0 = _coarse_lag(first, second, params, dt)
    first_end = first.start_s + (len(first.values) - 1) * first.step_s
    second_end = second.start_s + (len(second.values) - 1) * second.step_s
    begin = max(first.start_s, second.start_s - lag0)
    end = min(first_end, second_end - lag0)
    starts = begin + np.arange(
        0.0, max(end - begin - params.window_s, -1) + 1e-9, params.window_step_s
    )
    result.windows_tried = len(starts)
    if len(starts) == 0:
        return _not_applied(result, params, "the two sensors overlap too briefly")

    windows = _FirstWindows(first, begin, len(starts), params, dt)
    centres, lags = _window_lags(windows, second, lag0, params.search_s, params)
    pieces, *_ = _pieces(centres, lags, reference, params, gaps_first, gaps_second, (first, second))
    if not pieces:
        return _not_applied(result, params, _thin(len(centres), len(starts), params))
    rough = replace(result, pieces=pieces)
    centres, lags = _window_lags(windows, second, rough, params.refine_search_s, params)
    pieces, used, spread, error = _pieces(
        centres, lags, reference, params, gaps_first, gaps_second, (first, second)
    )
    result.pieces, result.windows_used, result.residual_s = pieces, used, spread
    result.uncertainty_s = error
    if not pieces or used < params.min_windows:
        return _not_applied(result, params, _thin(used, len(starts), params))
    if spread > params.max_residual_s or error > params.max_uncertainty_s:
        return _not_applied(
            result,
            params,
            f"the {used} windows of movements both legs saw leave the clocks uncertain by "
            f"{error * 1e3:.0f} ms (spread {spread * 1e3:.0f} ms; at most "
            f"{params.max_uncertainty_s * 1e3:.0f} and {params.max_residual_s * 1e3:.0f} ms)",
        )
    # Bilateral movements are not simultaneous (tenths of a second apart either way): on
    # clocks that agree, a line through half the windows' lags was taken for an offset, a
    # drift and a step. The fit must leave the windows' lags much closer than no correction.
    # A fit that leaves most windows close (clocks that agree, or a step late in the night)
    # is no chance line: only one whose windows lie far from it too is compared.
    none_off = _median(np.abs(lags))
    fit_off = _median(np.abs(lags - _lag_of(result, centres)))
    if fit_off > params.inlier_s / 2 and fit_off > params.max_fit_over_none * none_off:
        return _not_applied(
            result,
            params,
            f"the {len(lags)} windows of movements both legs saw lie about as close to no "
            f"correction (median {none_off * 1e3:.0f} ms) as to the fitted one "
            f"({fit_off * 1e3:.0f} ms): the legs' own timing, not their clocks",
        )
    grid_span = np.linspace(begin, end, 64)
    result.largest_s = float(np.max(np.abs(_lag_of(result, grid_span))))
    if len(pieces) == 1 and result.largest_s < params.negligible_s:
        result.note = (
            f"the clocks agree within {params.negligible_s * 1e3:.0f} ms all night: nothing "
            "to correct"
        )
        return result
    result.applied = True
    return result


def align_grid(grid: Grid, alignment: ClockAlignment) -> Grid:
    """The second sensor's grid on the first sensor's clock. One piece: its start and rate
    (no sample is touched). Several (a reset): resampled, the steps' spans left as gaps."""
    if not alignment.applied:
        return grid
    if len(alignment.pieces) == 1:
        piece = alignment.pieces[0]
        gaps = alignment.to_first(grid.gaps_s.reshape(-1, 2)).reshape(-1, 2)
        return replace(
            grid,
            start_s=float(alignment.to_first(np.array([grid.start_s]))[0]),
            rate_hz=grid.rate_hz * (1 + piece.drift),
            gaps_s=gaps,
        )
    return _resampled(grid, alignment)


def _not_applied(
    result: ClockAlignment, params: ClockAlignmentParameters, why: str
) -> ClockAlignment:
    result.applied = False
    result.note = why
    result.warning = (
        f"clock alignment not applied: {why}; the second sensor's times are used as stamped "
        "(check that the two clocks agree)"
    )
    return result


def _thin(used: int, tried: int, params: ClockAlignmentParameters) -> str:
    return (
        f"only {used} of {tried} windows showed movements both legs saw at once (at least "
        f"{params.min_windows} needed)"
    )


def _lag_of(alignment: ClockAlignment, c1: np.ndarray) -> np.ndarray:
    """The fitted lag (second minus first) at first-clock times; pieces by their c1 starts."""
    if len(alignment.pieces) == 1:
        piece = alignment.pieces[0]
        return piece.offset_s + piece.drift * (c1 - alignment.reference_s)
    starts1 = np.array(
        [-np.inf]
        + [float(alignment.to_first(np.array([p.start2_s]))[0]) for p in alignment.pieces[1:]]
    )
    which = np.searchsorted(starts1, c1, side="right") - 1
    offset = np.array([p.offset_s for p in alignment.pieces])[which]
    drift = np.array([p.drift for p in alignment.pieces])[which]
    return offset + drift * (c1 - alignment.reference_s)


def _coarse_lag(
    first: Envelope, second: Envelope, params: ClockAlignmentParameters, dt: float
) -> float:
    """The whole night's best lag at `coarse_rate_hz`, within ±max_offset_s."""
    per = max(int(round(1 / (params.coarse_rate_hz * dt))), 1)
    step = per * dt
    origin = min(first.start_s, second.start_s)
    stop = max(
        first.start_s + len(first.values) * first.step_s,
        second.start_s + len(second.values) * second.step_s,
    )
    count = int((stop - origin) / step) + 1
    a = _read_means(first, origin, dt, count, per)
    b = _read_means(second, origin, dt, count, per)
    a -= a.mean()
    b -= b.mean()
    reach = min(int(params.max_offset_s / step), count - 1)
    size = 1 << int(np.ceil(np.log2(count + reach + 1)))
    corr = np.fft.irfft(np.fft.rfft(b, size) * np.conj(np.fft.rfft(a, size)), size)
    lags = np.concatenate([np.arange(0, reach + 1), np.arange(-reach, 0)])
    values = np.concatenate([corr[: reach + 1], corr[size - reach :]])
    return float(lags[int(np.argmax(values))] * step)


class _FirstWindows:
    """The first leg's side of the windows, the same in both passes: its envelope read once
    on one grid of first-clock times (the windows overlap; each is a view of it), then per
    window the conjugate spectrum of its z-scored activity and whether it holds enough
    recording and activity."""

    def __init__(
        self,
        first: Envelope,
        begin: float,
        count: int,
        params: ClockAlignmentParameters,
        dt: float,
    ) -> None:
        self.begin, self.dt, self.count = begin, dt, count
        self.length = int(round(params.window_s / dt))
        self.hop = max(int(round(params.window_step_s / dt)), 1)
        reach = int(round(max(params.search_s, params.refine_search_s) / dt))
        self.size = 1 << int(np.ceil(np.log2(self.length + 2 * reach)))
        self.centres = begin + np.arange(count) * (self.hop * dt) + params.window_s / 2
        values, recording = _read(first, begin, dt, (count - 1) * self.hop + self.length)
        a = _views(values, self.length, self.hop)
        covered = _window_counts(recording, self.length, self.hop, count) / self.length
        self.enough = (covered >= params.min_covered) & (
            _window_counts(values > 0, self.length, self.hop, count) >= params.min_active_s / dt
        )
        # Spectra of the windows that can count only (the others' rows are left unset: their
        # lags are never used); _window_lags reads only rows still counting there.
        self.spectrum = np.empty((count, self.size // 2 + 1), dtype=complex)
        for rows in _runs(self.enough):  # a loop over runs of windows
            # z-scores, as (a - a.mean()) / a.std() per window, in one temporary.
            az = a[rows] - a[rows].mean(axis=1, keepdims=True)
            a_sd = np.sqrt(np.square(az).sum(axis=1, keepdims=True) / self.length)
            self.enough[rows] &= a_sd[:, 0] > 0
            az /= np.where(a_sd > 0, a_sd, 1)
            np.conj(np.fft.rfft(az, self.size), out=self.spectrum[rows])


def _times(
    begin: float, dt: float, first: int, stop: int, lag: float | ClockAlignment
) -> np.ndarray:
    """First-clock times t = begin + i * dt (first <= i < stop) moved by the lag: one for all
    or a fit's at each t."""
    c1 = begin + np.arange(first, stop) * dt
    return c1 + (_lag_of(lag, c1) if isinstance(lag, ClockAlignment) else lag)


def _read(
    envelope: Envelope, begin: float, dt: float, count: int, lag: float | ClockAlignment = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """envelope.at(t + lag) at first-clock times t = begin + i * dt (i < count); a span at a
    time, so that the temporaries stay in the core's cache instead of costing a night's fresh
    pages each."""
    values = np.empty(count)
    ok = np.empty(count, dtype=bool)
    for first in range(0, count, MEAN_SPAN):  # a loop over spans
        stop = min(first + MEAN_SPAN, count)
        values[first:stop], ok[first:stop] = envelope.at(_times(begin, dt, first, stop, lag))
    return values, ok


def _read_means(envelope: Envelope, begin: float, dt: float, count: int, per: int) -> np.ndarray:
    """The means of each `per` values in turn of _read(envelope, begin, dt, count * per)'s
    values (no flags), a span of whole groups at a time: each group's mean is the same, and
    the night's values are never held at once (fresh pages cost more than the reading)."""
    means = np.empty(count)
    groups = max(MEAN_SPAN // per, 1)
    for first in range(0, count, groups):  # a loop over spans
        stop = min(first + groups, count)
        values = envelope.values_at(_times(begin, dt, first * per, stop * per, 0.0))
        means[first:stop] = values.reshape(stop - first, per).mean(axis=1)
    return means


WINDOWS_PER_FFT = 16  # windows transformed at once: temporaries of about 1 MB, not 12


def _runs(wanted: np.ndarray) -> list[slice]:
    """The wanted windows as runs of consecutive ones, WINDOWS_PER_FFT at most: slices, so
    each run's windows stay a view of the one grid (no copy). Each window's transform is the
    same whichever windows share its call."""
    edges = np.flatnonzero(np.diff(wanted, prepend=False, append=False))
    return [
        slice(a, min(a + WINDOWS_PER_FFT, stop))
        for start, stop in zip(edges[::2].tolist(), edges[1::2].tolist())
        for a in range(start, stop, WINDOWS_PER_FFT)
    ]


def _views(values: np.ndarray, length: int, hop: int) -> np.ndarray:
    """Windows of `length` every `hop` samples, as a (windows, length) view (no copy)."""
    return np.lib.stride_tricks.sliding_window_view(values, length)[::hop]


def _window_counts(flags: np.ndarray, length: int, hop: int, count: int) -> np.ndarray:
    """How many flags each window holds (`count` windows of `length`, every `hop`), as
    _views(flags, length, hop)[:count].sum(axis=1), from counts per block of gcd(length, hop)
    flags: each flag is counted once, not once for every window that holds it."""
    block = math.gcd(length, hop)
    per_block = np.count_nonzero(flags[: (count - 1) * hop + length].reshape(-1, block), axis=1)
    running = np.concatenate([[0], np.cumsum(per_block)])
    starts = np.arange(count) * (hop // block)
    return running[starts + length // block] - running[starts]


def _window_lags(
    windows: _FirstWindows,
    second: Envelope,
    predicted: float | ClockAlignment,
    search_s: float,
    params: ClockAlignmentParameters,
) -> tuple[np.ndarray, np.ndarray]:
    """(centre, lag) of each window with one clear correlation peak within ±search_s of the
    predicted lag: one lag for the night, or a fit's (the second leg is then read where the
    fit puts each sample, drift included)."""
    dt, length, hop, count = windows.dt, windows.length, windows.hop, windows.count
    reach = int(round(search_s / dt))
    # One grid for all windows: each window of the second leg reaches `reach` either side.
    points = (count - 1) * hop + length + 2 * reach
    begin = windows.begin - reach * dt
    b_all, b_ok_all = _read(second, begin, dt, points, predicted)
    if isinstance(predicted, ClockAlignment):
        at_centres = _lag_of(predicted, windows.centres)
    else:
        at_centres = np.full(count, predicted)
    b = _views(b_all, length + 2 * reach, hop)
    covered = _window_counts(b_ok_all[reach:], length, hop, count) / length
    active = _window_counts(b_all[reach:] > 0, length, hop, count)
    enough = windows.enough & (covered >= params.min_covered) & (active >= params.min_active_s / dt)
    # Only windows that can count are correlated (the others stay 0 and are never used).
    corr = np.zeros((count, 2 * reach + 1))
    for rows in _runs(enough):  # a loop over runs of windows
        spectrum = np.fft.rfft(b[rows], windows.size)
        spectrum *= windows.spectrum[rows]
        corr[rows] = np.fft.irfft(spectrum, windows.size)[:, : 2 * reach + 1]
    # Pearson's r at each lag: b's mean and SD over the window it is compared with there
    # (sums of the one grid: float64 keeps them exact enough over a night).
    sums = np.zeros(points + 1)
    np.cumsum(b_all, out=sums[1:])
    squares = np.zeros(points + 1)
    np.square(b_all, out=squares[1:])
    np.cumsum(squares[1:], out=squares[1:])
    shift = np.arange(2 * reach + 1)
    at = (np.arange(count) * hop)[:, None] + shift[None, :]
    mean_b = (sums[at + length] - sums[at]) / length
    var_b = (squares[at + length] - squares[at]) / length - mean_b**2
    r = corr / length / np.sqrt(np.maximum(var_b, 1e-12))
    r[var_b <= 1e-9] = 0
    best = np.argmax(r, axis=1)
    rows = np.arange(len(r))
    peak = r[rows, best]
    # A rival: the highest lag beyond the dips under `peak_dip` x the peak on either side
    # (a long shared movement makes one broad peak, not rivals).
    below = r < params.peak_dip * peak[:, None]
    lags_at = shift[None, :]
    lobe_low = np.where(below & (lags_at < best[:, None]), lags_at, -1).max(axis=1)
    lobe_high = np.where(below & (lags_at > best[:, None]), lags_at, 2 * reach + 1).min(axis=1)
    far = (lags_at <= lobe_low[:, None]) | (lags_at >= lobe_high[:, None])
    rival = np.where(far, r, -np.inf).max(axis=1)
    clear = (
        enough
        & (peak >= params.min_correlation)
        & (best > 0)
        & (best < 2 * reach)
        & (rival <= params.max_second_peak * peak)
    )
    # The peak between bins: a parabola through it and its neighbours.
    inner = np.clip(best, 1, 2 * reach - 1)
    left, mid, right = r[rows, inner - 1], r[rows, inner], r[rows, inner + 1]
    curvature = left - 2 * mid + right
    delta = np.where(
        curvature < 0, 0.5 * (left - right) / np.where(curvature < 0, curvature, -1), 0.0
    )
    delta = np.clip(delta, -0.5, 0.5)
    lag = at_centres + (best + delta - reach) * dt
    return windows.centres[clear], lag[clear]


def _robust_line(
    t: np.ndarray, y: np.ndarray, reference: float, params: ClockAlignmentParameters
) -> tuple[float, float, np.ndarray, float]:
    """Offset (at `reference`), drift, inliers and their robust SD: the line most windows lie
    within `inlier_s` of (candidates: a repeated median, the median lag, lines through pairs
    of windows), then least squares on those windows until they settle.

    Called ~70 times a night by the cut search on a few dozen windows each, so its numpy
    calls are kept few (each value is computed as before, bit for bit)."""
    x = t - reference
    n = len(t)
    max_drift = params.max_drift_ppm * 1e-6
    span = params.min_drift_span_s

    drifting = n >= 3 and x.max() - x.min() >= span
    # Candidate lines (drift, offset): the median lag, lines through pairs of windows, and
    # a repeated median.
    drifts, offsets = [np.zeros(1)], [np.array([_median(y)])]
    if drifting:
        i, j = _pairs(n)
        step = x[j] - x[i]
        apart = np.abs(step) >= span / 2
        i, j = i[apart], j[apart]
        slopes = (y[j] - y[i]) / step[apart]
        fine = np.abs(slopes) <= max_drift
        i, slopes = i[fine], slopes[fine]
        drifts.append(slopes)
        offsets.append(y[i] - slopes * x[i])
        dx = x[None, :] - x[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            pairwise = np.where(dx != 0, (y[None, :] - y[:, None]) / dx, np.nan)
        rows = _row_nanmedians(pairwise)
        # np.clip's number, without its dispatch (NaN stays NaN).
        siegel = min(max(float(_median(rows[~np.isnan(rows)])), -max_drift), max_drift)
        drifts.append(np.array([siegel]))
        offsets.append(np.array([_median(y - siegel * x)]))
    drift_of, offset_of = np.concatenate(drifts), np.concatenate(offsets)
    # Each window's distance from each line, windows down and lines across: the long axis
    # (~300 lines, against a few dozen windows) inner, where numpy's loops are fast.
    distance = y[:, None] - offset_of
    distance -= x[:, None] * drift_of
    np.abs(distance, out=distance)
    within = distance <= params.inlier_s
    count = np.count_nonzero(within, axis=0)
    # The score is the count within, less under 1 for their distances: only the lines with
    # the most windows within can have the highest score (the first of them, as argmax).
    # Their distances summed along each line's row, contiguous, as numpy sums a row.
    top = np.flatnonzero(count == count.max())
    near = np.ascontiguousarray(np.where(within[:, top], distance[:, top], 0).T)
    score = count[top] - near.sum(axis=1) / params.inlier_s / (n + 1)
    best = top[int(np.argmax(score))]
    drift, offset = float(drift_of[best]), float(offset_of[best])
    inliers = np.zeros(n, dtype=bool)
    used = 0
    for _ in range(20):  # a loop over refits, until the inliers settle
        distance = np.abs(y - offset - drift * x)
        mad = 1.4826 * _median(distance[inliers]) if used > 2 else np.inf
        tolerance = min(max(params.outlier_mads * mad, params.outlier_floor_s), params.inlier_s)
        now = distance <= tolerance
        count_now = int(np.count_nonzero(now))
        if count_now < 1:
            break
        x_now = x[now]
        if count_now >= 3 and x_now.max() - x_now.min() >= span:
            drift, offset = _line_fit(x_now, y[now])
        else:
            drift, offset = 0.0, _median(y[now])
        if count_now == used and np.array_equal(now, inliers):
            break
        inliers, used = now, count_now
    distance = np.abs(y - offset - drift * x)
    spread = 1.4826 * _median(distance[inliers]) if used else np.inf
    return offset, drift, inliers, spread


PAIRS = 300  # lines through pairs of windows tried as candidates, at most


@functools.lru_cache(maxsize=256)
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of n windows whose lines are candidates: all, or PAIRS of them spread over
    the list of all by a golden-ratio stride (kept: the cut search asks again for the same
    counts). Not a random draw: numpy.random costs 10 ms of import a process, on the lock.
    Like the draw it may leave a window out of every pair (about 16 % of 180); every window
    is still judged against each candidate line."""
    i, j = np.triu_indices(n, 1)
    total = len(i)
    if total > PAIRS:  # enough for a consensus
        step = int(total * 0.6180339887)
        while math.gcd(step, total) != 1:  # coprime: PAIRS distinct picks
            step += 1
        pick = (np.arange(PAIRS) * step) % total
        i, j = i[pick], j[pick]
    i.setflags(write=False)
    j.setflags(write=False)
    return i, j


def _row_nanmedians(m: np.ndarray) -> np.ndarray:
    """np.nanmedian(m, axis=1) by one sort (NaNs sort last): numpy's goes through masked
    arrays for small inputs, the slowest step of the cut search."""
    ordered = np.sort(m, axis=1)
    count = m.shape[1] - np.isnan(m).sum(axis=1)
    rows = np.arange(len(m))
    low = ordered[rows, np.maximum((count - 1) // 2, 0)]
    high = ordered[rows, np.minimum(count // 2, m.shape[1] - 1)]
    return np.where(count > 0, (low + high) / 2, np.nan)


SELECTION_SAMPLE = 4096  # values sampled to bracket the median of a night's bins


def _median_by_selection(values: np.ndarray) -> float:
    """float(np.median(values)), the same number: the middle values are bracketed from a
    sample, then only the values between the brackets are partitioned. np.median partitions
    the whole night's bins (~5 ms at 100 Hz); counting and gathering against two bounds
    costs a fraction. Falls back to the whole median when the brackets miss the middle (or
    NaNs)."""
    n = len(values)
    stride = n // SELECTION_SAMPLE
    if stride < 4:
        return median(values.copy())
    sample = np.sort(values[::stride])
    middle, reach = len(sample) // 2, 4 * int(np.sqrt(len(sample)))
    low = sample[max(middle - reach, 0)]
    high = sample[min(middle + reach, len(sample) - 1)]
    below = int(np.count_nonzero(values < low))
    between = values[(values >= low) & (values <= high)]
    above = int(np.count_nonzero(values > high))
    half = n // 2
    wanted = (half,) if n % 2 else (half - 1, half)
    if below + len(between) + above != n or below > wanted[0] or below + len(between) <= half:
        return median(values.copy())
    # The same one or two order statistics, averaged by np.mean as np.median does.
    part = np.partition(between, tuple(k - below for k in wanted))
    return float(np.mean(part[wanted[0] - below : half - below + 1]))


def _median(values: np.ndarray) -> float:
    """np.median of a few finite values, without its checks (called thousands of times)."""
    n = len(values)
    if n == 0:
        return np.nan
    half = n // 2
    if n % 2:
        return float(np.partition(values, half)[half])
    part = np.partition(values, (half - 1, half))
    return float((part[half - 1] + part[half]) / 2)


def _line_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares slope and intercept (np.polyfit's line, without its general machinery)."""
    mx, my = x.sum() / len(x), y.sum() / len(y)  # np.mean's numbers, without its dispatch
    dx = x - mx
    slope = float(dx @ (y - my) / (dx @ dx))
    return slope, float(my - slope * mx)


def _pieces(
    centres: np.ndarray,
    lags: np.ndarray,
    reference: float,
    params: ClockAlignmentParameters,
    gaps_first: np.ndarray | None,
    gaps_second: np.ndarray | None,
    envelopes: tuple[Envelope, Envelope] | None = None,
) -> tuple[list[ClockPiece], int, float, float]:
    """Lines through the windows' lags, split where the lag jumps (a reset): the pieces (the
    first from -inf), the windows used, their robust SD and the fit's largest standard error.

    The pieces share one drift (a reset steps a clock; its crystal stays the same), so a
    short piece still gets the night's drift."""
    if len(centres) < 2:
        return [], len(centres), np.inf, np.inf
    order = np.argsort(centres)
    t, y = centres[order], lags[order]
    x = t - reference
    segments = _split(t, y, 0, len(t), reference, params, params.max_steps)
    piece_of = np.zeros(len(t), dtype=np.intp)
    inliers = np.zeros(len(t), dtype=bool)
    for index, (lo, hi, fit) in enumerate(segments):  # a loop over pieces
        piece_of[lo:hi] = index
        inliers[lo:hi] = fit[2]
    count = len(segments)
    drift, offsets, cov = 0.0, np.zeros(count), np.zeros((count + 1, count + 1))
    for _ in range(10):  # a loop over refits of all pieces together, until the inliers settle
        if any(not inliers[piece_of == k].any() for k in range(count)):
            return [], int(inliers.sum()), np.inf, np.inf
        drifting = inliers.sum() >= count + 2 and np.ptp(x[inliers]) >= params.min_drift_span_s
        design = np.zeros((len(t), count + 1))
        design[np.arange(len(t)), piece_of + 1] = 1.0
        if drifting:
            design[:, 0] = x
        used = design[inliers][:, slice(0 if drifting else 1, None)]
        solution, *_ = np.linalg.lstsq(used, y[inliers], rcond=None)
        drift = float(solution[0]) if drifting else 0.0
        offsets = solution[1:] if drifting else solution
        residual = y - offsets[piece_of] - drift * x
        spread = 1.4826 * median(np.abs(residual[inliers]))
        tolerance = min(max(params.outlier_mads * spread, params.outlier_floor_s), params.inlier_s)
        now = np.abs(residual) <= tolerance
        settled = np.array_equal(now, inliers)
        inliers = now
        if settled:
            break
    residual = y - offsets[piece_of] - drift * x
    used_count = int(inliers.sum())
    spread = 1.4826 * median(np.abs(residual[inliers])) if used_count else np.inf
    # Standard error of the fitted lag at each piece's first and last window: the largest.
    columns = design[inliers][:, slice(0 if drifting else 1, None)]
    sd = max(spread, 1e-3)
    cov = sd**2 * np.linalg.pinv(columns.T @ columns)
    errors = []
    for k in range(count):  # a loop over pieces
        ends = x[piece_of == k][[0, -1]]
        for end in ends:
            row = np.zeros(columns.shape[1])
            row[k + (1 if drifting else 0)] = 1.0
            if drifting:
                row[0] = end
            errors.append(float(np.sqrt(max(row @ cov @ row, 0.0))))
    pieces: list[ClockPiece] = []
    for k in range(count):  # a loop over pieces
        start2 = -np.inf
        if k:
            start2 = _step_at(
                t, piece_of, inliers, k, offsets, drift, reference, params, gaps_first, gaps_second
            )
            if envelopes is not None and isinstance(start2, list):
                start2 = _best_border(start2, envelopes, offsets[k - 1 : k + 1], drift, reference)
            elif isinstance(start2, list):
                start2 = start2[0][1]
        pieces.append(
            ClockPiece(start2, float(offsets[k]), drift, int(inliers[piece_of == k].sum()))
        )
    return pieces, used_count, spread, max(errors)


def _split(t, y, lo, hi, reference, params, steps_left) -> list:
    """[(lo, hi, fit)] for windows lo..hi-1: one line, or two (recursively) where a jump of
    at least min_step_s leaves clearly more windows on a line."""
    whole = _robust_line(t[lo:hi], y[lo:hi], reference, params)
    need = params.min_piece_windows
    outliers = (hi - lo) - int(whole[2].sum())
    if steps_left <= 0 or outliers < need or hi - lo < 2 * need:
        return [(lo, hi, whole)]
    candidates = np.arange(lo + need, hi - need + 1)
    stride = max(len(candidates) // 24, 1)

    def score(cut: int) -> tuple[int, tuple, tuple]:
        left = _robust_line(t[lo:cut], y[lo:cut], reference, params)
        right = _robust_line(t[cut:hi], y[cut:hi], reference, params)
        return int(left[2].sum() + right[2].sum()), left, right

    coarse = {int(c): score(int(c)) for c in candidates[::stride]}  # a loop over cuts
    best = max(coarse, key=lambda c: coarse[c][0])
    near = candidates[(candidates > best - stride) & (candidates < best + stride)]
    scored = coarse | {int(c): score(int(c)) for c in near if int(c) not in coarse}
    best = max(scored, key=lambda c: scored[c][0])
    total, left, right = scored[best]
    border = 0.5 * (t[best - 1] + t[best])
    jump = (right[0] + right[1] * (border - reference)) - (left[0] + left[1] * (border - reference))
    if (
        total < int(whole[2].sum()) + need
        or abs(jump) < params.min_step_s
        or left[2].sum() < need
        or right[2].sum() < need
    ):
        return [(lo, hi, whole)]
    return _split(t, y, lo, best, reference, params, steps_left - 1) + _split(
        t, y, best, hi, reference, params, steps_left - 1
    )


def _step_at(
    t, piece_of, inliers, k, offsets, drift, reference, params, gaps_first, gaps_second
) -> float:
    """Where piece k starts on the second sensor's clock: at a data gap between its windows
    and the previous piece's if there is one (a reset interrupts the recording), else
    midway."""
    last = t[(piece_of == k - 1) & inliers].max()
    first = t[(piece_of == k) & inliers].min()
    offset_b, offset_a = offsets[k - 1], offsets[k]
    half = params.window_s / 2
    middle = 0.5 * (last + first)
    candidates = []  # (first-clock time, second-clock start of the later piece)
    if gaps_second is not None and len(gaps_second):
        g = np.asarray(gaps_second, dtype=float).reshape(-1, 2)
        at1 = (g[:, 0] - offset_b + drift * reference) / (1 + drift)
        candidates += list(zip(at1, g[:, 1]))
    if gaps_first is not None and len(gaps_first):
        g = np.asarray(gaps_first, dtype=float).reshape(-1, 2)
        candidates += [(h0, h1 + offset_a + drift * (h1 - reference)) for h0, h1 in g]
    inside = [c for c in candidates if last - half <= c[0] <= first + half]
    if len(inside) > 1:  # the envelopes decide (see _best_border); nearest the middle first
        return sorted(inside, key=lambda c: abs(c[0] - middle))
    if inside:
        return float(inside[0][1])
    return float(middle + offset_a + drift * (middle - reference))


def _best_border(
    candidates: list, envelopes: tuple[Envelope, Envelope], offsets, drift: float, reference: float
) -> float:
    """Of several data gaps where a reset may have happened, the one that lines up the most
    activity of the two legs between the first and the last of them."""
    first, second = envelopes
    at = np.array([c[0] for c in candidates])
    times = np.arange(at.min() - 60, at.max() + 60, first.step_s)
    a = first.values_at(times)
    scores = []
    for c1, _ in candidates:  # a loop over candidate borders
        lag = np.where(times < c1, offsets[0], offsets[1]) + drift * (times - reference)
        scores.append(float(a @ second.values_at(times + lag)))
    return float(candidates[int(np.argmax(scores))][1])


def _resampled(grid: Grid, alignment: ClockAlignment) -> Grid:
    """Grid points on the first clock at the first piece's rate, read from the second grid
    by linear interpolation; points whose second-clock time lies in no piece are gaps."""
    rate = grid.rate_hz * (1 + alignment.pieces[0].drift)
    start = float(alignment.to_first(np.array([grid.start_s]))[0])
    end = float(alignment.to_first(np.array([grid.end_s]))[0])
    n = int(np.floor((end - start) * rate + 1e-9)) + 1
    c1 = start + np.arange(n) / rate
    starts2 = np.array([p.start2_s for p in alignment.pieces])
    starts1 = alignment.to_first(np.maximum(starts2, grid.start_s))
    starts1[0] = -np.inf
    which = np.searchsorted(starts1, c1, side="right") - 1
    offset = np.array([p.offset_s for p in alignment.pieces])[which]
    drift = np.array([p.drift for p in alignment.pieces])[which]
    c2 = c1 * (1 + drift) + offset - drift * alignment.reference_s
    # Past the next piece's start on the second clock: the step's jump, nothing recorded.
    next_start = np.append(starts2[1:], np.inf)[which]
    jumped = c2 >= next_start
    position = (c2 - grid.start_s) * grid.rate_hz
    position[jumped] = (next_start[jumped] - grid.start_s) * grid.rate_hz - 1
    np.clip(position, 0, grid.n - 1, out=position)
    low = np.floor(position).astype(np.intp)
    high = np.minimum(low + 1, grid.n - 1)
    weight = (position - low).astype(np.float32)
    xyz = np.empty((n, 3), dtype=np.float32, order="F")
    for axis in range(3):  # a loop over axes
        column = grid.xyz[:, axis]
        xyz[:, axis] = column[low] + weight * (column[high] - column[low])
    valid = grid.valid[low] & grid.valid[high] & ~jumped
    gaps = grid.gaps_s.reshape(-1, 2)
    mapped = alignment.to_first(gaps.ravel()).reshape(-1, 2) if len(gaps) else np.empty((0, 2))
    extra = []
    for index in range(1, len(alignment.pieces)):  # a loop over steps without a gap there
        s2 = starts2[index]
        if not np.any((gaps[:, 0] <= s2) & (s2 <= gaps[:, 1] + 1e-9)):
            before = (
                s2
                - alignment.pieces[index - 1].offset_s
                + alignment.pieces[index - 1].drift * alignment.reference_s
            ) / (1 + alignment.pieces[index - 1].drift)
            after = float(alignment.to_first(np.array([s2]))[0])
            if after > before:
                extra.append([before, after])
    if extra:
        mapped = np.concatenate([mapped, np.array(extra)])
        mapped = mapped[np.argsort(mapped[:, 0])]
    return replace(grid, start_s=start, rate_hz=rate, xyz=xyz, valid=valid, gaps_s=mapped)
