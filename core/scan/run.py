"""The scan run: frozen-backbone embeddings + a k-fold logistic regression (DESIGN.md "scan").

    run_scan(inputs, callbacks)      the job (core.runs.entry.execute calls it for kind = scan)

Embeddings of every train and test image come from core.embeddings.features (cached per project;
core.scan.embed says what is embedded). A StandardScaler + multinomial LogisticRegression is
fitted on each fold's training part; its probabilities on the held-out part are the out-of-fold
predictions, and the fold models' mean on the test images is the test prediction. scan.C = 0 fits
every C of C_GRID in each fold and keeps the one whose out-of-fold probabilities have the lowest
log-loss (the log names each C's loss; the status metrics keep the choice as `scan_C`).

A recipe scan: scan.copies = n > 0 embeds n copies of every train image through the noise recipe
(aug.recipe) and fits each fold on its training images AND their copies. Folds are drawn over the
original images alone, so a held-out image's copies are never in its fold's training part; oof.csv
holds the originals only (label issues are ranked on them), and the pruning pass leaves an image out
together with its copies. scan.tta averages each fold model's test probabilities over the 8
dihedral views of every test image (rot90 x 4, each with and without a mirror), then the folds'
mean as before. It writes the same artifacts as a training run:

    oof.csv  test_probs.csv  submission.csv  embeddings.npy  embeddings_ids.csv
    weights/fold<k>.safetensors   tensors coef (C, D), intercept (C,), classes (C,) int64,
                                  scaler_mean (D,), scaler_scale (D,); C = classes seen in that
                                  fold's training part (see `predict_linear`)

Folds: core.runs.folds.fold_splits, the same rows a train run with the same data.folds and
data.seed holds out (data.folds = 1 is one stratified 20% hold-out and only those rows get
out-of-fold probabilities). Progress: embedding (every part, copies and views included) is ~80%
of the bar, the folds the rest.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from core.runs.folds import fold_splits
from core.runs.progress import Callbacks
from core.scan.embed import ScanEmbeddings, embed_scan
from core.scan.linear import fit_linear, log_loss, predict_linear, save_head

if TYPE_CHECKING:
    import pandas as pd

    from core.runs.inputs import RunInputs


EMBEDDING_SHARE = 0.8  # of the progress bar


# scan.C = 0: the C with the lowest out-of-fold log-loss. On the demo (1,550 images, 1,752-d
# features) it picks 0.01; the old fixed C = 1 overfitted (OOF accuracy 0.925 vs 0.944 at
# 0.01 against the true labels) and cleanlab flagged 0.71 precision instead of 0.85+.
C_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)


def run_scan(inputs: RunInputs, callbacks: Callbacks) -> dict[str, float]:
    """Embed, fit the folds, write the artifacts (see the module docstring); returns {"scan_C": the C used}."""
    data = inputs.config.data
    train, test = inputs.train.reset_index(drop=True), inputs.test.reset_index(drop=True)
    labels = train["target"].to_numpy(dtype=np.int64)
    started = time.perf_counter()
    embedded = embed_scan(inputs, train, test, callbacks, span=(0.0, EMBEDDING_SHARE))
    embed_s = time.perf_counter() - started

    # An offline expansion's copies (labels "augmented:<name>") train beside their original, never scored.
    groups = train["original_ID"].astype(str).to_numpy() if "original_ID" in train else None
    splits = fold_splits(labels, folds=data.folds, seed=data.seed, callbacks=callbacks, groups=groups)
    grid = _CGrid.create(inputs.config.scan.C, n_train=len(train), n_test=len(test), num_classes=inputs.num_classes)
    if len(grid.Cs) > 1:
        callbacks.on_message(
            f"choosing the regularisation C from {', '.join(f'{c:g}' for c in grid.Cs)} by out-of-fold log-loss"
        )
    prune = inputs.config.scan.prune
    passes = 2 if prune > 0 and len(splits) > 1 else 1
    fit = dict(splits=splits, embedded=embedded, labels=labels, seed=data.seed)
    ids = dict(train_ids=train["ID"], test_ids=test["ID"])
    span = (1 - EMBEDDING_SHARE) / passes
    first_span = (EMBEDDING_SHARE, EMBEDDING_SHARE + span)
    _fit_folds(inputs, grid, callbacks, progress=first_span, final=passes == 1, **fit, **ids)
    if len(grid.Cs) > 1:
        callbacks.on_message(
            "out-of-fold log-loss by C: "
            + ", ".join(f"{C:g}: {loss:.3f}" for C, loss in zip(grid.Cs, grid.losses))
            + f"; chosen C = {grid.Cs[grid.best]:g}"
        )
    metrics = {"scan_C": float(grid.Cs[grid.best])}
    if prune > 0 and len(splits) > 1:
        first = grid.oof[grid.best]
        scored = grid.fold_of >= 0
        exclude = scored & (np.nan_to_num(first).argmax(axis=1) != labels) & (np.nan_to_num(first).max(axis=1) >= prune)
        callbacks.on_message(
            f"pruning pass: refitting every fold without the {int(exclude.sum())} training images the first pass "
            f"puts in another class with probability >= {prune:g} (they are still scored)"
        )
        grid = _CGrid.create(grid.Cs[grid.best], n_train=len(train), n_test=len(test), num_classes=inputs.num_classes)
        _fit_folds(inputs, grid, callbacks, progress=(first_span[1], 1.0), exclude=exclude, final=True, **fit, **ids)
        metrics["scan_pruned"] = float(exclude.sum())

    fit_s = time.perf_counter() - started - embed_s
    callbacks.on_message(f"scan finished: embedding {embed_s:.1f} s ({embedded.rows:,} images), folds {fit_s:.1f} s")
    return metrics


def _fit_folds(
    inputs: RunInputs,
    grid: _CGrid,
    callbacks: Callbacks,
    *,
    splits: list[tuple[np.ndarray, np.ndarray]],
    embedded: ScanEmbeddings,
    labels: np.ndarray,
    seed: int,
    train_ids: pd.Series,
    test_ids: pd.Series,
    progress: tuple[float, float],
    final: bool,
    exclude: np.ndarray | None = None,
) -> None:
    """Fit every fold of `grid` (training images in `exclude` left out with their copies), writing the outputs as it goes.

    final: this pass's fold metrics are the run's (a first pass that a pruning pass follows reports none).
    """
    start, end = progress
    steps = [start + (end - start) * k / len(splits) for k in range(len(splits) + 1)]
    where = dict(folds=len(splits))
    for k, (train_rows, held_rows) in enumerate(splits):
        callbacks.on_progress(progress=steps[k], message=f"fitting fold {k + 1}/{len(splits)}", fold=k, **where)
        if exclude is not None:
            train_rows = train_rows[~exclude[train_rows]]
        grid.fit_fold(k, train_rows, held_rows, embedded, labels, seed=seed)
        # The first pass writes after every fold (with the C that is best so far), so a cancelled
        # scan keeps what its finished folds scored; the pruning pass replaces those files once done.
        if exclude is None or k == len(splits) - 1:
            _write_fold_outputs(inputs, grid, train_ids=train_ids, test_ids=test_ids, labels=labels, folds_done=k + 1)
        if final:
            predicted = grid.oof[grid.best, held_rows].argmax(axis=1)
            metrics = _fold_metrics(labels[held_rows], predicted, grid, inputs.num_classes)
            callbacks.on_fold_end(fold=k, metrics=metrics)
        callbacks.on_progress(progress=steps[k + 1], message=f"fold {k + 1}/{len(splits)} done", fold=k, **where)


@dataclass
class _CGrid:
    """The fold models of every C tried, and their out-of-fold and test probabilities so far."""

    Cs: tuple[float, ...]
    oof: np.ndarray  # (len(Cs), N, K) out-of-fold probabilities; NaN for rows not held out yet
    test_sum: np.ndarray  # (len(Cs), M, K) test probabilities summed over the folds done
    fold_of: np.ndarray  # (N,) the fold each row was held out in; -1: not (yet)
    heads: list[list[dict[str, np.ndarray]]]  # [C][fold]
    losses: list[float] = field(default_factory=list)  # out-of-fold log-loss per C, over the folds done
    best: int = 0  # index into Cs of the lowest loss

    @classmethod
    def create(cls, C: float, *, n_train: int, n_test: int, num_classes: int) -> _CGrid:
        """scan.C > 0: that C alone; 0: every C of C_GRID."""
        Cs = (C,) if C > 0 else C_GRID
        return cls(
            Cs=Cs,
            oof=np.full((len(Cs), n_train, num_classes), np.nan),
            test_sum=np.zeros((len(Cs), n_test, num_classes)),
            fold_of=np.full(n_train, -1, dtype=np.int64),
            heads=[[] for _ in Cs],
        )

    def fit_fold(
        self,
        k: int,
        train_rows: np.ndarray,
        held_rows: np.ndarray,
        embedded: ScanEmbeddings,
        labels: np.ndarray,
        *,
        seed: int,
    ) -> None:
        """Fit fold k for every C (on its training images and their copies), predict its held-out images
        and the test images (averaged over the test views), re-rank the Cs."""
        num_classes = self.oof.shape[2]
        x, y = training_part(embedded, labels, train_rows)
        views, n_test = embedded.test_views, embedded.test_views.shape[1]
        for c, C in enumerate(self.Cs):
            head = fit_linear(x, y, C=C, seed=seed)
            self.heads[c].append(head)
            self.oof[c, held_rows] = predict_linear(head, embedded.train[held_rows], num_classes=num_classes)
            if n_test:
                probs = predict_linear(head, views.reshape(-1, views.shape[2]), num_classes=num_classes)
                self.test_sum[c] += probs.reshape(len(views), n_test, num_classes).mean(axis=0)
        self.fold_of[held_rows] = k
        scored = self.fold_of >= 0
        self.losses = [log_loss(labels[scored], self.oof[c, scored]) for c in range(len(self.Cs))]
        self.best = int(np.argmin(self.losses))


def training_part(embedded: ScanEmbeddings, labels: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A fold's training set: the train images `rows` and each of their augmented copies.

    Returns (x, y): x ((1 + C) * len(rows), D) the images' embeddings, then copy 0's, copy 1's, ...;
    y the matching labels (an image's copies carry its label). No other image's copy is in it.
    """
    x = np.concatenate([embedded.train[rows], *(copy[rows] for copy in embedded.copies)])
    return x, np.tile(labels[rows], 1 + len(embedded.copies))


