"""Voting rules (with ties and weights), soft vs hard on crafted probabilities, greedy selection."""

from __future__ import annotations

import numpy as np
import pytest

from core.analysis.scores import macro_f1
from core.predictions.ensemble import changed, greedy_selection, hard_vote, oof_matrix, soft_vote


def test_the_majority_wins_and_a_tie_goes_to_the_earliest_member():
    labels = np.array([[0, 1, 2, 0], [0, 2, 2, 1], [1, 2, 0, 2]])
    assert hard_vote(labels, num_classes=3).tolist() == [0, 2, 2, 0]  # last row: 3-way tie -> member 0's class
    two = np.array([[0, 1], [1, 0]])
    assert hard_vote(two, num_classes=2).tolist() == [0, 1]  # two disagree: the first listed wins
    assert hard_vote(two[::-1], num_classes=2).tolist() == [1, 0]


def test_weights_decide_and_a_zero_weight_member_never_breaks_ties():
    labels = np.array([[0, 0], [1, 1], [1, 2]])
    assert hard_vote(labels, num_classes=3).tolist() == [1, 0]
    assert hard_vote(labels, weights=[3, 1, 1], num_classes=3).tolist() == [0, 0]
    assert hard_vote(labels, weights=[0, 1, 1], num_classes=3).tolist() == [1, 1]  # row 2: tie 1 vs 2, member 1 first
    with pytest.raises(ValueError, match="2 weights for 3 members"):
        hard_vote(labels, weights=[1, 1], num_classes=3)
    with pytest.raises(ValueError, match="not all 0"):
        hard_vote(labels, weights=[0, 0, 0], num_classes=3)


def test_soft_voting_hears_confidence_where_hard_voting_counts_heads():
    # Two members lean weakly to class 0, one is sure of class 1: hard says 0, soft says 1.
    probs = np.array([[[0.55, 0.45]], [[0.55, 0.45]], [[0.02, 0.98]]])
    assert hard_vote(probs.argmax(2), num_classes=2).tolist() == [0]
    mean = soft_vote(probs)
    assert mean.argmax(1).tolist() == [1] and np.allclose(mean.sum(1), 1)
    assert soft_vote(probs, weights=[1, 1, 0]).argmax(1).tolist() == [0]
    assert changed(mean.argmax(1), probs.argmax(2)).tolist() == [1, 1, 0]


def test_greedy_selection_picks_complementary_members_and_skips_a_bad_one():
    rng = np.random.default_rng(0)
    n, k = 600, 3
    y = rng.integers(0, k, n)

    def member(right: np.ndarray) -> np.ndarray:
        probs = np.full((n, k), 0.1)
        guess = np.where(right, y, (y + 1) % k)
        probs[np.arange(n), guess] = 0.8
        return probs

    a = member(np.arange(n) % 3 != 0)  # wrong on rows 0, 3, 6, ...
    b = member(np.arange(n) % 3 != 1)  # wrong elsewhere: complements a
    c = member(np.arange(n) % 3 != 2)
    bad = member(rng.random(n) < 0.3)
    selection = greedy_selection(np.stack([a, b, c, bad]), y, num_classes=k, rounds=10)
    assert selection.counts[3] == 0  # never the bad member
    assert (selection.counts[:3] > 0).all()
    single = max(macro_f1(y, m.argmax(1), num_classes=k) for m in (a, b, c))
    assert selection.score > single + 0.2 and selection.score == pytest.approx(1.0)
    assert len(selection.history) == 10 and selection.best_round == 3  # the best prefix, not the last round
    assert selection.counts.tolist() == [1, 1, 1, 0]
    assert selection.weights.sum() == pytest.approx(1.0)


def test_out_of_fold_rows_are_aligned_on_the_ids_every_member_scored():
    import pandas as pd

    first = pd.DataFrame({"ID": ["a", "b", "c"], "given": [0, 1, 1], "prob_0": [1, 0, 0.5], "prob_1": [0, 1, 0.5]})
    second = first.iloc[[2, 0]].copy()
    ids, y, probs = oof_matrix([first, second], num_classes=2)
    assert ids == ["a", "c"] and y.tolist() == [0, 1] and probs.shape == (2, 2, 2)
    with pytest.raises(ValueError, match="share no train image"):
        oof_matrix([first, first.assign(ID=["x", "y", "z"])], num_classes=2)
