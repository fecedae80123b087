"""`sleepmove validate`: analyzed nights against reference scoring, per night and pooled."""

from __future__ import annotations

import math
import os
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from sleepmove.base.clock import STAMP_ROUNDING_S
from sleepmove.base.errors import InputError
from sleepmove.base.limits import check_regular_file
from sleepmove.base.words import how_many
from sleepmove.detection.bilateral import LM_KINDS
from sleepmove.detection.indices import periodicity_index
from sleepmove.detection.matching import (
    agreement,
    bland_altman,
    classification,
    icc_agreement,
    match_onsets,
    onset_errors,
)
from sleepmove.detection.parameter_changes import (
    ParameterError,
    checked_value,
    rules_written,
)
from sleepmove.detection.params import (
    RULE_SETS,
    DetectionParameters,
    ScoringRules,
)
from sleepmove.detection.params import rules_label as params_rules_label
from sleepmove.detection.scoring import gap_holding, score_units, union_gaps
from sleepmove.detection.series import gap_between
from sleepmove.detection.table import Table
from sleepmove.report_command import REPORTED, damaged_summary, load_summary
from sleepmove.sensor.annotations import Reference, read_reference

KINDS = {"lm": "lm", "plm": "lm", "jerk": "jerk"}
# A tolerance wider than the shortest interval of a PLM series (5 s) would pair a reference
# movement with its neighbour's detection; 10 s leaves room for sloppy scoring.
MOST_TOLERANCE_S = 10.0
MOST_OFFSET_S = 86400.0  # a clock a day off is another night


def check_matching_options(tolerance_s: float, jerk_tolerance_s: float, offset_s: float) -> None:
    """Refuse tolerances and offsets that cannot mean anything (negative, nan, inf), before
    any file is read."""
    for option, value in (("--tolerance", tolerance_s), ("--jerk-tolerance", jerk_tolerance_s)):
        if not 0 < value <= MOST_TOLERANCE_S:
            raise InputError(
                option, f"{value:g}", expected=f"seconds above 0, at most {MOST_TOLERANCE_S:g}"
            )
    if not abs(offset_s) <= MOST_OFFSET_S:
        raise InputError(
            "--offset",
            f"{offset_s:g}",
            expected=f"seconds from -{MOST_OFFSET_S:g} to {MOST_OFFSET_S:g}",
        )


def origin_of(summary: dict, path: str) -> float:
    """Absolute seconds of the result's first sample (zone-less clocks counted as UTC).
    Raises InputError for a recording without a clock (`aligned_reference` matches those)."""
    start = summary["recording"].get("start")
    if not start:
        raise InputError(path, "the recording has no clock time", expected="a clock to align on")
    moment = _start(start, path)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def aligned_reference(
    summary: dict, result_dir: str, reference_path: str
) -> tuple[Reference, float]:
    """The reference, and the time of the result's first sample on the reference's times.
    With a clock, the recording's start. Without one (times from the start, or clock times without
    a date, which analyze counts from the first sample), a reference that counts seconds
    from its own start (a CSV of seconds, a truth.json) is taken to start with the
    recording, as a CSV of seconds always was; one that states clock times cannot be placed
    and is refused in one line."""
    if summary["recording"].get("start"):
        origin = origin_of(summary, result_dir)
        offset = utc_offset_of(summary, result_dir)
        return read_reference(reference_path, start_s=origin, utc_offset_s=offset), origin
    # 0: the recording's own seconds from its start are its clock.
    reference = read_reference(reference_path, start_s=0.0)
    if reference.counted_from is None:
        raise InputError(
            reference_path,
            f"the reference gives clock times but the recording {result_dir} has none",
            expected="onsets in seconds from the start, or a recording with clock times",
        )
    return reference, reference.counted_from


def utc_offset_of(summary: dict, path: str = "") -> float:
    """The offset of the recording's clock times from UTC at its start (0 for zone-less
    clocks): where a reference's clock times without a date fall."""
    start = summary["recording"].get("start")
    offset = _start(start, path).utcoffset() if start else None
    return offset.total_seconds() if offset is not None else 0.0


