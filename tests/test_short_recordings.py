"""Short recordings (issue 20): refused by default with the way forward, analyzed on request
with a warning of how little the figures rest on; every real sample file analyzes or is
refused naming what it is."""

from __future__ import annotations

import json

import pytest

from sleepmove.cli import main
from tests.conftest import write


def short_night(tmp_path, minutes: float, rate: float = 50.0) -> str:
    n = int(minutes * 60 * rate)
    # A little noise: a flat line would be a stuck sensor, a data gap.
    lines = ["time,x,y,z"] + [
        f"{1_700_000_000 + i / rate:.3f},{0.01 + (i * 7919 % 13) / 2000:.4f},0.02,0.99"
        for i in range(n)
    ]
    return write(tmp_path / "short.csv", "\n".join(lines) + "\n")


def test_a_short_recording_is_refused_with_the_way_forward(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["analyze", short_night(tmp_path, 3), "--out", str(out)]) == 2
    error = capsys.readouterr().err.strip()
    assert "CSV text that lasts only 3.0 min" in error and "--min-duration MINUTES" in error
    assert "\n" not in error and not out.exists()


@pytest.mark.parametrize("rate, shown", [(50.0, "179.98 s"), (256.0, "179.99 s")])
def test_a_recording_just_short_of_the_minimum_is_not_said_to_last_it(
    tmp_path, capsys, rate, shown
):
    """3 minutes of samples span 2 min 59.98 s: 'lasts only 3.0 min; expected at least
    3 min' contradicted itself (at 256 Hz, '180.00 s' did, rounded up)."""
    argv = ["analyze", short_night(tmp_path, 3, rate), "--out", str(tmp_path / "o")]
    assert main([*argv, "--min-duration", "3"]) == 2
    error = capsys.readouterr().err.strip()
    assert f"lasts only {shown}; expected at least 3 min of data" in error


def test_min_duration_analyzes_a_short_recording_and_says_how_little_it_rests_on(tmp_path, capsys):
    out = tmp_path / "out"
    path = short_night(tmp_path, 3)
    assert main(["analyze", path, "--out", str(out), "--no-report", "--min-duration", "2"]) == 0
    line = capsys.readouterr().out
    quality = json.loads((out / "summary.json").read_text())["quality"]
    warning = "only 3.0 minutes recorded (under the usual 10): the indices rest on very little"
    assert quality["short_recording"] == warning and warning in quality["warnings"]
    assert warning in line
    # Above the minimum given, still refused, naming the option.
    assert main(["analyze", path, "--out", str(tmp_path / "o2"), "--min-duration", "5"]) == 2
    assert "at least 5 min of data (--min-duration)" in capsys.readouterr().err


def test_under_a_minute_no_option_helps(tmp_path, capsys):
    path = short_night(tmp_path, 0.5)
    assert main(["analyze", path, "--out", str(tmp_path / "o"), "--min-duration", "0"]) == 2
    assert "no option analyzes less" in capsys.readouterr().err
    assert main(["analyze", path, "--out", str(tmp_path / "o"), "--min-duration", "-1"]) == 2
    assert "--min-duration: -1; expected minutes from 1 to 1440" in capsys.readouterr().err


def test_batch_passes_min_duration_on(tmp_path):
    from argparse import Namespace

    from sleepmove.batch_command import options_of

    args = Namespace(
        criteria="wasm2016", units="auto", placement="ankle", age_group="adult",
        sleep_window=None, no_report=True, timezone=None, min_duration=2.5,
        clock_alignment=True, no_clock_alignment=False,
    )  # fmt: skip
    assert options_of(args)["min_duration_s"] == 150.0
    args.min_duration = None
    assert "min_duration_s" not in options_of(args)  # finished batches keep their keys


# --- every real file: analyzed (short ones with --min-duration) or refused by what it is --

# file -> (extra options, None if it analyzes, else what the refusal must name)
REAL_OUTCOMES = {
    "ggir_testfiles/ActiGraph13_timestamps_headers.csv": ([], "an ActiLife epoch-count export"),
    "ggir_testfiles/actigraph_testfile.gt3x": ([], None),
    "ggir_testfiles/ax3_testfile_unix_timestamps.csv": ([], "CSV text that lasts only 2.1 s"),
    # Its accelerations are about 0.07 g at rest: no units can be told, so they are given.
    "ggir_testfiles/ax6_testfile_formatted_timestamps.csv": (
        ["--units", "g"],
        "CSV text that lasts only 2.1 s",
    ),
    "readgt3x_actigraph/TAS1H30182785_2019-09-17.csv.gz": ([], None),
    "readgt3x_actigraph/TAS1H30182785_2019-09-17.gt3x": ([], None),
    "skdh_samples/ax3_sample.cwa": ([], None),
    "skdh_samples/ax6_sample.cwa": ([], None),
    "skdh_samples/example_data_2min.csv": ([], None),
    "skdh_samples/gnactv_sample.bin": ([], "a GENEActiv .bin file that lasts only 18.5 s"),
    "wristpy_samples/example_actigraph.gt3x": ([], None),
    "wristpy_samples/example_geneactiv.bin": ([], None),
}


def test_every_real_file_analyzes_or_is_refused_naming_its_format(real_data, tmp_path, capsys):
    found = sorted(str(p.relative_to(real_data)) for p in real_data.rglob("*") if p.is_file())
    assert [name for name in found if name != "README.md"] == sorted(REAL_OUTCOMES)
    for name, (options, refusal) in REAL_OUTCOMES.items():  # a loop over files
        out = tmp_path / name.replace("/", "_")
        command = ["analyze", str(real_data / name), "--out", str(out), "--no-report"]
        status = main([*command, "--min-duration", "1", *options])
        printed = capsys.readouterr()
        if refusal is None:
            assert status == 0, (name, printed.err)
            summary = json.loads((out / "summary.json").read_text())
            if summary["recording"]["duration_h"] < 1 / 6:
                assert "the indices rest on very little" in printed.out, name
        else:
            assert status == 2 and refusal in printed.err, (name, printed.err)
            assert printed.err.count("\n") == 1 and not out.exists()


@pytest.mark.parametrize("name", ["skdh_samples/ax6_sample.cwa"])
def test_a_short_real_file_is_refused_by_default_naming_its_format(
    real_data, tmp_path, capsys, name
):
    assert main(["analyze", str(real_data / name), "--out", str(tmp_path / "o")]) == 2
    error = capsys.readouterr().err
    assert "an Axivity .cwa file that lasts only 1.8 min" in error and "--min-duration" in error
