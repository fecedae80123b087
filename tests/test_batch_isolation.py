"""batch --workers 1 runs its nights in one child process: a night that kills its process
(a crash in native code) costs that night alone, where it ended the whole batch, its table of
nights unwritten; Ctrl-C still stops the batch at once. And a file named as a device's
recording whose content is not one gets its error row, where a search passed it over."""

import gzip
import json
import os
import shutil
import signal
import time

import pandas as pd
import pytest

from sleepmove import runners
from sleepmove.batch import NightTask, discover
from sleepmove.cli import main
from sleepmove.sensor.simulate import simulate
from tests.test_refusals_named import _cwa

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)


@pytest.fixture(scope="module")
def night(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("night")
    simulate(str(folder), hours=0.2, rate_hz=25, seed=3)
    return str(folder / "night.csv")


def nights(out) -> pd.DataFrame:
    return pd.read_csv(out / "nights.csv", keep_default_na=False).set_index("id")


def test_a_night_that_kills_its_process_costs_that_night_alone_with_one_worker(
    night, tmp_path, monkeypatch
):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a", "bad", "c", "d"):
        shutil.copy(night, folder / f"{name}.csv")
    pids = tmp_path / "pids"
    analyze, batch_pid = runners.run_task, os.getpid()

    def analysis(task):  # in the nights' process (forked: it sees this patch)
        with open(pids, "a") as handle:
            handle.write(f"{task.night_id} {os.getpid()}\n")
        if task.night_id == "bad":
            # Not the batch's own process (that of this test): the kill would end it too.
            assert os.getpid() != batch_pid, "a night ran in the batch's own process"
            os.kill(os.getpid(), signal.SIGKILL)
        return analyze(task)

    monkeypatch.setattr(runners, "run_task", analysis)
    out = tmp_path / "out"
    argv = ["batch", str(folder), "--out", str(out), "--workers", "1", "--no-report"]
    assert main(argv) == 1  # a night failed; the batch went on to its end
    table = nights(out)
    assert table["status"].to_dict() == {"a": "ok", "bad": "error", "c": "ok", "d": "ok"}
    assert table.loc["bad", "error"].startswith(
        "the analysis of this night ended its process (killed by SIGKILL: "
    )
    assert table.loc["bad", "inputs"] == str(folder / "bad.csv")
    # One process for the nights up to the crash, a new one after it.
    ran = dict(line.split() for line in pids.read_text().splitlines())
    assert ran["a"] == ran["bad"] != ran["c"] == ran["d"]
    # The nights done are kept; the one that crashed is done again by a rerun.
    monkeypatch.setattr(runners, "run_task", analyze)
    assert main(argv) == 0
    assert json.loads((out / "batch.json").read_text())["counts"]["analyzed"] == 1
    assert nights(out)["status"].eq("ok").all()


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


def test_ctrl_c_ends_the_nights_process_at_once(tmp_path, monkeypatch):
    pid = tmp_path / "pid"

    def analysis(task):
        if task.night_id == "slow":
            pid.write_text(str(os.getpid()))
            time.sleep(60)
        return [{"id": task.night_id, "status": "ok", "error": ""}]

    def ctrl_c(*_):
        raise KeyboardInterrupt

    monkeypatch.setattr(runners, "run_task", analysis)
    names = ("a", "slow", "c")
    tasks = [NightTask(name, {"": f"{name}.csv"}, str(tmp_path / name), {}) for name in names]
    previous = signal.signal(signal.SIGALRM, ctrl_c)
    try:
        results = runners.run_in_child(tasks)
        assert next(results)[0]["id"] == "a"
        signal.setitimer(signal.ITIMER_REAL, 0.5)  # Ctrl-C while "slow" runs
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            next(results)
        assert time.monotonic() - started < 5
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    with pytest.raises(ProcessLookupError):  # ended and reaped, not left to sleep on
        os.kill(int(pid.read_text()), 0)


@pytest.mark.parametrize(
    ("name", "content", "said"),
    [
        ("night.cwa", PNG, "a PNG image; expected accelerometer samples"),
        ("x.gt3x", b"PK\x03\x04" + bytes(40), "a zip archive whose directory cannot be read"),
        ("z.PARQUET", b"time,x\n", "no y acceleration column"),  # a CSV saved under the wrong name
        (
            "g.bin",
            b"Device Identity\r\n",
            "a GENEActiv .bin file that cannot be decoded",
        ),  # cut short
        ("k.cwa.gz", gzip.compress(_cwa()), "compressed with gzip; expected the file itself"),
    ],
    ids=["png-as-cwa", "damaged-gt3x", "csv-as-parquet", "cut-short-geneactiv-bin", "gzipped-cwa"],
)
def test_a_file_named_as_a_recording_that_is_not_one_gets_its_error_row(
    night, tmp_path, capsys, name, content, said
):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(night, folder / "good.csv")
    (folder / name).write_bytes(content)
    assert main(["analyze", str(folder / name), "--out", str(tmp_path / "a")]) == 2
    line = capsys.readouterr().err.strip().removeprefix("sleepmove: error: ")
    assert line.startswith(f"{folder / name}: ") and said in line
    out = tmp_path / "out"
    assert main(["batch", str(folder), "--out", str(out), "--workers", "1", "--no-report"]) == 1
    table = nights(out)
    # its suffix dropped; a gzipped one keeps its inner suffix (k.cwa.gz is night k.cwa)
    night_id = name.removesuffix(".gz") if name.endswith(".gz") else name.rsplit(".", 1)[0]
    assert table["status"].to_dict() == {"good": "ok", night_id: "error"}
    assert table.loc[night_id, "error"] == line  # as analyze says it


def test_a_device_file_link_to_nothing_in_a_folder_gets_its_error_row(night, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(night, folder / "good.csv")
    (folder / "n2.cwa").symlink_to(tmp_path / "unmounted" / "n2.cwa")
    out = tmp_path / "out"
    assert main(["batch", str(folder), "--out", str(out), "--workers", "1", "--no-report"]) == 1
    error = nights(out).loc["n2", "error"]
    assert error.startswith(f"{folder / 'n2.cwa'}: a symbolic link to a missing file")


def test_files_that_are_no_recording_by_name_or_content_stay_passed_over(night, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(night, folder / "good.csv")
    (folder / "README.txt").write_text("nights of March\n")
    (folder / "figure.png").write_bytes(PNG)
    (folder / "notes.json").write_text("{}\n")
    (folder / "firmware.bin").write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(64))  # binary
    (folder / "photo.bin").write_bytes(PNG)  # a .bin that is something else known
    (folder / "events.csv").write_text("night,onset_s\n")  # our own result file
    (folder / "old.bin").symlink_to(tmp_path / "gone.bin")  # a .bin link to nothing
    assert discover([str(folder)], str(tmp_path / "out")) == [str(folder / "good.csv")]


def test_a_gzipped_copy_beside_its_device_file_is_a_night_of_its_own(night, tmp_path):
    """k.cwa.gz beside k.cwa gave the same night id and stopped the whole batch."""
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(night, folder / "good.csv")
    (folder / "k.cwa").write_bytes(_cwa())
    (folder / "k.cwa.gz").write_bytes(gzip.compress(_cwa()))
    out = tmp_path / "out"
    main(["batch", str(folder), "--out", str(out), "--workers", "1", "--no-report"])
    table = nights(out)
    assert sorted(table.index) == ["good", "k", "k.cwa"]
    assert "gunzip it first" in table.loc["k.cwa", "error"]


def test_a_killed_simulations_staging_folder_is_never_a_night(night, tmp_path):
    """simulate killed by kill -9 leaves its hidden staging folder with a cut-off CSV: a
    later batch over the parent took it for a night."""
    folder = tmp_path / "in"
    (folder / "d" / ".partial-simulate-abc").mkdir(parents=True)
    shutil.copy(night, folder / "d" / ".partial-simulate-abc" / "night.csv")
    shutil.copy(night, folder / "good.csv")
    assert discover([str(folder)], str(tmp_path / "out")) == [str(folder / "good.csv")]


def test_a_child_that_dies_between_nights_blames_no_night(tmp_path, monkeypatch):
    """Killed idle after a night (the memory killer, say), the child took the next night's
    blame: "ended its process ... the file is likely damaged" for a night never begun."""
    import threading

    pid = tmp_path / "pid"

    def analysis(task):  # in the nights' process (forked: it sees this patch)
        if task.night_id == "n1":  # done; the process dies a moment later, between nights
            pid.write_text(str(os.getpid()))
            threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGKILL)).start()
        return [{"id": task.night_id, "status": "ok", "error": "", "seconds": 0}]

    def dead(number: int) -> bool:  # ended (a zombie until joined) or gone
        try:
            return open(f"/proc/{number}/stat").read().split(")")[-1].split()[0] in "ZX"
        except FileNotFoundError:
            return True

    monkeypatch.setattr(runners, "run_task", analysis)
    tasks = [NightTask(n, {"": f"{n}.csv"}, str(tmp_path / n), {}) for n in ("n1", "n2", "n3")]
    statuses = []
    for rows in runners.run_local(tasks, 1):  # a loop over the nights' rows
        statuses.append((rows[0]["id"], rows[0]["status"]))
        if rows[0]["id"] == "n1":  # the batch writes its progress meanwhile: dies idle
            waited = time.monotonic()
            while not dead(int(pid.read_text())) and time.monotonic() - waited < 30:
                time.sleep(0.01)
    assert statuses == [("n1", "ok"), ("n2", "ok"), ("n3", "ok")]
