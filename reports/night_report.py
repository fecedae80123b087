"""One night's report: figures as PNG files for papers, and one self-contained report.html."""

from __future__ import annotations

import base64
import platform

import numpy as np

from sleepmove.base.words import how_many
from sleepmove.detection.filters import true_runs
from sleepmove.detection.night import NightScore
from sleepmove.detection.params import published_threshold
from sleepmove.detection.table import Table
from sleepmove.reports import figures
from sleepmove.reports.html import card, escape, page, picture, table
from sleepmove.reports.readable import (
    LocalClock,
    against,
    duration,
    glossary_html,
    number,
    rate,
    term,
)
from sleepmove.reports.summary import rules_shown

LEG_NAME = {"left": "left", "right": "right", "bilateral": "both"}


def night_report_files(
    score: NightScore,
    summary: dict,
    lanes: list[str],
    gaps_s: np.ndarray,
    origin_s: float,
    clock: str,
    settings: tuple[str, str] | None = None,
) -> dict[str, bytes | str]:
    """{relative path: content} for figures/*.png and report.html.

    The files are the wide figures; the page also carries phone-shaped ones. `settings`
    (file name, text): the settings file that reproduces the night, offered for download."""
    units, minutes = score.units, score.minutes
    local = LocalClock(origin_s, clock, summary["recording"]["duration_h"] * 3600)
    sleep_spans = _spans(score.sleep.asleep, score.sleep.epoch_s)
    threshold = summary["assessment"]["threshold_per_h"]
    rules = rules_shown(summary)  # each figure names the rules that scored it
    shown = {
        "figures/timeline.png": figures.render(
            lambda shape: figures.timeline(
                units, minutes, sleep_spans, gaps_s, lanes, local, shape, rules=rules
            )
        ),
        "figures/imi.png": figures.render(
            lambda shape: figures.imi_histograms(score.imi, shape, rules=rules)
        ),
        "figures/over_the_night.png": figures.render(
            lambda shape: figures.over_the_night(
                units, minutes, score.efm_spans_min, threshold, local, shape, rules=rules
            )
        ),
    }
    if len(lanes) == 2:
        shown["figures/sides.png"] = figures.render(
            lambda shape: figures.side_raster(
                units, summary["alternation_index"], shape, rules=rules
            )
        )
    html = _html(summary, score, shown, local, lanes, settings)
    return {**{path: variants["wide"][0] for path, variants in shown.items()}, "report.html": html}


def _spans(mask: np.ndarray, step_s: float) -> list[tuple[float, float]]:
    """(start, end) in seconds of the runs of True in a mask of `step_s` steps."""
    starts, ends = true_runs(np.asarray(mask, dtype=bool))
    return [(float(a) * step_s, float(b) * step_s) for a, b in zip(starts, ends)]


def _fmt(value, spec: str, missing: str = "n/a") -> str:
    return number(value, spec, missing)


