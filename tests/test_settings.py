"""Settings files: every output folder holds one, and passing it back reproduces the results."""

import json

import pytest

from sleepmove.cli import main
from sleepmove.detection.parameter_changes import (
    ParameterError,
    changes_between,
    checked_value,
    with_changes,
)
from sleepmove.detection.params import AASM2012, INFANT_SLEEP, WASM2016, default_parameters
from sleepmove.settings import read_settings

OUTPUTS = ("events.csv", "epochs.csv", "summary.json", "settings.toml")


def analyze(night, out, *extra):
    return main(["analyze", str(night), "--out", str(out), "--no-report", *extra])


def summary_of(out):
    return json.loads((out / "summary.json").read_text())


def test_the_saved_settings_reproduce_the_results_byte_for_byte(plm_night, tmp_path):
    night = plm_night[0] / "night.csv"
    assert analyze(night, tmp_path / "a", "--age-group", "infant", "--sleep-window", "0,6000") == 0
    assert analyze(night, tmp_path / "b", "--config", str(tmp_path / "a" / "settings.toml")) == 0
    for name in OUTPUTS:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    summary = summary_of(tmp_path / "b")
    assert summary["sleep"]["source"] == "given"  # the options came back, not only parameters
    assert summary["criteria"]["parameters"]["sleep"]["mean_sleep_bout_min"] == 8.0  # infant


def test_a_file_from_another_release_is_read_with_a_warning(plm_night, tmp_path, capsys):
    """Its defaults and the meaning of some parameters may have changed since (0.2.0:
    vigour in units of the night's spread): said in one line, and read all the same."""
    night = plm_night[0] / "night.csv"
    assert analyze(night, tmp_path / "a") == 0
    saved = (tmp_path / "a" / "settings.toml").read_text()
    notes = capsys.readouterr().err  # the night's notes on its data (duplicated rows)
    assert analyze(night, tmp_path / "b", "--config", str(tmp_path / "a" / "settings.toml")) == 0
    assert capsys.readouterr().err == notes  # this release's own file: no word
    older = tmp_path / "older.toml"
    older.write_text(saved.replace(saved.split(":")[0], "# sleepmove 0.1.0", 1))
    assert analyze(night, tmp_path / "c", "--config", str(older)) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if line not in notes]
    assert len(warned) == 1 and "written by sleepmove 0.1.0" in warned[0]


def test_a_files_changes_that_do_not_fit_the_rules_named_on_the_command_line_are_refused(
    plm_night, tmp_path, capsys
):
    """AASM's imi_max_s of 7.5 under --criteria wasm2016 (imi_min_s 10): one line naming the
    file, exit 2, nothing written (it was a traceback)."""
    night = plm_night[0] / "night.csv"
    settings = tmp_path / "aasm.toml"
    settings.write_text('[options]\ncriteria = "aasm2012"\n\n[rules]\nimi_max_s = 7.5\n')
    assert analyze(night, tmp_path / "a", "--config", str(settings)) == 0
    capsys.readouterr()
    code = analyze(night, tmp_path / "b", "--config", str(settings), "--criteria", "wasm2016")
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and str(settings) in err[0] and "imi_max_s" in err[0]
    assert not (tmp_path / "b").exists()


def test_a_hand_written_file_changes_only_what_it_names(plm_night, tmp_path):
    night = plm_night[0] / "night.csv"
    config = tmp_path / "mine.toml"
    config.write_text("[rules]\nimi_max_s = 30\n\n[quality]\nlong_gap_note_s = 60\n")
    assert analyze(night, tmp_path / "default") == 0
    assert analyze(night, tmp_path / "changed", "--config", str(config)) == 0
    default, changed = summary_of(tmp_path / "default"), summary_of(tmp_path / "changed")
    rules = changed["criteria"]["parameters"]["rules"]
    assert rules["imi_max_s"] == 30.0 and rules["name"] == "wasm2016"
    assert changed["criteria"]["parameters"]["quality"]["long_gap_note_s"] == 60.0
    # Series need intervals of 10-30 s now: the simulated PLMS (about 20-40 s) lose some.
    assert changed["counts"]["plm"] < default["counts"]["plm"]
    saved = (tmp_path / "changed" / "settings.toml").read_text()
    assert "imi_max_s = 30.0" in saved and "onset_factor = 3.0" in saved  # written in full


