"""validate for recordings without a clock (times as seconds from the start, or clock times
without a date): references that count seconds from their own start are matched without
one; references that state clock times are refused in one line."""

import json
import shutil

import pandas as pd
import pytest

from sleepmove.cli import main
from sleepmove.sensor.simulate import simulate

CLOCK_REFUSED = (
    "the reference gives clock times but the recording {out} has none; "
    "expected onsets in seconds from the start, or a recording with clock times"
)


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """One simulated night analyzed three ways: its Unix times, its times rewritten as
    seconds from the first sample, and as clock times of day (no date). The last two have
    no clock in their summary. Also its truth and a reference CSV of seconds from the start."""
    root = tmp_path_factory.mktemp("relative")
    simulate(str(root), 0.5, 25.0, None, seed=1, scenario="plmd-moderate")
    samples = pd.read_csv(root / "night.csv")
    truth = json.loads((root / "truth.json").read_text())
    seconds = samples.assign(time=samples["time"] - samples["time"].iloc[0])
    of_day = pd.to_datetime(samples["time"], unit="s").dt.strftime("%H:%M:%S.%f").str[:-3]
    inputs = {
        "unix": root / "night.csv",
        "seconds": root / "seconds.csv",
        "of_day": root / "of_day.csv",
    }
    seconds.to_csv(inputs["seconds"], index=False, float_format="%.4f")
    samples.assign(time=of_day).to_csv(inputs["of_day"], index=False)
    outs = {}
    for name, path in inputs.items():
        outs[name] = root / f"out_{name}"
        assert main(["analyze", str(path), "--out", str(outs[name]), "--no-report"]) == 0
    for name in ("seconds", "of_day"):
        assert json.loads((outs[name] / "summary.json").read_text())["recording"]["start"] is None
    events = [e for e in truth["events"] if e["kind"] != "vibration"]
    reference = pd.DataFrame(
        {
            "onset": [e["onset_s"] for e in events],
            "duration": [e["duration_s"] for e in events],
            "type": [e["kind"] for e in events],
            "side": [e["side"] for e in events],
        }
    )
    references = {"truth.json": root / "truth.json", "seconds.csv": root / "ref_seconds.csv"}
    reference.to_csv(references["seconds.csv"], index=False)
    return root, outs, references, truth


def validated(out, reference, folder, *extra: str) -> pd.Series:
    argv = ["validate", str(out), "--reference", str(reference), "--out", str(folder)]
    assert main([*argv, *extra]) == 0
    return pd.read_csv(folder / "validation.csv").iloc[0]


@pytest.mark.parametrize("recording", ["seconds", "of_day"])
@pytest.mark.parametrize("kind", ["seconds.csv", "truth.json"])
def test_a_night_without_a_clock_validates_as_the_same_night_with_one(
    nights, tmp_path, recording, kind
):
    """Refused before: "the recording has no clock time; expected a clock to align on",
    though neither reference needs a clock. Counted from the recording's first sample, its
    events are matched as the Unix night's are."""
    _, outs, references, _ = nights
    clocked = validated(outs["unix"], references[kind], tmp_path / "unix")
    clockless = validated(outs[recording], references[kind], tmp_path / recording)
    assert clocked["lm_f1"] > 0.9  # a real match, not two zeros alike
    for figure in ("lm_reference", "lm_matched", "lm_f1", "plm_f1", "jerk_f1"):
        assert clockless[figure] == clocked[figure], figure
    assert clockless["plm_index_reference"] == pytest.approx(clocked["plm_index_reference"])


def test_offset_moves_a_seconds_reference_alike_with_and_without_a_clock(nights, tmp_path):
    """--offset is added to the reference's times either way: a reference whose clock
    started 30 s after the sensor's is put back by --offset 30."""
    root, outs, references, _ = nights
    reference = pd.read_csv(references["seconds.csv"])
    late = reference.assign(onset=reference["onset"] - 30.0)
    late = late[late["onset"] >= 0]
    path = root / "ref_late.csv"
    late.to_csv(path, index=False)
    off = validated(outs["seconds"], path, tmp_path / "off")
    clockless = validated(outs["seconds"], path, tmp_path / "clockless", "--offset", "30")
    clocked = validated(outs["unix"], path, tmp_path / "clocked", "--offset", "30")
    assert off["lm_f1"] < 0.2 and clockless["lm_f1"] > 0.9
    assert clockless["lm_f1"] == clocked["lm_f1"]
    assert clockless["lm_matched"] == clocked["lm_matched"]


def _iso(onsets: pd.Series, start: float) -> pd.Series:
    return pd.to_datetime(start + onsets, unit="s").dt.strftime("%Y-%m-%dT%H:%M:%S.%f")


def _of_day(onsets: pd.Series, start: float) -> pd.Series:
    return pd.to_datetime(start + onsets, unit="s").dt.strftime("%H:%M:%S.%f").str[:-3]


NSRR_WITH_CLOCK = """<PSGAnnotation><ScoredEvents>
<ScoredEvent><EventConcept>Recording Start Time</EventConcept><Start>0</Start>
<Duration>0</Duration><ClockTime>15.03.25 23.58.00</ClockTime></ScoredEvent>
<ScoredEvent><EventConcept>Limb Movement (Left)</EventConcept><Start>5.2</Start>
<Duration>0.8</Duration></ScoredEvent>
</ScoredEvents></PSGAnnotation>
"""


