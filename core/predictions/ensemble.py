"""Ensembles of members' test predictions, and greedy member selection on out-of-fold probabilities.

    hard_vote(labels, weights=, num_classes=)   (M,) the class with the most (weighted) votes per row
    soft_vote(probs, weights=)                   (M, K) the weighted mean of the members' probabilities
    changed(ensemble, labels)                    per member: how many rows the ensemble predicts otherwise
    greedy_selection(oof_probs, y, num_classes=, rounds=)  Caruana et al. (2004) forward selection
                                                 with replacement: members and weights by OOF macro-F1
    oof_matrix(members)                          the members' OOF probabilities on the train IDs they share

Tie rule of the hard vote, stated once: among the classes with the highest vote total, the one the
earliest-listed member voting for any of them chose. So with two members that disagree, the first
listed wins; reorder the members (or weight them) to change it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


def _weights(weights: Sequence[float] | None, n: int) -> np.ndarray:
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (n,):
        raise ValueError(f"{len(w)} weights for {n} members")
    if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"weights must be non-negative numbers, not all 0: {list(w)}")
    return w


def hard_vote(labels: np.ndarray, *, weights: Sequence[float] | None = None, num_classes: int) -> np.ndarray:
    """(n_members, M) class indices -> (M,) the majority class per row (module docstring for ties)."""
    labels = np.asarray(labels, dtype=np.int64)
    if labels.ndim != 2 or len(labels) == 0:
        raise ValueError(f"labels must be (members, rows), got shape {labels.shape}")
    w = _weights(weights, len(labels))
    rows = np.arange(labels.shape[1])
    votes = np.zeros((labels.shape[1], num_classes))
    for member, weight in zip(labels, w):
        np.add.at(votes, (rows, member), weight)
    top = votes >= votes.max(axis=1, keepdims=True) - 1e-12  # (M, K) the tied best classes
    result = np.full(labels.shape[1], -1, dtype=np.int64)
    for member, weight in zip(labels, w):  # the earliest member (with weight) voting for a tied class decides
        undecided = (result < 0) & top[rows, member] & (weight > 0)
        result[undecided] = member[undecided]
    return result


def soft_vote(probs: np.ndarray, *, weights: Sequence[float] | None = None) -> np.ndarray:
    """(n_members, M, K) probabilities -> (M, K) their weighted mean (rows sum to 1)."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 3 or len(probs) == 0:
        raise ValueError(f"probs must be (members, rows, classes), got shape {probs.shape}")
    w = _weights(weights, len(probs))
    return np.tensordot(w / w.sum(), probs, axes=1)


def changed(ensemble: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(n_members,) how many rows the ensemble's labels differ from each member's."""
    return (np.asarray(labels) != np.asarray(ensemble)[None, :]).sum(axis=1)


@dataclass
class Selection:
    """Greedy selection's result: how often each member was picked, and the score after each pick."""

    counts: np.ndarray  # (n_members,) picks per member at the best round; weights = counts / counts.sum()
    history: list[tuple[int, float]]  # (member picked, ensemble OOF macro-F1 after the pick), every round
    best_round: int  # rounds kept (1-based)
    score: float  # OOF macro-F1 of the kept ensemble

    @property
    def weights(self) -> np.ndarray:
        return self.counts / self.counts.sum()


def greedy_selection(oof_probs: np.ndarray, y: np.ndarray, *, num_classes: int, rounds: int = 20) -> Selection:
    """Caruana et al. (2004): start empty; each round add (with replacement) the member whose addition
    gives the soft-vote ensemble the best OOF macro-F1 (ties: the earliest member); keep the best prefix.

    oof_probs: (n_members, N, K) out-of-fold probabilities on the same N train rows; y: (N,) given labels.
    """
    from core.analysis.scores import macro_f1

    oof_probs = np.asarray(oof_probs, dtype=np.float64)
    if oof_probs.ndim != 3 or len(oof_probs) == 0 or oof_probs.shape[1] != len(y):
        raise ValueError(f"oof_probs must be (members, {len(y)} rows, classes), got shape {oof_probs.shape}")
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    total = np.zeros(oof_probs.shape[1:])
    counts = np.zeros(len(oof_probs), dtype=np.int64)
    history: list[tuple[int, float]] = []
    best = (-1.0, 0, counts.copy())
    for r in range(1, rounds + 1):
        scores = [macro_f1(y, (total + member).argmax(axis=1), num_classes=num_classes) for member in oof_probs]
        pick = int(np.argmax(scores))
        total += oof_probs[pick]
        counts[pick] += 1
        history.append((pick, float(scores[pick])))
        if scores[pick] > best[0] + 1e-12:
            best = (float(scores[pick]), r, counts.copy())
    return Selection(counts=best[2], history=history, best_round=best[1], score=best[0])


def oof_matrix(oofs: Sequence[pd.DataFrame], *, num_classes: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(train IDs every member scored, in the first member's order; y (N,) given labels; (n, N, K) probabilities)."""
    if not oofs:
        raise ValueError("no out-of-fold predictions")
    columns = [f"prob_{k}" for k in range(num_classes)]
    shared = set(oofs[0]["ID"])
    for frame in oofs[1:]:
        shared &= set(frame["ID"])
    ids = [i for i in oofs[0]["ID"] if i in shared]
    if not ids:
        raise ValueError("the members' out-of-fold predictions share no train image")
    probs = np.stack([frame.set_index("ID").loc[ids, columns].to_numpy(np.float64) for frame in oofs])
    y = oofs[0].set_index("ID").loc[ids, "given"].to_numpy(np.int64)
    return ids, y, probs
