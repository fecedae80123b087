"""batch and report on awkward input: one line and exit 2 for what cannot be done, never a
traceback, nothing half-written; and no input or output that silently loses a night."""

import json
import os
import shutil
import sys
import types

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from sleepmove.cli import main
from sleepmove.reports.readable import duration
from sleepmove.sensor.simulate import simulate


@pytest.fixture(scope="module")
def night(tmp_path_factory) -> str:
    """A 15-minute night with limb movements."""
    folder = tmp_path_factory.mktemp("night")
    simulate(str(folder), hours=0.25, rate_hz=25, seed=2, scenario="plmd-moderate")
    return str(folder / "night.csv")


@pytest.fixture(scope="module")
def still(tmp_path_factory) -> str:
    """12 minutes at 25 Hz of a sensor lying still: a night without a single event."""
    path = tmp_path_factory.mktemp("still") / "still.csv"
    rng = np.random.default_rng(0)
    count = 12 * 60 * 25
    frame = pd.DataFrame(
        {
            "time": 1742082720.0 + np.arange(count) / 25,
            "x": 0.05 + rng.normal(0, 0.001, count),
            "y": -0.2 + rng.normal(0, 0.001, count),
            "z": -0.97 + rng.normal(0, 0.001, count),
        }
    )
    frame.to_csv(path, index=False, float_format="%.4f")
    return str(path)


