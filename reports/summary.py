"""summary.json: indices, counts, sleep, recording, IMI, the rules used and a plain assessment."""

from __future__ import annotations

import math

import numpy as np

from sleepmove.base.words import how_many
from sleepmove.detection.night import MIN_LM_INDEX_FOR_PI, NightScore
from sleepmove.detection.parameter_changes import ParameterError, rules_written
from sleepmove.detection.params import (
    AnalysisParameters,
    default_parameters,
    published_threshold,
    rules_label,
)
from sleepmove.reports.clock import iso_time
from sleepmove.reports.readable import against as against_threshold
from sleepmove.reports.readable import duration

NO_BREATHING_CAVEAT = (
    "There is no breathing channel, so movements related to apneas or hypopneas cannot be "
    "excluded as the scoring rules require."
)
CAVEATS = [
    "A motion sensor measures movement, not leg muscle activity (EMG): some EMG-scored leg "
    "movements move the {limb} too little to be seen, and some movements seen here would not "
    "be scored on EMG.",
    "A single night varies a lot: the PLM index of one person can differ severalfold from night "
    "to night; several nights (3-5) are needed before reading much into it. The periodicity "
    "index and the mean log-IMI vary less.",
    NO_BREATHING_CAVEAT,
    "Sleep is estimated from movement alone: quiet wake looks like sleep. A diagnosis of periodic "
    "limb movement disorder needs a clinical sleep study (polysomnography with leg EMG) and a "
    "clinician.",
    "The thresholds are the sleep disorder classification's (ICSD-3): a PLM index above them "
    "is common without any complaint. Periodic limb movement disorder also needs disturbed "
    "sleep or daytime impairment that the movements explain, and nothing that explains them "
    "better: restless legs, sleep apnoea, narcolepsy, or a medication such as many "
    "antidepressants.",
]

# Said first when the sensor was on a wrist (--placement wrist): what a wrist shows.
WRIST_CAVEAT = (
    "This sensor was worn on a wrist, so the movements counted here are the arm's: its "
    "repositioning, hand and forearm movements, and periodic arm movements, which in periodic "
    "limb movement disorder and restless legs accompany some leg movements but fewer of them. "
    "A leg movement the arm does not share reaches the wrist only as a faint jolt through the "
    "body, and is not counted. The limb movement and PLM indices are therefore the arm's, not "
    "the legs': usually far lower than a leg's, and a low value does not rule out periodic "
    "leg movements; the 15/h (5/h) thresholds were set for legs. To count leg movements, wear "
    "the sensor on an ankle. Sleep and wake from a wrist are the usual actigraphy estimate."
)


def caveats_for(params: AnalysisParameters, respiratory_events: int | None = None) -> list[str]:
    """The caveats of a night: the wrist's first when the sensor was on a wrist; where a
    sleep study's respiratory events were given, what their exclusion rests on."""
    wrist = params.placement == "wrist"
    limb = "wrist" if wrist else "ankle"
    caveats = [text.format(limb=limb) for text in CAVEATS]
    if respiratory_events is not None:
        before, after = params.rules.respiratory_window_s
        start = "end" if params.rules.respiratory_around == "end" else "start"
        caveats[caveats.index(NO_BREATHING_CAVEAT)] = (
            f"Limb movements from {_seconds_from(before)} the {start} to "
            f"{_seconds_from(after)} the end of one of the "
            f"{how_many(respiratory_events, 'respiratory event')} given (the sleep study's "
            "apneas, hypopneas and RERAs) are not counted as candidate limb movements, as the "
            "scoring rules require; the exclusion is only as good as that scoring and its "
            "clock's agreement with the sensor's."
        )
    return ([WRIST_CAVEAT] if wrist else []) + caveats


def _seconds_from(offset_s: float) -> str:
    """-2.0 as '2 s before', 10.25 as '10.25 s after'."""
    return f"{abs(offset_s):g} s {'before' if offset_s < 0 else 'after'}"


