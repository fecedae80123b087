"""batch reruns and shards at their edges: a multi-day file's night whose table was damaged
is redone (alone), a night whose sleep study changed is redone (alone), and two batches into
one --out (shards cut two ways) never write one night's folder at once."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sleepmove.cli import main
from sleepmove.sensor.simulate import simulate
from tests.test_batch import write_three_evenings

ROOT = Path(__file__).resolve().parent.parent


def batch(*args) -> int:
    return main(["batch", *map(str, args), "--workers", "1", "--no-report"])


def nights(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "nights.csv", keep_default_na=False).set_index("id")


def written(folder: Path) -> tuple[int, int]:
    """Which write of summary.json a folder holds (each is a new file renamed into place)."""
    status = (folder / "summary.json").stat()
    return status.st_ino, status.st_mtime_ns


@pytest.fixture(scope="module")
def night(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("night")
    simulate(str(folder), hours=0.25, rate_hz=25, seed=4)
    return folder / "night.csv"


@pytest.fixture
def week(tmp_path):
    """A three-evening file analyzed once: (its folder, --out, the nights' dates)."""
    cohort = write_three_evenings(tmp_path)
    out = tmp_path / "out"
    assert batch(cohort, "--out", out) == 0
    dates = sorted(p.name for p in (out / "week").iterdir() if p.is_dir())
    assert len(dates) == 3
    return cohort, out, dates


def test_a_split_nights_damaged_table_is_analyzed_again_and_its_sisters_kept(week, capsys):
    """The check that redoes a night whose events.csv was damaged removed the key in the
    night's folder; a multi-day file's night had none there (its key was its file's), so
    the night stayed damaged, left out of events.parquet at every run."""
    cohort, out, dates = week
    damaged = out / "week" / dates[1]
    events = (damaged / "events.csv").read_text()
    sisters = {date: written(out / "week" / date) for date in (dates[0], dates[2])}
    took = nights(out)["seconds"]
    (damaged / "events.csv").write_text("garbage\n")
    capsys.readouterr()
    assert batch(cohort, "--out", out) == 0  # done: skipped, its table refused
    assert f"events.parquet leaves out week/{dates[1]}" in capsys.readouterr().err
    assert batch(cohort, "--out", out) == 0  # no longer done: analyzed again
    assert "leaves out" not in capsys.readouterr().err
    assert (damaged / "events.csv").read_text() == events
    # ...alone: the healthy nights keep their results, and the time they took
    assert {date: written(out / "week" / date) for date in sisters} == sisters
    table = nights(out)
    assert table["status"].tolist() == ["ok"] * 3
    assert [table["seconds"][f"week/{date}"] for date in sisters] == [
        took[f"week/{date}"] for date in sisters
    ]
    cohort_events = pd.read_parquet(out / "events.parquet")
    assert sorted(set(cohort_events["night"])) == [f"week/{date}" for date in dates]
    assert batch(cohort, "--out", out) == 0  # and then done, every night of it
    assert "1 of 1 nights already done" in capsys.readouterr().out


def test_force_still_analyzes_every_night_of_a_multi_day_file(week):
    cohort, out, dates = week
    before = {date: written(out / "week" / date) for date in dates}
    assert batch(cohort, "--out", out, "--force") == 0
    assert all(written(out / "week" / date) != before[date] for date in dates)


def study(path: Path, events: int) -> None:
    """A sleep study with `events` apneas, a minute apart from 10 minutes in."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = "".join(f"{600 + 60 * i},20,Obstructive apnea\n" for i in range(events))
    path.write_text("onset,duration,type\n" + rows)


def excluded_events(out: Path, night: str) -> int:
    summary = json.loads((out / night / "summary.json").read_text())
    return summary["criteria"]["respiratory_exclusion"]["events"]


def test_a_night_whose_sleep_study_changed_is_analyzed_again_alone(night, tmp_path):
    """The key held --respiratory-events' pattern, not the study file: a study edited or
    replaced since kept the night's results made from the old one (README: use --force)."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("n01", "n02"):
        shutil.copy(night, folder / f"{name}.csv")
        study(tmp_path / "psg" / f"{name}.csv", 1)
    out = tmp_path / "out"
    argv = [folder, "--out", out, "--respiratory-events", tmp_path / "psg" / "{night}.csv"]
    assert batch(*argv) == 0
    kept = written(out / "n02")
    study(tmp_path / "psg" / "n01.csv", 3)  # edited: two more events
    assert batch(*argv) == 0
    assert excluded_events(out, "n01") == 3
    assert written(out / "n02") == kept
    record = json.loads((out / "batch.json").read_text())
    assert record["counts"]["skipped"] == 1 and record["counts"]["analyzed"] == 1
    assert batch(*argv) == 0  # unchanged since: nothing redone
    assert json.loads((out / "batch.json").read_text())["counts"]["skipped"] == 2


def test_a_split_night_whose_sleep_study_changed_is_analyzed_again_alone(week):
    cohort, out, dates = week
    for date in dates:
        study(out.parent / "psg" / "week" / f"{date}.csv", 1)
    argv = [cohort, "--out", out, "--respiratory-events", out.parent / "psg" / "{night}.csv"]
    assert batch(*argv) == 0
    assert [excluded_events(out, f"week/{date}") for date in dates] == [1, 1, 1]
    sisters = {date: written(out / "week" / date) for date in (dates[0], dates[2])}
    study(out.parent / "psg" / "week" / f"{dates[1]}.csv", 2)
    assert batch(*argv) == 0
    assert [excluded_events(out, f"week/{date}") for date in dates] == [1, 2, 1]
    assert {date: written(out / "week" / date) for date in sisters} == sisters


# Runs a batch whose analysis of each night is logged ("start"/"end", with the process) and
# held, once begun, until the file `release` exists.
HELD_BATCH = """
import os, sys, time
import sleepmove.batch as batch
from sleepmove.cli import main

log, release = sys.argv[1], sys.argv[2]
analyze = batch._analyze_one

def held(night_id, *args, **kwargs):
    with open(log, "a") as handle:
        handle.write(f"start {os.getpid()} {night_id}\\n")
    deadline = time.time() + 60
    while not os.path.exists(release) and time.time() < deadline:
        time.sleep(0.02)
    try:
        return analyze(night_id, *args, **kwargs)
    finally:
        with open(log, "a") as handle:
            handle.write(f"end {os.getpid()} {night_id}\\n")

batch._analyze_one = held
sys.exit(main(["batch", *sys.argv[3:]]))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="no file locks: one batch per --out")
def test_shards_cut_two_ways_never_write_one_night_at_once(night, tmp_path, capsys):
    """--shard 1/2 and --shard 1/3 both hold the first night; their locks had different
    names, so both analyzed it into its folder at the same time."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("n0", "n1"):
        shutil.copy(night, folder / f"{name}.csv")
    script, log, release, out = (tmp_path / name for name in ("held.py", "log", "go", "out"))
    script.write_text(HELD_BATCH)

    def shard(spec: str, stderr: Path) -> subprocess.Popen:
        argv = [sys.executable, str(script), str(log), str(release), str(folder)]
        argv += ["--out", str(out), "--workers", "1", "--no-report", "--shard", spec]
        with open(stderr, "w") as handle:
            return subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=handle)

    def said() -> str:
        return log.read_text() if log.exists() else ""

    first = shard("1/2", tmp_path / "first.err")
    second = None
    try:
        deadline = time.time() + 60
        while "start" not in said() and time.time() < deadline:
            time.sleep(0.02)
        assert "start" in said(), (tmp_path / "first.err").read_text()
        second = shard("1/3", tmp_path / "second.err")
        # until the second batch waits for the night, or (the fault) analyzes it too
        while time.time() < deadline and said().count("start") < 2:
            if "waiting" in (tmp_path / "second.err").read_text():
                break
            time.sleep(0.02)
        release.touch()
        assert first.wait(timeout=120) == 0 and second.wait(timeout=120) == 0
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
    running: dict[str, str] = {}  # night -> the process analyzing it now
    for line in said().splitlines():  # a loop over the log in the order written
        what, pid, night_id = line.split()
        if what == "start":
            assert night_id not in running, f"two batches analyzed {night_id} at once"
            running[night_id] = pid
        else:
            del running[night_id]
    waited = (tmp_path / "second.err").read_text()
    assert "n0: another batch is writing this night's results; waiting for it" in waited
    assert said().count("start") == 1  # and found it done once it could write it
    # Both ended with n0 ok (exit 0), and its folder holds one finished night's results
    assert os.path.exists(out / "n0" / "summary.json")
    assert batch(folder, "--out", out, "--shard", "1/3") == 0
    assert "1 of 1 nights already done" in capsys.readouterr().out


def test_rows_kept_from_before_new_columns_take_them_from_the_summary(night, tmp_path):
    """A night finished before nights.csv had the in-bed index (its batch-rows.json without
    it) keeps its results, and its row takes the missing figures from its summary.json, not
    blanks; a batch-rows.json damaged since redoes the night, not a traceback."""
    source = tmp_path / "in"
    source.mkdir()
    shutil.copy(night, source / "n01.csv")
    out = tmp_path / "out"
    assert batch(source, "--out", out) == 0
    rows_file = out / "n01" / "batch-rows.json"
    rows = json.loads(rows_file.read_text())
    for row in rows:  # as an older release wrote them
        for name in ("plm_index_in_bed", "sleep_estimate_drives_plm_index"):
            row.pop(name)
    rows_file.write_text(json.dumps(rows))
    before = written(out / "n01")
    assert batch(source, "--out", out) == 0
    assert written(out / "n01") == before  # kept
    summary = json.loads((out / "n01" / "summary.json").read_text())
    assert nights(out).loc["n01", "plm_index_in_bed"] == pytest.approx(summary["plm_index_in_bed"])
    rows_file.write_text("{damaged")
    assert batch(source, "--out", out) == 0
    assert written(out / "n01") != before  # analyzed again
