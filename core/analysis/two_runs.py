"""Two runs side by side: per-class deltas and the images one gets right and the other wrong."""

from __future__ import annotations

import pandas as pd

from core.analysis.predictions import check_frame
from core.analysis.scores import per_class_scores
from core.io.text import shown
from core.runs.artifacts import load_oof, load_test_probs
from core.runs.folder import prob_columns, read_status

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
    """Columns target, oof_f1 and (with a labelled hold-out) test_f1 for one run.

    core.runs.artifacts.RunDamaged when its oof.csv or test_probs.csv is cut short or garbled.
    """
    result = pd.DataFrame({"target": range(num_classes)})
    status = read_status(run_dir)
    oof = load_oof(run_dir, status)
    if oof is not None:
        scores = per_class_scores(oof["given"].to_numpy(), oof["predicted"].to_numpy(), num_classes=num_classes)
        result["oof_f1"] = scores["f1"]
    test_probs = load_test_probs(run_dir, status) if test_labels is not None else None
    if test_probs is not None:
        joined = test_labels.merge(test_probs, on="ID", how="inner")
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


HEADLINES = (("test_macro_f1", "Test macro-F1"), ("oof_macro_f1", "OOF macro-F1"))  # hold-out first


def oof_comparable(labels_a: str, labels_b: str) -> bool:
    """Whether two runs' out-of-fold scores measure the same thing: both were scored against the same train
    labels (a run on cleaned labels v2 is scored against v2, so its OOF score is not comparable with a run on
    the original labels)."""
    return labels_a == labels_b


def compare_headlines(metrics_a: dict, metrics_b: dict, *, labels_a: str, labels_b: str) -> list[dict[str, object]]:
    """The headline scores of run A and run B, hold-out first: one dict per metric both runs have, with
    key, label, a, b, delta (b - a; None where the scores are not comparable) and note (why not, or "").

    The hold-out (test) labels are the same for both runs, so that delta always counts; OOF scores count
    only when both runs trained on the same labels (`oof_comparable`).
    """
    rows: list[dict[str, object]] = []
    for key, label in HEADLINES:
        if key not in metrics_a or key not in metrics_b:
            continue
        a, b = float(metrics_a[key]), float(metrics_b[key])
        comparable = not key.startswith("oof_") or oof_comparable(labels_a, labels_b)
        note = "" if comparable else f"not comparable: A is scored on labels {shown(labels_a)}, B on {shown(labels_b)}"
        rows.append({"key": key, "label": label, "a": a, "b": b, "delta": b - a if comparable else None, "note": note})
    return rows
