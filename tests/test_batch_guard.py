"""A batch folder's results stay true: one recording per night folder, one batch at a time,
no cohort table left from a run being redone; the trend report reads the nights the
batch's table lists."""

import json
import shutil
import subprocess
import sys

import pytest

from sleepmove.batch_guard import LOCK_FILE, hold_batch_lock
from sleepmove.cli import main
from sleepmove.sensor.simulate import simulate


@pytest.fixture(scope="module")
def two_sites(tmp_path_factory):
    """site1/n01.csv and site2/n01.csv: two recordings that give one night id."""
    root = tmp_path_factory.mktemp("sites")
    work = tmp_path_factory.mktemp("sims")
    for seed, site in ((1, "site1"), (2, "site2")):
        simulate(str(work / site), hours=0.4, rate_hz=25, seed=seed)
        (root / site).mkdir()
        shutil.copy(work / site / "night.csv", root / site / "n01.csv")
    return root


def batch(*args):
    return main(["batch", *map(str, args), "--no-report"])


def test_another_recordings_results_are_not_replaced(two_sites, tmp_path, capsys):
    out = tmp_path / "out"
    assert batch(two_sites / "site1", "--out", out) == 0
    first = (out / "n01" / "summary.json").read_text()
    capsys.readouterr()
    assert batch(two_sites / "site2", "--out", out) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "would replace the results in" in error
    assert str((two_sites / "site1" / "n01.csv").resolve()) in error
    assert (out / "n01" / "summary.json").read_text() == first  # kept, not replaced
    # An unreadable recording of the other site no longer removes them either.
    (two_sites / "site2" / "bad").mkdir()
    (two_sites / "site2" / "bad" / "n01.csv").write_text("garbage\n")
    assert batch(two_sites / "site2" / "bad", "--out", out) == 2
    assert (out / "n01" / "summary.json").read_text() == first
    # The same recording copied (a cohort staged to scratch) is the same night: not refused
    copied = tmp_path / "copied"
    shutil.copytree(two_sites / "site1", copied)
    assert batch(copied, "--out", out) == 0
    # ...and so is one moved (from an older release's record: the path alone)
    (out / "n01" / "batch-inputs.json").write_text(
        json.dumps({"": str(tmp_path / "gone" / "n01.csv")})
    )
    assert batch(copied, "--out", out) == 0