def _headline(summary: dict) -> str:
    rules = rules_shown(summary)
    assessment = summary["assessment"]
    threshold = assessment["threshold_per_h"]
    sleep = summary["sleep"]
    recording = summary["recording"]
    efm = len(summary["efm_proxy"]["spans"])
    low, high = sleep["total_sleep_h_range"]
    drives = bool(summary["sleep_estimate_drives_plm_index"])
    wrist = _on_wrist(summary)
    cards = [
        card(
            term("plm-index", "PLM index") + (" of the arm (wrist)" if wrist else " (sleep)"),
            _per(summary["plm_index"], "/h", threshold),
            f"threshold {threshold:g}/h ({AGE_GROUPS[assessment['age_group']]}"
            + (", set for legs" if wrist else "")
            + f"), rules {rules}",
            bool(assessment["plm_index_above_threshold"]),
            raw_title=True,
        ),
        card(
            term("in-bed-index", "PLM index (in bed)"),
            _per(summary["plm_index_in_bed"], "/h"),
            f"every PLM per hour in bed ({duration(sleep['in_bed_h'] * 3600)}), asleep or "
            "not: needs no sleep estimate" + _beside_the_sleep_index(summary["plm_index"], drives),
            "read the PLM index with care"
            if drives and summary["plm_index"] is not None
            else False,
            raw_title=True,
        ),
        card(
            term("periodicity-index"),
            _fmt(summary["periodicity_index"], ".2f"),
            "0 = none periodic, 1 = all"
            + ("" if summary["periodicity_index_reliable"] else "; not meaningful under 10 LMs/h"),
            raw_title=True,
        ),
        card(
            term("plmw-index", "PLMW index") + " (awake)",
            _per(summary["plmw_index"], "/h"),
            "PLMs while awake, per hour awake",
            raw_title=True,
        ),
        card(
            term("jerk", "Brief jerks") + " in sleep",
            _jerk_rate(summary),
            f"{how_many(efm, 'stretch', 'stretches')} of ≥ 20 min at ≥ 5/min (EFM proxy)"
            if efm
            else "no stretch of ≥ 20 min at ≥ 5/min (EFM proxy)",
            "EFM proxy found" if efm else False,
            raw_title=True,
        ),
        card(
            term("sleep", "Total sleep"),
            duration(sleep["total_sleep_h"] * 3600),
            (
                "estimated from movement"
                if sleep["source"] == "estimated"
                else "within the given window"
            )
            + f"; the model was sure about {sleep['confidence']:.0%} of the night; between "
            f"{duration(low * 3600)} and {duration(high * 3600)}",
            "uncertain" if sleep["confidence"] < 0.8 else False,
            raw_title=True,
        ),
        _data_lost_card(recording),
    ]
    return '<div class="cards">' + "".join(cards) + "</div>"


AGE_GROUPS = {"adult": "adults", "child": "children", "infant": "infants"}


def _per(value: float | None, unit: str, threshold: float | None = None) -> str:
    """An index with its unit; n/a alone where there is none ("n/a /h" read as a value);
    held against a threshold, to the decimals that keep it on its side (readable.against)."""
    if value is None or value != value:
        return "n/a"
    return f"{value:.1f} {unit}" if threshold is None else f"{against(value, threshold)} {unit}"


def _share(part_h: float, whole_h: float) -> str:
    """A share of the night in whole percent; "under 1%" for a loss that is not nothing (a
    minute of seven hours read "0%" beside "1 min")."""
    share = part_h / whole_h if whole_h else 0.0
    return "under 1%" if 0 < share < 0.005 else f"{share:.0%}"


def _data_lost_card(recording: dict) -> str:
    """The night's gaps (on either sensor), and with two sensors each leg's own loss where
    it was more: a leg that stopped hours before the other lost those hours (its movements
    are missing from the indices there), which no gap between samples shows."""
    total_h = recording["duration_h"]
    lost_h = recording["data_loss_h"]
    by_side = recording.get("data_loss_h_by_side", {})
    note = f"{_share(lost_h, total_h)} of {duration(total_h * 3600)}"
    if len(by_side) == 2 and max(by_side.values()) > lost_h:
        note += "; " + ", ".join(
            f"{side} leg {duration(hours * 3600)}" for side, hours in by_side.items()
        )
    worst_h = max([lost_h, *by_side.values()])
    flag: str | bool = False
    if total_h and worst_h / total_h > 0.05:
        flag = "over 5% of the night" + ("" if lost_h / total_h > 0.05 else " on one leg")
    return card(term("gap", "Data lost"), duration(lost_h * 3600), note, flag, raw_title=True)


def _bars(spans: list[tuple[float, float]], total_s: float, kind: str) -> str:
    """Segments of a glance row, placed in percent of the night: they scale with the page."""
    return "".join(
        f'<i class="{kind}" style="left:{100 * a / total_s:.2f}%;'
        f'width:{100 * (b - a) / total_s:.2f}%"></i>'
        for a, b in spans  # a loop over spans
    )


