"""Every figure names the rules that produced it, numbers a settings file changed included;
a threshold the settings changed is the user's, never credited to the classification."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from sleepmove.cli import main
from sleepmove.detection.params import (
    AASM2012,
    WASM2016,
    default_parameters,
    published_threshold,
    rules_label,
)
from sleepmove.sensor.simulate import simulate


def test_the_label_names_the_rule_set_and_every_number_changed():
    assert rules_label(WASM2016) == "wasm2016"
    assert rules_label(AASM2012) == "aasm2012"
    changed = replace(WASM2016, imi_max_s=60.0, plm_threshold_adult=60.0)
    assert rules_label(changed) == "wasm2016 (imi_max_s=60, plm_threshold_adult=60)"
    infant = default_parameters(age_group="infant").rules  # its merge gap is not published
    assert rules_label(infant).startswith("wasm2016 (same_leg_merge_gap_s=")


def test_published_thresholds():
    assert published_threshold("wasm2016", "adult") == 15.0
    assert published_threshold("wasm2016", "child") == 5.0
    assert published_threshold("wasm2016", "infant") == 5.0  # the paediatric one stands in


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    folder = tmp_path_factory.mktemp("night")
    simulate(str(folder), 1.0, 25.0, None, seed=5, scenario="plmd-moderate")
    return folder / "night.csv"


def _analyze(night, tmp_path, settings: str | None, capsys) -> tuple[dict, str, str]:
    out = tmp_path / "out"
    argv = ["analyze", str(night), "--out", str(out)]
    if settings is not None:
        (tmp_path / "mine.toml").write_text(settings)
        argv += ["--config", str(tmp_path / "mine.toml")]
    assert main(argv) == 0
    summary = json.loads((out / "summary.json").read_text())
    return summary, capsys.readouterr().out, (out / "report.html").read_text()


def test_a_changed_threshold_is_the_settings_not_the_classification(night, tmp_path, capsys):
    settings = "[rules]\nplm_threshold_adult = 60.0\nimi_max_s = 60\n"
    summary, printed, html = _analyze(night, tmp_path, settings, capsys)
    label = "wasm2016 (imi_max_s=60, plm_threshold_adult=60)"
    assert summary["criteria"]["name"] == "wasm2016" and summary["criteria"]["label"] == label
    first = summary["assessment"]["statements"][0]
    assert f"({label})" in first
    assert "the 60/h threshold the settings set (the sleep disorder classification's " in first
    assert "threshold for adults is 15/h)" in first and "calls significant" not in first
    assert f"rules {label}" in printed.splitlines()[0]
    assert f"rules {label}" in html and "rules wasm2016<" not in html


def test_published_rules_keep_the_classification_sentence(night, tmp_path, capsys):
    summary, printed, _ = _analyze(night, tmp_path, None, capsys)
    assert summary["criteria"]["label"] == "wasm2016"
    first = summary["assessment"]["statements"][0]
    assert "(wasm2016) is above the 15/h threshold for adults that the sleep disorder " in first
    assert printed.splitlines()[0].endswith("rules wasm2016")


def test_a_report_names_the_rule_numbers_a_settings_file_changed(night, tmp_path, capsys):
    """`report` said "rules wasm2016" of nights scored with imi_max_s = 60, on the page,
    in nights.csv and on the trend figure."""
    _analyze(night, tmp_path, "[rules]\nimi_max_s = 60\n", capsys)
    out = tmp_path / "report"
    assert main(["report", str(tmp_path / "out"), "--out", str(out)]) == 0
    import pandas as pd

    assert pd.read_csv(out / "nights.csv")["rules"].tolist() == ["wasm2016 (imi_max_s=60)"]
    assert "wasm2016 (imi_max_s=60)" in (out / "report.html").read_text()


def test_an_infants_merge_gap_is_its_age_groups_in_a_report_not_a_rule_change():
    from sleepmove.reports.summary import rules_shown

    infant = default_parameters(age_group="infant")
    summary = {"criteria": {"name": "wasm2016", "parameters": infant.as_dict()}}
    assert rules_shown(summary).startswith("wasm2016 (same_leg_merge_gap_s=")
    assert rules_shown(summary, beside_own_defaults=True) == "wasm2016"
