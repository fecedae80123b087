"""`report --diary`: tagged nights marked, nights before and after a noted change compared by
medians and a rank test (Mann-Whitney U, checked against hand-computed answers), bad diaries
refused in one line, and no word that advises on treatment."""

import itertools
import json
import math
import re
from datetime import date

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest

from sleepmove.cli import main
from sleepmove.reports.ranktest import mann_whitney_u

# --- Mann-Whitney U: known answers ---


def test_rank_test_exact_small_cases_by_hand():
    # Every x below every y: U = 0, and 1 of the C(6, 3) = 20 orderings is as extreme on each
    # side: p = 2/20.
    result = mann_whitney_u([1, 2, 3], [4, 5, 6])
    assert (result.u, result.method) == (0.0, "exact")
    assert result.p == pytest.approx(0.1)
    # x = 1, 3 and y = 2, 4: one pair with x > y, U = 1; for 2 and 2 the six orderings give U =
    # 0, 1, 2, 2, 3, 4, so P(U <= 1) = 2/6 and p = 4/6.
    result = mann_whitney_u([1, 3], [2, 4])
    assert result.u == 1.0 and result.p == pytest.approx(2 / 3)
    # a side swapped: U becomes n1 n2 - U, the p stays
    assert mann_whitney_u([2, 4], [1, 3]).u == 3.0
    assert mann_whitney_u([2, 4], [1, 3]).p == pytest.approx(2 / 3)
    # one value a side can never be told from chance
    assert mann_whitney_u([1], [2]).p == 1.0


def test_rank_test_textbook_example_exact_and_normal(monkeypatch):
    # x = 19, 22, 16, 29, 24 and y = 20, 11, 17, 12: sorted 11 12 16 17 19 20 22 24 29, x has
    # ranks 5, 7, 3, 9, 8 (sum 32), U = 32 - 15 = 17; by symmetry p = 2 P(U <= 3), and U = 0,
    # 1, 2, 3 come from 1, 1, 2, 3 of the C(9, 4) = 126 orderings: p = 14/126 = 1/9.
    x, y = [19, 22, 16, 29, 24], [20, 11, 17, 12]
    result = mann_whitney_u(x, y)
    assert (result.u, result.method) == (17.0, "exact")
    assert result.p == pytest.approx(1 / 9, abs=1e-12)
    # the normal approximation: mean 10, variance 5 * 4 * 10 / 12, continuity 0.5
    import sleepmove.reports.ranktest

    monkeypatch.setattr(sleepmove.reports.ranktest, "EXACT_MAX", 0)
    normal = mann_whitney_u(x, y)
    z = (17 - 10 - 0.5) / math.sqrt(5 * 4 * 10 / 12)
    assert normal.method == "normal"
    assert normal.p == pytest.approx(math.erfc(z / math.sqrt(2)), rel=1e-12)
    assert normal.p == pytest.approx(0.1113469, abs=1e-7)  # scipy's documented answer


def test_rank_test_with_ties_uses_midranks_and_the_tie_correction():
    # sorted 1 2 2 2 3 3 4 4: midranks 1, 3, 3, 3, 5.5, 5.5, 7.5, 7.5; x = 1, 2, 2, 3 has rank
    # sum 12.5, U = 12.5 - 10 = 2.5. Ties of 3, 2, 2: sum t^3 - t = 36. Variance
    # 16/12 * (9 - 36/56); z = (|2.5 - 8| - 0.5) / sqrt(variance) = 1.4979; p = 0.1342.
    result = mann_whitney_u([1, 2, 2, 3], [2, 3, 4, 4])
    assert (result.u, result.method) == (2.5, "normal")
    z = 5 / math.sqrt(16 / 12 * (9 - 36 / 56))
    assert result.p == pytest.approx(math.erfc(z / math.sqrt(2)), rel=1e-12)
    assert result.p == pytest.approx(0.1342, abs=1e-4)
    assert mann_whitney_u([5, 5], [5, 5, 5]).p == 1.0  # all equal: no evidence at all


