"""The night's figures (matplotlib, Agg): readable in grey scale and by colour-blind readers."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from detection.table import Table  # noqa: E402

# Okabe-Ito colours, each kind also with its own marker so grey print still separates them.
KIND_STYLE = {
    "lm": ("#0072B2", "o", "limb movement"),
    "jerk": ("#D55E00", "|", "brief jerk"),
    "movement": ("#000000", "s", "large movement"),
    "hft": ("#009E73", "^", "foot tremor (HFT)"),
    "alma": ("#CC79A7", "D", "ALMA"),
}
SIDE_STYLE = {"left": ("#0072B2", "<"), "right": ("#E69F00", ">"), "bilateral": ("#000000", "o")}
SLEEP_COLOUR = "#DDE6F0"
GAP_HATCH = "////"


def to_png(figure: plt.Figure) -> bytes:
    """PNG bytes without a timestamp or version in the metadata: the same night, the same file."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


def _hours(seconds: np.ndarray | float) -> np.ndarray | float:
    return np.asarray(seconds) / 3600.0


def _shade_sleep_and_gaps(axis, sleep_spans, gaps) -> None:
    for start, end in sleep_spans:
        axis.axvspan(_hours(start), _hours(end), color=SLEEP_COLOUR, zorder=0, lw=0)
    for start, end in gaps:
        axis.axvspan(
            _hours(start),
            _hours(end),
            facecolor="white",
            edgecolor="#777777",
            hatch=GAP_HATCH,
            zorder=3,
            lw=0,
        )


def timeline(
    units: Table,
    minutes: Table,
    sleep_spans: list[tuple[float, float]],
    gaps: np.ndarray,
    lanes: list[str],
    start_label: str,
) -> plt.Figure:
    """Activity, sleep (shaded), every event by kind per leg, PLM series, data gaps (hatched)."""
    figure, (top, bottom) = plt.subplots(
        2,
        1,
        figsize=(11, 2.4 + 0.6 * len(lanes)),
        sharex=True,
        gridspec_kw={"height_ratios": [2, max(len(lanes), 1)]},
    )
    hours = _hours(minutes["start_s"] + 30)
    activity = minutes["activity"] * 1000
    activity[minutes["data_loss_s"] >= 59] = np.nan  # no line across lost data
    _shade_sleep_and_gaps(top, sleep_spans, gaps)
    top.plot(hours, activity, color="#333333", lw=0.8)
    top.set_ylabel("activity (mg)")
    top.set_title("The night: sleep shaded, data gaps hatched, events per leg below")
    _shade_sleep_and_gaps(bottom, sleep_spans, gaps)
    for _, members in units[units["series"] >= 0].groups("series"):
        bottom.axvspan(
            _hours(members["onset_s"].min()),
            _hours(members["offset_s"].max()),
            color="#F0E442",
            alpha=0.5,
            zorder=1,
            lw=0,
        )
    for lane_index, lane in enumerate(lanes):
        in_lane = units[(units["side"] == lane) | ((units["side"] == "bilateral") & (lane != ""))]
        if lane == "":
            in_lane = units
        for kind, (colour, marker, label) in KIND_STYLE.items():
            rows = in_lane[in_lane["kind"] == kind]
            if len(rows):
                bottom.scatter(
                    _hours(rows["onset_s"]),
                    np.full(len(rows), lane_index),
                    c=colour,
                    marker=marker,
                    s=14,
                    lw=0.8,
                    zorder=4,
                    label=label if lane_index == 0 else None,
                )
    bottom.set_yticks(range(len(lanes)), [lane or "sensor" for lane in lanes])
    bottom.set_ylim(-0.7, len(lanes) - 0.3)
    bottom.set_xlabel(f"hours from the start ({start_label[:16].replace('T', ' ')})")
    handles, labels = bottom.get_legend_handles_labels()
    handles += [
        plt.Rectangle((0, 0), 1, 1, color="#F0E442", alpha=0.5),
        plt.Rectangle((0, 0), 1, 1, color=SLEEP_COLOUR),
        plt.Rectangle((0, 0), 1, 1, facecolor="white", edgecolor="#777777", hatch=GAP_HATCH),
    ]
    labels += ["PLM series", "sleep", "data gap"]
    figure.legend(handles, labels, loc="lower center", ncol=8, frameon=False, fontsize=8)
    figure.tight_layout(rect=(0, 0.08, 1, 1))
    return figure


