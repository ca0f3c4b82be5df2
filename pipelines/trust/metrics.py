"""Ranking quality of a suspicion score against labels: ROC AUC and average precision (numpy)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def roc_auc(labels: pd.Series | np.ndarray, scores: pd.Series | np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney form, ties count half); NaN with one class only."""
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=float)
    positives = int(y.sum())
    negatives = y.size - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = pd.Series(s).rank(method="average").to_numpy()
    return float((ranks[y].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def average_precision(labels: pd.Series | np.ndarray, scores: pd.Series | np.ndarray) -> float:
    """Average precision (sklearn's step definition; tied scores share one threshold)."""
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=float)
    positives = int(y.sum())
    if positives == 0:
        return float("nan")
    order = np.argsort(-s, kind="mergesort")
    y_sorted, s_sorted = y[order], s[order]
    # keep the last index of each run of equal scores: one point per distinct threshold
    last = np.r_[np.flatnonzero(np.diff(s_sorted) != 0), y.size - 1]
    true_pos = np.cumsum(y_sorted)[last]
    precision = true_pos / (last + 1)
    recall = true_pos / positives
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
