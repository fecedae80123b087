"""Batch: mixed layouts, one broken file, parallel equals serial, resumable, Dask, shards."""

import json
import shutil

import pandas as pd
import pytest

from sleepmove.cli import main
from sleepmove.sensor.simulate import simulate

TIMING = ["seconds"]


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """Two single-sensor nights, one two-leg night as {night}_{side}.csv, one broken file."""
    root = tmp_path_factory.mktemp("cohort")
    work = tmp_path_factory.mktemp("sims")
    for seed in (1, 2):
        simulate(str(work / f"s{seed}"), hours=0.4, rate_hz=25, seed=seed)
        shutil.copy(work / f"s{seed}" / "night.csv", root / f"p{seed}.csv")
    simulate(str(work / "two"), hours=0.4, rate_hz=25, seed=3, scenario="bilateral")
    (root / "pair").mkdir()
    for side in ("left", "right"):
        shutil.copy(work / "two" / f"{side}.csv", root / "pair" / f"n3_{side}.csv")
    (root / "broken.csv").write_text("time,x,y,z\n1,2,3\n")
    return root


def run(args):
    return main(["batch", *args, "--no-report"])


def table(out):
    return pd.read_csv(out / "nights.csv", keep_default_na=False)


def test_mixed_layouts_one_broken_file(cohort, tmp_path):
    out = tmp_path / "b"
    assert (
        run([str(cohort), "--out", str(out), "--pairs", "{night}_{side}.csv", "--workers", "2"])
        == 1
    )
    nights = table(out)
    assert nights["id"].tolist() == ["broken", "p1", "p2", "pair_n3"]
    assert nights["status"].tolist() == ["error", "ok", "ok", "ok"]
    assert "broken.csv" in nights.loc[0, "error"] and nights.loc[1:, "error"].eq("").all()
    assert "left=" in nights.loc[3, "inputs"] and "right=" in nights.loc[3, "inputs"]
    assert (out / "pair_n3" / "summary.json").exists()
    summary = json.loads((out / "pair_n3" / "summary.json").read_text())
    assert summary["recording"]["sides"] == ["left", "right"]
    record = json.loads((out / "batch.json").read_text())
    assert record["counts"] == {"nights": 4, "skipped": 0, "analyzed": 4, "ok": 3, "error": 1}


def test_parallel_equals_serial(cohort, tmp_path):
    outs = {}
    for workers in ("1", "2"):
        outs[workers] = tmp_path / workers
        run(
            [
                str(cohort),
                "--out",
                str(outs[workers]),
                "--pairs",
                "{night}_{side}.csv",
                "--workers",
                workers,
            ]
        )
    one, two = (table(o).drop(columns=TIMING) for o in outs.values())
    pd.testing.assert_frame_equal(one, two)
    for night in ("p1", "p2", "pair_n3"):
        a = (outs["1"] / night / "events.csv").read_text()
        assert a == (outs["2"] / night / "events.csv").read_text()


def test_rerun_after_interruption_does_only_what_is_missing(cohort, tmp_path, capsys):
    out = tmp_path / "r"
    run([str(cohort), "--out", str(out), "--workers", "1"])
    took = table(out).set_index("id")["seconds"]
    (out / "p2" / "summary.json").unlink()  # as if killed while writing this night
    run([str(cohort), "--out", str(out), "--workers", "1"])
    # a night skipped keeps the time it took when analyzed (it said 0.0)
    assert table(out).set_index("id")["seconds"]["p1"] == took["p1"] > 0
    record = json.loads((out / "batch.json").read_text())
    # p2 again, and the broken file (failures are retried); the rest is skipped
    assert record["counts"]["skipped"] == 3 and record["counts"]["analyzed"] == 2
    assert table(out)["status"].tolist().count("ok") == 4
    run([str(cohort), "--out", str(out), "--workers", "1", "--criteria", "aasm2012"])
    assert json.loads((out / "batch.json").read_text())["counts"]["skipped"] == 0
    run([str(cohort), "--out", str(out), "--workers", "1", "--criteria", "aasm2012", "--force"])
    assert json.loads((out / "batch.json").read_text())["counts"]["analyzed"] == 5


