"""Hostile or careless use found by a second stress test: each test failed before its fix.

Bad input is one line on stderr naming what is wrong, exit status 2; what is accepted says
plainly what was done to it.
"""

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from sleepmove.cli import main
from tests.test_cli_robustness import refused

START = 1742083080.0  # 2025-03-15T23:58:00Z


def rows(minutes: float, rate: float = 25.0, start: float = START) -> list[str]:
    """`time,x,y,z` rows of a still leg."""
    n = int(minutes * 60 * rate)
    t = start + np.arange(n) / rate
    noise = np.random.default_rng(0).normal(0, 0.01, (n, 3)) + [0.0, 0.0, 1.0]
    return [f"{a:.3f},{x:.4f},{y:.4f},{z:.4f}" for a, (x, y, z) in zip(t, noise)]


def copies_of(recording: Path, folder: Path, names: list[str]) -> Path:
    """A batch input folder holding the recording under each name."""
    folder.mkdir()
    for name in names:  # a loop over files
        (folder / name).write_bytes(recording.read_bytes())
    return folder


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    """A recording of 11 minutes."""
    path = tmp_path_factory.mktemp("good") / "good.csv"
    path.write_text("time,x,y,z\n" + "\n".join(rows(11)) + "\n")
    return path


# --- messages that pointed the wrong way -------------------------------------------------


def test_legs_that_do_not_overlap_are_told_so_not_to_pass_min_duration(good, tmp_path, capsys):
    # Was "overlap for only 0 s ... pass --min-duration", which cannot help.
    late = tmp_path / "late.csv"
    late.write_text("time,x,y,z\n" + "\n".join(rows(11, start=START + 3600)) + "\n")
    line = refused(
        capsys,
        ["analyze", "--left", str(good), "--right", str(late), "--out", str(tmp_path / "o")],
        "do not overlap at all",
        f"{late} starts 49 min after {good} ends",
    )
    assert "--min-duration" not in line


def test_a_gzip_cut_inside_its_header_is_damaged_not_empty(good, tmp_path, capsys):
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(gzip.compress(good.read_bytes())[:5])
    line = refused(
        capsys, ["analyze", str(cut), "--out", str(tmp_path / "o")], "damaged gzip", "truncated"
    )
    assert "empty" not in line


@pytest.mark.parametrize("minutes", [11, 0.1])
def test_cr_only_line_ends_are_named_with_a_way_to_convert(minutes, tmp_path, capsys):
    # Was "the first line is longer than 64 KB", or "wrong number of fields" when short.
    path = tmp_path / "mac.csv"
    path.write_text("time,x,y,z\r" + "\r".join(rows(minutes)) + "\r", newline="")
    refused(
        capsys, ["analyze", str(path), "--out", str(tmp_path / "o")], "end in CR only", "tr '\\r'"
    )


def test_a_file_in_reverse_time_order_is_said_to_be_so(good, tmp_path):
    # Was read with "time went backwards ... (timestamp jitter)".
    lines = good.read_text().splitlines()
    backwards = tmp_path / "backwards.csv"
    backwards.write_text("\n".join([lines[0], *reversed(lines[1:])]) + "\n")
    out = tmp_path / "o"
    assert main(["analyze", str(backwards), "--out", str(out), "--no-report"]) == 0
    warnings = json.loads((out / "summary.json").read_text())["quality"]["warnings"]
    assert any("reverse time order" in warning for warning in warnings), warnings
    assert not any("jitter" in warning for warning in warnings), warnings
    assert main(["analyze", str(good), "--out", str(tmp_path / "g"), "--no-report"]) == 0
    assert (out / "events.csv").read_bytes() == (tmp_path / "g" / "events.csv").read_bytes()


# --- record ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sensors",
    [
        ["--emulate", "polar-verity,polar-h10", "--speed", "1000"],
        ["--device", "AA:BB:CC:DD:EE:01", "--device-right", "AA:BB:CC:DD:EE:02"],
    ],
)
def test_record_refuses_side_with_two_sensors(sensors, tmp_path, capsys):
    # --side left was silently ignored: the two legs were recorded as left and right.
    pytest.importorskip("bumble")
    out = tmp_path / "o"
    argv = ["record", *sensors, "--side", "left", "--duration", "1m", "--out", str(out)]
    refused(capsys, argv, "--side: names the leg of one sensor")
    assert not out.exists()


