"""The scan run: frozen-backbone embeddings + a k-fold logistic regression (DESIGN.md "scan").

    run_scan(inputs, callbacks)      the job (core.runs.entry.execute calls it for kind = scan)

Embeddings of every train and test image come from core.embeddings.features (cached per project). A
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

import time
from typing import TYPE_CHECKING

import numpy as np

from core.runs.folds import fold_splits
from core.runs.progress import Callbacks
from core.scan.linear import fit_linear, log_loss, predict_linear, save_head

if TYPE_CHECKING:
    from core.runs.inputs import RunInputs


EMBEDDING_SHARE = 0.8  # of the progress bar


# scan.C = 0: the C with the lowest out-of-fold log-loss. On the demo (1,550 images, 1,752-d
# features) it picks 0.01; the old fixed C = 1 overfitted (OOF accuracy 0.925 vs 0.944 at
# 0.01 against the true labels) and cleanlab flagged 0.71 precision instead of 0.85+.
C_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)


def run_scan(inputs: RunInputs, callbacks: Callbacks) -> dict[str, float]:
    """Embed, fit the folds, write the artifacts (see the module docstring); returns {"scan_C": the C used}."""
    from core.analysis.scores import macro_f1
    from core.embeddings.features import compute_embeddings
    from core.runs.folder import write_embeddings, write_oof, write_test_outputs

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
