"""ONE fold splitter for both run kinds, so a scan and a train run with the same config hold out the same rows.

assign_folds(labels, folds=, seed=)   (N,) the fold each row is validated in (-1: never)
fold_splits(labels, folds=, seed=)    [(train rows, held-out rows)] per fold
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from core.runs.progress import Callbacks

if TYPE_CHECKING:
    pass


HOLDOUT_SPLITS = 5  # data.folds=1: one stratified fold of five (20%) is the hold-out


def assign_folds(labels: np.ndarray, *, folds: int, seed: int) -> np.ndarray:
    """(N,) the fold each row is validated in, 0..folds-1, stratified by label.

    folds=1 is a single stratified 20% hold-out: those rows get fold 0, the rest -1 (train only).
    A class with fewer rows than folds is spread as far as it goes (scikit-learn warns; we don't).
    """
    from sklearn.model_selection import StratifiedKFold

    labels = np.asarray(labels)
    splits = HOLDOUT_SPLITS if folds == 1 else folds
    largest = int(np.bincount(labels).max()) if len(labels) else 0
    if splits > largest:
        raise ValueError(
            f"data.folds={folds}: stratified splitting needs a class with at least {splits} images; "
            f"the largest class has {largest}"
        )
    assigned = np.full(len(labels), -1, dtype=int)
    splitter = StratifiedKFold(n_splits=splits, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "the least populated class has only n members"
        for fold, (_, val_idx) in enumerate(splitter.split(np.zeros(len(labels)), labels)):
            if folds == 1 and fold > 0:
                break
            assigned[val_idx] = fold
    return assigned


HOLDOUT_FRACTION = 0.2  # data.folds = 1


def fold_splits(
    labels: np.ndarray, *, folds: int, seed: int, callbacks: Callbacks | None = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train rows, held-out rows) per fold; index arrays into `labels` (N,).

    folds >= 2: StratifiedKFold. A class with fewer members than folds is kept (its members are
    spread over as many folds as it has images) and named in a message: reducing the number of
    folds for everyone would cost every other class training data. folds = 1: a stratified 20%
    hold-out; classes with a single image stay in the training part.
    """
    from sklearn.model_selection import KFold, ShuffleSplit, StratifiedKFold, StratifiedShuffleSplit

    callbacks = callbacks or Callbacks()
    labels = np.asarray(labels)
    n = len(labels)
    classes, counts = np.unique(labels, return_counts=True)
    if n < 2:
        raise ValueError(f"a scan needs at least 2 labelled train images, got {n}")
    if folds >= 2:
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

    # One hold-out. A class with a single image cannot be both trained on and validated: it trains.
    single = np.flatnonzero(np.isin(labels, classes[counts < 2]))
    pool = np.flatnonzero(~np.isin(labels, classes[counts < 2]))
    try:
        splitter = StratifiedShuffleSplit(n_splits=1, test_size=HOLDOUT_FRACTION, random_state=seed)
        train_part, held = next(splitter.split(np.zeros(len(pool)), labels[pool]))
        return [(np.sort(np.concatenate([pool[train_part], single])), np.sort(pool[held]))]
    except ValueError:  # fewer held-out (or training) rows than classes
        callbacks.on_message("too few images per class for a stratified hold-out; holding out a random 20%")
        train_rows, held_rows = next(
            ShuffleSplit(n_splits=1, test_size=HOLDOUT_FRACTION, random_state=seed).split(np.zeros(n))
        )
        return [(np.sort(train_rows), np.sort(held_rows))]
