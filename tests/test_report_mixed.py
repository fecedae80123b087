"""The trend report of nights not analyzed alike: other age groups, a wrist, other rules, another
release, other settings. Each night is judged by its own summary, the page names the nights
that differ and how, and nothing is pooled across them."""

import html
import json
import re
import shutil

import pandas as pd
import pytest

from sleepmove.cli import main

VARIANTS = {
    "ankle": [],
    "child": ["--age-group", "child"],
    "infant": ["--age-group", "infant"],
    "wrist": ["--placement", "wrist"],
    "aasm": ["--criteria", "aasm2012"],
    "config": ["--config", "CONFIG"],
}


@pytest.fixture(scope="module")
def analyzed(tmp_path_factory):
    """One simulated hour analyzed each way of VARIANTS: {variant: summary}."""
    from sleepmove.sensor.simulate import simulate

    folder = tmp_path_factory.mktemp("mixed")
    simulate(str(folder), hours=1.0, rate_hz=25, seed=1)
    config = folder / "changed.toml"
    config.write_text("[detection]\nonset_factor = 2.5\n")
    summaries = {}
    for variant, options in VARIANTS.items():  # a loop over ways of analyzing
        out = folder / variant
        options = [str(config) if o == "CONFIG" else o for o in options]
        command = ["analyze", str(folder / "night.csv"), "--out", str(out), "--no-report"]
        assert main(command + options) == 0
        summaries[variant] = json.loads((out / "summary.json").read_text())
    return summaries


def make_nights(analyzed, folder, nights) -> list[str]:
    """Night folders: (name, variant, evening's day of March 2025, PLM index[, release])."""
    paths = []
    for name, variant, day, plm, *release in nights:  # a loop over nights
        summary = json.loads(json.dumps(analyzed[variant]))
        summary["recording"]["start"] = f"2025-03-{day:02d}T23:00:00.000+01:00"
        summary["plm_index"] = plm
        if release:
            summary["software"]["version"] = release[0]
        (folder / name).mkdir(parents=True)
        (folder / name / "summary.json").write_text(json.dumps(summary))
        paths.append(str(folder / name))
    return paths


def report(paths, out, capsys=None) -> tuple[str, pd.DataFrame]:
    """The page's visible text (no images) and its nights.csv; capsys: stderr checked."""
    assert main(["report", *map(str, paths), "--out", str(out)]) == 0
    page = re.sub(r"data:[^\"']+", "", (out / "report.html").read_text())
    return page, pd.read_csv(out / "nights.csv", keep_default_na=False)


def warning_items(page: str) -> list[str]:
    """The sentences of the warning that the nights were not analyzed alike."""
    found = re.search(r'<div class="warn" id="not-alike">(.*?)</div>', page, re.S)
    assert found, "no warning that the nights differ"
    return [html.unescape(item) for item in re.findall(r"<li>(.*?)</li>", found.group(1))]


def group_table(page: str, title: str) -> dict[str, str]:
    """The Mean and SD table under a group's heading: measure -> mean."""
    after = page.split(f"<h3>{html.escape(title)}</h3>", 1)[1]
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td>", after.split("</table>", 1)[0])
    return {html.unescape(k): html.unescape(v) for k, v in rows}


# --- 1. age groups: each night against its own threshold, whatever the order ---------------


def test_each_night_is_judged_against_its_own_threshold_in_any_order(analyzed, tmp_path, capsys):
    paths = make_nights(
        analyzed,
        tmp_path / "nights",
        [("kid", "child", 1, 8.0), ("a1", "ankle", 2, 10.0), ("a2", "ankle", 3, 20.0)],
    )
    pages = []
    for order, ranked in (("forward", paths), ("backward", paths[::-1])):
        page, table = report(ranked, tmp_path / order)
        pages.append(page)
        rows = table.set_index("night")
        assert rows.loc["kid", "threshold_per_h"] == 5.0 and rows.loc["kid", "age_group"] == "child"
        assert rows.loc["a1", "threshold_per_h"] == rows.loc["a2", "threshold_per_h"] == 15.0
        assert rows["above_threshold"].astype(str).to_dict() == {
            "kid": "True",  # 8 > 5: a child's night
            "a1": "False",  # 10 < 15: an adult's
            "a2": "True",
        }
        assert "warning: the nights were not all analyzed alike (age group" in (
            capsys.readouterr().err
        )
    assert pages[0] == pages[1]  # the order of the folders given decides nothing
    page = pages[0]
    (said,) = warning_items(page)
    assert said.startswith("Age group and threshold: child, 5/h (kid); adult, 15/h (a1, a2).")
    assert "judged against its own threshold" in said
    assert "1 of 1 night above 5/h" in page and "1 of 2 nights above 15/h" in page
    assert "of 3 nights above" not in page  # no one threshold for all three
    assert "2 of 3" in page  # the headline: nights above their own threshold
    # each night's verdict beside its index, and its age group in a column of its own
    assert "<th>Age group</th>" in page and "8.0 /h<br><small>above 5/h</small>" in page
    assert "10.0 /h<br><small>not above 15/h</small>" in page