@pytest.mark.parametrize("recording", ["seconds", "of_day"])
@pytest.mark.parametrize("form", ["iso", "of_day", "xml"])
def test_clock_times_against_a_night_without_a_clock_are_refused(
    nights, tmp_path, capsys, recording, form
):
    """Nothing places clock times on a recording without one: one line, exit 2, nothing
    written (a guess would match another part of the night)."""
    root, outs, references, truth = nights
    if form == "xml":
        path = root / "clocked.xml"
        path.write_text(NSRR_WITH_CLOCK)
    else:
        reference = pd.read_csv(references["seconds.csv"])
        shown = _iso if form == "iso" else _of_day
        path = root / f"clocked_{form}.csv"
        reference.assign(onset=shown(reference["onset"], truth["start_unix"])).to_csv(
            path, index=False
        )
    folder = tmp_path / "v"
    argv = ["validate", str(outs[recording]), "--reference", str(path), "--out", str(folder)]
    assert main(argv) == 2
    error = capsys.readouterr().err.strip()
    assert error.endswith(f"{path}: " + CLOCK_REFUSED.format(out=outs[recording]))
    assert "\n" not in error and "Traceback" not in error
    assert not folder.exists()


@pytest.mark.parametrize(
    "rows, says",
    [
        ("12.3,,Limb Movement,left\n", "duration is empty (line 2)"),
        ("5,1,LM,left\n12.3,   ,Limb Movement,left\n", "duration is empty (line 3)"),
        ("12.3,abc,Limb Movement,left\n", "duration 'abc' is not a length of time (line 2)"),
        (",1,Limb Movement,left\n", "not a time: an empty cell (line 2)"),
        # What the file holds is named as it holds it, never called empty.
        ("12.3,nan,Limb Movement,left\n", "duration 'nan' is not a length of time (line 2)"),
        ("NA,1,Limb Movement,left\n", "not a time: 'NA' (line 2)"),
    ],
)
def test_an_empty_cell_is_called_empty(nights, tmp_path, capsys, rows, says):
    """An empty duration was "duration 'nan' is not a length of time": pandas' NaN shown as
    if the file held 'nan' (and an onset 'NA' was called an empty cell)."""
    _, outs, _, _ = nights
    path = tmp_path / "ref.csv"
    path.write_text("onset,duration,type,side\n" + rows)
    argv = ["validate", str(outs["unix"]), "--reference", str(path), "--out", str(tmp_path / "v")]
    assert main(argv) == 2
    error = capsys.readouterr().err.strip()
    assert f"{path}: {says}" in error
    assert ("nan" in rows) == ("nan" in error) and "\n" not in error
    assert not (tmp_path / "v").exists()


def test_an_empty_cell_of_a_result_table_is_called_empty(nights, tmp_path, capsys):
    """The same in a hand-edited epochs.csv: "start_s 'nan' is not a number" before."""
    _, outs, references, _ = nights
    damaged = tmp_path / "night"
    shutil.copytree(outs["unix"], damaged)
    epochs = (damaged / "epochs.csv").read_text().splitlines()
    epochs[4] = "," + epochs[4].split(",", 1)[1]  # line 5 loses its start_s
    (damaged / "epochs.csv").write_text("\n".join(epochs) + "\n")
    argv = ["validate", str(damaged), "--reference", str(references["seconds.csv"])]
    assert main([*argv, "--out", str(tmp_path / "v")]) == 2
    error = capsys.readouterr().err.strip()
    assert "epochs.csv: a damaged table: start_s is empty (line 5)" in error
    assert "\n" not in error and not (tmp_path / "v").exists()


def test_offset_moves_the_references_sleep_stages_with_its_events(nights, tmp_path):
    """The stages stayed where the reference's clock put them while its events moved: a
    reference 300 s late, put back by --offset 300, had PLMs in its sleep counted as wake
    (PLM index 94/h for 131/h)."""
    root, outs, references, _ = nights
    events = pd.read_csv(references["seconds.csv"])
    stages = pd.DataFrame(
        {"onset": [0.0, 600.0], "duration": [600.0, 1200.0], "type": ["Wake", "N2"], "side": ""}
    )
    staged = pd.concat([events, stages], ignore_index=True)
    late = staged.assign(onset=staged["onset"] - 300.0)
    late = late[late["onset"] >= 0]
    paths = {"on time": root / "staged.csv", "late": root / "staged_late.csv"}
    staged.to_csv(paths["on time"], index=False)
    late.to_csv(paths["late"], index=False)
    for recording in ("unix", "seconds"):
        on_time = validated(outs[recording], paths["on time"], tmp_path / f"{recording}_on")
        put_back = validated(
            outs[recording], paths["late"], tmp_path / f"{recording}_late", "--offset", "300"
        )
        assert on_time["reference_sleep"] == "reference"
        assert put_back["plm_index_reference"] == pytest.approx(on_time["plm_index_reference"])
        assert put_back["total_sleep_h_reference"] == pytest.approx(
            on_time["total_sleep_h_reference"]
        )
