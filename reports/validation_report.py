"""Validation figures and page: agreement per night, Bland-Altman across nights."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sleepmove.reports import figures
from sleepmove.reports.html import card, escape, image, page, table


def bland_altman_figure(detected: np.ndarray, reference: np.ndarray, stats: dict):
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
    figure.tight_layout()
    return figure


def night_figure(name: str, reference: pd.DataFrame, detected: pd.DataFrame):
    plt = figures.plt
    figure, axis = plt.subplots(figsize=(11, 1.8))
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
                    label=label if lane == 1 else None,
                )
    axis.set_yticks([0, 1], ["detected", "reference"])
    axis.set_ylim(-0.6, 1.6)
    axis.set_xlabel("hours from the start of the recording")
    axis.set_title(f"{name}: both event sets")
    if axis.get_legend_handles_labels()[0]:
        axis.legend(
            frameon=False, fontsize=7, ncol=5, loc="upper center", bbox_to_anchor=(0.5, -0.5)
        )
    figure.tight_layout()
    return figure


def validation_files(nights: list[dict], pooled: dict, parameters: dict) -> dict[str, str | bytes]:
    rows = pd.DataFrame([n["row"] for n in nights])
    stats = pooled["plm_index"]
    both = rows.dropna(subset=["plm_index_detected", "plm_index_reference"])
    pngs = {
        "figures/bland_altman.png": figures.to_png(
            bland_altman_figure(
                both["plm_index_detected"].to_numpy(float),
                both["plm_index_reference"].to_numpy(float),
                stats,
            )
        )
    }
    for night in nights:
        name = night["row"]["night"]
        pngs[f"figures/{name}.png"] = figures.to_png(
            night_figure(name, night["units"], night["detected"])
        )
    cls = stats["classification"]

    def fmt(value, spec=".2f"):
        return "n/a" if value is None else format(value, spec)

    cards = [
        card(
            f"{kind.upper()} F1 (pooled)",
            fmt(pooled[kind]["f1"]),
            f"sensitivity {fmt(pooled[kind]['sensitivity'])}, "
            f"precision {fmt(pooled[kind]['precision'])}",
        )
        for kind in ("lm", "plm", "jerk")
    ]
    cards += [
        card("PLM index ICC(2,1)", fmt(stats["icc_2_1"]), f"Pearson r {fmt(stats['pearson_r'])}"),
        card(
            f"Above {cls['threshold_per_h']:g}/h",
            f"accuracy {fmt(cls['accuracy'])}",
            f"sensitivity {fmt(cls['sensitivity'])}, specificity {fmt(cls['specificity'])}",
        ),
    ]
    columns = [
        "night",
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
        [fmt(v) if isinstance(v, float) else v for v in r]
        for r in rows[columns].itertuples(index=False)
    ]
    sections = [
        "<h1>Validation against reference scoring</h1>",
        f"<p>{len(nights)} night(s); onset tolerance {parameters['tolerance_s']:g} s for limb "
        f"movements, {parameters['jerk_tolerance_s']:g} s for jerks; clock offset "
        f"{parameters['offset_s']:g} s.</p>",
        '<div class="cards">' + "".join(cards) + "</div>",
        "<h2>PLM index across nights</h2>"
        + image(pngs["figures/bland_altman.png"], "Bland-Altman"),
        "<h2>Per night</h2>" + table(columns, body),
    ]
    sections += [image(pngs[f"figures/{n['row']['night']}.png"], n["row"]["night"]) for n in nights]
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
