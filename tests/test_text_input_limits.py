"""Small text inputs (settings, sleep logs, diaries, references, result folders) that broke
the commands: found by a stress test, each test failed before its fix.

Bad input is one line on stderr, exit status 2, no traceback. What could take gigabytes
(a device read whole) runs in a child process whose address space is capped, so that a
regression fails the test instead of filling the machine.
"""

import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sleepmove.cli import main
from sleepmove.detection.parameter_changes import with_changes
from sleepmove.detection.params import GROUPS, RULE_SET_IDENTITY, RULE_SETS, default_parameters
from sleepmove.sensor.annotations import read_reference
from sleepmove.sensor.simulate import simulate
from sleepmove.settings import read_settings
from sleepmove.sleep_log import read_sleep_log
from tests.test_cli_robustness import refused

ROOT = Path(__file__).resolve().parents[1]
# The command's imports and a small night take 1.5 GB of address space (1 GB of it Arrow's
# allocator reserves): enough, and far from what a device read whole takes.
ADDRESS_SPACE_BYTES = 2_500_000_000


def _capped() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_BYTES, ADDRESS_SPACE_BYTES))


def refused_capped(argv: list[str], *wanted: str, timeout: float = 60) -> str:
    """`refused`, in a child process of capped address space: exit 2, one line, no traceback."""
    done = subprocess.run(
        [sys.executable, "-m", "sleepmove", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=_capped,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
    )
    err = done.stderr
    assert done.returncode == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for text in wanted:
        assert text in err, err
    return err


def analyze_with(config: Path, tmp_path: Path) -> list[str]:
    """analyze with --config: the file is read before the recording (which need not exist)."""
    return [
        "analyze",
        str(tmp_path / "night.csv"),
        "--out",
        str(tmp_path / "o"),
        "--config",
        str(config),
    ]


# --- settings files ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, wanted",
    [
        # a RecursionError traceback from the TOML parser
        (
            "[detection]\nonset_factor = " + "[" * 50_000 + "]" * 50_000,
            "not a settings file (lists",
        ),
        # a RecursionError from repr() of the value in the refusal (and 50,000 parts took
        # the parser 40 s: its time grows with their square)
        (
            "[options]\ncriteria" + ".a" * 2_000 + " = 1",
            "dotted parts (line 2); expected a settings",
        ),
    ],
)
def test_settings_nested_too_deeply_are_refused(text, wanted, tmp_path, capsys):
    config = tmp_path / "deep.toml"
    config.write_text(text + "\n")
    refused(capsys, analyze_with(config, tmp_path), "deep.toml: ", wanted)


@pytest.mark.parametrize(
    "text",
    [
        '[options]\ncriteria = "' + "x" * 100_000 + '"',
        '[detection]\nonset_factor = "' + "x" * 100_000 + '"',
        "[" + "x" * 100_000 + "]",
    ],
)
def test_a_long_value_in_a_settings_file_is_shown_cut_short(text, tmp_path, capsys):
    # The refusal printed the value whole: a line of 100 KB.
    config = tmp_path / "long.toml"
    config.write_text(text + "\n")
    line = refused(capsys, analyze_with(config, tmp_path), "long.toml: ", "xxx...")
    assert len(line) < 400, line


def test_a_settings_number_of_thousands_of_digits_is_refused(tmp_path, capsys):
    # Was ValueError "Exceeds the limit (4300 digits) for integer string conversion".
    config = tmp_path / "long.toml"
    config.write_text("[detection]\nonset_factor = 1" + "0" * 5000 + "\n")
    refused(capsys, analyze_with(config, tmp_path), "long.toml: not a settings file", "digits")


def test_a_settings_file_with_a_byte_order_mark_is_read(tmp_path):
    # Windows Notepad writes one: was "Invalid statement (at line 1, column 1)".
    config = tmp_path / "bom.toml"
    config.write_bytes(b"\xef\xbb\xbf[detection]\nonset_factor = 2.5\n")
    assert read_settings(str(config)).changes == {"detection": {"onset_factor": 2.5}}


