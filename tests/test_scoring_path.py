"""One scoring path: the pipeline (score_night), live and validate score one event table alike.

The table, two legs, WASM 2016 (IMI 10-90 s, series of 4 or more), scored as a settings file
with `series_break_gap_s = 2` has it (gaps of 2 s or more end a series; by default every gap
does, last test), with its answer worked out by hand:

    onset  leg(s)     kind      unit                          series  IMI
    100    L          lm        CLM                           0       -
    120    L + R      lm        one bilateral CLM (overlap)   0       20
    140    R          lm        CLM                           0       20
    150    L + R      jerk      one bilateral jerk            -       (not in the sequence)
    160    L          lm        CLM                           0       20
    180    R          lm        CLM                           0       20
    195    L          movement  12 s: no CLM, ends series 0   -       -
    215    L          lm        CLM                           -       - (after a non-CLM)
    235    R          lm        CLM                           -       20
    255    L          lm        CLM                           -       20   (3 CLMs: no series)
    262-264.5  gap: left 262-263.5 and right 263-264.5, each under 2 s, joined 2.5 s: ends it
    263.8  R          lm        in the gap: leaves every count
    275    R          lm        CLM                           1       - (after the gap)
    295    L          lm        CLM                           1       20
    300.2-301  gap of 0.8 s: too short to end a series
    315    R          lm        CLM                           1       20
    335    L          lm        CLM                           1       20

9 PLMs (5 + 4) in 2 series. Without the non-CLM the 180 -> 215 interval (35 s) would carry
series 0 on; without the joined gap 255 -> 275 (20 s) would make 215-335 one series.
"""

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from sleepmove.detection.night import score_night
from sleepmove.detection.params import AASM2012, RULE_SETS, WASM2016, AnalysisParameters
from sleepmove.detection.scoring import score_units, series_breaking_gaps, union_gaps
from sleepmove.live import live_units
from sleepmove.pipeline import seconds_lost
from sleepmove.validate import score_reference
from tests.test_bilateral import events

DURATION_S = 600.0
LEFT_GAPS = np.array([[262.0, 263.5], [300.2, 301.0]])
RIGHT_GAPS = np.array([[263.0, 264.5]])
ROWS = [  # onset, offset, side, kind
    (100.0, 102.0, "left", "lm"),
    (120.0, 121.5, "left", "lm"),
    (120.8, 122.0, "right", "lm"),
    (140.0, 141.0, "right", "lm"),
    (150.0, 150.2, "left", "jerk"),
    (150.05, 150.25, "right", "jerk"),
    (160.0, 161.0, "left", "lm"),
    (180.0, 181.0, "right", "lm"),
    (195.0, 207.0, "left", "movement"),
    (215.0, 216.0, "left", "lm"),
    (235.0, 236.0, "right", "lm"),
    (255.0, 256.0, "left", "lm"),
    (263.8, 264.8, "right", "lm"),
    (275.0, 276.0, "right", "lm"),
    (295.0, 296.0, "left", "lm"),
    (315.0, 316.0, "right", "lm"),
    (335.0, 336.0, "left", "lm"),
]
BREAK_GAP_S = 2.0  # a settings file's series_break_gap_s: shorter losses end no series
COMPARED = ["onset_s", "offset_s", "kind", "side", "parts", "clm", "series", "periodic", "imi_s"]


def event_table() -> pd.DataFrame:
    return events(*ROWS)


def both_legs_gaps() -> np.ndarray:
    return np.concatenate([LEFT_GAPS, RIGHT_GAPS])  # as two legs give them: unsorted


def parameters(rules, break_gap_s: float = BREAK_GAP_S) -> AnalysisParameters:
    params = AnalysisParameters(rules=rules)
    return replace(params, detection=replace(params.detection, series_break_gap_s=break_gap_s))


def pipeline_path(rules, break_gap_s: float = BREAK_GAP_S) -> pd.DataFrame:
    """analyze's scoring step: the pipeline hands score_night the legs' gaps joined."""
    params = parameters(rules, break_gap_s)
    gaps = union_gaps(both_legs_gaps())
    loss = seconds_lost(gaps, int(DURATION_S) + 1)
    score = score_night(event_table(), DURATION_S, gaps, loss, np.zeros(10), True, params)
    units = score.units.to_pandas()
    return units[units["kind"] != "jerk_cluster"][COMPARED].reset_index(drop=True)


def live_path(rules) -> pd.DataFrame:
    params = parameters(rules)
    units = live_units(event_table(), [LEFT_GAPS, RIGHT_GAPS], True, params)
    return units.to_pandas()[COMPARED]


