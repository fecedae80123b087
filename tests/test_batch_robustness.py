"""batch and report on awkward input: one line and exit 2 for what cannot be done, never a
traceback, nothing half-written; and no input or output that silently loses a night."""

import json
import os
import shutil
import sys
import types

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from sleepmove.cli import main
from sleepmove.reports.readable import duration
from sleepmove.sensor.simulate import simulate


@pytest.fixture(scope="module")
def night(tmp_path_factory) -> str:
    """A 15-minute night with limb movements."""
    folder = tmp_path_factory.mktemp("night")
    simulate(str(folder), hours=0.25, rate_hz=25, seed=2, scenario="plmd-moderate")
    return str(folder / "night.csv")


@pytest.fixture(scope="module")
def still(tmp_path_factory) -> str:
    """12 minutes at 25 Hz of a sensor lying still: a night without a single event."""
    path = tmp_path_factory.mktemp("still") / "still.csv"
    rng = np.random.default_rng(0)
    count = 12 * 60 * 25
    frame = pd.DataFrame(
        {
            "time": 1742082720.0 + np.arange(count) / 25,
            "x": 0.05 + rng.normal(0, 0.001, count),
            "y": -0.2 + rng.normal(0, 0.001, count),
            "z": -0.97 + rng.normal(0, 0.001, count),
        }
    )
    frame.to_csv(path, index=False, float_format="%.4f")
    return str(path)


def one_error_line(capsys) -> str:
    """The one line a refusal prints (and no traceback); its text after the prefix."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("sleepmove: error:")]
    assert len(errors) == 1, err
    return errors[0].removeprefix("sleepmove: error: ")


def batch(*args) -> int:
    return main(["batch", *map(str, args), "--no-report"])


def nights(out) -> pd.DataFrame:
    return pd.read_csv(os.path.join(out, "nights.csv"), keep_default_na=False)


# 4. nights without any event: the cohort tables crashed (row group size 0)


def test_nights_without_events_give_empty_typed_cohort_tables(still, tmp_path, capsys):
    (tmp_path / "in").mkdir()
    shutil.copy(still, tmp_path / "in" / "quiet.csv")
    assert batch(tmp_path / "in", "--out", tmp_path / "o") == 0
    assert "Traceback" not in capsys.readouterr().err
    events = pq.read_table(tmp_path / "o" / "events.parquet")
    assert events.num_rows == 0 and events.column_names[0] == "night"
    epochs = pd.read_parquet(tmp_path / "o" / "epochs.parquet")
    per_night = pd.read_csv(tmp_path / "o" / "quiet" / "epochs.csv")
    assert len(epochs) == len(per_night) > 0
