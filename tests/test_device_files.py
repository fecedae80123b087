"""Long device files built by repeating real blocks (benchmarks/device_files.py), here 15
minutes of each: they analyze end to end; cut or damaged, every block that decodes is kept
and the rest reported (issue 20). Skipped where ../shared/data/real is absent."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.device_files import build, flipped, stored_member_offset
from sleepmove.cli import main
from sleepmove.sensor.formats import read_recording

MINUTES = 15


@pytest.fixture(scope="module")
def nights(tmp_path_factory) -> dict[str, str]:
    from tests.conftest import REAL

    if not REAL.is_dir():
        pytest.skip(f"real recordings not present at {REAL}")
    return build(str(tmp_path_factory.mktemp("device")), MINUTES, str(REAL), csv=False)


# (format, samples in 15 minutes, rate)
EXPECTED = [("cwa", 93240, 100.0), ("bin", 54600, 60.0), ("gt3x", 90000, 100.0)]


@pytest.mark.parametrize("fmt, samples, rate", EXPECTED)
def test_repeated_real_blocks_read_as_one_steady_recording(nights, fmt, samples, rate):
    rec = read_recording(nights[fmt])
    assert len(rec.time_s) == samples and rec.nominal_rate_hz == rate and not rec.warnings
    steps = np.diff(rec.time_s)
    # Block stamps follow on across each repetition: no step back, no gap.
    assert steps.min() > 0 and steps.max() < 3 / rate
    assert rec.duration_s == pytest.approx(MINUTES * 60, rel=0.06)


@pytest.mark.parametrize("fmt", ["cwa", "bin", "gt3x"])
def test_built_nights_analyze_end_to_end(nights, fmt, tmp_path):
    out = tmp_path / "out"
    assert main(["analyze", nights[fmt], "--out", str(out), "--no-report"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["recording"]["duration_h"] == pytest.approx(0.25, rel=0.06)
    assert summary["recording"]["data_loss_h"] < 0.01


def _damaged(nights, fmt: str, tmp_path) -> dict[str, str]:
    """The file cut in the middle of a block, and with one byte flipped in one block."""
    data = open(nights[fmt], "rb").read()
    if fmt == "cwa":
        cut, flip = 1024 + 512 * 100 + 200, 1024 + 512 * 50 + 100
    elif fmt == "bin":
        page = data.index(b"Recorded Data", len(data) // 2)
        cut, flip = page + 600, page + 400
    else:  # inside log.bin, stored in the zip: mid-record
        start = stored_member_offset(data, "log.bin")
        cut, flip = start + 609 * 300 + 100, start + 609 * 300 + 100
    paths = {"cut": tmp_path / f"cut.{fmt}", "flip": tmp_path / f"flip.{fmt}"}
    paths["cut"].write_bytes(data[:cut])
    paths["flip"].write_bytes(flipped(data, flip))
    return {kind: str(path) for kind, path in paths.items()}


# (format, samples kept when cut, warning; samples kept when flipped, warning)
DAMAGE = [
    ("cwa", 4000, "cut short: its last 200 bytes", 93200, "1 damaged data blocks"),
    ("bin", 27333, "cut short: 27333 samples read of the 54600", 54300, "1 damaged pages"),
    ("gt3x", 29700, "cut short (its zip directory is lost)", 89900, "1 damaged records"),
]


@pytest.mark.parametrize("fmt, cut_samples, cut_warning, flip_samples, flip_warning", DAMAGE)
def test_damaged_files_keep_every_block_that_decodes(
    nights, tmp_path, fmt, cut_samples, cut_warning, flip_samples, flip_warning
):
    whole = read_recording(nights[fmt])
    paths = _damaged(nights, fmt, tmp_path)
    cut = read_recording(paths["cut"])
    assert len(cut.time_s) == cut_samples and any(cut_warning in w for w in cut.warnings)
    np.testing.assert_array_equal(cut.xyz_g, whole.xyz_g[:cut_samples])
    flip = read_recording(paths["flip"])
    assert len(flip.time_s) == flip_samples and any(flip_warning in w for w in flip.warnings)
    # What is kept is exactly the whole file's samples less one block's.
    kept = np.isin(whole.time_s.round(4), flip.time_s.round(4))
    assert kept.sum() == flip_samples
    np.testing.assert_array_equal(flip.xyz_g, whole.xyz_g[kept])


def test_a_damaged_file_analyzes_with_its_warnings_in_the_summary(nights, tmp_path):
    path = _damaged(nights, "gt3x", tmp_path)["flip"]
    out = tmp_path / "out"
    assert main(["analyze", path, "--out", str(out), "--no-report"]) == 0
    warnings = json.loads((out / "summary.json").read_text())["quality"]["warnings"]
    assert any("1 damaged records of log.bin" in w for w in warnings)


def _events(folder) -> list[tuple[float, str]]:
    import csv

    with open(folder / "events.csv", newline="") as handle:
        return [(float(row["onset_s"]), row["kind"]) for row in csv.DictReader(handle)]


def test_gt3x_and_its_actilife_export_give_the_same_events(real_data, tmp_path):
    folder = real_data / "readgt3x_actigraph"
    device, export = tmp_path / "gt3x", tmp_path / "csv"
    for path, out in ((folder / "TAS1H30182785_2019-09-17.gt3x", device),
                      (folder / "TAS1H30182785_2019-09-17.csv.gz", export)):  # fmt: skip
        assert main(["analyze", str(path), "--out", str(out), "--no-report"]) == 0
    # The export's idle-sleep fill (one sample repeated) is read as the gaps the .gt3x has.
    warnings = json.loads((export / "summary.json").read_text())["quality"]["warnings"]
    assert any("idle-sleep fill" in w for w in warnings)
    found, exported = _events(device), _events(export)
    assert len(found) == len(exported) >= 5
    for (onset, kind), (onset_csv, kind_csv) in zip(found, exported):  # a loop over events
        assert kind == kind_csv and abs(onset - onset_csv) <= 0.1
