"""Bilateral merging: overlap or < 0.5 s, at most 4 parts, at most 15 s, no part > 10 s."""

import pandas as pd

from sleepmove.detection.bilateral import combine_legs
from sleepmove.detection.params import AASM2012, WASM2016


def events(*rows):
    frame = pd.DataFrame(rows, columns=["onset_s", "offset_s", "side", "kind"])
    frame["duration_s"] = frame["offset_s"] - frame["onset_s"]
    frame["peak_g"] = 0.3
    frame["rotation_deg"] = 10.0
    frame["posture_change_deg"] = 0.0
    return frame


def units(frame, rules=WASM2016):
    return combine_legs(frame, rules, two_legs=True).to_pandas()


def test_overlapping_lms_on_both_legs_are_one_bilateral_clm():
    result = units(events((10, 12, "left", "lm"), (11, 13, "right", "lm")))
    assert len(result) == 1
    row = result.iloc[0]
    assert row["side"] == "bilateral" and row["parts"] == 2 and bool(row["clm"])
    assert (row["onset_s"], row["offset_s"]) == (10, 13)


def test_gap_under_half_a_second_merges_and_half_a_second_does_not():
    assert len(units(events((10, 12, "left", "lm"), (12.49, 14, "right", "lm")))) == 1
    assert len(units(events((10, 12, "left", "lm"), (12.5, 14, "right", "lm")))) == 2


def test_four_parts_are_a_clm_five_are_not():
    four = events(
        (0, 2, "left", "lm"),
        (2.2, 4, "right", "lm"),
        (4.2, 6, "left", "lm"),
        (6.2, 8, "right", "lm"),
    )
    five = pd.concat([four, events((8.2, 9, "left", "lm"))], ignore_index=True)
    assert units(four).iloc[0]["clm"]
    result = units(five)
    assert len(result) == 1 and result.iloc[0]["parts"] == 5 and not result.iloc[0]["clm"]


def test_bilateral_longer_than_15_s_is_not_a_clm():
    ok = units(events((0, 8, "left", "lm"), (7, 15, "right", "lm")))
    assert ok.iloc[0]["clm"] and ok.iloc[0]["duration_s"] == 15
    long = units(events((0, 8, "left", "lm"), (7, 15.2, "right", "lm")))
    assert not long.iloc[0]["clm"] and long.iloc[0]["kind"] == "movement"


def test_a_part_longer_than_10_s_makes_it_no_clm():
    frame = events((0, 10.5, "left", "movement"), (3, 5, "right", "lm"))
    result = units(frame)
    assert len(result) == 1 and not result.iloc[0]["clm"]


def test_monolateral_lm_keeps_its_side_and_is_a_clm_within_0_5_to_10_s():
    result = units(events((0, 0.5, "left", "lm"), (30, 40, "right", "lm")))
    assert result["side"].tolist() == ["left", "right"]
    assert result["clm"].tolist() == [True, True]


def test_aasm_counts_onsets_under_5_s_apart_as_one():
    close = units(events((0, 2, "left", "lm"), (4.9, 6, "right", "lm")), AASM2012)
    apart = units(events((0, 2, "left", "lm"), (5.0, 6, "right", "lm")), AASM2012)
    assert len(close) == 1 and close.iloc[0]["side"] == "bilateral"
    assert len(apart) == 2


def test_simultaneous_jerks_on_both_legs_are_one_bilateral_jerk():
    frame = events((100, 100.2, "left", "jerk"), (100.05, 100.25, "right", "jerk"))
    result = units(frame)
    assert len(result) == 1 and result.iloc[0]["side"] == "bilateral"
    assert result.iloc[0]["kind"] == "jerk" and not result.iloc[0]["clm"]
