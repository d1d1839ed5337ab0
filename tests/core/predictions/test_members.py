"""Prediction CSVs checked against the project's test IDs: every way a teammate's file can be wrong."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.predictions import members as members_module
from core.predictions.members import PredictionError, member_csv, parse_predictions, run_member

IDS = [f"t{i}.png" for i in range(8)]
K = 3


def _csv(rows: list[list], header: str = "ID,target") -> bytes:
    return (header + "\n" + "\n".join(",".join(str(v) for v in row) for row in rows) + "\n").encode()


def _good(probs: bool = False) -> list[list]:
    rows = []
    for i, name in enumerate(IDS):
        row = [name, i % K]
        if probs:
            p = [0.1] * K
            p[i % K] = 1 - 0.1 * (K - 1)
            row += p
        rows.append(row)
    return rows


def _parse(raw: bytes):
    return parse_predictions(raw, name="mate.csv", test_ids=IDS, num_classes=K)


def test_a_good_file_in_any_row_order_comes_back_in_test_order():
    rows = _good(probs=True)[::-1]
    member = _parse(_csv(rows, "ID,target,prob_0,prob_1,prob_2"))
    assert member.labels.tolist() == [i % K for i in range(8)]
    assert member.probs.shape == (8, K) and np.allclose(member.probs.sum(1), 1)
    again = _parse(member_csv(member, IDS).encode())
    np.testing.assert_array_equal(again.labels, member.labels)
    np.testing.assert_allclose(again.probs, member.probs, atol=1e-6)
    labels_only = _parse(b"\xef\xbb\xbf" + _csv(_good()).replace(b"\n", b"\r\n"))  # BOM, Windows line ends
    assert labels_only.probs is None and labels_only.labels.tolist() == member.labels.tolist()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"", "the file is empty"),
        (b"  \n\n", "the file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "a binary file"),
        (b"ID,target\n", "a header and no rows"),
        (b"id,label\nt0.png,1\n", "the header is id,label; expected ID,target"),
        (b"ID,target,confidence\nt0.png,1,0.9\n", "the header is ID,target,confidence"),
        (b"ID,target,prob_0,prob_1\nt0.png,1,0.5,0.5\n", "(3 classes)"),
    ],
)
def test_unusable_files_are_refused_with_what_is_wrong(raw, expected):
    with pytest.raises(PredictionError, match="mate.csv") as caught:
        _parse(raw)
    assert expected in str(caught.value)


def test_wrong_rows_are_named_a_few_then_counted():
    rows = _good()
    rows[2][1] = 7  # a target outside 0..2
    rows[3][1] = "cat"
    rows.append(["t1.png", 1])  # a duplicate
    rows += [[f"extra{i}.png", 0] for i in range(7)]  # unknown IDs
    rows = [r for r in rows if r[0] != "t5.png"]  # a test ID missing
    with pytest.raises(PredictionError) as caught:
        _parse(_csv(rows))
    message = str(caught.value)
    assert "2 rows with a duplicate ID: row 3 (t1.png)" in message
    assert "7 rows with an ID that is not a test ID: row" in message and "and 2 more" in message
    assert "1 test ID missing: t5.png" in message
    assert "2 rows with a target outside 0..2: row 4 (7), row 5 (cat)" in message


def test_probabilities_must_be_numbers_in_range_summing_to_one():
    rows = _good(probs=True)
    rows[0][2:] = [0.5, 0.5, 0.5]
    rows[1][2:] = [-0.1, 0.6, 0.5]
    rows[2][2:] = ["x", 0.5, 0.5]
    with pytest.raises(PredictionError, match=r"3 rows whose 3 probabilities are not numbers in 0..1 summing to 1"):
        _parse(_csv(rows, "ID,target,prob_0,prob_1,prob_2"))
    rows = _good(probs=True)
    rows[0][2:] = [0.333, 0.333, 0.333]  # rounding within the tolerance is fine, and renormalised
    assert np.allclose(_parse(_csv(rows, "ID,target,prob_0,prob_1,prob_2")).probs.sum(1), 1)


def test_huge_files_and_escape_codes_are_not_echoed(monkeypatch):
    monkeypatch.setattr(members_module, "MAX_BYTES", 50)
    with pytest.raises(PredictionError, match="MB is over the"):
        _parse(_csv(_good()))
    monkeypatch.undo()
    rows = _good()
    rows[0][0] = "\x1b[31mred" + "A" * 500
    with pytest.raises(PredictionError) as caught:
        _parse(_csv(rows))
    assert "\x1b" not in str(caught.value) and "\\x1b[31mred" in str(caught.value) and "A" * 60 not in str(caught.value)


def test_a_runs_test_probabilities_and_oof_make_a_member(tmp_path):
    run = tmp_path / "run1"
    run.mkdir()
    probs = np.full((8, K), 0.2)
    probs[np.arange(8), [2, 1, 0, 2, 1, 0, 2, 1]] = 0.6
    frame = pd.DataFrame(probs, columns=[f"prob_{k}" for k in range(K)])
    pd.concat([pd.DataFrame({"ID": IDS}), frame], axis=1).to_csv(run / "test_probs.csv", index=False)
    oof = pd.DataFrame({"ID": ["a", "b"], "fold": [0, 1], "given": [0, 1], "predicted": [0, 1]})
    pd.concat([oof, pd.DataFrame([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1]], columns=frame.columns)], axis=1).to_csv(
        run / "oof.csv", index=False
    )
    member = run_member(run, name="run1", test_ids=IDS, num_classes=K)
    assert member.labels.tolist() == [2, 1, 0, 2, 1, 0, 2, 1] and member.source == "run run1"
    assert list(member.oof.columns) == ["ID", "given", "prob_0", "prob_1", "prob_2"]
    (run / "test_probs.csv").unlink()
    with pytest.raises(PredictionError, match="run run1: no test predictions"):
        run_member(run, name="run1", test_ids=IDS, num_classes=K)
