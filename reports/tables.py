"""The events and epochs tables of the output contract."""

from __future__ import annotations

import numpy as np
import pandas as pd

from detection.night import NightScore
from reports.clock import iso_times

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
EPOCH_COLUMNS = ["start_s", "asleep", "jerks", "lms", "plms", "activity", "data_loss_s"]


def events_table(score: NightScore, origin_s: float, clock: str) -> pd.DataFrame:
    units = score.units
    table = pd.DataFrame(
        {
            "onset_s": units["onset_s"].round(3),
            "onset": iso_times(units["onset_s"].to_numpy(), origin_s, clock),
            "duration_s": units["duration_s"].round(3),
            "kind": units["kind"],
            "side": units["side"].replace({"single": ""}),
            "clm": units["clm"].astype(bool),
            "periodic": (units["periodic"] & units["clm"]).astype(bool),
            "asleep": units["asleep"].astype(bool),
            "series": pd.array(
                np.where(units["series"] >= 0, units["series"], None), dtype="Int64"
            ),
            "peak_g": units["peak_g"].round(4),
            "imi_s": units["imi_s"].round(3),
            "parts": units["parts"].astype(int),
            "hypnic": units["hypnic"].astype(bool),
            "rotation_deg": units["rotation_deg"].round(2),
        }
    )
    return table[EVENT_COLUMNS]


def epochs_table(score: NightScore) -> pd.DataFrame:
    return score.minutes[EPOCH_COLUMNS]


def to_csv(table: pd.DataFrame) -> str:
    """CSV with lowercase true/false, as JSON and most tools spell booleans."""
    table = table.copy()
    for column in table.columns:
        if table[column].dtype == bool:
            table[column] = np.where(table[column], "true", "false")
    return table.to_csv(index=False, lineterminator="\n")
