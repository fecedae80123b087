"""Validation: matching, agreement statistics, reference formats, and the command."""

import json
import math
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from benchmarks.accuracy import evaluate, floor_judged_jerks, jerk_floor_g, jerks_below_floor
from sleepmove.cli import main
from sleepmove.detection.matching import (
    agreement,
    bland_altman,
    classification,
    icc_agreement,
    match_onsets,
)
from sleepmove.sensor.annotations import map_label
from sleepmove.sensor.simulate import simulate
from sleepmove.validate import as_recorded, origin_of, utc_offset_of
from tests.annotation_writers import write_edf_annotations, write_nsrr_xml


def test_matching_is_one_to_one_and_closest_first():
    pairs = match_onsets(np.array([10.0, 11.0]), np.array([10.4, 10.6]), 1.0)
    assert pairs == [(0, 0), (1, 1)]
    # one detection near two references: only the closer reference gets it
    assert match_onsets(np.array([10.0, 11.5]), np.array([11.2]), 1.0) == [(1, 0)]


def test_matching_pairs_as_many_as_a_hand_count_does():
    # closest-first pairs 1.0 with 0.55 (0.45 s apart) and leaves both others unpaired;
    # by hand, 0.0-0.55 and 1.0-1.5 are both within 0.6 s
    pairs = match_onsets(np.array([0.0, 1.0]), np.array([0.55, 1.5]), 0.6)
    assert pairs == [(0, 0), (1, 1)]
    # a chain of five: the alternating offsets still pair all five
    references = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    assert len(match_onsets(references, references + 0.55, 0.6)) == 5


def test_matching_keeps_the_least_error_among_the_largest_matchings():
    # both orders pair two; the crossing one has 0.9 s total error, the straight one 0.1 s
    assert match_onsets(np.array([5.0, 5.5]), np.array([5.55, 5.05]), 0.6) == [(0, 1), (1, 0)]
    # unsorted input: indices refer to the caller's order
    assert match_onsets(np.array([30.0, 10.0]), np.array([10.2, 29.9, 50.0]), 1.0) == [
        (0, 1),
        (1, 0),
    ]


def test_tolerance_edges_are_inclusive():
    assert match_onsets(np.array([10.0]), np.array([11.0]), 1.0) == [(0, 0)]
    assert match_onsets(np.array([10.0]), np.array([11.001]), 1.0) == []
    assert match_onsets(np.array([10.0]), np.array([9.7]), 0.3) == [(0, 0)]


def test_agreement_figures():
    figures = agreement(n_reference=10, n_detected=8, n_matched=6)
    assert figures["sensitivity"] == 0.6 and figures["precision"] == 0.75
    assert figures["f1"] == pytest.approx(2 * 6 / 18)


def test_icc_by_hand():
    # rows 1.5/3.5/5.5, columns 3/4: MSR 8, MSC 1.5, MSE 0 -> 8 / (8 + 2 * 1.5 / 3) = 8/9
    assert icc_agreement(np.array([1.0, 3, 5]), np.array([2.0, 4, 6])) == pytest.approx(8 / 9)
    assert icc_agreement(np.array([1.0, 3, 5]), np.array([1.0, 3, 5])) == pytest.approx(1.0)


def test_bland_altman_by_hand():
    result = bland_altman(np.array([10.0, 20, 30]), np.array([8.0, 21, 27]))
    sd = math.sqrt(13 / 3)  # differences 2, -1, 3 around 4/3
    assert result["bias"] == pytest.approx(4 / 3) and result["sd"] == pytest.approx(sd)
    assert result["upper"] == pytest.approx(4 / 3 + 1.96 * sd)


def test_classification_by_hand():
    result = classification(np.array([20.0, 10, 16, 3]), np.array([18.0, 17, 10, 2]), 15)
    assert (result["true_positive"], result["false_negative"]) == (1, 1)
    assert (result["false_positive"], result["true_negative"]) == (1, 1)
    assert result["sensitivity"] == result["specificity"] == result["accuracy"] == 0.5
    assert result["threshold_per_h"] == 15


