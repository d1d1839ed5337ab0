"""Two runs side by side: per-class deltas and the images one gets right and the other wrong."""

from __future__ import annotations

import pandas as pd

from core.analysis.predictions import check_frame
from core.analysis.scores import per_class_scores
from core.runs.folder import OOF, TEST_PROBS, prob_columns, read_oof, read_test_probs

# ---------------------------------------------------------------- two runs


def run_disagreements(a: pd.DataFrame, b: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(images A gets right and B wrong, images B gets right and A wrong), among labelled images both scored.

    a, b: prediction tables of two runs. Each result has ID, split, given, predicted_a, confidence_a,
    predicted_b, confidence_b; rows in table `a`'s order.
    """
    for name, table in (("a", a), ("b", b)):
        check_frame(name, table, ["ID", "split", "given", "predicted", "confidence", "correct"])
    keep = ["ID", "split", "given", "predicted", "confidence", "correct"]
    left = a.loc[a["given"].notna(), keep]
    right = b.loc[b["given"].notna(), ["ID", "split", "predicted", "confidence", "correct"]]
    both = left.merge(right, on=["split", "ID"], suffixes=("_a", "_b"), how="inner")
    a_right = both["correct_a"].fillna(False).to_numpy(dtype=bool)
    b_right = both["correct_b"].fillna(False).to_numpy(dtype=bool)
    columns = ["ID", "split", "given", "predicted_a", "confidence_a", "predicted_b", "confidence_b"]
    return (
        both.loc[a_right & ~b_right, columns].reset_index(drop=True),
        both.loc[b_right & ~a_right, columns].reset_index(drop=True),
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
            predicted = joined[prob_columns(num_classes)].to_numpy().argmax(axis=1)
            result["test_f1"] = per_class_scores(joined["target"].to_numpy(), predicted, num_classes=num_classes)["f1"]
    return result


def compare_per_class(a: pd.DataFrame, b: pd.DataFrame, *, metric: str) -> pd.DataFrame:
    """target, a, b, delta (b - a) for a column both per-class tables have."""
    merged = a[["target", metric]].merge(b[["target", metric]], on="target", suffixes=("_a", "_b"))
    merged = merged.rename(columns={f"{metric}_a": "a", f"{metric}_b": "b"})
    merged["delta"] = merged["b"] - merged["a"]
    return merged