def test_nights_made_with_other_default_parameters_are_analyzed_again(
    cohort, tmp_path, monkeypatch
):
    """A release that changes a default (here the sleep model's quiet evidence) must not
    keep the older results as if made with these parameters."""
    from dataclasses import replace

    import sleepmove.pipeline as pipeline

    out = tmp_path / "r"
    run([str(cohort), "--out", str(out), "--workers", "1"])
    run([str(cohort), "--out", str(out), "--workers", "1"])
    assert json.loads((out / "batch.json").read_text())["counts"]["skipped"] == 4
    original = pipeline.default_parameters

    def released_later(*args, **kwargs):
        params = original(*args, **kwargs)
        return replace(params, sleep=replace(params.sleep, quiet_log_odds=-0.6))

    monkeypatch.setattr(pipeline, "default_parameters", released_later)
    run([str(cohort), "--out", str(out), "--workers", "1"])
    assert json.loads((out / "batch.json").read_text())["counts"]["skipped"] == 0


def test_shards_split_the_nights_between_jobs(cohort, tmp_path):
    out = tmp_path / "s"
    for k in ("1/2", "2/2"):
        run([str(cohort), "--out", str(out), "--workers", "1", "--shard", k])
    first = pd.read_csv(out / "nights-1of2.csv")
    second = pd.read_csv(out / "nights-2of2.csv")
    assert sorted(first["id"].tolist() + second["id"].tolist()) == [
        "broken",
        "p1",
        "p2",
        "pair_n3_left",
        "pair_n3_right",
    ]
    assert not set(first["id"]) & set(second["id"])
    # Cut another way, the halves' tables are stale; the unsharded pass holds every night.
    run([str(cohort), "--out", str(out), "--workers", "1", "--shard", "1/3"])
    shards = {p.name for p in out.iterdir() if p.name.startswith(("nights-", "batch-"))}
    assert shards == {"nights-1of3.csv", "batch-1of3.json"}
    run([str(cohort), "--out", str(out), "--workers", "1"])
    assert not [p.name for p in out.iterdir() if p.name.startswith(("nights-", "batch-"))]
    assert len(pd.read_csv(out / "nights.csv")) == 5


def test_dask_local_cluster_gives_the_same_table(cohort, tmp_path):
    distributed = pytest.importorskip("distributed")
    local = tmp_path / "local"
    run([str(cohort), "--out", str(local), "--pairs", "{night}_{side}.csv", "--workers", "1"])
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        remote = tmp_path / "dask"
        assert (
            run(
                [
                    str(cohort),
                    "--out",
                    str(remote),
                    "--pairs",
                    "{night}_{side}.csv",
                    "--scheduler",
                    cluster.scheduler_address,
                ]
            )
            == 1
        )
    pd.testing.assert_frame_equal(
        table(local).drop(columns=TIMING), table(remote).drop(columns=TIMING)
    )
    for name in ("events", "epochs"):  # the cohort tables too (issue 22)
        assert pd.read_parquet(local / f"{name}.parquet").equals(
            pd.read_parquet(remote / f"{name}.parquet")
        )


def write_three_evenings(tmp_path):
    """tmp_path/multi/week.csv: three 24-minute evenings a day apart in one file."""
    work, cohort = tmp_path / "sims", tmp_path / "multi"
    cohort.mkdir()
    frames = []
    for day in range(3):
        simulate(str(work / str(day)), hours=0.4, rate_hz=25, seed=10 + day)
        frame = pd.read_csv(work / str(day) / "night.csv")
        start = 1_741_975_200.0 + day * 86400  # 18:00 UTC on three days
        frame["time"] = frame["time"] - frame["time"].iloc[0] + start
        frames.append(frame)
    pd.concat(frames).to_csv(cohort / "week.csv", index=False, float_format="%.4f")
    return cohort


def test_a_multi_day_recording_is_split_into_nights(tmp_path):
    """Three evenings a day apart in one file: three nights, noon to noon."""
    cohort = write_three_evenings(tmp_path)
    out = tmp_path / "out"
    assert run([str(cohort), "--out", str(out), "--workers", "1"]) == 0
    nights = table(out)
    assert nights["status"].tolist() == ["ok"] * 3
    dates = [n.split("/")[1] for n in nights["id"]]
    assert len(set(dates)) == 3 and all(n.startswith("week/") for n in nights["id"])
    assert all((out / "week" / d / "summary.json").exists() for d in dates)
    assert not (out / "week" / "parts").exists()
    assert nights["duration_h"].max() < 0.5


