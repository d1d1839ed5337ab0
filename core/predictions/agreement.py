"""Where members agree and disagree: the Compare page's matrices, tables and disagreement list.

    agreement(labels, names)              (share of identical predictions, Cohen's kappa): two n x n frames
    disagreements(labels, names, ids)     the rows where members disagree: ID, one column per member, votes
    member_scores(labels, names, truth, num_classes=)   macro-F1 and per-class F1 per member (a labelled hold-out)
    only_wrong(labels, names, truth)      per member: rows it gets wrong that every other member gets right
    error_correlation(oof_probs, y, names)  correlation of the members' out-of-fold errors (0/1 per row)
    distribution(labels, names, num_classes=)  share of each predicted class per member

labels: (n_members, M) class indices in the same test row order (core.predictions.members).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def agreement(labels: np.ndarray, names: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(share, kappa): share[i, j] = fraction of rows where i and j predict the same class; kappa = Cohen's."""
    from sklearn.metrics import cohen_kappa_score

    labels = np.asarray(labels)
    n = len(labels)
    share, kappa = np.eye(n), np.eye(n)
    for i in range(n):
        for j in range(i + 1, n):
            share[i, j] = share[j, i] = float((labels[i] == labels[j]).mean())
            if len(np.union1d(labels[i], labels[j])) > 1:
                k = float(cohen_kappa_score(labels[i], labels[j]))
            else:  # both predict one and the same class everywhere: identical
                k = 1.0
            kappa[i, j] = kappa[j, i] = k if np.isfinite(k) else 0.0
    return pd.DataFrame(share, index=names, columns=names), pd.DataFrame(kappa, index=names, columns=names)


def disagreements(labels: np.ndarray, names: Sequence[str], ids: Sequence[str]) -> pd.DataFrame:
    """Rows where not every member predicts the same class: ID, each member's label, `classes` (distinct count)."""
    labels = np.asarray(labels)
    differ = (labels != labels[:1]).any(axis=0)
    frame = pd.DataFrame({"ID": np.asarray(ids)[differ]})
    for name, row in zip(names, labels):
        frame[name] = row[differ]
    frame["classes"] = [len(set(col)) for col in labels[:, differ].T]
    return frame.reset_index(drop=True)


def member_scores(
    labels: np.ndarray, names: Sequence[str], truth: np.ndarray, *, num_classes: int
) -> tuple[pd.Series, pd.DataFrame]:
    """(macro-F1 per member, per-class F1: one row per member, one column per class)."""
    from sklearn.metrics import f1_score

    classes = list(range(num_classes))
    per_class = [f1_score(truth, row, average=None, labels=classes, zero_division=0) for row in np.asarray(labels)]
    table = pd.DataFrame(per_class, index=list(names), columns=classes)
    return table.mean(axis=1).rename("macro_f1"), table


def only_wrong(labels: np.ndarray, names: Sequence[str], truth: np.ndarray) -> dict[str, np.ndarray]:
    """Per member: the row indices it gets wrong while every other member gets them right."""
    wrong = np.asarray(labels) != np.asarray(truth)[None, :]
    result = {}
    for i, name in enumerate(names):
        others_right = ~np.delete(wrong, i, axis=0).any(axis=0) if len(wrong) > 1 else np.ones(wrong.shape[1], bool)
        result[name] = np.flatnonzero(wrong[i] & others_right)
    return result


def error_correlation(oof_probs: np.ndarray, y: np.ndarray, names: Sequence[str]) -> pd.DataFrame:
    """Pearson correlation of the members' out-of-fold error indicators (1 = wrong); low is what ensembles gain from."""
    errors = (np.asarray(oof_probs).argmax(axis=2) != np.asarray(y)[None, :]).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(errors) if len(errors) > 1 else np.ones((1, 1))
    corr = np.atleast_2d(corr)
    constant = errors.std(axis=1) == 0  # a member that is always right (or always wrong) has no correlation
    corr[constant, :] = np.nan
    corr[:, constant] = np.nan
    np.fill_diagonal(corr, 1.0)
    return pd.DataFrame(corr, index=names, columns=names)


def distribution(labels: np.ndarray, names: Sequence[str], *, num_classes: int) -> pd.DataFrame:
    """Share of each class among each member's predictions: one row per member, one column per class."""
    counts = [np.bincount(np.asarray(row), minlength=num_classes)[:num_classes] for row in np.asarray(labels)]
    frame = pd.DataFrame(counts, index=list(names), columns=list(range(num_classes)), dtype=float)
    return frame.div(frame.sum(axis=1).where(lambda s: s > 0, 1), axis=0)