def test_rank_test_exact_p_equals_counting_every_split():
    rng = np.random.default_rng(3)
    for n1, n2 in [(3, 4), (5, 5), (2, 7), (6, 4)]:
        values = rng.permutation(np.arange(n1 + n2, dtype=float))
        x, y = values[:n1], values[n1:]
        result = mann_whitney_u(x, y)
        assert result.method == "exact"

        splits = itertools.combinations(range(n1 + n2), n1)
        us = np.array([_pairs_above(values, list(chosen)) for chosen in splits])
        low = min(result.u, n1 * n2 - result.u)
        brute = min(1.0, 2 * np.mean(us <= low))
        assert result.u == _pairs_above(values, list(range(n1)))
        assert result.p == pytest.approx(brute, abs=1e-12)


def _pairs_above(values: np.ndarray, chosen: list[int]) -> float:
    """U by its definition: pairs with the chosen value above the other."""
    picked = values[chosen]
    rest = np.delete(values, chosen)
    return float((picked[:, None] > rest[None, :]).sum())


# --- The diary in the multi-night report ---

# (start, PLM index, in-bed index, total sleep h). 00:30 on 5 Mar is the night of 4 Mar.
NIGHTS = [
    ("2025-03-01T23:00:00.000+01:00", 30.0, 33.0, 6.0),
    ("2025-03-02T23:00:00.000+01:00", 25.0, 27.0, 6.5),
    ("2025-03-03T23:00:00.000+01:00", 40.0, 44.0, 5.5),
    ("2025-03-05T00:30:00.000+01:00", 35.0, 36.0, 6.0),
    ("2025-03-05T23:00:00.000+01:00", 10.0, 11.0, 7.0),
    ("2025-03-06T22:00:00.000+01:00", 12.0, 13.0, 7.5),
    ("2025-03-07T23:00:00.000+01:00", 8.0, 9.0, 6.5),
    ("2025-03-08T23:00:00.000+01:00", 20.0, 22.0, 7.0),
]
DIARY = (
    "date,tag,from\n"
    "2025-03-02,coffee after 18:00,\n"
    "2025-03-05,ropinirole started,yes\n"
    "2025-03-07,late meal,no\n"
    "2025-03-20,a night not recorded,\n"
)


def summary(start: str, plm: float, in_bed: float, sleep_h: float) -> dict:
    """What `report` reads of a night's summary.json, and nothing else."""
    return {
        "recording": {"start": start, "data_loss_h": 0.0},
        "criteria": {"name": "wasm2016", "parameters": {}},
        "assessment": {"threshold_per_h": 15.0},
        "plm_index": plm,
        "plm_index_in_bed": in_bed,
        "plmw_index": 1.0,
        "periodicity_index": 0.6,
        "periodicity_index_reliable": True,
        "imi": {"log_imi_mean": 3.2},
        "jerk_rate_per_min": 0.1,
        "sleep": {"total_sleep_h": sleep_h},
    }


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    folder = tmp_path_factory.mktemp("diary") / "nights"
    for i, night in enumerate(NIGHTS):
        (folder / f"n{i}").mkdir(parents=True)
        (folder / f"n{i}" / "summary.json").write_text(json.dumps(summary(*night)))
    return folder


@pytest.fixture(scope="module")
def diary_report(nights):
    diary = nights.parent / "diary.csv"
    diary.write_text(DIARY)
    out = nights.parent / "trend"
    assert main(["report", str(nights), "--out", str(out), "--diary", str(diary)]) == 0
    return out


def visible(out) -> str:
    return re.sub(r"data:[^\"']+", "", (out / "report.html").read_text())


def test_tagged_nights_get_their_tags_in_nights_csv(diary_report):
    table = pd.read_csv(diary_report / "nights.csv", keep_default_na=False)
    assert table.columns[-1] == "tags" and table.columns.tolist()[3] == "plm_index"
    tags = dict(zip(table["night"], table["tags"]))
    assert tags["n1"] == "coffee after 18:00"
    assert tags["n3"] == ""  # began 00:30 on 5 Mar: the night of 4 Mar
    assert tags["n4"] == "ropinirole started"
    assert tags["n6"] == "late meal"
    assert sum(bool(t) for t in tags.values()) == 3