def _glance(score: NightScore, summary: dict, local: LocalClock) -> str:
    """The night on one time axis in HTML: in bed, asleep (sure or not), PLM series, jerks and
    gaps. Plain positioned boxes with text beside them, legible at any width."""
    minutes = score.minutes
    total_s = float(len(minutes) * 60) or 1.0
    sleep = summary["sleep"]
    in_bed = _bars(_spans(minutes["in_bed"], 60.0), total_s, "bed")
    asleep = minutes["asleep"].astype(bool)
    sure = asleep & (minutes["p_sleep"] > 0.8)
    sleep_bars = _bars(_spans(asleep & ~sure, 60.0), total_s, "unsure") + _bars(
        _spans(sure, 60.0), total_s, "sure"
    )
    units = score.units
    members = list(units[units["series"] >= 0].groups("series"))  # read twice below
    series = [
        (float(m["onset_s"].min()), float(m["offset_s"].max()))
        for _, m in members  # a loop over series
    ]
    asleep_series = sum(bool(m["asleep"].any()) for _, m in members)  # a loop over series
    jerks = _bars(_spans(minutes["jerks"] > 0, 60.0), total_s, "jerks")
    gaps = [(float(a), float(b)) for a, b in summary["recording"]["data_gaps_s"]]
    n_jerks = int(summary["counts"]["jerk"])
    onset = sleep["onset_s"]
    slept = (
        f" · asleep about {local.time(onset)} to {local.time(sleep['offset_s'])}"
        if onset is not None and sleep["offset_s"] is not None
        else ""
    )
    rows = [
        (term("in-bed", "In bed"), duration(sleep["in_bed_h"] * 3600), in_bed),
        (
            term("sleep", "Asleep"),
            duration(sleep["total_sleep_h"] * 3600),
            sleep_bars,
        ),
        (
            term("series", "PLM series"),
            f"{len(series)} ({asleep_series} in sleep)" if series else "0",
            _bars(series, total_s, "series"),
        ),
        (
            term("jerk", "Brief jerks"),
            f"{n_jerks} ({summary['counts'].get('jerk_in_sleep', 0)} in sleep)" if n_jerks else "0",
            jerks,
        ),
        (
            term("gap", "No data"),
            duration(summary["recording"]["data_loss_h"] * 3600),
            _bars(gaps, total_s, "gap"),
        ),
    ]
    body = "".join(
        f'<div class="row"><div class="lab">{label} <b>{escape(value)}</b></div>'
        f'<div class="track">{bars}</div></div>'
        for label, value, bars in rows  # a loop over rows
    )
    positions, labels = figures.clock_ticks(local, total_s, phone=True)
    axis = "".join(
        f'<span style="left:{100 * p * 3600 / total_s:.2f}%">{escape(text)}</span>'
        for p, text in zip(positions, labels)  # a loop over ticks
        if p * 3600 / total_s < 0.97
    )
    key = (
        '<div class="key t"><i class="sure"></i>asleep, sure<i class="unsure"></i>asleep, unsure'
        '<i class="gap"></i>no data</div>'
    )
    return (
        f'<div class="glance"><p>{escape(local.time(0))} to {escape(local.time(total_s))}'
        f"{escape(slept)}</p>{body}"
        f'<div class="row"><div></div><div class="axis">{axis}</div></div>{key}</div>'
    )


def _series_table(units: Table, local: LocalClock, two_legs: bool) -> str:
    rows = []
    for series_id, members in units[units["series"] >= 0].groups("series"):
        imi = members["imi_s"][1:]
        row = [
            int(series_id) + 1,
            local.time(float(members["onset_s"][0])),
            len(members),
            duration(float(members["offset_s"].max() - members["onset_s"].min())),
            f"{np.median(imi):.0f} s" if len(imi) else "",
        ]
        if two_legs:
            row.append(_legs(members["side"]))
        rows.append(row)
    if not rows:
        return "<p>No PLM series.</p>"
    headers = ["#", "start", "PLMs", "lasted", f"typical {term('imi', 'IMI')}"]
    if two_legs:
        headers.append("legs")
    rows = [[escape(c) for c in row] for row in rows]
    return table(headers, rows, stack=True, raw=True, numeric={0, 2, 3, 4})


