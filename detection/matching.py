"""One-to-one matching of detected and reference events by onset, and agreement figures."""

from __future__ import annotations

import numpy as np


def match_onsets(
    reference_s: np.ndarray, detected_s: np.ndarray, tolerance_s: float
) -> list[tuple[int, int]]:
    """Pairs (reference index, detected index) within `tolerance_s`: as many as any
    one-to-one matching can make, and of those the one with the least total onset error.

    A greedy closest-first matching can pair an event with its nearer neighbour's partner
    and leave both neighbours unpaired, so F1 fell below a hand count."""
    reference_s = np.asarray(reference_s, dtype=float)
    detected_s = np.asarray(detected_s, dtype=float)
    if len(reference_s) == 0 or len(detected_s) == 0:
        return []
    reference_order = np.argsort(reference_s, kind="stable")
    detected_order = np.argsort(detected_s, kind="stable")
    onsets = np.concatenate([reference_s[reference_order], detected_s[detected_order]])
    is_reference = np.r_[np.ones(len(reference_s), bool), np.zeros(len(detected_s), bool)]
    by_time = np.argsort(onsets, kind="stable")
    # No pair can span a gap wider than the tolerance: the groups between such gaps are
    # matched independently, each small.
    # (the margin only joins groups, so rounding can never split a pair)
    breaks = np.flatnonzero(np.diff(onsets[by_time]) > tolerance_s * (1 + 1e-9) + 1e-9) + 1
    pairs = []
    for group in np.split(by_time, breaks):  # a loop over groups of events
        references = np.sort(group[is_reference[group]])
        detections = np.sort(group[~is_reference[group]]) - len(reference_s)
        if len(references) and len(detections):
            for i, j in _best_order_keeping_pairs(
                reference_s[reference_order[references]],
                detected_s[detected_order[detections]],
                tolerance_s,
            ):
                pairs.append(
                    (int(reference_order[references[i]]), int(detected_order[detections[j]]))
                )
    return sorted(pairs)


def _best_order_keeping_pairs(
    references: np.ndarray, detections: np.ndarray, tolerance_s: float
) -> list[tuple[int, int]]:
    """Most pairs, then least total |error|, between two sorted onset lists. Crossing pairs
    can always be uncrossed without leaving the tolerance or adding error, so an
    order-keeping alignment (like a longest common subsequence) finds the optimum."""
    n, m = len(references), len(detections)
    if n * m > _ALIGNMENT_CELLS:
        return _earliest_free_pairs(references, detections, tolerance_s)
    # best[i][j] = (pairs, -total error) over the first i references and j detections
    best = [[(0, 0.0)] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):  # a loop over events of one small group
        for j in range(1, m + 1):
            candidate = max(best[i - 1][j], best[i][j - 1])
            error = abs(detections[j - 1] - references[i - 1])
            if _within(references[i - 1], detections[j - 1], tolerance_s):
                count, score = best[i - 1][j - 1]
                candidate = max(candidate, (count + 1, score - error))
            best[i][j] = candidate
    pairs = []
    i, j = n, m
    while i > 0 and j > 0:
        if best[i][j] == best[i - 1][j]:
            i -= 1
        elif best[i][j] == best[i][j - 1]:
            j -= 1
        else:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
    return pairs[::-1]


def _within(reference: float, detected: float, tolerance_s: float) -> bool:
    # as a reader would put it: 9.7 is within 0.3 s of 10.0 (their difference in floating
    # point is 0.30000000000000071)
    return reference - tolerance_s <= detected <= reference + tolerance_s


# A group of events each within the tolerance of the next, so dense that the alignment
# would take seconds (thousands of twitches at 0.1 s): matched by the greedy below instead,
# which makes as many pairs but not always the least error.
_ALIGNMENT_CELLS = 250_000


def _earliest_free_pairs(
    references: np.ndarray, detections: np.ndarray, tolerance_s: float
) -> list[tuple[int, int]]:
    """Most pairs between two sorted onset lists: each reference, in time order, takes the
    earliest free detection within the tolerance (optimal because every reference's window
    starts and ends no earlier than the one before)."""
    pairs, j = [], 0
    for i, onset in enumerate(references):  # a loop over events
        while j < len(detections) and detections[j] < onset - tolerance_s:
            j += 1
        if j < len(detections) and _within(onset, detections[j], tolerance_s):
            pairs.append((i, j))
            j += 1
    return pairs


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