def test_validate_scores_the_reference_by_the_rules_the_result_used(plm_night, tmp_path):
    from sleepmove.validate import rules_of

    config = tmp_path / "mine.toml"
    config.write_text("[rules]\nimi_max_s = 30\n")
    assert analyze(plm_night[0] / "night.csv", tmp_path / "r", "--config", str(config)) == 0
    rules = rules_of(summary_of(tmp_path / "r"))
    assert rules.imi_max_s == 30.0 and rules.name == "wasm2016" and rules.imi_min_s == 10.0


def test_options_on_the_command_line_win_and_keep_the_files_changes(plm_night, tmp_path):
    night = plm_night[0] / "night.csv"
    config = tmp_path / "mine.toml"
    config.write_text('[options]\ncriteria = "wasm2016"\n\n[rules]\nimi_max_s = 60\n')
    assert analyze(night, tmp_path / "r", "--config", str(config), "--criteria", "aasm2012") == 0
    rules = summary_of(tmp_path / "r")["criteria"]["parameters"]["rules"]
    assert rules["name"] == "aasm2012" and rules["imi_min_s"] == 5.0  # AASM's own defaults...
    assert rules["imi_max_s"] == 60.0  # ...with the file's change on top


@pytest.mark.parametrize(
    "text, says",
    [
        ("[detection\n", "not a settings file"),
        ("[colour]\nred = 1\n", "unknown section [colour]"),
        ("[detection]\nonset_factor = 'high'\n", "[detection] onset_factor = 'high'"),
        ("[detection]\nonset_factr = 2.0\n", "[detection] has no setting 'onset_factr'"),
        ("[rules]\nmin_series_count = 4.5\n", "expected a whole number"),
        ("[rules]\nrespiratory_window_s = [1.0]\n", "expected a list of 2 numbers"),
        ("[rules]\nname = 'aasm2012'\n[options]\ncriteria = 'wasm2016'\n", "the same rule set"),
        ("[rules]\nname = 'rls1999'\n", "one of wasm2016, aasm2012"),
        ("[options]\nplacement = 'forehead'\n", "one of ankle, wrist"),
        ("[options]\nclock_alignment = 'yes'\n", "a bool value"),
        ("[options]\nmin_duration_min = -5\n", "minutes from 1 to 1440"),
        ("[options]\nmin_duration_min = 0.5\n", "minutes from 1 to 1440"),
        ("detection = 3\n", "detection = 3 is not a section"),
        ("[detection]\nonset_factor = nan\n", "onset_factor = nan; expected a number above 0"),
        ("[detection]\nonset_factor = inf\n", "onset_factor = inf"),
        ("[sleep]\nepoch_s = 0\n", "epoch_s = 0; expected a number above 0"),
        ("[sleep]\nwindow_epochs = 99999999999999\n", "at most 10000"),
        ("[rules]\nlm_min_s = -1\n", "lm_min_s = -1; expected a number at least 0"),
        ("[sleep]\nstart_awake = 1.5\n", "at most 1"),
        ("[detection]\nhft_freq_hz = [4.0, 0.3]\n", "the lower value first"),
        ("[rules]\nbilateral_mode = 'whatever'\n", "one of overlap, onset"),
        ("[rules]\nimi_min_s = 95\n", "imi_min_s below imi_max_s"),
    ],
)
def test_a_bad_settings_file_is_refused_in_one_line(plm_night, tmp_path, capsys, text, says):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    out = tmp_path / "out"
    assert analyze(plm_night[0] / "night.csv", out, "--config", str(config)) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and says in err and str(config) in err
    assert err.count("expected") == 1 and "Traceback" not in err
    assert not out.exists()


