"""Scores of a run's predictions (scikit-learn's implementations): headline metrics, per-class table, confusion.

macro_f1(labels, predicted, num_classes=)         the competition metric
headline_metrics(...)                             oof_/test_ macro-F1 and accuracy
per_class_scores(labels, predicted, num_classes=) precision, recall, f1, support per class
confusion_counts / row_normalise / confused_pairs the confusion matrix and its worst cells
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

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


def per_class_report(labels: np.ndarray, predicted: np.ndarray, *, num_classes: int) -> pd.DataFrame:
    """target, precision, recall, f1, support for each class, worst F1 first (then the bigger class).

    Undefined scores (a class never predicted, or absent) are 0, as scikit-learn's zero_division=0.
    """
    matrix = confusion_counts(labels, predicted, num_classes=num_classes)
    hits = np.diag(matrix).astype(np.float64)
    support = matrix.sum(axis=1)
    predicted_total = matrix.sum(axis=0)
    precision = np.divide(hits, predicted_total, out=np.zeros(num_classes), where=predicted_total > 0)
    recall = np.divide(hits, support, out=np.zeros(num_classes), where=support > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros(num_classes), where=both > 0)
    report = pd.DataFrame(
        {"target": np.arange(num_classes), "precision": precision, "recall": recall, "f1": f1, "support": support}
    )
    return report.sort_values(["f1", "support", "target"], ascending=[True, False, True], kind="stable").reset_index(
        drop=True
    )


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

    `stored` (the metrics a run wrote into its status.json) wins for every key it has: pages never
    recompute what a run already stored; the rest is computed from the table.
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


def per_class_scores(labels: np.ndarray, predicted: np.ndarray, *, num_classes: int) -> pd.DataFrame:
    """precision, recall, f1, support per class 0..K-1 (scikit-learn; 0 where undefined)."""
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predicted, labels=list(range(num_classes)), zero_division=0
    )
    return pd.DataFrame(
        {"target": range(num_classes), "precision": precision, "recall": recall, "f1": f1, "support": support}
    )


def macro_f1(labels: np.ndarray, predicted: np.ndarray, *, num_classes: int) -> float:
    return float(f1_score(labels, predicted, average="macro", labels=list(range(num_classes)), zero_division=0))


def run_metrics(
    oof: pd.DataFrame | None, test_probs: pd.DataFrame | None, test_labels: pd.DataFrame | None, *, num_classes: int
) -> dict[str, float]:
    """oof_macro_f1 / oof_accuracy from oof.csv; test_* where a labelled hold-out exists."""
    metrics: dict[str, float] = {}
    if oof is not None and len(oof):
        metrics["oof_macro_f1"] = macro_f1(
            oof["given"].to_numpy(), oof["predicted"].to_numpy(), num_classes=num_classes
        )
        metrics["oof_accuracy"] = float(accuracy_score(oof["given"], oof["predicted"]))
    if test_probs is not None and test_labels is not None and len(test_labels):
        joined = test_labels.merge(test_probs, on="ID", how="inner")
        if len(joined):
            cols = [f"prob_{k}" for k in range(num_classes)]
            predicted = joined[cols].to_numpy().argmax(axis=1)
            metrics["test_macro_f1"] = macro_f1(joined["target"].to_numpy(), predicted, num_classes=num_classes)
            metrics["test_accuracy"] = float(accuracy_score(joined["target"], predicted))
    return metrics
