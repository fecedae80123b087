"""What `validate` reports and refuses: the rules named, mixed rules, undefined figures,
repeated inputs, missing folders, duplicated reference events."""

import json
import re
import shutil
from html import unescape

import numpy as np
import pandas as pd
import pytest
from matplotlib.text import Text

from sleepmove.cli import main
from sleepmove.reports import figures
from sleepmove.reports.validation_report import bland_altman_figure, night_figure
from sleepmove.sensor.simulate import simulate


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """A short simulated night analyzed under wasm2016 and under aasm2012, and its truth."""
    folder = tmp_path_factory.mktemp("vrep")
    simulate(str(folder / "sim"), hours=1.0, rate_hz=25, seed=1, scenario="plmd-moderate")
    night = str(folder / "sim" / "night.csv")
    wasm, aasm = folder / "wasm", folder / "aasm"
    analyze = ["analyze", night, "--no-report", "--out"]
    assert main([*analyze, str(wasm)]) == 0
    assert main([*analyze, str(aasm), "--criteria", "aasm2012"]) == 0
    return wasm, aasm, folder / "sim" / "truth.json"


def validate(results, references, out) -> int:
    argv = ["validate", *map(str, results), "--reference", *map(str, references)]
    return main([*argv, "--out", str(out)])


def test_a_missing_result_folder_is_said_not_to_exist(nights, tmp_path, capsys):
    _, _, truth = nights
    missing = tmp_path / "nonexistent"
    assert validate([missing], [truth], tmp_path / "v") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"sleepmove: error: {missing}: does not exist; expected a folder written by "
        "sleepmove analyze"
    ]
    assert not (tmp_path / "v").exists()
    assert validate([truth], [truth], tmp_path / "v") == 2
    assert f"{truth}: not a folder" in capsys.readouterr().err


def test_a_result_folder_given_twice_is_refused_before_anything_is_written(
    nights, tmp_path, capsys
):
    wasm, _, truth = nights
    link = tmp_path / "same"
    link.symlink_to(wasm)
    for second in (wasm, link):  # the same path, or another way to the same folder
        out = tmp_path / f"v-{second.name}"
        assert validate([wasm, second], [truth, truth], out) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "the same result folder given twice" in err[0]
        assert err[0].startswith(f"sleepmove: error: {second}: ")
        assert not out.exists()


def test_a_result_folder_given_twice_is_named_before_any_night_is_checked(nights, tmp_path, capsys):
    """The slip is named at once: not after every night's reference was read (a broken
    reference here would otherwise be the error the user sees first)."""
    wasm, _, _ = nights
    broken = tmp_path / "broken.csv"
    broken.write_text("")
    assert validate([wasm, wasm], [broken, broken], tmp_path / "v") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the same result folder given twice" in err[0]


def test_icc_is_null_where_the_nights_do_not_vary(nights, tmp_path):
    """Two copies of one night: every index alike, so ICC(2,1) is undefined (it read 0.00)."""
    wasm, _, truth = nights
    copy = tmp_path / "copy"
    shutil.copytree(wasm, copy)
    out = tmp_path / "v"
    assert validate([wasm, copy], [truth, truth], out) == 0
    stats = json.loads((out / "validation.json").read_text())["pooled"]["plm_index"]
    assert stats["nights"] == 2 and stats["icc_2_1"] is None and stats["pearson_r"] is None
    said = _card(out, "PLM index ICC(2,1), rules wasm2016")
    assert "0.00" not in said and "n/a" in said
    assert "ICC undefined: the nights' indices do not vary" in said


def _card(out, title: str) -> str:
    """The text of the report's card of that title."""
    html = (out / "report.html").read_text()
    start = html.index(f'<div class="t">{title}</div>')
    return unescape(re.sub(r"<[^>]+>", " ", html[start : html.index("</div></div>", start)]))


def _lm_reference(result, path, repeat: int = 1, side: str = "left"):
    """A CSV reference of the night's own detected LMs, each row `repeat` times."""
    events = pd.read_csv(result / "events.csv", keep_default_na=False)
    lms = events[events["kind"] == "lm"]
    reference = pd.DataFrame(
        {"onset": lms["onset"], "duration": lms["duration_s"], "type": "Limb movement"}
    )
    reference["side"] = side
    pd.concat([reference] * repeat).sort_values("onset").to_csv(path, index=False)
    return len(lms)


