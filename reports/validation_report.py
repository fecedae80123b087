"""Validation figures and page: agreement per night, Bland-Altman across nights. Each
figure, and each figure pooled over nights, names the rules that scored it: nights scored
by different rules are compared per rule set (sleepmove.validate.pooled)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from sleepmove.base.words import how_many
from sleepmove.reports import figures
from sleepmove.reports.html import card, escape, image, page, table

RULES_PT, RULES_COLOUR = 8, "#333333"  # the rules' line: the figures' smallest text


def bland_altman_figure(detected: np.ndarray, reference: np.ndarray, stats: dict, rules: str):
    """`rules`: the rules that scored the nights' PLM indices (one label of
    validate.rules_label), named at the top right; its text has the gid "rules"."""
    plt = figures.plt
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    top = max(np.max(detected, initial=0), np.max(reference, initial=0)) * 1.05 + 1
    left.plot([0, top], [0, top], color="#777777", lw=1, ls=":")
    left.scatter(reference, detected, c="#0072B2", s=20)
    left.set_xlabel("reference PLM index (/h)")
    left.set_ylabel("detected PLM index (/h)")
    left.set_title("Detected against reference")
    means = (detected + reference) / 2
    right.scatter(means, detected - reference, c="#D55E00", marker="s", s=20)
    ba = stats["bland_altman"]
    if ba["bias"] is not None:
        right.axhline(ba["bias"], color="black", lw=1, label=f"bias {ba['bias']:+.1f}")
        for bound in (ba["lower"], ba["upper"]):
            right.axhline(bound, color="black", lw=1, ls="--")
        right.legend(frameon=False, fontsize=8)
    right.set_xlabel("mean of the two (/h)")
    right.set_ylabel("detected - reference (/h)")
    right.set_title("Bland-Altman (limits: bias ± 1.96 SD)")
    figure.suptitle(
        figures.rules_note(rules), x=0.99, ha="right", fontsize=RULES_PT, color=RULES_COLOUR
    ).set_gid("rules")
    figure.tight_layout()
    return figure


def night_figure(name: str, reference: pd.DataFrame, detected: pd.DataFrame, rules: str):
    """Both event sets of a night; `rules`, that scored the detected ones, named at the top
    right (gid "rules")."""
    plt = figures.plt
    figure, axis = plt.subplots(figsize=(11, 1.8), layout="constrained")
    labelled = set()  # each kind once in the legend, from whichever lane has it
    for lane, frame in ((1, reference), (0, detected)):
        for kind, (colour, marker, label) in figures.KIND_STYLE.items():
            rows = frame[frame["kind"] == kind]
            if len(rows):
                axis.scatter(
                    rows["onset_s"] / 3600,
                    np.full(len(rows), lane),
                    c=colour,
                    marker=marker,
                    s=12,
                    label=None if kind in labelled else label,
                )
                labelled.add(kind)
    axis.set_yticks([0, 1], ["detected", "reference"])
    axis.set_ylim(-0.6, 1.6)
    axis.set_xlabel("hours from the start of the recording")
    axis.set_title(f"{name}: both event sets")
    axis.set_title(
        figures.rules_note(rules), loc="right", fontsize=RULES_PT, color=RULES_COLOUR
    ).set_gid("rules")
    if labelled:  # below the axis label: it was drawn over it
        figure.legend(frameon=False, fontsize=7, ncols=5, loc="outside lower center")
    return figure


def validation_files(nights: list[dict], pooled: dict, parameters: dict) -> dict[str, str | bytes]:
    """The figures and report.html. `pooled`: sleepmove.validate.pooled's answer; where its
    `rules` is None the nights were scored by different rules, and PLM agreement and the
    PLM index across nights are shown per rule set (`by_rules`), under a warning."""
    rows = pd.DataFrame([n["row"] for n in nights])
    mixed = pooled["rules"] is None
    parts = pooled["by_rules"] if mixed else {pooled["rules"]: pooled}
    pngs: dict[str, bytes] = {}
    across = []  # per rule set: its cards, heading and Bland-Altman figure
    for label, part in parts.items():
        mine = rows[rows["rules"] == label]
        both = mine.dropna(subset=["plm_index_detected", "plm_index_reference"])
        name = _unused(
            f"figures/bland_altman_{_slug(label)}" if mixed else "figures/bland_altman", pngs
        )
        pngs[name] = figures.to_png(
            bland_altman_figure(
                both["plm_index_detected"].to_numpy(float),
                both["plm_index_reference"].to_numpy(float),
                part["plm_index"],
                label,
            )
        )
        kinds = ("lm", "plm", "jerk") if not mixed else ("plm",) if pooled["lm"] else ("lm", "plm")
        cards = '<div class="cards">' + "".join(_plm_cards(part, label, kinds)) + "</div>"
        heading = (
            f"{how_many(len(mine), 'night')} scored by rules {label}" if mixed else "across nights"
        )
        heading = f"<h2>PLM index {escape(heading)}</h2>"
        figure = _figure(
            pngs[name],
            f"Bland-Altman, rules {label}",
            f"The PLM index of each night scored by {figures.rules_note(label)}: detected "
            "against reference, and their difference against their mean.",
        )
        # One rule set: the headline cards first, as the page always had them.
        across.append(heading + cards + figure if mixed else cards + heading + figure)
    night_pngs = []
    for night in nights:
        row = night["row"]
        name = _unused(f"figures/{row['night']}", pngs)
        pngs[name] = figures.to_png(
            night_figure(row["night"], night["units"], night["detected"], row["rules"])
        )
        night_pngs.append(
            _figure(
                pngs[name],
                row["night"],
                f"{row['night']}: reference events above, detected below; detected events "
                f"scored by {figures.rules_note(row['rules'])}.",
            )
        )
    columns = [
        "night",
        "rules",
        "lm_f1",
        "plm_f1",
        "jerk_f1",
        "plm_index_detected",
        "plm_index_reference",
        "periodicity_index_detected",
        "periodicity_index_reference",
        "total_sleep_h_detected",
        "total_sleep_h_reference",
    ]
    body = [
        [_fmt(v) if isinstance(v, float) else v for v in r]
        for r in rows[columns].itertuples(index=False)
    ]
    rules = list(parts)
    if mixed:
        said = "; ".join(
            f"{label}: {', '.join(rows.loc[rows['rules'] == label, 'night'])}" for label in rules
        )
        scored = (
            f"<p><b>The nights were scored by different rules ({escape(said)}). PLMs and the "
            "PLM index are what the rules define, so their agreement is given per rule set "
            + (
                "and not pooled across them; limb movements and jerks are pooled over all "
                "nights.</b></p>"
                if pooled["lm"]
                else "and not pooled across them, and so are limb movements, whose duration "
                "bounds differ; jerks are pooled over all nights.</b></p>"
            )
        )
        kinds = ("lm", "jerk") if pooled["lm"] else ("jerk",)
        cards = [_event_card(pooled, kind, "all nights") for kind in kinds]
    else:
        scored = ""
        cards = []
    sections = [
        "<h1>Validation against reference scoring</h1>",
        f"<p>{how_many(len(nights), 'night')}, scored by rules {escape(', '.join(rules))}; onset "
        f"tolerance {parameters['tolerance_s']:g} s for limb movements, "
        f"{parameters['jerk_tolerance_s']:g} s for jerks; clock offset "
        f"{parameters['offset_s']:g} s.</p>" + scored,
    ]
    if cards:
        sections.append('<div class="cards">' + "".join(cards) + "</div>")
    sections += across
    # Headers in words, which wrap (periodicity_index_reference did not: 1,650 px on a
    # desktop), and stacked on a phone.
    headers = [NIGHT_HEADERS.get(name, name) for name in columns]
    sections.append("<h2>Per night</h2>" + table(headers, body, stack=True))
    sections += night_pngs
    shown = set(pooled.get("warnings", []))
    warnings = [w for n in nights for w in n["warnings"] if w not in shown]
    if warnings:
        sections.append(
            "<h2>Warnings</h2><ul>"
            + "".join(f"<li>{escape(w)}</li>" for w in dict.fromkeys(warnings))
            + "</ul>"
        )
    sections.append(
        "<p>"
        + escape(
            "Published ankle-actigraphy studies report PLM index "
            "r 0.87-0.98 and, at 15/h, sensitivity 86-88 % and specificity 76-95 % "
            "against polysomnography."
        )
        + "</p>"
    )
    return {**pngs, "report.html": page("sleepmove validation", sections)}


def _fmt(value, spec=".2f"):
    return "n/a" if value is None else format(value, spec)


def _event_card(part: dict, kind: str, over: str) -> str:
    counts = part[kind]
    return card(
        f"{kind.upper()} F1 ({over})",
        _fmt(counts["f1"]),
        f"sensitivity {_fmt(counts['sensitivity'])}, precision {_fmt(counts['precision'])}",
    )


def _plm_cards(part: dict, rules: str, kinds: tuple[str, ...] = ("lm", "plm", "jerk")) -> list[str]:
    """F1 of `kinds` (LMs and jerks too where all nights share the rules; LMs where the
    rules' LM bounds differ), ICC and classification of the nights scored by `rules`, each
    card naming them."""
    over = f"pooled, rules {rules}"
    stats = part["plm_index"]
    cls = stats["classification"]
    icc_note = f"Pearson r {_fmt(stats['pearson_r'])}"
    if stats["icc_2_1"] is None:  # why, as validate found it (2 nights may vary, yet cancel)
        icc_note += f"; ICC undefined: {stats['icc_undefined']}"
    return [_event_card(part, kind, over) for kind in kinds] + [
        card(f"PLM index ICC(2,1), rules {rules}", _fmt(stats["icc_2_1"]), icc_note),
        card(
            f"Above {_thresholds(cls['threshold_per_h'])}, rules {rules}",
            f"accuracy {_fmt(cls['accuracy'])}",
            f"sensitivity {_fmt(cls['sensitivity'])}, specificity {_fmt(cls['specificity'])}",
        ),
    ]


NIGHT_HEADERS = {
    "lm_f1": "LM F1",
    "plm_f1": "PLM F1",
    "jerk_f1": "jerk F1",
    "plm_index_detected": "PLM index, detected",
    "plm_index_reference": "PLM index, reference",
    "periodicity_index_detected": "periodicity, detected",
    "periodicity_index_reference": "periodicity, reference",
    "total_sleep_h_detected": "total sleep h, detected",
    "total_sleep_h_reference": "total sleep h, reference",
}


def _thresholds(used: float | list[float]) -> str:
    """5/h; or, nights judged by different thresholds, "each night's threshold (5, 15/h)"."""
    if isinstance(used, list):
        return f"each night's threshold ({', '.join(f'{t:g}' for t in used)}/h)"
    return f"{used:g}/h"


def _figure(png: bytes, alt: str, caption: str) -> str:
    return f"<figure>{image(png, alt)}<figcaption>{escape(caption)}</figcaption></figure>"


def _slug(label: str) -> str:
    """A rules label as part of a file name: "wasm2016 (imi_max_s=30)" -> wasm2016_imi_max_s_30."""
    return re.sub(r"[^A-Za-z0-9.-]+", "_", label).strip("_")


def _unused(stem: str, taken: dict) -> str:
    """stem.png, or stem_2.png and on where taken: two nights' folders of one name (a/night,
    b/night) wrote one figure, and the page showed the second night's twice."""
    name, k = f"{stem}.png", 1
    while name in taken:
        k += 1
        name = f"{stem}_{k}.png"
    return name
