"""cleanlab on seeded synthetic arrays: label issues with known flips, Datalab's planted cases, run averaging, cache, queue."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.config import resolve_config
from core.issues.data_issues import EXACT_ROWS, data_issues
from core.issues.label_issues import CONFIDENT, FILTERS, ISSUE_COLUMNS, RANKED_CALIBRATED, label_issues
from core.issues.run_issues import issues_for_runs, run_pred_probs
from core.runs.folder import create_run
from tests.support.builders import noisy_problem, overlapping_problem, probs_run


def planted_embeddings(seed: int = 0):
    """Class clusters with a near-duplicate pair (different labels), a train copy of a test image,
    an outlier, and a class with 4 members among ~100 per class."""
    rng = np.random.default_rng(seed)
    sizes = [100, 100, 100, 4]
    labels = np.concatenate([np.full(s, c) for c, s in enumerate(sizes)])
    centres = rng.normal(0, 1, (4, 16)) * 6
    train = centres[labels] + rng.normal(0, 1, (len(labels), 16))
    train[150] = train[10] + 1e-4  # near copies, labels 0 and 1
    test = rng.normal(0, 1, (40, 16)) * 6  # random directions: far from train and from each other
    train[250] = test[5] + 1e-4  # leakage
    train[60] = rng.normal(0, 1, 16) - 60  # outlier
    return labels, train, test


def test_label_issues_find_the_seeded_flips():
    true, given, probs, flipped = noisy_problem()
    ids = [f"img_{i:04d}.png" for i in range(len(given))]
    # An under-confident model (right ~90% of the time, rarely sure): ranking by the calibrated count.
    table = label_issues(given, probs, ids=ids, filter_by=RANKED_CALIBRATED)
    assert list(table.columns) == ISSUE_COLUMNS
    assert table["label_score"].is_monotonic_increasing
    flagged = set(table.loc[table.is_label_issue, "ID"])
    truly = {ids[i] for i in np.flatnonzero(flipped)}
    precision = len(flagged & truly) / len(flagged)
    recall = len(flagged & truly) / len(truly)
    assert precision >= 0.8 and recall >= 0.8, (precision, recall)
    top = set(table["ID"].head(len(truly)))
    assert len(top & truly) / len(truly) >= 0.8  # precision at k = number of flips
    # The suggestion of a caught flip is mostly its true class.
    caught = table.loc[table.ID.isin(flagged & truly)]
    truth = {ids[i]: true[i] for i in range(len(ids))}
    assert np.mean([s == truth[i] for i, s in zip(caught.ID, caught.suggested_label)]) >= 0.9
    # Given labels are passed through untouched.
    assert dict(zip(table.ID, table.given_label)) == dict(zip(ids, given))


def flags_in_input_order(table: pd.DataFrame) -> np.ndarray:
    return table.sort_values("ID", key=lambda c: c.astype(int))["is_label_issue"].to_numpy()


def test_on_overlapping_classes_the_default_flags_the_confident_errors_not_the_ambiguous_images():
    # Classes 0 and 1 overlap: the model splits images of either between the two. The calibrated
    # count (the default until issue 10) takes those in and flags 2.5x the real number of flips.
    _, given, probs, flipped = overlapping_problem()
    old = flags_in_input_order(label_issues(given, probs, filter_by=RANKED_CALIBRATED))
    assert old.sum() > 2 * flipped.sum() and (old & flipped).sum() / old.sum() < 0.5
    new = flags_in_input_order(label_issues(given, probs))
    precision, recall = (new & flipped).sum() / new.sum(), (new & flipped).sum() / flipped.sum()
    assert new.sum() <= flipped.sum() and precision >= 0.85 and recall >= 0.6, (new.sum(), precision, recall)
    # Flags are exactly the rows the model confidently puts in another class.
    confident = (probs.argmax(axis=1) != given) & (probs.max(axis=1) >= CONFIDENT)
    np.testing.assert_array_equal(new, confident)


def test_a_weaker_model_flags_fewer_images_not_more():
    # The same flips scored by a model that is right ~90% of the time but rarely sure: the default
    # flags shrink with its confidence, and what it flags stays right.
    _, given, probs, flipped = noisy_problem(seed=3)
    flags = flags_in_input_order(label_issues(given, probs))
    assert 0 < flags.sum() < flipped.sum() and (flags & flipped).sum() / flags.sum() >= 0.9
    table = label_issues(given, probs)
    assert (table.loc[table.is_label_issue, "suggested_label"] != table.loc[table.is_label_issue, "given_label"]).all()


def test_ranked_calibrated_flags_are_the_head_of_the_ranking():
    from cleanlab.count import num_label_issues

    _, given, probs, _ = noisy_problem(seed=3)
    table = label_issues(given, probs, filter_by=RANKED_CALIBRATED)
    flags = table["is_label_issue"].to_numpy()
    count = num_label_issues(given, probs, estimation_method="off_diagonal_calibrated")
    assert 0 < flags.sum() <= count
    assert not flags[flags.argmin() :].any()  # once unflagged, never flagged again further down
    assert (table.loc[flags, "suggested_label"] != table.loc[flags, "given_label"]).all()


@pytest.mark.parametrize("filter_by", FILTERS)
def test_every_filter_runs_and_a_wrong_name_is_refused(filter_by):
    _, given, probs, flipped = noisy_problem(n=400, seed=4)
    table = label_issues(given, probs, filter_by=filter_by).sort_values("ID", key=lambda c: c.astype(int))
    flags = table["is_label_issue"].to_numpy()
    assert flags.any() and (flags & flipped).sum() / flags.sum() > 0.5
    with pytest.raises(ValueError, match="filter_by must be one of confident, ranked_calibrated"):
        label_issues(given, probs, filter_by="by_magic")


def test_label_issues_with_probs_and_a_class_nobody_carries():
    true, given, probs, _ = noisy_problem(n=300, k=4, seed=1)
    given = np.where(given == 3, 2, given)  # class 3 exists in the probabilities only
    table = label_issues(given, probs, with_probs=True)
    assert [c for c in table.columns if c.startswith("prob_")] == ["prob_0", "prob_1", "prob_2", "prob_3"]
    assert table["is_label_issue"].any()


@pytest.mark.parametrize(
    ("labels", "probs", "message"),
    [
        ([0, 1, 2], np.full((2, 3), 1 / 3), "labels has 3 rows but pred_probs has 2"),
        ([0, 1], np.full(2, 0.5), "pred_probs must be 2-D"),
        ([0, 5], np.full((2, 3), 1 / 3), r"class indices 0..2; rows \[1\] hold \[5\]"),
        ([0, 1], [[0.5, 0.6], [0.5, 0.5]], r"rows \[0\] sum to"),
        ([0, 1], [[np.nan, 1.0], [0.5, 0.5]], "NaN or infinite"),
        ([0, 1], [[-0.5, 1.5], [0.5, 0.5]], "negative"),
        ([0.5, 1], np.full((2, 2), 0.5), "class indices"),
        ([], np.zeros((0, 2)), "empty"),
    ],
)
def test_label_issues_name_what_is_wrong(labels, probs, message):
    with pytest.raises(ValueError, match=message):
        label_issues(labels, probs)


def test_label_issues_refuse_repeated_ids():
    with pytest.raises(ValueError, match="repeated: a"):
        label_issues([0, 1], np.full((2, 2), 0.5), ids=["a", "a"])


@pytest.mark.parametrize("exact_rows", [EXACT_ROWS, 0], ids=["exact-search", "approximate-graph"])
def test_datalab_finds_planted_duplicates_leakage_outliers_and_the_rare_class(exact_rows):
    labels, train, test = planted_embeddings()
    ids = [f"tr_{i}" for i in range(len(labels))]
    test_ids = [f"te_{i}" for i in range(len(test))]
    found = data_issues(train, labels, ids=ids, test_embeddings=test, test_ids=test_ids, exact_rows=exact_rows)
    table = found.table.set_index("ID")
    assert table.loc["tr_10", "is_near_duplicate_issue"] and table.loc["tr_150", "is_near_duplicate_issue"]
    group = table.loc["tr_10", "near_duplicate_group"]
    assert group >= 0 and table.loc["tr_150", "near_duplicate_group"] == group
    members = found.groups.loc[(found.groups.kind == "near_duplicate") & (found.groups.group == group), "ID"]
    assert set(members) == {"tr_10", "tr_150"}
    assert table.loc["tr_250", "is_leakage_issue"]
    leak = found.groups.loc[found.groups.kind == "leakage"]
    assert set(leak.loc[leak.group == table.loc["tr_250", "leakage_group"], "ID"]) == {"tr_250", "te_5"}
    assert table["is_leakage_issue"].sum() == 1
    assert table.loc["tr_60", "is_outlier_issue"]
    assert table.loc["tr_60", "outlier_score"] < 1e-3 < table["outlier_score"].median()
    rare = table.loc[table.is_class_imbalance_issue].index
    assert set(rare) == {f"tr_{i}" for i in range(300, 304)}


def test_data_issues_name_what_is_wrong():
    labels, train, test = planted_embeddings()
    with pytest.raises(ValueError, match="embeddings has 10 rows but labels has 304"):
        data_issues(train[:10], labels)
    with pytest.raises(ValueError, match="test_embeddings have 3 dimensions but embeddings have 16"):
        data_issues(train, labels, test_embeddings=test[:, :3])
    bad = train.copy()
    bad[7, 2] = np.nan
    with pytest.raises(ValueError, match=r"NaN or infinite values in rows \[7\]"):
        data_issues(bad, labels)


def test_averaging_runs_ranks_flips_better_than_either_run(layout):
    true, given, probs_a, flipped = noisy_problem(n=800, seed=2)
    rng = np.random.default_rng(9)  # a second model, right about as often, with errors of its own
    logits = rng.normal(0, 1.0, probs_a.shape)
    logits[np.arange(len(true)), true] += 3.0
    probs_b = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    probs_run(layout, "run-a", given, probs_a)
    probs_run(layout, "run-b", given, probs_b)
    ids, labels, averaged = run_pred_probs([layout.runs_dir / "run-a", layout.runs_dir / "run-b"])
    assert len(ids) == 800 and np.array_equal(labels, given)
    assert np.allclose(averaged, (probs_a + probs_b) / 2, atol=1e-6)

    k = int(flipped.sum())

    def precision_at_k(probs) -> float:
        table = label_issues(given, probs, ids=ids)
        return float(np.isin(table["ID"].head(k), np.asarray(ids)[flipped]).mean())

    assert precision_at_k(averaged) > max(precision_at_k(probs_a), precision_at_k(probs_b))


def test_run_pred_probs_refuses_runs_on_different_labels(layout):
    _, given, probs, _ = noisy_problem(n=60, seed=3)
    probs_run(layout, "run-a", given, probs)
    other = given.copy()
    other[5] = (other[5] + 1) % 5
    probs_run(layout, "run-b", other, probs)
    with pytest.raises(ValueError, match=r"different labels for 1 image\(s\), e.g. img_0005.png"):
        run_pred_probs([layout.runs_dir / "run-a", layout.runs_dir / "run-b"])
    create_run(layout, resolve_config(kind="scan"), run_id="run-c")
    with pytest.raises(ValueError, match="run run-c has no oof.csv"):
        run_pred_probs([layout.runs_dir / "run-c"])


def test_issues_are_cached_per_run_and_recomputed_when_the_run_changes(layout):
    _, given, probs, _ = noisy_problem(n=300, seed=4)
    labels, train, _ = planted_embeddings()
    probs_run(layout, "run-a", given, probs, embeddings=train[:300].astype(np.float32))
    first = issues_for_runs(layout, ["run-a"])
    assert first.seconds > 0 and first.data is not None and not first.notes
    again = issues_for_runs(layout, ["run-a"])
    assert again.seconds == 0  # read back, not recomputed
    pd.testing.assert_frame_equal(again.labels, first.labels)
    pd.testing.assert_frame_equal(again.data.table, first.data.table)
    # The run is rewritten: a new key, computed afresh.
    import os

    oof = layout.runs_dir / "run-a" / "oof.csv"
    os.utime(oof, ns=(oof.stat().st_atime_ns, oof.stat().st_mtime_ns + 10**9))
    assert issues_for_runs(layout, ["run-a"]).key != first.key
    with pytest.raises(ValueError, match="no run 'nope'"):
        issues_for_runs(layout, ["nope"])


def test_a_run_without_embeddings_still_gets_label_issues(layout):
    _, given, probs, _ = noisy_problem(n=200, seed=5)
    probs_run(layout, "run-a", given, probs)
    result = issues_for_runs(layout, ["run-a"])
    assert result.data is None and "wrote no embeddings" in result.notes[0]
    assert set(result.queue()["kinds"]) <= {"label"}


def test_cli_issues_writes_the_ranked_csv(layout, run_cli, tmp_path):
    _, given, probs, _ = noisy_problem(n=150, seed=7)
    probs_run(layout, "20260101-000000-scan-aaaa", given, probs)
    out = tmp_path / "issues.csv"
    code, stdout, stderr = run_cli(["issues", "--project", str(layout.root), "--out", str(out)])
    assert code == 0, stderr
    assert stdout.strip().splitlines()[-1] == str(out)
    table = pd.read_csv(out)
    assert list(table.columns) == ISSUE_COLUMNS and len(table) == 150
    assert table["label_score"].is_monotonic_increasing
    assert f"{int(table.is_label_issue.sum())} of 150 train labels flagged" in stderr
    code, stdout, _ = run_cli(["issues", "--project", str(layout.root), "--run", "nope"])
    assert code == 1
    # cleanlab's own filters are one flag away; a wrong name is refused with the choices.
    pruned = tmp_path / "pruned.csv"
    args = ["issues", "--project", str(layout.root), "--labels-only", "--out", str(pruned)]
    code, _, stderr = run_cli([*args, "--filter-by", "prune_by_noise_rate"])
    assert code == 0, stderr
    ids = [f"img_{i:04d}.png" for i in range(len(given))]  # as _fixture_run names them
    expected = label_issues(given, probs, ids=ids, filter_by="prune_by_noise_rate")
    assert set(pd.read_csv(pruned).query("is_label_issue")["ID"]) == set(expected.query("is_label_issue")["ID"])
    code, _, stderr = run_cli([*args, "--filter-by", "by_magic"])
    assert code == 1 and "filter_by must be one of confident, ranked_calibrated, prune_by_noise_rate" in stderr
