"""The one pipeline: read, regularize, detect, score, write; all checks come before writing."""

from __future__ import annotations

import math
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np

from sleepmove.base.errors import InputError
from sleepmove.detection.clock_alignment import (
    ClockAlignment,
    Envelope,
    activity_envelope,
    align_grid,
    estimate_clock,
)
from sleepmove.detection.grid import Grid, UnusableTimes, regularize
from sleepmove.detection.movements import LegResult, detect_movements, signals_of_legs
from sleepmove.detection.night import score_night
from sleepmove.detection.parallel import in_background, on_own_thread
from sleepmove.detection.parameter_changes import with_changes
from sleepmove.detection.params import WASM2016, AnalysisParameters, default_parameters
from sleepmove.detection.preprocess import LegSignals
from sleepmove.detection.quality import long_gap_notes, saturation, sensor_faults
from sleepmove.detection.scoring import union_gaps
from sleepmove.night_result import NightResult
from sleepmove.reports.clock import zoned
from sleepmove.sensor.formats import read_recording
from sleepmove.sensor.recording import CLOCK_NAIVE, CLOCK_UNIX, LONGEST_NIGHT_H, Recording
from sleepmove.settings import LEAST_MIN_DURATION_MIN
from sleepmove.window import check_within, parse_sleep_window

MIN_DURATION_S = 600.0
# What --min-duration cannot go below (settings.LEAST_MIN_DURATION_MIN says why).
SHORTEST_ALLOWED_S = LEAST_MIN_DURATION_MIN * 60.0


@dataclass
class AnalyzeRequest:
    inputs: dict[str, str]  # side ("left", "right" or "" for one unnamed sensor) -> path
    out_dir: str
    criteria: str = WASM2016.name
    units: str = "auto"
    placement: str = "ankle"
    age_group: str = "adult"
    sleep_window: str | None = None
    report: bool = True
    timezone: str | None = None  # IANA zone of clock times that state none (--timezone)
    clock_alignment: bool = True  # two sensors: the second's clock onto the first's
    min_duration_s: float = MIN_DURATION_S  # shorter recordings refused (--min-duration)
    # A sleep study's apneas, hypopneas and RERAs (--respiratory-events): LMs near them are
    # no CLMs, as the rules require (detection.respiratory)
    respiratory_events: str | None = None
    # Parameters changed from the defaults of criteria/age_group/placement ({group: {name:
    # value}}, as a settings file gives them: sleepmove.settings)
    parameter_changes: dict[str, dict] | None = None

    def parameters(self) -> AnalysisParameters:
        params = default_parameters(self.criteria, self.age_group, self.placement)
        return with_changes(params, self.parameter_changes) if self.parameter_changes else params

    def options(self) -> dict[str, object]:
        """The options as a settings file holds them (sleepmove.settings.OPTIONS)."""
        return {
            "criteria": self.criteria,
            "units": self.units,
            "placement": self.placement,
            "age_group": self.age_group,
            "sleep_window": self.sleep_window,
            "timezone": self.timezone,
            "clock_alignment": self.clock_alignment,
            # rounded: 0.71 min is 42.6 s, which divides back to 0.7099999999999999
            "min_duration_min": round(self.min_duration_s / 60.0, 9),
            # absolute: a settings file replayed from another folder finds it
            "respiratory_events": self.respiratory_events
            and os.path.abspath(self.respiratory_events),
            # one sensor's leg, where named (--side, --left alone, a --pairs night of one)
            "side": (next(iter(self.inputs)) or None) if len(self.inputs) == 1 else None,
        }


