"""Many nights side by side: nights.csv, a trend plot and report.html."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from reports import figures
from reports.html import card, escape, image, page, table

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
]
VARIABILITY = (
    "The PLM index varies a lot from night to night in the same person: read one night with "
    "care, and collect several nights (3-5) before reading much into it. The periodicity index "
    "and the mean log-IMI are the steadier measures."
)


def nights_table(summaries: dict[str, dict]) -> pd.DataFrame:
    rows = []
    for name, summary in summaries.items():
        rows.append(
            {
                "night": name,
                "start": summary["recording"]["start"] or "",
                "rules": summary["criteria"]["name"],
                "plm_index": summary["plm_index"],
                "plmw_index": summary["plmw_index"],
                "periodicity_index": summary["periodicity_index"],
                "log_imi_mean": summary["imi"]["log_imi_mean"],
                "jerk_rate_per_min": summary["jerk_rate_per_min"],
                "total_sleep_h": summary["sleep"]["total_sleep_h"],
                "data_loss_h": summary["recording"]["data_loss_h"],
            }
        )
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.sort_values(["start", "night"], kind="stable").reset_index(drop=True)


def trend_figure(nights: pd.DataFrame, threshold: float):
    plt = figures.plt
    figure, (upper, lower) = plt.subplots(2, 1, figsize=(10, 5), sharex=True)
    x = np.arange(len(nights))
    upper.plot(x, nights["plm_index"].astype(float), "o-", color="#0072B2", label="PLM index")
    upper.axhline(threshold, color="black", ls="--", lw=1, label=f"{threshold:g}/h")
    upper.set_ylabel("PLM index (/h)")
    upper.legend(frameon=False, fontsize=8)
    lower.plot(
        x,
        nights["periodicity_index"].astype(float),
        "s-",
        color="#009E73",
        label="periodicity index",
    )
    lower.set_ylim(0, 1.05)
    lower.set_ylabel("periodicity index")
    lower.legend(frameon=False, fontsize=8, loc="lower left")
    labels = [s[:10] if s else n for s, n in zip(nights["start"], nights["night"])]
    lower.set_xticks(x, labels, rotation=30, ha="right", fontsize=8)
    upper.set_title("Night by night")
    figure.tight_layout()
    return figure


def trend_files(summaries: dict[str, dict]) -> dict[str, str | bytes]:
    nights = nights_table(summaries)
    first = next(iter(summaries.values()))
    threshold = first["assessment"]["threshold_per_h"]
    numeric = nights.drop(columns=["night", "start", "rules"]).astype(float)
    stats = pd.DataFrame({"mean": numeric.mean(), "sd": numeric.std(ddof=1)})
    png = figures.to_png(trend_figure(nights, threshold))
    csv = io.StringIO()
    nights.to_csv(csv, index=False, lineterminator="\n")
    rules = sorted(set(nights["rules"]))
    warning = (
        f"<p><b>The nights were scored with different rules ({', '.join(rules)}): their indices "
        "are not directly comparable.</b></p>"
        if len(rules) > 1
        else ""
    )
    few = len(nights) < 3
    cards = [
        card("Nights", str(len(nights)), "fewer than 3: too few to judge" if few else "", few),
        card(
            "PLM index",
            f"{stats.loc['plm_index', 'mean']:.1f} /h",
            f"mean; SD {_fmt(stats.loc['plm_index', 'sd'])}; threshold {threshold:g}/h",
        ),
        card(
            "Periodicity index",
            _fmt(stats.loc["periodicity_index", "mean"], ".2f"),
            f"mean; SD {_fmt(stats.loc['periodicity_index', 'sd'], '.2f')}",
        ),
        card(
            "Total sleep",
            f"{stats.loc['total_sleep_h', 'mean']:.2f} h",
            f"mean; SD {_fmt(stats.loc['total_sleep_h', 'sd'], '.2f')}",
        ),
    ]
    rows = [
        [_fmt(v, ".2f") if isinstance(v, float) else v for v in row]
        for row in nights.itertuples(index=False)
    ]
    stat_rows = [
        [name, _fmt(r["mean"], ".2f"), _fmt(r["sd"], ".2f")] for name, r in stats.iterrows()
    ]
    html = page(
        "sleepmove nights",
        [
            "<h1>Sleep movements, night by night</h1>",
            f"<p>Rules: {escape(', '.join(rules))}.</p>" + warning,
            '<div class="cards">' + "".join(cards) + "</div>",
            f"<h2>Read this first</h2><p>{escape(VARIABILITY)}</p>",
            "<h2>Trend</h2>" + image(png, "trend over nights"),
            "<h2>Nights</h2>" + table(COLUMNS, rows),
            "<h2>Mean and SD</h2>" + table(["measure", "mean", "SD"], stat_rows),
        ],
    )
    return {"nights.csv": csv.getvalue(), "figures/trend.png": png, "report.html": html}


def _fmt(value, spec: str = ".1f") -> str:
    return (
        "n/a"
        if value is None or (isinstance(value, float) and np.isnan(value))
        else format(value, spec)
    )
