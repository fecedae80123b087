"""What `validate` reports and refuses: the rules named, mixed rules, undefined figures,
repeated inputs, missing folders, duplicated reference events."""

import json
import re
import shutil

import pandas as pd
import pytest

from sleepmove.cli import main
from sleepmove.sensor.simulate import simulate


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """A short simulated night analyzed under wasm2016 and under aasm2012, and its truth."""
    folder = tmp_path_factory.mktemp("vrep")
    simulate(str(folder / "sim"), hours=1.0, rate_hz=25, seed=1, scenario="plmd-moderate")
    night = str(folder / "sim" / "night.csv")
    wasm, aasm = folder / "wasm", folder / "aasm"
    analyze = ["analyze", night, "--no-report", "--out"]
    assert main([*analyze, str(wasm)]) == 0
    assert main([*analyze, str(aasm), "--criteria", "aasm2012"]) == 0
    return wasm, aasm, folder / "sim" / "truth.json"


def validate(results, references, out) -> int:
    argv = ["validate", *map(str, results), "--reference", *map(str, references)]
    return main([*argv, "--out", str(out)])


def test_a_missing_result_folder_is_said_not_to_exist(nights, tmp_path, capsys):
    _, _, truth = nights
    missing = tmp_path / "nonexistent"
    assert validate([missing], [truth], tmp_path / "v") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"sleepmove: error: {missing}: does not exist; expected a folder written by "
        "sleepmove analyze"
    ]
    assert not (tmp_path / "v").exists()
    assert validate([truth], [truth], tmp_path / "v") == 2
    assert f"{truth}: not a folder" in capsys.readouterr().err


def test_a_result_folder_given_twice_is_refused_before_anything_is_written(
    nights, tmp_path, capsys
):
    wasm, _, truth = nights
    link = tmp_path / "same"
    link.symlink_to(wasm)
    for second in (wasm, link):  # the same path, or another way to the same folder
        out = tmp_path / f"v-{second.name}"
        assert validate([wasm, second], [truth, truth], out) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "the same result folder given twice" in err[0]
        assert err[0].startswith(f"sleepmove: error: {second}: ")
        assert not out.exists()


def test_icc_is_null_where_the_nights_do_not_vary(nights, tmp_path):
    """Two copies of one night: every index alike, so ICC(2,1) is undefined (it read 0.00)."""
    wasm, _, truth = nights
    copy = tmp_path / "copy"
    shutil.copytree(wasm, copy)
    out = tmp_path / "v"
    assert validate([wasm, copy], [truth, truth], out) == 0
    stats = json.loads((out / "validation.json").read_text())["pooled"]["plm_index"]
    assert stats["nights"] == 2 and stats["icc_2_1"] is None and stats["pearson_r"] is None
    assert "0.00" not in _card(out, "PLM index ICC(2,1)")
    assert "n/a" in _card(out, "PLM index ICC(2,1)")


def _card(out, title: str) -> str:
    """The text of the report's card of that title."""
    html = (out / "report.html").read_text()
    start = html.index(f'<div class="t">{title}</div>')
    return re.sub(r"<[^>]+>", " ", html[start : html.index("</div></div>", start)])


def _lm_reference(result, path, repeat: int = 1, side: str = "left"):
    """A CSV reference of the night's own detected LMs, each row `repeat` times."""
    events = pd.read_csv(result / "events.csv", keep_default_na=False)
    lms = events[events["kind"] == "lm"]
    reference = pd.DataFrame(
        {"onset": lms["onset"], "duration": lms["duration_s"], "type": "Limb movement"}
    )
    reference["side"] = side
    pd.concat([reference] * repeat).sort_values("onset").to_csv(path, index=False)
    return len(lms)


def test_a_reference_listing_each_event_twice_is_warned_of_and_counted_once(
    nights, tmp_path, capsys
):
    wasm, _, _ = nights
    path = tmp_path / "twice.csv"
    n = _lm_reference(wasm, path, repeat=2)
    out = tmp_path / "v"
    assert validate([wasm], [path], out) == 0
    err = capsys.readouterr().err
    said = f"{path}: {n} event(s) repeat another exactly (same onset, kind and side)"
    assert f"sleepmove: warning: {said}: each counted once" in err.splitlines()
    row = pd.read_csv(out / "validation.csv").iloc[0]
    assert row["lm_reference"] == n and row["lm_f1"] == 1.0  # was 2n and 2/3


def test_events_at_one_onset_on_two_legs_are_not_repeats(nights, tmp_path, capsys):
    wasm, _, _ = nights
    left, right, both = tmp_path / "l.csv", tmp_path / "r.csv", tmp_path / "both.csv"
    _lm_reference(wasm, left, side="left")
    _lm_reference(wasm, right, side="right")
    pd.concat([pd.read_csv(left), pd.read_csv(right)]).to_csv(both, index=False)
    assert validate([wasm], [both], tmp_path / "v") == 0
    assert "repeat another" not in capsys.readouterr().err
