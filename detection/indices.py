"""Indices and interval statistics of a scored night."""

from __future__ import annotations

import numpy as np

IMI_BIN_S = 2.0
IMI_RANGE_S = (0.0, 90.0)
LOG_IMI_BIN = 0.1
LOG_IMI_RANGE = (0.0, 4.5)


def periodicity_index(
    imi_s: np.ndarray, counted: np.ndarray, low: float, high: float
) -> float | None:
    """Ferri 2006: share of IMIs inside runs of >= 3 consecutive IMIs in [low, high].

    `imi_s` holds the IMI before each CLM (NaN where not measurable, which ends a run);
    `counted` marks the IMIs that enter the index (CLMs in sleep).
    """
    measurable = ~np.isnan(imi_s)
    periodic = measurable & (imi_s >= low) & (imi_s <= high)
    in_run = np.zeros(len(imi_s), dtype=bool)
    edges = np.diff(np.concatenate([[0], periodic.astype(np.int8), [0]]))
    for first, stop in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
        if stop - first >= 3:
            in_run[first:stop] = True
    # A non-CLM between two CLMs is not in `imi_s` at all, so runs are contiguous in it.
    denominator = int((measurable & counted).sum())
    if denominator == 0:
        return None
    return float((in_run & counted).sum() / denominator)


def imi_distribution(imi_s: np.ndarray, low: float, high: float) -> dict:
    """2 s histogram over 0-90 s, ln(IMI) histogram over 0-4.5, mean/SD of ln IMI in [low, high]."""
    values = imi_s[~np.isnan(imi_s)]
    counts, edges = np.histogram(
        values, bins=np.arange(IMI_RANGE_S[0], IMI_RANGE_S[1] + IMI_BIN_S / 2, IMI_BIN_S)
    )
    positive = values[values > 0]
    log_edges = np.round(
        np.arange(LOG_IMI_RANGE[0], LOG_IMI_RANGE[1] + LOG_IMI_BIN / 2, LOG_IMI_BIN), 6
    )
    log_counts, _ = np.histogram(np.log(positive), bins=log_edges)
    periodic = positive[(positive >= low) & (positive <= high)]
    log_periodic = np.log(periodic)
    return {
        "count": int(len(values)),
        "histogram_2s": {"bin_edges_s": edges.tolist(), "counts": counts.tolist()},
        "log_histogram": {"bin_edges_ln_s": log_edges.tolist(), "counts": log_counts.tolist()},
        "log_imi_mean": float(log_periodic.mean()) if len(log_periodic) else None,
        "log_imi_sd": float(log_periodic.std(ddof=1)) if len(log_periodic) > 1 else None,
        "log_base": "natural",
        "periodic_range_s": [low, high],
    }


def per_hour(count: int, hours: float) -> float | None:
    return float(count / hours) if hours > 0 else None
