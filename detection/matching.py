"""One-to-one matching of detected and reference events by onset, and agreement figures."""

from __future__ import annotations

import numpy as np


def match_onsets(
    reference_s: np.ndarray, detected_s: np.ndarray, tolerance_s: float
) -> list[tuple[int, int]]:
    """Pairs (reference index, detected index), closest first, each event used at most once."""
    reference_s = np.asarray(reference_s, dtype=float)
    detected_s = np.asarray(detected_s, dtype=float)
    if len(reference_s) == 0 or len(detected_s) == 0:
        return []
    order = np.argsort(detected_s)
    sorted_detected = detected_s[order]
    candidates = []
    for i, onset in enumerate(reference_s):  # a loop over events
        low = np.searchsorted(sorted_detected, onset - tolerance_s, side="left")
        high = np.searchsorted(sorted_detected, onset + tolerance_s, side="right")
        for j in range(low, high):
            candidates.append((abs(sorted_detected[j] - onset), i, int(order[j])))
    candidates.sort()
    used_ref, used_det, pairs = set(), set(), []
    for _, i, j in candidates:
        if i not in used_ref and j not in used_det:
            used_ref.add(i)
            used_det.add(j)
            pairs.append((i, j))
    return sorted(pairs)


def agreement(n_reference: int, n_detected: int, n_matched: int) -> dict:
    """Sensitivity (recall), precision (PPV) and F1 of a matching."""
    sensitivity = n_matched / n_reference if n_reference else None
    precision = n_matched / n_detected if n_detected else None
    if n_reference == 0 and n_detected == 0:
        f1 = 1.0
    elif n_reference + n_detected == 0 or n_matched == 0:
        f1 = 0.0
    else:
        f1 = 2 * n_matched / (n_reference + n_detected)
    return {
        "reference": n_reference,
        "detected": n_detected,
        "matched": n_matched,
        "sensitivity": sensitivity,
        "precision": precision,
        "f1": f1,
    }


def onset_errors(
    reference_s: np.ndarray, detected_s: np.ndarray, pairs: list[tuple[int, int]]
) -> dict:
    """Detected minus reference onset of matched pairs: mean, SD, median, 95th |error|."""
    if not pairs:
        return {"n": 0, "mean_s": None, "sd_s": None, "median_s": None, "p95_abs_s": None}
    errors = np.array([detected_s[j] - reference_s[i] for i, j in pairs])
    return {
        "n": int(len(errors)),
        "mean_s": float(errors.mean()),
        "sd_s": float(errors.std(ddof=1)) if len(errors) > 1 else None,
        "median_s": float(np.median(errors)),
        "p95_abs_s": float(np.percentile(np.abs(errors), 95)),
    }


def icc_agreement(first: np.ndarray, second: np.ndarray) -> float | None:
    """ICC(2,1), Shrout and Fleiss: two-way random effects, absolute agreement, one rater."""
    data = np.column_stack([first, second]).astype(float)
    n, k = data.shape
    if n < 2:
        return None
    grand = data.mean()
    ss_rows = k * ((data.mean(axis=1) - grand) ** 2).sum()
    ss_cols = n * ((data.mean(axis=0) - grand) ** 2).sum()
    ss_error = ((data - grand) ** 2).sum() - ss_rows - ss_cols
    ms_rows = ss_rows / (n - 1)
    ms_cols = ss_cols / (k - 1)
    ms_error = ss_error / ((n - 1) * (k - 1))
    denominator = ms_rows + (k - 1) * ms_error + k * (ms_cols - ms_error) / n
    return float((ms_rows - ms_error) / denominator) if denominator > 0 else None


def bland_altman(detected: np.ndarray, reference: np.ndarray) -> dict:
    """Bias (detected - reference) and 95 % limits of agreement (bias +- 1.96 SD)."""
    differences = np.asarray(detected, float) - np.asarray(reference, float)
    if len(differences) < 2:
        return {"n": int(len(differences)), "bias": None, "sd": None, "lower": None, "upper": None}
    bias = float(differences.mean())
    sd = float(differences.std(ddof=1))
    return {
        "n": int(len(differences)),
        "bias": bias,
        "sd": sd,
        "lower": bias - 1.96 * sd,
        "upper": bias + 1.96 * sd,
    }


def classification(
    detected: np.ndarray, reference: np.ndarray, threshold: float | np.ndarray
) -> dict:
    """Index above `threshold` as a test of the reference's index above it; `threshold`
    one per night where they differ (a child's 5/h beside an adult's 15/h), then given as
    the list of those used."""
    thresholds = np.broadcast_to(np.asarray(threshold, float), np.shape(detected))
    test = np.asarray(detected, float) > thresholds
    truth = np.asarray(reference, float) > thresholds
    tp, tn = int((test & truth).sum()), int((~test & ~truth).sum())
    fp, fn = int((test & ~truth).sum()), int((~test & truth).sum())
    used = sorted(set(np.atleast_1d(np.asarray(threshold, float)).tolist()))
    return {
        "threshold_per_h": used[0] if len(used) == 1 else used,
        "true_positive": tp,
        "true_negative": tn,
        "false_positive": fp,
        "false_negative": fn,
        "sensitivity": tp / (tp + fn) if tp + fn else None,
        "specificity": tn / (tn + fp) if tn + fp else None,
        "accuracy": (tp + tn) / len(test) if len(test) else None,
    }
