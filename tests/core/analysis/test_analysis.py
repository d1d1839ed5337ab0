"""Core error analysis (core.analysis: predictions table, scores, two runs) on synthetic arrays."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from core.analysis.predictions import (
    attach_columns,
    filter_predictions,
    labelled,
    optional_filters,
    prediction_cards,
    prediction_table,
    projection_points,
    sort_predictions,
)
from core.analysis.scores import (
    confused_pairs,
    confusion_counts,
    headline_metrics,
    macro_f1,
    per_class_scores,
    row_normalise,
)
from core.analysis.two_runs import run_disagreements
from core.runs.folder import prob_columns

K = 4


def probs_for(predicted: np.ndarray, confidence: np.ndarray, k: int = K) -> np.ndarray:
    """Rows whose argmax is `predicted` with that probability, the rest spread evenly."""
    probs = np.tile(((1 - confidence) / (k - 1))[:, None], (1, k))
    probs[np.arange(len(predicted)), predicted] = confidence
    return probs


def oof_frame(given, predicted, confidence, ids=None) -> pd.DataFrame:
    given, predicted = np.asarray(given), np.asarray(predicted)
    probs = probs_for(predicted, np.asarray(confidence, dtype=float))
    frame = pd.DataFrame(
        {
            "ID": ids or [f"tr_{i}.png" for i in range(len(given))],
            "fold": np.arange(len(given)) % 2,
            "given": given,
            "predicted": predicted,
        }
    )
    return pd.concat([frame, pd.DataFrame(probs, columns=prob_columns(K))], axis=1)


def holdout_frame(predicted, confidence) -> pd.DataFrame:
    probs = probs_for(np.asarray(predicted), np.asarray(confidence, dtype=float))
    frame = pd.DataFrame({"ID": [f"te_{i}.png" for i in range(len(predicted))]})
    return pd.concat([frame, pd.DataFrame(probs, columns=prob_columns(K))], axis=1)


@pytest.fixture
def table() -> pd.DataFrame:
    oof = oof_frame(given=[0, 0, 1, 1, 2, 3], predicted=[0, 1, 1, 0, 2, 2], confidence=[0.9, 0.6, 0.8, 0.7, 0.5, 0.95])
    test = holdout_frame(predicted=[3, 1, 0], confidence=[0.4, 0.99, 0.55])
    truth = pd.DataFrame({"ID": ["te_0.png", "te_1.png"], "target": [3, 2]})  # te_2 has no label
    return prediction_table(oof, test, truth, num_classes=K)


# ---------------------------------------------------------------- prediction table


def test_prediction_table_scores_train_and_test_rows(table):
    assert list(table["split"]) == ["train"] * 6 + ["test"] * 3
    assert list(table["predicted"]) == [0, 1, 1, 0, 2, 2, 3, 1, 0]
    assert table["confidence"].round(4).tolist() == [0.9, 0.6, 0.8, 0.7, 0.5, 0.95, 0.4, 0.99, 0.55]
    assert table["correct"].tolist() == [True, False, True, False, True, False, True, False, pd.NA]
    # Loss is the cross-entropy of the given label: -log p(given).
    p_given_row1 = (1 - 0.6) / 3  # given 0, predicted 1 at 0.6
    assert table["loss"].iloc[1] == pytest.approx(-np.log(p_given_row1))
    assert table["loss"].iloc[0] == pytest.approx(-np.log(0.9))
    assert pd.isna(table["given"].iloc[8]) and np.isnan(table["loss"].iloc[8])
    assert len(labelled(table, "test")) == 2


def test_prediction_table_without_hold_out_or_oof():
    only_test = prediction_table(None, holdout_frame([1, 2], [0.5, 0.6]), None, num_classes=K)
    assert only_test["given"].isna().all() and only_test["correct"].isna().all()
    empty = prediction_table(None, None, None, num_classes=K)
    assert len(empty) == 0 and "prob_3" in empty.columns


def test_prediction_table_rejects_bad_input_with_a_clear_message():
    oof = oof_frame([0, 1], [0, 1], [0.9, 0.9])
    with pytest.raises(ValueError, match="prob_4"):
        prediction_table(oof, num_classes=5)
    bad = oof.assign(given=[0, 7])
    with pytest.raises(ValueError, match="outside 0..3"):
        prediction_table(bad, num_classes=K)
    with pytest.raises(ValueError, match="num_classes"):
        prediction_table(oof, num_classes=0)


def test_attach_columns_joins_results_computed_elsewhere(table):
    issues = pd.DataFrame({"split": "train", "ID": ["tr_1.png", "tr_3.png"], "is_label_issue": [True, False]})
    joined = attach_columns(table, issues)
    assert joined.loc[joined["ID"] == "tr_1.png", "is_label_issue"].item() is True
    assert optional_filters(joined) == {"is_label_issue": [False, True]}
    assert optional_filters(table) == {}
    flagged = filter_predictions(joined, where={"is_label_issue": True})
    assert flagged["ID"].tolist() == ["tr_1.png"]
    with pytest.raises(ValueError, match="overwrite"):
        attach_columns(table, table[["split", "ID", "loss"]])


# ---------------------------------------------------------------- filter and sort


def test_filter_by_true_and_predicted_class_outcome_and_confidence(table):
    assert filter_predictions(table, split="train", true_classes=[1])["ID"].tolist() == ["tr_2.png", "tr_3.png"]
    assert filter_predictions(table, true_classes=[0], predicted_classes=[1])["ID"].tolist() == ["tr_1.png"]
    wrong = filter_predictions(table, outcome="wrong")
    assert wrong["ID"].tolist() == ["tr_1.png", "tr_3.png", "tr_5.png", "te_1.png"]
    assert "te_2.png" not in filter_predictions(table, outcome="correct")["ID"].tolist()  # unlabelled
    sure = filter_predictions(table, confidence=(0.9, 1.0))
    assert sure["ID"].tolist() == ["tr_0.png", "tr_5.png", "te_1.png"]
    # An unlabelled test image matches no true-class filter, but any predicted-class filter.
    assert filter_predictions(table, split="test", predicted_classes=[0])["ID"].tolist() == ["te_2.png"]
    assert len(filter_predictions(table)) == len(table)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"outcome": "maybe"}, "outcome"),
        ({"confidence": (0.8, 0.2)}, "confidence"),
        ({"split": "valid"}, "split"),
        ({"where": {"nope": 1}}, "nope"),
    ],
)
def test_filter_rejects_bad_options(table, kwargs, message):
    with pytest.raises(ValueError, match=message):
        filter_predictions(table, **kwargs)


def test_sort_by_loss_confidence_and_id(table):
    by_loss = sort_predictions(table, by="loss", descending=True)
    # te_1: its given class got (1 - 0.99) / 3, the least of all: the most confidently wrong.
    assert by_loss["ID"].tolist()[:2] == ["te_1.png", "tr_5.png"]
    assert by_loss["ID"].iloc[-1] == "te_2.png"  # no label, no loss: last
    assert sort_predictions(table, by="confidence")["ID"].iloc[0] == "te_0.png"
    assert sort_predictions(table, by="ID")["ID"].tolist() == sorted(table["ID"])
    with pytest.raises(ValueError, match="by must be"):
        sort_predictions(table, by="size")


# ---------------------------------------------------------------- confusion, per class, pairs, headline


def test_confusion_counts_and_row_shares_match_scikit_learn():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, 300)
    predicted = np.where(rng.random(300) < 0.7, labels, rng.integers(0, 5, 300))
    matrix = confusion_counts(labels, predicted, num_classes=6)
    assert matrix.shape == (6, 6)
    np.testing.assert_array_equal(matrix, confusion_matrix(labels, predicted, labels=range(6)))
    shares = row_normalise(matrix)
    np.testing.assert_allclose(shares[:5].sum(axis=1), 1.0)
    assert shares[5].sum() == 0  # a class with no image: an empty row, not NaN
    with pytest.raises(ValueError, match="predicted has 2"):
        confusion_counts(labels[:3], predicted[:2], num_classes=6)
    with pytest.raises(ValueError, match="outside 0..5"):
        confusion_counts(np.array([6]), np.array([0]), num_classes=6)


def test_per_class_scores_match_scikit_learn_and_can_put_the_worst_first():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 4, 400)
    predicted = np.where(rng.random(400) < np.array([0.9, 0.3, 0.6, 0.8])[labels], labels, rng.integers(0, 4, 400))
    report = per_class_scores(labels, predicted, num_classes=4, worst_first=True)
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predicted, labels=range(4), zero_division=0
    )
    by_target = report.set_index("target").sort_index()
    np.testing.assert_allclose(by_target["precision"], precision)
    np.testing.assert_allclose(by_target["recall"], recall)
    np.testing.assert_allclose(by_target["f1"], f1)
    np.testing.assert_array_equal(by_target["support"], support)
    assert report["target"].iloc[0] == 1  # class 1 is right only 30% of the time
    assert report["f1"].is_monotonic_increasing
    in_class_order = per_class_scores(labels, predicted, num_classes=4)
    assert in_class_order["target"].tolist() == [0, 1, 2, 3]
    pd.testing.assert_frame_equal(in_class_order, by_target.reset_index())
    with pytest.raises(ValueError, match="outside 0..3"):
        per_class_scores(np.array([4]), np.array([0]), num_classes=4)


def test_confused_pairs_lists_off_diagonal_cells_by_count():
    matrix = np.array([[50, 9, 0], [2, 40, 9], [0, 30, 10]])
    pairs = confused_pairs(matrix, top=3)
    # Equal counts (9): the larger share of its true class first, 9/51 before 9/59.
    assert pairs[["true", "predicted", "count"]].values.tolist() == [[2, 1, 30], [1, 2, 9], [0, 1, 9]]
    assert pairs["share_of_true"].tolist() == pytest.approx([0.75, 9 / 51, 9 / 59])
    assert len(confused_pairs(np.eye(3, dtype=int))) == 0
    with pytest.raises(ValueError, match="square"):
        confused_pairs(np.zeros((2, 3)))


def test_headline_metrics_prefer_what_the_run_stored(table):
    computed = headline_metrics(table, num_classes=K)
    train = labelled(table, "train")
    assert computed["oof_macro_f1"] == pytest.approx(
        macro_f1(train["given"].to_numpy(int), train["predicted"].to_numpy(int), num_classes=K)
    )
    assert computed["oof_accuracy"] == pytest.approx(3 / 6)
    assert computed["test_accuracy"] == pytest.approx(1 / 2)
    stored = headline_metrics(table, num_classes=K, stored={"oof_macro_f1": 0.123, "oof_accuracy": 0.5, "other": 1})
    assert stored["oof_macro_f1"] == 0.123 and "other" not in stored
    assert stored["test_macro_f1"] == pytest.approx(computed["test_macro_f1"])
    # What a job stores when it finishes: only the splits with labelled rows get metrics.
    no_holdout = prediction_table(oof_frame([0, 1], [0, 0], [0.9, 0.9]), holdout_frame([1], [0.9]), num_classes=K)
    assert set(headline_metrics(no_holdout, num_classes=K)) == {"oof_macro_f1", "oof_accuracy"}
    assert headline_metrics(prediction_table(None, None, num_classes=K), num_classes=K) == {}


def test_run_disagreements_both_ways():
    given = [0, 1, 2, 3, 0]
    a = prediction_table(oof_frame(given, [0, 1, 0, 0, 1], [0.9] * 5), num_classes=K)
    b = prediction_table(oof_frame(given, [0, 0, 2, 3, 2], [0.8] * 5), num_classes=K)
    a_only, b_only = run_disagreements(a, b)
    assert a_only["ID"].tolist() == ["tr_1.png"]
    assert b_only["ID"].tolist() == ["tr_2.png", "tr_3.png"]
    assert b_only[["predicted_a", "predicted_b"]].values.tolist() == [[0, 2], [0, 3]]
    assert "tr_4.png" not in set(a_only["ID"]) | set(b_only["ID"])  # both wrong


def test_prediction_cards_read_given_to_predicted(table):
    items = pd.DataFrame(
        {"ID": [f"tr_{i}.png" for i in range(6)], "thumb": "t.jpg", "path": "p.png", "width": 8, "height": 8}
    )
    shown = sort_predictions(filter_predictions(table, split="train", outcome="wrong"), by="loss", descending=True)
    cards = prediction_cards(shown, items, class_names={0: "cat", 1: "dog", 2: "bird", 3: "fish"})
    assert cards["ID"].tolist() == ["tr_5.png", "tr_3.png", "tr_1.png"]  # p(given) 0.017, 0.10, 0.13
    assert cards["caption"].iloc[0] == "fish → bird"
    assert cards["sub"].iloc[0] == "95% · tr_5.png"
    assert set(cards["tone"]) == {"bad"}
    assert cards["given"].iloc[0] == "3 · fish"


def test_projection_points_join_predictions_in_projection_order(table):
    projection = pd.DataFrame(
        {
            "ID": ["te_2.png", "tr_1.png", "tr_9.png"],
            "split": ["test", "train", "train"],
            "x": [0.0, 1, 2],
            "y": [3.0, 4, 5],
        }
    )
    points = projection_points(projection, table)
    assert points["ID"].tolist() == ["te_2.png", "tr_1.png", "tr_9.png"]
    assert points["predicted"].iloc[:2].tolist() == [0, 1]
    assert pd.isna(points["given"].iloc[0]) and pd.isna(points["predicted"].iloc[2])
    assert "prob_0" not in points.columns
