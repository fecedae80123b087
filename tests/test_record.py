"""Recording through the real bleak API from emulated sensors: the night goes on, nothing lost."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time

import pytest

pytest.importorskip("bumble")

from sensor.protocols import polar  # noqa: E402
from sensor.readers import read_recording  # noqa: E402
from sleepmove.cli import build_parser  # noqa: E402
from sleepmove.record import record  # noqa: E402


def args_for(out, *extra):
    return build_parser().parse_args(
        [
            "record",
            "--emulate",
            "polar",
            "--out",
            str(out),
            "--speed",
            "100",
            "--duration",
            "11m",
            "--no-report",
            *extra,
        ]
    )


def run(args, script=None):
    return asyncio.run(asyncio.wait_for(record(args, script), 120))


def test_an_emulated_night_is_recorded_and_analyzable(tmp_path):
    result = run(args_for(tmp_path / "r"))
    stats = result["stats"][0]
    assert stats.reconnections == 0 and stats.data_loss_s < 1.0
    assert stats.samples == pytest.approx(11 * 60 * 52, rel=0.02)
    recording = read_recording(result["files"][""])
    assert recording.duration_s == pytest.approx(660, abs=15)
    info = json.loads((tmp_path / "r" / "recording.json").read_text())
    assert info["sensors"][0]["protocol"] == "polar-pmd" and info["emulated"]


def test_link_drops_and_a_sensor_that_stops_itself_are_survived(tmp_path):
    emulators = []

    async def misbehave(devices):
        emulators.extend(devices)
        await asyncio.sleep(1.5)
        await devices[0].drop_link()
        await asyncio.sleep(1.5)
        await devices[0].stop_stream_itself()
        await asyncio.sleep(1.0)
        await devices[0].disappear(1.0)  # out of range for 100 s of the night

    result = run(args_for(tmp_path / "d"), misbehave)
    stats = result["stats"][0]
    assert stats.reconnections >= 3
    assert 60 < stats.data_loss_s < 240  # the 100 s away and the reconnections
    assert stats.gaps  # reported with their times
    commands = emulators[0].commands
    starts = [i for i, c in enumerate(commands) if c[0] == polar.OP_START]
    # before every start, a stop: a stream still running is never refused as "already running"
    assert len(starts) >= 3 and all(commands[i - 1] == polar.STOP_COMMAND for i in starts)
    recording = read_recording(result["files"][""])
    assert recording.duration_s > 600


def test_kill_9_keeps_everything_but_the_last_second(tmp_path):
    out = tmp_path / "k"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sleepmove.cli",
            "record",
            "--emulate",
            "polar",
            "--out",
            str(out),
            "--speed",
            "20",
            "--duration",
            "9h",
            "--no-report",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline and not (out / "night.csv").exists():
        time.sleep(0.2)
    time.sleep(4)
    reported = json.loads((out / "recording.json").read_text())["sensors"][0]["samples"]
    process.send_signal(signal.SIGKILL)
    process.wait()
    recording = read_recording(str(out / "night.csv"))
    # recording.json is rewritten every second; the CSV is synced every second too
    assert len(recording.time_s) >= reported - 2 * 20 * 52
    assert os.path.getsize(out / "night.csv") > 0