def test_report_without_a_diary_has_an_empty_tags_column(nights, tmp_path):
    out = tmp_path / "plain"
    assert main(["report", str(nights), "--out", str(out)]) == 0
    table = pd.read_csv(out / "nights.csv", keep_default_na=False)
    assert table["tags"].tolist() == [""] * len(NIGHTS)
    text = visible(out)
    assert "Before and after" not in text and "▼" not in text


def test_tagged_nights_are_marked_in_the_figure(nights):
    from sleepmove.diary import read_diary
    from sleepmove.reports.diary import night_tags
    from sleepmove.reports.trend import _night_dates, nights_table, trend_figure

    diary = nights.parent / "diary.csv"
    diary.write_text(DIARY)
    entries = read_diary(str(diary))
    summaries = {p.name: json.loads((p / "summary.json").read_text()) for p in nights.iterdir()}
    table = nights_table(summaries)
    table["tags"] = night_tags([d.date() for d in _night_dates(table)], entries)
    figure = trend_figure(table, 15.0, changes=[date(2025, 3, 5)])
    upper, lower = figure.axes
    (marks,) = [line for line in upper.lines if line.get_gid() == "diary-entry"]
    days = [mdates.num2date(mdates.date2num(x)).date() for x in marks.get_xdata()]
    assert days == [date(2025, 3, 2), date(2025, 3, 5), date(2025, 3, 7)]
    for axis in (upper, lower):
        (change,) = [line for line in axis.lines if line.get_gid() == "diary-change"]
        at = mdates.num2date(mdates.date2num(change.get_xdata()[0]))
        assert (at.date(), at.hour) == (date(2025, 3, 5), 0)  # the midnight opening 5 Mar
    labels = [t.get_text() for t in upper.get_legend().get_texts()]
    assert "diary entry" in labels and "change (diary)" in labels


def test_the_page_marks_tagged_nights_and_lists_the_diary(diary_report):
    text = visible(diary_report)
    assert "▼: a night with a diary entry" in text
    assert "<th>Diary</th>" in text
    for tag in ("coffee after 18:00", "ropinirole started", "late meal"):
        assert f">{tag}</td>" in text, tag  # in the nights table, on its night
    assert "Thu 20 Mar 2025: a night not recorded<small> (no night recorded)" in text


def test_a_change_splits_the_nights_into_before_and_after(diary_report):
    from sleepmove.reports.diary import compare
    from sleepmove.reports.trend import _night_dates, nights_table

    text = visible(diary_report)
    section = text[text.index("<h2>Before and after</h2>") :]
    assert "From 5 Mar 2025: ropinirole started" in section
    assert "the 4 nights before" in section and "the 4 nights from then" in section
    # before: 30, 25, 40, 35 (the 00:30 night included); after: 10, 12, 8, 20
    assert "32.5 /h" in section and "11.0 /h" in section  # PLM index
    assert "34.5 /h" in section and "12.0 /h" in section  # in bed
    assert "6 h</td>" in section and "7 h</td>" in section  # total sleep
    # every night before above every night after: U = 16, p = 2 / C(8, 4) = 0.029
    assert "0.029 (exact)" in section
    assert "lower from this date on (11.0 against 32.5 /h)" in section
    assert "cannot give a p below 0.0286" in section
    assert "a handful of nights prove little" in section

    summaries = {
        f"n{i}": summary(*night) for i, night in enumerate(NIGHTS)
    }  # compare() on its own: the measures' medians and the rank test
    table = nights_table(summaries)
    days = [d.date() for d in _night_dates(table)]
    values = {
        "plm_index": table["plm_index"].to_numpy(float),
        "in_bed": np.array([n[2] for n in NIGHTS]),
        "total_sleep_h": table["total_sleep_h"].to_numpy(float),
    }
    from sleepmove.reports.diary import DiaryEntry

    (result,) = compare(days, values, [DiaryEntry(date(2025, 3, 5), "x", True, 2)])
    assert result.before == [0, 1, 2, 3] and result.after == [4, 5, 6, 7]
    plm = result.measures[0]
    assert (plm.before, plm.after, plm.test.u) == (32.5, 11.0, 16.0)
    assert plm.test.p == pytest.approx(2 / 70)