def test_a_reference_listing_each_event_twice_is_warned_of_and_counted_once(
    nights, tmp_path, capsys
):
    wasm, _, _ = nights
    path = tmp_path / "twice.csv"
    n = _lm_reference(wasm, path, repeat=2)
    out = tmp_path / "v"
    assert validate([wasm], [path], out) == 0
    err = capsys.readouterr().err
    said = f"{path}: {n} events repeating another exactly (same onset, kind and side)"
    assert f"sleepmove: warning: {said}: each counted once" in err.splitlines()
    row = pd.read_csv(out / "validation.csv").iloc[0]
    assert row["lm_reference"] == n and row["lm_f1"] == 1.0  # was 2n and 2/3


def test_events_at_one_onset_on_two_legs_are_not_repeats(nights, tmp_path, capsys):
    wasm, _, _ = nights
    left, right, both = tmp_path / "l.csv", tmp_path / "r.csv", tmp_path / "both.csv"
    _lm_reference(wasm, left, side="left")
    _lm_reference(wasm, right, side="right")
    pd.concat([pd.read_csv(left), pd.read_csv(right)]).to_csv(both, index=False)
    assert validate([wasm], [both], tmp_path / "v") == 0
    assert "repeat another" not in capsys.readouterr().err


def _rules_texts(figure) -> list[str]:
    """The text of the figure's artists that name its rules (gid "rules")."""
    return [t.get_text() for t in figure.findobj(Text) if t.get_gid() == "rules"]


def test_the_figures_name_their_rules():
    stats = {"bland_altman": {"bias": None}}
    figure = bland_altman_figure(np.array([20.0, 30]), np.array([22.0, 29]), stats, "aasm2012")
    assert _rules_texts(figure) == ["rules aasm2012"]
    events = pd.DataFrame({"onset_s": [10.0], "kind": ["lm"]})
    figure = night_figure("n1", events, events, "wasm2016 (imi_max_s=30)")
    assert _rules_texts(figure) == ["rules wasm2016 (imi_max_s=30)"]


def _figures_drawn(monkeypatch) -> list[list[str]]:
    """Each figure the command draws, as the texts naming its rules."""
    drawn = []
    original = figures.to_png

    def to_png(figure, *args, **kwargs):
        drawn.append(_rules_texts(figure))
        return original(figure, *args, **kwargs)

    monkeypatch.setattr(figures, "to_png", to_png)
    return drawn


def test_one_rule_set_is_named_in_the_json_page_and_figures(nights, tmp_path, monkeypatch):
    wasm, _, truth = nights
    drawn = _figures_drawn(monkeypatch)
    out = tmp_path / "v"
    assert validate([wasm], [truth], out) == 0
    pooled = json.loads((out / "validation.json").read_text())["pooled"]
    assert pooled["rules"] == "wasm2016" and pooled["warnings"] == []
    assert pooled["nights_by_rules"] == {"wasm2016": [str(wasm)]}
    assert pooled["plm"]["f1"] is not None and "by_rules" not in pooled
    html = (out / "report.html").read_text()
    assert "1 night, scored by rules wasm2016;" in html
    assert "PLM index ICC(2,1), rules wasm2016" in html
    assert drawn == [["rules wasm2016"], ["rules wasm2016"]]  # Bland-Altman, the night


def test_nights_scored_by_different_rules_are_warned_of_and_not_pooled(
    nights, tmp_path, monkeypatch, capsys
):
    wasm, aasm, truth = nights
    drawn = _figures_drawn(monkeypatch)
    out = tmp_path / "v"
    assert validate([wasm, aasm], [truth, truth], out) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if "different rules" in line]
    assert err == [
        "sleepmove: warning: the nights were scored by different rules (wasm2016: "
        f"{wasm}; aasm2012: {aasm}): PLM agreement and the PLM index across nights are given "
        "per rule set, not pooled; LMs and jerks are pooled over all nights"
    ]
    pooled = json.loads((out / "validation.json").read_text())["pooled"]
    assert pooled["rules"] is None and pooled["warnings"] == [err[0].split("warning: ", 1)[1]]
    assert pooled["nights_by_rules"] == {"wasm2016": [str(wasm)], "aasm2012": [str(aasm)]}
    assert pooled["plm"] is None and pooled["plm_index"] is None  # no rule set's agreement
    assert pooled["lm"]["reference"] == sum(
        part["lm"]["reference"] for part in pooled["by_rules"].values()
    )
    for label, folder in (("wasm2016", wasm), ("aasm2012", aasm)):
        part = pooled["by_rules"][label]
        assert part["nights"] == [str(folder)] and part["plm_index"]["nights"] == 1
    html = (out / "report.html").read_text()
    assert "The nights were scored by different rules (wasm2016: wasm; aasm2012: aasm)" in html
    assert "PLM index 1 night scored by rules aasm2012" in html
    assert "PLM F1 (pooled, rules wasm2016)" in html and "PLM F1 (pooled)" not in html
    assert sorted(p.name for p in (out / "figures").iterdir()) == [
        "aasm.png",
        "bland_altman_aasm2012.png",
        "bland_altman_wasm2016.png",
        "wasm.png",
    ]
    assert sorted(map(tuple, drawn)) == sorted([("rules wasm2016",), ("rules aasm2012",)] * 2)