def reference(marked=()) -> pd.DataFrame:
    """The table as a sleep study's scorer writes it: per leg, PLMs marked or not."""
    frame = event_table()[["onset_s", "offset_s", "duration_s", "kind", "side"]]
    frame["periodic"] = frame["onset_s"].isin(marked)
    return frame


def score_whole_night_asleep(frame: pd.DataFrame, rules=WASM2016) -> dict:
    spans = [(0.0, DURATION_S)]
    return score_reference(frame, both_legs_gaps(), spans, DURATION_S, rules, BREAK_GAP_S)


def validate_path(rules) -> pd.DataFrame:
    return score_whole_night_asleep(reference(), rules)["units"][COMPARED]


@pytest.mark.parametrize("rules", list(RULE_SETS.values()), ids=list(RULE_SETS))
def test_pipeline_live_and_validate_score_the_table_identically(rules):
    pipeline = pipeline_path(rules)
    pd.testing.assert_frame_equal(live_path(rules), pipeline, check_dtype=False)
    pd.testing.assert_frame_equal(validate_path(rules), pipeline, check_dtype=False)


def test_the_table_scores_as_worked_out_by_hand():
    units = pipeline_path(WASM2016)
    assert units["onset_s"].tolist() == [
        100,
        120,
        140,
        150,
        160,
        180,
        195,
        215,
        235,
        255,
        275,
        295,
        315,
        335,
    ]  # 263.8 lay in the joined gap
    assert units["side"].tolist()[:4] == ["left", "bilateral", "right", "bilateral"]
    assert units["parts"].tolist()[1] == 2 and units["kind"].tolist()[3] == "jerk"
    assert units["series"].tolist() == [0, 0, 0, -1, 0, 0, -1, -1, -1, -1, 1, 1, 1, 1]
    assert int(units["periodic"].sum()) == 9
    assert units["series"][units["series"] >= 0].nunique() == 2
    assert units["clm"].tolist() == [True] * 3 + [False] + [True] * 2 + [False] + [True] * 7
    nan = math.nan
    expected_imi = [nan, 20, 20, nan, 20, 20, nan, nan, 20, 20, nan, 20, 20, 20]
    np.testing.assert_allclose(units["imi_s"], expected_imi)


def test_validate_counts_the_hand_computed_plms():
    scored = score_whole_night_asleep(reference())
    assert int(scored["periodic"].sum()) == 9
    # Sleep is counted in whole seconds: 262, 263 and 264 lie in the joined gap.
    assert scored["plm_index"] == pytest.approx(9 / ((DURATION_S - 3) / 3600))


def test_a_reference_s_own_plm_marks_land_on_the_unit_that_holds_them():
    # Only the right leg's part of the bilateral LM at 120 is marked: the unit is a PLM.
    units = score_whole_night_asleep(reference(marked=[100.0, 120.8, 140.0, 160.0]))["units"]
    assert units.loc[units["periodic"], "onset_s"].tolist() == [100.0, 120.0, 140.0, 160.0]


def test_aasm_counts_onsets_under_5_s_apart_as_one_on_every_path():
    units = pipeline_path(AASM2012)
    assert units["side"].tolist()[1] == "bilateral" and units["parts"].tolist()[1] == 2


def test_gaps_are_joined_across_legs_before_the_shortest_that_ends_a_series_is_taken():
    assert union_gaps(both_legs_gaps()).tolist() == [[262.0, 264.5], [300.2, 301.0]]
    # Not joined, neither leg's gap (1.5 s each) would be long enough to end a series.
    assert len(series_breaking_gaps(both_legs_gaps(), 2.0)) == 0
    assert series_breaking_gaps(union_gaps(both_legs_gaps()), 2.0).tolist() == [[262.0, 264.5]]
    units = score_units(event_table(), WASM2016, both_legs_gaps(), True, 2.0)
    assert units["series"].tolist()[-4:] == [1, 1, 1, 1]


def test_by_default_every_data_gap_ends_a_series_as_the_rules_say():
    """An LM may hide in any loss: the 0.8 s gap at 300.2 ends series 1 too, which leaves
    two CLMs on each side of it (275, 295 | 315, 335): no series, 5 PLMs."""
    assert AnalysisParameters().detection.series_break_gap_s == 0.0
    units = pipeline_path(WASM2016, AnalysisParameters().detection.series_break_gap_s)
    assert units["series"].tolist() == [0, 0, 0, -1, 0, 0] + [-1] * 8
    assert int(units["periodic"].sum()) == 5
