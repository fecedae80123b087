"""The column table detection passes events in, and the CSV writer of the output contract."""

import numpy as np
import pandas as pd
import pytest

from sleepmove.detection.table import Table
from sleepmove.reports.tables import to_csv


def test_rows_by_mask_and_by_number_columns_by_list():
    table = Table({"onset_s": [3.0, 1.0, 2.0], "kind": ["lm", "jerk", "lm"]})
    assert len(table) == 3 and table.columns == ["onset_s", "kind"]
    assert table[table["kind"] == "lm"]["onset_s"].tolist() == [3.0, 2.0]
    assert table[np.array([2, 0])]["kind"].tolist() == ["lm", "lm"]
    assert table[["kind"]].columns == ["kind"]


def test_sorting_is_stable_and_the_first_key_leads():
    table = Table({"onset_s": [2.0, 1.0, 2.0, 1.0], "side": ["right", "right", "left", "left"]})
    table["row"] = np.arange(4)
    assert table.sorted_by("onset_s")["row"].tolist() == [1, 3, 0, 2]  # ties keep their order
    assert table.sorted_by("onset_s", "side")["row"].tolist() == [3, 1, 2, 0]


def test_text_columns_take_longer_values_without_cutting_them():
    table = Table({"kind": np.where([True, False], "lm", "jerk")})  # numpy makes "<U4"
    table["kind"][0] = "movement"
    assert table["kind"].tolist() == ["movement", "jerk"]
    table["side"] = "bilateral"  # a scalar fills every row
    assert table["side"].tolist() == ["bilateral", "bilateral"]


def test_a_column_of_another_length_is_refused():
    table = Table({"onset_s": [1.0, 2.0]})
    with pytest.raises(ValueError, match="'kind' has 3 rows, the table 2"):
        table["kind"] = ["lm", "lm", "jerk"]


def test_groups_come_in_value_order_with_their_rows_in_table_order():
    table = Table({"series": [2, 0, 2, 1, 0], "onset_s": [1.0, 2.0, 3.0, 4.0, 5.0]})
    groups = [(int(key), rows["onset_s"].tolist()) for key, rows in table.groups("series")]
    assert groups == [(0, [2.0, 5.0]), (1, [4.0]), (2, [1.0, 3.0])]
    assert list(table[table["series"] > 5].groups("series")) == []


def test_concat_fills_missing_columns_with_nan_and_keeps_row_order():
    first = Table({"onset_s": [1.0], "peak_g": [0.2]})
    second = Table({"onset_s": [5.0, 6.0]})
    both = Table.concat([first, Table({"onset_s": []}), second], ["onset_s", "peak_g"])
    assert both["onset_s"].tolist() == [1.0, 5.0, 6.0]
    np.testing.assert_array_equal(both["peak_g"], [0.2, np.nan, np.nan])


def test_a_dataframe_is_taken_as_a_table_and_given_back():
    frame = pd.DataFrame({"onset_s": [1.5, 2.5], "kind": ["lm", "jerk"]})
    table = Table.of(frame)
    assert table["kind"].tolist() == ["lm", "jerk"]
    pd.testing.assert_frame_equal(table.to_pandas(), frame)


def test_csv_of_a_table_has_the_same_bytes_as_pandas_wrote_before():
    """events.csv and epochs.csv are written without pandas; their text must not change."""
    table = Table(
        {
            "onset_s": [0.1, 12345.678, 1e-05, 3.0, np.nan],
            "onset": ["2026-11-24T01:02:03.004+00:00", "", "a,b", 'say "hi"', ""],
            "asleep": [True, False, True, False, True],
            "parts": np.array([1, 2, 3, 4, 5]),
            "series": np.array([0, None, 12, None, 3], dtype=object),
            "activity": np.array([0.00012, 1.5, np.nan, 2.0, 1e20], dtype=np.float64),
            "small": np.array([0.1, 0.25, 3.0, np.nan, 7.5], dtype=np.float32),
        }
    )
    frame = table.to_pandas()
    frame["series"] = frame["series"].astype("Int64")
    assert to_csv(table) == to_csv(frame)
    assert to_csv(table).splitlines()[1] == (
        "0.1,2026-11-24T01:02:03.004+00:00,true,1,0,0.00012,0.1"
    )


def test_concat_of_empty_tables_keeps_each_columns_dtype():
    """Two still legs give two empty burst tables: `used` must stay bool for `~used`."""
    empty = Table(
        {
            "used": np.zeros(0, dtype=bool),
            "side": np.empty(0, dtype=object),
            "row": np.arange(0),
        }
    )
    both = Table.concat([empty, empty], ["used", "side", "row", "absent"])
    assert len(both) == 0
    assert both["used"].dtype == bool and (~both["used"]).size == 0
    assert both["side"].dtype == object and both["row"].dtype.kind == "i"
    assert both["absent"].dtype == np.float64  # a column no table has: NaN's type