def test_classification_by_each_nights_own_threshold():
    """An adult's 10/h beside a child's: judged at the first night's threshold, the adult was
    'above 5/h' or the child 'not above 15/h', by the order of the folders."""
    detected, reference = np.array([10.0, 10.0]), np.array([65.0, 65.0])
    result = classification(detected, reference, np.array([15.0, 5.0]))  # adult, child
    assert (result["true_positive"], result["false_negative"]) == (1, 1)
    assert result["threshold_per_h"] == [5.0, 15.0]
    again = classification(detected[::-1], reference[::-1], np.array([5.0, 15.0]))
    assert {k: again[k] for k in result} == result


@pytest.mark.parametrize(
    "label, expected",
    [
        ("Limb Movement (Left)", ("lm", False)),
        ("PLM (Right)", ("lm", True)),
        ("Hypnic jerk", ("jerk", False)),
        ("Body movement", ("movement", False)),
        ("Hypnagogic foot tremor", ("hft", False)),
        ("Obstructive apnea", ("respiratory", False)),
        ("Hypopnea|Hypopnea", ("respiratory", False)),
        ("Respiratory effort related arousal|RERA", ("respiratory", False)),
        ("SpO2 desaturation", None),
        ("Apnea hypopnea index", None),
        ("Arousal ()", None),
    ],
)
def test_label_table(label, expected):
    assert map_label(label) == expected


@pytest.fixture(scope="module")
def analyzed(plm_night, tmp_path_factory):
    folder, _ = plm_night
    out = tmp_path_factory.mktemp("v") / "night"
    assert main(["analyze", str(folder / "night.csv"), "--out", str(out), "--no-report"]) == 0
    return folder, out


def whole_second_start(out):
    """EDF and NSRR clocks have whole seconds: events are written from that second. Their
    start is the PSG's local wall clock: the recording's, as its summary shows it."""
    summary = json.loads((out / "summary.json").read_text())
    origin = origin_of(summary, str(out))
    local = origin + utc_offset_of(summary, str(out))
    return datetime.fromtimestamp(math.floor(local), tz=timezone.utc), origin % 1


def detected_events(out, shift):
    events = pd.read_csv(out / "events.csv", keep_default_na=False)
    events = events[events["kind"].isin(["lm", "jerk"])].copy()
    events["onset_s"] += shift
    return events


@pytest.mark.parametrize("zone", [None, "Asia/Kolkata"])
@pytest.mark.parametrize("fmt", ["edf", "xml"])
def test_round_trip_of_annotations_matches_perfectly(analyzed, tmp_path, fmt, zone):
    """In a zone (+05:30 here), the PSG's local start was read as UTC: every reference event
    5.5 h off, LM F1 0.02, and exit 0."""
    folder, out = analyzed
    if zone:
        out = tmp_path / "zoned"
        argv = ["analyze", str(folder / "night.csv"), "--out", str(out), "--no-report"]
        assert main([*argv, "--timezone", zone]) == 0
    start, shift = whole_second_start(out)
    events = detected_events(out, shift)
    path = tmp_path / f"reference.{fmt}"
    if fmt == "edf":
        write_edf_annotations(str(path), events, start.replace(tzinfo=None), hours=2.1)
    else:
        write_nsrr_xml(str(path), events, start)
    result = tmp_path / "validation"
    assert main(["validate", str(out), "--reference", str(path), "--out", str(result)]) == 0
    row = pd.read_csv(result / "validation.csv").iloc[0]
    assert row["lm_f1"] == 1.0 and row["jerk_f1"] == 1.0
    assert abs(row["lm_onset_error_mean_s"]) < 0.01


def test_csv_reference_with_clock_times(analyzed, tmp_path):
    _, out = analyzed
    events = detected_events(out, 0.0)
    lms = events[events["kind"] == "lm"]
    reference = pd.DataFrame(
        {
            "onset": lms["onset"],
            "duration": lms["duration_s"],
            "type": "Limb movement",
            "side": "left",
        }
    )
    path = tmp_path / "ref.csv"
    reference.to_csv(path, index=False)
    result = tmp_path / "validation"
    assert main(["validate", str(out), "--reference", str(path), "--out", str(result)]) == 0
    pooled = json.loads((result / "validation.json").read_text())["pooled"]
    assert pooled["lm"]["f1"] == 1.0


