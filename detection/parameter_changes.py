"""Parameters changed by name (a settings file's), each checked before any analysis runs.

A setting must have its default's type and a value the detector can work with: finite,
not negative where the default is not, above zero where zero would divide or empty a window,
within a bound that keeps arrays sized by it small, one of the choices of a text setting,
and in order with its partner (lm_min_s below lm_max_s). Ranges are generous: they refuse
what cannot mean anything, not what is merely unusual.
"""

from __future__ import annotations

import math
import reprlib
from dataclasses import replace

from sleepmove.detection.params import (
    GROUPS,
    RULE_SET_IDENTITY,
    AnalysisParameters,
    ScoringRules,
    SleepParameters,
    default_parameters,
)

# Upper bounds by the unit a name ends in: beyond them a setting is a typo, and some would
# ask for arrays of that size (a smoothing window of a day of samples).
UNIT_LIMITS = {"_s": 86_400.0, "_min": 1_440.0, "_h": 48.0, "_hz": 10_000.0, "_deg": 360.0,
               "_g": 64.0, "_ppm": 10_000.0}  # fmt: skip
MAX_NUMBER = 1e6  # factors, weights, log odds: no unit of their own
MAX_COUNT = 10_000  # whole numbers: counts of parts, windows, epochs, neighbours
# Zero would divide by zero or leave a window, a rate or a bout empty.
POSITIVE = {
    "lm_max_s", "imi_max_s", "min_series_count", "bilateral_max_parts", "bilateral_max_s",
    "envelope_window_s", "slow_window_s", "slow_floor_scale", "baseline_block_s",
    "baseline_window_s", "noise_window_s", "onset_factor", "offset_factor",
    "rotation_smoothing_s", "train_min_bursts", "hft_max_burst_s", "alma_max_burst_s",
    "jerk_cluster_min_jerks", "epoch_s", "window_epochs", "irregularity_reach",
    "latency_scale_min", "final_wake_scale_min", "night_h", "max_interval_s",
    "mean_sleep_bout_min", "mean_wake_bout_min", "min_rate_hz", "envelope_rate_hz",
    "coarse_rate_hz", "window_s", "window_step_s", "min_windows", "min_piece_windows",
    "vigorous_span", "vigorous_min_spread", "hft_freq_hz", "alma_freq_hz", "inlier_s",
}  # fmt: skip
# Ranges of their own, tighter than their unit's, from what each setting means
# (detection/params.py), checked on an 8-hour night (one sensor, and two for
# [clock_alignment]; memory grows with the night, to 30 h): outside them a width rounded to
# no samples, a frequency divided by zero, or an array sized by it took gigabytes. Each
# leaves room around its default, and takes every parameter set of detection/params.py.
# A lowest of 0 is "above 0" where POSITIVE.
RANGES: dict[str, tuple[float, float]] = {
    # [detection]: the windows of the signals. A day's envelope window ran out of memory,
    # a day's rest window asked for 14 GiB (its cost: the night's blocks x the window's),
    # 0.1 s blocks took 1 GB and 0.01 s 2.5 GB; a day's noise window (blocks x window
    # / 10) 3.7 GB at 30 h.
    "envelope_window_s": (0.0, 10.0),  # the RMS of brief jerks: 0.1 s
    "slow_window_s": (0.0, 60.0),  # small slow rotations: 0.5 s
    "rotation_smoothing_s": (0.0, 60.0),  # vibrations of 2 Hz and more out: 0.5 s
    "baseline_block_s": (0.5, 10.0),  # block medians of the rest: 1 s
    "baseline_window_s": (0.0, 120.0),  # rest before and after each sample: 25 s
    "noise_window_s": (0.0, 1800.0),  # the noise floor tracked over 5 minutes
    # Bursts a second of a tremor's train: HFT 0.3-4, ALMA 0.5-3 (0 divided by zero).
    "hft_freq_hz": (0.0, 10.0),
    "alma_freq_hz": (0.0, 10.0),
    # Losses shorter than this are interpolated: under two samples' interval at 10 Hz every
    # sample was a gap, and the file was refused as far too sparse.
    "max_gap_bridged_s": (0.25, 60.0),
    # [sleep]: excessive fragmentary myoclonus over whole minutes (under 1: numpy's "v
    # cannot be empty"); neighbours compared on each side (10,000: 200 MB more at 8 h).
    "efm_min_span_min": (1.0, 1440.0),
    "irregularity_reach": (1, 100),
    "epoch_s": (0.0, 60.0),  # and one of EPOCHS_S
    # [clock_alignment]: the windows' spectra take (night / step) x (window + 2 x search)
    # x rate x 16 bytes: a 1 ms step asked for 91 GiB, 10 kHz envelopes took 1.35 GB, a
    # search of 0 or 1 ms held no lag beside the peak (IndexError). With these the worst
    # corner adds 260 MB at 8 h.
    "envelope_rate_hz": (5.0, 40.0),  # activity envelopes compared at 20 Hz
    "coarse_rate_hz": (0.1, 40.0),  # the whole night first at 2 Hz (0 divided by zero)
    "window_s": (10.0, 600.0),  # windows of 5 minutes...
    "window_step_s": (60.0, 3600.0),  # ...150 s apart
    "search_s": (0.2, 60.0),  # lags 6 s either side of the whole night's (drift, 30 h)
    "refine_search_s": (0.2, 10.0),  # then 1 s either side of the first fit
}
# Epochs are counted in whole seconds (detection/sleep.py) and gathered whole into the
# minutes of epochs.csv (detection/night.py): 0.5 s was a reshape error, 7.5 s or 90 s put
# epochs in the wrong minutes without a word.
EPOCHS_S = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60)
SHARES = {
    "cramp_min_held_share", "start_awake", "end_awake", "min_covered", "min_correlation",
    "max_second_peak", "peak_dip", "cramp_tremor_share",
}  # fmt: skip
# Settings an older release wrote that no longer exist: read from its settings files with a
# note, not refused (they changed nothing then either).
RETIRED = {"detection": ("bilateral_vibration_window_s",)}
CHOICES = {"bilateral_mode": ("overlap", "onset"), "respiratory_around": ("end", "event")}
# Pairs that must stay in order within their group: (lower, higher).
ORDERED = {
    "rules": [("lm_min_s", "lm_max_s"), ("imi_min_s", "imi_max_s")],
    "detection": [
        ("offset_factor", "onset_factor"), ("twitch_support_factor", "twitch_peak_factor"),
    ],
    "sleep": [("irregular_low", "irregular_high"), ("variable_low", "variable_high")],
}  # fmt: skip


