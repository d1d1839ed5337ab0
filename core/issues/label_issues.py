"""Label issues with cleanlab: which train labels look wrong, ranked, on out-of-fold probabilities.

    label_issues(labels, pred_probs, *, ids, filter_by=, score_method=) -> ranked table
        ID, given_label, suggested_label, label_score, is_label_issue (lowest label_score first)

Pure functions over arrays (cleanlab's vocabulary: N examples, K classes, `labels` (N,),
`pred_probs` (N, K)); cleanlab is imported only inside them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.runs.folder import prob_columns

ISSUE_COLUMNS = ["ID", "given_label", "suggested_label", "label_score", "is_label_issue"]


# filter_by: cleanlab's find_label_issues filters, or two of ours.
#
# CONFIDENT_OTHER (the default): the rows whose most likely class is another one with probability
# >= CONFIDENT. An image the model finds plausible in two overlapping classes is not flagged; one it
# confidently puts in another class is. The flagged count is then the label-health estimate of the
# number of wrong labels (core.issues.health), and tracks the real count where classes overlap.
# Chosen on the demo AND two Fashion-MNIST noise regimes (bench/label_health.py; one default scan,
# Lite0 224 px, with the scan's pruning pass), true wrong labels 93 / 120 / 120 (demo / mixed /
# systematic):
#
#                       flagged        precision      recall         wrong labels after accepting every flag
#   ranked_calibrated   97 / 247 / 245  .91/.43/.37    .95/.88/.76    15 / 164 / 193   (Fashion: more than before)
#   confident, 0.7      92 / 154 / 156  .89/.55/.48    .88/.70/.62    21 / 107 / 130   (systematic: more)
#   confident, 0.8      85 / 113 / 117  .94/.66/.56    .86/.62/.54    18 /  83 / 108   (fewer on all three)
#   confident, 0.9      74 /  63 /  59  .96/.89/.73    .76/.47/.36    25 /  71 /  93
#
# 0.8: the flagged count tracks the real one on all three (0.91-0.98x), and accepting every flag
# lowers the wrong-label count on all three; 0.9 trades a third of the demo's recall for it.
# RANKED_CALIBRATED (the default until issue 10): the `n` lowest label scores, n being cleanlab's
# calibrated estimate of the number of wrong labels (count.num_label_issues, off_diagonal_calibrated),
# keeping rows whose most likely class is not the given one. On overlapping classes that estimate
# also counts every image plausible in two classes: it flagged 2.2x the real number on Fashion-MNIST.
CONFIDENT_OTHER = "confident"
RANKED_CALIBRATED = "ranked_calibrated"
CONFIDENT = 0.8  # probability of another class from which a row counts as confidently mislabeled


FILTERS = (
    CONFIDENT_OTHER,
    RANKED_CALIBRATED,
    "prune_by_noise_rate",
    "prune_by_class",
    "both",
    "confident_learning",
    "predicted_neq_given",
    "low_normalized_margin",
    "low_self_confidence",
)


DEFAULT_FILTER_BY = CONFIDENT_OTHER


# normalized_margin (given-class probability minus the best other one) put slightly more true flips
# in the first k than self_confidence on the demo (precision@93 0.87-0.92 vs 0.85-0.90).
DEFAULT_SCORE_METHOD = "normalized_margin"


# --------------------------------------------------------------------------------------- validation


def check_labels_and_probs(labels, pred_probs) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels)
    pred_probs = np.asarray(pred_probs, dtype=np.float64)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D (N,), got shape {labels.shape}")
    if pred_probs.ndim != 2:
        raise ValueError(f"pred_probs must be 2-D (N, K), got shape {pred_probs.shape}")
    if len(labels) != len(pred_probs):
        raise ValueError(f"labels has {len(labels)} rows but pred_probs has {len(pred_probs)}")
    if len(labels) == 0:
        raise ValueError("labels is empty: there is nothing to check")
    num_classes = pred_probs.shape[1]
    if num_classes < 2:
        raise ValueError(f"pred_probs needs at least 2 classes (columns), got {num_classes}")
    if not np.issubdtype(labels.dtype, np.integer):
        if not np.issubdtype(labels.dtype, np.floating) or not np.all(np.mod(labels, 1) == 0):
            raise ValueError(f"labels must be class indices 0..{num_classes - 1}, got dtype {labels.dtype}")
        labels = labels.astype(np.int64)
    bad = np.flatnonzero((labels < 0) | (labels >= num_classes))
    if len(bad):
        raise ValueError(
            f"labels must be class indices 0..{num_classes - 1}; rows {bad[:5].tolist()} hold "
            f"{labels[bad[:5]].tolist()}"
        )
    if not np.all(np.isfinite(pred_probs)):
        rows = np.flatnonzero(~np.isfinite(pred_probs).all(axis=1))
        raise ValueError(f"pred_probs has NaN or infinite values in rows {rows[:5].tolist()}")
    if (pred_probs < 0).any():
        rows = np.flatnonzero((pred_probs < 0).any(axis=1))
        raise ValueError(f"pred_probs has negative values in rows {rows[:5].tolist()}")
    sums = pred_probs.sum(axis=1)
    off = np.flatnonzero(np.abs(sums - 1.0) > 1e-3)
    if len(off):
        raise ValueError(
            f"pred_probs rows must sum to 1; rows {off[:5].tolist()} sum to {np.round(sums[off[:5]], 4).tolist()}"
        )
    return labels.astype(np.int64), pred_probs


def check_ids(ids, n: int, *, name: str = "ids") -> list[str]:
    if ids is None:
        return [str(i) for i in range(n)]
    ids = [str(i) for i in ids]
    if len(ids) != n:
        raise ValueError(f"{name} has {len(ids)} entries but there are {n} rows")
    seen: set[str] = set()
    duplicated = [i for i in ids if i in seen or seen.add(i)]
    if duplicated:
        raise ValueError(f"{name} must be unique; repeated: {', '.join(duplicated[:5])}")
    return ids


# --------------------------------------------------------------------------------------- label issues


def label_issues(
    labels,
    pred_probs,
    *,
    ids: Sequence[str] | None = None,
    filter_by: str = DEFAULT_FILTER_BY,
    score_method: str = DEFAULT_SCORE_METHOD,
    with_probs: bool = False,
) -> pd.DataFrame:
    """Every example ranked by cleanlab's label quality score, worst (lowest) first.

    labels: (N,) given class indices 0..K-1; pred_probs: (N, K) out-of-fold probabilities, rows
    summing to 1; ids: N unique names (default "0".."N-1").

    Returns one row per example with columns ID, given_label, suggested_label (the most likely
    class), label_score (cleanlab.rank.get_label_quality_scores with `score_method`, 0..1, low =
    likely wrong), is_label_issue (`filter_by`: see FILTERS above), and prob_0..prob_{K-1} when
    `with_probs`. Ties in the score keep the input order.
    """
    labels, pred_probs = check_labels_and_probs(labels, pred_probs)
    ids = check_ids(ids, len(labels))
    if filter_by not in FILTERS:
        raise ValueError(f"filter_by must be one of {', '.join(FILTERS)}, got {filter_by!r}")
    from cleanlab.rank import get_label_quality_scores

    scores = get_label_quality_scores(labels, pred_probs, method=score_method)
    flagged = _find_label_issues(labels, pred_probs, scores, filter_by=filter_by)
    frame = pd.DataFrame(
        {
            "ID": ids,
            "given_label": labels,
            "suggested_label": pred_probs.argmax(axis=1).astype(np.int64),
            "label_score": scores.astype(np.float64),
            "is_label_issue": flagged.astype(bool),
        }
    )
    if with_probs:
        probs = pd.DataFrame(pred_probs.astype(np.float32), columns=prob_columns(pred_probs.shape[1]))
        frame = pd.concat([frame, probs], axis=1)
    order = np.argsort(frame["label_score"].to_numpy(), kind="stable")
    return frame.iloc[order].reset_index(drop=True)


def _find_label_issues(labels: np.ndarray, pred_probs: np.ndarray, scores: np.ndarray, *, filter_by: str) -> np.ndarray:
    """(N,) bool: the label issues by `filter_by`, tolerating classes that no example carries.

    Confident learning needs every class 0..K-1 present in `labels`; a class absent from train
    (it occurs in the probabilities' columns only) is dropped from the columns first, renormalised.
    `scores` (the label quality scores, low = likely wrong) order RANKED_CALIBRATED's flags.
    """
    if filter_by == CONFIDENT_OTHER:
        return confidently_other(labels, pred_probs)
    present = np.unique(labels)
    num_classes = pred_probs.shape[1]
    if len(present) < 2:
        return np.zeros(len(labels), dtype=bool)  # one class: nothing can be mislabeled between classes
    sub_labels, sub_probs = labels, pred_probs
    if len(present) < num_classes:
        remap = np.full(num_classes, -1)
        remap[present] = np.arange(len(present))
        sub_labels = remap[labels]
        sub_probs = pred_probs[:, present]
        sub_probs = sub_probs / np.clip(sub_probs.sum(axis=1, keepdims=True), 1e-12, None)
    if filter_by == RANKED_CALIBRATED:
        from cleanlab.count import num_label_issues

        count = int(num_label_issues(sub_labels, sub_probs, estimation_method="off_diagonal_calibrated"))
        flagged = np.zeros(len(labels), dtype=bool)
        flagged[np.argsort(scores, kind="stable")[:count]] = True
        return flagged & (pred_probs.argmax(axis=1) != labels)
    from cleanlab.filter import find_label_issues

    # n_jobs=1: cleanlab's multiprocessing pool costs more than it saves at K <= ~100 (measured).
    return find_label_issues(sub_labels, sub_probs, filter_by=filter_by, n_jobs=1)


def confidently_other(labels: np.ndarray, pred_probs: np.ndarray, *, threshold: float = CONFIDENT) -> np.ndarray:
    """(N,) bool: the most likely class is not the given one, with probability >= `threshold`."""
    return (pred_probs.argmax(axis=1) != labels) & (pred_probs.max(axis=1) >= threshold)