@pytest.mark.parametrize("clock", ["%H:%M:%S.%f", "%I:%M:%S.%f %p"])
def test_dateless_clock_times_fall_on_the_recordings_night_in_its_zone(plm_night, tmp_path, clock):
    """A reference of local clock times alone (HH:MM:SS.fff) for a recording shown in a
    zone: the times are that zone's, not UTC (they were placed 4-5 h off and refused).
    With AM/PM ("12:08:00.000 AM") they were put on today's date."""
    folder, _ = plm_night
    out = tmp_path / "night"
    argv = ["analyze", str(folder / "night.csv"), "--out", str(out), "--no-report"]
    assert main([*argv, "--timezone", "America/New_York"]) == 0
    lms = detected_events(out, 0.0)
    lms = lms[lms["kind"] == "lm"]
    times = pd.to_datetime(lms["onset"], format="ISO8601")
    reference = pd.DataFrame(
        {"onset": times.map(lambda t: t.strftime(clock)), "type": "Limb movement"}
    )
    reference["duration"] = lms["duration_s"].to_numpy()
    path = tmp_path / "ref.csv"
    reference.to_csv(path, index=False)
    result = tmp_path / "validation"
    assert main(["validate", str(out), "--reference", str(path), "--out", str(result)]) == 0
    assert json.loads((result / "validation.json").read_text())["pooled"]["lm"]["f1"] == 1.0


def test_validating_against_truth_reproduces_the_accuracy_benchmark(analyzed, tmp_path):
    folder, out = analyzed
    result = tmp_path / "validation"
    assert (
        main(
            ["validate", str(out), "--reference", str(folder / "truth.json"), "--out", str(result)]
        )
        == 0
    )
    row = pd.read_csv(result / "validation.csv").iloc[0]
    figures = evaluate(str(out), str(folder / "truth.json"))
    assert row["lm_f1"] == pytest.approx(figures["lm_f1"])
    assert row["jerk_f1"] == pytest.approx(figures["jerk_f1_all"])
    assert row["plm_index_reference"] == pytest.approx(figures["plm_index"][1])
    assert row["plm_index_in_bed_reference"] == pytest.approx(figures["plm_index_in_bed"][1])
    assert row["total_sleep_h_reference"] == pytest.approx(figures["total_sleep_h"][1])
    assert (result / "report.html").exists() and (result / "figures" / "bland_altman.png").exists()


def test_the_accuracy_benchmark_judges_jerks_at_the_issues_floor_only():
    # Noise SD 10 mg on the left leg, 4 mg on the right: floors of 100 mg and 40 mg; a jerk
    # of both legs is judged against the quieter leg's.
    truth = {
        "start_unix": 1000.0,
        "sensors": {"left": {"noise_mg": 10.0}, "right": {"noise_g": 0.004}},
        "events": [
            {"onset_s": 10.0, "kind": "jerk", "side": "left", "amplitude": 0.3},
            {"onset_s": 20.0, "kind": "jerk", "side": "left", "amplitude": 0.05},  # under
            {"onset_s": 30.0, "kind": "jerk", "side": "right", "amplitude": 0.05},
            {"onset_s": 40.0, "kind": "jerk", "side": "bilateral", "amplitude": 0.045},
            # 0.3 g between a slow sensor's samples, 0.08 g at them: under
            {
                "onset_s": 50.0,
                "kind": "jerk",
                "side": "left",
                "amplitude": 0.3,
                "sampled_peak": 0.08,
            },
            {"onset_s": 60.0, "kind": "lm", "side": "left", "amplitude": 0.01},
        ],
    }
    assert jerk_floor_g(truth, "left") == pytest.approx(0.1)
    assert jerk_floor_g(truth, "bilateral") == pytest.approx(0.04)
    below = jerks_below_floor(truth, origin=1000.0 - 5.0)  # recording began 5 s earlier
    assert below.tolist() == [25.0, 55.0]
    reference = np.array([15.0, 25.0, 35.0, 45.0, 55.0])
    # Found: 15 (judged), 25 (under: neither hit nor false), 45 (judged); one false at 70;
    # missed: 35 (judged), 55 (under: not a miss).
    detected = np.array([15.1, 25.2, 44.8, 70.0])
    judged = floor_judged_jerks(reference, detected, below)
    assert judged == {
        "f1": pytest.approx(2 * 2 / (3 + 3)),
        "below_floor": 2,
        "below_floor_found": 1,
    }
    # Every jerk under the floor and none found: nothing asked, nothing false.
    assert floor_judged_jerks(reference[1:2], np.array([]), below)["f1"] == 1.0


