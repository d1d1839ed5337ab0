"""core.runs.folds: ONE fold splitter, so a scan and a train run with the same config hold out the same rows.

The rule on synthetic labels, then through the two runs' own code paths (the scan with stand-in
embeddings, the training with a stand-in for the model's fit): their oof.csv hold out the same
rows in the same folds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.config import resolve_config
from core.project.layout import open_layout
from core.runs.folder import create_run
from core.runs.folds import assign_folds, fold_splits
from core.runs.inputs import prepare_inputs
from core.runs.progress import Callbacks


class Messages(Callbacks):
    def __init__(self) -> None:
        self.messages: list[str] = []

    def on_message(self, text: str) -> None:
        self.messages.append(text)


RARE = np.array([0] * 20 + [1] * 20 + [2] * 2 + [3])  # class 2 has 2 images, class 3 one
CASES = {
    "5 folds, rare classes": (RARE, 5),
    "1 fold, a single-image class": (np.array([0] * 10 + [1] * 10 + [2]), 1),
    "9 folds, largest class 4": (np.repeat([0, 1], 4), 9),
    "3 folds, one image per class": (np.arange(7), 3),
    "1 fold, too few per class to stratify": (np.array([0, 0, 1, 1, 2, 2, 3]), 1),
    "1 fold, one image per class": (np.arange(6), 1),
}


@pytest.mark.parametrize(("labels", "folds"), list(CASES.values()), ids=list(CASES))
def test_both_views_hold_out_the_same_rows(labels: np.ndarray, folds: int):
    splits = fold_splits(labels, folds=folds, seed=3)
    fold_of = assign_folds(labels, folds=folds, seed=3)
    assert len(splits) == fold_of.max() + 1
    for k, (train_rows, held_rows) in enumerate(splits):
        np.testing.assert_array_equal(held_rows, np.flatnonzero(fold_of == k))
        np.testing.assert_array_equal(train_rows, np.flatnonzero(fold_of != k))
        assert len(held_rows) > 0 and len(train_rows) > 0
    if folds >= 2:
        assert (fold_of >= 0).all()  # k folds: every row held out exactly once
    else:  # 20% of the rows that may be held out: not a class's only image, unless every class has one
        single = np.bincount(labels)[labels] == 1
        pool = int((~single).sum()) if (~single).sum() >= 2 else len(labels)
        assert len(splits) == 1 and (fold_of == 0).sum() == int(np.ceil(0.2 * pool))
        assert pool == len(labels) or (fold_of[single] == -1).all()


def test_folds_are_stratified_and_one_fold_is_a_20_percent_holdout():
    labels = np.repeat([0, 1, 2], [50, 30, 20])
    folds = assign_folds(labels, folds=5, seed=0)
    for k in range(3):
        assert sorted(np.bincount(folds[labels == k], minlength=5)) in ([10] * 5, [6] * 5, [4] * 5)
    holdout = assign_folds(labels, folds=1, seed=0)
    assert set(holdout) == {-1, 0} and (holdout == 0).sum() == 20
    assert [(holdout[labels == k] == 0).sum() for k in range(3)] == [10, 6, 4]


def test_fold_splits_keep_a_rare_class_and_name_it():
    recorder = Messages()
    splits = fold_splits(RARE, folds=5, seed=0, callbacks=recorder)
    assert len(splits) == 5
    held = np.concatenate([h for _, h in splits])
    assert sorted(held) == list(range(len(RARE)))  # every image held out exactly once
    for train_rows, held_rows in splits:
        assert not set(train_rows) & set(held_rows)
        assert set(np.bincount(RARE[held_rows], minlength=4)[:2]) == {4}  # stratified
    assert any("2 (2 images)" in m and "3 (1 image)" in m for m in recorder.messages)


def test_single_holdout_keeps_a_one_image_class_in_training():
    labels = np.array([0] * 10 + [1] * 10 + [2])
    [(train_rows, held_rows)] = fold_splits(labels, folds=1, seed=0)
    assert 20 in train_rows and 20 not in held_rows
    assert sorted(np.bincount(labels[held_rows])) == [2, 2]
    assert len(train_rows) + len(held_rows) == len(labels)


def test_more_folds_than_the_largest_class_uses_fewer_folds_and_says_so():
    recorder = Messages()
    fold_of = assign_folds(np.repeat([0, 1], 4), folds=9, seed=0, callbacks=recorder)
    assert sorted(np.bincount(fold_of)) == [2, 2, 2, 2]  # 4 folds, one image of each class in each
    assert "only 4 folds possible: no class has 9 images" in recorder.messages


def test_unstratifiable_labels_are_split_anyway_and_named():
    recorder = Messages()
    fold_of = assign_folds(np.arange(7), folds=3, seed=0, callbacks=recorder)
    assert sorted(np.bincount(fold_of)) == [2, 2, 3]
    assert "every class has a single image; folds are not stratified" in recorder.messages
    recorder = Messages()
    holdout = assign_folds(np.array([0, 0, 1, 1, 2, 2, 3]), folds=1, seed=0, callbacks=recorder)
    assert holdout[6] == -1 and (holdout == 0).sum() == 2  # the one-image class still trains
    assert any("random 20%" in m for m in recorder.messages)


def test_too_few_rows_or_folds_are_refused():
    with pytest.raises(ValueError, match="at least 2 labelled train images, got 1"):
        fold_splits(np.array([0]), folds=5, seed=0)
    with pytest.raises(ValueError, match="data.folds must be at least 1, got 0"):
        fold_splits(np.array([0, 1]), folds=0, seed=0)


# ---------------------------------------------------------------- through the scan's and the training's code


@pytest.fixture
def uneven_project(make_project, tmp_path: Path) -> Path:
    """32 images of 4 classes relabelled 15 / 14 / 2 / 1: a class with fewer images than 3 folds, and one with one."""
    root = make_project(tmp_path, classes=("a", "b", "c", "d"), per_class=8)
    train = pd.read_csv(root / "train.csv")
    train["target"] = np.repeat([0, 1, 2, 3], [15, 14, 2, 1])
    train.to_csv(root / "train.csv", index=False)
    return root


def _scan_oof(root: Path, folds: int, monkeypatch: pytest.MonkeyPatch) -> tuple[pd.DataFrame, list[str]]:
    """(oof.csv, the messages) of a scan, its embeddings replaced by random features (no backbone)."""
    from core.embeddings import features
    from core.scan.run import run_scan

    def embed(paths, **_):
        return np.random.default_rng(len(paths)).normal(size=(len(paths), 8)).astype(np.float32)

    monkeypatch.setattr(features, "compute_embeddings", embed)
    config = resolve_config(kind="scan", overrides=[f"data.folds={folds}", "data.seed=7", "scan.C=1"])
    run_dir = create_run(open_layout(root), config)
    messages = Messages()
    run_scan(prepare_inputs(run_dir, config), messages)
    return pd.read_csv(run_dir / "oof.csv", dtype={"ID": str}).sort_values("ID"), messages.messages


def _train_oof(root: Path, folds: int, monkeypatch: pytest.MonkeyPatch) -> tuple[pd.DataFrame, list[str]]:
    """(oof.csv, the messages) of a train run whose per-fold fit is a stand-in (no model is built)."""
    from core.training import fit
    from core.training.loop import FoldResult

    class Predictor:
        def prepare(self, paths):
            return paths

        def probs(self, model, paths, *, tta="none"):
            return np.full((len(paths), 4), 0.25)

        def features(self, model, paths):
            return np.zeros((len(paths), 8), dtype=np.float32)

    def train_fold(inputs, *, fold, split, **_):
        held = len(split[1])
        return None, FoldResult(state={}, val_probs=np.full((held, 4), 0.25)), Predictor()

    monkeypatch.setattr(fit, "_train_fold", train_fold)
    overrides = [f"data.folds={folds}", "data.seed=7", "train.device=cpu", "data.num_workers=0"]
    config = resolve_config(kind="train", overrides=overrides)
    run_dir = create_run(open_layout(root), config)
    messages = Messages()
    fit.train_folds(prepare_inputs(run_dir, config), messages)
    return pd.read_csv(run_dir / "oof.csv", dtype={"ID": str}).sort_values("ID"), messages.messages


@pytest.mark.parametrize("folds", [3, 1])
def test_a_scan_and_a_train_run_hold_out_the_same_rows(uneven_project: Path, folds: int, monkeypatch):
    scan, scan_messages = _scan_oof(uneven_project, folds, monkeypatch)
    train, train_messages = _train_oof(uneven_project, folds, monkeypatch)
    assert scan[["ID", "fold", "given"]].values.tolist() == train[["ID", "fold", "given"]].values.tolist()
    if folds == 3:
        assert len(scan) == 32 and sorted(scan["fold"].unique()) == [0, 1, 2]
        rare = next(m for m in scan_messages if "fewer images than the 3 folds" in m)
        assert "2 (2 images)" in rare and "3 (1 image)" in rare and rare in train_messages
    else:
        assert len(scan) == 7 and set(scan["fold"]) == {0}  # ceil(20% of 32) held out
        assert "d_7.png" not in set(scan["ID"])  # the single-image class (3) always trains


def test_copies_train_beside_their_original_are_never_scored_and_originals_keep_their_folds():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 60)
    originals = [f"img{i}" for i in range(60)]
    # three copies of each original, appended after the originals (as an expansion's labels source)
    groups = np.array(originals + [o for o in originals for _ in range(3)])
    all_labels = np.concatenate([labels, np.repeat(labels, 3)])
    plain = fold_splits(labels, folds=5, seed=1)
    grouped = fold_splits(all_labels, folds=5, seed=1, groups=groups)
    assert len(grouped) == len(plain)
    for (train_plain, held_plain), (train, held) in zip(plain, grouped):
        np.testing.assert_array_equal(held, held_plain)  # only originals are held out, in their own folds
        assert not set(groups[train]) & set(groups[held])  # no copy of a held-out image is trained on
        assert len(train) == 4 * len(train_plain)  # every other original with its three copies
    fold_of = assign_folds(all_labels, folds=5, seed=1, groups=groups)
    np.testing.assert_array_equal(fold_of[:60], assign_folds(labels, folds=5, seed=1))
    assert (fold_of[60:] == -1).all()  # a copy is never scored
