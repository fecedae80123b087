"""Many nights side by side: nights.csv, a trend plot and report.html."""

from __future__ import annotations

import io
import json
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from sleepmove.detection.parameter_changes import RETIRED
from sleepmove.reports import figures
from sleepmove.reports.diary import (
    CAVEAT,
    DiaryEntry,
    _comparison_html,
    change_dates,
    compare,
    diary_html,
    night_tags,
)
from sleepmove.reports.html import card, escape, page, picture, table
from sleepmove.reports.readable import duration
from sleepmove.reports.summary import rules_shown

COLUMNS = [
    "night",
    "start",
    "rules",
    "plm_index",
    "plmw_index",
    "periodicity_index",
    "log_imi_mean",
    "jerk_rate_per_min",
    "total_sleep_h",
    "data_loss_h",
    # How the night was analyzed and judged, from its own summary: nights that differ in
    # these are not pooled (placement: a wrist's index is the arm's).
    "placement",
    "age_group",
    "threshold_per_h",
    "above_threshold",
    "software_version",
    "tags",  # from --diary; empty without one
]
NOT_RECORDED = "not recorded"  # a summary written before the field was
VARIABILITY = (
    "The PLM index varies a lot from night to night in the same person: read one night with "
    "care, and collect several nights (3-5) before reading much into it. The periodicity index "
    "and the mean log-IMI are the steadier measures."
)


def nights_table(summaries: dict[str, dict]) -> pd.DataFrame:
    rows = []
    for name, summary in summaries.items():
        threshold = float(summary["assessment"]["threshold_per_h"])
        plm = summary["plm_index"]
        rows.append(
            {
                "night": name,
                "start": summary["recording"]["start"] or "",
                # with the numbers a settings file changed (age group and placement: their own)
                "rules": rules_shown(summary, beside_own_defaults=True),
                "plm_index": plm,
                "plmw_index": summary["plmw_index"],
                "periodicity_index": summary["periodicity_index"],
                "log_imi_mean": summary["imi"]["log_imi_mean"],
                "jerk_rate_per_min": summary["jerk_rate_per_min"],
                "total_sleep_h": summary["sleep"]["total_sleep_h"],
                "data_loss_h": summary["recording"]["data_loss_h"],
                "placement": _recorded(
                    summary, "recording.placement", "criteria.parameters.placement"
                ),
                "age_group": _recorded(
                    summary, "assessment.age_group", "criteria.parameters.age_group"
                ),
                "threshold_per_h": threshold,
                # each night against its own threshold, as its own summary judged it
                # (an index of NaN, a hand-edited summary's, is no index: not "not above")
                "above_threshold": None if plm is None or plm != plm else bool(plm > threshold),
                "software_version": _recorded(summary, "software.version"),
                "tags": "",
            }
        )
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.sort_values(["start", "night"], kind="stable").reset_index(drop=True)


def _recorded(summary: dict, *paths: str) -> str:
    """The first of `paths` (dotted) the summary holds, as text; NOT_RECORDED if none."""
    for path in paths:  # a loop over places the field has been written
        value: object = summary
        for key in path.split("."):  # a loop over a field's path
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str) and value:
            return value
    return NOT_RECORDED


def _night_dates(nights: pd.DataFrame) -> list[datetime | None]:
    """The evening each night began (local wall clock as written): a night that starts after
    midnight belongs to the evening before. None where the night has no clock time."""
    dates = []
    for start in nights["start"]:  # a loop over nights
        try:
            moment = datetime.fromisoformat(start).replace(tzinfo=None)
        except (TypeError, ValueError):
            dates.append(None)
            continue
        dates.append(datetime.combine((moment - timedelta(hours=12)).date(), datetime.min.time()))
    return dates


def _placed(dates: list[datetime | None]) -> list[datetime | None]:
    """Each night in the middle of its date's day (ticks mark midnights); nights on the same
    date set 6 hours apart so both show, in the order they began."""
    seen: dict[datetime, int] = {}
    placed = []
    for day in dates:  # a loop over nights
        if day is None:
            placed.append(None)
            continue
        k = seen.get(day, 0)
        seen[day] = k + 1
        placed.append(day + timedelta(hours=9 + 6 * min(k, 2)))
    return placed


def _with_gaps(x: list[datetime], y: np.ndarray) -> tuple[list, np.ndarray]:
    """Lines only between nights a day or two apart: a missing night shows as a gap."""
    xs, ys = [], []
    for i, (when, value) in enumerate(zip(x, y)):  # a loop over nights
        if i and (when - x[i - 1]) > timedelta(days=1.5):
            xs.append(x[i - 1] + (when - x[i - 1]) / 2)
            ys.append(np.nan)
        xs.append(when)
        ys.append(value)
    return xs, np.array(ys, dtype=float)