def build_summary(
    score: NightScore,
    params: AnalysisParameters,
    recording: dict,
    quality: dict,
    software: dict,
) -> dict:
    rules = params.rules
    origin, clock = recording["origin_s"], recording["clock"]
    sleep = score.sleep
    summary = {
        **{key: _round(value) for key, value in score.indices.items()},
        "counts": score.counts,
        "sleep": {
            "onset_s": sleep.onset_s,
            "offset_s": sleep.offset_s,
            "onset": iso_time(sleep.onset_s, origin, clock) if sleep.onset_s is not None else None,
            "offset": iso_time(sleep.offset_s, origin, clock)
            if sleep.offset_s is not None
            else None,
            "total_sleep_h": round(score.total_sleep_s / 3600, 4),
            "total_sleep_h_range": _sleep_range_h(score),
            "confidence": round(sleep.confidence, 3),
            "wake_h": round(score.wake_s / 3600, 4),
            "in_bed_h": round(score.in_bed_s / 3600, 4),
            "source": sleep.source,
            # lights out and on of a sleep window given (null when estimated): validate's
            # reference is in bed in it
            "window_s": list(sleep.window_s) if sleep.window_s is not None else None,
            "wake_bouts_s": [[round(a, 1), round(b, 1)] for a, b in sleep.wake_bouts_s],
            "method": _sleep_method(params),
        },
        "recording": {key: value for key, value in recording.items() if key not in ("origin_s",)},
        "imi": score.imi,
        "efm_proxy": {
            "label": "motion-based proxy of excessive fragmentary myoclonus (not the EMG finding)",
            "spans": [
                {"start_s": a * 60.0, "end_s": b * 60.0, "jerks_per_min": round(rate, 2)}
                for a, b, rate in score.efm_spans_min
            ],
        },
        "criteria": {
            "name": rules.name,
            # the rule set and any numbers changed from its published ones: what figures show
            "label": rules_label(rules),
            "reference": rules.reference,
            "parameters": params.as_dict(),
            # the rules' exclusion of LMs near apneas, hypopneas and RERAs: only where a
            # sleep study's were given (--respiratory-events)
            "respiratory_exclusion": {
                "applied": score.respiratory_events is not None,
                "events": score.respiratory_events,
                "lms_not_clm": score.counts["lm_respiratory"],
            },
        },
        "assessment": assessment(score, params),
        "quality": quality,
        "software": software,
    }
    return summary


def rules_shown(summary: dict, beside_own_defaults: bool = False) -> str:
    """The rules a summary's figures were scored by, as figures name them (the rule set and
    the numbers changed from its published ones: params.rules_label), from its criteria; the
    rule set's name alone where they cannot say more (an older or hand-edited summary).
    `beside_own_defaults`: only numbers changed from what the night's age group and
    placement imply (an infant's merge gap is its age group's, said apart)."""
    criteria = summary["criteria"]
    try:
        rules = rules_written(criteria)
        baseline = None
        if beside_own_defaults:
            parameters = criteria.get("parameters", {})
            baseline = default_parameters(
                rules.name,
                parameters.get("age_group", "adult"),
                parameters.get("placement", "ankle"),
            ).rules
        return rules_label(rules, baseline)
    except (ParameterError, KeyError, TypeError, AttributeError, ValueError):
        return str(criteria["name"])


def _unreliable_periodicity(score: NightScore, params: AnalysisParameters) -> str:
    """Why the periodicity index means little, when it does: the true reason (too little
    sleep to count movements per hour of it was once reported as too few movements)."""
    if score.indices["periodicity_index_reliable"]:
        return ""
    lm_index = score.indices["lm_index"]
    if lm_index is None:
        return (
            f"; not meaningful here: under {params.sleep.min_index_h * 60:.0f} minutes of "
            "sleep, too little to count limb movements per hour of sleep"
        )
    return (
        f"; not meaningful here: {lm_index:.1f} limb movements per hour of sleep, fewer than "
        f"the {MIN_LM_INDEX_FOR_PI:g} it needs"
    )