def test_the_figure_draws_each_threshold_named_by_its_age_group(analyzed, tmp_path):
    from sleepmove.reports.trend import nights_table, trend_figure

    summaries = {
        "kid": analyzed["child"],
        "a1": analyzed["ankle"],
    }
    figure = trend_figure(nights_table(summaries), 15.0)
    upper = figure.axes[0]
    lines = {line.get_label(): line for line in upper.lines if line.get_label().endswith("child")}
    lines |= {line.get_label(): line for line in upper.lines if line.get_label().endswith("adult")}
    assert sorted(lines) == ["15/h: adult", "5/h: child"]
    assert lines["5/h: child"].get_ydata()[0] == 5.0 and lines["15/h: adult"].get_ydata()[0] == 15
    assert lines["5/h: child"].get_linestyle() != lines["15/h: adult"].get_linestyle()


# --- 2. a wrist, another release, other rules, other settings: named, never pooled -------


def test_a_wrist_night_is_named_and_kept_out_of_the_ankle_nights_mean(analyzed, tmp_path):
    paths = make_nights(
        analyzed,
        tmp_path / "nights",
        [("a1", "ankle", 1, 10.0), ("arm", "wrist", 2, 60.0), ("a2", "ankle", 3, 20.0)],
    )
    page, table = report(paths, tmp_path / "out")
    assert table.set_index("night")["placement"].to_dict() == {
        "a1": "ankle",
        "arm": "wrist",
        "a2": "ankle",
    }
    (said,) = warning_items(page)
    assert said.startswith("Sensor placement: ankle (a1, a2); wrist (arm).")
    assert "the arm's movements" in said and "set for legs" in said
    ankle = group_table(page, "rules wasm2016, ankle (2 nights: a1, a2)")
    wrist = group_table(page, "rules wasm2016, wrist (1 night: arm)")
    assert ankle["PLM index"] == "15.0 /h"  # (10 + 20) / 2: the wrist's 60 left out
    assert wrist["PLM index"] == "60.0 /h"
    assert "30.0 /h" not in page  # the mean over all three nights is given nowhere
    assert "2 groups" in page and "not all comparable" in page
    assert '<td data-label="Placement">wrist</td>' in page


def test_a_wrist_only_report_carries_the_wrist_caveat(analyzed, tmp_path):
    from sleepmove.reports.trend import nights_table, trend_figure

    paths = make_nights(analyzed, tmp_path / "nights", [("w1", "wrist", 1, 20.0)])
    page, _ = report(paths, tmp_path / "out")
    assert '<p class="warn" id="wrist"><b>The sensor was on a wrist.</b>' in page
    assert "PLM index of the arm" in page and "threshold 15/h, set for legs" in page
    assert "above 15/h (a threshold set for legs)" in page
    assert "dashed: the 15/h threshold, set for legs" in page
    figure = trend_figure(nights_table({"w1": analyzed["wrist"]}), 15.0)
    assert figure.get_suptitle() == "rules wasm2016, sensor on a wrist"
    assert "15/h, set for legs" in [line.get_label() for line in figure.axes[0].lines]


def test_a_night_of_another_release_is_named(analyzed, tmp_path, capsys):
    paths = make_nights(
        analyzed,
        tmp_path / "nights",
        [("a1", "ankle", 1, 10.0), ("old", "ankle", 2, 40.0, "0.1.0"), ("a2", "ankle", 3, 20.0)],
    )
    page, table = report(paths, tmp_path / "out")
    assert "(software release)" in capsys.readouterr().err
    version = analyzed["ankle"]["software"]["version"]
    assert table.set_index("night")["software_version"].to_dict() == {
        "a1": version,
        "old": "0.1.0",
        "a2": version,
    }
    (said,) = warning_items(page)
    assert said.startswith(
        f"Software release: sleepmove {version} (a1, a2); sleepmove 0.1.0 (old)."
    )
    title = f"rules wasm2016, sleepmove {version} (2 nights: a1, a2)"
    assert group_table(page, title)["PLM index"] == "15.0 /h"
    assert "<th>Software</th>" in page