def _start(text: str, folder: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:  # a hand-edited summary: was "Invalid isoformat string"
        raise damaged_summary(
            os.path.join(folder, "summary.json"), "recording.start", text
        ) from None


# What validate reads of a summary besides what the trend report reads (REPORTED).
VALIDATED: dict[str, tuple[type, ...]] = {
    **REPORTED,
    "recording.duration_h": (int, float),
    "recording.data_gaps_s": (list,),
    "criteria.parameters": (dict,),  # absent from summaries written before them
    "criteria.parameters.rules": (dict,),
    "criteria.parameters.detection": (dict,),
}
# A month: the grid of seconds scored over it is 2.7 million long (1e9 h asked for 29 PB).
MOST_DURATION_H = 24 * 31.0
# The kinds of event that are rows of events.csv, each counted under its name in summary.json.
EVENT_ROW_KINDS = ("lm", "jerk", "movement", "jerk_cluster", "cramp", "alma", "hft")
# The columns validate reads from a night's tables: (numbers, others).
TABLE_COLUMNS = {
    "events.csv": (("onset_s",), ("kind", "side", "periodic")),
    "epochs.csv": (("start_s",), ("asleep",)),
}


def load_result(folder: str) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """A night's summary, events and epochs, each checked for what validate reads of it:
    a damaged folder is one line naming the file, as `report` says of it."""
    if not os.path.isdir(folder):  # was "not an analyzed night (summary.json missing)"
        problem = "not a folder" if os.path.exists(folder) else "does not exist"
        raise InputError(folder, problem, expected="a folder written by sleepmove analyze")
    paths = [os.path.join(folder, name) for name in ("summary.json", "events.csv", "epochs.csv")]
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        raise InputError(
            folder,
            f"not an analyzed night ({os.path.basename(missing[0])} missing)",
            expected="a folder written by sleepmove analyze",
        )
    summary = load_summary(paths[0], VALIDATED)
    _check_summary(summary, paths[0])
    events = _table(paths[1], keep_default_na=False, na_values={"series": [""], "imi_s": [""]})
    epochs = _table(paths[2])
    _check_complete(summary, events, epochs, paths)
    return summary, events, epochs


def _check_complete(
    summary: dict, events: pd.DataFrame, epochs: pd.DataFrame, paths: list[str]
) -> None:
    """A table cut short (a copy interrupted, a disk full) still parses: its rows are
    checked against what the summary counted, or validate scored half a night's events as
    the detector's."""
    expected = "the tables analyze wrote with this summary (analyze the night again)"
    counts = summary.get("counts", {})
    found = events["kind"].astype(str).value_counts()
    for kind, counted in counts.items():  # a loop over kinds of event
        if kind in EVENT_ROW_KINDS and isinstance(counted, int) and found.get(kind, 0) != counted:
            raise InputError(
                paths[1],
                f"holds {found.get(kind, 0)} {kind} rows where summary.json counts {counted}"
                " (cut short, or from another analysis)",
                expected=expected,
            )
    minutes = max(math.ceil(summary["recording"]["duration_h"] * 60 - 1e-6), 1)
    if abs(len(epochs) - minutes) > 1:  # the duration is rounded: a minute either way
        raise InputError(
            paths[2],
            f"holds {len(epochs)} minutes where the recording lasts {minutes}"
            " (cut short, or from another analysis)",
            expected=expected,
        )


def _check_summary(summary: dict, path: str) -> None:
    """What the field types of VALIDATED do not say: a rule set of this release, a length
    that can be scored second by second, gaps as pairs of seconds."""
    recording = summary["recording"]
    if summary["criteria"]["name"] not in RULE_SETS:
        where = "criteria.name"
        value = summary["criteria"]["name"]
    elif not 0 <= recording["duration_h"] <= MOST_DURATION_H:  # NaN too
        where, value = "recording.duration_h", recording["duration_h"]
    else:
        try:
            np.array(recording["data_gaps_s"], dtype=float).reshape(-1, 2)
        except (TypeError, ValueError):
            where, value = "recording.data_gaps_s", recording["data_gaps_s"]
        else:
            _check_break_gap(summary, path)
            return
    raise damaged_summary(path, where, value)


def _check_break_gap(summary: dict, path: str) -> None:
    """The one detection parameter validate scores by (`validate_night`), as a settings
    file's is checked."""
    detection = summary["criteria"].get("parameters", {}).get("detection", {})
    if "series_break_gap_s" in detection:
        default = DetectionParameters.series_break_gap_s
        try:
            checked_value(
                "detection", "series_break_gap_s", detection["series_break_gap_s"], default
            )
        except ParameterError as error:
            raise InputError(path, error.problem, expected=error.expected) from None


def _table(path: str, **options: object) -> pd.DataFrame:
    """events.csv or epochs.csv, with the columns validate reads (TABLE_COLUMNS)."""
    expected = f"{os.path.basename(path)} as analyze writes it (analyze the night again)"
    check_regular_file(path, expected)  # analyze writes files: a pipe would block
    try:
        table = pd.read_csv(path, **options)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else "empty"
        raise InputError(path, f"a damaged table ({reason})", expected=expected) from None
    numbers, others = TABLE_COLUMNS[os.path.basename(path)]
    missing = [name for name in (*numbers, *others) if name not in table.columns]
    if missing:
        raise InputError(path, f"a damaged table: no column {missing[0]}", expected=expected)
    for name in numbers:  # a loop over columns
        values = pd.to_numeric(table[name], errors="coerce")
        bad = values.isna().to_numpy()
        if bad.any():
            row = int(bad.argmax())
            cell = table[name].iloc[row]
            # An empty cell reads as NaN (or ''): shown as 'nan', it read as the file's text.
            empty = pd.isna(cell) or not str(cell).strip()
            shown = "is empty" if empty else f"{str(cell)[:40]!r} is not a number"
            raise InputError(
                path,
                f"a damaged table: {name} {shown}",
                where=f"line {row + 2}",
                expected=expected,
            )
        table[name] = values
    return table


def reference_units(reference: Reference, origin: float, offset_s: float) -> pd.DataFrame:
    """The reference's movements (its respiratory events are no movement), from `origin`."""
    events = reference.events
    units = events[events["kind"] != "respiratory"].reset_index(drop=True)
    units["onset_s"] = units["onset_abs_s"] - origin + offset_s
    units["offset_s"] = units["onset_s"] + units["duration_s"]
    return units


def as_recorded(
    units: pd.DataFrame, gaps: np.ndarray, lm_min_s: float, onsets_too: bool = True
) -> pd.DataFrame:
    """The reference's LMs as the recording shows them: one that a data gap (`gaps`: sorted,
    disjoint) cuts at its end runs to the gap's start, one cut at its start (`onsets_too`)
    from the gap's end, where that part lasts an LM's least duration (a scorer of the file
    sees that much of it, and so does the detector); the rest stay as they are (a gap
    inside them, or too little left: unseen). Two legs' gaps are the union of the legs':
    an onset in the other leg's hole is one the analysis leaves out, so not `onsets_too`."""
    units = units.copy()
    if len(gaps) == 0 or len(units) == 0:
        return units
    onset = units["onset_s"].to_numpy(float)
    offset = units["offset_s"].to_numpy(float)
    in_gap_onset, in_gap_offset = gap_holding(onset, gaps), gap_holding(offset, gaps)
    start = np.where(in_gap_onset >= 0, gaps[in_gap_onset, 1], onset)
    end = np.where(in_gap_offset >= 0, gaps[in_gap_offset, 0], offset)
    # Cut at one end only: the other end lies before the next gap (after the previous one).
    next_start = np.append(gaps[1:, 0], np.inf)[in_gap_onset]
    previous_end = np.insert(gaps[:-1, 1], 0, -np.inf)[in_gap_offset]
    cut_start = (in_gap_onset >= 0) & (in_gap_offset < 0) & (offset < next_start)
    cut_end = (in_gap_offset >= 0) & (in_gap_onset < 0) & (onset >= previous_end)
    lm = (units["kind"] == KINDS["lm"]).to_numpy(bool)
    # The least duration less a stamp's rounding: 0.500 s apart may compute as 0.4999999.
    least = lm_min_s - STAMP_ROUNDING_S
    trimmed = lm & ((cut_start & onsets_too) | cut_end) & (end - start >= least)
    units.loc[trimmed, "onset_s"] = start[trimmed]
    units.loc[trimmed, "offset_s"] = end[trimmed]
    units.loc[trimmed, "duration_s"] = end[trimmed] - start[trimmed]
    return units


def _of_two_legs(sides: np.ndarray) -> bool:
    """Whether a reference's events (their sides, "" for none) come from two legs."""
    legs = set(sides) - {""}
    return len(legs) > 1 or "bilateral" in legs


def _asleep_from_spans(spans: list[tuple[float, float]], times: np.ndarray) -> np.ndarray:
    asleep = np.zeros(len(times), dtype=bool)
    for a, b in spans:
        asleep |= (times >= a) & (times < b)
    return asleep


def reference_events(units: pd.DataFrame) -> Table:
    """A reference's events as the scoring takes them: no peak or rotation is known."""
    events = Table(
        {
            "onset_s": units["onset_s"].to_numpy(float),
            "offset_s": units["offset_s"].to_numpy(float),
            "duration_s": units["duration_s"].to_numpy(float),
            "kind": units["kind"].to_numpy(object),
            "side": units["side"].fillna("").to_numpy(object),
        }
    )
    for name in ("peak_g", "rotation_deg", "posture_change_deg"):
        events[name] = np.full(len(events), np.nan)
    return events


def rules_of(summary: dict) -> ScoringRules:
    """The rules the result was scored by, numbers and all (parameter_changes.rules_written):
    the reference is scored by the same."""
    try:
        return rules_written(summary["criteria"])
    except ParameterError as error:
        raise InputError("summary.json", error.problem, expected=error.expected) from None


def _lm_bounds(summary: dict) -> tuple[float, float]:
    """The durations an LM may have by the rules the night was scored by."""
    rules = rules_of(summary)
    return rules.lm_min_s, rules.lm_max_s


def rules_label(summary: dict) -> str:
    """The rules a night was scored by, as every figure names them (params.rules_label):
    nights of one label were scored alike."""
    return params_rules_label(rules_of(summary))


def score_reference(
    units: pd.DataFrame,
    gaps: np.ndarray,
    sleep_spans: list[tuple[float, float]],
    duration_s: float,
    rules: ScoringRules,
    series_break_gap_s: float = DetectionParameters.series_break_gap_s,
    window_s: tuple[float, float] | None = None,
    respiratory_s: np.ndarray | None = None,
) -> dict:
    """PLMs, PLM index and periodicity index of the reference under the result's rules,
    scored as `analyze` scores (detection.scoring.score_units): a reference that scores
    each leg apart has its legs' LMs merged into bilateral ones, as the detector's are.
    `units`: the reference's events (`reference_units`); "units" in the answer: its
    scored units, with `periodic` (the reference's own PLM marks where it has them).
    `window_s`: the result's sleep window (lights out, lights on), in bed in it alone;
    `respiratory_s`: its respiratory events, where the result's analysis excluded LMs near
    the same (--respiratory-events): the reference's are scored alike."""
    events = reference_events(units)
    two_legs = _of_two_legs(events["side"])
    scored = score_units(events, rules, gaps, two_legs, series_break_gap_s, respiratory_s)
    onsets = scored["onset_s"]
    clm = scored["clm"].astype(bool)
    imi = scored["imi_s"]
    periodic = scored["periodic"].astype(bool)
    marks = units["periodic"].to_numpy(bool)
    if marks.any():  # the reference marked its PLMs itself: they stand
        periodic = _marked_units(scored, units["onset_s"].to_numpy(float)[marks])
    scored["periodic"] = periodic & clm
    asleep = _asleep_from_spans(sleep_spans, onsets)
    grid = np.arange(0.0, duration_s, 1.0)
    in_sleep = _asleep_from_spans(sleep_spans, grid)
    for a, b in gaps:
        in_sleep &= ~((grid >= a) & (grid < b))
    sleep_h = in_sleep.sum() / 3600
    # In bed: the whole recording less its gaps (a reference scores from lights out to on),
    # or the sleep window the night was analyzed with.
    recorded = np.ones(len(grid), dtype=bool)
    for a, b in gaps:  # a loop over gaps
        recorded &= ~((grid >= a) & (grid < b))
    in_window = np.ones(len(onsets), dtype=bool)
    if window_s is not None:
        recorded &= (grid >= window_s[0]) & (grid < window_s[1])
        in_window = (onsets >= window_s[0]) & (onsets < window_s[1])
        asleep &= in_window
    in_bed_h = recorded.sum() / 3600
    plm = periodic & clm & asleep
    in_bed_plms = int((periodic & clm & in_window).sum())
    return {
        "units": scored.to_pandas(),
        "periodic": periodic & clm,
        "plm_index": float(plm.sum() / sleep_h) if sleep_h > 0 else None,
        "periodicity_index": periodicity_index(
            imi[clm], asleep[clm], rules.imi_min_s, rules.imi_max_s
        ),
        "total_sleep_h": float(sleep_h),
        "plm_index_in_bed": float(in_bed_plms / in_bed_h) if in_bed_h > 0 else None,
    }


def _marked_units(scored: Table, marked_onsets: np.ndarray) -> np.ndarray:
    """The limb-movement units that hold a marked event: each unit's parts are consecutive
    in onset order (detection.bilateral), so a part lies in the last unit starting at or
    before it."""
    lm_rows = np.flatnonzero(np.isin(scored["kind"], LM_KINDS))
    marked = np.zeros(len(scored), dtype=bool)
    if len(lm_rows) == 0 or len(marked_onsets) == 0:
        return marked
    index = np.searchsorted(scored["onset_s"][lm_rows], marked_onsets, side="right") - 1
    marked[lm_rows[index[index >= 0]]] = True
    return marked


def validate_night(
    result_dir: str,
    reference_path: str,
    tolerance_s: float = 1.0,
    jerk_tolerance_s: float = 0.3,
    offset_s: float = 0.0,
) -> dict:
    summary, detected, epochs = load_result(result_dir)
    reference, origin = aligned_reference(summary, result_dir, reference_path)
    units, repeated = _counted_once(reference_units(reference, origin, offset_s))
    # --offset moves all of the reference's times, its stages and gaps as its events: left
    # behind, its sleep was offset from its PLMs (a PLM index of 94 for 131 at 300 s).
    shift = offset_s - origin
    duration = summary["recording"]["duration_h"] * 3600
    if reference.gaps:  # the simulator knows where the link really dropped
        gaps = np.array([(a + shift, b + shift) for a, b in reference.gaps]).reshape(-1, 2)
    else:
        gaps = np.array(summary["recording"]["data_gaps_s"], dtype=float).reshape(-1, 2)
    gaps = union_gaps(gaps)  # two legs' gaps overlap; the search for a gap needs them disjoint
    one_leg = not _of_two_legs(units["side"].fillna("").to_numpy(object))
    units = as_recorded(units, gaps, _lm_bounds(summary)[0], onsets_too=one_leg)
    # Reference events the sensor could not see (cut by a data gap, outside the recording) are
    # left out: they say nothing about the detector.
    seen = np.array(
        [
            0 <= a and b <= duration and not gap_between(gaps, a, b)
            for a, b in zip(units["onset_s"], units["offset_s"])
        ],
        dtype=bool,
    )
    inside = ((units["offset_s"] > 0) & (units["onset_s"] < duration)).to_numpy(bool)
    warnings = _unmatchable(reference_path, result_dir, summary, units, inside, seen)
    if repeated:
        warnings.insert(
            0,
            f"{reference_path}: {how_many(repeated, 'event')} repeating another exactly (same "
            "onset, kind and side): each counted once",
        )
    units = units[seen].reset_index(drop=True)
    if reference.sleep is not None:
        sleep_spans = [(a + shift, b + shift) for a, b in reference.sleep]
        sleep_source = "reference"
    else:
        sleep_spans = detected_sleep_spans(summary, epochs)
        sleep_source = "detected (the reference has no sleep stages)"
    detection = summary["criteria"].get("parameters", {}).get("detection", {})
    respiratory = _respiratory_alike(summary, reference, origin, offset_s, warnings)
    scored = score_reference(
        units,
        gaps,
        sleep_spans,
        duration,
        rules_of(summary),
        detection.get("series_break_gap_s", DetectionParameters.series_break_gap_s),
        _window_of(summary),
        respiratory,
    )
    reference_plms = scored["units"][scored["periodic"]]
    reference_lms = scored["units"][scored["units"]["kind"] == KINDS["lm"]]
    row = {
        "night": os.path.basename(os.path.abspath(result_dir)),
        "result": result_dir,
        "reference": reference_path,
    }
    matches = {}
    for name, tolerance in (("lm", tolerance_s), ("plm", tolerance_s), ("jerk", jerk_tolerance_s)):
        if name == "plm":
            ref = reference_plms  # scored units, as the detected ones are
            det = detected[detected["periodic"].astype(str).str.lower().eq("true")]
        elif name == "lm":
            # scored units: a reference's left and right parts of one bilateral movement are
            # one unit, as the detector's are (two against one made F1 < 1 for a perfect match)
            ref = reference_lms
            det = detected[detected["kind"] == KINDS[name]]
        else:
            ref = units[units["kind"] == KINDS[name]]
            det = detected[detected["kind"] == KINDS[name]]
        ref_on, det_on = ref["onset_s"].to_numpy(float), det["onset_s"].to_numpy(float)
        pairs = match_onsets(ref_on, det_on, tolerance)
        figures = agreement(len(ref_on), len(det_on), len(pairs))
        errors = onset_errors(ref_on, det_on, pairs)
        matches[name] = {**figures, "onset_error": errors}
        for key in ("reference", "detected", "matched", "sensitivity", "precision", "f1"):
            row[f"{name}_{key}"] = figures[key]
        row[f"{name}_onset_error_mean_s"] = errors["mean_s"]
        row[f"{name}_onset_error_p95_abs_s"] = errors["p95_abs_s"]
        if name == "lm":
            same = [
                ref["side"].iloc[i] == det["side"].iloc[j] for i, j in pairs if ref["side"].iloc[i]
            ]
            row["side_agreement"] = float(np.mean(same)) if same else None
    row.update(
        {
            "plm_index_detected": summary["plm_index"],
            "plm_index_reference": scored["plm_index"],
            "periodicity_index_detected": summary["periodicity_index"],
            "periodicity_index_reference": scored["periodicity_index"],
            "plm_index_in_bed_detected": summary.get("plm_index_in_bed"),
            "plm_index_in_bed_reference": scored["plm_index_in_bed"],
            "total_sleep_h_detected": summary["sleep"]["total_sleep_h"],
            "total_sleep_h_reference": scored["total_sleep_h"],
            "reference_sleep": sleep_source,
            "rules": rules_label(summary),
        }
    )
    return {
        "row": row,
        "matches": matches,
        "units": units,
        "detected": detected,
        "threshold": summary["assessment"]["threshold_per_h"],
        "lm_bounds_s": _lm_bounds(summary),
        "warnings": warnings,
    }


def _respiratory_alike(
    summary: dict, reference: Reference, origin: float, offset_s: float, warnings: list[str]
) -> np.ndarray | None:
    """The reference's respiratory events (from the result's origin) where the analysis
    excluded LMs near a sleep study's: then the reference's own are scored alike. Where one
    side has them and the other not, the PLMs compared differ: said."""
    events = reference.events[reference.events["kind"] == "respiratory"]
    exclusion = summary["criteria"].get("respiratory_exclusion") or {}
    applied = bool(exclusion.get("applied")) if isinstance(exclusion, dict) else False
    if applied and len(events):
        from sleepmove.respiratory_events import respiratory_spans

        return respiratory_spans(events, origin - offset_s)
    if applied:
        warnings.append(
            f"{reference.path}: holds no respiratory event, while the analysis excluded the LMs "
            "near a sleep study's: the reference's PLMs near them still count"
        )
    elif len(events):
        warnings.append(
            f"{reference.path}: holds {how_many(len(events), 'respiratory event')}, which the "
            "analysis was not given (analyze --respiratory-events): its PLMs near them count, "
            "the reference's are scored alike"
        )
    return None


def detected_sleep_spans(summary: dict, epochs: pd.DataFrame) -> list[tuple[float, float]]:
    """The detected sleep as (start, end) seconds: from sleep onset to offset less the wake
    bouts, at the 30-s epochs it was scored in; built from epochs.csv's 60-s rows, a
    reference scored with the detected sleep got other sleep (and PLM index) than the night.
    Those rows only for a summary without the bouts."""
    sleep = summary.get("sleep", {})
    onset, offset, bouts = sleep.get("onset_s"), sleep.get("offset_s"), sleep.get("wake_bouts_s")
    if (
        isinstance(bouts, list)
        and _numbers(onset, offset)
        and all(isinstance(bout, list) and len(bout) == 2 and _numbers(*bout) for bout in bouts)
    ):
        spans, start = [], float(onset)
        for begin, end in sorted(bouts):  # a loop over wake bouts
            if begin > start:
                spans.append((start, float(begin)))
            start = max(start, float(end))
        if offset > start:
            spans.append((start, float(offset)))
        return spans
    if onset is None and offset is None and bouts == []:
        return []  # no sleep at all
    asleep = epochs["asleep"].astype(str).str.lower().eq("true").to_numpy()
    return [(s, s + 60.0) for s in epochs["start_s"].to_numpy()[asleep]]


def _numbers(*values: object) -> bool:
    return all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values
    )


