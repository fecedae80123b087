"""One night's report: figures as PNG files for papers, and one self-contained report.html."""

from __future__ import annotations

import json
import platform

import numpy as np

from detection.night import NightScore
from detection.table import Table
from reports import figures
from reports.clock import iso_time
from reports.html import card, escape, image, page, table

SIDE_LETTER = {"left": "L", "right": "R", "bilateral": "B", "": "·"}


def night_report_files(
    score: NightScore,
    summary: dict,
    lanes: list[str],
    gaps_s: np.ndarray,
    origin_s: float,
    clock: str,
) -> dict[str, bytes | str]:
    """{relative path: content} for figures/*.png and report.html."""
    units, minutes = score.units, score.minutes
    start_label = summary["recording"]["start"] or "no clock time"
    sleep_spans = _spans(score.sleep.asleep, score.sleep.epoch_s)
    threshold = summary["assessment"]["threshold_per_h"]
    pngs = {
        "figures/timeline.png": figures.to_png(
            figures.timeline(units, minutes, sleep_spans, gaps_s, lanes, start_label)
        ),
        "figures/imi.png": figures.to_png(figures.imi_histograms(score.imi)),
        "figures/over_the_night.png": figures.to_png(
            figures.over_the_night(units, minutes, score.efm_spans_min, threshold)
        ),
    }
    if len(lanes) == 2:
        pngs["figures/sides.png"] = figures.to_png(
            figures.side_raster(units, summary["alternation_index"])
        )
    html = _html(summary, units, pngs, origin_s, clock)
    return {**pngs, "report.html": html}


def _spans(mask: np.ndarray, epoch_s: float) -> list[tuple[float, float]]:
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return [
        (a * epoch_s, b * epoch_s)
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1))
    ]


def _fmt(value, spec: str, missing: str = "n/a") -> str:
    return missing if value is None else format(value, spec)


def _headline(summary: dict) -> str:
    rules = summary["criteria"]["name"]
    assessment = summary["assessment"]
    threshold = assessment["threshold_per_h"]
    sleep = summary["sleep"]
    recording = summary["recording"]
    loss_share = (
        recording["data_loss_h"] / recording["duration_h"] if recording["duration_h"] else 0
    )
    efm = len(summary["efm_proxy"]["spans"])
    cards = [
        card(
            "PLM index (sleep)",
            f"{_fmt(summary['plm_index'], '.1f')} /h",
            f"threshold {threshold:g}/h ({assessment['age_group']}), rules {rules}",
            bool(assessment["plm_index_above_threshold"]),
        ),
        card(
            "Periodicity index",
            _fmt(summary["periodicity_index"], ".2f"),
            "Ferri 2006, 0-1"
            + ("" if summary["periodicity_index_reliable"] else "; not meaningful under 10 LMs/h"),
        ),
        card(
            "PLM index (in bed)",
            f"{_fmt(summary['plm_index_in_bed'], '.1f')} /h",
            f"all PLMs per hour in bed ({sleep['in_bed_h']:.2f} h): no sleep estimate needed",
            bool(summary["sleep_estimate_drives_plm_index"]),
        ),
        card("PLMW index (wake)", f"{_fmt(summary['plmw_index'], '.1f')} /h", f"rules {rules}"),
        card(
            "Brief jerks in sleep",
            f"{_fmt(summary['jerk_rate_per_min'], '.2f')} /min",
            f"{efm} span(s) ≥ 5/min for ≥ 20 min (motion proxy of EFM)",
            efm > 0,
        ),
        card(
            "Total sleep",
            f"{sleep['total_sleep_h']:.2f} h",
            (
                "estimated from movement"
                if sleep["source"] == "estimated"
                else "within the given window"
            )
            + f"; model sure of {sleep['confidence']:.0%} of the epochs, "
            f"{sleep['total_sleep_h_range'][0]:.1f}-{sleep['total_sleep_h_range'][1]:.1f} h",
            sleep["confidence"] < 0.8,
        ),
        card(
            "Data loss",
            f"{recording['data_loss_h'] * 60:.1f} min",
            f"{loss_share:.1%} of {recording['duration_h']:.2f} h",
            loss_share > 0.05,
        ),
    ]
    return '<div class="cards">' + "".join(cards) + "</div>"