def test_inputs_that_do_not_exist_are_refused(tmp_path, capsys):
    assert run([str(tmp_path / "nothing*.csv"), "--out", str(tmp_path / "o")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_a_night_in_a_worker_process_keeps_to_one_thread(monkeypatch):
    # Workers run a night per core: the analysis's own background thread would contend.
    from sleepmove import runners
    from sleepmove.detection import parallel

    monkeypatch.setattr(parallel, "_enabled", True)
    seen = []
    monkeypatch.setattr(runners, "run_task", lambda task: seen.append(parallel._enabled) or [])
    settled = []  # and its parse to its share of the cores (issue 22)
    monkeypatch.setattr(runners, "settle_worker", lambda *args: settled.append(args))
    assert runners.run_task_on_one_core(None) == []
    assert seen == [False] and settled == [(1, False)]  # Dask's workers keep no memory
    monkeypatch.setattr(runners, "default_workers", lambda: 16)
    assert [runners.parse_threads_per_worker(n) for n in (1, 2, 16, 32)] == [16, 8, 1, 1]


def test_a_pool_worker_keeps_its_memory_for_the_next_night():
    """In a process of its own: the settings are for the worker's whole life."""
    import subprocess
    import sys

    script = (
        "import pyarrow, sleepmove.sensor.parse_memory as r; "
        "from sleepmove.runners import settle_worker; "
        "settle_worker(1, True); print(pyarrow.cpu_count(), r._keep_parse_memory)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stdout.split() == ["1", "True"], done.stderr


def copy_of(cohort, tmp_path):
    """The cohort's two single-sensor nights in a folder of their own (files to replace)."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("p1.csv", "p2.csv"):
        shutil.copy(cohort / name, inputs / name)
    return inputs


def test_a_night_that_fails_on_a_rerun_stays_failed_not_done_with_old_results(cohort, tmp_path):
    """After a --force rerun failed on a file gone bad, the next run called the night done
    from its earlier results ('ok', exit 0), and `report` counted them."""
    inputs, out = copy_of(cohort, tmp_path), tmp_path / "r"
    assert run([str(inputs), "--out", str(out), "--workers", "1"]) == 0
    (inputs / "p1.csv").write_text("garbage\n")
    assert run([str(inputs), "--out", str(out), "--workers", "1", "--force"]) == 1
    assert not (out / "p1" / "summary.json").exists()
    assert run([str(inputs), "--out", str(out), "--workers", "1"]) == 1
    assert table(out).set_index("id")["status"].to_dict() == {"p1": "error", "p2": "ok"}


def test_a_recording_replaced_at_the_same_path_is_analyzed_again(cohort, tmp_path):
    inputs, out = copy_of(cohort, tmp_path), tmp_path / "r"
    run([str(inputs), "--out", str(out), "--workers", "1"])
    before = table(out).set_index("id")["start"]["p2"]
    shutil.copy(cohort / "pair" / "n3_left.csv", inputs / "p2.csv")  # another night
    run([str(inputs), "--out", str(out), "--workers", "1"])
    record = json.loads((out / "batch.json").read_text())
    assert record["counts"]["skipped"] == 1 and record["counts"]["analyzed"] == 1
    assert table(out).set_index("id")["start"]["p2"] != before


@pytest.mark.parametrize("removed", ["events.csv", "epochs.csv"])
def test_a_night_missing_one_of_its_files_is_analyzed_again(cohort, tmp_path, removed):
    inputs, out = copy_of(cohort, tmp_path), tmp_path / "r"
    run([str(inputs), "--out", str(out), "--workers", "1"])
    (out / "p2" / removed).unlink()
    run([str(inputs), "--out", str(out), "--workers", "1"])
    assert json.loads((out / "batch.json").read_text())["counts"]["analyzed"] == 1
    assert (out / "p2" / removed).exists()


def test_a_window_from_the_config_file_is_named_as_the_files_line(cohort, tmp_path):
    inputs, out = copy_of(cohort, tmp_path), tmp_path / "r"
    settings = tmp_path / "sw.toml"
    settings.write_text('[options]\nsleep_window = "10:00,11:00"\n')
    run([str(inputs), "--out", str(out), "--workers", "1", "--config", str(settings)])
    errors = table(out)["error"].tolist()
    named = f"{settings}: [options] sleep_window = '10:00,11:00': "
    assert errors and all(error.startswith(named) for error in errors)


class GoneStream:
    """stderr whose reader left: a `| head` that ended (EPIPE), an ssh terminal closed. A
    flush fails once a write has (the text is still held)."""

    held = False

    def write(self, _text):
        self.held = True
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        if self.held:
            raise BrokenPipeError(32, "Broken pipe")

    def isatty(self):
        return False


def test_a_batch_whose_progress_nobody_reads_goes_on_to_its_table(cohort, tmp_path, monkeypatch):
    """With --workers 1 the first failed progress line left the night child waiting for
    the next night: the batch never ended and wrote no nights.csv."""
    inputs, out = copy_of(cohort, tmp_path), tmp_path / "r"
    monkeypatch.setattr("sys.stderr", GoneStream())
    assert run([str(inputs), "--out", str(out), "--workers", "1"]) == 0
    assert table(out)["status"].tolist() == ["ok", "ok"]
