"""`record` stopped by Ctrl-C at its awkward moments: once anything is recorded, every
interrupt says what is on disk and how to analyze it (exit status 130); a recording stopped
before its first sample leaves nothing of its own behind, so the folder takes the next try."""

import asyncio
import json
import os
import signal
import sys

import pytest

pytest.importorskip("bumble")

import sleepmove.record  # noqa: E402
from sleepmove.cli import main  # noqa: E402
from sleepmove.sensor.readers import read_recording  # noqa: E402
from tests.test_record_safety import record_argv  # noqa: E402


@pytest.fixture(autouse=True)
def sigint_as_it_was():
    """An interrupted record leaves Ctrl-C ignored on its way out; the tests' process is
    given its own handler back."""
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    yield
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def said(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("sleepmove:")]


class InterruptedImport:
    """A Ctrl-C that lands while `sleepmove.pipeline` is imported (the heavy import between
    the night and its analysis)."""

    def find_spec(self, name, path=None, target=None):
        if name == "sleepmove.pipeline":
            raise KeyboardInterrupt
        return None


def interrupt_the_analysis_import(monkeypatch):
    monkeypatch.delitem(sys.modules, "sleepmove.pipeline", raising=False)
    monkeypatch.setattr(sys, "meta_path", [InterruptedImport(), *sys.meta_path])