def test_validate_refuses_unpaired_inputs_and_non_results(analyzed, tmp_path, capsys):
    folder, out = analyzed
    with pytest.raises(SystemExit) as stop:
        main(
            [
                "validate",
                str(out),
                str(out),
                "--reference",
                str(folder / "truth.json"),
                "--out",
                str(tmp_path / "x"),
            ]
        )
    assert stop.value.code == 2
    assert (
        main(
            [
                "validate",
                str(tmp_path),
                "--reference",
                str(folder / "truth.json"),
                "--out",
                str(tmp_path / "y"),
            ]
        )
        == 2
    )
    assert "not an analyzed night" in capsys.readouterr().err


def test_an_edf_reference_cut_short_is_refused(analyzed, tmp_path, capsys):
    """Read on, edfio kept the records before the cut: 5 of 201 reference LMs, F1 0.05,
    exit 0, and its own warning's raw Python lines on the terminal."""
    import warnings

    _, out = analyzed
    start, shift = whole_second_start(out)
    path = tmp_path / "reference.edf"
    write_edf_annotations(str(path), detected_events(out, shift), start.replace(tzinfo=None), 2.1)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        code = main(["validate", str(out), "--reference", str(path), "--out", str(tmp_path / "v")])
    assert code == 2
    error = capsys.readouterr().err.strip()
    assert error.endswith(
        "the EDF+ file is cut short (its last data record is incomplete); "
        "expected the whole EDF+ file, as the PSG system wrote it"
    )
    assert "\n" not in error and not (tmp_path / "v").exists()


@pytest.mark.parametrize("sep", ["\t", ";"])
def test_tab_and_semicolon_references_are_read(analyzed, tmp_path, sep):
    """Refused before as 'needs an onset and a type column', which they had."""
    _, out = analyzed
    events = detected_events(out, 0.0)
    lms = events[events["kind"] == "lm"]
    table = pd.DataFrame({"onset": lms["onset_s"], "duration": lms["duration_s"], "type": "LM"})
    path = tmp_path / "ref.csv"
    table.to_csv(path, sep=sep, decimal="," if sep == ";" else ".", index=False)
    argv = ["validate", str(out), "--reference", str(path), "--out", str(tmp_path / "v")]
    assert main(argv) == 0
    assert pd.read_csv(tmp_path / "v" / "validation.csv").iloc[0]["lm_f1"] == 1.0


@pytest.mark.parametrize(
    "data, says",
    [
        (b"", "the reference CSV is empty; expected a CSV of onset,duration,type,side"),
        (b"onset,duration,type\n5,1,LM\n,1,LM\n", "not a time: an empty cell (line 3)"),
        (
            b"onset,duration,type\n5,1,LM\n9,1,Mouvement jamb\xe9\n",
            "byte 0xe9 is not UTF-8 text (line 3); expected a UTF-8 CSV",
        ),
        (
            b"onset,duration,type\n5,1,LM\n9,1,LM,left\n",
            "4 fields where the header has 3 (line 3)",
        ),
        (
            b"onset,duration,type\n5,1,LM\n23:10:00,1,LM\n",
            "onsets mix seconds from the start (line 2: '5') with clock times (line 3: '23:10:00')",
        ),
    ],
)
def test_reference_csv_faults_are_named_in_one_line(analyzed, tmp_path, capsys, data, says):
    """Said before: pandas' 'No columns to parse from file', 'not a time: np.float64(nan)',
    a UTF-8 error's position in pandas' chunk, with no line, pandas' two-line tokenizing
    error, and a valid first cell blamed for a column mixing seconds and clock times."""
    _, out = analyzed
    path = tmp_path / "ref.csv"
    path.write_bytes(data)
    argv = ["validate", str(out), "--reference", str(path), "--out", str(tmp_path / "v")]
    assert main(argv) == 2
    error = capsys.readouterr().err.strip()
    assert says in error and "\n" not in error