class StageClock:
    """Wall time of each pipeline stage, for the speed benchmark."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = self.seconds.get(stage, 0.0) + now - self._last
        self._last = now


def analyze(
    request: AnalyzeRequest,
    clock_stages: StageClock | None = None,
    recordings: dict[str, Recording] | None = None,
) -> NightResult:
    """Analyze one night and write its files (NightResult.write) into `out_dir`.

    `recordings`, when given, are the request's inputs already read (see `prefetch`); their
    samples are released from the dict once on the grid, which lowers the peak memory.
    """
    stages = clock_stages or StageClock()
    params = request.parameters()
    if recordings is None:
        recordings = {
            side: read_recording(path, request.units, request.timezone)
            for side, path in request.inputs.items()
        }
    stages.lap("read")
    # Before the clocks are aligned: Unix seconds against seconds from the start would be
    # searched for an offset of 55 years (an array of hundreds of GiB).
    _refuse_copied_leg(recordings)
    clock = zoned(_common_clock(recordings), next(iter(recordings.values())).timezone)
    time_of_day = _place_times_of_day(recordings)

    envelopes: dict[str, Envelope] = {}  # two sensors: each leg's activity for the clocks

    def grid_of(side: str) -> Grid:
        grid = _grid(recordings[side], params, request.min_duration_s)
        # The grid holds the samples from here on: the other sensor's grid needs the memory.
        recordings[side] = replace(recordings[side], time_s=np.empty(0), xyz_g=np.empty((0, 3)))
        if len(recordings) == 2 and request.clock_alignment:  # on this leg's thread
            envelopes[side] = activity_envelope(grid, params.clock)
        return grid

    if len(recordings) == 1:
        grids = {side: grid_of(side) for side in list(recordings)}
    else:
        with ThreadPoolExecutor(max_workers=len(recordings)) as pool:  # one thread per sensor
            grids = dict(zip(list(recordings), pool.map(grid_of, list(recordings))))
    # Rounded for the summary only (a 1000 Hz file's stamps gave 999.9999999396006).
    rates = {side or "single": round(grid.rate_hz, 6) for side, grid in grids.items()}
    alignment, signals = _align_clocks(grids, envelopes, params, request.clock_alignment)
    stages.lap("preprocess")
    # Independent of detection: on the second core meanwhile (see detection.parallel); only
    # for a grid not counted on its input's samples (every grid of _grid is).
    clipping_of = {
        side: in_background(saturation, grid.xyz)
        for side, grid in grids.items()
        if not grid.saturation
    }
    origin = min(grid.start_s for grid in grids.values())
    end = max(grid.end_s for grid in grids.values())
    if len(grids) == 2:
        _check_overlap(recordings, grids, request.min_duration_s)
    duration = end - origin
    window = (
        parse_sleep_window(request.sleep_window, origin, clock, time_of_day)
        if request.sleep_window
        else None
    )
    if window is not None:
        check_within(window, duration, request.sleep_window)
    start = _iso_start(origin, clock)
    respiratory, respiratory_notes = None, []
    if request.respiratory_events:  # read with pandas, as references are: imported only then
        from sleepmove.respiratory_events import respiratory_events

        respiratory = respiratory_events(
            request.respiratory_events, origin, start, duration, respiratory_notes
        )
    events, legs = detect_movements(grids, origin, params.detection, params.rules, signals)
    stages.lap("detect")
    gaps = union_gaps(
        np.concatenate([grid.gaps_s.reshape(-1, 2) - origin for grid in grids.values()])
    )
    loss = seconds_lost(gaps, int(np.ceil(duration)) + 1)
    activity = _mean_activity([leg.activity_per_min for leg in legs])
    score = score_night(
        events,
        duration,
        gaps,
        loss,
        activity,
        len(grids) == 2,
        params,
        window,
        orientation_per_s=_best_covered([leg.orientation_per_s for leg in legs]),
        respiratory_s=respiratory,
    )
    stages.lap("score")
    recording = {
        "origin_s": origin,
        "clock": clock,
        "start": start,
        "duration_h": round(duration / 3600, 4),
        "sample_rate_hz": rates,
        "sides": [side for side in grids if side],
        "files": {side or "single": rec.path for side, rec in recordings.items()},
        "units_in": {side or "single": rec.units_in for side, rec in recordings.items()},
        "data_loss_h": round(float(loss.sum()) / 3600, 4),
        "data_gaps_s": [[round(a, 2), round(b, 2)] for a, b in gaps],
        "data_loss_h_by_side": {
            side or "single": round(_leg_loss_s(grid, origin, end) / 3600, 4)
            for side, grid in grids.items()
        },
        "placement": params.placement,
    }
    if respiratory is not None:
        recording["respiratory_events"] = {
            "file": request.respiratory_events,
            "events": len(respiratory),
        }
    if alignment is not None:
        recording["clock_alignment"] = alignment.as_dict(origin)
    clipping = {
        side or "single": grid.saturation or clipping_of[side].result()
        for side, grid in grids.items()
    }
    quality = {
        "saturation": clipping,
        "noise_floor_g": {leg.side or "single": round(leg.noise_floor_g, 5) for leg in legs},
        "vibrations_rejected": {leg.side or "single": leg.vibrations_rejected for leg in legs},
        "brief_bursts_rejected": {leg.side or "single": leg.brief_rejected for leg in legs},
        "vibrations_periodic": {leg.side or "single": leg.vibrations_periodic for leg in legs},
        "warnings": [w for rec in recordings.values() for w in rec.warnings]
        + [f"{side or 'sensor'}: {note}" for side, g in grids.items() for note in g.notes]
        + [
            f"{side}: {c['samples']} samples at the sensor's full scale (±{c['range_g']:g} g): "
            "movements there are clipped, peak_g underestimated"
            for side, c in clipping.items()
            if c["samples"]
        ]
        + ([alignment.warning] if alignment is not None and alignment.warning else [])
        + respiratory_notes
        + _uneven_legs(grids, params.quality.uneven_legs_s)
        + _periodic_vibrations_notes(legs, params),
    }
    recorded = duration - float(loss.sum())
    if recorded < MIN_DURATION_S:  # --min-duration allowed it, or gaps took most of it
        quality["short_recording"] = short_recording_warning(recorded, duration)
        quality["warnings"].append(quality["short_recording"])
    result = NightResult(
        score, params, request.options(), recording, quality, list(grids), gaps, origin, clock
    )
    stages.lap("outputs")
    result.write(request.out_dir, request.report, stages)
    return result


def _align_clocks(
    grids: dict[str, Grid],
    envelopes: dict[str, Envelope],
    params: AnalysisParameters,
    wanted: bool,
) -> tuple[ClockAlignment | None, dict[str, LegSignals] | None]:
    """Two sensors: the second's grid onto the first's clock (in `grids`) and the estimate,
    and both legs' signals, computed meanwhile: the estimate leaves a core mostly idle, and
    a one-piece alignment changes the grid's start and rate, never the samples the signals
    come from (detect_movements checks that they still hold)."""
    if len(grids) != 2:
        return None, None
    first, second = grids
    if not wanted:
        return ClockAlignment(grids[first].start_s, note="turned off (--no-clock-alignment)"), None
    estimate = on_own_thread(
        estimate_clock,
        envelopes[first],
        envelopes[second],
        params.clock,
        grids[first].gaps_s,
        grids[second].gaps_s,
    )
    signals = signals_of_legs(grids, params.detection)
    alignment = estimate.result()
    grids[second] = align_grid(grids[second], alignment)
    if signals[second].xyz is not grids[second].xyz:  # resampled at a reset: computed again
        del signals[second]
    return alignment, signals


# Bursts rejected as the bed shaking that keep a PLM series' rhythm, this many on a leg, are
# worth a word: a partner's movements rarely do, a shank barely turned by the ankle does.
PERIODIC_VIBRATIONS_NOTE = 20


def _periodic_vibrations_notes(legs: list[LegResult], params: AnalysisParameters) -> list[str]:
    rules = params.rules
    return [
        f"{leg.side or 'sensor'}: {leg.vibrations_periodic} bursts rejected as the bed shaking "
        f"(no turn of the leg) came at PLM intervals ({rules.imi_min_s:g}-{rules.imi_max_s:g} "
        f"s, {rules.min_series_count} or more in a row): if no one shares the bed, they may be "
        "leg movements that barely turn an ankle-worn sensor, and the PLM indices count too "
        "few; push_min_factor = 6 under [detection] in a settings file (--config) counts "
        "abrupt ones as LMs"
        for leg in legs
        if leg.vibrations_periodic >= PERIODIC_VIBRATIONS_NOTE
    ]


def short_recording_warning(recorded_s: float, duration_s: float) -> str:
    spanned = f" in {duration_s / 60:.1f} spanned" if duration_s - recorded_s >= 30 else ""
    return (
        f"only {recorded_s / 60:.1f} minutes recorded{spanned} (under the usual "
        f"{MIN_DURATION_S / 60:.0f}): the indices rest on very little"
    )


def _too_short(path: str, problem: str, min_duration_s: float, what: str) -> InputError:
    """The refusal of a short recording, with the way forward."""
    if min_duration_s < SHORTEST_ALLOWED_S:
        expected = (
            f"at least {SHORTEST_ALLOWED_S / 60:g} minute {what}: sleep is scored on 30 s "
            "epochs weighed with their neighbours, so no option analyzes less"
        )
    elif min_duration_s < MIN_DURATION_S:  # the user already lowered the minimum
        expected = f"at least {min_duration_s / 60:g} min {what} (--min-duration)"
    else:
        expected = (
            f"at least {MIN_DURATION_S / 60:.0f} minutes {what}; to analyze a shorter "
            "recording anyway, pass --min-duration MINUTES (its figures then rest on little)"
        )
    return InputError(path, problem, expected=expected)


# What ended a read early: a file cut short, or a gzip stream garbled from a line on (not
# damage that was left out, nor a header mended or a zone unstated).
DAMAGE_WORDS = re.compile(r"cut short|garbled")


def _grid(recording: Recording, params: AnalysisParameters, min_duration_s: float) -> Grid:
    path = recording.path
    try:
        grid = regularize(
            recording.time_s,
            recording.xyz_g,
            params.detection.max_gap_bridged_s,
            recording.nominal_rate_hz,
        )
    except UnusableTimes as error:
        raise InputError(path, error.problem, expected=error.expected) from None
    duration = grid.end_s - grid.start_s  # after clock resets are undone
    least = max(min_duration_s, SHORTEST_ALLOWED_S)
    if duration < least:
        from sleepmove.sensor.formats import identify_quietly  # only when refusing: name the format

        fmt = identify_quietly(path)
        unit_s = 1.0 if duration < 60 else 60.0
        shown = f"{duration:.1f} s" if unit_s == 1 else f"{duration / 60:.1f} min"
        if round(duration / unit_s, 1) * unit_s >= least:
            # "lasts only 3.0 min; expected at least 3 min": hundredths, rounded down
            shown = f"{math.floor(duration * 100) / 100:.2f} s"
        what = fmt.NAME if fmt is not None else "the recording"
        problem = f"{what} that lasts only {shown}"
        # Short because damage ended the read: said, or the file would seem short itself.
        damage = next((w for w in recording.warnings if DAMAGE_WORDS.search(w)), None)
        if damage is not None:
            said = re.split(r" \(|: ", damage.removeprefix(path + ": "))[0]
            problem += f" as read ({said})"
        raise _too_short(path, problem, min_duration_s, "of data")
    if grid.rate_hz < params.quality.min_rate_hz:
        least = params.quality.min_rate_hz  # the settings' own, not the default's 10 Hz
        raise InputError(
            path,
            f"sample rate {grid.rate_hz:.3g} Hz is too low: the least allowed is {least:,g} Hz "
            "([quality] min_rate_hz)",
            expected="raw samples fast enough to show brief movements (not epochs)",
        )
    if duration > LONGEST_NIGHT_H * 3600:  # scored as one night it would mean nothing
        from sleepmove.sensor.time_guards import several_nights  # pyarrow: only to refuse

        raise several_nights(path, duration / 3600)
    # Counted on the input's samples: interpolation smooths most clipped samples away.
    clipping = in_background(saturation, recording.xyz_g)
    grid.notes += long_gap_notes(grid.gaps_s, grid.start_s, params.quality)
    grid.saturation = clipping.result()
    _mark_faults_as_gaps(grid, grid.saturation["range_g"], params)
    return grid


def _mark_faults_as_gaps(grid: Grid, range_g: float | None, params: AnalysisParameters) -> None:
    """Stuck stretches (a sensor fault) become data gaps: sleep and events leave them out."""
    stretches, notes = sensor_faults(grid.xyz, grid.valid, grid.rate_hz, range_g, params.quality)
    grid.notes += notes
    if not len(stretches):
        return
    added = []
    for first, stop in stretches:  # a loop over stuck stretches
        grid.valid[first:stop] = False
        # As in any gap, the samples hold the value before it: no step inside.
        grid.xyz[first:stop] = grid.xyz[first - 1] if first > 0 else grid.xyz[min(stop, grid.n - 1)]
        before, after = max(first - 1, 0), min(stop, grid.n - 1)
        added.append([grid.start_s + before / grid.rate_hz, grid.start_s + after / grid.rate_hz])
    gaps = np.concatenate([grid.gaps_s.reshape(-1, 2), np.array(added)])
    grid.gaps_s = union_gaps(gaps)


def _refuse_copied_leg(recordings: dict[str, Recording]) -> None:
    """Refuse two legs whose recordings hold the very same samples: one file copied under
    another name (the same path twice is refused before reading, sleepmove.checks). Scored,
    every movement was bilateral and the clocks agreed "within 20 ms", without a word."""
    if len(recordings) != 2:
        return
    first, second = recordings.values()
    if (
        first.time_s.shape == second.time_s.shape
        and np.array_equal(first.time_s, second.time_s)
        and np.array_equal(first.xyz_g, second.xyz_g)
    ):
        raise InputError(
            f"{first.path} and {second.path}",
            "the two legs' recordings hold the same samples, time stamps and all: one "
            "recording copied?",
            expected="one recording per leg: --left LEFT_FILE --right RIGHT_FILE",
        )


def _common_clock(recordings: dict[str, Recording]) -> str:
    clocks = {rec.clock for rec in recordings.values()}
    if len(clocks) > 1:
        paths = " and ".join(rec.path for rec in recordings.values())
        # Clock times without a zone (a .cwa, a zone-less CSV) beside instants: --timezone
        # makes them instants too; times from the start cannot be placed beside either.
        hint = (
            " (--timezone ZONE makes clock times without a zone instants, as the other's are)"
            if clocks == {CLOCK_NAIVE, CLOCK_UNIX}
            else ""
        )
        raise InputError(
            paths,
            f"the two files use different kinds of time stamps ({', '.join(sorted(clocks))})",
            expected="the same clock in both" + hint,
        )
    return clocks.pop()


def _place_times_of_day(recordings: dict[str, Recording]) -> bool:
    """Whether every recording's times are clock times without a date (`time_of_day`):
    two such files are put side by side by them (started 70 s apart, they were each
    counted from their own first sample and were 70 s out), the later-started one a day on
    where its first time is over 12 h before the other's (it started past midnight). A
    time-of-day file beside one of seconds from the start is counted from its first
    sample, as that one is."""
    of_day = [rec.time_of_day for rec in recordings.values()]
    if all(of_day):
        first = {side: float(rec.time_s[0]) for side, rec in recordings.items()}
        latest = max(first.values())
        for side, rec in recordings.items():  # a loop over the (one or two) sensors
            if latest - first[side] > 43200.0:
                recordings[side] = replace(rec, time_s=rec.time_s + 86400.0)
        return True
    for side, rec in recordings.items():  # a loop over the two sensors
        if rec.time_of_day:
            recordings[side] = replace(rec, time_s=rec.time_s - rec.time_s[0], time_of_day=False)
    return False


def _check_overlap(
    recordings: dict[str, Recording], grids: dict[str, Grid], min_duration_s: float
) -> None:
    start = max(grid.start_s for grid in grids.values())
    end = min(grid.end_s for grid in grids.values())
    paths = " and ".join(rec.path for rec in recordings.values())
    if end <= start:
        # No --min-duration can help here: say how far apart the two recordings lie.
        from sleepmove.reports.readable import duration as readable_duration  # error path

        first = min(grids, key=lambda side: grids[side].end_s)
        later = max(grids, key=lambda side: grids[side].start_s)
        raise InputError(
            paths,
            f"the two sensors overlap for only 0 s: they do not overlap at all, "
            f"{recordings[later].path} starts {readable_duration(start - end)} after "
            f"{recordings[first].path} ends",
            expected="the two legs recorded at the same time, on the same night",
        )
    if end - start < max(min_duration_s, SHORTEST_ALLOWED_S):
        problem = f"the two sensors overlap for only {max(end - start, 0):.0f} s"
        raise _too_short(paths, problem, min_duration_s, "together, of the same night")


def seconds_lost(gaps_s: np.ndarray, n_seconds: int) -> np.ndarray:
    """Lost time in each second from the origin."""
    lost = np.zeros(n_seconds)
    for start, end in gaps_s:  # a loop over gaps
        edges = np.arange(int(start), min(int(np.ceil(end)), n_seconds))
        lost[edges] = np.clip(np.minimum(edges + 1, end) - np.maximum(edges, start), 0, 1)
    return lost


def _leg_loss_s(grid: Grid, origin: float, end: float) -> float:
    """The night's seconds one sensor did not record: its gaps, and the time before it
    started and after it stopped, which no gap of its own says (a leg that died at 3 am
    left data_loss_h at 0)."""
    gaps = np.asarray(grid.gaps_s, dtype=float).reshape(-1, 2)
    inside = float(
        np.clip(np.minimum(gaps[:, 1], end) - np.maximum(gaps[:, 0], origin), 0, None).sum()
    )
    return (grid.start_s - origin) + (end - grid.end_s) + inside


def _best_covered(per_leg: list[np.ndarray]) -> np.ndarray:
    """The orientation of the leg that recorded the most seconds: each leg's sensor has its
    own mounting, so the two are never mixed."""
    return max(per_leg, key=lambda rows: int(np.isfinite(rows).all(axis=1).sum()))


def _uneven_legs(grids: dict[str, Grid], uneven_s: float) -> list[str]:
    """Say so when one sensor recorded much less of the night than the other."""
    if len(grids) != 2:
        return []
    (first, a), (second, b) = grids.items()
    notes = []
    for edge, (x, y) in (("started", (a.start_s, b.start_s)), ("stopped", (a.end_s, b.end_s))):
        late = y - x if edge == "started" else x - y
        if abs(late) >= uneven_s:
            side = second if late > 0 else first
            other = first if side == second else second
            when = "after" if edge == "started" else "before"
            notes.append(
                f"{side}: {edge} {abs(late) / 60:.0f} min {when} the {other} sensor: that "
                "leg's movements are missing there, and side and bilateral figures cover the "
                "time both recorded"
            )
    return notes


def _mean_activity(per_leg: list[np.ndarray]) -> np.ndarray:
    length = max(len(a) for a in per_leg)
    stacked = np.zeros((len(per_leg), length))
    for i, values in enumerate(per_leg):
        stacked[i, : len(values)] = values
    return stacked.mean(axis=0)


def _iso_start(origin: float, clock: str) -> str | None:
    from sleepmove.reports.clock import iso_time

    return iso_time(0.0, origin, clock)
