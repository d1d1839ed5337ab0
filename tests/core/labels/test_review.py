"""cleanlab on seeded synthetic arrays: label issues with known flips, Datalab's planted cases, run averaging, cache, queue."""

from __future__ import annotations

import pandas as pd
import pytest

from core.issues.run_issues import issues_for_runs
from core.labels.review import confident_examples, review_queue, top_classes
from tests.support.builders import noisy_problem, probs_run


def test_review_queue_filters_skips_and_leaves_out_decided(layout):
    _, given, probs, _ = noisy_problem(n=400, seed=6)
    probs_run(layout, "run-a", given, probs)
    queue = issues_for_runs(layout, ["run-a"]).queue()
    assert queue["is_label_issue"].all() and queue["label_score"].is_monotonic_increasing
    first, second = queue["ID"].iloc[:2]
    rest = review_queue(queue, {first})
    assert rest["ID"].iloc[0] == second and len(rest) == len(queue) - 1
    skipped = review_queue(queue, set(), skipped=[first])
    assert skipped["ID"].iloc[0] == second and skipped["ID"].iloc[-1] == first
    target = int(queue["given_label"].iloc[0])
    only = review_queue(queue, set(), given=[target])
    assert set(only["given_label"]) == {target}
    suggested = review_queue(queue, set(), suggested=[1])
    assert set(suggested["suggested_label"]) == {1}
    assert review_queue(queue, set(), kinds=["outlier"]).empty
    with pytest.raises(ValueError, match="unknown issue kind"):
        review_queue(queue, set(), kinds=["typo"])


def test_confident_examples_and_top_classes():
    table = pd.DataFrame(
        {
            "ID": ["a", "b", "c", "d"],
            "given_label": [0, 0, 1, 1],
            "suggested_label": [0, 0, 1, 0],
            "label_score": [0.9, 0.6, 0.8, 0.1],
            "is_label_issue": [False, False, False, True],
            "prob_0": [0.9, 0.6, 0.2, 0.9],
            "prob_1": [0.1, 0.4, 0.8, 0.1],
        }
    )
    assert confident_examples(table, per_class=1) == {0: ["a"], 1: ["c"]}
    assert top_classes([0.1, 0.6, 0.3], k=1, keep=[0]) == [(1, 0.6), (0, 0.1)]
