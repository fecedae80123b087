"""Many nights side by side: nights.csv, a trend plot and report.html."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from sleepmove.reports import figures
from sleepmove.reports.diary import DiaryEntry, change_dates, compare, diary_html, night_tags
from sleepmove.reports.html import card, escape, page, picture, table
from sleepmove.reports.readable import duration

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
    "tags",  # from --diary; empty without one
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
                "tags": "",
            }
        )
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.sort_values(["start", "night"], kind="stable").reset_index(drop=True)


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


# Nights scored by different rules: one mark per rule set, the same in both plots (the first
# filled, the others hollow, so grey print still tells them apart).
RULE_MARKERS = ("o", "D", "^", "v", "P", "X")
PLM_COLOUR, PI_COLOUR = "#0072B2", "#009E73"


def trend_figure(
    nights: pd.DataFrame,
    threshold: float,
    shape: figures.Shape = figures.WIDE,
    changes: list[date] | None = None,
):
    """PLM and periodicity index on a date axis; unreliable periodicity left out. Nights with
    diary tags (a `tags` column) marked at the top; `changes` (dates) as dotted lines at the
    midnight that opens each date, between the nights before and those from then on.

    The rule set (the `rules` column) is named at the top; nights scored by different rule
    sets get a mark per rule set, named in a legend above the plots, and a line joins only
    nights scored alike."""
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
    rules = nights["rules"].astype(str).to_numpy()
    names = sorted(set(rules[dated]))  # in the order the page lists them
    mixed = len(names) > 1
    plm = nights["plm_index"].astype(float).to_numpy()
    pi = _reliable_pi(nights).to_numpy()
    for k, name in enumerate(names):  # a loop over rule sets
        mine = [i for i in dated if rules[i] == name]
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
            gid=figures.rules_note(name),
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
            gid=figures.rules_note(name),
        )
    _name_rules(figure, names, shape)
    upper.axhline(threshold, color="black", ls="--", lw=1, label=f"{threshold:g}/h")
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


def _rules_caption(shown: pd.DataFrame) -> str:
    """What the figure says of the rules, of the nights it plots (those with a date): an
    undated night scored by other rules had the caption promise marks the figure lacked."""
    dated = [d is not None for d in _night_dates(shown)]
    names = sorted(set(shown["rules"].astype(str)[dated]))
    if len(names) > 1:
        return (
            f"Nights scored by different rules ({escape(', '.join(names))}) have a mark "
            "each, named above the plots; a line joins only nights scored alike."
        )
    return f"Scored by {escape(figures.rules_note(names[0]))}." if names else ""


def _name_rules(figure, names: list[str], shape: figures.Shape) -> None:
    """One rule set: named at the top right, as on a night's figures. Several: a legend of
    their marks above both plots. Either carries the gid "rules" that tests read."""
    plt = figures.plt
    if len(names) <= 1:
        figure.suptitle(
            figures.rules_note(names[0]) if names else "",
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
        [figures.rules_note(name) for name in names],
        loc="outside upper center",
        ncols=len(names),
        frameon=False,
        title="nights scored by different rules",
        title_fontsize=shape.font_pt,
    ).set_gid("rules")


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
    the nights before and after each noted change compared."""
    nights = nights_table(summaries)
    days = [d.date() if d is not None else None for d in _night_dates(nights)]
    if diary is not None:
        nights["tags"] = night_tags(days, diary)
    first = next(iter(summaries.values()))
    threshold = first["assessment"]["threshold_per_h"]
    csv = io.StringIO()
    nights.to_csv(csv, index=False, lineterminator="\n")
    # Beside the contract's columns, only for the page: what each night says of itself.
    shown = nights.copy()
    shown["pi_reliable"] = [
        bool(summaries[n].get("periodicity_index_reliable", True)) for n in nights["night"]
    ]
    shown["in_bed"] = [summaries[n].get("plm_index_in_bed") for n in nights["night"]]
    shown["periodicity_index"] = _reliable_pi(shown)
    numeric = shown[
        ["plm_index", "in_bed", "periodicity_index", "jerk_rate_per_min", "total_sleep_h"]
    ].astype(float)
    numeric["data_loss_h"] = shown["data_loss_h"].astype(float)
    stats = pd.DataFrame({"mean": numeric.mean(), "sd": numeric.std(ddof=1)})
    changes = change_dates(diary) if diary else []
    shapes = figures.render(lambda shape: trend_figure(shown, threshold, shape, changes))
    diary_part = ""
    if diary is not None:
        values = {name: numeric[name].to_numpy() for name in numeric}
        diary_part = diary_html(days, diary, compare(days, values, diary))
    png = shapes["wide"][0]
    rules = sorted(set(nights["rules"]))
    warning = (
        f"<p><b>The nights were scored with different rules ({', '.join(rules)}): their indices "
        "are not directly comparable.</b></p>"
        if len(rules) > 1
        else ""
    )
    few = len(nights) < 3
    plm = shown["plm_index"].astype(float)
    unreliable = int((~shown["pi_reliable"]).sum())
    cards = [
        card("Nights", str(len(nights)), "fewer than 3: too few to judge" if few else "", few),
        card(
            "PLM index",
            f"{_fmt(stats.loc['plm_index', 'mean'])} /h",
            f"mean; SD {_fmt(stats.loc['plm_index', 'sd'])}; threshold {threshold:g}/h",
        ),
        card(
            "Periodicity index",
            _fmt(stats.loc["periodicity_index", "mean"], ".2f"),
            f"mean; SD {_fmt(stats.loc['periodicity_index', 'sd'], '.2f')}"
            + (f"; {unreliable} night(s) left out: too few movements" if unreliable else ""),
        ),
        card(
            "Total sleep",
            duration(stats.loc["total_sleep_h", "mean"] * 3600),
            f"mean; SD {duration(stats.loc['total_sleep_h', 'sd'] * 3600)}",
        ),
    ]
    html = page(
        "sleepmove nights",
        [
            "<h1>Sleep movements, night by night</h1>",
            f"<p>{_span_in_words(shown)} Rules: {escape(', '.join(rules))}.</p>" + warning,
            '<div class="cards">' + "".join(cards) + "</div>",
            f"<p>{escape(_spread_in_words(plm, threshold) + _shared_dates(shown))}</p>",
            f"<h2>Read this first</h2><p>{escape(VARIABILITY)}</p>",
            "<h2>Trend</h2>"
            + picture(
                shapes,
                "trend over nights",
                f"Each night on its date (dashed: the {threshold:g}/h threshold). A missing "
                "night leaves a gap; the periodicity index of a night with too few movements "
                "to judge is left out, here and in the mean. "
                + _rules_caption(shown)
                + (
                    " ▼: a night with a diary entry; dotted line: a change noted in the diary, "
                    "from that date on."
                    if diary
                    else ""
                ),
            ),
            diary_part,
            "<h2>Nights</h2>" + _nights_html(shown, with_tags=diary is not None),
            "<h2>Mean and SD</h2>"
            + table(
                ["measure", "mean", "SD"],
                [
                    [LABELS[name][0], *_stat(name, r["mean"]), *_stat(name, r["sd"])]
                    for name, r in stats.iterrows()
                ],
            ),
            "<p>The per-night figures are in nights.csv; each night's own report.html explains "
            "every term.</p>",
        ],
    )
    return {"nights.csv": csv.getvalue(), "figures/trend.png": png, "report.html": html}


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