def _legs(sides: np.ndarray) -> str:
    """How many movements of a series were on each leg: 5 left, 4 right, 2 both."""
    counts = [(int((sides == side).sum()), name) for side, name in LEG_NAME.items()]
    return ", ".join(f"{n} {name}" for n, name in counts if n)


def _hypnic_table(units: Table, local: LocalClock, two_legs: bool) -> str:
    jerks = units[units["hypnic"].astype(bool)]
    if len(jerks) == 0:
        return "<p>No hypnic jerks at the sleep-onset transitions.</p>"
    rows = []
    for onset, side, peak, length in zip(  # a loop over jerks
        jerks["onset_s"], jerks["side"], jerks["peak_g"], jerks["duration_s"]
    ):
        row = [local.time(float(onset), with_seconds=True)]
        if two_legs:
            row.append(LEG_NAME.get(side, side))
        rows.append(row + [f"{peak:.2f} g", f"{length:.1f} s"])
    headers = ["time", *(["leg"] if two_legs else []), "strength", "lasted"]
    return table(headers, rows, stack=True, numeric={len(headers) - 2, len(headers) - 1})


def _versions(summary: dict) -> dict:
    import matplotlib

    return {
        "sleepmove": summary["software"]["version"],
        "python": platform.python_version(),
        "numpy": np.__version__,
        "matplotlib": matplotlib.__version__,
    }


GROUP_NAMES = {
    "rules": "Scoring rules",
    "detection": "Detecting movements",
    "sleep": "Sleep model",
    "clock_alignment": "Lining up two sensors' clocks",
}
UNITS = {
    "s": "s",
    "ms": "ms",
    "min": "min",
    "h": "h",
    "hz": "Hz",
    "deg": "°",
    "g": "g",
    "ppm": "ppm",
}
WORDS = {"lm": "LM", "plm": "PLM", "imi": "IMI", "hft": "HFT", "alma": "ALMA", "efm": "EFM"}


def _parameter_rows(parameters: dict, prefix: str = "") -> list[list[str]]:
    """(setting, value) rows in words: lm_min_s 0.5 -> "LM min", "0.5 s"."""
    rows = []
    for key, value in parameters.items():  # a loop over settings
        if isinstance(value, dict):
            rows += _parameter_rows(value, prefix)
            continue
        words = key.split("_")
        unit = UNITS.get(words[-1]) if len(words) > 1 else None
        if unit:
            words = words[:-1]
        if unit and words and words[-1] == "per":  # wake_jerks_note_per_min 1 -> "1 /min"
            words, unit = words[:-1], f"/{unit}"
        name = " ".join(WORDS.get(w, w) for w in words)
        name = name[:1].upper() + name[1:]
        suffix = f" {unit}" if unit else ""
        if isinstance(value, list):
            shown = " to ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
        elif isinstance(value, bool):
            shown = "yes" if value else "no"
        elif isinstance(value, float):
            shown = f"{value:g}"
        else:
            shown = str(value)
        rows.append([name, shown + (suffix if not isinstance(value, (bool, str)) else "")])
    return rows


def _parameters(summary: dict, settings: tuple[str, str] | None) -> str:
    """Every setting as a table per group, folded away, with the program versions; the
    settings file that reproduces the night (`--config`) to download beside them."""
    parameters = summary["criteria"]["parameters"]
    groups = {k: v for k, v in parameters.items() if isinstance(v, dict)}
    other = {k: v for k, v in parameters.items() if not isinstance(v, dict)}
    parts = []
    for name, values in groups.items():  # a loop over groups
        parts.append(
            f"<h3>{escape(GROUP_NAMES.get(name, name))}</h3>"
            + table(["setting", "value"], _parameter_rows(values))
        )
    if other:
        parts.append("<h3>Other</h3>" + table(["setting", "value"], _parameter_rows(other)))
    versions = _versions(summary)
    count = len(_parameter_rows(parameters))
    offer = ""
    if settings is not None:
        name, text = settings
        data = base64.b64encode(text.encode("utf-8")).decode("ascii")
        offer = (
            f'<p>The same settings as a file: <a download="{escape(name)}" '
            f'href="data:text/plain;charset=utf-8;base64,{data}">{escape(name)}</a> '
            f"(also beside this report); <code>--config {escape(name)}</code> reruns the "
            "night with them.</p>"
        )
    return (
        f"<details><summary>All {count} settings and program versions</summary>"
        + offer
        + "".join(parts)
        + "<h3>Versions</h3>"
        + table(["program", "version"], [[k, v] for k, v in versions.items()])
        + "</details>"
    )