def imi_histograms(imi: dict) -> plt.Figure:
    """IMI in 2 s bins over 0-90 s with the periodic range marked, and ln(IMI)."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 3.2))
    edges = np.array(imi["histogram_2s"]["bin_edges_s"])
    low, high = imi["periodic_range_s"]
    left.axvspan(
        low, high, color=SLEEP_COLOUR, zorder=0, lw=0, label=f"periodic {low:g}-{high:g} s"
    )
    left.bar(
        edges[:-1],
        imi["histogram_2s"]["counts"],
        width=2,
        align="edge",
        color="#0072B2",
        edgecolor="white",
        lw=0.3,
    )
    left.set_xlabel("interval between movement onsets (s)")
    left.set_ylabel("count")
    left.set_xlim(0, 90)
    left.legend(frameon=False, fontsize=8)
    log_edges = np.array(imi["log_histogram"]["bin_edges_ln_s"])
    right.axvspan(np.log(low), np.log(high), color=SLEEP_COLOUR, zorder=0, lw=0)
    right.bar(
        log_edges[:-1],
        imi["log_histogram"]["counts"],
        width=0.1,
        align="edge",
        color="#009E73",
        edgecolor="white",
        lw=0.3,
    )
    mean = imi.get("log_imi_mean")
    if mean is not None:
        right.axvline(mean, color="black", ls="--", lw=1, label=f"mean ln IMI {mean:.2f}")
        right.legend(frameon=False, fontsize=8)
    right.set_xlabel("ln(interval / s)")
    right.set_xlim(0, 4.5)
    figure.suptitle("Intervals between candidate limb movements in sleep")
    figure.tight_layout()
    return figure


def over_the_night(
    units: Table,
    minutes: Table,
    efm_spans_min: list[tuple[int, int, float]],
    threshold: float,
) -> plt.Figure:
    """PLM index per hour of the night, and brief jerks per minute with proxy EFM spans."""
    figure, (upper, lower) = plt.subplots(2, 1, figsize=(11, 4.6), sharex=True)
    n_hours = int(np.ceil(len(minutes) / 60))
    sleep_min = minutes["asleep"].astype(float)
    sleep_h = np.array([sleep_min[h * 60 : (h + 1) * 60].sum() / 60 for h in range(n_hours)])
    plm = units[units["periodic"] & units["clm"] & units["asleep"]]
    counts = np.bincount((plm["onset_s"] // 3600).astype(int), minlength=n_hours)[:n_hours]
    index = np.divide(counts, sleep_h, out=np.full(n_hours, np.nan), where=sleep_h >= 0.25)
    upper.bar(np.arange(n_hours) + 0.5, index, width=0.8, color="#0072B2")
    upper.axhline(threshold, color="black", ls="--", lw=1, label=f"{threshold:g}/h")
    upper.set_ylabel("PLM index (/h)")
    upper.legend(frameon=False, fontsize=8)
    upper.set_title("PLM index per hour of the night (hours with 15 min of sleep or more)")
    hours = _hours(minutes["start_s"] + 30)
    lower.plot(hours, minutes["jerks"], color="#D55E00", lw=0.8, drawstyle="steps-mid")
    for first, end, _ in efm_spans_min:
        lower.axvspan(
            first / 60,
            end / 60,
            facecolor="none",
            edgecolor="black",
            hatch="..",
            lw=0.5,
            label="≥ 5 jerks/min for ≥ 20 min (motion proxy)",
        )
    lower.set_ylabel("jerks per minute")
    lower.set_xlabel("hours from the start")
    if efm_spans_min:
        handles, labels = lower.get_legend_handles_labels()
        lower.legend(handles[:1], labels[:1], frameon=False, fontsize=8)
    figure.tight_layout()
    return figure


def side_raster(units: Table, alternation: float | None) -> plt.Figure:
    """One row per PLM series, one mark per movement, by leg."""
    series = units[units["series"] >= 0]
    ids = np.unique(series["series"])
    figure, axis = plt.subplots(figsize=(11, 1.2 + 0.18 * max(len(ids), 1)))
    row = np.searchsorted(ids, series["series"])
    position = _rank_within(row)  # order within the series
    sides = series["side"]
    # One scatter per leg, not per movement: a night's hundreds of marks draw at once.
    known = np.isin(sides, list(SIDE_STYLE))
    for side, (colour, marker) in [*SIDE_STYLE.items(), (None, ("#777777", "o"))]:
        mine = ~known if side is None else sides == side
        if side is None and not mine.any():
            continue
        axis.scatter(position[mine], row[mine], c=colour, marker=marker, s=22, label=side)
    axis.legend(frameon=False, fontsize=8, ncol=3, loc="upper right")
    axis.set_xlabel("movement within the series")
    axis.set_ylabel("series")
    axis.yaxis.set_major_locator(MaxNLocator(integer=True))
    text = "n/a" if alternation is None else f"{alternation:.2f}"
    axis.set_title(f"Legs of the movements in each PLM series (alternation index {text})")
    axis.invert_yaxis()
    figure.tight_layout()
    return figure


def _rank_within(group: np.ndarray) -> np.ndarray:
    """Each row's place among the earlier rows of its group (0 for the first)."""
    order = np.argsort(group, kind="stable")
    sorted_group = group[order]
    first = np.flatnonzero(np.r_[True, sorted_group[1:] != sorted_group[:-1]])
    group_start = np.repeat(first, np.diff(np.r_[first, len(group)]))
    rank = np.empty(len(group), dtype=np.intp)
    rank[order] = np.arange(len(group)) - group_start
    return rank
