"""The command line end to end: the output contract, and errors that leave nothing behind."""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from sleepmove.cli import main
from tests.conftest import write

EVENT_COLUMNS = [
    "onset_s",
    "onset",
    "duration_s",
    "kind",
    "side",
    "clm",
    "periodic",
    "asleep",
    "series",
    "peak_g",
]
EPOCH_COLUMNS = [
    "start_s",
    "asleep",
    "p_sleep",
    "in_bed",
    "jerks",
    "lms",
    "plms",
    "activity",
    "data_loss_s",
]


def test_analyze_writes_the_output_contract(plm_night, tmp_path, capsys):
    folder, truth = plm_night
    out = tmp_path / "night1"
    assert main(["analyze", str(folder / "night.csv"), "--out", str(out)]) == 0
    assert "PLM index" in capsys.readouterr().out
    events = pd.read_csv(out / "events.csv")
    assert list(events.columns[: len(EVENT_COLUMNS)]) == EVENT_COLUMNS
    assert events["onset_s"].is_monotonic_increasing
    assert set(events["kind"]) <= {"jerk", "lm", "movement", "hft", "alma", "cramp"}
    assert events.loc[events["periodic"], "clm"].all()
    assert events["onset"].str.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d").all()
    epochs = pd.read_csv(out / "epochs.csv")
    assert list(epochs.columns) == EPOCH_COLUMNS
    assert len(epochs) == pytest.approx(truth["hours"] * 60, abs=2)
    summary = json.loads((out / "summary.json").read_text())
    for key in (
        "plm_index",
        "plmw_index",
        "lm_index",
        "periodicity_index",
        "periodicity_index_simple",
        "jerk_rate_per_min",
        "alternation_index",
    ):
        assert key in summary
    assert summary["alternation_index"] is None
    assert set(summary["counts"]) >= {
        "jerk",
        "lm",
        "clm",
        "plm",
        "plmw",
        "plm_series",
        "movement",
        "hft",
        "alma",
    }
    assert summary["criteria"]["name"] == "wasm2016"
    assert summary["criteria"]["parameters"]["rules"]["imi_min_s"] == 10.0
    assert summary["sleep"]["source"] == "estimated"
    assert summary["recording"]["sample_rate_hz"] == {"single": 50.0}
    assert len(summary["imi"]["histogram_2s"]["counts"]) == 45
    caveats = summary["assessment"]["caveats"]
    assert len(caveats) == 5 and "ICSD-3" in caveats[-1] and "daytime impairment" in caveats[-1]
    assert summary["software"]["name"] == "sleepmove"
    # events.csv and summary.json tell the same story
    plm_in_sleep = (events["periodic"] & events["asleep"]).sum()
    assert summary["counts"]["plm"] == plm_in_sleep
    assert summary["counts"]["plm_series"] == events["series"].nunique()


def test_aasm_rules_and_given_sleep_window(plm_night, tmp_path):
    folder, _ = plm_night
    out = tmp_path / "aasm"
    code = main(
        [
            "analyze",
            str(folder / "night.csv"),
            "--out",
            str(out),
            "--criteria",
            "aasm2012",
            "--sleep-window",
            "600,6600",
            "--age-group",
            "child",
        ]
    )
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["criteria"]["name"] == "aasm2012"
    assert summary["criteria"]["parameters"]["rules"]["imi_min_s"] == 5.0
    assert summary["sleep"]["source"] == "given"
    assert summary["sleep"]["onset_s"] >= 600 and summary["sleep"]["offset_s"] <= 6600
    assert summary["assessment"]["threshold_per_h"] == 5.0