def test_record_refuses_a_protocol_the_emulated_model_does_not_speak(tmp_path, capsys):
    # --emulate polar-verity --protocol witmotion recorded a Polar night, --protocol unsaid.
    pytest.importorskip("bumble")
    out = tmp_path / "o"
    argv = ["record", "--emulate", "polar-verity", "--protocol", "witmotion", "--out", str(out)]
    refused(capsys, argv, "--protocol: 'witmotion', but the emulated polar-verity speaks polar")
    assert not out.exists()
    two = ["record", "--emulate", "polar-verity,witmotion", "--protocol", "polar"]
    refused(capsys, [*two, "--out", str(out)], "no --protocol (each emulated model speaks")


def test_record_says_the_rate_it_records_at_when_far_from_the_one_asked(tmp_path, capsys):
    # --rate 13 on a Polar sensor recorded at 25 Hz, silently.
    pytest.importorskip("bumble")
    out = tmp_path / "r"
    argv = ["record", "--emulate", "polar-verity", "--out", str(out), "--speed", "100"]
    main([*argv, "--rate", "13", "--duration", "2m", "--no-report"])
    err = capsys.readouterr().err
    assert "polar sensors offer 25, 26, 50, 52" in err and "recording at 25 Hz" in err
    assert json.loads((out / "recording.json").read_text())["sensors"][0]["rate_hz"] == 25
    # the default rate is not asked for: a PineTime's 10 Hz is not said to differ from it
    argv = ["record", "--emulate", "pinetime", "--out", str(tmp_path / "p"), "--speed", "100"]
    main([*argv, "--duration", "2m", "--no-report"])
    assert "sensors offer" not in capsys.readouterr().err


def test_a_short_recording_is_told_how_to_analyze_it_with_the_command_that_can(tmp_path, capsys):
    # The line said "pass --min-duration", an option record does not take.
    pytest.importorskip("bumble")
    out = tmp_path / "short"
    # 60 x: 2 s of wall time. At 1000 x the 0.12 s were over before a loaded machine had
    # connected (nothing recorded: 3 runs of 6 side by side).
    argv = ["record", "--emulate", "polar-verity", "--out", str(out), "--speed", "60"]
    assert main([*argv, "--duration", "2m", "--no-report"]) == 1
    [line] = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert f"run 'sleepmove analyze {out}/night.csv --out {out} --min-duration MINUTES'" in line


# --- batch -------------------------------------------------------------------------------


def read_nights(out: Path) -> dict[str, dict[str, str]]:
    import csv

    with open(out / "nights.csv", newline="") as handle:
        return {row["id"]: row for row in csv.DictReader(handle)}


def test_batch_names_a_csv_link_to_nothing_in_a_folder(good, tmp_path, capsys):
    # Named on the command line it was an error row; found in a folder, skipped silently
    # (exit 0, "every night ok") while the night's file was missing.
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "n1.csv").write_bytes(good.read_bytes())
    (folder / "n2.csv").symlink_to(tmp_path / "unmounted" / "n2.csv")
    out = tmp_path / "out"
    assert main(["batch", str(folder), "--out", str(out), "--no-report", "--workers", "1"]) == 1
    nights = read_nights(out)
    assert nights["n1"]["status"] == "ok"
    assert nights["n2"]["status"] == "error"
    assert "n2.csv: a symbolic link to a missing file" in nights["n2"]["error"]


def test_analyze_says_a_link_points_to_nothing(tmp_path, capsys):
    link = tmp_path / "night.cwa"
    link.symlink_to(tmp_path / "gone.cwa")
    refused(
        capsys,
        ["analyze", str(link), "--out", str(tmp_path / "o")],
        f"a symbolic link to a missing file ({tmp_path}/gone.cwa)",
    )


