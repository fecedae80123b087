"""Results never land on a recording, on the user's own files, or outside --out."""

import csv
import shutil

import pytest

from sleepmove.cli import main
from tests.test_cli_robustness import refused
from tests.test_stress_inputs import fingerprint, rows


@pytest.fixture(scope="module")
def recording_text() -> str:
    return "time,x,y,z\n" + rows(11)


@pytest.mark.parametrize("name", ["events.csv", "summary.json", "report.html"])
def test_a_recording_named_as_a_result_in_its_own_out_folder_is_refused(
    name, recording_text, tmp_path, capsys
):
    folder = tmp_path / "night"
    folder.mkdir()
    recording = folder / name
    recording.write_text(recording_text)
    refused(capsys, ["analyze", str(recording), "--out", str(folder)], "over the recording")
    assert recording.read_text() == recording_text
    assert sorted(p.name for p in folder.iterdir()) == [name]


def test_no_report_leaves_a_report_of_the_users_own_in_a_fresh_folder(recording_text, tmp_path):
    """A folder that never held results: its report.html and figures are the user's."""
    folder = tmp_path / "mine"
    (folder / "figures").mkdir(parents=True)
    (folder / "report.html").write_text("<p>my notes</p>")
    (folder / "figures" / "timeline.png").write_bytes(b"my figure")
    recording = tmp_path / "night.csv"
    recording.write_text(recording_text)
    assert main(["analyze", str(recording), "--out", str(folder), "--no-report"]) == 0
    assert (folder / "report.html").read_text() == "<p>my notes</p>"
    assert (folder / "figures" / "timeline.png").read_bytes() == b"my figure"
    # ...while a rerun over its own results still takes the older report away
    assert main(["analyze", str(recording), "--out", str(folder)]) == 0
    assert main(["analyze", str(recording), "--out", str(folder), "--no-report"]) == 0
    assert not (folder / "report.html").exists() and not (folder / "figures").exists()


@pytest.mark.parametrize("name", ["...csv", "..csv", ".hidden.csv"])
def test_batch_keeps_every_night_inside_out(name, recording_text, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / name).write_text(recording_text)
    out = tmp_path / "parent" / "out"
    out.parent.mkdir()
    (out.parent / "events.csv").write_text("someone else's")
    before = fingerprint(tmp_path / "parent")
    args = ["batch", str(inputs), "--out", str(out), "--no-report", "--workers", "1"]
    assert main(args) == 0
    with open(out / "nights.csv", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["status"] == "ok" and not row["id"].startswith(".")
    assert (out / row["id"] / "summary.json").exists()
    outside = {k: v for k, v in fingerprint(tmp_path / "parent").items() if not k.startswith("out")}
    assert outside == before
    shutil.rmtree(out)


def test_a_file_named_figures_in_out_is_refused_before_the_analysis(
    recording_text, tmp_path, capsys
):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "figures").write_text("a file of the user's")
    recording = tmp_path / "night.csv"
    recording.write_text(recording_text)
    refused(capsys, ["analyze", str(recording), "--out", str(folder)], "figures", "is a file")
    assert sorted(p.name for p in folder.iterdir()) == ["figures"]


def test_a_full_disk_names_the_file_it_could_not_write(
    recording_text, tmp_path, monkeypatch, capsys
):
    import errno

    from sleepmove.base import atomic

    recording = tmp_path / "night.csv"
    recording.write_text(recording_text)

    def full(handle, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "write", full)
    out = tmp_path / "out"
    assert main(["analyze", str(recording), "--out", str(out), "--no-report"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "No space left on device" in err
    assert f"cannot write {out}" in err  # the path of the file it was writing
    assert not any(out.rglob("*.csv")) and not any(out.rglob(".partial-*"))