def assessment(score: NightScore, params: AnalysisParameters) -> dict:
    threshold = params.plm_threshold
    rules = rules_label(params.rules)
    published = published_threshold(params.rules.name, params.age_group)
    # As summary.json holds it: the cards and the terminal show the stored values, and a
    # statement from the unrounded one said 5.7 beside a card's 5.8 (5.7499, stored 5.75).
    plm_index = _round(score.indices["plm_index"])
    statements = []
    if plm_index is None:
        found_min = score.total_sleep_s / 60
        statements.append(
            "No sleep was found, so no PLM index could be computed."
            if found_min < 1
            else f"Only {found_min:.0f} minutes of sleep were found: too little for a PLM "
            f"index (it needs {params.sleep.min_index_h * 60:.0f}); the in-bed index does not "
            "depend on it."
        )
    else:
        above = "above" if plm_index > threshold else "not above"
        # A threshold a settings file changed is the user's, never the classification's.
        against = (
            f"the {threshold:g}/h {_threshold_of(params.age_group)} that the sleep disorder "
            "classification calls significant"
            if threshold == published
            else f"the {threshold:g}/h threshold the settings set (the sleep disorder "
            f"classification's {_threshold_of(params.age_group)} is {published:g}/h)"
        )
        shown = against_threshold(plm_index, threshold)
        statements.append(f"PLM index {shown}/h ({rules}) is {above} {against}.")
        if params.placement == "wrist":
            statements[-1] = (
                f"PLM index of the arm {shown}/h ({rules}; sensor on a wrist): "
                f"{above} the {threshold:g}/h "
                + (
                    _threshold_of(params.age_group)
                    if threshold == published
                    else f"threshold the settings set (the classification's is {published:g}/h)"
                )
                + ", a threshold set for leg movements; an arm shows fewer periodic movements "
                "than the legs."
            )
    statements += _in_bed_statements(score, params)
    statements += _gap_statements(score, params)
    pi = _round(score.indices["periodicity_index"])
    if pi is not None:
        statements.append(
            f"Periodicity index {pi:.2f} (Ferri 2006; 0 = none periodic, 1 = all)"
            + _unreliable_periodicity(score, params)
            + "."
        )
    statements += _wake_jerk_statements(score, params)
    cramps = score.counts["cramp"]
    if cramps:
        statements.append(
            f"{how_many(cramps, 'possible leg cramp')}: a strong flexion of the foot held for "
            f"{params.detection.cramp_min_s:g} s or more. These are candidates; a motion "
            "sensor cannot tell a cramp from a foot held flexed on purpose."
        )
    if score.efm_spans_min:
        statements.append(
            f"{how_many(len(score.efm_spans_min), 'span')} of ≥ 20 min of sleep with ≥ 5 brief "
            "jerks per minute: a motion-based proxy of excessive fragmentary myoclonus, not the "
            "EMG finding."
        )
    return {
        "threshold_per_h": threshold,
        "age_group": params.age_group,
        "plm_index_above_threshold": None if plm_index is None else bool(plm_index > threshold),
        "statements": statements,
        "caveats": caveats_for(params, score.respiratory_events),
    }


def _threshold_of(age_group: str) -> str:
    """Whose threshold the PLM index is held against, in words."""
    if age_group == "infant":  # none is published for infants: the paediatric one stands in
        return "threshold for children (none is published for infants)"
    return {"adult": "threshold for adults", "child": "threshold for children"}[age_group]


def _wake_jerk_statements(score: NightScore, params: AnalysisParameters) -> list[str]:
    """Jerks while awake, said plainly and without alarm, where there are many."""
    rate = score.indices["jerk_rate_wake_per_min"]
    count = score.counts["jerk_in_wake"]
    sleep = params.sleep
    if rate is None or rate < sleep.wake_jerks_note_per_min or count < sleep.wake_jerks_note_count:
        return []
    return [
        f"{count} brief jerks happened while awake ({rate:.1f} per minute of wake). Jerks in "
        "sleep are common and usually harmless; jerks like these in wakefulness are worth "
        "showing a doctor, to rule out other causes such as seizures."
    ]


GAPS_IN_RUNS_NOTE = 3  # data gaps inside runs of CLMs worth a word


def _gap_statements(score: NightScore, params: AnalysisParameters) -> list[str]:
    """Losses with limb movements within the longest IMI on either side: each ended any
    series there, as the rules say, and the PLM index reads low by what they cut."""
    count = score.gaps_in_runs
    if count < GAPS_IN_RUNS_NOTE:
        return []
    return [
        f"{count} data gaps fell between limb movements less than "
        f"{params.rules.imi_max_s:g} s apart on either side: by the rules each ended any PLM "
        "series there (a movement may hide in a gap), so the PLM indices leave out series a "
        "loss may have cut. A steadier link (sensor closer to the receiver) avoids it; "
        "series_break_gap_s in a settings file lets short losses pass."
    ]


EARLY_PLM_WINDOW_MIN = 15.0  # PLMS this soon after lights out may be restless legs awake