def interrupt_the_loop_teardown(monkeypatch):
    """A Ctrl-C in asyncio.run's teardown, after the night's coroutine returned: asyncio
    has put back Python's own handler by then, so it raises out of asyncio.run."""
    real_run = asyncio.run

    def run(coroutine, **kwargs):
        real_run(coroutine, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(sleepmove.record.asyncio, "run", run)


@pytest.mark.parametrize("interrupt", [interrupt_the_loop_teardown, interrupt_the_analysis_import])
def test_ctrl_c_after_the_night_says_what_is_kept_and_how_to_analyze_it(
    tmp_path, monkeypatch, capsys, interrupt
):
    """Ctrl-C pressed again as the night ended said 'interrupted; nothing was written' of a
    folder holding the whole night (night.csv, recording.json, truth.json), and no command
    to analyze it."""
    out = tmp_path / "night"
    interrupt(monkeypatch)
    assert main(record_argv(out, "6m", "100")) == 130
    err = capsys.readouterr().err
    [line] = said(err.replace("\r", "\n"))[-1:]
    samples = json.loads((out / "recording.json").read_text())["sensors"][0]["samples"]
    assert samples > 0 and "Traceback" not in err
    assert "nothing was written" not in err
    assert line == (
        f"sleepmove: interrupted; recorded {samples} samples into {out}/, not analyzed: "
        f"run 'sleepmove analyze {out / 'night.csv'} --out {out}'"
    )
    assert len(read_recording(str(out / "night.csv")).time_s) == samples
    assert (out / "truth.json").exists()
    assert not (out / "summary.json").exists()
    # Ctrl-C held down: one more in the interpreter's exit killed the process by the
    # signal (status -2), its 130 unreturned.
    assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN


class TerminatedImport:
    """A real SIGTERM (a service stopped, a shutdown) while `sleepmove.pipeline` is
    imported, after the night."""

    def find_spec(self, name, path=None, target=None):
        if name == "sleepmove.pipeline":
            os.kill(os.getpid(), signal.SIGTERM)
        return None


def test_sigterm_during_the_analysis_says_what_is_kept(tmp_path, monkeypatch, capsys):
    """SIGTERM during the analysis after the night ended the process silently (143), where
    Ctrl-C says the recording is kept and how to analyze it."""
    monkeypatch.delitem(sys.modules, "sleepmove.pipeline", raising=False)
    monkeypatch.setattr(sys, "meta_path", [TerminatedImport(), *sys.meta_path])
    out = tmp_path / "night"
    assert main(record_argv(out, "11m", "100")) == 143
    err = capsys.readouterr().err
    samples = json.loads((out / "recording.json").read_text())["sensors"][0]["samples"]
    assert "Traceback" not in err and samples > 0
    assert said(err.replace("\r", "\n"))[-1] == (
        f"sleepmove: terminated; recorded {samples} samples into {out}/, not analyzed: "
        f"run 'sleepmove analyze {out / 'night.csv'} --out {out}'"
    )


def test_ctrl_c_as_record_returns_still_names_the_night(tmp_path, monkeypatch, capsys):
    """A Ctrl-C landing after record's own last line, as main returns: cli's line said
    'nothing was written' of the folder holding the night."""
    real_command = sleepmove.record.run_record_command

    def command(args):
        real_command(args)
        raise KeyboardInterrupt

    monkeypatch.setattr(sleepmove.record, "run_record_command", command)
    out = tmp_path / "night"
    assert main(record_argv(out, "6m", "100")) == 130  # 6 minutes: too short to analyze
    samples = json.loads((out / "recording.json").read_text())["sensors"][0]["samples"]
    assert said(capsys.readouterr().err)[-1] == (
        f"sleepmove: interrupted; recorded {samples} samples into {out}/, not analyzed: "
        f"run 'sleepmove analyze {out / 'night.csv'} --out {out}'"
    )


def stopped_before_the_first_sample(monkeypatch):
    """Ctrl-C (a real SIGINT to this process) as the night starts, before any sample: the
    sensor's sample notifications never reach the recorder (a loaded CI host once linked
    and took 210 samples before the signal was handled)."""
    from sleepmove.sensor.ble.bumble_backend import BumbleClient
    from sleepmove.sensor.protocols.polar import DATA

    real_start_notify = BumbleClient.start_notify

    async def no_samples(self, characteristic, callback, **kwargs):
        if characteristic.uuid.lower() == DATA:  # the control point still answers
            return None
        return await real_start_notify(self, characteristic, callback, **kwargs)

    monkeypatch.setattr(BumbleClient, "start_notify", no_samples)
    real_record = sleepmove.record.record

    async def ctrl_c(_emulators):
        os.kill(os.getpid(), signal.SIGINT)

    def record(args, script=None, radio=None, **kwargs):
        return real_record(args, ctrl_c, radio, **kwargs)

    monkeypatch.setattr(sleepmove.record, "record", record)


@pytest.mark.parametrize("folder", ["new", "the user's"])
def test_a_night_stopped_before_its_first_sample_leaves_the_folder_usable(
    tmp_path, monkeypatch, capsys, folder
):
    """It left night.csv (its header only) and recording.json (0 samples): 'nothing was
    recorded', yet the next try into the folder was refused ('already holds a recording')."""
    out = tmp_path / "night"
    if folder == "the user's":
        out.mkdir()
        (out / "notes.txt").write_text("left ankle, new strap\n")
    stopped_before_the_first_sample(monkeypatch)
    assert main(record_argv(out, "30m", "60")) == 1
    err = capsys.readouterr().err
    assert said(err)[-1] == f"sleepmove: error: nothing was recorded into {out}/"
    if folder == "new":
        assert not out.exists()  # made for the night, and the night left nothing
    else:
        assert sorted(os.listdir(out)) == ["notes.txt"]  # the user's file, untouched
        assert (out / "notes.txt").read_text() == "left ankle, new strap\n"
    sleepmove.record.check_destination(str(out))  # the next try is not refused


def test_a_disk_too_full_for_the_second_leg_leaves_nothing_behind(tmp_path, monkeypatch, capsys):
    """Two legs, the right CSV not even creatable: 'nothing was recorded', yet left.csv (its
    header) and the 1 MB .recording-reserve stayed, and the next try was refused."""
    from sleepmove.record_session import CsvAppender
    from sleepmove.sensor.recording_files import DiskFull

    class NoRoomForTheRight(CsvAppender):
        def __init__(self, path):
            if path.endswith("right.csv"):
                raise DiskFull(f"{path}: cannot write (No space left on device)")
            super().__init__(path)

    monkeypatch.setattr("sleepmove.record_session.CsvAppender", NoRoomForTheRight)
    out = tmp_path / "night"
    out.mkdir()
    argv = record_argv(out, "30m", "60", "polar-verity,polar-verity")
    assert main(argv) == 1
    assert said(capsys.readouterr().err) == [
        f"sleepmove: error: {out / 'right.csv'}: cannot write (No space left on device); "
        "nothing was recorded"
    ]
    assert os.listdir(out) == []
    sleepmove.record.check_destination(str(out))


def test_a_reserve_left_by_kill_9_is_neither_refused_nor_taken_for_a_night(tmp_path):
    """kill -9 leaves `.recording-reserve` (1 MB held for the last recording.json): a folder
    holding only it takes a new recording, and batch does not take it for a night."""
    from sleepmove.batch import discover
    from sleepmove.sensor.recording_files import SpaceReserve

    folder = tmp_path / "killed"
    folder.mkdir()
    SpaceReserve(str(folder))  # never released: the process was killed
    assert (folder / ".recording-reserve").stat().st_size == SpaceReserve.SIZE
    sleepmove.record.check_destination(str(folder))
    (folder / "night.csv").write_text("time,x,y,z\n0,0,0,1\n0.02,0,0,1\n")
    assert discover([str(tmp_path)], str(tmp_path / "results")) == [str(folder / "night.csv")]