def test_a_device_as_settings_file_is_refused_unread(tmp_path):
    # /dev/zero was read whole: 3.7 GB, then MemoryError.
    refused_capped(
        analyze_with(Path("/dev/zero"), tmp_path), "/dev/zero: a device or socket, not a file"
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_a_named_pipe_nobody_writes_to_is_refused_without_waiting(tmp_path):
    # Opening it waited for a writer for ever.
    fifo = tmp_path / "settings.toml"
    os.mkfifo(fifo)
    argv = analyze_with(fifo, tmp_path)
    refused_capped(argv, "settings.toml: a pipe (FIFO) that nothing was written to", timeout=20)


def test_a_settings_file_over_its_limit_is_refused(tmp_path, capsys):
    config = tmp_path / "big.toml"
    config.write_text("# " + "x" * (256 << 10) + "\n")  # SETTINGS_BYTES
    refused(capsys, analyze_with(config, tmp_path), "big.toml: over 256 KB", "settings file")


# --- references ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def analyzed(tmp_path_factory) -> Path:
    """A 15-minute night, analyzed; its truth.json lies beside it."""
    folder = tmp_path_factory.mktemp("night")
    simulate(str(folder), hours=0.25, rate_hz=25, seed=1)
    assert (
        main(["analyze", str(folder / "night.csv"), "--out", str(folder / "r"), "--no-report"]) == 0
    )
    return folder / "r"


def validate_with(result: Path, reference: Path, tmp_path: Path) -> list[str]:
    return ["validate", str(result), "--reference", str(reference), "--out", str(tmp_path / "v")]


@pytest.mark.parametrize(
    "text, wanted",
    [
        # a RecursionError traceback from the JSON parser
        ('{"events": ' + "[" * 100_000 + "]" * 100_000 + ', "start_unix": 0}', "nested"),
        # ValueError "Exceeds the limit (4300 digits) for integer string conversion"
        ('{"events": [], "start_unix": 1' + "0" * 5000 + "}", "thousands of digits"),
        # OverflowError: int too large to convert to float
        ('{"events": [], "start_unix": 1' + "0" * 400 + "}", "too large"),
    ],
)
def test_a_truth_json_nested_too_deeply_or_of_huge_numbers_is_refused(
    text, wanted, analyzed, tmp_path, capsys
):
    truth = tmp_path / "truth.json"
    truth.write_text(text)
    refused(capsys, validate_with(analyzed, truth, tmp_path), "truth.json: not a simulator", wanted)


@pytest.mark.parametrize("name", ["ref.csv", "truth.json", "ref.xml", "ref.edf"])
def test_a_device_as_reference_is_refused_unread(name, analyzed, tmp_path):
    # /dev/zero named truth.json (or .csv, .xml) was read whole: GBs, then MemoryError.
    if name.endswith(".edf"):
        pytest.importorskip("edfio")
    link = tmp_path / name
    link.symlink_to("/dev/zero")
    refused_capped(
        validate_with(analyzed, link, tmp_path), f"{name}: a device or socket, not a file"
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_a_named_pipe_as_edf_reference_is_refused_without_waiting(analyzed, tmp_path):
    # edfio opened the pipe itself and waited for a writer for ever.
    pytest.importorskip("edfio")
    fifo = tmp_path / "psg.edf"
    os.mkfifo(fifo)
    refused_capped(
        validate_with(analyzed, fifo, tmp_path), "psg.edf: a named pipe (FIFO), not a file"
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
@pytest.mark.parametrize("table", ["events.csv", "epochs.csv"])
def test_a_named_pipe_in_a_result_folder_is_refused_without_waiting(table, analyzed, tmp_path):
    # pandas opened the pipe and waited for a writer for ever.
    folder = tmp_path / "night"
    shutil.copytree(analyzed, folder)
    (folder / table).unlink()
    os.mkfifo(folder / table)
    truth = analyzed.parent / "truth.json"
    refused_capped(
        validate_with(folder, truth, tmp_path), f"{table}: a named pipe (FIFO), not a file"
    )


def test_a_folder_in_a_result_folder_s_place_of_events_csv_is_refused(analyzed, tmp_path):
    # pandas' IsADirectoryError was reported as "cannot write", exit 1
    folder = tmp_path / "night"
    shutil.copytree(analyzed, folder)
    (folder / "events.csv").unlink()
    (folder / "events.csv").mkdir()
    truth = analyzed.parent / "truth.json"
    refused_capped(validate_with(folder, truth, tmp_path), "events.csv: is a folder")


def test_a_reference_over_its_limit_is_refused(analyzed, tmp_path, capsys):
    truth = tmp_path / "truth.json"
    # the night's own truth, padded past the 16 MB of REFERENCE_BYTES
    truth.write_text((analyzed.parent / "truth.json").read_text() + " " * (16 << 20))
    refused(capsys, validate_with(analyzed, truth, tmp_path), "truth.json: over 16 MB")


def test_csv_onsets_with_and_without_a_zone_are_refused_naming_the_line(analyzed, tmp_path, capsys):
    # Was pandas' "Mixed timezones detected" ValueError traceback.
    reference = tmp_path / "ref.csv"
    reference.write_text(
        "onset,duration,type,side\n"
        "2025-03-15T23:00:00Z,1,lm,left\n"
        "2025-03-15T23:01:00Z,1,lm,left\n"
        "2025-03-15T23:02:00,1,lm,left\n"
    )
    refused(
        capsys,
        validate_with(analyzed, reference, tmp_path),
        "ref.csv: onset '2025-03-15T23:02:00' has no time zone",
        "(line 4)",
    )


def test_csv_onsets_across_a_change_of_summer_time_are_each_converted(tmp_path):
    # Offsets that change within the night raised "Mixed timezones detected" too.
    reference = tmp_path / "ref.csv"
    reference.write_text(
        "onset,duration,type,side\n"
        "2025-03-30T01:59:00+01:00,1,lm,left\n"
        "2025-03-30T03:01:00+02:00,1,lm,left\n"
    )
    onsets = read_reference(str(reference)).events["onset_abs_s"].tolist()
    assert onsets == [1743296340.0, 1743296460.0]  # 00:59 and 01:01 UTC


def test_a_csv_reference_is_mapped_column_by_column_as_it_was_row_by_row(tmp_path):
    # Mapped row by row with pandas indexing, 2 million rows took 100 s and 1.3 GB; each
    # distinct label and side is now mapped once. The mapping itself is unchanged.
    reference = tmp_path / "ref.csv"
    reference.write_text(
        "onset,duration,type,side\n"
        "10,1,LM,left\n5,2,PLM,R\n7,1,hypnic jerk,\n8,1,unknown thing,left\n"
        "9,30,Stage 2 sleep,\n40,30,Wake,\n70,30,REM,\n3,1,Limb Movement (Left),\n"
    )
    read = read_reference(str(reference), start_s=1000.0)
    assert read.events.to_dict("list") == {
        "onset_abs_s": [1003.0, 1005.0, 1007.0, 1010.0],
        "duration_s": [1.0, 2.0, 1.0, 1.0],
        "kind": ["lm", "lm", "jerk", "lm"],
        "side": ["left", "right", "", "left"],
        "periodic": [False, True, False, False],
        "label": ["Limb Movement (Left)", "PLM", "hypnic jerk", "LM"],
    }
    assert read.sleep == [(1009.0, 1039.0), (1070.0, 1100.0)]


def test_a_reference_csv_of_millions_of_rows_is_refused(analyzed, tmp_path):
    # 2 million rows within the night held 1.5 GB once scored: here 4 MB, 8 bytes a row.
    reference = tmp_path / "ref.csv"
    reference.write_text("onset,duration,type\n" + "100,0,lm\n" * 500_001)
    refused_capped(validate_with(analyzed, reference, tmp_path), "ref.csv: 500,001 rows")


# --- damaged result folders ----------------------------------------------------------------


def _edit_summary(folder: Path, edit) -> None:
    path = folder / "summary.json"
    summary = json.loads(path.read_text())
    edit(summary)
    path.write_text(json.dumps(summary))


DAMAGES = {
    # JSONDecodeError traceback
    "cut summary": (lambda f: (f / "summary.json").write_text('{"x":1'), "unreadable summary"),
    # pandas ParserError traceback
    "bad events": (lambda f: (f / "events.csv").write_text('garbage,"\n'), "a damaged table"),
    # ValueError: Invalid isoformat string
    "bad start": (
        lambda f: _edit_summary(f, lambda s: s["recording"].update(start="garbage")),
        'recording.start is "garbage"',
    ),
    # np.arange over 1e9 hours: MemoryError
    "endless night": (
        lambda f: _edit_summary(f, lambda s: s["recording"].update(duration_h=1e9)),
        "recording.duration_h is 1000000000.0",
    ),
    # KeyError: 'x' (default_parameters of an unknown rule set)
    "unknown rules": (
        lambda f: _edit_summary(f, lambda s: s["criteria"].update(name="x")),
        'criteria.name is "x"',
    ),
    # ValueError from numpy on gaps that are not pairs
    "odd gaps": (
        lambda f: _edit_summary(f, lambda s: s["recording"].update(data_gaps_s=[[1]])),
        "recording.data_gaps_s is [[1]]",
    ),
    # ValueError: could not convert string to float
    "text onset": (
        lambda f: (f / "events.csv").write_text("onset_s,kind,side,periodic\nx,lm,,false\n"),
        "onset_s 'x' is not a number (line 2)",
    ),
    # a RecursionError traceback from the JSON parser
    "deep summary": (
        lambda f: (f / "summary.json").write_text('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"),
        "nested too deeply",
    ),
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_validate_refuses_a_damaged_result_folder_in_one_line(damage, analyzed, tmp_path, capsys):
    folder = tmp_path / "night"
    shutil.copytree(analyzed, folder)
    edit, wanted = DAMAGES[damage]
    edit(folder)
    truth = analyzed.parent / "truth.json"
    refused(capsys, validate_with(folder, truth, tmp_path), str(folder), wanted)
    assert not (tmp_path / "v").exists()


def test_report_refuses_a_summary_nested_too_deeply(analyzed, tmp_path, capsys):
    folder = tmp_path / "night"
    shutil.copytree(analyzed, folder)
    DAMAGES["deep summary"][0](folder)
    argv = ["report", str(folder), "--out", str(tmp_path / "trend")]
    refused(capsys, argv, "summary.json: unreadable summary (nested too deeply)")


# --- sleep logs and diaries ----------------------------------------------------------------


@pytest.fixture(scope="module")
def recordings(analyzed, tmp_path_factory) -> Path:
    """A batch's input folder: the night's recording alone."""
    folder = tmp_path_factory.mktemp("in")
    shutil.copy(analyzed.parent / "night.csv", folder / "night.csv")
    return folder


def batch_with(log: Path, recordings: Path, tmp_path: Path) -> list[str]:
    out = str(tmp_path / "b")
    return ["batch", str(recordings), "--out", out, "--no-report", "--sleep-log", str(log)]


def test_a_device_as_sleep_log_is_refused_unread(recordings, tmp_path):
    refused_capped(
        batch_with(Path("/dev/zero"), recordings, tmp_path),
        "/dev/zero: a device or socket, not a file",
    )
    assert not (tmp_path / "b").exists()


def test_a_sleep_log_over_its_limit_is_refused(recordings, tmp_path, capsys):
    log = tmp_path / "log.csv"
    log.write_text("night,lights_out,lights_on\n" + "\n" * (4 << 20))  # TEXT_FILE_BYTES
    refused(capsys, batch_with(log, recordings, tmp_path), "log.csv: over 4 MB", "sleep log")


def test_a_sleep_log_cell_over_the_csv_limit_is_refused(recordings, tmp_path, capsys):
    # Was _csv.Error: field larger than field limit (131072), a traceback.
    log = tmp_path / "log.csv"
    log.write_text('night,lights_out,lights_on\n"' + "x" * 200_000 + '",23:00,07:00\n')
    refused(capsys, batch_with(log, recordings, tmp_path), "log.csv: the sleep log is not a CSV")


def test_a_piped_sleep_log_is_read(tmp_path):
    # `--sleep-log <(...)`: was "cannot read the sleep log (underlying stream is not seekable)".
    read, write = os.pipe()
    os.write(write, b"night,lights_out,lights_on\nnight,23:00,07:00\n")
    os.close(write)
    try:
        entries = read_sleep_log(f"/dev/fd/{read}")
    finally:
        os.close(read)
    assert [(entry.night, entry.window) for entry in entries] == [("night", "23:00,07:00")]


def report_with(diary: Path, analyzed: Path, tmp_path: Path) -> list[str]:
    return ["report", str(analyzed), "--out", str(tmp_path / "trend"), "--diary", str(diary)]


def test_a_device_as_diary_is_refused_unread(analyzed, tmp_path):
    refused_capped(
        report_with(Path("/dev/zero"), analyzed, tmp_path),
        "/dev/zero: a device or socket, not a file",
    )
    assert not (tmp_path / "trend").exists()


def test_a_diary_over_its_limit_is_refused(analyzed, tmp_path, capsys):
    diary = tmp_path / "diary.csv"
    diary.write_text("date,tag\n" + "\n" * (4 << 20))  # TEXT_FILE_BYTES
    refused(capsys, report_with(diary, analyzed, tmp_path), "diary.csv: over 4 MB", "diary")


# --- parameter bounds ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "group, setting, says",
    [
        # ZeroDivisionError
        ("detection", "hft_freq_hz = [0.0, 4.0]", "hft_freq_hz = 0.0; expected a number above 0"),
        # ValueError: v cannot be empty
        ("sleep", "efm_min_span_min = 0.001", "at least 1 and at most 1440"),
        # a reshape error
        ("sleep", "epoch_s = 0.001", "whole seconds that divide a minute"),
        # epochs silently in the wrong minutes of epochs.csv
        ("sleep", "epoch_s = 7.5", "whole seconds that divide a minute"),
        # IndexError (two sensors)
        ("clock_alignment", "search_s = 0.001", "at least 0.2 and at most 60"),
        ("clock_alignment", "refine_search_s = 0.001", "at least 0.2 and at most 10"),
        # 14 GiB asked for
        ("detection", "baseline_window_s = 86400", "above 0 and at most 120"),
        # 0.8-2.5 GB
        ("detection", "baseline_block_s = 0.01", "at least 0.5 and at most 10"),
        ("detection", "baseline_block_s = 0.001", "at least 0.5 and at most 10"),
        # 1.35 GB (two sensors)
        ("clock_alignment", "envelope_rate_hz = 10000", "at least 5 and at most 40"),
        # 91 GiB asked for (two sensors)
        ("clock_alignment", "window_step_s = 0.001", "at least 60 and at most 3600"),
        # a day's envelope window: out of memory on an 8-hour night
        ("detection", "envelope_window_s = 86400", "above 0 and at most 10"),
        # a day's noise window: 3.7 GB on a 30-hour one
        ("detection", "noise_window_s = 86400", "above 0 and at most 1800"),
        # 149 GiB asked for (two sensors)
        ("clock_alignment", "coarse_rate_hz = 1e-9", "at least 0.1 and at most 40"),
        # division warnings on stderr (two sensors)
        ("clock_alignment", "inlier_s = 0", "above 0"),
        ("clock_alignment", "window_s = 0.001", "at least 10 and at most 600"),
        # every sample a gap: the file refused as "far too sparse", blamed on its rate
        ("detection", "max_gap_bridged_s = 0", "at least 0.25 and at most 60"),
    ],
)
def test_settings_that_crashed_or_took_gigabytes_are_refused_up_front(
    group, setting, says, tmp_path, capsys
):
    config = tmp_path / "bounds.toml"
    config.write_text(f"[{group}]\n{setting}\n")
    name = setting.split(" = ")[0]
    refused(capsys, analyze_with(config, tmp_path), f"bounds.toml: [{group}] {name} = ", says)


def test_every_parameter_set_of_the_project_is_within_its_bounds():
    for criteria in RULE_SETS:  # a loop over rule sets, age groups and placements
        for age in ("adult", "child", "infant"):
            for placement in ("ankle", "wrist"):
                params = default_parameters(criteria, age, placement)
                written = params.as_dict()
                changes = {group: dict(written[group]) for group in GROUPS}
                for name in RULE_SET_IDENTITY:
                    del changes["rules"][name]
                assert with_changes(params, changes) == params


@pytest.mark.parametrize(
    "group, setting",
    [
        ("sleep", "epoch_s = 60"),
        ("sleep", "epoch_s = 1"),
        ("detection", "baseline_block_s = 0.5"),
        ("detection", "hft_freq_hz = [0.05, 10.0]"),
        ("clock_alignment", "envelope_rate_hz = 40.0"),
        ("clock_alignment", "window_step_s = 60"),
    ],
)
def test_the_edges_of_the_bounds_are_taken(group, setting, tmp_path):
    config = tmp_path / "edge.toml"
    config.write_text(f"[{group}]\n{setting}\n")
    assert group in read_settings(str(config)).changes