def _series_table(units: Table, origin_s: float, clock: str) -> str:
    rows = []
    for series_id, members in units[units["series"] >= 0].groups("series"):
        sides = "".join(SIDE_LETTER.get(s, "?") for s in members["side"])
        imi = members["imi_s"][1:]
        rows.append(
            [
                int(series_id) + 1,
                iso_time(float(members["onset_s"][0]), origin_s, clock)
                or f"{members['onset_s'][0]:.0f} s",
                len(members),
                f"{(members['offset_s'].max() - members['onset_s'].min()) / 60:.1f}",
                f"{imi.mean():.1f}" if len(imi) else "",
                sides if len(sides) <= 40 else sides[:40] + "…",
            ]
        )
    if not rows:
        return "<p>No PLM series.</p>"
    return table(["series", "start", "movements", "length (min)", "mean IMI (s)", "legs"], rows)


def _hypnic_table(units: Table, origin_s: float, clock: str) -> str:
    jerks = units[units["hypnic"].astype(bool)]
    if len(jerks) == 0:
        return "<p>No hypnic jerks at the sleep-onset transitions.</p>"
    rows = [
        [
            iso_time(float(onset), origin_s, clock) or f"{onset:.1f} s",
            side or "sensor",
            f"{peak:.2f}",
            f"{duration:.2f}",
        ]
        for onset, side, peak, duration in zip(  # a loop over jerks
            jerks["onset_s"], jerks["side"], jerks["peak_g"], jerks["duration_s"]
        )
    ]
    return table(["time", "leg", "peak (g)", "duration (s)"], rows)


def _versions(summary: dict) -> dict:
    import matplotlib

    return {
        "sleepmove": summary["software"]["version"],
        "python": platform.python_version(),
        "numpy": np.__version__,
        "matplotlib": matplotlib.__version__,
    }


def _html(summary: dict, units: Table, pngs: dict, origin_s: float, clock: str) -> str:
    statements = "".join(f"<li>{escape(s)}</li>" for s in summary["assessment"]["statements"])
    caveats = "".join(f"<li>{escape(c)}</li>" for c in summary["assessment"]["caveats"])
    files = ", ".join(summary["recording"]["files"].values())
    sections = [
        "<h1>Sleep movements</h1>",
        f"<p>{escape(files)} · start {escape(summary['recording']['start'] or 'unknown')} · "
        f"{summary['recording']['duration_h']:.2f} h · rules "
        f"<b>{escape(summary['criteria']['name'])}</b> "
        f"({escape(summary['criteria']['reference'])})</p>",
        _headline(summary),
        f"<h2>What this night shows</h2><ul>{statements}</ul>",
        f'<h2>Read this first</h2><ul class="caveats">{caveats}</ul>',
        "<h2>The night</h2>" + image(pngs["figures/timeline.png"], "night timeline"),
        "<h2>Intervals</h2>" + image(pngs["figures/imi.png"], "IMI histograms"),
        "<h2>Over the night</h2>"
        + image(pngs["figures/over_the_night.png"], "PLM index per hour and jerks per minute"),
    ]
    if "figures/sides.png" in pngs:
        sections.append(
            "<h2>Left and right</h2>" + image(pngs["figures/sides.png"], "legs in each PLM series")
        )
    sections += [
        "<h2>PLM series</h2>" + _series_table(units, origin_s, clock),
        "<h2>Hypnic jerks</h2>" + _hypnic_table(units, origin_s, clock),
        "<h2>Parameters and versions</h2><pre>"
        + escape(
            json.dumps({"criteria": summary["criteria"], "versions": _versions(summary)}, indent=1)
        )
        + "</pre>",
    ]
    return page("sleepmove night report", sections)