def test_other_rules_are_named_per_night_and_averaged_apart(analyzed, tmp_path):
    paths = make_nights(
        analyzed,
        tmp_path / "nights",
        [("w1", "ankle", 1, 10.0), ("s1", "aasm", 2, 50.0), ("w2", "ankle", 3, 20.0)],
    )
    page, _ = report(paths, tmp_path / "out")
    (said,) = warning_items(page)
    assert said.startswith("Rules: wasm2016 (w1, w2); aasm2012 (s1).")
    assert group_table(page, "rules wasm2016 (2 nights: w1, w2)")["PLM index"] == "15.0 /h"
    assert group_table(page, "rules aasm2012 (1 night: s1)")["PLM index"] == "50.0 /h"
    assert "26.7" not in page  # the mean over both rule sets is given nowhere
    # the nights table names each night's rules (nights.csv always did)
    rows = re.findall(r"<tr>(.*?)</tr>", page.split("<h2>Nights</h2>")[1].split("</table>")[0])
    assert "<th>Rules</th>" in rows[0]
    rules = [re.findall(r'data-label="Rules">(.*?)</td>', row) for row in rows[1:]]
    assert rules == [["wasm2016"], ["aasm2012"], ["wasm2016"]]


def test_nights_of_other_settings_are_named_with_what_differs(analyzed, tmp_path):
    paths = make_nights(
        analyzed, tmp_path / "nights", [("a1", "ankle", 1, 10.0), ("tuned", "config", 2, 30.0)]
    )
    page, _ = report(paths, tmp_path / "out")
    (said,) = warning_items(page)
    assert "different settings (detection.onset_factor differs)" in said
    assert "settings 1 (a1); settings 2 (tuned)" in said


def test_an_infants_night_differs_by_its_age_group_not_by_settings(analyzed, tmp_path):
    """The infant's own defaults (shorter bouts, the merge gap) are its age group's: named
    once, as the age group, not as "different settings" sent to compare settings.toml."""
    paths = make_nights(
        analyzed, tmp_path / "nights", [("a1", "ankle", 1, 10.0), ("baby", "infant", 2, 3.0)]
    )
    page, _ = report(paths, tmp_path / "out")
    (said,) = warning_items(page)
    assert said.startswith("Age group and threshold: adult, 15/h (a1); infant, 5/h (baby).")
    assert "settings" not in said.lower() and "<th>Settings</th>" not in page


def test_diary_comparisons_stay_within_nights_analyzed_alike(analyzed, tmp_path):
    paths = make_nights(
        analyzed,
        tmp_path / "nights",
        [
            ("a1", "ankle", 1, 10.0),
            ("arm1", "wrist", 2, 60.0),
            ("a2", "ankle", 5, 30.0),
            ("arm2", "wrist", 6, 70.0),
        ],
    )
    diary = tmp_path / "diary.csv"
    diary.write_text("date,tag,from\n2025-03-04,new tablets,yes\n")
    out = tmp_path / "out"
    assert main(["report", *paths, "--out", str(out), "--diary", str(diary)]) == 0
    page = re.sub(r"data:[^\"']+", "", (out / "report.html").read_text())
    part = page.split("<h2>Before and after</h2>")[1]
    assert "each group of nights analyzed alike is compared on its own" in part
    # one night on each side in each group, never two (the other group's) pooled
    assert part.count(">Median of the 1 night before</th>") == 2
    assert "Median of the 2 nights" not in part
    assert "(30.0 against 10.0 /h)" in part and "(70.0 against 60.0 /h)" in part


# --- 3. nights analyzed alike, one night, words -----------------------------------------


def test_nights_analyzed_alike_are_pooled_without_a_warning(analyzed, tmp_path, capsys):
    paths = make_nights(
        analyzed, tmp_path / "nights", [("a1", "ankle", 1, 10.0), ("a2", "ankle", 2, 20.0)]
    )
    page, _ = report(paths, tmp_path / "out")
    assert "not-alike" not in page and "Analyzed alike" not in page
    assert "warning" not in capsys.readouterr().err
    assert "15.0 /h" in page and "threshold 15/h" in page
    assert "<th>Rules</th>" in page and "<th>Placement</th>" not in page
    assert "2 nights from 1 Mar 2025 to 2 Mar 2025 (2 days)." in page


def test_one_night_is_said_in_the_singular(analyzed, tmp_path, capsys):
    paths = make_nights(analyzed, tmp_path / "nights", [("a1", "ankle", 1, 20.0)])
    page, _ = report(paths, tmp_path / "out")
    assert capsys.readouterr().out.startswith("1 night: ")  # the command's line too
    assert "1 night, dated 1 Mar 2025." in page
    assert "1 of 1 night above 15/h; the PLM index was 20/h." in page
    assert not re.search(r"\b1 (nights|days)\b", page)
    # the nights card is flagged as too few, not as "above the threshold"
    nights_card = page.split('<div class="t">Nights</div>')[1].split('<div class="card')[0]
    assert "too few to judge" in nights_card and "above the threshold" not in nights_card