def _in_bed_statements(score: NightScore, params: AnalysisParameters) -> list[str]:
    """The in-bed index beside the PLMS index, and when the sleep estimate decides."""
    indices = score.indices
    in_bed = _round(indices["plm_index_in_bed"])
    if in_bed is None:
        return []
    statements = [
        f"PLM index in bed {in_bed:.1f}/h: every PLM, asleep or awake, per hour in bed "
        f"({duration(score.in_bed_s)}), as "
        + ("" if params.placement == "wrist" else "ankle ")
        + "actigraphs count; unlike the PLM index it "
        "does not depend on which minutes were sleep, an estimate from movement "
        f"(the model was sure about {score.sleep.confidence:.0%} of the night)."
    ]
    if indices["sleep_estimate_drives_plm_index"]:
        statements.append(
            "The PLM index and the in-bed index differ by more than a quarter: which movements "
            "fell in sleep decides the PLM index here, so read it with care; a sleep window "
            "(--sleep-window) or a sleep study settles it."
        )
    units = score.units
    # Counted as PLMS, and early after lights out (the start of the recording or of the
    # window given): where restless legs awake would be.
    plms = units["periodic"].astype(bool) & units["clm"].astype(bool) & units["asleep"]
    onsets = units["onset_s"][plms]
    lights_out = score.sleep.window_s[0] if score.sleep.window_s is not None else 0.0
    trains = score.sleep.awake_trains_s
    if trains:
        statements.append(_awake_train_statement(score, onsets, params.plm_threshold))
    elif len(onsets) and onsets.min() <= lights_out + EARLY_PLM_WINDOW_MIN * 60:
        statements.append(
            "Periodic movements counted as in sleep began within "
            f"{EARLY_PLM_WINDOW_MIN:g} minutes of lights out. People with restless legs make "
            "such movements while still awake before sleep; a train that begins within "
            f"{params.sleep.awake_series_min:g} minutes is taken as awake, a later one cannot be "
            "told from PLMs in sleep by a motion sensor: if you lay awake with restless legs, "
            "the PLM index counts them as sleep; the in-bed index does not depend on it."
        )
    return statements


def _awake_train_statement(score: NightScore, plms_onsets_s: np.ndarray, threshold: float) -> str:
    """Both readings of the PLM trains taken as restless legs awake (begun within minutes
    of lights out): a motion sensor cannot tell them from PLMS after a quick sleep onset."""
    trains = score.sleep.awake_trains_s
    lights_on = score.sleep.window_s[1] if score.sleep.window_s is not None else math.inf
    spans = [(begin, min(end, lights_on)) for begin, end in trains]
    length = duration(sum(max(end - begin, 0.0) for begin, end in spans))
    text = (
        f"A periodic train from lights out, {length} long, was"
        if len(spans) == 1
        else f"{len(spans)} periodic trains from lights out, {length} in all, were"
    ) + " taken as restless legs while awake."
    other = _round(score.indices["plm_index_awake_trains_asleep"])
    index = _round(score.indices["plm_index"])
    if other is not None and other != index:
        them = "it" if len(spans) == 1 else "them"
        text += f" Had you been asleep through {them}, the PLM index would be {other:.1f}/h"
        if index is not None and (other > threshold) != (index > threshold):
            # The reading decides the night's side of the threshold: say so.
            side = "above" if other > threshold else "not above"
            text += f", {side} the {threshold:g}/h threshold"
        text += "."
    end = spans[-1][1]
    after = plms_onsets_s[plms_onsets_s >= end]
    if len(after) and after.min() <= end + EARLY_PLM_WINDOW_MIN * 60:
        text += (
            " Periodic movements counted as in sleep began "
            f"{how_many(round((after.min() - end) / 60), 'minute')} after the last: if you lay "
            "awake longer, the PLM index counts them as sleep."
        )
    return text + " The in-bed index does not depend on either."


def _sleep_method(params: AnalysisParameters) -> str:
    sleep = params.sleep
    return (
        f"two-state hidden Markov model over {sleep.epoch_s:g} s epochs: evidence of wake from "
        "large movements and posture changes, irregular, unlike and quick movements, the "
        f"position in the night, summed over {sleep.window_epochs} epochs, and PLM series "
        f"begun within {sleep.awake_series_min:g} min of lights out (and those continuing "
        f"them within {sleep.awake_train_break_s:g} s); expected bouts "
        f"{sleep.mean_sleep_bout_min:g} min of sleep, {sleep.mean_wake_bout_min:g} min of "
        "wake; asleep where the probability of sleep is at least 0.5"
    )


def _sleep_range_h(score: NightScore) -> list[float]:
    """Total sleep if only the epochs the model is sure of (p_sleep > 0.8) were sleep, and if
    every epoch it is unsure of (p_sleep > 0.2) were: how far the estimate could move."""
    sleep = score.sleep
    kept = np.clip(sleep.epoch_s - score.sleep_epoch_loss_s, 0, None)
    low = float(kept[sleep.p_sleep > 0.8].sum()) / 3600
    high = float(kept[sleep.p_sleep > 0.2].sum()) / 3600
    return [round(low, 3), round(high, 3)]


def _round(value):
    return round(value, 4) if isinstance(value, float) else value
