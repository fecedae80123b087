"""The rules' respiratory exclusion, from a sleep study's apneas, hypopneas and RERAs.

Eight LMs of 1 s on one leg, 20 s apart (onsets 100, 120, ..., 240): one PLM series of 8.
An apnea from 118 to 138 s ends 2 s before the third LM (140-141):
- WASM 2016 (-2.0 to +10.25 s around the event's end: 136-148.25): the third LM is no CLM
  and ends the series: 100, 120 (2 CLMs) and 160-240 (5 CLMs, one series of 5). PLMs 5.
  The second LM (120-121) lies inside the apnea, not in the window around its end: a CLM.
- AASM 2012 (0.5 s before the event to 0.5 s after: 117.5-138.5): the second LM (120-121)
  is not scored at all, so the series runs on across it: 100, 140, ..., 240 (7 CLMs, the
  interval 100 -> 140 of 40 s). PLMs 7.
"""

import json

import numpy as np
import pytest

from sleepmove.base.errors import InputError
from sleepmove.cli import main
from sleepmove.detection.params import AASM2012, WASM2016
from sleepmove.detection.respiratory import respiratory_windows
from sleepmove.detection.scoring import overlapping, score_units
from sleepmove.respiratory_events import respiratory_events
from tests.test_bilateral import events

LMS = events(*[(100.0 + 20 * k, 101.0 + 20 * k, "left", "lm") for k in range(8)])
APNEA = np.array([[118.0, 138.0]])


def scored(rules, respiratory=None):
    return score_units(LMS, rules, np.empty((0, 2)), False, 0.0, respiratory).to_pandas()


def test_windows_lie_around_the_end_for_wasm_and_around_the_event_for_aasm():
    assert respiratory_windows(APNEA, WASM2016).tolist() == [[136.0, 148.25]]
    assert respiratory_windows(APNEA, AASM2012).tolist() == [[117.5, 138.5]]


def test_an_lm_near_an_apneas_end_is_no_clm_and_ends_the_series_under_wasm():
    plain = scored(WASM2016)
    assert plain["periodic"].all() and not plain["respiratory"].any()
    units = scored(WASM2016, APNEA)
    assert units["respiratory"].tolist() == [False, False, True] + [False] * 5
    assert units["clm"].tolist() == [True, True, False] + [True] * 5
    assert units["periodic"].tolist() == [False, False, False] + [True] * 5
    assert np.isnan(units["imi_s"][3])  # measured from no CLM across the excluded one


def test_aasm_excludes_from_before_the_event_to_after_it_and_skips_the_lm():
    units = scored(AASM2012, APNEA)
    assert units["respiratory"].tolist() == [False, True] + [False] * 6
    assert units["periodic"].tolist() == [True, False] + [True] * 6
    assert units["imi_s"][2] == 40.0 and np.isnan(units["imi_s"][1])


def test_an_lm_only_touching_the_window_counts_and_overlapping_windows_join():
    # LM 100-101 against windows ending at 100.0 (before it) and starting at 101.0 (after it)
    spans = np.array([[90.0, 100.0], [101.0, 120.0]])
    assert overlapping(np.array([100.0, 100.5]), np.array([101.0, 100.6]), spans).tolist() == [
        False,
        False,
    ]
    assert overlapping(
        np.array([99.5, 119.0, 125.0]), np.array([100.5, 130.0, 126.0]), spans
    ).tolist() == [
        True,
        True,
        False,
    ]
    two = np.array([[130.0, 135.0], [131.0, 133.0]])  # the second within the first
    units = scored(WASM2016, two)  # windows 133-145.25 and 131-143.25: the LM at 140
    assert units["respiratory"].sum() == 1 and units["respiratory"][2]