def test_two_sensors(two_leg_night, tmp_path):
    folder, _ = two_leg_night
    out = tmp_path / "two"
    assert (
        main(
            [
                "analyze",
                "--left",
                str(folder / "left.csv"),
                "--right",
                str(folder / "right.csv"),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    events = pd.read_csv(out / "events.csv", keep_default_na=False)
    assert set(events["side"]) <= {"left", "right", "bilateral"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["recording"]["sides"] == ["left", "right"]
    assert 0 <= summary["alternation_index"] <= 1


def test_a_leg_that_stopped_early_shows_in_its_own_data_loss(two_leg_night, tmp_path):
    """The right sensor died 30 min before the end: data_loss_h stayed 0 with no gap, as
    no gap of its own said so. Each side's loss counts its missing end."""
    folder, _ = two_leg_night
    right = pd.read_csv(folder / "right.csv")
    cut = right[right["time"] <= right["time"].iloc[-1] - 1800]
    cut.to_csv(tmp_path / "right.csv", index=False)
    out = tmp_path / "out"
    argv = ["analyze", "--left", str(folder / "left.csv"), "--right", str(tmp_path / "right.csv")]
    assert main([*argv, "--out", str(out), "--no-report"]) == 0
    recording = json.loads((out / "summary.json").read_text())["recording"]
    assert recording["data_loss_h_by_side"]["left"] == pytest.approx(0.0, abs=1e-3)
    # the simulated right leg also starts 14 s late and has a 77-s gap of its own
    assert recording["data_loss_h_by_side"]["right"] == pytest.approx(0.5 + 0.0253, abs=1e-3)


def short_night(tmp_path, minutes, rate=50.0):
    n = int(minutes * 60 * rate)
    lines = ["time,x,y,z"] + [f"{1_700_000_000 + i / rate:.3f},0.01,0.02,0.99" for i in range(n)]
    return write(tmp_path / "short.csv", "\n".join(lines) + "\n")


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: short_night(p, 5), "lasts only 5.0 min"),
        (lambda p: short_night(p, 12, rate=5.0), "too low"),
        (lambda p: write(p / "e.csv", ""), "empty file"),
        (lambda p: write(p / "n.csv", "a,b,c,d\n1,2,3,4\n"), "no time column"),
        (lambda p: os.fspath(p / "missing.csv"), "file not found"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, make, message):
    path = make(tmp_path)
    out = tmp_path / "results"
    assert main(["analyze", path, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err and err.startswith("sleepmove: error:")
    assert not out.exists()


def test_real_epoch_count_export_is_refused_by_the_command(real_data, tmp_path, capsys):
    out = tmp_path / "r"
    path = real_data / "ggir_testfiles/ActiGraph13_timestamps_headers.csv"
    assert main(["analyze", str(path), "--out", str(out)]) == 2
    assert "epoch-count export" in capsys.readouterr().err
    assert not out.exists()


def test_bad_sleep_window_is_refused(plm_night, tmp_path, capsys):
    folder, _ = plm_night
    out = tmp_path / "w"
    assert (
        main(["analyze", str(folder / "night.csv"), "--out", str(out), "--sleep-window", "23:00"])
        == 2
    )
    assert "--sleep-window" in capsys.readouterr().err and not out.exists()


def test_simulate_command_writes_csv_and_truth(tmp_path, capsys):
    out = tmp_path / "sim"
    assert (
        main(
            [
                "simulate",
                "--out",
                str(out),
                "--hours",
                "0.3",
                "--rate",
                "25",
                "--sides",
                "left,right",
                "--seed",
                "4",
                "--scenario",
                "bilateral",
            ]
        )
        == 0
    )
    truth = json.loads((out / "truth.json").read_text())
    assert truth["files"] == {"left": "left.csv", "right": "right.csv"}
    assert {"onset_s", "offset_s", "wake_bouts_s"} <= set(truth["sleep"])
    assert pd.read_csv(out / "left.csv").columns.tolist() == ["time", "x", "y", "z"]


def test_simulate_command_writes_the_independent_family(tmp_path, capsys):
    out = tmp_path / "stages"
    argv = ["simulate", "--family", "stages", "--scenario", "rls", "--hours", "0.5"]
    assert main([*argv, "--rate", "25", "--out", str(out)]) == 0
    truth = json.loads((out / "truth.json").read_text())
    assert truth["family"] == "stages" and truth["scenario"] == "rls"
    with pytest.raises(SystemExit) as refused:
        main([*argv[:3], "--scenario", "bilateral", "--out", str(tmp_path / "x")])
    assert refused.value.code == 2
    assert "unknown stages scenario 'bilateral'" in capsys.readouterr().err


def test_simulate_lists_every_family_and_writes_the_judge(tmp_path, capsys):
    from sleepmove.sensor.simulate import family_scenarios

    assert main(["simulate", "--scenario", "list"]) == 0
    listed = capsys.readouterr().out
    for family, scenarios in family_scenarios().items():
        assert f"{family}: " in listed
        assert all(f"  {name} " in listed for name in scenarios)
    out = tmp_path / "judge"
    argv = ["simulate", "--family", "kinematic", "--scenario", "healthy", "--hours", "0.2"]
    assert main([*argv, "--out", str(out)]) == 0
    assert json.loads((out / "truth.json").read_text())["family"] == "kinematic"
    with pytest.raises(SystemExit) as refused:
        main(["simulate", "--seed", "1"])
    assert refused.value.code == 2 and "--out" in capsys.readouterr().err


def test_installed_command_help_runs():
    result = subprocess.run(
        [sys.executable, "-m", "sleepmove.cli", "analyze", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--sleep-window" in result.stdout and "--criteria" in result.stdout


def test_nothing_is_written_outside_out(plm_night, tmp_path, monkeypatch):
    folder, _ = plm_night
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    before_inputs = sorted(p.name for p in folder.iterdir())
    out = tmp_path / "out"
    assert main(["analyze", str(folder / "night.csv"), "--out", str(out)]) == 0
    assert list(work.iterdir()) == []
    assert sorted(p.name for p in folder.iterdir()) == before_inputs
    assert not [p for p in out.rglob("*") if p.name.startswith(".partial-")]


def test_reading_starts_before_the_analysis_imports():
    """The read-ahead module must not pull in the detection code: its import is what the
    parse is meant to overlap."""
    code = "import sys, sleepmove.prefetch; print(sorted({'detection'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("report", [False, True])
def test_analyze_imports_pandas_never_and_matplotlib_only_for_the_report(
    plm_night, tmp_path, report
):
    """Their imports cost more CPU than parsing a night."""
    folder, _ = plm_night
    args = ["analyze", str(folder / "night.csv"), "--out", str(tmp_path)]
    args += [] if report else ["--no-report"]
    code = (
        f"import sys\nfrom sleepmove.cli import main\nmain({args!r})\n"
        "print(sorted({'pandas', 'matplotlib'} & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    imported = done.stdout.strip().splitlines()[-1]
    assert imported == ("['matplotlib']" if report else "[]")
    assert (tmp_path / "events.csv").read_text().startswith("onset_s,onset,duration_s,kind")
    assert (tmp_path / "report.html").exists() == report


def test_read_ahead_errors_reach_the_caller(tmp_path):
    from sleepmove.base.errors import InputError
    from sleepmove.prefetch import start_reading

    future = start_reading({"": str(tmp_path / "missing.csv")}, "auto")[""]
    with pytest.raises(InputError, match="file not found"):
        future.result()


def test_the_command_leaves_complete_outputs_without_the_teardown(plm_night, tmp_path):
    """`sleepmove analyze` exits without the interpreter's teardown (cli.DONE_ON_RETURN):
    every file is there and equal to what main() writes in-process, with its exit status."""
    folder, _ = plm_night
    night = str(folder / "night.csv")
    assert main(["analyze", night, "--out", str(tmp_path / "inproc"), "--no-report"]) == 0
    command = [sys.executable, "-m", "sleepmove", "analyze", night, "--no-report"]
    done = subprocess.run([*command, "--out", str(tmp_path / "cmd")], capture_output=True)
    assert done.returncode == 0 and b"PLM index" in done.stdout
    for name in ("events.csv", "epochs.csv", "summary.json", "settings.toml"):
        assert (tmp_path / "cmd" / name).read_bytes() == (tmp_path / "inproc" / name).read_bytes()
    missing = str(tmp_path / "no-such-night.csv")  # refused after the command is known
    refused = subprocess.run(
        [sys.executable, "-m", "sleepmove", "analyze", missing, "--out", str(tmp_path / "bad")],
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "bad").exists()
    # stdout closed (a service, `>&-`): the results are written and the status is main()'s
    closed = subprocess.run(
        [*command, "--out", str(tmp_path / "closed")],
        stderr=subprocess.PIPE,
        preexec_fn=lambda: os.close(1),
    )
    assert closed.returncode == 0 and (tmp_path / "closed" / "summary.json").exists()


def test_notes_on_the_data_reach_the_terminal(plm_night, tmp_path, capsys):
    folder, _ = plm_night
    lines = (folder / "night.csv").read_text().splitlines(keepends=True)
    damaged = tmp_path / "night.csv"
    # 20 rows without values mid-night, and a last line cut mid-number
    damaged.write_text("".join(lines[:1000] + [",,,\n"] * 20 + lines[1020:]) + "1,0.")
    out = tmp_path / "out"
    assert main(["analyze", str(damaged), "--out", str(out), "--no-report"]) == 0
    err = capsys.readouterr().err.splitlines()
    summary = json.loads((out / "summary.json").read_text())
    assert err == [f"sleepmove: warning: {note}" for note in summary["quality"]["warnings"]]
    assert any("20 rows with missing" in line for line in err)
    assert any("last line is incomplete" in line for line in err)