def validated_night(folder: str, detected: float, reference: float, threshold: float) -> dict:
    """What validate_night gives `pooled`, by hand: event counts alike, the indices given."""
    counts = {
        f"{k}_{v}": 10 for k in ("lm", "plm", "jerk") for v in ("reference", "detected", "matched")
    }
    row = {"result": folder, "rules": "wasm2016", **counts}
    row |= {"plm_index_detected": detected, "plm_index_reference": reference}
    return {"row": row, "threshold": threshold, "warnings": []}


def test_pooled_agreement_judges_each_night_by_its_own_threshold():
    from sleepmove.validate import pooled

    adult = validated_night("/a/adult", 10.0, 65.0, 15.0)
    child = validated_night("/a/child", 10.0, 65.0, 5.0)
    for order in ([adult, child], [child, adult]):
        judged = pooled(order)["plm_index"]["classification"]
        assert (judged["true_positive"], judged["false_negative"]) == (1, 1)


def test_an_undefined_icc_says_why():
    """Two nights that vary but cancel (10, 20 against 20, 10): the ICC's denominator is 0,
    and the page said 'the nights' indices do not vary', which they do."""
    from sleepmove.validate import pooled

    def night(folder: str, detected: float, reference: float) -> dict:
        return validated_night(folder, detected, reference, 15.0)

    cancel = pooled([night("/n1", 10.0, 20.0), night("/n2", 20.0, 10.0)])["plm_index"]
    assert cancel["icc_2_1"] is None
    assert cancel["icc_undefined"] == "its denominator is 0 for these nights"
    flat = pooled([night("/n1", 10.0, 10.0), night("/n2", 10.0, 10.0)])["plm_index"]
    assert flat["icc_undefined"] == "the nights' indices do not vary"
    assert pooled([night("/n1", 10.0, 12.0)])["plm_index"]["icc_undefined"] == (
        "fewer than 2 nights"
    )


def test_a_dense_run_of_events_is_matched_fully_and_quickly():
    # 3000 onsets 0.1 s apart, each detected 0.05 s late: one group of 3000 x 3000
    references = np.arange(3000) * 0.1
    pairs = match_onsets(references, references + 0.05, 0.5)
    assert len(pairs) == 3000


@pytest.fixture(scope="module")
def bilateral_in_a_window(tmp_path_factory):
    """Two legs with bilateral PLMs, analyzed within a sleep window that cuts epochs."""
    folder = tmp_path_factory.mktemp("bilateral")
    simulate(str(folder), hours=1.5, rate_hz=50, seed=5, scenario="bilateral")
    out = folder / "night"
    argv = ["analyze", "--left", str(folder / "left.csv"), "--right", str(folder / "right.csv")]
    assert main([*argv, "--out", str(out), "--no-report", "--sleep-window", "610,4810"]) == 0
    return out


