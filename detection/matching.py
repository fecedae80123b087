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
