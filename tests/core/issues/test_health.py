"""core.issues.health: label health on crafted probabilities where the answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from core.issues.health import expected_precision, label_health
from core.issues.label_issues import CONFIDENT


def overlapping_case(seed: int = 0):
    """Classes 0 and 1 overlap (100 ambiguous images each, split between them by the model, neither
    side above 0.68; 30 clear images each); class 2 is clean. Eight labels are really wrong: the
    model puts them in another class with p = 0.9.

    Returns labels (N,), pred_probs (N, 3), and the rows that are really wrong.
    """
    rng = np.random.default_rng(seed)
    rows, labels = [], []
    for given in (0, 1):
        for _ in range(30):  # clear members of their class
            p = np.full(3, 0.025)
            p[given] = 0.95
            rows.append(p)
            labels.append(given)
        for _ in range(100):  # ambiguous between 0 and 1: plausible in both, not a label error
            share = rng.uniform(0.3, 0.68)
            rows.append(np.array([share, 1 - share - 0.02, 0.02]))
            labels.append(given)
    for _ in range(100):
        rows.append(np.array([0.02, 0.02, 0.96]))
        labels.append(2)
    labels = np.array(labels)
    probs = np.array(rows)
    wrong = rng.choice(np.flatnonzero(labels == 2), size=8, replace=False)
    probs[wrong] = np.array([0.9, 0.05, 0.05])  # labelled 2, confidently a 0
    return labels, probs / probs.sum(axis=1, keepdims=True), wrong


def test_likely_wrong_counts_the_confident_errors_not_the_ambiguous_images():
    labels, probs, wrong = overlapping_case()
    health = label_health(labels, probs)
    assert health.num_examples == len(labels) == 360
    assert health.likely_wrong == len(wrong) == 8
    assert health.likely_wrong_share == pytest.approx(8 / 360)
    # cleanlab's calibrated count also takes in images plausible in two classes: an upper bound
    assert health.cleanlab_estimate >= 40


def test_per_class_figures_put_the_class_with_the_wrong_labels_first():
    labels, probs, _ = overlapping_case()
    classes = label_health(labels, probs).classes
    assert list(classes.columns) == [
        "target",
        "images",
        "likely_wrong",
        "likely_wrong_share",
        "cleanlab_estimate",
        "quality_score",
    ]
    first = classes.iloc[0]
    assert (int(first["target"]), int(first["images"]), int(first["likely_wrong"])) == (2, 100, 8)
    assert first["likely_wrong_share"] == pytest.approx(0.08)
    assert classes.set_index("target").loc[[0, 1], "likely_wrong"].tolist() == [0, 0]


def test_the_overlapping_pair_is_named_first():
    labels, probs, _ = overlapping_case()
    overlapping = label_health(labels, probs).overlapping
    top = overlapping.iloc[0]
    assert {int(top["class_a"]), int(top["class_b"])} == {0, 1}
    assert int(top["examples"]) > 0


def test_summary_names_classes_and_the_threshold():
    labels, probs, _ = overlapping_case()
    text = label_health(labels, probs).summary({0: "shirt", 1: "T-shirt", 2: "bag"})
    assert "likely wrong labels: 8 of 360 (2.2%" in text
    assert f">= {CONFIDENT}" in text
    assert "per class (worst first): 2 · bag 8%" in text
    assert "0 · shirt / 1 · T-shirt" in text or "1 · T-shirt / 0 · shirt" in text


def test_a_class_nobody_carries_and_a_single_class_are_handled():
    labels, probs, _ = overlapping_case()
    wider = np.hstack([probs * 0.99, np.full((len(probs), 1), 0.01)])  # a fourth class in the columns only
    health = label_health(labels, wider)
    assert health.likely_wrong == 8 and 3 not in set(health.classes["target"])
    single = label_health(np.zeros(5, dtype=int), np.tile([0.9, 0.1], (5, 1)))
    assert (single.likely_wrong, single.cleanlab_estimate, len(single.classes)) == (0, 0, 0)


def test_bad_input_is_refused_by_name():
    with pytest.raises(ValueError, match="rows must sum to 1"):
        label_health(np.array([0, 1]), np.array([[0.5, 0.6], [0.5, 0.5]]))


def test_overlapping_pairs_count_their_confident_flags():
    labels, probs, _ = overlapping_case()
    pairs = label_health(labels, probs).overlapping.set_index(["class_a", "class_b"])
    pair = pairs.loc[(0, 1)] if (0, 1) in pairs.index else pairs.loc[(1, 0)]
    # 200 images are plausible in both 0 and 1, none of them confidently in the other: no flag.
    assert int(pair["likely_wrong"]) == 0
    other = pairs.loc[(0, 2)] if (0, 2) in pairs.index else pairs.loc[(2, 0)]
    assert int(other["likely_wrong"]) == 8  # the eight 2s the model calls 0
    # 0 / 1 overlap (plausible in both: not errors); 0 / 2 only has confident flags: label errors.
    assert bool(pair["overlaps"]) and int(pair["plausible"]) == int(pair["examples"]) > 0
    assert not bool(other["overlaps"]) and int(other["plausible"]) == 0
    text = label_health(labels, probs).summary()
    assert "plausible in both: they overlap" in text and "8 flagged" in text


def test_expected_precision_is_the_margin_of_the_other_class():
    labels = np.array([0, 0, 1, 1])
    probs = np.array([[0.1, 0.9], [0.6, 0.4], [0.5, 0.5], [0.2, 0.8]])
    # margins: 0.9-0.1 = 0.8, 0 (given wins), 0.5-0.5 = 0, 0 (given wins)
    assert expected_precision(labels, probs) == pytest.approx(0.2)
    assert expected_precision(labels[:1], probs[:1]) == pytest.approx(0.8)
    assert expected_precision(labels[:0], probs[:0]) == 0.0
    three = np.array([[0.2, 0.5, 0.3]])
    assert expected_precision(np.array([2]), three) == pytest.approx(0.2)  # best other (0.5) - given (0.3)