def _write_fold_outputs(
    inputs: RunInputs, grid: _CGrid, *, train_ids: pd.Series, test_ids: pd.Series, labels: np.ndarray, folds_done: int
) -> None:
    """The best C's fold heads (weights/fold<k>.safetensors), oof.csv, test_probs.csv + submission.csv."""
    from core.runs.folder import write_oof, write_test_outputs

    scan = inputs.config.scan
    metadata = {
        "kind": "scan",
        "backbone": scan.backbone,
        "pretrained": scan.pretrained,
        "image_size": str(scan.image_size),
        "tta": str(scan.tta),  # since the recipe scans: test probabilities averaged over 8 dihedral views
        "copies": str(scan.copies),
        "recipe": inputs.config.aug.recipe if scan.copies else "",
        "features": scan.features,
        "num_classes": str(inputs.num_classes),
        "C": f"{grid.Cs[grid.best]:g}",
    }
    for j, head in enumerate(grid.heads[grid.best]):
        save_head(inputs.run_dir / "weights" / f"fold{j}.safetensors", head, metadata={**metadata, "fold": str(j)})
    scored = grid.fold_of >= 0
    write_oof(
        inputs.run_dir, train_ids[scored].tolist(), grid.fold_of[scored], labels[scored], grid.oof[grid.best, scored]
    )
    if len(test_ids):
        write_test_outputs(inputs.run_dir, test_ids.tolist(), grid.test_sum[grid.best] / folds_done)


def _fold_metrics(labels: np.ndarray, predicted: np.ndarray, grid: _CGrid, num_classes: int) -> dict[str, float]:
    """val_macro_f1, val_accuracy of one fold's held-out rows; val_log_loss over every row held out so far."""
    from core.analysis.scores import macro_f1

    return {
        "val_macro_f1": macro_f1(labels, predicted, num_classes=num_classes),
        "val_accuracy": float((predicted == labels).mean()),
        "val_log_loss": grid.losses[grid.best],
    }
