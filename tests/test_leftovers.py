"""Leftovers of the stress tests: each test here failed before its fix."""

import json
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sleepmove.cli import main
from sleepmove.sensor.readers import read_recording
from tests.test_cli_robustness import refused

# --- record: the emulated night's options without --emulate -----------------------------


@pytest.mark.parametrize(
    "options, wanted",
    [
        (["--speed", "50"], "--speed: is for emulated sensors, and no --emulate was given"),
        (["--scenario", "healthy"], "--scenario: is for emulated sensors"),
        (["--seed", "3"], "--seed: is for emulated sensors"),
        (["--scenario", "healthy", "--speed", "1"], "--scenario, --speed: are for emulated"),
    ],
)
def test_record_refuses_emulation_options_for_a_real_sensor(tmp_path, capsys, options, wanted):
    """They were ignored (the night recorded at real time from the sensor); refused before
    the adapter is tried (a refusal for want of Bluetooth would hide them) or --out made."""
    out = tmp_path / "r"
    argv = ["record", "--device", "Polar Sense 1", "--out", str(out), "--duration", "1m"]
    line = refused(capsys, [*argv, *options], wanted)
    assert "Bluetooth" not in line
    assert not out.exists()


# --- record: a recording killed keeps its truth.json --------------------------------------


def test_kill_9_of_an_emulated_night_keeps_its_truth(tmp_path):
    """truth.json was written only at the end: kill -9 left a night no one could score. It
    is written once the first samples are in and again whenever a gap changes, atomically;
    its `covers` says it was written while recording. Its events are the whole planned
    night; validate leaves out those past the recording's last sample, and scores the rest."""
    pytest.importorskip("bumble")
    out = tmp_path / "k"
    argv = ["record", "--emulate", "polar-verity", "--out", str(out), "--speed", "200"]
    process = subprocess.Popen(
        [sys.executable, "-m", "sleepmove.cli", *argv, "--duration", "9h", "--no-report"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline, samples = time.time() + 120, 0
        while time.time() < deadline and samples < 52 * 3600 * 1.2:  # 72 min of the night
            time.sleep(0.5)
            if (out / "recording.json").exists():
                samples = json.loads((out / "recording.json").read_text())["sensors"][0]["samples"]
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert samples >= 52 * 3600 * 1.2, "the emulated night did not reach 72 minutes"
    truth = json.loads((out / "truth.json").read_text())
    assert truth["covers"].startswith("written while recording")
    recording = read_recording(str(out / "night.csv"))
    # the planned night's sample 0, on the recording's clock: the emulator streams from it,
    # the recording from the first connection, a moment (times --speed) later
    assert 0 <= recording.time_s[0] - truth["start_unix"] < 120
    analysis, validation = tmp_path / "analysis", tmp_path / "validation"
    assert main(["analyze", str(out / "night.csv"), "--out", str(analysis), "--no-report"]) == 0
    argv = ["validate", str(analysis), "--reference", str(out / "truth.json")]
    assert main([*argv, "--out", str(validation)]) == 0
    lm = json.loads((validation / "validation.json").read_text())["pooled"]["lm"]
    assert lm["reference"] > 20 and lm["f1"] >= 0.9, lm


# --- settings: a setting above every [section] header -------------------------------------

SAMPLE = str(Path(__file__).resolve().parent.parent / "data" / "samples" / "night.csv.gz")


@pytest.mark.parametrize(
    "text, wanted",
    [
        (
            "criteria = 5\n",
            "criteria = 5 lies outside any [section]; expected criteria under [options]",
        ),
        ("criteria = 'aasm2012'\n[options]\nunits = 'g'\n", "expected criteria under [options]"),
        ("onset_factor = 2.5\n", "expected onset_factor under [detection]"),
        ("colour = 1\n", "colour = 1 lies outside any [section]; expected settings under"),
        ("detection = 3\n", "detection = 3 is not a section"),  # as before
    ],
)
def test_a_setting_outside_any_section_is_named_as_such(tmp_path, capsys, text, wanted):
    """TOML reads a line above the first header as the file's own key: `criteria = 5` was
    refused as an "unknown section [criteria]", which it is not."""
    config = tmp_path / "s.toml"
    config.write_text(text)
    out = tmp_path / "o"
    line = refused(capsys, ["analyze", SAMPLE, "--config", str(config), "--out", str(out)], wanted)
    assert str(config) in line and "unknown section" not in line
    assert not out.exists()


# --- batch --sleep-log: negative seconds --------------------------------------------------


@pytest.mark.parametrize(
    "row, wanted",
    [
        ("n1,-300,1200", "lights_out '-300' is seconds before the recording starts (line 2)"),
        ("n1,23:00,-60", "lights_on '-60' is seconds before the recording starts (line 2)"),
    ],
)
def test_a_sleep_log_refuses_seconds_before_the_start(tmp_path, capsys, row, wanted):
    """A lights out of -300 s was taken (the night scored from before its first sample)."""
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SAMPLE, folder / "n1.csv.gz")
    log = tmp_path / "log.csv"
    log.write_text(f"night,lights_out,lights_on\n{row}\n")
    out = tmp_path / "b"
    argv = ["batch", str(folder), "--sleep-log", str(log), "--no-report", "--out", str(out)]
    line = refused(capsys, argv, f"{log}: {wanted}; expected seconds from the start, 0 or more")
    assert "Traceback" not in line
    assert not out.exists() or not list(out.iterdir())


# --- readers: a file in descending time order ---------------------------------------------


def test_sample_numbers_after_a_reversed_file_are_told_from_its_end(tmp_path):
    """A file written newest first is reversed; the grid's later warnings number samples in
    the reversed order, which was not said: 'sample 1001' was the file's 1001st row from
    the end. The reversal's warning says so, and the number leads to the corrupted line."""
    import pandas as pd

    from sleepmove.sensor.simulate import simulate

    simulate(str(tmp_path / "sim"), hours=0.2, rate_hz=25, sides=[""], seed=5)
    table = pd.read_csv(tmp_path / "sim" / "night.csv")
    table.loc[1000, "time"] += 5000.0  # one corrupted stamp
    descending = tmp_path / "descending.csv"
    table.iloc[::-1].to_csv(descending, index=False)
    out = tmp_path / "o"
    assert main(["analyze", str(descending), "--out", str(out), "--no-report"]) == 0
    warnings = json.loads((out / "summary.json").read_text())["quality"]["warnings"]
    [reversal] = [w for w in warnings if "reverse time order" in w]
    assert "'sample N' is the N-th sample from the end of the file" in reversal
    [stray] = [w for w in warnings if "corrupted" in w]
    sample = int(re.search(r"first at sample (\d+)", stray).group(1))
    line = 1 + len(table) + 1 - sample  # the header, then the rows, the last one sample 1
    stamp = descending.read_text().splitlines()[line - 1].split(",")[0]
    assert float(stamp) == table.loc[1000, "time"]