@pytest.fixture(scope="module")
def analyzed_with_apneas(plm_night, tmp_path_factory):
    folder, _ = plm_night
    plain = tmp_path_factory.mktemp("r") / "plain"
    assert main(["analyze", str(folder / "night.csv"), "--out", str(plain), "--no-report"]) == 0
    rows = [line.split(",") for line in (plain / "events.csv").read_text().splitlines()[1:]]
    clms = [(float(row[0]), float(row[0]) + float(row[2])) for row in rows if row[5] == "true"]
    periodic = [float(row[0]) for row in rows if row[6] == "true"]
    # An apnea of 20 s ending 1 s before every eighth PLM (seconds from the start)
    ends = [onset - 1 for onset in periodic[::8]]
    apneas = folder / "apneas.csv"
    lines = [f"{end - 20:.2f},20,Obstructive Apnea" for end in ends]
    apneas.write_text("onset,duration,type\n" + "\n".join(lines) + "\n1,5,SpO2 desaturation\n")
    # By hand: the CLMs overlapping -2 s to +10.25 s around an apnea's end
    near = sum(any(a < end + 10.25 and b > end - 2 for end in ends) for a, b in clms)
    out = tmp_path_factory.mktemp("r") / "with"
    argv = ["analyze", str(folder / "night.csv"), "--out", str(out), "--no-report"]
    assert main([*argv, "--respiratory-events", str(apneas)]) == 0
    return plain, out, apneas, len(ends), near


def test_analyze_excludes_the_lms_near_the_events_given(analyzed_with_apneas):
    plain, out, apneas, count, near = analyzed_with_apneas
    before = json.loads((plain / "summary.json").read_text())
    after = json.loads((out / "summary.json").read_text())
    assert before["criteria"]["respiratory_exclusion"] == {
        "applied": False,
        "events": None,
        "lms_not_clm": 0,
    }
    # the desaturation is no respiratory event; each apnea took its PLM out, some one more
    assert near >= count
    assert after["criteria"]["respiratory_exclusion"] == {
        "applied": True,
        "events": count,
        "lms_not_clm": near,
    }
    assert after["recording"]["respiratory_events"] == {"file": str(apneas), "events": count}
    assert after["counts"]["clm"] == before["counts"]["clm"] - near
    # no excluded LM is a PLM (breaking series may take more: the unit tests above)
    assert after["counts"]["plm"] <= before["counts"]["plm"] - near
    caveats = " ".join(after["assessment"]["caveats"])
    assert f"2 s before the end to 10.25 s after the end of one of the {count} respiratory" in (
        caveats
    )
    assert "There is no breathing channel" in " ".join(before["assessment"]["caveats"])
    assert f'respiratory_events = "{apneas}"' in (out / "settings.toml").read_text()


def test_the_settings_file_replays_the_exclusion(analyzed_with_apneas, plm_night, tmp_path):
    folder, _ = plm_night
    _, out, *_ = analyzed_with_apneas
    again = tmp_path / "again"
    config = str(out / "settings.toml")
    argv = ["analyze", str(folder / "night.csv"), "--out", str(again), "--no-report"]
    assert main([*argv, "--config", config]) == 0
    first = json.loads((out / "summary.json").read_text())
    second = json.loads((again / "summary.json").read_text())
    assert second["counts"] == first["counts"]