def test_a_rerun_cut_short_leaves_no_table_of_the_run_before(two_sites, tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert batch(two_sites / "site1", "--out", out) == 0
    tables = ("nights.csv", "batch.json", "events.parquet", "epochs.parquet")
    assert all((out / name).exists() for name in tables)

    def interrupted(tasks, workers):
        raise KeyboardInterrupt  # Ctrl-C as the first night of the rerun begins
        yield  # a generator, as run_local's results are

    monkeypatch.setattr("sleepmove.batch_command.run_local", interrupted)
    assert batch(two_sites / "site1", "--out", out, "--force", "--criteria", "aasm2012") == 130
    # None says wasm2016 beside nights that may already hold aasm2012 results
    assert not any((out / name).exists() for name in tables)
    assert (out / "n01" / "summary.json").exists()  # the night's own results stay


def test_a_second_batch_into_a_busy_folder_is_refused(two_sites, tmp_path, capsys):
    out = tmp_path / "out"
    # Another process holds the folder, as a running batch does
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from sleepmove.batch_guard import hold_batch_lock\n"
            "locks = hold_batch_lock(sys.argv[1], None); print('held', flush=True); "
            "time.sleep(60)",
            str(out),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert batch(two_sites / "site1", "--out", out) == 2
        error = capsys.readouterr().err
        assert "another batch is writing into this folder" in error
        assert not (out / "n01").exists()
        with pytest.raises(Exception, match="another batch"):  # a shard of it too
            hold_batch_lock(str(out), "1/2")
    finally:
        holder.kill()
        holder.wait()
    assert batch(two_sites / "site1", "--out", out) == 0  # free once it has ended
    assert (out / LOCK_FILE).exists()


def test_shards_of_one_cohort_run_side_by_side_but_not_twice(tmp_path):
    first = hold_batch_lock(str(tmp_path), "1/2")
    second = hold_batch_lock(str(tmp_path), "2/2")  # a job array's other task
    with pytest.raises(Exception, match=r"shard 1/2"):
        hold_batch_lock_elsewhere(tmp_path, "1/2")
    for handle in first + second:
        handle.close()


def hold_batch_lock_elsewhere(folder, shard):
    """flock is per open file: a lock taken again in this process by another open() of the
    file conflicts as another process's would."""
    return hold_batch_lock(str(folder), shard)


def test_the_report_reads_the_nights_the_batch_lists(two_sites, tmp_path, capsys):
    out = tmp_path / "out"
    assert batch(two_sites / "site1", "--out", out) == 0
    # A night folder the batch's table does not list (an earlier batch's leftover)
    shutil.copytree(out / "n01", out / "old_n01")
    (out / "old_n01" / "batch-inputs.json").unlink()
    capsys.readouterr()
    assert main(["report", str(out), "--out", str(tmp_path / "trend")]) == 0
    captured = capsys.readouterr()
    assert "1 night" in captured.out
    assert "left out 1 night folder" in captured.err and "old_n01" in captured.err


@pytest.mark.parametrize(
    "option, value, problem",
    [
        ("--sleep-window", "-5,100", "'-5' is seconds before the recording starts"),
        ("--timezone", "", "unknown time zone ''"),
    ],
)
def test_what_analyze_refuses_a_batch_refuses_before_any_night(
    two_sites, tmp_path, capsys, option, value, problem
):
    out = tmp_path / "out"
    assert main(["batch", str(two_sites / "site1"), "--out", str(out), f"{option}={value}"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and problem in error
    assert not out.exists()


def test_a_settings_files_window_before_the_start_is_named_as_its_line(two_sites, tmp_path, capsys):
    config = tmp_path / "settings.toml"
    config.write_text('[options]\nsleep_window = "-5,100"\n')
    out = tmp_path / "out"
    argv = ["batch", str(two_sites / "site1"), "--out", str(out), "--config", str(config)]
    assert main(argv) == 2
    error = capsys.readouterr().err.strip()
    assert f"{config}: [options] sleep_window = '-5,100'" in error and not out.exists()


def test_a_night_the_pattern_found_one_leg_of_is_said(two_sites, tmp_path, capsys):
    folder = tmp_path / "legs"
    folder.mkdir()
    shutil.copy(two_sites / "site1" / "n01.csv", folder / "n2_left.csv")
    out = tmp_path / "out"
    assert batch(folder, "--out", out, "--pairs", "{night}_{side}.csv") == 0
    error = capsys.readouterr().err
    assert "found one leg of 1 night, each analyzed as one sensor: n2 (left only)" in error
    summary = json.loads((out / "n2" / "summary.json").read_text())
    assert summary["recording"]["sides"] == ["left"]


def test_a_pattern_that_matches_nothing_says_what_was_expected(tmp_path, capsys):
    assert batch(tmp_path / "nowhere" / "*.csv", "--out", tmp_path / "out") == 2
    assert "; expected recordings: files, folders or glob patterns" in capsys.readouterr().err


def test_a_scheduler_that_cannot_be_reached_leaves_the_tables_as_they_were(
    two_sites, tmp_path, monkeypatch
):
    import types

    out = tmp_path / "out"
    assert batch(two_sites / "site1", "--out", out) == 0
    tables = {name: (out / name).read_bytes() for name in ("nights.csv", "batch.json")}

    def client(address):
        raise OSError(f"Timed out trying to connect to {address} after 30 s")

    fake = types.ModuleType("distributed")
    fake.Client, fake.as_completed = client, iter
    monkeypatch.setitem(sys.modules, "distributed", fake)
    monkeypatch.setattr("sleepmove.runners.check_scheduler", lambda address: None)
    argv = [two_sites / "site1", "--out", out, "--force", "--scheduler", "tcp://127.0.0.1:1"]
    assert batch(*argv) == 2
    assert {name: (out / name).read_bytes() for name in tables} == tables
    assert (out / "events.parquet").exists()


def test_a_nights_respiratory_events_in_a_settings_file_are_not_applied_to_a_batch(
    two_sites, tmp_path, capsys
):
    config = tmp_path / "settings.toml"
    config.write_text('[options]\nrespiratory_events = "/somewhere/apneas.csv"\n')
    out = tmp_path / "out"
    assert batch(two_sites / "site1", "--out", out, "--config", config) == 0
    assert "not a pattern holding {night}: not applied to a batch" in capsys.readouterr().err
    summary = json.loads((out / "n01" / "summary.json").read_text())
    assert summary["criteria"]["respiratory_exclusion"]["applied"] is False


def test_each_night_takes_its_own_sleep_studys_respiratory_events(two_sites, tmp_path, capsys):
    folder = tmp_path / "cohort"
    folder.mkdir()
    for night in ("n01", "n02"):
        shutil.copy(two_sites / "site1" / "n01.csv", folder / f"{night}.csv")
    studies = tmp_path / "psg"
    studies.mkdir()
    (studies / "n01-nsrr.csv").write_text(
        "onset,duration,type\n600,20,Obstructive apnea\n900,15,Hypopnea\n"
    )
    out = tmp_path / "out"
    pattern = str(studies / "{night}-nsrr.csv")
    assert batch(folder, "--out", out, "--respiratory-events", pattern) == 1  # n02 has none
    nights = {row.split(",")[0]: row for row in (out / "nights.csv").read_text().splitlines()}
    assert ",ok," in nights["n01"] and "n02-nsrr.csv: file not found" in nights["n02"]
    summary = json.loads((out / "n01" / "summary.json").read_text())
    assert summary["criteria"]["respiratory_exclusion"]["events"] == 2
    assert summary["recording"]["respiratory_events"]["file"] == str(studies / "n01-nsrr.csv")
    capsys.readouterr()
    assert batch(folder, "--out", tmp_path / "o2", "--respiratory-events", "one.csv") == 2
    assert "'one.csv' names one file; a batch's nights each have their own" in (
        capsys.readouterr().err
    )


def test_a_night_whose_table_was_damaged_since_is_analyzed_again(two_sites, tmp_path, capsys):
    out = tmp_path / "out"
    assert batch(two_sites / "site1", "--out", out) == 0
    events = (out / "n01" / "events.csv").read_text()
    (out / "n01" / "events.csv").write_text("garbage\n")
    assert batch(two_sites / "site1", "--out", out) == 0  # done: skipped, the table refused
    assert "events.parquet leaves out n01" in capsys.readouterr().err
    assert batch(two_sites / "site1", "--out", out) == 0  # no longer done: analyzed again
    assert "already done" not in capsys.readouterr().out
    assert (out / "n01" / "events.csv").read_text() == events


def test_one_nights_missing_study_leaves_a_multi_day_files_other_nights_whole(tmp_path):
    """Three evenings in one file, a sleep study for two of them: the third's error took its
    sister nights' summary.json while nights.csv listed them as ok."""
    from tests.test_batch import write_three_evenings

    cohort = write_three_evenings(tmp_path)
    out = tmp_path / "out"
    assert batch(cohort, "--out", out, "--workers", "1") == 0
    dates = sorted(p.name for p in (out / "week").iterdir() if p.is_dir())
    studies = tmp_path / "psg"
    for night in dates[:2]:
        (studies / "week").mkdir(parents=True, exist_ok=True)
        (studies / "week" / f"{night}.csv").write_text("onset,duration,type\n600,20,Apnea\n")
    pattern = str(studies / "{night}.csv")
    assert batch(cohort, "--out", out, "--workers", "1", "--respiratory-events", pattern) == 1
    rows = {r.split(",")[0]: r for r in (out / "nights.csv").read_text().splitlines()[1:]}
    assert [",ok," in rows[f"week/{night}"] for night in dates] == [True, True, False]
    assert [(out / "week" / night / "summary.json").exists() for night in dates] == [
        True,
        True,
        False,
    ]
