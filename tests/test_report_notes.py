"""What the night report says about the data and the rules: notes, per-leg losses, the rule
set in the header and glossary, and figures that read the same wherever they are shown."""

import json
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from sleepmove.base.words import how_many
from sleepmove.cli import main
from sleepmove.detection.params import AnalysisParameters
from sleepmove.detection.table import Table
from sleepmove.reports.clock import CLOCK_UNIX
from sleepmove.reports.night_report import _data_lost_card, _notes
from sleepmove.reports.readable import LocalClock, glossary_html, rate
from sleepmove.reports.summary import _in_bed_statements


def visible(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_leg_that_stopped_early_shows_its_loss_on_the_card():
    # The right sensor stopped 4 h before the left: no gap between samples says so.
    recording = {
        "duration_h": 8.0,
        "data_loss_h": 0.0,
        "data_loss_h_by_side": {"left": 0.0, "right": 4.0},
    }
    shown = visible(_data_lost_card(recording))
    assert "0 s" in shown and "left leg 0 s, right leg 4 h" in shown
    assert "over 5% of the night on one leg" in shown
    # both legs lost alike: no legs named, the flag for the night
    recording = {
        "duration_h": 8.0,
        "data_loss_h": 1.2,
        "data_loss_h_by_side": {"left": 1.2, "right": 1.2},
    }
    shown = visible(_data_lost_card(recording))
    assert "right leg" not in shown and "15% of 8 h" in shown
    assert "over 5% of the night" in shown and "on one leg" not in shown


def test_a_small_loss_is_not_called_nothing():
    shown = visible(_data_lost_card({"duration_h": 7.0, "data_loss_h": 1 / 60}))
    assert "1 min" in shown and "under 1% of 7 h" in shown and "over 5%" not in shown
    assert "0% of" in visible(_data_lost_card({"duration_h": 7.0, "data_loss_h": 0.0}))


def test_notes_on_the_data_are_shown_once_each_and_escaped():
    quality = {
        "warnings": [
            "3 duplicated rows dropped",
            "right: stopped 240 min before the left sensor <sic>",
            "3 duplicated rows dropped",
        ]
    }
    html = _notes(quality)
    assert html.count("<li>") == 2 and "&lt;sic&gt;" in html and 'class="warn"' in html
    assert _notes({"warnings": []}) == "" and _notes({}) == ""


def test_the_glossary_names_the_rules_the_page_was_scored_by():
    default = visible(glossary_html())
    assert "each 10-90 s after the one before" in default
    aasm = visible(glossary_html(("aasm2012", 5.0, 90.0)))
    assert "each 5-90 s after the one before" in aasm and "10-90 s" not in aasm
    assert "Periodic movements have IMIs of 5-90 s" in aasm
    assert "here aasm2012" in aasm
    changed = visible(glossary_html(("wasm2016 (imi_max_s=60)", 10.0, 60.0)))
    assert "each 10-60 s after" in changed and "here wasm2016 (imi_max_s=60)" in changed


def test_counts_and_rates_read_as_words():
    assert [how_many(n, "minute") for n in (0, 1, 2)] == ["0 minutes", "1 minute", "2 minutes"]
    assert [rate(v) for v in (None, float("nan"), 0.0, 0.0024, 0.5, 2.34)] == [
        "n/a",
        "n/a",
        "0.0",
        "0.0024",
        "0.5",
        "2.3",
    ]


def test_times_in_the_computers_zone_say_so():
    note = LocalClock(1_700_000_000.0, CLOCK_UNIX).zone_note()
    assert note.startswith("times in this computer's zone (UTC") and "--timezone" in note


def _score(in_bed_index: float) -> SimpleNamespace:
    """Just what the in-bed statements read of a night's score."""
    units = Table.of(
        pd.DataFrame(
            {
                "onset_s": np.array([3000.0]),
                "periodic": np.array([True]),
                "clm": np.array([True]),
                "asleep": np.array([True]),
            }
        )
    )
    return SimpleNamespace(
        indices={"plm_index_in_bed": in_bed_index, "sleep_estimate_drives_plm_index": False},
        in_bed_s=8 * 3600.0,
        sleep=SimpleNamespace(confidence=0.97, window_s=None, awake_trains_s=[]),
        units=units,
    )


def test_a_statement_gives_the_figure_the_card_shows():
    # an index of 5.749996/h is stored (and on the card) as 5.75, shown 5.8; the statement
    # once said 5.7 from the unrounded value
    statement = _in_bed_statements(_score(5.749996), AnalysisParameters())[0]
    assert statement.startswith("PLM index in bed 5.8/h") and "(8 h)" in statement
    assert "the model was sure about 97% of the night" in statement


@pytest.fixture(scope="module")
def child_report(plm_night, tmp_path_factory):
    folder, _ = plm_night
    out = tmp_path_factory.mktemp("child") / "night"
    settings = tmp_path_factory.mktemp("settings") / "rules.toml"
    settings.write_text("[rules]\nimi_max_s = 60\n")
    command = [
        "analyze",
        str(folder / "night.csv"),
        "--age-group",
        "child",
        "--config",
        str(settings),
        "--out",
        str(out),
    ]
    assert main(command) == 0
    return out


def test_the_header_and_glossary_name_the_rules_as_changed(child_report):
    page = (child_report / "report.html").read_text()
    summary = json.loads((child_report / "summary.json").read_text())
    label = summary["criteria"]["label"]
    assert "imi_max_s=60" in label
    header = page[page.index("<h1>") : page.index('<div class="cards">')]
    assert f"<b>{label}</b>" in header
    glossary = visible(page[page.index('id="glossary"') :])
    assert "each 10-60 s after the one before" in glossary and f"here {label}" in glossary
    assert "(children" in visible(page) and "childs" not in page
    # the glance counts the series with a movement in sleep (it once said 0 whatever)
    events = pd.read_csv(child_report / "events.csv")
    series = events[events["series"].notna()]
    in_sleep = series.groupby("series")["asleep"].any()
    assert in_sleep.sum() > 0
    assert f"{len(in_sleep)} ({int(in_sleep.sum())} in sleep)" in visible(page)


def test_the_report_shows_what_was_noted_about_the_data(plm_night, tmp_path):
    folder, _ = plm_night
    table = pd.read_csv(folder / "night.csv")
    # six minutes, with one row written twice: both noted in the summary, so on the page
    short = pd.concat([table.iloc[:18000], table.iloc[[500]]]).sort_index(kind="stable")
    short.to_csv(tmp_path / "short.csv", index=False)
    out = tmp_path / "out"
    assert (
        main(["analyze", str(tmp_path / "short.csv"), "--min-duration", "5", "--out", str(out)])
        == 0
    )
    warnings = json.loads((out / "summary.json").read_text())["quality"]["warnings"]
    assert any("minutes recorded" in w for w in warnings), warnings
    page = (out / "report.html").read_text()
    box = page[page.index('<div class="warn">') : page.index('<div class="cards">')]
    for warning in warnings:
        assert warning.replace("'", "&#x27;").replace('"', "&quot;") in box
    assert "n/a /h" not in page and "n/a/h" not in page


def test_an_empty_imi_histogram_says_so_and_counts_no_less_than_none():
    from sleepmove.reports import figures

    imi = {
        "histogram_2s": {"counts": [0] * 45, "bin_edges_s": list(np.arange(0, 92, 2.0))},
        "log_histogram": {"counts": [0] * 20, "bin_edges_ln_s": list(np.linspace(0, 4.5, 21))},
        "periodic_range_s": [10, 90],
        "log_imi_mean": None,
    }
    figure = figures.imi_histograms(imi, rules="wasm2016")
    for axes in figure.axes[:2]:
        assert axes.get_ylim() == (0, 1)
        assert [text.get_text() for text in axes.texts] == ["no intervals"]
    imi["histogram_2s"]["counts"][10] = 3
    imi["log_histogram"]["counts"][15] = 3
    figure = figures.imi_histograms(imi, rules="wasm2016")
    assert all(axes.get_ylim()[0] == 0 and not axes.texts for axes in figure.axes[:2])


def _lead_of(**changes) -> str:
    from sleepmove.reports.night_report import _lead

    summary = {
        "sleep": {"total_sleep_h": 6.95, "source": "estimated", "confidence": 0.97},
        "assessment": {
            "plm_index_above_threshold": True,
            "threshold_per_h": 15.0,
            "age_group": "adult",
        },
        "criteria": {"name": "wasm2016", "parameters": {"placement": "ankle"}},
        "recording": {"sides": ["left", "right"]},
        "plm_index": 41.66,
        "sleep_estimate_drives_plm_index": False,
    }
    for key, value in changes.items():
        summary[key] = value
    return visible(_lead(summary)).strip()


def test_the_report_opens_with_the_night_in_plain_words():
    assert _lead_of() == (
        "Asleep about 6 h 57 min (estimated from movement). The legs made 41.7 periodic "
        "movements an hour of sleep: above the 15 an hour that sleep medicine calls "
        "significant for adults."
    )
    drives = _lead_of(sleep_estimate_drives_plm_index=True)
    assert drives.endswith("Which minutes were sleep decides that figure: read it with care.")
    none = _lead_of(plm_index=None)
    assert none.endswith("Too little sleep was found to count periodic movements per hour of it.")
    wrist = _lead_of(criteria={"name": "wasm2016", "parameters": {"placement": "wrist"}})
    assert "The arm made 41.7" in wrist and "(a threshold set for legs)" in wrist
    infant = _lead_of(
        assessment={
            "plm_index_above_threshold": True,
            "threshold_per_h": 5.0,
            "age_group": "infant",
        }
    )
    assert "for children (none is published for infants)." in infant
    one_leg = _lead_of(recording={"sides": []})
    assert "The leg made 41.7 periodic movements" in one_leg
    own = _lead_of(
        assessment={
            "plm_index_above_threshold": True,
            "threshold_per_h": 10.0,
            "age_group": "adult",
        }
    )
    assert "above the 10 an hour that the settings set." in own and "sleep medicine" not in own
    unsure = _lead_of(sleep={"total_sleep_h": 5.0, "source": "estimated", "confidence": 0.6})
    assert unsure.startswith("Asleep about 5 h (estimated from movement; the estimate is unsure).")


def test_a_short_recording_gets_ticks_at_whole_minutes():
    from sleepmove.reports.clock import CLOCK_RELATIVE
    from sleepmove.reports.figures import clock_ticks

    clock = LocalClock(1_742_250_000.0, CLOCK_UNIX)  # 22:20:00 UTC
    assert clock_ticks(clock, 6 * 60, phone=True)[1] == ["22:20", "22:22", "22:24", "22:26"]
    positions, labels = clock_ticks(clock, 90 * 60, phone=False)
    assert labels == ["22:30", "22:45", "23:00", "23:15", "23:30", "23:45"]
    assert positions[0] == pytest.approx(10 / 60)
    assert clock_ticks(LocalClock(0.0, CLOCK_RELATIVE), 30 * 60, phone=True)[1] == [
        "0 min",
        "10 min",
        "20 min",
        "30 min",
    ]
    # two hours and more: whole hours, as before
    assert clock_ticks(clock, 2 * 3600, phone=True)[1] == ["23:00", "00:00"]


def test_a_night_without_plms_or_jerks_says_so_and_keeps_its_last_tick_whole():
    from sleepmove.reports import figures

    n = 6 * 60
    minutes = Table.of(
        pd.DataFrame(
            {
                "start_s": np.arange(n) * 60.0,
                "asleep": np.ones(n, dtype=bool),
                "jerks": np.zeros(n, dtype=int),
            }
        )
    )
    units = Table.of(
        pd.DataFrame(
            {
                "onset_s": np.zeros(0),
                "periodic": np.zeros(0, dtype=bool),
                "clm": np.zeros(0, dtype=bool),
                "asleep": np.zeros(0, dtype=bool),
            }
        )
    )
    clock = LocalClock(1_742_248_800.0, CLOCK_UNIX)  # 22:00 UTC: the night ends at 04:00
    figure = figures.over_the_night(units, minutes, [], 15.0, clock, rules="wasm2016")
    upper, lower = figure.axes[:2]
    assert [t.get_text() for t in upper.texts] == ["no PLMs in sleep"]
    assert [t.get_text() for t in lower.texts] == ["no brief jerks"]
    shown = [label.get_text() for label in lower.get_xticklabels()]
    assert shown[0] == "22:00" and "04:00" not in shown  # centred on the edge it was cut


def test_an_index_is_never_shown_on_the_wrong_side_of_its_threshold():
    from sleepmove.reports.readable import against

    # 14.96 reads 15.0, and 15.0 is not above 15: on its side; 15.04 would not be
    assert [against(v, 15.0) for v in (15.04, 14.96, 15.0, 15.26, 3.14)] == [
        "15.04",
        "15.0",
        "15.0",
        "15.3",
        "3.1",
    ]
    statement = _lead_of(plm_index=15.04)
    assert "made 15.04 periodic movements an hour of sleep: above the 15" in statement