# A value as a refusal shows it: a file may hold a string of megabytes, or lists nested
# hundreds deep, which repr() prints whole or fails on (RecursionError).
_SHOWN = reprlib.Repr()
_SHOWN.maxstring = _SHOWN.maxother = _SHOWN.maxlong = 60
_SHOWN.maxlevel = 3


def shown(value: object) -> str:
    """repr(value), cut short where long or deep."""
    return _SHOWN.repr(value)


def clipped(text: str) -> str:
    """A name as written (a key of the file), cut short where long."""
    return text if len(text) <= 60 else text[:57] + "..."


class ParameterError(ValueError):
    """A setting that cannot be used: what is wrong and what was expected."""

    def __init__(self, problem: str, expected: str) -> None:
        self.problem, self.expected = problem, expected
        super().__init__(f"{problem}; expected {expected}")


def _number_range(name: str, default: float) -> tuple[float, float, bool]:
    """(lowest, highest, lowest itself allowed) for a numeric setting."""
    if name in SHARES:
        return 0.0, 1.0, True
    if name in RANGES:
        low, high = RANGES[name]
        return low, high, low > 0 or name not in POSITIVE
    high = next((limit for unit, limit in UNIT_LIMITS.items() if name.endswith(unit)), MAX_NUMBER)
    if isinstance(default, int):
        high = MAX_COUNT
    low = -high if default < 0 else 0.0
    return low, high, name not in POSITIVE


def _checked_number(where: str, name: str, value: float, default: float) -> None:
    low, high, low_allowed = _number_range(name, default)
    if (
        not math.isfinite(value)
        or value > high
        or value < low
        or (value == low and not low_allowed)
    ):
        bound = f"{'at least' if low_allowed else 'above'} {low:g}"
        raise ParameterError(f"{where} = {shown(value)}", f"a number {bound} and at most {high:g}")