def one_error_line(capsys) -> str:
    """The one line a refusal prints (and no traceback); its text after the prefix."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("sleepmove: error:")]
    assert len(errors) == 1, err
    return errors[0].removeprefix("sleepmove: error: ")


def batch(*args) -> int:
    return main(["batch", *map(str, args), "--no-report"])


def nights(out) -> pd.DataFrame:
    return pd.read_csv(os.path.join(out, "nights.csv"), keep_default_na=False)


# 1. report --out into an analyzed night's folder, or a batch's, would overwrite its files


def test_report_refuses_an_out_that_holds_a_nights_results(night, tmp_path, capsys):
    assert main(["analyze", night, "--out", str(tmp_path / "R" / "n1")]) == 0
    before = sorted(os.listdir(tmp_path / "R" / "n1"))
    page = (tmp_path / "R" / "n1" / "report.html").read_bytes()
    capsys.readouterr()
    assert main(["report", str(tmp_path / "R"), "--out", str(tmp_path / "R" / "n1")]) == 2
    line = one_error_line(capsys)
    assert "n1: holds an analyzed night's results (summary.json)" in line
    assert sorted(os.listdir(tmp_path / "R" / "n1")) == before
    assert (tmp_path / "R" / "n1" / "report.html").read_bytes() == page


def test_report_refuses_an_out_that_holds_a_batchs_results(night, tmp_path, capsys):
    shutil.copy(night, tmp_path / "n1.csv")
    assert batch(tmp_path / "n1.csv", "--out", tmp_path / "B") == 0
    table = (tmp_path / "B" / "nights.csv").read_bytes()
    capsys.readouterr()
    assert main(["report", str(tmp_path / "B"), "--out", str(tmp_path / "B")]) == 2
    assert "holds a batch's results (batch.json)" in one_error_line(capsys)
    assert (tmp_path / "B" / "nights.csv").read_bytes() == table
    assert not (tmp_path / "B" / "report.html").exists()


# 2. an input that is --out, or lies in it, was silently skipped: 0 nights, exit 0


@pytest.mark.parametrize("named", ["folder", "file", "parent"])
def test_batch_refuses_inputs_inside_its_out(night, tmp_path, capsys, named):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    shutil.copy(night, tmp_path / "d" / "sub" / "n1.csv")
    given = {
        "folder": (tmp_path / "d", tmp_path / "d"),
        "file": (tmp_path / "d" / "sub" / "n1.csv", tmp_path / "d"),
        "parent": (tmp_path / "d" / "sub", tmp_path / "d"),
    }[named]
    assert batch(given[0], "--out", given[1]) == 2
    assert "the output folder --out" in one_error_line(capsys)
    assert sorted(p.name for p in (tmp_path / "d").rglob("*")) == ["n1.csv", "sub"]


# 3. .CSV (any case) was dropped, named or found


def test_upper_case_csv_files_are_analyzed_named_or_found(still, tmp_path):
    shutil.copy(still, tmp_path / "a.CSV")
    (tmp_path / "found").mkdir()
    shutil.copy(still, tmp_path / "found" / "B.CSV")
    shutil.copy(still, tmp_path / "found" / "c.Csv")
    assert batch(tmp_path / "a.CSV", "--out", tmp_path / "o1") == 0
    assert nights(tmp_path / "o1")[["id", "status"]].values.tolist() == [["a", "ok"]]
    assert batch(tmp_path / "found", "--out", tmp_path / "o2") == 0
    assert nights(tmp_path / "o2")["id"].tolist() == ["B", "c"]


# 4. nights without any event: the cohort tables crashed (row group size 0)


def test_nights_without_events_give_empty_typed_cohort_tables(still, tmp_path, capsys):
    (tmp_path / "in").mkdir()
    shutil.copy(still, tmp_path / "in" / "quiet.csv")
    assert batch(tmp_path / "in", "--out", tmp_path / "o") == 0
    assert "Traceback" not in capsys.readouterr().err
    events = pq.read_table(tmp_path / "o" / "events.parquet")
    assert events.num_rows == 0 and events.column_names[0] == "night"
    epochs = pd.read_parquet(tmp_path / "o" / "epochs.parquet")
    per_night = pd.read_csv(tmp_path / "o" / "quiet" / "epochs.csv")
    assert len(epochs) == len(per_night) > 0


# 5. a file name that is not UTF-8 stopped the batch before nights.csv and the tables


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS file names are always UTF-8")
def test_a_file_name_that_is_not_utf8_leaves_the_tables_written(still, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(still, folder / "ok.csv")
    odd = os.path.join(os.fsencode(folder), b"n\xe9.csv")
    shutil.copy(still, odd)
    code = batch(folder, "--out", tmp_path / "o")
    assert code in (0, 1)  # whether the reader takes the name is not batch's business
    assert "Traceback" not in capsys.readouterr().err
    table = nights(tmp_path / "o")
    assert table["inputs"].str.endswith("n\\xe9.csv").any()
    assert table.loc[table["id"] == "ok", "status"].tolist() == ["ok"]
    record = json.loads((tmp_path / "o" / "batch.json").read_text())
    assert record["counts"]["nights"] == 2
    assert (tmp_path / "o" / "events.parquet").exists()
    assert (tmp_path / "o" / "epochs.parquet").exists()


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS file names are always UTF-8")
def test_an_out_folder_named_in_another_encoding_gets_its_tables(night, tmp_path, capsys):
    out = os.fsdecode(os.path.join(os.fsencode(tmp_path), b"o\xe9"))
    assert batch(night, "--out", out) == 0
    assert "Traceback" not in capsys.readouterr().err
    with open(os.path.join(out, "events.parquet"), "rb") as handle:  # Arrow's path: UTF-8
        events = pd.read_parquet(handle)
    per_night = pd.read_csv(os.path.join(out, "night", "events.csv"))
    assert len(events) == len(per_night) > 0


# 10. report on a single night: the SD of one value crashed the page


def test_report_of_a_single_night(night, tmp_path, capsys):
    assert main(["analyze", night, "--out", str(tmp_path / "n1"), "--no-report"]) == 0
    for folders in ([tmp_path / "n1"], [tmp_path / "n1", tmp_path / "n1"]):
        out = tmp_path / f"t{len(folders)}"
        assert main(["report", *map(str, folders), "--out", str(out)]) == 0
        assert "SD n/a" in (out / "report.html").read_text()
    assert duration(float("nan")) == "n/a"


# 11. --pairs naming {side} twice crashed (a regular expression group named twice)


def test_pairs_pattern_may_name_a_placeholder_twice(still, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(still, folder / "left_n1_left.csv")
    frame = pd.read_csv(still)
    frame["x"] = -frame["x"]  # another leg: a copy of one is refused (the same samples)
    frame.to_csv(folder / "right_n1_right.csv", index=False)
    assert batch(folder, "--out", tmp_path / "o", "--pairs", "{side}_{night}_{side}.csv") == 0
    table = nights(tmp_path / "o")
    assert table["id"].tolist() == ["n1"]
    assert "left=" in table.loc[0, "inputs"] and "right=" in table.loc[0, "inputs"]


# 19. options every night shares are checked before any night runs


@pytest.mark.parametrize(
    "option, says",
    [
        (["--sleep-window", "25:00,26:00"], "--sleep-window: not a clock time: '25:00'"),
        (["--sleep-window", "23:00"], "--sleep-window: cannot read '23:00'"),
        (["--sleep-window", "100,50"], "--sleep-window: the end '50' is not after the start"),
        (["--sleep-window", "23:00:75,07:00"], "--sleep-window: not a clock time: '23:00:75'"),
        (["--sleep-window", "23:00,23:00:00"], "--sleep-window: the end '23:00:00' is not after"),
        (["--sleep-window", "23:00,22:00"], "--sleep-window: lights on 22:00 comes 23 h after"),
        (["--workers", "0"], "--workers: 0; expected"),
        (["--workers", "-1"], "--workers: -1; expected"),
    ],
)
def test_a_bad_shared_option_stops_the_batch_before_any_night(
    still, tmp_path, capsys, option, says
):
    assert batch(still, "--out", tmp_path / "o", *option) == 2
    assert one_error_line(capsys).startswith(says)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("window", ["23:53,00:02", "60,600", "2025-03-15T23:53,00:02"])
def test_a_good_sleep_window_still_reaches_every_night(still, tmp_path, window):
    assert batch(still, "--out", tmp_path / "o", "--sleep-window", window) == 0
    assert nights(tmp_path / "o")["sleep_source"].tolist() == ["given"]


# 21. an earlier batch's results inside the searched folder were read as recordings


def test_an_earlier_batchs_results_are_not_recordings(still, tmp_path, capsys):
    folder = tmp_path / "bsub"
    folder.mkdir()
    shutil.copy(still, folder / "n1.csv")
    assert batch(folder, "--out", folder / "results") == 0
    capsys.readouterr()
    assert batch(folder, "--out", folder / "results2") == 0
    err = capsys.readouterr().err
    assert "results: the results of an earlier batch (batch.json); not searched" in err
    assert nights(folder / "results2")[["id", "status"]].values.tolist() == [["n1", "ok"]]
    # and the rerun into the first folder still skips its finished night
    assert batch(folder, "--out", folder / "results") == 0
    assert "1 of 1 nights already done" in capsys.readouterr().out


# 28. an input that cannot be read: one line in the error cell, not an OSError's repr


def test_an_unreadable_input_is_one_line_in_its_row(still, tmp_path, monkeypatch):
    path = str(tmp_path / "locked.csv")
    shutil.copy(still, path)

    def refused(name, *args, **kwargs):  # as open() fails on a file without read permission
        raise PermissionError(13, "Permission denied", name)

    monkeypatch.setattr("sleepmove.sensor.split.recording_span_h", refused)
    assert batch(path, "--out", tmp_path / "o") == 1
    (error,) = nights(tmp_path / "o")["error"]
    assert error == f"{path}: cannot read (Permission denied)"


# 29. an unreachable scheduler was reported as a write error, exit 1


def test_an_unreachable_scheduler_is_one_line_and_exit_2(still, tmp_path, capsys, monkeypatch):
    def client(address):
        raise OSError(f"Timed out trying to connect to {address} after 30 s")

    fake = types.ModuleType("distributed")
    fake.Client, fake.as_completed = client, iter
    monkeypatch.setitem(sys.modules, "distributed", fake)
    code = batch(still, "--out", tmp_path / "o", "--scheduler", "tcp://127.0.0.1:1")
    assert code == 2
    line = one_error_line(capsys)
    assert line.startswith("--scheduler: cannot connect to tcp://127.0.0.1:1 (Timed out")
    assert "cannot write" not in line
    assert not (tmp_path / "o").exists()


# 34. a binary file named .csv: batch says what analyze says


def test_batch_and_analyze_say_the_same_of_a_binary_file(tmp_path, capsys):
    path = tmp_path / "in" / "bin.csv"
    path.parent.mkdir()
    path.write_bytes(np.random.default_rng(1).bytes(3000))
    assert main(["analyze", str(path), "--out", str(tmp_path / "a")]) == 2
    said = one_error_line(capsys)
    assert "binary data" in said
    assert batch(path.parent, "--out", tmp_path / "b") == 1
    (error,) = nights(tmp_path / "b")["error"]
    assert error == said


# 40. nothing found: said, exit 2, nothing written


@pytest.mark.parametrize("content", [None, "notes.txt"])
def test_a_search_that_finds_no_recording_is_refused(tmp_path, capsys, content):
    folder = tmp_path / "empty"
    folder.mkdir()
    if content:
        (folder / content).write_text("not a recording\n")
    assert batch(folder, "--out", tmp_path / "o") == 2
    assert one_error_line(capsys).startswith(f"{folder}: no recording found")
    assert not (tmp_path / "o").exists()


def test_an_input_without_recordings_beside_others_is_a_warning(still, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert batch(still, tmp_path / "empty", "--out", tmp_path / "o") == 0
    assert f"{tmp_path / 'empty'}: no recording found in it" in capsys.readouterr().err
    assert nights(tmp_path / "o")["status"].tolist() == ["ok"]


# Two files that give one night id: one of them was silently never analyzed


@pytest.mark.parametrize("names", [("n1.csv", "n1.csv.gz"), ("a b.csv", "a_b.csv")])
def test_two_files_with_one_night_id_are_refused(still, tmp_path, capsys, names):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in names:
        shutil.copy(still, folder / name)
    assert batch(folder, "--out", tmp_path / "o") == 2
    assert "gives the night id" in one_error_line(capsys)
    assert not (tmp_path / "o").exists()


# Two nights of one name (n1 of two batches): the second replaced the first in the trend


def test_report_keeps_two_nights_of_one_name(night, tmp_path, capsys):
    for batch_out in ("A", "B"):
        assert (
            main(["analyze", night, "--out", str(tmp_path / batch_out / "n1"), "--no-report"]) == 0
        )
    folders = [str(tmp_path / "A"), str(tmp_path / "B"), str(tmp_path / "A" / "n1")]
    capsys.readouterr()
    assert main(["report", *folders, "--out", str(tmp_path / "t")]) == 0
    assert capsys.readouterr().out.startswith("2 nights")
    table = pd.read_csv(tmp_path / "t" / "nights.csv")
    assert sorted(table["night"]) == [str(tmp_path / "A" / "n1"), str(tmp_path / "B" / "n1")]


def test_a_folder_or_device_file_that_cannot_be_read_is_said_not_passed_over(
    night, tmp_path, monkeypatch, capsys
):
    """Unreadable to this user (simulated: tests may run as root, who reads everything)."""
    from sleepmove import batch

    folder = tmp_path / "in"
    (folder / "locked").mkdir(parents=True)
    shutil.copy(night, folder / "a.csv")
    shutil.copy(night, folder / "locked" / "b.csv")
    (folder / "c.gt3x").write_bytes(b"PK\x03\x04")
    real_scandir, real_open = os.scandir, open

    def scandir(path):
        if os.path.basename(path) == "locked":
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    def locked_open(path, *args, **kwargs):
        if str(path).endswith("c.gt3x"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(batch.os, "scandir", scandir)
    monkeypatch.setattr("builtins.open", locked_open)
    found = batch.discover([str(folder)], str(tmp_path / "out"))
    assert found == [str(folder / "a.csv")]
    err = capsys.readouterr().err
    assert f"{folder / 'locked'}: cannot be read (Permission denied)" in err
    assert f"{folder / 'c.gt3x'}: cannot be read (Permission denied)" in err


def test_a_recording_deep_in_long_folders_gets_a_night_id_a_folder_can_take(still, tmp_path):
    """The id joins the folder names: past 255 bytes its folder could not be made ("File
    name too long", an error row). Shortened, it stays its own and the same on a rerun."""
    for folder, name in (("D" * 200, "F" * 200), ("D" * 199 + "E", "F" * 200), ("o", "x")):
        (tmp_path / "in" / folder).mkdir(parents=True)
        shutil.copy(still, tmp_path / "in" / folder / f"{name}.csv")
    out = tmp_path / "out"
    assert batch(tmp_path / "in", "--out", out) == 0
    table = nights(out)
    assert (table["status"] == "ok").all() and table["id"].nunique() == 3
    assert all(len(night) <= 200 for night in table["id"])
    assert batch(tmp_path / "in", "--out", out) == 0  # all found done, nothing redone
    assert json.loads((out / "batch.json").read_text())["counts"]["skipped"] == 3
