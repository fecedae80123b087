"""batch: a night that kills its process (a crash in native code) costs that night alone,
its error row in the table of nights and the progress line."""

import os
import shutil
import signal

import pandas as pd
import pytest

from sleepmove import runners
from sleepmove.cli import main
from sleepmove.sensor.simulate import simulate


@pytest.fixture(scope="module")
def night(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("night")
    simulate(str(folder), hours=0.2, rate_hz=25, seed=3)
    return str(folder / "night.csv")


def nights(out) -> pd.DataFrame:
    return pd.read_csv(out / "nights.csv", keep_default_na=False).set_index("id")


def test_a_night_that_kills_a_pool_worker_gets_its_row_in_the_progress_and_table(
    night, tmp_path, monkeypatch
):
    """--workers 2: the pool's crashed night (done again alone) had a row without its
    seconds, and the progress line ended the batch in a KeyError traceback."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a", "bad", "c"):
        shutil.copy(night, folder / f"{name}.csv")
    analyze = runners.run_task

    def analysis(task):
        if task.night_id == "bad":
            os.kill(os.getpid(), signal.SIGKILL)
        return analyze(task)

    monkeypatch.setattr(runners, "run_task", analysis)
    out = tmp_path / "out"
    assert main(["batch", str(folder), "--out", str(out), "--workers", "2", "--no-report"]) == 1
    table = nights(out)
    assert table["status"].to_dict() == {"a": "ok", "bad": "error", "c": "ok"}
    assert "ended its process" in table.loc["bad", "error"]


def test_background_steps_run_in_a_process_forked_after_an_analysis(monkeypatch):
    """A process forked from one that has analyzed a night (a test, a library caller, before
    a batch's process for its nights) kept a worker whose thread stayed behind: its steps
    waited forever."""
    import multiprocessing

    from sleepmove.detection import parallel

    monkeypatch.setattr(parallel, "_enabled", True)
    assert parallel.in_background(sum, [1, 2]).result() == 3  # the worker thread started
    child = multiprocessing.get_context("fork").Process(target=_a_background_step)
    child.start()
    child.join(timeout=20)
    if child.is_alive():
        child.kill()
    assert child.exitcode == 0


def _a_background_step() -> None:
    from sleepmove.detection import parallel

    assert parallel.in_background(sum, [1, 2]).result(timeout=10) == 3
