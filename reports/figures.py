"""The night's figures (matplotlib, Agg): readable in grey scale and by colour-blind readers."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from sleepmove.detection.table import Table  # noqa: E402
from sleepmove.reports.readable import LocalClock  # noqa: E402

# Okabe-Ito colours, each kind also with its own marker so grey print still separates them.
KIND_STYLE = {
    "lm": ("#0072B2", "o", "limb movement"),
    "jerk": ("#D55E00", "|", "brief jerk"),
    "movement": ("#000000", "s", "large movement"),
    "hft": ("#009E73", "^", "foot tremor (HFT)"),
    "alma": ("#CC79A7", "D", "ALMA"),
    "cramp": ("#56B4E9", "v", "leg cramp (candidate)"),
}
SIDE_STYLE = {"left": ("#0072B2", "<"), "right": ("#E69F00", ">"), "bilateral": ("#000000", "o")}
SLEEP_COLOUR = "#DDE6F0"
GAP_HATCH = "////"


@dataclass(frozen=True)
class Shape:
    """A figure's size for one kind of screen: its smallest text is `font_pt`, and the page
    shows it at most `width_in` * 72 CSS px wide, so text stays >= 11 CSS px on that screen."""

    name: str
    width_in: float
    font_pt: float
    dpi: int

    @property
    def phone(self) -> bool:
        return self.name == "phone"

    @property
    def text_px(self) -> float:
        """The smallest text's height in the PNG's pixels."""
        return self.font_pt * self.dpi / 72


# Wide: 10 in at 110 dpi is 1100 px, shown at up to its own size; from 821 px windows (797 px
# of page) its 10 pt text is >= 11 px. Phone: 4 in shown about 388 px wide at 412 px: 9 pt
# text is 12 px; 150 dpi keeps it sharp on phones' denser screens.
WIDE = Shape("wide", 10.0, 10.0, 110)
PHONE = Shape("phone", 4.0, 9.0, 150)
SHAPES = (WIDE, PHONE)


def _style(shape: Shape) -> dict:
    size = shape.font_pt
    return {
        "font.size": size,
        "axes.labelsize": size,
        "axes.titlesize": size,
        "xtick.labelsize": size,
        "ytick.labelsize": size,
        "legend.fontsize": size,
    }


def render(draw: Callable[[Shape], plt.Figure]) -> dict[str, tuple[bytes, float]]:
    """{shape name: (PNG, smallest text in PNG pixels)} for each shape of screen."""
    shown = {}
    for shape in SHAPES:  # a loop over shapes
        with plt.rc_context(_style(shape)):
            figure = draw(shape)
            shown[shape.name] = (to_png(figure, shape.dpi), shape.text_px)
    return shown


def to_png(figure: plt.Figure, dpi: int = WIDE.dpi) -> bytes:
    """PNG bytes without a timestamp or version in the metadata: the same night, the same file."""
    buffer = io.BytesIO()
    # zlib level 1: a fifth of the encoding time for files a fifth larger (two per figure now)
    figure.savefig(
        buffer,
        format="png",
        dpi=dpi,
        metadata={"Software": None},
        pil_kwargs={"compress_level": 1},
    )
    plt.close(figure)
    return buffer.getvalue()


# The rule set that scored a figure's movements, named on one line at the figure's top right
# in its smallest text: the same night under other rules may draw alike.
NOTE_PAD_IN = 0.05  # above the line, and again below it


def rules_note(rules: str) -> str:
    """The words that name the rule set in a figure and its caption: "rules wasm2016"."""
    return f"rules {rules}"


def note_in(shape: Shape) -> float:
    """The height in inches the rules' line takes at a figure's top."""
    return 2 * NOTE_PAD_IN + shape.font_pt * 1.25 / 72


def _name_rules(figure: plt.Figure, rules: str, shape: Shape, right: float = 0.15) -> None:
    """The rule set on a line of its own above the plots (the figure's top gives it room);
    its gid, "rules", lets a test find it."""
    width, height = figure.get_size_inches()
    figure.text(
        1 - right / width,
        1 - NOTE_PAD_IN / height,
        rules_note(rules),
        ha="right",
        va="top",
        fontsize=shape.font_pt,
        color="#333333",
        gid="rules",
    )


def _hours(seconds: np.ndarray | float) -> np.ndarray | float:
    return np.asarray(seconds) / 3600.0


def clock_ticks(clock: LocalClock | None, duration_s: float, phone: bool) -> tuple[list, list]:
    """Tick positions (hours from the start) at whole local hours, and their labels."""
    hours = duration_s / 3600
    if hours < 2:  # a short recording: whole local hours left it without a single tick
        return _minute_ticks(clock, duration_s, phone)
    step = 1 if hours <= (4 if phone else 10) else 2 if hours <= (10 if phone else 20) else 4
    if phone and hours > 16:
        step = 6
    if clock is None or clock.relative:
        positions = list(range(0, int(hours) + 1, step))
        return positions, [f"{h} h" for h in positions]
    positions, labels = [], []
    first = -(clock.origin_s % 900)  # local hours fall on quarter hours of absolute time
    for quarter in np.arange(first, duration_s + 1, 900.0):  # a loop over quarter hours
        moment = clock.moment(float(quarter))
        if quarter >= 0 and moment.minute == 0 and moment.hour % step == 0:
            positions.append(quarter / 3600)
            labels.append(moment.strftime("%H:%M"))
    return positions, labels


def _minute_ticks(clock: LocalClock | None, duration_s: float, phone: bool) -> tuple[list, list]:
    """Ticks every 1, 2, 5, 10, 15 or 30 minutes for a recording under two hours: at most 4
    on a phone, 8 wide; at whole local minutes of the step (every zone's offset is whole minutes
    of them), or from the start where there is no clock."""
    most = 4 if phone else 8
    step = next((m for m in (1, 2, 5, 10, 15, 30) if duration_s / 60 / m <= most), 60) * 60
    relative = clock is None or clock.relative
    first = 0.0 if relative else -(clock.origin_s % 60)
    positions, labels = [], []
    for at in np.arange(first, duration_s + 1, 60.0):  # a loop over minutes (under 120)
        if at < 0:
            continue
        if relative:
            if at % step == 0:
                positions.append(at / 3600)
                labels.append(f"{int(at // 60)} min")
            continue
        moment = clock.moment(float(at))
        if (moment.hour * 60 + moment.minute) % (step // 60) == 0:
            positions.append(at / 3600)
            labels.append(moment.strftime("%H:%M"))
    return positions, labels


def _time_axis(axis, clock: LocalClock | None, duration_s: float, shape: Shape) -> None:
    positions, labels = clock_ticks(clock, duration_s, shape.phone)
    # A label centred on the right edge was cut in half ("04:0"): ticks there are left out.
    inside = [p * 3600 < 0.98 * duration_s for p in positions]
    if any(inside):
        positions = [p for p, keep in zip(positions, inside) if keep]
        labels = [text for text, keep in zip(labels, inside) if keep]
    axis.set_xticks(positions, labels)
    axis.set_xlim(0, duration_s / 3600)
    if clock is None or clock.relative:
        axis.set_xlabel("from the start")


def _margins(
    figure: plt.Figure,
    left: float,
    bottom: float,
    top: float = 0.12,
    right: float = 0.15,
    gap: float = 0.0,
) -> None:
    """Fixed margins in inches: a layout engine measuring every label cost as much as drawing
    (0.05 s a figure); the labels here are short and of known size."""
    width, height = figure.get_size_inches()
    figure.subplots_adjust(
        left=left / width,
        right=1 - right / width,
        bottom=bottom / height,
        top=1 - top / height,
        hspace=gap / ((height - top - bottom) / max(len(figure.axes), 1)) if gap else None,
        wspace=gap / ((width - left - right) / 2) if gap else None,
    )


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
    clock: LocalClock | None = None,
    shape: Shape = WIDE,
    *,
    rules: str,
) -> plt.Figure:
    """Activity, sleep (shaded), every event by kind per leg, PLM series, data gaps (hatched);
    the rule set that scored the series named at the top."""
    note = note_in(shape)
    figure, (top, bottom) = plt.subplots(
        2,
        1,
        figsize=(shape.width_in, (3.6 if shape.phone else 2.6) + 0.45 * len(lanes) + note),
        sharex=True,
        gridspec_kw={"height_ratios": [2, max(len(lanes), 1)]},
    )
    duration_s = float(len(minutes) * 60)
    hours = _hours(minutes["start_s"] + 30)
    activity = minutes["activity"] * 1000
    activity[minutes["data_loss_s"] >= 59] = np.nan  # no line across lost data
    _shade_sleep_and_gaps(top, sleep_spans, gaps)
    top.plot(hours, activity, color="#333333", lw=0.8)
    top.set_ylabel("activity (mg)")
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
    bottom.set_yticks(range(len(lanes)), [lane or "leg" for lane in lanes])
    bottom.set_ylim(-0.7, len(lanes) - 0.3)
    _time_axis(bottom, clock, duration_s, shape)
    handles, labels = bottom.get_legend_handles_labels()
    handles += [
        plt.Rectangle((0, 0), 1, 1, color="#F0E442", alpha=0.5),
        plt.Rectangle((0, 0), 1, 1, color=SLEEP_COLOUR),
        plt.Rectangle((0, 0), 1, 1, facecolor="white", edgecolor="#777777", hatch=GAP_HATCH),
    ]
    labels += ["PLM series", "sleep", "data gap"]
    ncol = 2 if shape.phone else 4
    line_in = shape.font_pt * 1.45 / 72
    rows = -(-len(labels) // ncol)
    figure.legend(handles, labels, loc="lower center", ncol=ncol, frameon=False, borderaxespad=0.2)
    _margins(figure, left=0.8, bottom=0.35 + rows * line_in + 0.1, top=0.12 + note, gap=0.12)
    _name_rules(figure, rules, shape)
    return figure


def imi_histograms(imi: dict, shape: Shape = WIDE, *, rules: str) -> plt.Figure:
    """IMI in 2 s bins over 0-90 s with the periodic range marked, and ln(IMI); the rule set
    whose periodic range it is named at the top."""
    note = note_in(shape)
    if shape.phone:
        figure, (left, right) = plt.subplots(2, 1, figsize=(shape.width_in, 5.0 + note))
        figure.subplots_adjust(hspace=0.45)
    else:
        figure, (left, right) = plt.subplots(1, 2, figsize=(shape.width_in, 3.2 + note))
    edges = np.array(imi["histogram_2s"]["bin_edges_s"])
    low, high = imi["periodic_range_s"]
    left.axvspan(
        low, high, color=SLEEP_COLOUR, zorder=0, lw=0, label=f"periodic {low:g}-{high:g} s"
    )
    # One outline per histogram, not a patch per bin: half the drawing time.
    left.stairs(imi["histogram_2s"]["counts"], edges, fill=True, color="#0072B2")
    left.set_xlabel("seconds between movement starts")
    left.set_ylabel("count")
    left.set_xlim(0, 90)
    left.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    right.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    if shape.phone:  # fewer ticks keep the numbers apart on a narrow figure
        left.set_xticks(range(0, 91, 15))
        right.set_xticks(np.arange(0, 4.6, 1.0))
    left.legend(frameon=False)
    log_edges = np.array(imi["log_histogram"]["bin_edges_ln_s"])
    right.axvspan(np.log(low), np.log(high), color=SLEEP_COLOUR, zorder=0, lw=0)
    right.stairs(imi["log_histogram"]["counts"], log_edges, fill=True, color="#009E73")
    mean = imi.get("log_imi_mean")
    if mean is not None:
        right.axvline(
            mean, color="black", ls="--", lw=1, label=f"mean {mean:.1f} ({np.exp(mean):.0f} s)"
        )
        right.legend(frameon=False, loc="upper left")
    right.set_xlabel("ln(seconds between)")
    right.set_ylabel("count")
    right.set_xlim(0, 4.5)
    for axes, counts in (
        (left, imi["histogram_2s"]["counts"]),
        (right, imi["log_histogram"]["counts"]),
    ):
        if not np.any(counts):  # an empty histogram's axis ran from -0.05 (negative counts)
            axes.set_ylim(0, 1)
            axes.text(0.5, 0.5, "no intervals", transform=axes.transAxes, ha="center", va="center")
        else:
            axes.set_ylim(bottom=0)
    if shape.phone:
        width, height = figure.get_size_inches()
        figure.subplots_adjust(
            left=0.6 / width,
            right=1 - 0.2 / width,
            bottom=0.5 / height,
            top=1 - (0.1 + note) / height,
            hspace=0.75 / ((height - 0.6 - note) / 2),
        )
    else:
        _margins(figure, left=0.65, bottom=0.55, top=0.12 + note, right=0.2, gap=0.8)
    _name_rules(figure, rules, shape, right=0.2)
    return figure


def over_the_night(
    units: Table,
    minutes: Table,
    efm_spans_min: list[tuple[int, int, float]],
    threshold: float,
    clock: LocalClock | None = None,
    shape: Shape = WIDE,
    *,
    rules: str,
) -> plt.Figure:
    """PLM index per hour of the night, and brief jerks per minute with proxy EFM spans; the
    rule set that scored the PLMs named at the top."""
    note = note_in(shape)
    figure, (upper, lower) = plt.subplots(
        2,
        1,
        figsize=(shape.width_in, (4.4 if shape.phone else 4.2) + note),
        sharex=True,
    )
    n_hours = int(np.ceil(len(minutes) / 60))
    sleep_min = minutes["asleep"].astype(float)
    sleep_h = np.array([sleep_min[h * 60 : (h + 1) * 60].sum() / 60 for h in range(n_hours)])
    plm = units[units["periodic"] & units["clm"] & units["asleep"]]
    counts = np.bincount((plm["onset_s"] // 3600).astype(int), minlength=n_hours)[:n_hours]
    index = np.divide(counts, sleep_h, out=np.full(n_hours, np.nan), where=sleep_h >= 0.25)
    upper.bar(np.arange(n_hours) + 0.5, index, width=0.8, color="#0072B2")
    upper.axhline(threshold, color="black", ls="--", lw=1, label=f"{threshold:g}/h")
    upper.set_ylabel("PLM index (/h)")
    upper.legend(frameon=False)
    if not counts.any():  # zero-height bars draw nothing: say so
        upper.text(0.5, 0.5, "no PLMs in sleep", transform=upper.transAxes, ha="center")
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
            label="EFM proxy",
        )
    lower.set_ylabel("jerks /min")
    lower.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
    lower.set_ylim(0, max(1.0, float(np.max(minutes["jerks"], initial=0)) * 1.1))
    if not np.any(minutes["jerks"]):
        lower.text(0.5, 0.5, "no brief jerks", transform=lower.transAxes, ha="center")
    _time_axis(lower, clock, float(len(minutes) * 60), shape)
    if efm_spans_min:
        handles, labels = lower.get_legend_handles_labels()
        lower.legend(handles[:1], labels[:1], frameon=False)
    _margins(
        figure,
        left=0.75,
        bottom=0.4 if clock and not clock.relative else 0.6,
        top=0.12 + note,
        gap=0.15,
    )
    _name_rules(figure, rules, shape)
    return figure


def side_raster(
    units: Table, alternation: float | None, shape: Shape = WIDE, *, rules: str
) -> plt.Figure:
    """One row per PLM series (numbered from 1, as in the table), one mark per movement, by
    leg; the rule set that made the series named at the top, the legend below it."""
    series = units[units["series"] >= 0]
    ids = np.unique(series["series"])
    per_row = 0.2 if shape.phone else 0.18
    note = note_in(shape)
    figure, axis = plt.subplots(figsize=(shape.width_in, 1.6 + per_row * max(len(ids), 1) + note))
    row = np.searchsorted(ids, series["series"])
    position = _rank_within(row)  # order within the series
    sides = series["side"]
    # One scatter per leg, not per movement: a night's hundreds of marks draw at once.
    known = np.isin(sides, list(SIDE_STYLE))
    for side, (colour, marker) in [*SIDE_STYLE.items(), (None, ("#777777", "o"))]:
        mine = ~known if side is None else sides == side
        if not mine.any() and side not in ("left", "right"):
            continue
        label = "both" if side == "bilateral" else side
        axis.scatter(position[mine], row[mine], c=colour, marker=marker, s=22, label=label)
    height = figure.get_size_inches()[1]
    figure.legend(
        frameon=False,
        ncol=3,
        loc="upper center",
        bbox_to_anchor=(0.5, 1 - note / height),
        borderaxespad=0.1,
    )
    axis.set_xlabel("movement within the series")
    axis.set_ylabel("series")
    every = max(1, int(np.ceil(len(ids) / (14 if shape.phone else 25))))
    axis.set_yticks(np.arange(len(ids))[::every], [str(int(i) + 1) for i in ids[::every]])
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.invert_yaxis()
    _margins(figure, left=0.65, bottom=0.55, top=0.4 + note)
    _name_rules(figure, rules, shape)
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
