"""`sleepmove simulate`: a night is written whole or not at all, and two-leg scenarios write
both legs whichever family draws them."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import sleepmove.sensor.simulate as hinge
import sleepmove.sensor.simulate_kinematic as kinematic
import sleepmove.sensor.simulate_limb as limb
import sleepmove.sensor.simulate_stages as stages
import sleepmove.sensor.simulate_sway as sway
from sleepmove.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NIGHT = ["--hours", "0.2", "--rate", "25"]


def full_disk() -> OSError:
    """What a write to a full disk raises: no file named."""
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def fail_hinge_halfway(monkeypatch, failure: BaseException, leg: int) -> None:
    """hinge's CSV writer writes half of the `leg`th sensor's rows (from 0), then fails."""
    savetxt, calls = np.savetxt, []

    def half(handle, body, **options):
        calls.append(1)
        if len(calls) <= leg:
            return savetxt(handle, body, **options)
        savetxt(handle, body[: len(body) // 2], **options)
        handle.flush()  # the half reaches the file, as a real night's first megabytes do
        raise failure

    monkeypatch.setattr(hinge.np, "savetxt", half)


def fail_family_halfway(monkeypatch, module, failure: BaseException, leg: int) -> None:
    """stages', kinematic's, limb's or sway's CSV writer writes the `leg`th sensor's file
    (from 0) only in part, then fails (a full disk names the file it wrote, as
    sleepmove.base.atomic does)."""
    write_csv, calls = module.write_csv, []

    def half(path, *args):
        calls.append(1)
        if len(calls) <= leg:
            return write_csv(path, *args)
        with open(path, "w") as handle:
            handle.write("time,x,y,z\n1741991400.000,0.1,0.2,0.9\n")
        if isinstance(failure, OSError):
            raise OSError(failure.errno, failure.strerror, path)
        raise failure

    monkeypatch.setattr(module, "write_csv", half)


def nights(folder) -> list[str]:
    """What a reader of the folder sees (hidden staging names included)."""
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


FAMILIES = [
    ("hinge", ["--scenario", "bilateral"]),
    ("stages", ["--family", "stages", "--scenario", "two-legs", "--sides", "left,right"]),
    ("kinematic", ["--family", "kinematic", "--scenario", "two-legs", "--sides", "left,right"]),
    ("limb", ["--family", "limb", "--scenario", "two-legs", "--sides", "left,right"]),
    ("sway", ["--family", "sway", "--scenario", "two-legs", "--sides", "left,right"]),
]


def fail(monkeypatch, family: str, failure: BaseException, leg: int) -> None:
    if family == "hinge":
        fail_hinge_halfway(monkeypatch, failure, leg)
    else:
        fail_family_halfway(
            monkeypatch,
            {"stages": stages, "kinematic": kinematic, "limb": limb, "sway": sway}[family],
            failure,
            leg,
        )


@pytest.mark.parametrize("family, options", FAMILIES)
@pytest.mark.parametrize("leg", [0, 1])
def test_an_interrupt_leaves_no_night_and_the_folder_takes_a_rerun(
    tmp_path, monkeypatch, capsys, family, options, leg
):
    """Interrupted in the first leg's file or the second's (the first then complete): no CSV
    is left to pass for a recording, no truth.json, and the same command then works."""
    out = tmp_path / "night"
    fail(monkeypatch, family, KeyboardInterrupt(), leg)
    assert main(["simulate", "--out", str(out), *NIGHT, *options]) == 130
    assert capsys.readouterr().err.strip() == "sleepmove: interrupted; nothing was written"
    assert nights(out) == []  # the folder it made is gone too
    monkeypatch.undo()
    assert main(["simulate", "--out", str(out), *NIGHT, *options]) == 0
    assert nights(out) == ["left.csv", "right.csv", "truth.json"]


@pytest.mark.parametrize("family, options", FAMILIES)
def test_a_full_disk_names_the_file_and_leaves_nothing(
    tmp_path, monkeypatch, capsys, family, options
):
    out = tmp_path / "night"
    out.mkdir()  # a folder of the user's: it stays, empty
    fail(monkeypatch, family, full_disk(), 1)
    assert main(["simulate", "--out", str(out), *NIGHT, *options]) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"sleepmove: error: cannot write {out / 'right.csv'} (No space left on device)"
    assert nights(out) == []
    monkeypatch.undo()
    assert main(["simulate", "--out", str(out), *NIGHT, *options]) == 0


def test_a_failed_rerun_keeps_the_earlier_simulation(tmp_path, monkeypatch, capsys):
    """Written over only when the new night is complete: a full disk keeps the old one."""
    out = tmp_path / "night"
    assert main(["simulate", "--out", str(out), *NIGHT]) == 0
    before = {name: (out / name).read_bytes() for name in nights(out)}
    fail_hinge_halfway(monkeypatch, full_disk(), 0)
    assert main(["simulate", "--out", str(out), *NIGHT, "--seed", "3"]) == 1
    assert "cannot write" in capsys.readouterr().err
    assert {name: (out / name).read_bytes() for name in nights(out)} == before


def test_a_termination_removes_the_half_written_night(tmp_path):
    """SIGTERM mid-write (a service stopping, a batch killed politely) ends as an interrupt:
    one line, nothing left. Its default action killed the process with the file half made."""
    out = tmp_path / "night"
    script = textwrap.dedent(
        f"""
        import os, signal, numpy as np
        from sleepmove.cli import main
        savetxt = np.savetxt
        def half(handle, body, **options):
            savetxt(handle, body[: len(body) // 2], **options)
            handle.flush()
            os.kill(os.getpid(), signal.SIGTERM)
            savetxt(handle, body[len(body) // 2 :], **options)
        np.savetxt = half
        raise SystemExit(main(["simulate", "--out", {str(out)!r}, "--hours", "0.2"]))
        """
    )
    environment = dict(os.environ, PYTHONPATH=ROOT)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=environment
    )
    assert (done.returncode, done.stderr.strip()) == (
        130,
        "sleepmove: interrupted; nothing was written",
    )
    assert nights(out) == []


@pytest.mark.parametrize("family", ["stages", "kinematic"])
def test_two_legs_writes_both_legs_with_sided_truth(tmp_path, capsys, family):
    """The two-legs scenario without --sides is the benchmark's night: two sensors, every
    event on a named leg (it was one unnamed sensor, every side '')."""
    out = tmp_path / family
    argv = ["simulate", "--family", family, "--scenario", "two-legs", *NIGHT, "--seed", "2"]
    assert main([*argv, "--out", str(out)]) == 0
    truth = json.loads((out / "truth.json").read_text())
    assert truth["files"] == {"left": "left.csv", "right": "right.csv"}
    sides = {event["side"] for event in truth["events"]}
    assert sides <= {"left", "right", "bilateral"} and {"left", "right"} <= sides
    assert (out / "left.csv").stat().st_size > 0 and (out / "right.csv").stat().st_size > 0
    # --sides still chooses: one named leg when asked for one.
    one = tmp_path / f"{family}-left"
    assert main([*argv, "--sides", "left", "--out", str(one)]) == 0
    assert json.loads((one / "truth.json").read_text())["files"] == {"left": "left.csv"}


def test_the_list_says_which_scenarios_write_two_legs(capsys):
    assert main(["simulate", "--scenario", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    two = [line.split()[0] for line in lines if line.endswith("[two legs: left.csv, right.csv]")]
    assert two == ["alternating", "bilateral", "two-legs", "two-legs", "two-legs", "two-legs"]


def test_a_staging_folder_left_by_kill_9_goes_at_the_next_simulation(tmp_path):
    """kill -9 (or a power cut) mid-write leaves the hidden staging folder with its half
    night: nothing could remove it, and it stayed for good. The next simulation into the
    folder removes this computer's whose process is gone, and keeps a running one's and
    another computer's (a shared folder)."""
    from sleepmove.base.atomic import STAGING_PREFIX
    from sleepmove.sensor.simulate import _HOST

    out = tmp_path / "night"
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    ).stdout.strip()
    abandoned = out / f"{STAGING_PREFIX}{gone}-{_HOST}-abc"
    running = out / f"{STAGING_PREFIX}{os.getpid()}-{_HOST}-def"
    elsewhere = out / f"{STAGING_PREFIX}{gone}-0badcafe-ghi"  # another computer's, live there
    for folder in (abandoned, running, elsewhere):
        folder.mkdir(parents=True)
        (folder / "night.csv").write_text("time,x,y,z\n0,0,0,1\n")
    assert main(["simulate", "--out", str(out), *NIGHT]) == 0
    assert not abandoned.exists() and (running / "night.csv").exists()
    assert nights(out) == sorted([running.name, elsewhere.name, "night.csv", "truth.json"])


def test_a_hinge_two_leg_scenario_asked_for_one_leg_says_it_wrote_two(tmp_path, capsys):
    """--sides left on 'alternating' wrote left.csv and right.csv without a word."""
    argv = ["simulate", "--scenario", "alternating", *NIGHT, "--sides", "left"]
    assert main([*argv, "--out", str(tmp_path / "alt")]) == 0
    err = capsys.readouterr().err
    assert "warning: scenario 'alternating' is a night of two legs: wrote left and right" in err
    assert main([*argv[:-1], "right,left", "--out", str(tmp_path / "both")]) == 0
    assert "warning" not in capsys.readouterr().err
