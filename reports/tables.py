"""The events and epochs tables of the output contract."""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np

from sleepmove.detection.night import NightScore
from sleepmove.detection.table import Table
from sleepmove.reports.clock import iso_times

EVENT_COLUMNS = [
    "onset_s",
    "onset",
    "duration_s",
    "kind",
    "side",
    "clm",
    "periodic",
    "asleep",
    "series",
    "peak_g",
    "imi_s",
    "parts",
    "hypnic",
    "rotation_deg",
]
EPOCH_COLUMNS = [
    "start_s",
    "asleep",
    "p_sleep",
    "in_bed",
    "jerks",
    "lms",
    "plms",
    "activity",
    "data_loss_s",
]


def events_table(score: NightScore, origin_s: float, clock: str) -> Table:
    units = score.units
    series = units["series"]
    table = Table(
        {
            "onset_s": np.round(units["onset_s"], 3),
            "onset": iso_times(units["onset_s"], origin_s, clock),
            "duration_s": np.round(units["duration_s"], 3),
            "kind": units["kind"],
            "side": np.where(units["side"] == "single", "", units["side"]).astype(object),
            "clm": units["clm"].astype(bool),
            "periodic": (units["periodic"] & units["clm"]).astype(bool),
            "asleep": units["asleep"].astype(bool),
            "series": np.where(series >= 0, series, None).astype(object),  # empty: none
            "peak_g": np.round(units["peak_g"], 4),
            "imi_s": np.round(units["imi_s"], 3),
            "parts": units["parts"].astype(int),
            "hypnic": units["hypnic"].astype(bool),
            "rotation_deg": np.round(units["rotation_deg"], 2),
        }
    )
    return table[EVENT_COLUMNS]


def epochs_table(score: NightScore) -> Table:
    return score.minutes[EPOCH_COLUMNS]


def to_csv(table: Table | Any) -> str:
    """CSV with lowercase true/false, as JSON and most tools spell booleans; empty fields for
    missing values; numbers in their shortest exact form. A pandas DataFrame is written the
    same way (tests hold the two writers to the same bytes)."""
    if not isinstance(table, Table):
        return _pandas_csv(table)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(table.columns)
    writer.writerows(zip(*(_texts(table[name]) for name in table.columns)))
    return text.getvalue()


def _texts(values: np.ndarray) -> list[str]:
    """A column as CSV fields (vectorized: numpy's float text is the shortest exact one)."""
    if values.dtype == bool:
        return np.where(values, "true", "false").tolist()
    if values.dtype.kind == "f":
        return np.where(np.isnan(values), "", values.astype(str)).tolist()
    if values.dtype.kind in "iu":
        return values.astype(str).tolist()
    return ["" if v is None or v != v else str(v) for v in values]  # a loop over events


def _pandas_csv(frame: Any) -> str:
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype == bool:
            frame[column] = np.where(frame[column], "true", "false")
    return frame.to_csv(index=False, lineterminator="\n")