def _analyzed_with(truth, tmp_path, settings: str):
    """The night of `truth` analyzed with a settings file holding `settings`: its folder."""
    config = tmp_path / "mine.toml"
    config.write_text(settings)
    changed = tmp_path / "changed"
    night = str(truth.parent / "night.csv")
    argv = ["analyze", night, "--no-report", "--config", str(config), "--out", str(changed)]
    assert main(argv) == 0
    return changed


def test_changed_rule_numbers_are_named_and_part_the_nights(nights, tmp_path, capsys):
    """A settings file's change is part of the rules: a night scored with it is not pooled
    with nights scored by the published rule set."""
    wasm, _, truth = nights
    changed = _analyzed_with(truth, tmp_path, "[rules]\nimi_max_s = 30\n")
    out = tmp_path / "v"
    assert validate([wasm, changed], [truth, truth], out) == 0
    assert "wasm2016 (imi_max_s=30)" in capsys.readouterr().err
    result = json.loads((out / "validation.json").read_text())
    assert [row["rules"] for row in result["nights"]] == ["wasm2016", "wasm2016 (imi_max_s=30)"]
    assert set(result["pooled"]["by_rules"]) == {"wasm2016", "wasm2016 (imi_max_s=30)"}
    assert (out / "figures" / "bland_altman_wasm2016_imi_max_s_30.png").exists()


def test_lms_scored_by_other_duration_bounds_are_not_pooled(nights, tmp_path, capsys):
    """lm_min_s changed: an LM is another thing, so LM agreement is per rule set too (it
    was pooled over all nights, as if the two nights had counted the same events)."""
    wasm, _, truth = nights
    changed = _analyzed_with(truth, tmp_path, "[rules]\nlm_min_s = 0.3\n")
    capsys.readouterr()
    out = tmp_path / "v"
    assert validate([wasm, changed], [truth, truth], out) == 0
    captured = capsys.readouterr()
    assert "so are LMs, whose duration bounds differ (lm_min_s, lm_max_s)" in captured.err
    assert "LM F1 per rule set (validation.json)" in captured.out
    pooled = json.loads((out / "validation.json").read_text())["pooled"]
    assert pooled["lm"] is None and pooled["jerk"] is not None
    parts = pooled["by_rules"]
    assert set(parts) == {"wasm2016", "wasm2016 (lm_min_s=0.3)"}
    assert all(part["lm"]["f1"] is not None for part in parts.values())
    html = unescape((out / "report.html").read_text())
    assert "LM F1 (pooled, rules wasm2016 (lm_min_s=0.3))" in html
    assert "LM F1 (all nights)" not in html and "JERK F1 (all nights)" in html


def test_the_night_figures_legend_clears_its_axis_label():
    events = pd.DataFrame({"onset_s": [10.0, 900.0, 1800.0], "kind": ["lm", "jerk", "lm"]})
    only_detected = pd.DataFrame({"onset_s": [60.0], "kind": ["movement"]})
    figure = night_figure("n1", events, pd.concat([events, only_detected]), "wasm2016")
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    legend = figure.legends[0].get_window_extent(renderer)
    label = figure.axes[0].xaxis.label.get_window_extent(renderer)
    assert not legend.overlaps(label)  # the legend was drawn over "hours from the start..."
    assert len(figure.legends[0].get_texts()) == 3  # a kind only detected is named too


def test_a_night_whose_index_is_nan_still_gives_valid_json(nights, tmp_path):
    """A hand-edited summary's NaN index reached validation.json as NaN, which is not JSON."""
    import shutil

    wasm, _, truth = nights
    edited = tmp_path / "edited"
    shutil.copytree(wasm, edited)
    summary = json.loads((edited / "summary.json").read_text())
    summary["plm_index"] = float("nan")
    (edited / "summary.json").write_text(json.dumps(summary))
    out = tmp_path / "v"
    assert validate([edited], [truth], out) == 0

    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    json.loads((out / "validation.json").read_text(), parse_constant=refuse)


@pytest.mark.parametrize("width", [412, 1280])
def test_the_validation_page_fits_the_screen(nights, tmp_path, width):
    """Its per-night table needed about 1,500 px: on a phone the page scrolled sideways."""
    from tests.test_report import assert_fits, measure

    wasm, aasm, truth = nights
    out = tmp_path / "v"
    assert validate([wasm, aasm], [truth, truth], out) == 0
    assert_fits(measure(out / "report.html", width, tmp_path), width)