def test_a_bad_setting_stops_a_batch_before_any_night(plm_night, tmp_path, capsys):
    config = tmp_path / "bad.toml"
    config.write_text("[sleep]\nepoch_s = 0\n")
    out = tmp_path / "batch"
    argv = ["batch", str(plm_night[0] / "night.csv"), "--out", str(out), "--config", str(config)]
    assert main(argv) == 2
    assert "epoch_s = 0;" in capsys.readouterr().err and not out.exists()


def test_any_text_round_trips_through_the_settings_file(plm_night, tmp_path):
    """Quotes, backslashes, control characters, DEL and characters beyond the BMP."""
    from sleepmove.settings import settings_text

    params = default_parameters()
    options = {"timezone": 'a"b\\c\n\t\x7f\x00é😀', "criteria": "wasm2016"}
    path = tmp_path / "s.toml"
    path.write_text(settings_text(params, options), encoding="utf-8")
    assert read_settings(str(path)).options["timezone"] == options["timezone"]


def test_batch_takes_the_settings_for_every_night(plm_night, tmp_path):
    config = tmp_path / "mine.toml"
    config.write_text("[sleep]\nmean_wake_bout_min = 4.5\n")
    out = tmp_path / "batch"
    code = main(["batch", str(plm_night[0] / "night.csv"), "--out", str(out), "--no-report",
                 "--workers", "1", "--config", str(config)])  # fmt: skip
    assert code == 0
    (night,) = [p for p in out.iterdir() if (p / "summary.json").exists()]
    assert summary_of(night)["criteria"]["parameters"]["sleep"]["mean_wake_bout_min"] == 4.5
    assert read_settings(str(night / "settings.toml")).changes == {
        "sleep": {"mean_wake_bout_min": 4.5}
    }


def test_a_default_settings_file_keeps_a_batchs_finished_nights(plm_night, tmp_path, capsys):
    night, out = str(plm_night[0] / "night.csv"), tmp_path / "batch"
    plain = ["batch", night, "--out", str(out), "--no-report", "--workers", "1"]
    assert main(plain) == 0
    assert analyze(night, tmp_path / "one", "--min-duration", "1.71") == 0
    assert "min_duration_min = 1.71\n" in (tmp_path / "one" / "settings.toml").read_text()
    assert analyze(night, tmp_path / "defaults") == 0
    capsys.readouterr()
    config = str(tmp_path / "defaults" / "settings.toml")
    assert main([*plain, "--config", config]) == 0
    assert "1 of 1 nights already done" in capsys.readouterr().out  # made the same way


def test_changes_are_counted_from_the_files_own_defaults(tmp_path):
    config = tmp_path / "s.toml"
    sleep = "\n".join(f"{name} = {value!r}" for name, value in INFANT_SLEEP.items())
    config.write_text(f"[options]\nage_group = 'infant'\n\n[sleep]\n{sleep}\n")
    assert read_settings(str(config)).changes == {}  # the infant defaults change nothing


def test_values_take_the_type_of_their_default():
    assert checked_value("rules", "imi_max_s", 30, 90.0) == 30.0
    assert isinstance(checked_value("rules", "imi_max_s", 30, 90.0), float)
    assert checked_value("rules", "respiratory_window_s", [-1, 2.5], (-2.0, 10.25)) == (-1.0, 2.5)
    with pytest.raises(ParameterError, match="expected a number"):
        checked_value("rules", "imi_max_s", True, 90.0)
    with pytest.raises(ParameterError, match="expected true or false"):
        checked_value("rules", "non_clm_breaks_series", 1, True)


