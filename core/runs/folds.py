"""ONE fold splitter for both run kinds, so a scan and a train run with the same config hold out the same rows.

fold_splits(labels, folds=, seed=, groups=)    [(train rows, held-out rows)] per fold (the scan's view)
assign_folds(labels, folds=, seed=, groups=)   (N,) the fold each row is held out in, -1: never (the training's view)

groups: (N,) the original image each row is a copy of (an offline expansion's `original_ID`; an
original names itself; the first row of each group is the original). The originals are split by the
rule below, exactly as without copies. A copy is never held out (scored): out-of-fold predictions are
one per original image, as every page expects. It trains in every fold but the one that holds out its
original, so no fold trains on a copy of an image it validates on. With groups, assign_folds gives
copies -1 and the train rows of fold k are NOT `fold_of != k`: use fold_splits.

The rule (labels (N,) class indices, `folds` = data.folds, `seed` = data.seed):

    folds >= 2   StratifiedKFold(shuffle, seed); every row is held out exactly once.
                 - no class has `folds` images: as many folds as the largest class has images
                 - a class with fewer images than folds is kept, spread over as many folds as it
                   has images, and named in a message (fewer folds for everyone would cost every
                   other class training data)
                 - every class has a single image: plain KFold (stratifying is meaningless)
    folds == 1   one stratified 20% hold-out (StratifiedShuffleSplit); classes with a single image
                 always train (they cannot be both trained on and validated); where there are too
                 few images per class to stratify, a random 20% of the other rows

Messages about rare classes go through `callbacks.on_message`, so both run kinds log them.
"""

from __future__ import annotations

import warnings

import numpy as np

from core.runs.progress import Callbacks

HOLDOUT_FRACTION = 0.2  # data.folds = 1


def fold_splits(
    labels: np.ndarray,
    *,
    folds: int,
    seed: int,
    callbacks: Callbacks | None = None,
    groups: np.ndarray | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train rows, held-out rows) per fold: sorted index arrays into `labels` (N,); the rule is in the module docstring.

    The train rows of a fold are exactly the rows it does not hold out. Raises ValueError for
    fewer than 2 rows or folds < 1.
    """
    callbacks = callbacks or Callbacks()
    labels = np.asarray(labels)
    if len(labels) < 2:
        raise ValueError(f"a run needs at least 2 labelled train images, got {len(labels)}")
    if folds < 1:
        raise ValueError(f"data.folds must be at least 1, got {folds}")
    if groups is not None:
        return _grouped(labels, np.asarray(groups), folds=folds, seed=seed, callbacks=callbacks)
    if folds == 1:
        return [_holdout(labels, seed=seed, callbacks=callbacks)]
    return _k_folds(labels, folds=folds, seed=seed, callbacks=callbacks)


def assign_folds(
    labels: np.ndarray,
    *,
    folds: int,
    seed: int,
    callbacks: Callbacks | None = None,
    groups: np.ndarray | None = None,
) -> np.ndarray:
    """(N,) int64: the fold each row is held out in, 0..F-1; -1 for rows never held out (folds = 1's
    training part, and every copy when `groups` are given).

    The same split as `fold_splits` (F = its length = `fold_of.max() + 1`), seen row by row: without
    groups the train rows of fold k are `fold_of != k` (with groups, see the module docstring).
    """
    fold_of = np.full(len(labels), -1, dtype=np.int64)
    for k, (_, held) in enumerate(fold_splits(labels, folds=folds, seed=seed, callbacks=callbacks, groups=groups)):
        fold_of[held] = k
    return fold_of


def _grouped(
    labels: np.ndarray, groups: np.ndarray, *, folds: int, seed: int, callbacks: Callbacks
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Split the groups' first rows (the originals, in order) by the rule; each copy follows its original."""
    if len(groups) != len(labels):
        raise ValueError(f"groups has {len(groups)} entries but there are {len(labels)} rows")
    _, first, group_of = np.unique(groups, return_index=True, return_inverse=True)
    leaders = np.sort(first)  # one row per group, in row order: the originals' own split
    splits = fold_splits(labels[leaders], folds=folds, seed=seed, callbacks=callbacks)
    position = np.searchsorted(leaders, first[group_of])  # each row -> its original's place among the leaders
    is_original = np.zeros(len(labels), dtype=bool)
    is_original[leaders] = True
    result = []
    for _, held in splits:
        is_held = np.isin(position, held)  # the rows of the groups this fold holds out
        result.append((np.flatnonzero(~is_held), np.flatnonzero(is_held & is_original)))
    return result


def _k_folds(labels: np.ndarray, *, folds: int, seed: int, callbacks: Callbacks) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import KFold, StratifiedKFold

    n = len(labels)
    classes, counts = np.unique(labels, return_counts=True)
    if counts.max() < 2:  # every class has one image: stratification is meaningless
        callbacks.on_message("every class has a single image; folds are not stratified")
        return list(KFold(n_splits=min(folds, n), shuffle=True, random_state=seed).split(np.zeros(n)))
    n_splits = min(folds, int(counts.max()))
    if n_splits < folds:
        callbacks.on_message(f"only {n_splits} folds possible: no class has {folds} images")
    rare = [f"{c} ({k} image{'s' if k != 1 else ''})" for c, k in zip(classes, counts) if k < n_splits]
    if rare:
        callbacks.on_message(
            f"class(es) with fewer images than the {n_splits} folds: {', '.join(rare)}; they are held out in "
            "fewer folds, and an image that is its class's only one cannot be predicted as that class"
        )
    splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        return list(splitter.split(np.zeros(n), labels))


def _holdout(labels: np.ndarray, *, seed: int, callbacks: Callbacks) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

    classes, counts = np.unique(labels, return_counts=True)
    single = np.isin(labels, classes[counts < 2])
    pool = np.flatnonzero(~single)  # the rows that may be held out
    try:
        splitter = StratifiedShuffleSplit(n_splits=1, test_size=HOLDOUT_FRACTION, random_state=seed)
        _, held = next(splitter.split(np.zeros(len(pool)), labels[pool]))
    except ValueError:  # fewer held-out (or training) rows than classes
        callbacks.on_message("too few images per class for a stratified hold-out; holding out a random 20%")
        if len(pool) < 2:  # every class has a single image: nothing else can be held out
            pool = np.arange(len(labels))
        _, held = next(ShuffleSplit(n_splits=1, test_size=HOLDOUT_FRACTION, random_state=seed).split(pool))
    held_rows = np.sort(pool[held])
    return np.setdiff1d(np.arange(len(labels)), held_rows), held_rows