# --- Nights analyzed alike ---------------------------------------------------------------
# What makes two nights' indices comparable, named on the page in this order. A wrist's
# index is the arm's; another release or other settings may score differently; the age
# group sets the threshold each night is judged against.
ASPECTS = {
    "rules": "Rules",
    "placement": "Sensor placement",
    "age": "Age group and threshold",
    "software": "Software release",
    "settings": "Settings",
}
WRIST_CAVEAT = (
    "A wrist's PLM index counts the arm's movements, usually far fewer than the legs' (a low "
    "value does not rule out periodic leg movements), and the 15/h and 5/h thresholds were set "
    "for legs."
)
WHY = {
    "rules": "Indices scored by different rules are not directly comparable.",
    "placement": WRIST_CAVEAT + " Wrist and ankle nights are not comparable.",
    "age": "Each night is judged against its own threshold; check that each night was "
    "analyzed for the right age group (--age-group).",
    "software": "Another release may detect and score movements differently; analyze the "
    "nights again with one release to compare them.",
}


def _aspects(nights: pd.DataFrame) -> dict[str, list[str]]:
    """Each aspect of how each night was analyzed, in words. A table without an aspect's
    column (one built by hand) has that aspect alike on every night."""
    n = len(nights)

    def column(name: str) -> list[str]:
        return nights[name].astype(str).tolist() if name in nights else [""] * n

    ages = column("age_group")
    thresholds = (
        nights["threshold_per_h"].astype(float).tolist()
        if "threshold_per_h" in nights
        else [None] * n
    )
    versions = column("software_version")
    return {
        "rules": column("rules"),
        "placement": column("placement"),
        "age": [
            "" if t is None else f"{'age group ' * (a == NOT_RECORDED)}{a}, {t:g}/h"
            for a, t in zip(ages, thresholds)
        ],
        "software": [v if v in ("", NOT_RECORDED) else f"sleepmove {v}" for v in versions],
        "settings": column("settings"),
    }