@pytest.mark.parametrize(
    "text, problem",
    [
        ("onset,duration,type\n10,5,Limb movement\n", "holds no respiratory event"),
        ("onset,duration,type\n10,5\n", "onset"),
    ],
)
def test_a_file_without_respiratory_events_is_refused_in_one_line(
    plm_night, tmp_path, capsys, text, problem
):
    folder, _ = plm_night
    events_file = tmp_path / "events.csv"
    events_file.write_text(text)
    out = tmp_path / "out"
    argv = ["analyze", str(folder / "night.csv"), "--out", str(out), "--no-report"]
    assert main([*argv, "--respiratory-events", str(events_file)]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and str(events_file) in error and problem in error
    assert "Traceback" not in error and not (out / "summary.json").exists()


START = "2025-01-01T00:00:00+01:00"  # the recording's first sample, Berlin in winter
ORIGIN = 1735686000.0  # the same instant in Unix seconds


def placed(tmp_path, text, duration_s=3600.0):
    path = tmp_path / "events.csv"
    path.write_text(text)
    warnings = []
    return respiratory_events(str(path), ORIGIN, START, duration_s, warnings), warnings


def test_events_are_placed_on_the_recordings_clock(tmp_path):
    # seconds from the start; zone-less ISO (the PSG's wall clock, the recording's zone);
    # ISO with a zone; a clock time of the recording's night
    for onset in ("600", "2025-01-01T00:10:00", "2024-12-31T23:10:00Z", "00:10:00"):
        spans, warnings = placed(tmp_path, f"onset,duration,type\n{onset},15,Hypopnea\n")
        assert spans.tolist() == [[600.0, 615.0]] and warnings == [], onset


def test_events_outside_the_recording_are_left_out_and_none_inside_refused(tmp_path):
    text = "onset,duration,type\n600,15,Obstructive apnea\n99999,20,Apnea\n"
    spans, warnings = placed(tmp_path, text)
    assert spans.tolist() == [[600.0, 615.0]]
    assert warnings == [
        f"{tmp_path / 'events.csv'}: 1 respiratory event of 2 fall outside the recording: left out"
    ]
    with pytest.raises(InputError, match="none of its 1 respiratory event falls within"):
        placed(tmp_path, "onset,duration,type\n99999,20,Apnea\n")


def test_events_without_durations_are_refused(tmp_path):
    # WASM's window lies about each event's end: an onset alone cannot place it
    with pytest.raises(InputError, match="gives no durations") as refused:
        placed(tmp_path, "onset,type\n600,Obstructive apnea\n")
    assert "with their durations" in str(refused.value)


def test_validate_scores_the_references_lms_near_its_respiratory_events_alike(
    analyzed_with_apneas, tmp_path, capsys
):
    """A sleep study's LMs and body movements (here the analysis's own) and apneas as the
    reference: the exclusion applied to both sides takes out of each the same PLMs, so the
    two indices agree with it as without it; an analysis not given them is told. (Without
    the movements, which end series, the two parted by 1.8/h, and by 2.4/h with apneas.)"""
    plain, out, apneas, *_ = analyzed_with_apneas
    rows = [line.split(",") for line in (plain / "events.csv").read_text().splitlines()[1:]]
    label = {"lm": "Limb movement", "movement": "Body movement"}
    lms = [f"{row[0]},{row[2]},{label[row[3]]}" for row in rows if row[3] in label]
    study = tmp_path / "psg.csv"
    study.write_text("onset,duration,type\n" + "\n".join(lms + apneas.read_text().splitlines()[1:]))
    lms_only = tmp_path / "lms.csv"
    lms_only.write_text("onset,duration,type\n" + "\n".join(lms) + "\n")

    def indices(result, reference):
        folder = tmp_path / f"v-{result.name}-{reference.stem}"
        argv = ["validate", str(result), "--reference", str(reference), "--out", str(folder)]
        assert main(argv) == 0
        row = json.loads((folder / "validation.json").read_text())["nights"][0]
        return row["plm_index_detected"], row["plm_index_reference"]

    detected, reference = indices(out, study)
    detected_plain, reference_plain = indices(plain, lms_only)
    assert reference < reference_plain  # the reference's LMs near its apneas left out too
    assert reference == pytest.approx(detected, abs=0.05)
    assert reference_plain == pytest.approx(detected_plain, abs=0.05)
    capsys.readouterr()
    indices(plain, study)
    assert "which the analysis was not given (analyze --respiratory-events)" in (
        capsys.readouterr().err
    )


def test_a_trend_report_does_not_pool_nights_with_and_without_the_exclusion(
    analyzed_with_apneas, tmp_path, capsys
):
    plain, out, *_ = analyzed_with_apneas
    capsys.readouterr()
    assert main(["report", str(plain), str(out), "--out", str(tmp_path / "trend")]) == 0
    assert "not all analyzed alike (settings)" in capsys.readouterr().err