def _html(
    summary: dict,
    score: NightScore,
    shown: dict,
    local: LocalClock,
    lanes: list[str],
    settings: tuple[str, str] | None = None,
) -> str:
    units = score.units
    two_legs = len(lanes) == 2
    statements = "".join(f"<li>{escape(s)}</li>" for s in summary["assessment"]["statements"])
    caveats = "".join(f"<li>{escape(c)}</li>" for c in summary["assessment"]["caveats"])
    recording = summary["recording"]
    files = ", ".join(recording["files"].values())
    day = local.day()
    alternation = summary.get("alternation_index")
    rules = escape(figures.rules_note(rules_shown(summary)))
    low, high = score.imi["periodic_range_s"]
    threshold = summary["assessment"]["threshold_per_h"]
    wrist = _on_wrist(summary)
    sections = [
        "<h1>Sleep movements" + (f", night of {escape(day)}" if day else "") + "</h1>",
        f"<p>{escape(local.time(0))} to "
        f"{escape(local.time(recording['duration_h'] * 3600))} "
        f"({escape(duration(recording['duration_h'] * 3600))}), "
        f"{escape(local.zone_note())} · {escape(files)} · "
        f"{term('rules', 'rules')} <b>{escape(rules_shown(summary))}</b> "
        f"({escape(summary['criteria']['reference'])}) · "
        + ("<b>sensor on a wrist</b>: the arm's movements · " if wrist else "")
        + '<a href="#glossary">words used here</a></p>',
        _lead(summary),
        _notes(summary["quality"]),
        _headline(summary),
        "<h2>The night at a glance</h2>" + _glance(score, summary, local),
        f"<h2>What this night shows</h2><ul>{statements}</ul>",
        f'<h2>What these figures cannot tell</h2><ul class="caveats">{caveats}</ul>',
        "<h2>The night in detail</h2>"
        + picture(
            shown["figures/timeline.png"],
            "night timeline",
            "Activity above; below, each movement by kind"
            + (" and leg" if two_legs else "")
            + f". Sleep shaded blue, PLM series yellow, data gaps hatched. Scored by {rules}.",
        ),
        f"<h2>Time between movements ({term('imi', 'IMI')})</h2>"
        + picture(
            shown["figures/imi.png"],
            "IMI histograms",
            "Intervals between candidate limb movements in sleep; periodic ones fall in the "
            f"shaded range ({low:g}-{high:g} s under {rules}). The second panel shows the same "
            "on a log scale.",
        ),
        "<h2>Over the night</h2>"
        + picture(
            shown["figures/over_the_night.png"],
            "PLM index per hour and jerks per minute",
            "PLM index for each hour with at least 15 minutes of sleep (dashed: the "
            f"{threshold:g}/h threshold), and {term('jerk', 'brief jerks')} per minute"
            f" ({term('efm', 'EFM proxy')} stretches dotted). Scored by {rules}.",
        ),
    ]
    if "figures/sides.png" in shown:
        sections.append(
            "<h2>Left and right</h2>"
            + picture(
                shown["figures/sides.png"],
                "legs in each PLM series",
                "One row per PLM series, numbered as in the table below; one mark per "
                f"movement, by leg. {term('alternation')} "
                f"{escape(_fmt(alternation, '.2f'))}. Scored by {rules}.",
            )
        )
    sections += [
        f"<h2>{term('series', 'PLM series')}</h2>" + _series_table(units, local, two_legs),
        f"<h2>{term('hypnic', 'Hypnic jerks')}</h2>" + _hypnic_table(units, local, two_legs),
        "<h2>Settings</h2>" + _parameters(summary, settings),
        glossary_html(_rules_of(summary)),
    ]
    return page("sleepmove night report", sections)


