"""A diary across nights: tags on dates, and nights before and after a noted change.

The diary is read by `sleepmove.diary`; here its entries meet the nights. A night belongs to
its evening's date (`reports.trend` assigns it). An entry tags the night of its date; an
entry marked `from` notes a change that holds from that date on, and the nights on either
side of it are compared. Neighbouring changes bound each comparison, so two changes are
never mixed in one.

Nothing here says what anyone should do: the report describes nights, it does not advise on
treatment (a test holds the wording to that).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np

from sleepmove.base.words import how_many
from sleepmove.reports.html import escape, table
from sleepmove.reports.ranktest import RankTest, mann_whitney_u
from sleepmove.reports.readable import duration


@dataclass(frozen=True)
class DiaryEntry:
    date: date  # the evening's date of the night it speaks of
    tag: str  # free text, as written
    change: bool  # True: a change that holds from this date on
    line: int  # in the diary file, for messages


@dataclass(frozen=True)
class Measure:
    name: str  # the column in the report's table of nights
    label: str
    before: float  # median; NaN where no night has a value
    after: float
    test: RankTest | None  # None where a side has no value


@dataclass(frozen=True)
class Comparison:
    since: date
    tags: list[str]
    before: list[int]  # rows of the nights table, in the order of the table
    after: list[int]
    measures: list[Measure]


# The measures compared, as (column, label); the PLM index first: it is what people track.
COMPARED = [
    ("plm_index", "PLM index"),
    ("in_bed", "In-bed index"),
    ("total_sleep_h", "Total sleep"),
]
CAVEAT = (
    "One person's nights vary a lot from one to the next, and a handful of nights prove "
    "little: a difference between the nights before and after a date may be chance, or come "
    "from something else that changed around the same time. The rank test asks how often two "
    "groups of nights would differ this much by chance alone; a small p (under 0.05) makes "
    "chance a less likely explanation, never a proof of cause, and with several measures "
    "compared one small p among them can still be chance. This report describes the nights; "
    "it gives no advice on treatment. Questions about a medication are for the person who "
    "prescribed it."
)


def night_tags(dates: list[date | None], entries: list[DiaryEntry]) -> list[str]:
    """Each night's tags ("; " between them), from the entries of its evening's date."""
    by_date: dict[date, list[str]] = {}
    for entry in entries:  # a loop over entries
        tags = by_date.setdefault(entry.date, [])
        if entry.tag not in tags:
            tags.append(entry.tag)
    return ["; ".join(by_date.get(day, [])) if day is not None else "" for day in dates]


def change_dates(entries: list[DiaryEntry]) -> list[date]:
    return sorted({entry.date for entry in entries if entry.change})


def compare(
    dates: list[date | None], values: dict[str, np.ndarray], entries: list[DiaryEntry]
) -> list[Comparison]:
    """For each noted change, the nights since the change before it (or the first night) set
    against the nights up to the next change (or the last night)."""
    changes = change_dates(entries)
    dated = np.array([d.toordinal() if d is not None else -1 for d in dates])
    comparisons = []
    for i, since in enumerate(changes):  # a loop over changes
        low = changes[i - 1].toordinal() if i else -math.inf
        high = changes[i + 1].toordinal() if i + 1 < len(changes) else math.inf
        day = since.toordinal()
        before = np.flatnonzero((dated >= 0) & (dated >= low) & (dated < day))
        after = np.flatnonzero((dated >= day) & (dated < high))
        measures = []
        for name, label in COMPARED:  # a loop over measures
            column = np.asarray(values[name], dtype=float)
            x, y = column[before], column[after]
            x, y = x[~np.isnan(x)], y[~np.isnan(y)]
            measures.append(
                Measure(
                    name,
                    label,
                    float(np.median(x)) if len(x) else math.nan,
                    float(np.median(y)) if len(y) else math.nan,
                    mann_whitney_u(x, y) if len(x) and len(y) else None,
                )
            )
        tags = [e.tag for e in entries if e.change and e.date == since]
        comparisons.append(Comparison(since, tags, before.tolist(), after.tolist(), measures))
    return comparisons


def smallest_p(n1: int, n2: int) -> float:
    """The smallest two-sided p the rank test can reach with these many nights."""
    return min(1.0, 2 / math.comb(n1 + n2, n1))


def _value(name: str, value: float) -> str:
    if value != value:
        return "n/a"
    if name == "total_sleep_h":
        return duration(value * 3600)
    return f"{value:.1f} /h"


def _p(test: RankTest | None) -> str:
    if test is None:
        return "n/a"
    shown = f"{test.p:.3f}" if test.p >= 0.001 else "< 0.001"
    return f"{shown} ({test.method})"


def _comparison_html(comparison: Comparison) -> str:
    n1, n2 = len(comparison.before), len(comparison.after)
    title = f"From {comparison.since:%-d %b %Y}: " + "; ".join(comparison.tags)
    head = f"<h3>{escape(title)}</h3>"
    if not n1 or not n2:
        side = "before" if not n1 else "on or after"
        return head + f"<p>No night was recorded {side} this date: nothing to compare.</p>"
    rows = [
        [m.label, _value(m.name, m.before), _value(m.name, m.after), _p(m.test)]
        for m in comparison.measures
    ]
    headers = [
        f"Median of the {n1} night{'s' * (n1 > 1)} before",
        f"Median of the {n2} night{'s' * (n2 > 1)} from then",
        "Rank test p",
    ]
    words = (
        f"With {n1} and {n2} nights the rank test cannot give a p below "
        f"{smallest_p(n1, n2):.3g}"
        + (
            ": too few nights to tell a difference from chance."
            if smallest_p(n1, n2) >= 0.05
            else "."
        )
    )
    plm = comparison.measures[0]
    if plm.before == plm.before and plm.after == plm.after and plm.before != plm.after:
        side = "higher" if plm.after > plm.before else "lower"
        words = (
            f"The median PLM index was {side} from this date on ({plm.after:.1f} against "
            f"{plm.before:.1f} /h). " + words
        )
    return (
        head
        + table(["Measure", *headers], rows, stack=True, numeric={1, 2, 3})
        + f"<p>{escape(words)}</p>"
    )


def diary_html(
    dates: list[date | None],
    entries: list[DiaryEntry],
    comparisons: list[Comparison],
) -> str:
    """The report's diary sections: the entries, and before and after each noted change."""
    if not entries:
        return "<h2>Diary</h2><p>The diary has no entries.</p>"
    nights = {d for d in dates if d is not None}
    items = []
    for entry in sorted(entries, key=lambda e: (e.date, e.line)):  # a loop over entries
        note = " (from this date on)" if entry.change else ""
        missing = "" if entry.date in nights else " (no night recorded)"
        items.append(
            f"<li>{escape(f'{entry.date:%a %-d %b %Y}')}{escape(note)}: {escape(entry.tag)}"
            f"<small>{escape(missing)}</small></li>"
        )
    parts = [
        "<h2>Diary</h2><p>Entries of the diary; nights on these dates are marked in the trend "
        "(▼), and a change noted from a date on is a dotted line.</p><ul>"
        + "".join(items)
        + "</ul>"
    ]
    if comparisons:
        undated = sum(d is None for d in dates)
        left_out = (
            f" {how_many(undated, 'night')} without a clock time left out." if undated else ""
        )
        parts.append(
            "<h2>Before and after</h2>"
            f"<p><b>Read this first.</b> {escape(CAVEAT)}</p>"
            "<p>A night belongs to its evening's date. Each comparison sets the nights before "
            "the date against the nights from that date on, each side bounded by the next "
            f"noted change, so two changes are not mixed.{escape(left_out)}</p>"
            + "".join(_comparison_html(c) for c in comparisons)
        )
    return "".join(parts)
