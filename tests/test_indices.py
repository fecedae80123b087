"""Periodicity indices, IMI statistics and the alternation index, computed by hand."""

import numpy as np
import pandas as pd
import pytest

from sleepmove.detection.indices import imi_distribution, periodicity_index
from sleepmove.detection.night import alternation_index


def test_ferri_periodicity_index_counts_runs_of_three_periodic_imis():
    # IMIs: nan 20 20 20 | 5 | 30 30 | 200 | 15 15 15 15
    imi = np.array([np.nan, 20, 20, 20, 5, 30, 30, 200, 15, 15, 15, 15], dtype=float)
    counted = np.ones(len(imi), dtype=bool)
    # measurable IMIs: 11; in runs of >= 3: 3 + 4 = 7
    assert periodicity_index(imi, counted, 10, 90) == pytest.approx(7 / 11)


def test_periodicity_index_only_counts_imis_marked_in_sleep():
    imi = np.array([np.nan, 20, 20, 20, 20], dtype=float)
    counted = np.array([True, True, True, False, False])
    assert periodicity_index(imi, counted, 10, 90) == pytest.approx(1.0)
    assert periodicity_index(imi, np.zeros(5, dtype=bool), 10, 90) is None


def test_imi_distribution_bins_and_log_statistics():
    imi = np.array([np.nan, 20.0, 20.0, 40.0, 5.0])
    result = imi_distribution(imi, 10, 90)
    counts = result["histogram_2s"]["counts"]
    assert len(counts) == 45 and counts[10] == 2 and counts[20] == 1 and counts[2] == 1
    logs = np.log([20.0, 20.0, 40.0])
    assert result["log_imi_mean"] == pytest.approx(logs.mean())
    assert result["log_imi_sd"] == pytest.approx(logs.std(ddof=1))
    assert len(result["log_histogram"]["counts"]) == 45


def test_alternation_index_counts_side_switches_between_monolateral_plms():
    units = pd.DataFrame(
        {
            "series": [0, 0, 0, 0, 0, 1, 1, 1, 1],
            "periodic": [True] * 9,
            "side": [
                "left",
                "right",
                "left",
                "bilateral",
                "left",
                "right",
                "right",
                "left",
                "left",
            ],
        }
    )
    # series 0 pairs: L-R switch, R-L switch, (L-B skip), (B-L skip) -> 2/2
    # series 1 pairs: R-R, R-L switch, L-L -> 1/3
    assert alternation_index(units) == pytest.approx(3 / 5)