def test_a_perfect_per_leg_reference_agrees_in_every_figure(bilateral_in_a_window, tmp_path):
    """The night's own LMs and movements as a sleep study scores them, each leg apart (a
    bilateral unit's parts 0.2 s apart), and no stages: the reference then takes the
    detected sleep. Its LMs were matched per leg against merged units (F1 0.79), its sleep
    built from 60-s rows and its time in bed the whole recording, not the window."""
    out = bilateral_in_a_window
    events = pd.read_csv(out / "events.csv", keep_default_na=False)
    lms = events[events["kind"] == "lm"]
    both = lms["side"] == "bilateral"
    assert both.sum() >= 10  # the scenario made bilateral units to split
    rows = [lms.loc[~both, ["onset_s", "duration_s", "side"]]]
    for side, shift in (("left", 0.0), ("right", 0.2)):
        leg = lms.loc[both, ["onset_s", "duration_s"]].assign(side=side)
        leg["onset_s"] += shift
        rows.append(leg)
    reference = pd.concat(rows).assign(type="Limb movement")
    # large movements too, as a scorer marks them: they break series
    moves = events.loc[events["kind"] == "movement", ["onset_s", "duration_s", "side"]]
    reference = pd.concat([reference, moves.assign(type="Movement")]).sort_values("onset_s")
    path = tmp_path / "reference.csv"
    reference[["onset_s", "duration_s", "type", "side"]].to_csv(path, index=False)
    result = tmp_path / "validation"
    assert main(["validate", str(out), "--reference", str(path), "--out", str(result)]) == 0
    row = pd.read_csv(result / "validation.csv").iloc[0]
    assert row["lm_f1"] == 1.0
    assert row["total_sleep_h_reference"] == pytest.approx(row["total_sleep_h_detected"], abs=0.01)
    assert row["plm_index_in_bed_reference"] == pytest.approx(
        row["plm_index_in_bed_detected"], rel=0.02
    )
    assert row["plm_index_reference"] == pytest.approx(row["plm_index_detected"], rel=0.03)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["sleep"]["window_s"] == [610.0, 4810.0]


@pytest.mark.parametrize("table, keep", [("events.csv", 40), ("epochs.csv", 30)])
def test_a_table_cut_short_is_refused_not_scored(analyzed, tmp_path, capsys, table, keep):
    """Cut at a line's end, a table still parses: validate scored the first 40 events as the
    detector's whole night (exit 0, sensitivity halved)."""
    import shutil

    folder, out = analyzed
    night = tmp_path / "night"
    shutil.copytree(out, night)
    lines = (night / table).read_text().splitlines(keepends=True)
    (night / table).write_text("".join(lines[: keep + 1]))
    argv = ["validate", str(night), "--reference", str(folder / "truth.json")]
    assert main([*argv, "--out", str(tmp_path / "v")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and table in err and "cut short" in err
    assert not (tmp_path / "v").exists()


def test_reference_lms_cut_by_a_gap_run_from_or_to_it_as_the_recording_shows_them():
    gaps = np.array([[10.0, 11.0], [20.0, 21.0], [30.0, 31.0]])
    units = pd.DataFrame(
        {
            "onset_s": [10.5, 19.0, 10.8, 19.5, 29.0, 9.0, 40.0, 20.5],
            "duration_s": [2.0, 1.5, 0.6, 1.0, 3.0, 1.8, 1.0, 0.2],
            "kind": ["lm", "lm", "lm", "lm", "lm", "lm", "lm", "jerk"],
        }
    )
    units["offset_s"] = units["onset_s"] + units["duration_s"]
    shown = as_recorded(units, gaps, lm_min_s=0.5)
    # Cut at the start: from the gap's end (10.5 -> 11.0); at the end: to its start (20.5 ->
    # 20.0; 10.8 -> 10.0). Too little left: as it was (0.4 s after 10-11); exactly the least
    # (0.5 s) is kept. A gap inside (29-32), no gap, or a jerk: as they were.
    assert np.allclose(shown["onset_s"], [11.0, 19.0, 10.8, 19.5, 29.0, 9.0, 40.0, 20.5])
    assert np.allclose(shown["offset_s"], [12.5, 20.0, 11.4, 20.0, 32.0, 10.0, 41.0, 20.7])
    assert np.allclose(shown["duration_s"], [1.5, 1.0, 0.6, 0.5, 3.0, 1.0, 1.0, 0.2])
    # Two legs: an onset in a gap may be the other leg's hole, where the analysis leaves the
    # LM out; only the ends are trimmed.
    shown = as_recorded(units, gaps, lm_min_s=0.5, onsets_too=False)
    assert np.allclose(shown["onset_s"], units["onset_s"])
    assert np.allclose(shown["offset_s"], [12.5, 20.0, 11.4, 20.0, 32.0, 10.0, 41.0, 20.7])