def test_batch_starts_no_more_workers_than_nights_or_cores(good, tmp_path, monkeypatch, capsys):
    # --workers 1000 forked 1000 processes for three nights (a forked pool starts them all).
    import concurrent.futures

    from sleepmove.batch import run_task

    started = []

    class Pool:
        """Runs each task at once, here, and notes how many workers were asked for."""

        def __init__(self, max_workers: int, **_: object) -> None:
            started.append(max_workers)

        def __enter__(self) -> "Pool":
            return self

        def __exit__(self, *_: object) -> None:
            pass

        def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
            pass

        def submit(self, function, task, *_):
            # The night itself, not the worker's set-up (settle_worker): that would make this
            # test process a pool worker (one Arrow thread, memory never trimmed) for every
            # test after it.
            future = concurrent.futures.Future()
            future.set_result(run_task(task))
            return future

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", Pool)
    monkeypatch.setattr("sleepmove.batch_command.default_workers", lambda: 8)
    folder = copies_of(good, tmp_path / "in", ["n1.csv", "n2.csv", "n3.csv"])
    argv = ["batch", str(folder), "--out", str(tmp_path / "out"), "--no-report"]
    assert main([*argv, "--workers", "1000"]) == 0
    assert started == [3]
    assert "--workers 1000: more than this machine's 8 cores; using 8" in capsys.readouterr().err


def test_a_pairs_pattern_that_pairs_nothing_is_said_so(good, tmp_path, capsys):
    # Every file became a one-leg night, exit 0, without a word; '' was taken as no --pairs.
    folder = copies_of(good, tmp_path / "in", ["n1_left.csv", "n1_right.csv"])
    out = tmp_path / "out"
    argv = ["batch", str(folder), "--out", str(out), "--no-report", "--workers", "1", "--pairs"]
    refused(capsys, [*argv, ""], "--pairs: pattern '' lacks")
    assert not out.exists()
    assert main([*argv, "{side}_{night}.csv"]) == 0
    assert "--pairs '{side}_{night}.csv' fits none of the 2 recordings" in capsys.readouterr().err


def test_a_sleep_log_window_is_named_as_the_logs_not_as_sleep_window(good, tmp_path, capsys):
    # An empty window (23:59 to 23:59) failed each night in turn; a window outside a
    # recording was told as "--sleep-window: ...", an option the user never gave.
    folder = copies_of(good, tmp_path / "in", ["n1.csv", "n2.csv"])
    log = tmp_path / "log.csv"
    argv = ["batch", str(folder), "--no-report", "--workers", "1", "--sleep-log", str(log)]
    log.write_text("night,lights_out,lights_on\nn1,23:59,23:59:00\n")
    refused(capsys, [*argv, "--out", str(tmp_path / "o1")], "is lights out '23:59' (line 2)")
    log.write_text("night,lights_out,lights_on\nn1,06:00,07:00\n")
    assert main([*argv, "--out", str(tmp_path / "o2")]) == 1
    error = read_nights(tmp_path / "o2")["n1"]["error"]
    assert error.startswith(f"{log}: lights_out,lights_on '06:00,07:00' starts after"), error


# --- simulate ----------------------------------------------------------------------------


def test_simulate_never_replaces_a_recorded_night(good, tmp_path, capsys):
    # `simulate --out` a folder holding a real night.csv replaced it without a word.
    folder = tmp_path / "night"
    folder.mkdir()
    (folder / "night.csv").write_bytes(good.read_bytes())
    argv = ["simulate", "--hours", "0.1", "--rate", "10", "--out"]
    refused(capsys, [*argv, str(folder)], "holds a recording (night.csv)")
    assert (folder / "night.csv").read_bytes() == good.read_bytes()
    assert sorted(path.name for path in folder.iterdir()) == ["night.csv"]
    (folder / "recording.json").write_text("{}")  # what record writes beside its CSV
    (folder / "truth.json").write_text("{}")
    refused(capsys, [*argv, str(folder)], "holds a recording (recording.json)")
    again = tmp_path / "simulated"  # an earlier simulation's folder is written over
    assert main([*argv, str(again)]) == 0 and main([*argv, str(again), "--seed", "1"]) == 0


# --- validate and report: one folder, one command's results ------------------------------


@pytest.fixture
def analyzed(tmp_path) -> tuple[Path, Path]:
    """A simulated night analyzed with its report, and its truth.json."""
    assert main(["simulate", "--out", str(tmp_path / "sim"), "--hours", "0.2", "--rate", "25"]) == 0
    night = tmp_path / "night"
    assert main(["analyze", str(tmp_path / "sim" / "night.csv"), "--out", str(night)]) == 0
    return night, tmp_path / "sim" / "truth.json"


