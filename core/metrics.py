"""Headline metrics of a run from its artifacts (scikit-learn's implementations)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score


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
