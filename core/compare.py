"""Per-class scores of runs and the difference between two runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_fscore_support

from core.runs import OOF, TEST_PROBS, read_oof, read_test_probs


def per_class_scores(labels: np.ndarray, predicted: np.ndarray, *, num_classes: int) -> pd.DataFrame:
    """precision, recall, f1, support per class 0..K-1 (scikit-learn; 0 where undefined)."""
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predicted, labels=list(range(num_classes)), zero_division=0
    )
    return pd.DataFrame(
        {"target": range(num_classes), "precision": precision, "recall": recall, "f1": f1, "support": support}
    )


def run_per_class_f1(run_dir, *, num_classes: int, test_labels: pd.DataFrame | None = None) -> pd.DataFrame:
    """Columns target, oof_f1 and (with a labelled hold-out) test_f1 for one run."""
    result = pd.DataFrame({"target": range(num_classes)})
    if (run_dir / OOF).is_file():
        oof = read_oof(run_dir)
        scores = per_class_scores(oof["given"].to_numpy(), oof["predicted"].to_numpy(), num_classes=num_classes)
        result["oof_f1"] = scores["f1"]
    if test_labels is not None and (run_dir / TEST_PROBS).is_file():
        joined = test_labels.merge(read_test_probs(run_dir), on="ID", how="inner")
        if len(joined):
            predicted = joined[[f"prob_{k}" for k in range(num_classes)]].to_numpy().argmax(axis=1)
            result["test_f1"] = per_class_scores(joined["target"].to_numpy(), predicted, num_classes=num_classes)["f1"]
    return result


def compare_per_class(a: pd.DataFrame, b: pd.DataFrame, *, metric: str) -> pd.DataFrame:
    """target, a, b, delta (b - a) for a column both per-class tables have."""
    merged = a[["target", metric]].merge(b[["target", metric]], on="target", suffixes=("_a", "_b"))
    merged = merged.rename(columns={f"{metric}_a": "a", f"{metric}_b": "b"})
    merged["delta"] = merged["b"] - merged["a"]
    return merged
