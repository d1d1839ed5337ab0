"""The scan run: frozen-backbone embeddings + a k-fold logistic regression (DESIGN.md "scan").

    run_scan(inputs, callbacks)      the job (core.train.execute calls it for kind = scan)

Embeddings of every train and test image come from core.embeddings (cached per project). A
StandardScaler + multinomial LogisticRegression is fitted on each fold's training part; its
probabilities on the held-out part are the out-of-fold predictions, and the fold models' mean on
the test images is the test prediction. scan.C = 0 fits every C of C_GRID in each fold and keeps
the one whose out-of-fold probabilities have the lowest log-loss (the log names each C's loss;
the status metrics keep the choice as `scan_C`). It writes the same artifacts as a training run:

    oof.csv  test_probs.csv  submission.csv  embeddings.npy  embeddings_ids.csv
    weights/fold<k>.safetensors   tensors coef (C, D), intercept (C,), classes (C,) int64,
                                  scaler_mean (D,), scaler_scale (D,); C = classes seen in that
                                  fold's training part (see `predict_linear`)

Folds: StratifiedKFold(data.folds, shuffle, data.seed); data.folds = 1 is one stratified 20%
hold-out and only those rows get out-of-fold probabilities. Progress: embedding is ~80% of the
bar, the folds the rest.
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.progress import Callbacks

if TYPE_CHECKING:
    from core.train import RunInputs

EMBEDDING_SHARE = 0.8  # of the progress bar
HOLDOUT_FRACTION = 0.2  # data.folds = 1
# scan.C = 0: the C with the lowest out-of-fold log-loss. On the demo (1,550 images, 1,752-d
# features) it picks 0.01; the old fixed C = 1 overfitted (OOF accuracy 0.925 vs 0.944 at
# 0.01 against the true labels) and cleanlab flagged 0.71 precision instead of 0.85+.
C_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
MAX_ITER = 3000  # lbfgs on the standardised demo features stopped after ~50 iterations (C = 1)


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


def fit_linear(embeddings: np.ndarray, labels: np.ndarray, *, C: float, seed: int) -> dict[str, np.ndarray]:
    """Standardise, then a multinomial logistic regression (lbfgs); returns the fitted numbers.

    Keys: coef (C, D), intercept (C,), classes (C,) int64, scaler_mean (D,), scaler_scale (D,),
    in softmax form even for two classes (so `predict_linear` is one formula).
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    # One BLAS thread: the matrices are small (N ~ 1,000s, D ~ 1,000, K ~ 10s), and a multi-threaded
    # OpenBLAS was 10-20x slower here on 2 busy cores (threads spin-waiting for each other).
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scaler = StandardScaler().fit(embeddings)
        classes = np.unique(labels)
        if len(classes) == 1:  # one class in the training part: it gets every probability
            coef = np.zeros((1, embeddings.shape[1]))
            intercept = np.zeros(1)
        else:
            model = LogisticRegression(C=C, max_iter=MAX_ITER, random_state=seed)
            model.fit(scaler.transform(embeddings), labels)
            coef, intercept, classes = model.coef_, model.intercept_, model.classes_
            if coef.shape[0] == 1:  # binary: sigmoid(w.x + b) == softmax([-w/2, w/2].x + [-b/2, b/2])
                coef = np.concatenate([-coef / 2, coef / 2])
                intercept = np.concatenate([-intercept / 2, intercept / 2])
    return {
        "coef": np.ascontiguousarray(coef, dtype=np.float32),
        "intercept": np.ascontiguousarray(intercept, dtype=np.float32),
        "classes": np.asarray(classes, dtype=np.int64),
        "scaler_mean": np.asarray(scaler.mean_, dtype=np.float32),
        "scaler_scale": np.asarray(scaler.scale_, dtype=np.float32),
    }