def _kinds(nights: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Each night's kind in words, and the aspects that differ between the nights. A kind
    names its rule set ("rules wasm2016") and each other aspect that differs ("rules
    wasm2016, wrist"): nights of one kind were analyzed and judged alike."""
    aspects = _aspects(nights)
    varying = [name for name, values in aspects.items() if len(set(values)) > 1]
    kinds = [
        ", ".join(
            [figures.rules_note(aspects["rules"][i])]
            # an aspect a night has none of (settings alike within its kind) adds no ", "
            + [aspects[name][i] for name in varying if name != "rules" and aspects[name][i]]
        )
        for i in range(len(nights))
    ]
    return kinds, varying


def _settings(nights: pd.DataFrame, summaries: dict[str, dict]) -> tuple[list[str], list[str]]:
    """Nights of one rule set, placement and release analyzed with different settings (a
    --config): each night's settings in words ("settings 2"; "" where such nights all agree),
    and for each such set of nights a sentence naming them and the settings that differ."""
    keyed = [_settings_key(summaries[name]) for name in nights["night"]]
    buckets: dict[tuple[str, str, str], list[int]] = {}
    for i, row in enumerate(nights.itertuples(index=False)):  # a loop over nights
        buckets.setdefault((row.rules, row.placement, row.software_version), []).append(i)
    labels = [""] * len(nights)
    said = []
    for (rules, placement, version), rows in buckets.items():  # a loop over such sets
        kinds = list(dict.fromkeys(keyed[i] for i in rows))
        if len(kinds) < 2:
            continue
        numbered = [key for key in kinds if key is not None]
        word = {
            key: "settings not recorded" if key is None else f"settings {numbered.index(key) + 1}"
            for key in kinds
        }
        for i in rows:  # a loop over the set's nights
            labels[i] = word[keyed[i]]
        known = [json.loads(key) for key in numbered]
        differ = sorted(
            {name for f in known for name in f if len({json.dumps(g.get(name)) for g in known}) > 1}
        )
        nights_of = {
            key: _listed([str(nights["night"].iloc[i]) for i in rows if keyed[i] == key])
            for key in kinds
        }
        release = version if version == NOT_RECORDED else f"sleepmove {version}"
        said.append(
            f"Settings: nights scored by rules {rules} ({placement}, {release}) were analyzed "
            "with different settings"
            + (f" ({_listed(differ, 4)} differ{'s' * (len(differ) == 1)})" if differ else "")
            + ": "
            + "; ".join(f"{word[key]} ({nights_of[key]})" for key in kinds)
            + ". Compare the settings.toml in their folders."
        )
    return labels, said


def _settings_key(summary: dict) -> str | None:
    """The night's parameters (criteria.parameters) that differ from the defaults its rule
    set, age group and placement imply, as text: an infant's night beside an adult's differs
    by its age group's defaults, an aspect of its own, not by settings. None where the
    summary has none (an older release)."""
    parameters = summary["criteria"].get("parameters")
    if not isinstance(parameters, dict):
        return None
    flat = _flat({k: v for k, v in parameters.items() if k not in ("age_group", "placement")})
    defaults = _defaults_of(
        summary["criteria"].get("name"), parameters.get("age_group"), parameters.get("placement")
    )
    retired = {f"{group}.{name}" for group, names in RETIRED.items() for name in names}
    changed = {
        k: v
        for k, v in flat.items()
        # rule numbers are the rules' aspect (rules_shown names them), not settings; a
        # setting no release reads any more changed nothing
        if (k not in defaults or defaults[k] != v)
        and not k.startswith("rules.")
        and k not in retired
    }
    exclusion = summary["criteria"].get("respiratory_exclusion")
    if isinstance(exclusion, dict) and exclusion.get("applied"):
        # LMs near a sleep study's apneas left out: not the PLM index of a night without
        changed["respiratory_exclusion"] = True
    return json.dumps(changed, sort_keys=True, default=str)


def _flat(parameters: dict) -> dict[str, object]:
    """Nested parameter groups as one level of "group.name" keys, values as JSON has them."""
    flat: dict[str, object] = {}

    def walk(value: object, where: str) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():  # a loop over a group's fields
                walk(inner, f"{where}.{key}" if where else str(key))
        else:
            flat[where] = value

    walk(json.loads(json.dumps(parameters, default=str)), "")
    return flat


def _defaults_of(rules: object, age_group: object, placement: object) -> dict[str, object]:
    """The defaults of a rule set, age group and placement, flat; empty for a name this
    release does not know (every parameter then counts as set)."""
    from sleepmove.detection.params import default_parameters

    try:
        params = default_parameters(str(rules), str(age_group), str(placement))
    except (KeyError, ValueError):
        return {}
    known = params.as_dict()
    return _flat({k: v for k, v in known.items() if k not in ("age_group", "placement")})


def _listed(names: list[str], most: int = 8) -> str:
    """Names, the first `most` of them and how many more."""
    more = len(names) - most
    return ", ".join(names[:most]) + (f" and {more} more" if more > 0 else "")


def _by_value(values: list[str], names: list[str]) -> list[tuple[str, list[str]]]:
    """Each value (in the order of the nights) and the nights that have it."""
    return [(v, [n for n, x in zip(names, values) if x == v]) for v in dict.fromkeys(values)]


def differences(nights: pd.DataFrame, settings: list[str] = ()) -> list[str]:
    """How the nights differ in the way they were analyzed, one sentence an aspect, each
    naming the nights of each value: "Rules: wasm2016 (n0, n1); aasm2012 (n2). ..."
    `settings`: the sentences of _settings. Empty if all were analyzed alike."""
    aspects = _aspects(nights)
    names = nights["night"].astype(str).tolist()
    said = []
    for aspect, why in WHY.items():  # a loop over aspects
        values = aspects[aspect]
        if len(set(values)) < 2:
            continue
        parts = "; ".join(f"{v} ({_listed(n)})" for v, n in _by_value(values, names))
        said.append(f"{ASPECTS[aspect]}: {parts}. {why}")
    return said + list(settings)


def not_alike(summaries: dict[str, dict]) -> list[str]:
    """What the nights differ in, of the way they were analyzed ("rules", "sensor
    placement"): empty if they were all analyzed alike. For the command to say as well."""
    nights = nights_table(summaries)
    nights["settings"], _ = _settings(nights, summaries)
    aspects = _aspects(nights)
    return [ASPECTS[name].lower() for name, values in aspects.items() if len(set(values)) > 1]


# Nights analyzed differently (other rules, placement, age group, release or settings): one
# mark per kind, the same in both plots (the first filled, the others hollow, so grey print
# still tells them apart).
RULE_MARKERS = ("o", "D", "^", "v", "P", "X")
PLM_COLOUR, PI_COLOUR = "#0072B2", "#009E73"
THRESHOLD_LINES = ("--", ":", "-.", (0, (6, 2, 1, 2)))  # one per threshold


def trend_figure(
    nights: pd.DataFrame,
    threshold: float,
    shape: figures.Shape = figures.WIDE,
    changes: list[date] | None = None,
):
    """PLM and periodicity index on a date axis; unreliable periodicity left out. Nights with
    diary tags (a `tags` column) marked at the top; `changes` (dates) as dotted lines at the
    midnight that opens each date, between the nights before and those from then on.

    The rule set (the `rules` column) is named at the top; nights analyzed differently (rules,
    placement, age group, release, settings: _kinds) get a mark per kind, named in a legend
    above the plots, and a line joins only nights analyzed alike. Each night's threshold (the
    `threshold_per_h` column; `threshold` for a table without it) is a line across the plot,
    one line per threshold, named with the age groups it is for."""
    import matplotlib.dates as mdates

    plt = figures.plt
    placed = _placed(_night_dates(nights))
    dated = [i for i, d in enumerate(placed) if d is not None]
    figure, (upper, lower) = plt.subplots(
        2,
        1,
        figsize=(shape.width_in, 5.4 if shape.phone else 4.6),
        sharex=True,
        layout="constrained",
    )
    x = [placed[i] for i in dated]
    kinds, varying = _kinds(nights.iloc[dated])
    kind = dict(zip(dated, kinds))
    names = sorted(set(kinds))  # in the order the legend lists them
    mixed = len(names) > 1
    plm = nights["plm_index"].astype(float).to_numpy()
    pi = _reliable_pi(nights).to_numpy()
    for k, name in enumerate(names):  # a loop over kinds of night
        mine = [i for i in dated if kind[i] == name]
        at = [placed[i] for i in mine]
        marker = RULE_MARKERS[k % len(RULE_MARKERS)] if mixed else "o"
        upper.plot(
            *_with_gaps(at, plm[mine]),
            "-",
            color=PLM_COLOUR,
            lw=1,
            label="PLM index" if mixed and k == 0 else "_nolegend_",
        )
        upper.plot(
            at,
            plm[mine],
            marker,
            ls="none",
            color=PLM_COLOUR,
            mfc=PLM_COLOUR if k == 0 else "white",
            label="_nolegend_" if mixed else "PLM index",
            gid=name,
        )
        lower.plot(*_with_gaps(at, pi[mine]), "-", color=PI_COLOUR, lw=1)
        lower.plot(
            at,
            pi[mine],
            marker if mixed else "s",
            ls="none",
            color=PI_COLOUR,
            mfc=PI_COLOUR if k == 0 else "white",
            label="periodicity index",
            gid=name,
        )
    _name_kinds(figure, names, varying, _all_wrist(nights.iloc[dated]), shape)
    for k, (level, label) in enumerate(_threshold_labels(nights.iloc[dated], threshold)):
        upper.axhline(
            level,
            color="black",
            ls=THRESHOLD_LINES[k % len(THRESHOLD_LINES)],
            lw=1,
            label=label,
        )
    upper.set_ylabel("PLM index (/h)")
    upper.set_ylim(bottom=0)
    marked = _diary_marks(nights, placed, changes or [], (upper, lower))
    if marked:  # above the plot: four entries would cover the first nights on a phone
        upper.legend(frameon=False, loc="lower left", bbox_to_anchor=(0, 1), ncols=2)
    else:
        upper.legend(frameon=False, loc="upper left")
    lower.set_ylim(0, 1.05)
    lower.set_ylabel("periodicity")
    if x:
        lower.set_xlim(min(x) - timedelta(days=1), max(x) + timedelta(days=1))
    locator = mdates.AutoDateLocator(minticks=2, maxticks=4 if shape.phone else 8)
    lower.xaxis.set_major_locator(locator)
    lower.xaxis.set_major_formatter(mdates.DateFormatter("%-d %b"))
    return figure


def _all_wrist(nights: pd.DataFrame) -> bool:
    return (
        len(nights) > 0 and "placement" in nights and bool((nights["placement"] == "wrist").all())
    )


def _thresholds(nights: pd.DataFrame, default: float) -> list[tuple[float, str]]:
    """Each threshold the nights are judged against, lowest first, and the age groups it is
    for ("child"); `default` for a table without thresholds."""
    if "threshold_per_h" not in nights or nights.empty:
        return [(default, "")]
    levels = nights["threshold_per_h"].astype(float)
    ages = nights["age_group"].astype(str) if "age_group" in nights else pd.Series("", nights.index)
    return [
        (level, ", ".join(dict.fromkeys(ages[levels == level]))) for level in sorted(set(levels))
    ]


def _threshold_labels(nights: pd.DataFrame, default: float) -> list[tuple[float, str]]:
    """The figure's threshold lines and their labels: "15/h" for one ("15/h, set for legs"
    if a night is a wrist's), else each with its age groups ("5/h: child")."""
    levels = _thresholds(nights, default)
    if len(levels) == 1:
        legs = ", set for legs" if _any_wrist(nights) else ""
        return [(levels[0][0], f"{levels[0][0]:g}/h{legs}")]
    return [(level, f"{level:g}/h: {ages}") for level, ages in levels]


def _any_wrist(nights: pd.DataFrame) -> bool:
    return "placement" in nights and bool((nights["placement"] == "wrist").any())


def _plotted(shown: pd.DataFrame) -> pd.DataFrame:
    """The nights the figure plots (those with a date): the caption speaks of them only (an
    undated night scored by other rules had it promise marks the figure lacked)."""
    return shown[[d is not None for d in _night_dates(shown)]]


def _threshold_words(plotted: pd.DataFrame, default: float) -> str:
    """The figure's threshold lines in words: "dashed: the 15/h threshold"."""
    levels = _thresholds(plotted, default)
    if len(levels) == 1:
        legs = ", set for legs" if _any_wrist(plotted) else ""
        return f"dashed: the {levels[0][0]:g}/h threshold{legs}"
    return "dashed and dotted lines: each night's own threshold, " + ", ".join(
        f"{level:g}/h for {ages} nights" for level, ages in levels
    )


def _kinds_caption(plotted: pd.DataFrame) -> str:
    kinds, varying = _kinds(plotted)
    names = sorted(set(kinds))
    if len(names) > 1 and varying == ["rules"]:
        rules = sorted(set(plotted["rules"].astype(str)))
        return (
            f"Nights scored by different rules ({escape(', '.join(rules))}) have a mark "
            "each, named above the plots; a line joins only nights scored alike."
        )
    if len(names) > 1:
        return (
            f"Nights analyzed differently ({escape('; '.join(names))}) have a mark each, "
            "named above the plots; a line joins only nights analyzed alike."
        )
    wrist = " The sensor was on a wrist: the arm's movements." if _all_wrist(plotted) else ""
    return f"Scored by {escape(names[0])}.{wrist}" if names else ""


def _name_kinds(
    figure, names: list[str], varying: list[str], wrist: bool, shape: figures.Shape
) -> None:
    """One kind of night: its rule set named at the top right, as on a night's figures (and
    the wrist, if the sensor was on one). Several: a legend of their marks above both plots.
    Either carries the gid "rules" that tests read."""
    plt = figures.plt
    if len(names) <= 1:
        figure.suptitle(
            (names[0] + (", sensor on a wrist" if wrist else "")) if names else "",
            x=0.99,
            ha="right",
            fontsize=shape.font_pt,
            color="#333333",
        ).set_gid("rules")
        return
    handles = [
        plt.Line2D(
            [],
            [],
            ls="none",
            marker=RULE_MARKERS[k % len(RULE_MARKERS)],
            color="#333333",
            mfc="#333333" if k == 0 else "white",
        )
        for k in range(len(names))
    ]
    figure.legend(
        handles,
        names,
        loc="outside upper center",
        ncols=_legend_columns(names, shape),
        frameon=False,
        title="nights scored by different rules"
        if varying == ["rules"]
        else "nights analyzed differently",
        title_fontsize=shape.font_pt,
    ).set_gid("rules")


def _legend_columns(names: list[str], shape: figures.Shape) -> int:
    """As many columns as the longest name lets fit across the figure."""
    fits = shape.width_in * 72 / (shape.font_pt * 0.62) - 4  # characters across, less marks
    return max(1, min(len(names), int(fits // (max(map(len, names)) + 5))))


def _diary_marks(nights: pd.DataFrame, placed: list, changes: list[date], axes) -> bool:
    """Tagged nights as triangles along the top of the upper plot; changes as dotted lines.
    Each carries a gid ("diary-entry", "diary-change") that tests read. True if any drawn."""
    upper, lower = axes
    tags = nights["tags"] if "tags" in nights else pd.Series([""] * len(nights))
    x = [placed[i] for i, tag in enumerate(tags) if tag and placed[i] is not None]
    if x:
        # headroom, so that a mark never sits on the highest night's point
        upper.set_ylim(0, upper.get_ylim()[1] * 1.12)
        upper.plot(
            x,
            [0.97] * len(x),
            "v",
            color="#D55E00",
            transform=upper.get_xaxis_transform(),  # x in dates, y a fraction of the plot
            clip_on=False,
            label="diary entry",
            gid="diary-entry",
        )
    for i, day in enumerate(changes):  # a loop over changes
        at = datetime.combine(day, datetime.min.time())
        for axis in (upper, lower):
            axis.axvline(
                at,
                color="#CC79A7",
                ls=":",
                lw=2,
                label="change (diary)" if i == 0 and axis is upper else "_nolegend_",
                gid="diary-change",
            )
    return bool(x or changes)


def _reliable_pi(nights: pd.DataFrame) -> pd.Series:
    """The periodicity index, missing (NaN) where its night flagged it unreliable."""
    pi = nights["periodicity_index"].astype(float)
    if "pi_reliable" in nights:
        pi = pi.where(nights["pi_reliable"].astype(bool))
    return pi


def trend_files(
    summaries: dict[str, dict], diary: list[DiaryEntry] | None = None
) -> dict[str, str | bytes]:
    """nights.csv, the trend figure and report.html; with a diary, tagged nights marked and
    the nights before and after each noted change compared.

    Each night is judged against its own threshold (its summary's). Nights not analyzed
    alike (rules, placement, age group, release, settings) are named on the page, aspect by
    aspect, and never pooled: means, SDs, ranges and diary comparisons are given for each
    group of nights analyzed alike."""
    nights = nights_table(summaries)
    days = [d.date() if d is not None else None for d in _night_dates(nights)]
    if diary is not None:
        nights["tags"] = night_tags(days, diary)
    csv = io.StringIO()
    nights.to_csv(csv, index=False, lineterminator="\n")
    # Beside the contract's columns, only for the page: what each night says of itself.
    shown = nights.copy()
    shown["pi_reliable"] = [
        bool(summaries[n].get("periodicity_index_reliable", True)) for n in nights["night"]
    ]
    shown["in_bed"] = [summaries[n].get("plm_index_in_bed") for n in nights["night"]]
    shown["periodicity_index"] = _reliable_pi(shown)
    shown["settings"], settings_said = _settings(nights, summaries)
    kinds, _ = _kinds(shown)
    groups = {kind: [i for i, k in enumerate(kinds) if k == kind] for kind in kinds}
    numeric = shown[
        ["plm_index", "in_bed", "periodicity_index", "jerk_rate_per_min", "total_sleep_h"]
    ].astype(float)
    numeric["data_loss_h"] = shown["data_loss_h"].astype(float)
    changes = change_dates(diary) if diary else []
    default = float(shown["threshold_per_h"].iloc[0])  # for a figure of no dated night
    shapes = figures.render(lambda shape: trend_figure(shown, default, shape, changes))
    diary_part = ""
    if diary is not None:
        values = {name: numeric[name].to_numpy() for name in numeric}
        diary_part = _diary_part(days, diary, values, shown, groups)
    png = shapes["wide"][0]
    rules = sorted(set(nights["rules"]))
    said = differences(shown, settings_said)
    plotted = _plotted(shown)
    html = page(
        "sleepmove nights",
        [
            "<h1>Sleep movements, night by night</h1>",
            f"<p>{_span_in_words(shown)} Rules: {escape(', '.join(rules))}.</p>",
            _alike_html(said, shown),
            '<div class="cards">' + "".join(_cards(shown, numeric, groups)) + "</div>",
            _spread_html(shown, groups) + f"<p>{escape(_shared_dates(shown).strip())}</p>",
            f"<h2>Read this first</h2><p>{escape(VARIABILITY)}</p>",
            "<h2>Trend</h2>"
            + picture(
                shapes,
                "trend over nights",
                f"Each night on its date ({escape(_threshold_words(plotted, default))}). A "
                "missing night leaves a gap; the periodicity index of a night with too few "
                "movements to judge is left out, here and in the mean. "
                + _kinds_caption(plotted)
                + (
                    " ▼: a night with a diary entry; dotted line: a change noted in the diary, "
                    "from that date on."
                    if diary
                    else ""
                ),
            ),
            diary_part,
            "<h2>Nights</h2>" + _nights_html(shown, with_tags=diary is not None),
            "<h2>Mean and SD</h2>" + _stats_html(shown, numeric, groups),
            "<p>The per-night figures are in nights.csv; each night's own report.html explains "
            "every term.</p>",
        ],
    )
    return {"nights.csv": csv.getvalue(), "figures/trend.png": png, "report.html": html}


def _alike_html(said: list[str], shown: pd.DataFrame) -> str:
    """The warning, first on the page, that the nights were not all analyzed alike, naming
    the nights of each difference; a wrist's caveat where every night is a wrist's."""
    if said:
        return (
            '<div class="warn" id="not-alike"><p><b>These nights were not all analyzed alike, '
            "so their indices are not all comparable.</b> Each night is judged against its own "
            "threshold, and means, SDs and ranges are given for each group of nights analyzed "
            'alike, never across them.</p><ul class="caveats">'
            + "".join(f"<li>{escape(line)}</li>" for line in said)
            + "</ul></div>"
        )
    if _all_wrist(shown):
        return (
            f'<p class="warn" id="wrist"><b>The sensor was on a wrist.</b> {escape(WRIST_CAVEAT)} '
            "To count leg movements, wear the sensor on an ankle.</p>"
        )
    return ""


def _stats(numeric: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"mean": numeric.mean(), "sd": numeric.std(ddof=1)})


def _cards(shown: pd.DataFrame, numeric: pd.DataFrame, groups: dict[str, list[int]]) -> list:
    """The headline cards: the means where the nights were analyzed alike; else how many
    nights are above their own threshold, the means left to each group's table."""
    few = "too few to judge" if len(shown) < 3 else False  # flagged in words, not "above"
    cards = [card("Nights", str(len(shown)), "fewer than 3" if few else "", few)]
    if len(groups) > 1:
        known = shown["plm_index"].notna()
        above = int((shown["above_threshold"] == True).sum())  # noqa: E712 (None: no index)
        return cards + [
            card(
                "Analyzed alike",
                f"{len(groups)} groups",
                "indices are compared within a group only",
                "not all comparable",
            ),
            card(
                "PLM index",
                f"{above} of {int(known.sum())}",
                "nights above their own threshold; means by group below",
            ),
        ]
    stats = _stats(numeric)
    threshold = float(shown["threshold_per_h"].iloc[0])
    wrist = _all_wrist(shown)
    age = str(shown["age_group"].iloc[0])
    unreliable = int((~shown["pi_reliable"]).sum())
    return cards + [
        card(
            "PLM index of the arm" if wrist else "PLM index",
            f"{_fmt(stats.loc['plm_index', 'mean'])} /h",
            f"mean; SD {_fmt(stats.loc['plm_index', 'sd'])}; threshold {threshold:g}/h"
            + (f" ({age})" if age != "adult" else "")
            + (", set for legs" if wrist else ""),
        ),
        card(
            "Periodicity index",
            _fmt(stats.loc["periodicity_index", "mean"], ".2f"),
            f"mean; SD {_fmt(stats.loc['periodicity_index', 'sd'], '.2f')}"
            + (
                f"; {_count(unreliable, 'night')} left out: too few movements" if unreliable else ""
            ),
        ),
        card(
            "Total sleep",
            duration(stats.loc["total_sleep_h", "mean"] * 3600),
            f"mean; SD {duration(stats.loc['total_sleep_h', 'sd'] * 3600)}",
        ),
    ]


def _group_title(kind: str, shown: pd.DataFrame, rows: list[int]) -> str:
    """A group of nights analyzed alike: its kind, and its nights."""
    names = shown["night"].astype(str).iloc[rows].tolist()
    return f"{kind} ({_count(len(rows), 'night')}: {_listed(names)})"


def _spread_html(shown: pd.DataFrame, groups: dict[str, list[int]]) -> str:
    if len(groups) == 1:
        return f"<p>{escape(_spread_in_words(shown))}</p>"
    return (
        "<p>Each group of nights analyzed alike:</p><ul>"
        + "".join(
            f"<li><b>{escape(_group_title(kind, shown, rows))}</b>: "
            f"{escape(_spread_in_words(shown.iloc[rows]))}</li>"
            for kind, rows in groups.items()
        )
        + "</ul>"
    )


def _stats_html(shown: pd.DataFrame, numeric: pd.DataFrame, groups: dict[str, list[int]]) -> str:
    """Mean and SD of each measure: of all nights, or of each group of nights analyzed alike."""

    def one(rows: list[int]) -> str:
        stats = _stats(numeric.iloc[rows])
        return table(
            ["measure", "mean", "SD"],
            [
                [LABELS[name][0], *_stat(name, r["mean"]), *_stat(name, r["sd"])]
                for name, r in stats.iterrows()
            ],
        )

    if len(groups) == 1:
        return one(list(range(len(shown))))
    return (
        "<p>For each group of nights analyzed alike; nights analyzed differently are not "
        "pooled.</p>"
        + "".join(
            f"<h3>{escape(_group_title(kind, shown, rows))}</h3>" + one(rows)
            for kind, rows in groups.items()
        )
    )


def _diary_part(
    days: list[date | None],
    diary: list[DiaryEntry],
    values: dict[str, np.ndarray],
    shown: pd.DataFrame,
    groups: dict[str, list[int]],
) -> str:
    """The diary's sections; nights not analyzed alike are compared group by group, never
    pooled before and after a change."""
    if len(groups) == 1 or not change_dates(diary):
        return diary_html(days, diary, compare(days, values, diary))
    undated = sum(d is None for d in days)
    parts = [
        diary_html(days, diary, []),
        "<h2>Before and after</h2>",
        f"<p><b>Read this first.</b> {escape(CAVEAT)}</p>",
        "<p>A night belongs to its evening's date. Each comparison sets the nights before the "
        "date against the nights from that date on, each side bounded by the next noted "
        "change, so two changes are not mixed. The nights were not all analyzed alike: each "
        "group of nights analyzed alike is compared on its own."
        + (f" {_count(undated, 'night')} without a clock time left out." if undated else "")
        + "</p>",
    ]
    for kind, rows in groups.items():  # a loop over groups of nights
        mine = [d if i in rows else None for i, d in enumerate(days)]
        parts.append(f"<p><b>{escape(_group_title(kind, shown, rows))}</b></p>")
        parts += [_comparison_html(c) for c in compare(mine, values, diary)]
    return "".join(parts)


LABELS = {
    "plm_index": ("PLM index", "/h", ".1f"),
    "in_bed": ("In-bed index", "/h", ".1f"),
    "periodicity_index": ("Periodicity", "", ".2f"),
    "jerk_rate_per_min": ("Brief jerks", "/min", ".1f"),
    "total_sleep_h": ("Sleep", "h", None),
    "data_loss_h": ("Data lost", "h", None),
}


def _stat(name: str, value: float) -> list[str]:
    _, unit, spec = LABELS[name]
    if spec is None:
        return [duration(None if value != value else value * 3600)]
    return [_fmt(value, spec) + (f" {unit}" if unit and value == value else "")]


def _count(n: int, noun: str) -> str:
    """'1 night', '3 nights'."""
    return f"{n} {noun}{'s' * (n != 1)}"


def _span_in_words(shown: pd.DataFrame) -> str:
    dates = [d for d in _night_dates(shown) if d is not None]
    if not dates:
        return ""
    first, last = min(dates), max(dates)
    if first == last:
        return escape(f"{_count(len(shown), 'night')}, dated {first:%-d %b %Y}.")
    return escape(
        f"{_count(len(shown), 'night')} from {first:%-d %b %Y} to {last:%-d %b %Y} "
        f"({_count((last - first).days + 1, 'day')})."
    )


def _spread_in_words(nights: pd.DataFrame) -> str:
    """How the nights spread, in words: 3 of 5 nights above 15/h; from 9 to 41/h. The nights
    share one threshold (they were judged alike)."""
    known = nights["plm_index"].astype(float).dropna()
    if known.empty:
        return "No night had a PLM index (no sleep was found)."
    threshold = float(nights["threshold_per_h"].iloc[0])
    above = int((known > threshold).sum())
    legs = " (a threshold set for legs)" if _all_wrist(nights) else ""
    said = f"{above} of {_count(len(known), 'night')} above {threshold:g}/h{legs}; the PLM index "
    if len(known) == 1:
        return said + f"was {known.iloc[0]:.0f}/h."
    return said + (
        f"ranged from {known.min():.0f} to {known.max():.0f}/h (median {known.median():.0f}/h)."
    )


def _shared_dates(shown: pd.DataFrame) -> str:
    """Two recordings on one night: said, since the figure sets them a few hours apart."""
    dates = [d for d in _night_dates(shown) if d is not None]
    shared = sorted({d for d in dates if dates.count(d) > 1})
    if not shared:
        return ""
    days = ", ".join(f"{d:%-d %b}" for d in shared)
    return f" More than one recording on the night of {days}: each is shown on its own."


# The nights table's columns of how each night was analyzed, shown where the nights differ
# in them (the rules always): header, and the _aspects key.
ASPECT_COLUMNS = (
    ("Placement", "placement"),
    ("Age group", "age"),
    ("Software", "software"),
    ("Settings", "settings"),
)


def _nights_html(shown: pd.DataFrame, with_tags: bool = False) -> str:
    """One row per night, in words; on a phone each night becomes a short block. The rules
    each night was scored by, and its placement, age group (with the threshold it is judged
    against), release and settings where the nights differ in them. With a diary, a last
    column of the night's tags."""
    dates = _night_dates(shown)
    aspects = _aspects(shown)
    extra = [(head, key) for head, key in ASPECT_COLUMNS if len(set(aspects[key])) > 1]
    judged = "age" in {key for _, key in extra}  # thresholds differ: each night's verdict
    rows = []
    for i, row in enumerate(shown.itertuples(index=False)):  # a loop over nights
        when = f"{dates[i]:%a %-d %b}" if dates[i] is not None else ""
        start = str(row.start)
        clock = start[11:16] if len(start) >= 16 else ""
        label = (
            f"{escape(when)}<br><small>from {escape(clock)} · {escape(row.night)}</small>"
            if when
            else escape(row.night)
        )
        pi = row.periodicity_index
        verdict = ""
        if judged and row.above_threshold is not None:
            side = "above" if row.above_threshold else "not above"
            verdict = f"<br><small>{side} {row.threshold_per_h:g}/h</small>"
        rows.append(
            [
                label,
                escape(row.rules),
                *[escape(aspects[key][i]) for _, key in extra],
                escape(_fmt(row.plm_index) + " /h") + verdict,
                escape(_fmt(row.in_bed) + " /h"),
                escape(_fmt(pi, ".2f") if pi == pi else "too few to judge"),
                escape(_fmt(row.jerk_rate_per_min) + " /min"),
                escape(duration(row.total_sleep_h * 3600)),
                escape(duration(row.data_loss_h * 3600)),
                *([escape(row.tags)] if with_tags else []),
            ]
        )
    headers = [
        "Night",
        "Rules",
        *[head for head, _ in extra],
        *[LABELS[k][0] for k in list(LABELS)],
        *(["Diary"] if with_tags else []),
    ]
    first = 2 + len(extra)
    return table(
        headers, rows, stack=True, raw=True, numeric=set(range(first, first + len(LABELS)))
    )


def _fmt(value, spec: str = ".1f") -> str:
    return (
        "n/a"
        if value is None or (isinstance(value, float) and np.isnan(value))
        else format(value, spec)
    )