def test_a_damaged_placement_is_refused_in_one_line(analyzed, tmp_path, capsys):
    paths = make_nights(analyzed, tmp_path / "nights", [("a1", "ankle", 1, 20.0)])
    summary = json.loads((tmp_path / "nights" / "a1" / "summary.json").read_text())
    summary["recording"]["placement"] = 5
    (tmp_path / "nights" / "a1" / "summary.json").write_text(json.dumps(summary))
    assert main(["report", *paths, "--out", str(tmp_path / "out")]) == 2
    assert "recording.placement is 5" in capsys.readouterr().err


@pytest.mark.parametrize("width", [412, 1280])
def test_a_mixed_page_fits_the_screen(analyzed, width, tmp_path):
    from tests.test_report import assert_fits, measure

    if shutil.which("chromium") is None and shutil.which("chromium-browser") is None:
        pytest.skip("chromium is not installed here (.ci/run installs it)")
    paths = make_nights(
        analyzed,
        tmp_path / "nights",
        [
            ("a1", "ankle", 1, 10.0),
            ("kid", "child", 2, 8.0),
            ("arm", "wrist", 3, 60.0),
            ("s1", "aasm", 4, 30.0),
            ("old", "ankle", 5, 40.0, "0.1.0"),
        ],
    )
    out = tmp_path / "out"
    assert main(["report", *paths, "--out", str(out)]) == 0
    assert_fits(measure(out / "report.html", width, tmp_path), width)


def test_a_night_without_an_index_is_not_judged_not_above(analyzed, tmp_path):
    """A hand-edited summary's index of NaN was 'not above 15/h' (above_threshold False)."""
    paths = make_nights(
        analyzed, tmp_path / "nights", [("a1", "ankle", 1, float("nan")), ("a2", "ankle", 2, 20.0)]
    )
    _, table = report(paths, tmp_path / "out")
    assert table.set_index("night")["above_threshold"].to_dict() == {"a1": "", "a2": "True"}


def test_a_kind_without_settings_of_its_own_ends_without_a_comma():
    """A wrist night beside ankle nights of two settings: its kind was "rules wasm2016,
    wrist, adult, 15/h," (its settings empty, joined all the same)."""
    import pandas as pd

    from sleepmove.reports.trend import _kinds

    nights = pd.DataFrame(
        {
            "rules": ["wasm2016"] * 3,
            "placement": ["ankle", "ankle", "wrist"],
            "settings": ["settings 1", "settings 2", ""],
        }
    )
    kinds, varying = _kinds(nights)
    assert varying == ["placement", "settings"]
    assert kinds == [
        "rules wasm2016, ankle, settings 1",
        "rules wasm2016, ankle, settings 2",
        "rules wasm2016, wrist",
    ]


@pytest.mark.parametrize(
    "field, value, shown",
    [
        ("plm_index", 1e308, "plm_index is 1e+308"),
        ("plm_index", -3.0, "plm_index is -3.0"),
        ("periodicity_index", 1.5, "periodicity_index is 1.5"),
        ("criteria.name", "wasm2099", 'criteria.name is "wasm2099"'),
    ],
)
def test_a_summary_value_analyze_cannot_write_is_refused(
    analyzed, tmp_path, capsys, field, value, shown
):
    """1e308 was drawn as a night's PLM index, and an unknown rule set was named as the
    night's rules, exit 0."""
    paths = make_nights(analyzed, tmp_path / "nights", [("a1", "ankle", 1, 20.0)])
    summary_path = tmp_path / "nights" / "a1" / "summary.json"
    summary = json.loads(summary_path.read_text())
    holder, key = (summary["criteria"], "name") if "." in field else (summary, field)
    holder[key] = value
    summary_path.write_text(json.dumps(summary))
    assert main(["report", *paths, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and shown in err
    assert not (tmp_path / "out").exists()


def test_a_night_folder_without_its_summary_is_named_not_dropped(analyzed, tmp_path, capsys):
    make_nights(analyzed, tmp_path / "nights", [("a1", "ankle", 1, 20.0), ("a2", "ankle", 2, 9.0)])
    half = tmp_path / "nights" / "a3"
    half.mkdir()
    (half / "events.csv").write_text("onset_s,kind\n")
    _, table = report([tmp_path / "nights"], tmp_path / "out")
    assert sorted(table["night"]) == ["a1", "a2"]
    err = capsys.readouterr().err
    assert "left out 1 folder " in err and str(half) in err