def test_two_changes_are_never_mixed_in_one_comparison():
    from sleepmove.reports.diary import DiaryEntry, compare

    days = [date(2025, 3, d) for d in range(1, 10)]
    values = {name: np.arange(9.0) for name in ("plm_index", "in_bed", "total_sleep_h")}
    entries = [
        DiaryEntry(date(2025, 3, 4), "a", True, 2),
        DiaryEntry(date(2025, 3, 7), "b", True, 3),
        DiaryEntry(date(2025, 3, 5), "c", False, 4),  # a plain tag splits nothing
    ]
    first, second = compare(days, values, entries)
    assert (first.before, first.after) == ([0, 1, 2], [3, 4, 5])
    assert (second.before, second.after) == ([3, 4, 5], [6, 7, 8])


def test_nothing_in_the_page_advises_on_treatment(diary_report):
    text = visible(diary_report).lower()
    for words in (
        "stop",
        "start taking",
        "increase",
        "reduce",
        "dose",
        "should",
        "recommend",
        "try ",
        "switch",
    ):
        assert words not in text, words
    from sleepmove.reports.diary import CAVEAT

    assert "no advice on treatment" in CAVEAT


@pytest.mark.parametrize("width", [412, 1280])
def test_the_page_with_a_diary_fits_the_screen(width, diary_report, tmp_path):
    from tests.test_report import assert_fits, measure

    facts = measure(diary_report / "report.html", width, tmp_path)
    assert_fits(facts, width)
    assert "Before and after" in facts["text"]


# --- Bad diaries: one line, exit 2, nothing written ---


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (None, "cannot read the diary"),
        ("", "the diary is empty"),
        ("day,tag\n2025-03-01,coffee\n", "no column date"),
        ("date,note\n2025-03-01,coffee\n", "no column tag"),
        ("date,tag\n5/3/2025,coffee\n", "not a date: '5/3/2025' (line 2)"),
        ("date,tag\n2025-02-30,coffee\n", "no such date: '2025-02-30' (line 2)"),
        ("date,tag\n\n2025-03-01,\n", "the tag is empty (line 3)"),
        ("date,tag,from\n2025-03-01,coffee,maybe\n", "from is 'maybe' (line 2)"),
        (b"date,tag\n2025-03-01,caf\xe9\n", "not text"),
    ],
)
def test_a_bad_diary_is_one_line_and_exit_2_and_writes_nothing(
    content, said, nights, tmp_path, capsys
):
    diary = tmp_path / "diary.csv"
    if isinstance(content, bytes):
        diary.write_bytes(content)
    elif content is not None:
        diary.write_text(content)
    out = tmp_path / "out"
    assert main(["report", str(nights), "--out", str(out), "--diary", str(diary)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(diary) in err and said in err, err
    assert not out.exists()


def test_diary_format_details(tmp_path):
    from sleepmove.diary import read_diary

    diary = tmp_path / "d.csv"
    diary.write_text(
        "\ufeffDate, Tag ,From,notes\n2025-03-01,caffeine,,x\n2025-03-02,melatonin,YES\n"
        "2025-03-02,late meal,no\n"
    )
    entries = read_diary(str(diary))
    assert [(e.date.day, e.tag, e.change, e.line) for e in entries] == [
        (1, "caffeine", False, 2),
        (2, "melatonin", True, 3),
        (2, "late meal", False, 4),
    ]
    diary.write_text("date,tag\n")  # a header alone: no entries, no error
    assert read_diary(str(diary)) == []