def test_with_changes_and_changes_between_are_inverses():
    base = default_parameters("aasm2012", "child")
    changed = with_changes(base, {"rules": {"imi_max_s": 60}, "detection": {"jerk_max_s": 0.4}})
    assert changed.rules.imi_max_s == 60.0 and changed.rules.imi_min_s == AASM2012.imi_min_s
    assert changes_between(base, changed) == {
        "rules": {"imi_max_s": 60.0},
        "detection": {"jerk_max_s": 0.4},
    }
    assert with_changes(base, changes_between(base, changed)) == changed
    # a rule set is chosen by its name, never changed into another by a field
    with pytest.raises(ParameterError, match="has no setting 'name'"):
        with_changes(base, {"rules": {"name": WASM2016.name}})


@pytest.mark.parametrize(
    "changes",
    [
        {"mean_sleep_bout_min": 0.001},  # divided by zero in the sleep model
        {"mean_wake_bout_min": 0.4},  # a change of state more likely than 1: no sleep found
        {"epoch_s": 60.0, "mean_wake_bout_min": 0.9},  # shorter than the epoch it is set with
    ],
)
def test_sleep_bouts_shorter_than_an_epoch_are_refused(changes):
    with pytest.raises(ParameterError, match=r"shorter than an epoch.*expected a mean bout"):
        with_changes(default_parameters(), {"sleep": changes})


def test_a_bout_of_one_epoch_is_taken():
    changed = with_changes(default_parameters(), {"sleep": {"mean_wake_bout_min": 0.5}})
    assert changed.sleep.mean_wake_bout_min == 0.5


def test_a_named_legs_settings_reproduce_its_results_byte_for_byte(plm_night, tmp_path):
    """--side was not saved: rerun from settings.toml, the events lost their side."""
    night = str(plm_night[0] / "night.csv")
    assert analyze(night, tmp_path / "one", "--side", "right") == 0
    config = str(tmp_path / "one" / "settings.toml")
    assert 'side = "right"\n' in open(config).read()
    assert analyze(night, tmp_path / "again", "--config", config) == 0
    for name in ("events.csv", "epochs.csv"):
        assert (tmp_path / "again" / name).read_bytes() == (tmp_path / "one" / name).read_bytes()
    # written for a FILE's leg, the file's side gives way to --left named instead
    argv = ["analyze", "--left", night, "--config", config, "--no-report"]
    assert main([*argv, "--out", str(tmp_path / "left")]) == 0
    assert set(summary_of(tmp_path / "left")["recording"]["sides"]) == {"left"}


def test_a_setting_no_longer_used_is_read_with_a_note_not_refused(plm_night, tmp_path, capsys):
    """An older release wrote [detection] bilateral_vibration_window_s, which no step read:
    its settings files still replay, said in one line."""
    night = plm_night[0] / "night.csv"
    assert analyze(night, tmp_path / "a") == 0
    saved = (tmp_path / "a" / "settings.toml").read_text()
    assert "bilateral_vibration_window_s" not in saved
    older = tmp_path / "older.toml"
    older.write_text(
        saved.replace("[detection]\n", "[detection]\nbilateral_vibration_window_s = 0.5\n")
    )
    capsys.readouterr()
    assert analyze(night, tmp_path / "b", "--config", str(older)) == 0
    err = capsys.readouterr().err
    assert "[detection] bilateral_vibration_window_s no longer used by this release" in err
    assert (tmp_path / "a" / "events.csv").read_bytes() == (
        tmp_path / "b" / "events.csv"
    ).read_bytes()


def test_a_summary_naming_a_retired_setting_is_a_night_analyzed_alike(plm_night, tmp_path, capsys):
    night = plm_night[0] / "night.csv"
    for name in ("a", "b"):
        assert analyze(night, tmp_path / name) == 0
    older = json.loads((tmp_path / "b" / "summary.json").read_text())
    older["criteria"]["parameters"]["detection"]["bilateral_vibration_window_s"] = 0.5
    (tmp_path / "b" / "summary.json").write_text(json.dumps(older))
    capsys.readouterr()
    assert (
        main(["report", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "r")])
        == 0
    )
    assert "not all analyzed alike" not in capsys.readouterr().err
