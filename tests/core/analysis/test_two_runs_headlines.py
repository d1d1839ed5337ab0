"""core.analysis.two_runs.compare_headlines: the hold-out delta leads; OOF deltas only on the same labels."""

from __future__ import annotations

import pytest

from core.analysis.two_runs import compare_headlines

A = {"oof_macro_f1": 0.80, "test_macro_f1": 0.70}
B = {"oof_macro_f1": 0.90, "test_macro_f1": 0.72}


def test_runs_on_different_labels_get_no_oof_delta_and_the_hold_out_leads():
    rows = compare_headlines(A, B, labels_a="original", labels_b="v2")
    assert [r["key"] for r in rows] == ["test_macro_f1", "oof_macro_f1"]
    assert rows[0]["delta"] == pytest.approx(0.02) and rows[0]["note"] == ""
    assert rows[1]["delta"] is None
    assert rows[1]["note"] == "not comparable: A is scored on labels original, B on v2"


def test_runs_on_the_same_labels_compare_both_scores():
    rows = compare_headlines(A, B, labels_a="v2", labels_b="v2")
    assert [round(r["delta"], 4) for r in rows] == [0.02, 0.1]
    no_test = compare_headlines({"oof_macro_f1": 0.8}, {"oof_macro_f1": 0.9}, labels_a="v1", labels_b="v1")
    assert [r["key"] for r in no_test] == ["oof_macro_f1"]
