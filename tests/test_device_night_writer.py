"""A recording written as a device file (benchmarks/device_night_writer.py) reads back as the
same samples, within the format's quantization, and analyzes to the same events as its CSV
(issue 20: the speed of a sleep night per format). Skipped where ../shared/data/real is
absent (the headers come from the real files)."""

from __future__ import annotations

import csv
import os

import numpy as np
import pytest

from sleepmove.cli import main
from sleepmove.sensor.formats import read_recording
from sleepmove.sensor.readers import read_recording as read_csv
from sleepmove.sensor.simulate import simulate

RATE = 100.0


@pytest.fixture(scope="module")
def night(tmp_path_factory) -> dict:
    """A 5-minute simulated night (two LMs and a jerk) as CSV and in each device format."""
    from benchmarks.device_night_writer import (
        CWA_SOURCES,
        from_recording,
        write_cwa,
        write_geneactiv,
        write_gt3x,
    )
    from tests.conftest import REAL

    if not REAL.is_dir():
        pytest.skip(f"real recordings not present at {REAL}")
    folder = tmp_path_factory.mktemp("device-night")
    simulate(str(folder), 5 / 60, RATE, None, seed=11, scenario="plmd-moderate")
    recording = read_csv(str(folder / "night.csv"))
    start, rate, xyz = from_recording(recording)
    assert rate == RATE and np.abs(xyz).max() < 2  # AX3 packed: 1/256 g up to 2 g
    paths = {"csv": str(folder / "night.csv")}
    written = {}
    for name, writer, source in [
        ("ax6.cwa", write_cwa, REAL / CWA_SOURCES["ax6"]),
        ("ax3.cwa", write_cwa, REAL / CWA_SOURCES["ax3"]),
        ("gt3x", write_gt3x, None),
        ("bin", write_geneactiv, None),
    ]:
        paths[name] = str(folder / f"night.{name}")
        written[name] = writer(paths[name], start, rate, xyz, source and str(source))
    return {"paths": paths, "written": written, "start": start, "xyz": xyz}


def _gain(real) -> float:
    """The smallest of the real GENEActiv header's gains (raw x 100 per g)."""
    from benchmarks.device_files import SOURCES, _field

    header = (real / SOURCES["bin"]).read_bytes().split(b"Recorded Data")[0].decode("latin-1")
    return min(float(_field(header, f"{axis} gain")) for axis in "xyz")


def _bound(name: str) -> float:
    """Half a step of the format's quantization, in g."""
    from tests.conftest import REAL

    return {
        "ax6.cwa": 0.5 / 2048,  # int16 at the real AX6 block's scale, 1/2048 g
        "ax3.cwa": 0.5 / 256,  # 10 bits at 1/256 g (exponent 0 below 2 g)
        "gt3x": 0.5 / 256,  # int16 in counts of info.txt's Acceleration Scale, 256 per g
        "bin": 0.5 * 100 / _gain(REAL),  # 12 bits of (g x gain + offset) / 100
    }[name]


@pytest.mark.parametrize("name", ["ax6.cwa", "ax3.cwa", "gt3x", "bin"])
def test_written_night_reads_back_as_its_samples(night, name):
    rec = read_recording(night["paths"][name])
    n = len(night["xyz"])
    # A GENEActiv writes whole pages of 300 samples; the others every sample.
    expected = n - n % 300 if name == "bin" else n
    assert night["written"][name] == expected == len(rec.time_s)
    assert rec.nominal_rate_hz == RATE and not rec.warnings
    # A .gt3x record carries whole seconds: its night starts on the nearest one. A .cwa
    # block's time is kept to 1/32768 s, a GENEActiv page's to the millisecond.
    start = round(night["start"]) if name == "gt3x" else night["start"]
    assert rec.time_s[0] == pytest.approx(start, abs=1e-3)
    grid = rec.time_s[0] + np.arange(expected) / RATE
    assert np.abs(rec.time_s - grid).max() < 1e-4
    error = np.abs(rec.xyz_g - night["xyz"][:expected]).max()
    assert error <= _bound(name) + 1e-6  # float32


def _events(folder) -> list[tuple[str, float]]:
    with open(os.path.join(folder, "events.csv"), newline="") as handle:
        return [(row["kind"], float(row["onset_s"])) for row in csv.DictReader(handle)]


@pytest.mark.parametrize("name", ["ax6.cwa", "ax3.cwa", "gt3x", "bin"])
def test_written_night_analyzes_to_the_csvs_events(night, name, tmp_path):
    found = {}
    for which in ("csv", name):  # a loop over the two files
        out = str(tmp_path / which)
        args = ["analyze", night["paths"][which], "--out", out, "--no-report"]
        assert main([*args, "--min-duration", "1"]) == 0
        found[which] = _events(out)
    lms = [event for event in found["csv"] if event[0] == "lm"]
    assert len(lms) >= 2
    assert [kind for kind, _ in found[name]] == [kind for kind, _ in found["csv"]]
    onsets = np.array([onset for _, onset in found[name]])
    assert np.abs(onsets - [onset for _, onset in found["csv"]]).max() <= 0.1