def _window_of(summary: dict) -> tuple[float, float] | None:
    window = summary.get("sleep", {}).get("window_s")
    if isinstance(window, list) and len(window) == 2 and _numbers(*window):
        return float(window[0]), float(window[1])
    return None


def _counted_once(units: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The reference's events with exact repeats (same onset, kind and side) left out, and
    how many there were. A movement cannot start twice on one leg at one instant: a repeat
    is a copy (an export run twice, files joined), and counted it left a reference event no
    detection could match, each halving sensitivity and F1 without a word. A repeat marked
    periodic keeps its mark on the event that stays."""
    keys = [
        units["onset_abs_s"],
        units["kind"].astype(str),
        units["side"].fillna("").astype(str),
    ]
    repeat = pd.concat(keys, axis=1).duplicated().to_numpy()
    if not repeat.any():
        return units, 0
    units = units.copy()
    units["periodic"] = units["periodic"].astype(bool).groupby(keys).transform("any")
    return units[~repeat].reset_index(drop=True), int(repeat.sum())


def _unmatchable(
    reference_path: str,
    result_dir: str,
    summary: dict,
    units: pd.DataFrame,
    inside: np.ndarray,
    seen: np.ndarray,
) -> list[str]:
    """Refuse a reference none of whose events falls in the recording (another night's, or
    a clock or --offset that is off): its F1 of 0 would say nothing about the detector. A
    reference with no events, or with some outside the recording, is warned of."""
    shown = f"{reference_path} (for {result_dir})"
    if not len(units):
        return [f"{shown}: holds no limb movement or jerk: nothing to match"]
    start = summary["recording"].get("start") or "its start"
    hours = summary["recording"]["duration_h"]
    if not inside.any():
        first, last = units["onset_s"].min(), units["onset_s"].max()
        raise InputError(
            reference_path,
            f"none of its {how_many(len(units), 'event')} falls within the recording {result_dir} "
            f"({start}, {hours:g} h): they lie {first / 3600:+.3g} h to {last / 3600:+.3g} h "
            "from its start",
            expected="the reference of this night (references in the order of the result "
            "folders), or --offset SECONDS for a clock offset",
        )
    outside = int((~inside).sum())
    unseen = int((inside & ~seen).sum())  # across its start or end, or cut by a data gap
    parts = []
    if outside:
        parts.append(f"{outside} fall outside the recording ({start}, {hours:g} h)")
    if unseen:
        parts.append(f"{unseen} straddle its start or end or a data gap cuts them")
    if parts:
        return [f"{shown}: of its {len(units)} events, {' and '.join(parts)}: left out"]
    return []


def refuse_repeated_folders(results: list[str]) -> None:
    """A result folder given twice (by any path to it) is refused: its night would count
    twice in the figures across nights (ICC, Bland-Altman, the pooled F1s). Refused rather
    than counted once: it is a slip (a night meant was left out, or a reference paired with
    the wrong folder), and counting once would drop a row the command line asked for."""
    seen: dict[str, str] = {}
    for given in results:  # a loop over folders
        real = os.path.realpath(given)
        if real in seen:
            same = given if seen[real] == given else f"{seen[real]} and {given}"
            raise InputError(
                given,
                f"the same result folder given twice ({same}): its night would count twice "
                "across nights",
                expected="each analyzed night once",
            )
        seen[real] = given


def pooled(nights: list[dict]) -> dict:
    """Agreement over the nights, naming the rules they were scored by (`rules`: the one
    label, or None; `nights_by_rules`: label -> result folders). LMs and jerks: counts
    summed over all nights. PLMs and the PLM index (ICC, Pearson r, Bland-Altman,
    classification): over all nights where one rule set scored them all; where the nights
    were scored by different rules, only per rule set (`by_rules`), `plm` and `plm_index`
    None (and `lm`, where the rules' LM duration bounds differ), and a warning in
    `warnings` (the command prints it after the nights' own).
    Raises InputError for a night given twice."""
    refuse_repeated_folders([night["row"]["result"] for night in nights])
    groups: dict[str, list[dict]] = {}
    for night in nights:  # a loop over nights
        groups.setdefault(night["row"]["rules"], []).append(night)
    labels = list(groups)
    result: dict = {
        "rules": labels[0] if len(labels) == 1 else None,
        "nights_by_rules": {
            label: [n["row"]["result"] for n in mine] for label, mine in groups.items()
        },
        "warnings": [],
    }
    result |= _pooled_alike(nights)
    if len(labels) == 1:
        return result
    # A PLM and the PLM index are what the rules define (aasm2012 takes intervals from 5 s,
    # wasm2016 from 10 s, and merges the legs' movements otherwise): agreement pooled
    # across rule sets would be no rule set's agreement, so it is given per rule set only.
    # LMs and jerks are the detector's events, defined alike by the rule sets (0.5-10 s),
    # unless a settings file changed an LM's duration bounds: then LMs are per rule set too.
    result["plm"] = result["plm_index"] = None
    lms_alike = len({night.get("lm_bounds_s") for night in nights}) == 1
    if not lms_alike:
        result["lm"] = None
    result["by_rules"] = {
        label: {"nights": result["nights_by_rules"][label], **_pooled_alike(mine)}
        for label, mine in groups.items()
    }
    named = "; ".join(
        f"{label}: {', '.join(folders)}" for label, folders in result["nights_by_rules"].items()
    )
    pooled_kinds = (
        "LMs and jerks are pooled over all nights"
        if lms_alike
        else "so are LMs, whose duration bounds differ (lm_min_s, lm_max_s); jerks are "
        "pooled over all nights"
    )
    warning = (
        f"the nights were scored by different rules ({named}): PLM agreement and the PLM "
        f"index across nights are given per rule set, not pooled; {pooled_kinds}"
    )
    result["warnings"].append(warning)
    return result


def _pooled_alike(nights: list[dict]) -> dict:
    """Agreement pooled over nights: counts summed, and the PLM index across them."""
    rows = pd.DataFrame([n["row"] for n in nights])
    result = {}
    for name in ("lm", "plm", "jerk"):
        totals = [int(rows[f"{name}_{k}"].sum()) for k in ("reference", "detected", "matched")]
        result[name] = agreement(*totals)
    both = rows.dropna(subset=["plm_index_detected", "plm_index_reference"])
    detected = both["plm_index_detected"].to_numpy(float)
    reference = both["plm_index_reference"].to_numpy(float)
    # Each night by its own threshold: the first night's judged all (an adult at 5/h beside
    # a child; the answer hung on the order of the folders).
    threshold = (
        np.array([nights[i]["threshold"] for i in both.index], dtype=float)
        if len(both)
        else nights[0]["threshold"]  # no night to judge: the threshold it would have had
    )
    spread = _varies(detected) or _varies(reference)
    icc = icc_agreement(detected, reference) if spread else None
    result["plm_index"] = {
        "nights": int(len(both)),
        # Without spread between nights (every night's index the same, in each column) the
        # ICC is 0/0 in truth and the formula's 0 meant nothing; Pearson r was nan.
        "icc_2_1": icc,
        "icc_undefined": None
        if icc is not None
        else "fewer than 2 nights"
        if len(both) < 2
        else "the nights' indices do not vary"
        if not spread
        else "its denominator is 0 for these nights",
        "pearson_r": _pearson(detected, reference) if len(both) > 2 else None,
        "bland_altman": bland_altman(detected, reference),
        "classification": classification(detected, reference, threshold),
    }
    return result


def _varies(values: np.ndarray) -> bool:
    return len(values) > 1 and not np.allclose(values, values[0], rtol=1e-9, atol=1e-9)


def _pearson(first: np.ndarray, second: np.ndarray) -> float | None:
    """Pearson r, or None where a column does not vary (it is undefined there, not nan)."""
    if not (_varies(first) and _varies(second)):
        return None
    return float(np.corrcoef(first, second)[0, 1])