def _span_in_words(shown: pd.DataFrame) -> str:
    dates = [d for d in _night_dates(shown) if d is not None]
    if not dates:
        return ""
    first, last = min(dates), max(dates)
    return escape(
        f"{len(shown)} nights from {first:%-d %b %Y} to {last:%-d %b %Y} "
        f"({(last - first).days + 1} days)."
    )


def _spread_in_words(plm: pd.Series, threshold: float) -> str:
    """How the nights spread, in words: 3 of 5 nights above 15/h; from 9 to 41/h."""
    known = plm.dropna()
    if known.empty:
        return "No night had a PLM index (no sleep was found)."
    above = int((known > threshold).sum())
    return (
        f"{above} of {len(known)} nights above {threshold:g}/h; the PLM index ranged from "
        f"{known.min():.0f} to {known.max():.0f}/h (median {known.median():.0f}/h)."
    )


def _shared_dates(shown: pd.DataFrame) -> str:
    """Two recordings on one night: said, since the figure sets them a few hours apart."""
    dates = [d for d in _night_dates(shown) if d is not None]
    shared = sorted({d for d in dates if dates.count(d) > 1})
    if not shared:
        return ""
    days = ", ".join(f"{d:%-d %b}" for d in shared)
    return f" More than one recording on the night of {days}: each is shown on its own."


def _nights_html(shown: pd.DataFrame, with_tags: bool = False) -> str:
    """One row per night, in words; on a phone each night becomes a short block. With a
    diary, a last column of the night's tags."""
    dates = _night_dates(shown)
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
        rows.append(
            [
                label,
                escape(_fmt(row.plm_index) + " /h"),
                escape(_fmt(row.in_bed) + " /h"),
                escape(_fmt(pi, ".2f") if pi == pi else "too few to judge"),
                escape(_fmt(row.jerk_rate_per_min) + " /min"),
                escape(duration(row.total_sleep_h * 3600)),
                escape(duration(row.data_loss_h * 3600)),
                *([escape(row.tags)] if with_tags else []),
            ]
        )
    headers = ["Night", *[LABELS[k][0] for k in list(LABELS)], *(["Diary"] if with_tags else [])]
    return table(headers, rows, stack=True, raw=True, numeric={1, 2, 3, 4, 5, 6})


def _fmt(value, spec: str = ".1f") -> str:
    return (
        "n/a"
        if value is None or (isinstance(value, float) and np.isnan(value))
        else format(value, spec)
    )
