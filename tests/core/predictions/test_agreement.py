"""Agreement matrices, the disagreement list, per-member scores and error correlation."""

from __future__ import annotations

import numpy as np
import pytest

from core.predictions.agreement import (
    agreement,
    disagreements,
    distribution,
    error_correlation,
    member_scores,
    only_wrong,
)


def test_agreement_share_and_kappa():
    labels = np.array([[0, 1, 2, 0, 1, 2], [0, 1, 2, 0, 1, 2], [0, 1, 2, 1, 2, 0]])
    share, kappa = agreement(labels, ["a", "b", "c"])
    assert share.loc["a", "b"] == 1.0 and share.loc["a", "c"] == pytest.approx(0.5)
    assert kappa.loc["a", "b"] == pytest.approx(1.0) and kappa.loc["a", "c"] == pytest.approx(0.25)
    assert (np.diag(share) == 1).all() and list(share.index) == ["a", "b", "c"]


def test_disagreements_only_wrong_and_scores():
    truth = np.array([0, 1, 2, 0])
    labels = np.array([[0, 1, 2, 1], [0, 2, 2, 0], [0, 1, 2, 0]])
    rows = disagreements(labels, ["a", "b", "c"], ["w", "x", "y", "z"])
    assert rows["ID"].tolist() == ["x", "z"] and rows["a"].tolist() == [1, 1] and rows["classes"].tolist() == [2, 2]
    alone = only_wrong(labels, ["a", "b", "c"], truth)
    assert alone["a"].tolist() == [3] and alone["b"].tolist() == [1] and alone["c"].tolist() == []
    macro, per_class = member_scores(labels, ["a", "b", "c"], truth, num_classes=3)
    assert macro["c"] == pytest.approx(1.0) and macro["a"] < 1 and per_class.shape == (3, 3)
    shares = distribution(labels, ["a", "b", "c"], num_classes=3)
    assert shares.loc["a"].tolist() == [0.25, 0.5, 0.25]


def test_error_correlation_is_high_for_the_same_mistakes_and_undefined_for_a_perfect_member():
    y = np.array([0, 1, 0, 1, 0, 1])

    def probs(predicted):
        p = np.zeros((len(y), 2))
        p[np.arange(len(y)), predicted] = 1
        return p

    same = probs([1, 1, 0, 1, 0, 0])
    other = probs([0, 0, 0, 1, 1, 1])
    perfect = probs(y)
    corr = error_correlation(np.stack([same, same, other, perfect]), y, ["a", "b", "c", "d"])
    assert corr.loc["a", "b"] == pytest.approx(1.0) and corr.loc["a", "c"] < 0.5
    assert np.isnan(corr.loc["a", "d"]) and corr.loc["d", "d"] == 1.0