def predict_linear(head: dict[str, np.ndarray], embeddings: np.ndarray, *, num_classes: int) -> np.ndarray:
    """(N, K) probabilities from a fitted head and (N, D) embeddings.

    Classes the head never saw (absent from its training part) get probability 0.
    """
    x = (embeddings.astype(np.float64) - head["scaler_mean"]) / head["scaler_scale"]
    logits = x @ head["coef"].astype(np.float64).T + head["intercept"].astype(np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    present = np.exp(logits)
    present /= present.sum(axis=1, keepdims=True)
    probs = np.zeros((len(embeddings), num_classes), dtype=np.float64)
    probs[:, head["classes"]] = present
    return probs


def save_head(path: Path, head: dict[str, np.ndarray], *, metadata: dict[str, str]) -> None:
    """weights/fold<k>.safetensors (written through a temp file, so a page never reads half of it)."""
    import torch
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    save_file({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in head.items()}, str(tmp), metadata=metadata)
    os.replace(tmp, path)


def load_head(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a scan fold's safetensors file as numpy arrays (what `predict_linear` takes)."""
    from safetensors.numpy import load_file

    return load_file(str(path))


def log_loss(labels: np.ndarray, probs: np.ndarray) -> float:
    """Mean negative log-probability of the given labels (probabilities clipped at 1e-15)."""
    picked = probs[np.arange(len(labels)), labels]
    return float(-np.log(np.clip(picked, 1e-15, 1.0)).mean())


def run_scan(inputs: RunInputs, callbacks: Callbacks) -> dict[str, float]:
    """Embed, fit the folds, write the artifacts (see the module docstring); returns {"scan_C": the C used}."""
    from core.embeddings import compute_embeddings
    from core.metrics import macro_f1
    from core.runs import write_embeddings, write_oof, write_test_outputs

    scan = inputs.config.scan
    data = inputs.config.data
    num_classes = inputs.num_classes
    train, test = inputs.train.reset_index(drop=True), inputs.test.reset_index(drop=True)
    labels = train["target"].to_numpy(dtype=np.int64)
    cache_dir = inputs.layout.cache_dir
    n_train, n_test = len(train), len(test)
    train_share = EMBEDDING_SHARE * n_train / max(1, n_train + n_test)
    common = dict(
        backbone=scan.backbone,
        pretrained=scan.pretrained,
        image_size=scan.image_size,
        batch_size=scan.batch_size,
        tta=scan.tta,
        features=scan.features,
        cache_dir=cache_dir,
        callbacks=callbacks,
    )

    started = time.perf_counter()
    callbacks.on_message(
        f"embedding {n_train} train and {n_test} test images with {scan.backbone} "
        f"({scan.pretrained} weights) at {scan.image_size} px"
    )
    train_emb = compute_embeddings(train["path"].tolist(), progress_span=(0.0, train_share), **common)
    if n_test:
        test_emb = compute_embeddings(test["path"].tolist(), progress_span=(train_share, EMBEDDING_SHARE), **common)
    else:
        test_emb = np.zeros((0, train_emb.shape[1]), dtype=np.float32)
    embed_s = time.perf_counter() - started
    write_embeddings(
        inputs.run_dir,
        train["ID"].tolist() + test["ID"].tolist(),
        ["train"] * n_train + ["test"] * n_test,
        np.concatenate([train_emb, test_emb]),
    )
    callbacks.on_message(f"embeddings ready in {embed_s:.1f} s ({train_emb.shape[1]} dimensions)")

    splits = fold_splits(labels, folds=data.folds, seed=data.seed, callbacks=callbacks)
    n_folds = len(splits)
    grid = (scan.C,) if scan.C > 0 else C_GRID
    if len(grid) > 1:
        callbacks.on_message(
            f"choosing the regularisation C from {', '.join(f'{c:g}' for c in grid)} by out-of-fold log-loss"
        )
    oof = np.full((len(grid), n_train, num_classes), np.nan)
    fold_of = np.full(n_train, -1, dtype=np.int64)
    test_sum = np.zeros((len(grid), n_test, num_classes))  # summed over the folds done
    heads: list[list[dict[str, np.ndarray]]] = [[] for _ in grid]  # [C][fold]
    steps = [EMBEDDING_SHARE + (1 - EMBEDDING_SHARE) * k / n_folds for k in range(n_folds + 1)]
    metadata = {
        "kind": "scan",
        "backbone": scan.backbone,
        "pretrained": scan.pretrained,
        "image_size": str(scan.image_size),
        "tta": str(scan.tta),
        "features": scan.features,
        "num_classes": str(num_classes),
    }
    best = 0
    for k, (train_rows, held_rows) in enumerate(splits):
        callbacks.on_progress(progress=steps[k], message=f"fitting fold {k + 1}/{n_folds}", fold=k, folds=n_folds)
        for c, C in enumerate(grid):
            head = fit_linear(train_emb[train_rows], labels[train_rows], C=C, seed=data.seed)
            heads[c].append(head)
            oof[c, held_rows] = predict_linear(head, train_emb[held_rows], num_classes=num_classes)
            if n_test:
                test_sum[c] += predict_linear(head, test_emb, num_classes=num_classes)
        fold_of[held_rows] = k
        scored = fold_of >= 0
        losses = [log_loss(labels[scored], oof[c, scored]) for c in range(len(grid))]
        best = int(np.argmin(losses))
        # Written after every fold (with the C that is best so far), so a cancelled scan keeps what
        # its finished folds scored.
        for j, head in enumerate(heads[best]):
            meta = {**metadata, "fold": str(j), "C": f"{grid[best]:g}"}
            save_head(inputs.run_dir / "weights" / f"fold{j}.safetensors", head, metadata=meta)
        write_oof(inputs.run_dir, train["ID"][scored].tolist(), fold_of[scored], labels[scored], oof[best, scored])
        if n_test:
            write_test_outputs(inputs.run_dir, test["ID"].tolist(), test_sum[best] / (k + 1))
        predicted = oof[best, held_rows].argmax(axis=1)
        callbacks.on_fold_end(
            fold=k,
            metrics={
                "val_macro_f1": macro_f1(labels[held_rows], predicted, num_classes=num_classes),
                "val_accuracy": float((predicted == labels[held_rows]).mean()),
                "val_log_loss": losses[best],
            },
        )
        callbacks.on_progress(progress=steps[k + 1], message=f"fold {k + 1}/{n_folds} done", fold=k, folds=n_folds)
    if len(grid) > 1:
        callbacks.on_message(
            "out-of-fold log-loss by C: "
            + ", ".join(f"{C:g}: {loss:.3f}" for C, loss in zip(grid, losses))
            + f"; chosen C = {grid[best]:g}"
        )

    fit_s = time.perf_counter() - started - embed_s
    callbacks.on_message(f"scan finished: embedding {embed_s:.1f} s, folds {fit_s:.1f} s")
    return {"scan_C": float(grid[best])}
