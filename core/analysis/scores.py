"""Scores of a run's predictions (scikit-learn's implementations): headline metrics, per-class table, confusion.

macro_f1(labels, predicted, num_classes=)          the competition metric
headline_metrics(table, num_classes=, stored=)     oof_/test_ macro-F1 and accuracy of a prediction table
per_class_scores(labels, predicted, num_classes=)  precision, recall, f1, support per class (worst_first=)
confusion_counts / row_normalise / confused_pairs  the confusion matrix and its worst cells
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score, precision_recall_fscore_support

from core.analysis.predictions import check_pair, labelled

# ---------------------------------------------------------------- confusion and per-class scores


def confusion_counts(labels: np.ndarray, predicted: np.ndarray, *, num_classes: int) -> np.ndarray:
    """(K, K) int64 counts: row = true (given) class, column = predicted class."""
    labels, predicted = check_pair(labels, predicted, num_classes)
    flat = np.bincount(labels * num_classes + predicted, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes).astype(np.int64)


def row_normalise(matrix: np.ndarray) -> np.ndarray:
    """Each row divided by its total (the share of a true class predicted as each class); 0 for empty rows."""
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"matrix must be square (K, K), got shape {matrix.shape}")
    totals = matrix.sum(axis=1, keepdims=True)
    return np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)


def confused_pairs(matrix: np.ndarray, *, top: int = 10) -> pd.DataFrame:
    """The off-diagonal cells with most images: true, predicted, count, share_of_true (count / true class size).

    Sorted by count, then share, descending; at most `top` rows; cells with no image are left out.
    """
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"matrix must be square (K, K), got shape {matrix.shape}")
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    true, pred = np.nonzero(matrix)
    off = true != pred
    true, pred = true[off], pred[off]
    counts = matrix[true, pred].astype(np.int64)
    totals = matrix.sum(axis=1)[true]
    pairs = pd.DataFrame({"true": true, "predicted": pred, "count": counts, "share_of_true": counts / totals})
    pairs = pairs.sort_values(["count", "share_of_true", "true", "predicted"], ascending=[False, False, True, True])
    return pairs.head(top).reset_index(drop=True)


def headline_metrics(
    table: pd.DataFrame, *, num_classes: int, stored: Mapping[str, float] | None = None
) -> dict[str, float]:
    """oof_macro_f1, oof_accuracy and (with hold-out labels) test_macro_f1, test_accuracy.

    table: a prediction table (core.analysis.predictions.prediction_table of a run's oof.csv,
    test_probs.csv and the labelled hold-out); a split with no labelled row gets no metric.
    `stored` (the metrics a run wrote into its status.json) wins for every key it has: pages never
    recompute what a run already stored; the rest is computed from the table. The job computes
    what it stores with stored=None.
    """
    metrics = dict(stored or {})
    for split, prefix in (("train", "oof"), ("test", "test")):
        if f"{prefix}_macro_f1" in metrics and f"{prefix}_accuracy" in metrics:
            continue
        rows = labelled(table, split)
        if not len(rows):
            continue
        labels = rows["given"].to_numpy(dtype=np.int64)
        predicted = rows["predicted"].to_numpy(dtype=np.int64)
        metrics.setdefault(f"{prefix}_macro_f1", macro_f1(labels, predicted, num_classes=num_classes))
        metrics.setdefault(f"{prefix}_accuracy", float((labels == predicted).mean()))
    return {k: float(v) for k, v in metrics.items() if k.startswith(("oof_", "test_"))}


def per_class_scores(
    labels: np.ndarray, predicted: np.ndarray, *, num_classes: int, worst_first: bool = False
) -> pd.DataFrame:
    """target, precision, recall, f1, support for each class 0..K-1 (scikit-learn's numbers).

    labels, predicted: (N,) class indices. Undefined scores (a class never predicted, or absent) are
    0, as scikit-learn's zero_division=0. Rows in class order, or with `worst_first` the lowest F1
    first (then the bigger class, then the lower index): the order the errors page lists them in.
    """
    labels, predicted = check_pair(labels, predicted, num_classes)
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predicted, labels=list(range(num_classes)), zero_division=0
    )
    table = pd.DataFrame(
        {"target": np.arange(num_classes), "precision": precision, "recall": recall, "f1": f1, "support": support}
    )
    if not worst_first:
        return table
    order = ["f1", "support", "target"]
    return table.sort_values(order, ascending=[True, False, True], kind="stable").reset_index(drop=True)


def macro_f1(labels: np.ndarray, predicted: np.ndarray, *, num_classes: int) -> float:
    """The competition metric: unweighted mean of the K per-class F1 scores (0 for a class never seen)."""
    return float(f1_score(labels, predicted, average="macro", labels=list(range(num_classes)), zero_division=0))
