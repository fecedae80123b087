"""`record` stopped by Ctrl-C at its awkward moments: once anything is recorded, every
interrupt says what is on disk and how to analyze it (exit status 130)."""

import asyncio
import json
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
    previous = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, previous)


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