def _lead(summary: dict) -> str:
    """The night in two plain sentences, before any card: how long asleep, and the PLM index
    against its threshold, in words a reader without the terms follows."""
    sleep = summary["sleep"]
    assessment = summary["assessment"]
    wrist = _on_wrist(summary)
    how = "estimated from movement" if sleep["source"] == "estimated" else "in the given window"
    unsure = "; the estimate is unsure" if sleep["confidence"] < 0.8 else ""
    text = f"Asleep about {duration(sleep['total_sleep_h'] * 3600)} ({how}{unsure}). "
    index = summary["plm_index"]
    if index is None:
        text += "Too little sleep was found to count periodic movements per hour of it."
    else:
        above = "above" if assessment["plm_index_above_threshold"] else "not above"
        limb = (
            "The arm"
            if wrist
            else "The legs"
            if len(summary["recording"].get("sides", [])) == 2
            else "The leg"
        )
        threshold = assessment["threshold_per_h"]
        try:
            published = published_threshold(summary["criteria"]["name"], assessment["age_group"])
        except KeyError:  # an older or hand-edited summary's rule set: its own threshold
            published = threshold
        whose = (
            f"that sleep medicine calls significant for {_whose(assessment['age_group'])}"
            if threshold == published
            else "that the settings set"
        )
        text += (
            f"{limb} made {against(index, threshold)} periodic movements an hour of sleep: "
            f"{above} the "
            f"{threshold:g} an hour {whose}"
            + (" (a threshold set for legs)" if wrist else "")
            + "."
        )
        if summary["sleep_estimate_drives_plm_index"]:
            text += " Which minutes were sleep decides that figure: read it with care."
    return f'<p class="lead">{escape(text)}</p>'


def _on_wrist(summary: dict) -> bool:
    """Whether the night's sensor was worn on a wrist (an older summary names no placement)."""
    return summary["criteria"].get("parameters", {}).get("placement") == "wrist"


def _whose(age_group: str) -> str:
    """Whose threshold it is: none is published for infants, the children's stands in."""
    if age_group == "infant":
        return "children (none is published for infants)"
    return AGE_GROUPS[age_group]


def _notes(quality: dict) -> str:
    """What the analysis noted about the data (a short recording, a leg that stopped, a jump
    in the stamps, rows dropped), in a box above the figures they qualify; nothing if none."""
    notes = list(dict.fromkeys(quality.get("warnings", [])))  # once each, in order
    if not notes:
        return ""
    items = "".join(f"<li>{escape(note)}</li>" for note in notes)
    return f'<div class="warn"><b>About this recording</b><ul>{items}</ul></div>'


def _rules_of(summary: dict) -> tuple[str, float, float] | None:
    """The rule set's label and its IMI bounds, for the glossary; None where the summary
    cannot say (an older or hand-edited one): the glossary's defaults stand."""
    rules = summary["criteria"].get("parameters", {}).get("rules", {})
    if "imi_min_s" not in rules or "imi_max_s" not in rules:
        return None
    return rules_shown(summary), float(rules["imi_min_s"]), float(rules["imi_max_s"])


def _beside_the_sleep_index(plm_index: float | None, drives: bool) -> str:
    """How the in-bed index stands to the sleep index, where there is one to compare with
    (an n/a index was called 'close' to the in-bed one, or 'over a quarter' from it)."""
    if plm_index is None:
        return "; there is no sleep index to compare it with (too little sleep found)"
    if drives:
        return (
            "; it differs from the sleep index by over a quarter, so the sleep estimate "
            "decides that one"
        )
    return "; close to the sleep index, so the sleep estimate matters little"


def _jerk_rate(summary: dict) -> str:
    """Jerks a minute of sleep, to two significant digits with their count: at one
    decimal, one jerk in a night read "0.0 /min" beside a count of 1."""
    per_min = summary["jerk_rate_per_min"]
    if per_min is None:
        return "n/a"
    count = summary.get("counts", {}).get("jerk_in_sleep")
    return f"{rate(per_min)} /min" + (f" ({count} in sleep)" if count is not None else "")
