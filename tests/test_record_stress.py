"""`record` under a hobbyist's night: the terminal closed, the clock stepped, the folder
removed, a sensor restarted. Every sample the sensor delivered stays on disk, or the user is
told what was lost; nothing stops the recording that need not."""

import asyncio
import json

import pytest

pytest.importorskip("bumble")

from sleepmove.cli import build_parser  # noqa: E402
from sleepmove.record import record  # noqa: E402
from sleepmove.sensor.readers import read_recording  # noqa: E402


def args_for(out, duration="11m", device="polar-verity"):
    return build_parser().parse_args(
        [
            "record",
            "--emulate",
            device,
            "--out",
            str(out),
            "--speed",
            "100",
            "--duration",
            duration,
            "--no-report",
        ]
    )


def run(args, script=None):
    return asyncio.run(asyncio.wait_for(record(args, script), 120))


class GoneStream:
    """stderr whose reader left: a closed ssh terminal (EIO), a `| tee log` killed (EPIPE)."""

    def write(self, _text):
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        raise BrokenPipeError(32, "Broken pipe")

    def isatty(self):
        return False


def test_a_status_line_nobody_reads_any_more_never_stops_the_recording(tmp_path, monkeypatch):
    """The status line is written every second; when its reader is gone the write fails.
    That failure stopped the whole night (the rest of it was never recorded)."""
    monkeypatch.setattr("sys.stderr", GoneStream())
    result = run(args_for(tmp_path / "r"))
    stats = result["stats"][0]
    assert stats.state == "stopped"
    recording = read_recording(result["files"][""])
    assert len(recording.time_s) == stats.samples
    assert recording.duration_s > 500  # the 11-minute night, less the first connection
    info = json.loads((tmp_path / "r" / "recording.json").read_text())
    assert info["sensors"][0]["samples"] == stats.samples

