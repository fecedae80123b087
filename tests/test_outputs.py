"""Where results go (issue 18: 8, 12, 13): a bad --out or a missing extra is one line before any
work; an output folder holds one run's results; a multi-day file is refused by analyze."""

import errno
import sys
import tempfile

import numpy as np
import pytest

import sleepmove.prefetch
from sleepmove.cli import main
from sleepmove.sensor.simulate import simulate


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    folder = tmp_path_factory.mktemp("night")
    simulate(str(folder), hours=0.3, rate_hz=25, seed=4)
    return str(folder / "night.csv")


@pytest.fixture
def no_reading(monkeypatch):
    """The read must not even start: a bad destination is found first."""

    def refuse(*args, **kwargs):
        raise AssertionError("the input was read before the destination was checked")

    monkeypatch.setattr(sleepmove.prefetch, "read_recording", refuse)


def one_line(capsys) -> str:
    error = capsys.readouterr().err.strip()
    assert error.startswith("sleepmove: error:") and "\n" not in error
    return error


def test_out_naming_a_file_is_refused_before_the_analysis(night, tmp_path, capsys, no_reading):
    out = tmp_path / "results.txt"
    out.write_text("mine\n")
    assert main(["analyze", night, "--out", str(out), "--no-report"]) == 2
    assert "is a file, not a folder" in one_line(capsys)
    assert out.read_text() == "mine\n"


def test_out_on_a_read_only_file_system_is_refused_before_the_analysis(
    night, tmp_path, capsys, no_reading, monkeypatch
):
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    out = tmp_path / "results"
    assert main(["analyze", night, "--out", str(out), "--no-report"]) == 2
    assert "Read-only file system" in one_line(capsys)
    assert not out.exists()


def hide(monkeypatch, *prefixes):
    """Make `import NAME` fail for these packages, as if the extra were not installed."""
    for name in [n for n in sys.modules if n.startswith(prefixes)]:
        monkeypatch.setitem(sys.modules, name, None)
    for name in prefixes:
        monkeypatch.setitem(sys.modules, name.rstrip("."), None)


def test_record_emulate_without_the_emulator_extra(tmp_path, capsys, monkeypatch):
    hide(monkeypatch, "bumble", "sleepmove.sensor.ble")
    out = tmp_path / "rec"
    code = main(["record", "--emulate", "polar-verity", "--duration", "1m", "--out", str(out)])
    assert code == 2
    assert "pip install 'sleepmove[emulator]'" in one_line(capsys)
    assert not out.exists()


def test_validate_with_an_edf_reference_without_the_edf_extra(tmp_path, capsys, monkeypatch):
    hide(monkeypatch, "edfio")
    (tmp_path / "ref.edf").write_bytes(b"0" * 256)
    out = tmp_path / "val"
    args = ["validate", str(tmp_path), "--reference", str(tmp_path / "ref.edf"), "--out", str(out)]
    assert main(args) == 2
    assert "pip install 'sleepmove[edf]'" in one_line(capsys)
    assert not out.exists()


def test_batch_scheduler_without_the_cluster_extra(night, tmp_path, capsys, monkeypatch):
    hide(monkeypatch, "distributed", "dask")
    out = tmp_path / "batch"
    assert main(["batch", night, "--scheduler", "tcp://nowhere:8786", "--out", str(out)]) == 2
    assert "pip install 'sleepmove[cluster]'" in one_line(capsys)
    assert not out.exists()


def test_a_rerun_without_the_report_leaves_no_older_report(night, tmp_path):
    out = tmp_path / "out"
    assert main(["analyze", night, "--out", str(out)]) == 0
    assert (out / "report.html").exists() and (out / "figures" / "timeline.png").exists()
    (out / "notes.txt").write_text("the user's\n")  # not ours: never removed
    assert main(["analyze", night, "--out", str(out), "--no-report"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "epochs.csv",
        "events.csv",
        "notes.txt",
        "settings.toml",
        "summary.json",
    ]


def test_a_failed_rerun_removes_nothing_and_foreign_figures_stay(night, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["analyze", night, "--out", str(out)]) == 0
    (out / "figures" / "mine.png").write_bytes(b"x")
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    assert main(["analyze", str(tmp_path / "missing.csv"), "--out", str(out)]) == 2
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before
    assert main(["analyze", night, "--out", str(out), "--no-report"]) == 0
    assert (out / "figures" / "mine.png").exists() and not (out / "report.html").exists()
    assert not (out / "figures" / "timeline.png").exists()


def test_analyze_refuses_a_recording_of_several_nights(tmp_path, capsys):
    """Two 11-minute stretches 31 h apart: not one night to score, whatever lies between."""
    rate, n = 10.0, 6600
    rng = np.random.default_rng(0)
    start = 1_741_975_200.0
    times = np.concatenate([start + np.arange(n) / rate, start + 31 * 3600 + np.arange(n) / rate])
    xyz = rng.normal(0, 0.003, (2 * n, 3)) + [0, 0, 1]
    path = tmp_path / "week.csv"
    rows = "\n".join(f"{t:.2f},{x:.4f},{y:.4f},{z:.4f}" for t, (x, y, z) in zip(times, xyz))
    path.write_text("time,x,y,z\n" + rows + "\n")
    out = tmp_path / "out"
    assert main(["analyze", str(path), "--out", str(out), "--no-report"]) == 2
    error = one_line(capsys)
    assert "several nights" in error and "sleepmove batch" in error and "week.csv" in error
    assert not out.exists()


def test_a_full_disk_leaves_no_folder_it_made(night, tmp_path, capsys, monkeypatch):
    """The disk fills at report.html: no file was written, and the folders made for them
    (the results' and figures/) go again; an empty figures/ was left behind."""
    import sleepmove.base.atomic as atomic

    real = atomic._staged

    def full_at_report(target: str, data: bytes) -> str:
        if target.endswith("report.html"):
            raise OSError(errno.ENOSPC, "No space left on device", target)
        return real(target, data)

    monkeypatch.setattr(atomic, "_staged", full_at_report)
    out = tmp_path / "new" / "out"
    assert main(["analyze", night, "--out", str(out)]) != 0
    assert "No space left on device" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()