def checked_value(group: str, name: str, value: object, default: object) -> object:
    """`value` as the type of `default` (a setting read from a file), within its range;
    ParameterError if it is not.

    Whole numbers are taken for floats (written 10 for 10.0); floats stay floats, so that
    a setting read back equals the one written, bit for bit."""
    where = f"[{group}] {name}"
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ParameterError(f"{where} = {shown(value)}", "true or false")
        return value
    if isinstance(default, (int, float)):
        whole = isinstance(default, int)
        kinds = (int,) if whole else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds):
            raise ParameterError(
                f"{where} = {shown(value)}", "a whole number" if whole else "a number"
            )
        _checked_number(where, name, value, default)
        if name == "epoch_s" and value not in EPOCHS_S:
            raise ParameterError(
                f"{where} = {shown(value)}",
                "whole seconds that divide a minute: " + ", ".join(map(str, EPOCHS_S)),
            )
        return value if whole else float(value)
    if isinstance(default, tuple):
        if not isinstance(value, (list, tuple)) or len(value) != len(default):
            raise ParameterError(f"{where} = {shown(value)}", f"a list of {len(default)} numbers")
        pair = tuple(checked_value(group, name, v, d) for v, d in zip(value, default))
        if list(pair) != sorted(pair) or len(set(pair)) != len(pair):
            raise ParameterError(f"{where} = {shown(value)}", "the lower value first")
        return pair
    if isinstance(default, str):
        choices = CHOICES.get(name)
        if not isinstance(value, str) or (choices and value not in choices):
            raise ParameterError(
                f"{where} = {shown(value)}", "one of " + ", ".join(choices) if choices else "text"
            )
        return value
    raise ParameterError(where, "a setting that can be changed")


def with_changes(params: AnalysisParameters, changes: dict[str, dict]) -> AnalysisParameters:
    """`params` with some fields of some groups changed ({group: {field: value}}), each
    checked (`checked_value`), and pairs kept in order; ParameterError names the first wrong."""
    updated = {}
    for group, fields in changes.items():  # a loop over parameter groups
        if group not in GROUPS:
            raise ParameterError(f"unknown parameter group [{clipped(group)}]", ", ".join(GROUPS))
        current = getattr(params, GROUPS[group])
        known = current.as_dict()
        values = {}
        for name, value in fields.items():
            if name not in known or (group == "rules" and name in RULE_SET_IDENTITY):
                settable = [n for n in known if not (group == "rules" and n in RULE_SET_IDENTITY)]
                raise ParameterError(f"[{group}] has no setting {shown(name)}", ", ".join(settable))
            values[name] = checked_value(group, name, value, getattr(current, name))
        changed = replace(current, **values)
        for lower, higher in ORDERED.get(group, []):  # a loop over ordered pairs
            if not getattr(changed, lower) < getattr(changed, higher):
                raise ParameterError(
                    f"[{group}] {lower} = {getattr(changed, lower)!r} and {higher} = "
                    f"{getattr(changed, higher)!r}",
                    f"{lower} below {higher}",
                )
        if group == "sleep":
            _check_bouts_span_an_epoch(changed)
        updated[GROUPS[group]] = changed
    return replace(params, **updated)


def _check_bouts_span_an_epoch(sleep: SleepParameters) -> None:
    """The sleep model's mean bouts last an epoch or more: its chance to change state each
    epoch is epoch / bout, which past 1 is no probability (a bout of 0.4 min found no sleep;
    0.001 divided by zero)."""
    epoch_min = sleep.epoch_s / 60
    for name in ("mean_sleep_bout_min", "mean_wake_bout_min"):  # a loop over two settings
        if getattr(sleep, name) < epoch_min:
            raise ParameterError(
                f"[sleep] {name} = {getattr(sleep, name)!r}, shorter than an epoch "
                f"(epoch_s = {sleep.epoch_s:g} s)",
                f"a mean bout of at least {epoch_min:g} min",
            )


def rules_written(criteria: dict) -> ScoringRules:
    """The rules a summary's `criteria` say scored the night: the named rule set with the
    numbers its `parameters.rules` hold (an infant's merge gap, a settings file's changes);
    a summary from before the numbers were written gives the named rule set. ParameterError
    (or KeyError) where they name no rule set or hold numbers no setting may have."""
    named = default_parameters(criteria["name"])
    written = criteria.get("parameters", {}).get("rules", {})
    changes = {k: v for k, v in written.items() if k not in RULE_SET_IDENTITY}
    return with_changes(named, {"rules": changes}).rules


def changes_between(base: AnalysisParameters, params: AnalysisParameters) -> dict[str, dict]:
    """The fields of `params` that differ from `base`, by group (what `with_changes` takes)."""
    changes = {}
    for group, attribute in GROUPS.items():
        before, after = getattr(base, attribute).as_dict(), getattr(params, attribute).as_dict()
        changed = {
            name: value
            for name, value in after.items()
            if value != before[name] and not (group == "rules" and name in RULE_SET_IDENTITY)
        }
        if changed:
            changes[group] = changed
    return changes