def test_validate_and_report_never_overwrite_each_other_or_a_night(analyzed, tmp_path, capsys):
    # validate --out NIGHT replaced the night's report.html; report --out a validation's
    # folder replaced its report.html, and validate --out a trend's folder the trend's.
    night, truth = analyzed
    before = (night / "report.html").read_bytes()
    validate = ["validate", str(night), "--reference", str(truth), "--out"]
    refused(capsys, [*validate, str(night)], "holds an analyzed night's results (summary.json)")
    assert (night / "report.html").read_bytes() == before
    assert main([*validate, str(tmp_path / "v")]) == 0
    capsys.readouterr()  # its warnings
    refused(capsys, ["report", str(night), "--out", str(tmp_path / "v")], "a validation's")
    assert main(["report", str(night), "--out", str(tmp_path / "t")]) == 0
    capsys.readouterr()
    refused(capsys, [*validate, str(tmp_path / "t")], "a trend report's")
    assert main([*validate, str(tmp_path / "v")]) == 0  # a rerun into its own folder
    assert main(["report", str(night), "--out", str(tmp_path / "t")]) == 0


def test_record_refuses_an_emulated_model_list_with_an_empty_name(tmp_path, capsys):
    # "polar-verity," was taken as one sensor: a second model the user meant to name was
    # silently left out, and one leg recorded.
    pytest.importorskip("bumble")
    out = tmp_path / "o"
    argv = ["record", "--emulate", "polar-verity,", "--speed", "1000", "--duration", "11m"]
    refused(capsys, [*argv, "--out", str(out)], "cannot emulate 'polar-verity,'")
    assert not out.exists()


def test_a_header_name_that_is_not_utf8_is_read_as_named(tmp_path, capsys):
    """`x\\xe9` (Latin-1 in a header): Arrow was asked for the column as decoded here and
    said "Column 'x\\ufffd' in include_columns does not exist", no line, no way forward."""
    path = tmp_path / "latin.csv"
    path.write_bytes(b"time,x\xe9,y,z\n" + "\n".join(rows(11)).encode() + b"\n")
    out = tmp_path / "out"
    assert main(["analyze", str(path), "--out", str(out), "--no-report"]) == 0, capsys.readouterr()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["recording"]["duration_h"] == pytest.approx(11 / 60, abs=0.01)


def test_a_cell_that_is_not_utf8_is_shown_as_text(tmp_path, capsys):
    lines = rows(11)
    x = lines[4].split(",")
    lines[4] = ",".join([x[0], "\udcff" + x[1], *x[2:]])
    path = tmp_path / "odd.csv"
    path.write_bytes(("time,x,y,z\n" + "\n".join(lines) + "\n").encode("utf-8", "surrogateescape"))
    error = refused(capsys, ["analyze", str(path), "--out", str(tmp_path / "out")])
    assert f"not a number in column 'x': '\\\\xff{x[1]}' (line 6)" in error, error


def test_a_parquet_file_cut_short_says_what_it_expected(tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = START + np.arange(1000) / 25
    table = pa.table({"time": t, "x": t * 0, "y": t * 0, "z": t * 0 + 1})
    whole = tmp_path / "whole.parquet"
    pq.write_table(table, whole)
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(whole.read_bytes()[:-100])
    error = refused(capsys, ["analyze", str(cut), "--out", str(tmp_path / "out")])
    assert "unreadable Parquet file" in error and "expected a whole Parquet file" in error


def test_a_recording_short_because_damage_ended_the_read_says_so(tmp_path, capsys):
    """An 11-minute gzip garbled a third of the way in: short as read, and why (the
    damage was said only with --min-duration)."""
    data = bytearray(gzip.compress(("time,x,y,z\n" + "\n".join(rows(11)) + "\n").encode()))
    for k in range(len(data) // 3, len(data) // 3 + 20):  # a loop over 20 bytes
        data[k] ^= 0x55
    path = tmp_path / "night.csv.gz"
    path.write_bytes(bytes(data))
    error = refused(capsys, ["analyze", str(path), "--out", str(tmp_path / "out")])
    assert "that lasts only" in error and "as read (damaged gzip file" in error, error
