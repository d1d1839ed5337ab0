"""class_balance: images per class from a run's label table, rare classes from Datalab's flags."""

from __future__ import annotations

import pandas as pd

from core.issues.class_balance import class_balance


def test_counts_every_class_in_order_and_marks_the_classes_datalab_flags():
    labels = pd.DataFrame({"ID": ["a", "b", "c", "d", "e"], "given_label": [0, 0, 0, 2, 2]})
    table = pd.DataFrame({"ID": ["a", "d", "e"], "is_class_imbalance_issue": [False, True, True]})
    balance = class_balance(labels, table, classes=[0, 1, 2])
    assert balance["target"].tolist() == [0, 1, 2]
    assert balance["images"].tolist() == [3, 0, 2]  # a class without images is still listed
    assert balance["is_rare"].tolist() == [False, False, True]


def test_without_datalab_no_class_is_rare():
    labels = pd.DataFrame({"ID": ["a", "b"], "given_label": [1, 1]})
    balance = class_balance(labels, None, classes=[0, 1])
    assert balance["images"].tolist() == [0, 2] and not balance["is_rare"].any()
