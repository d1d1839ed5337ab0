"""The scan's linear head: standardise + multinomial logistic regression, saved as safetensors.

fit_linear(embeddings, labels, C=, seed=) -> head   predict_linear(head, embeddings, num_classes=)
save_head / load_head                               weights/fold<k>.safetensors
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.io.atomic import write_bytes_atomic

if TYPE_CHECKING:
    pass


MAX_ITER = 3000  # lbfgs on the standardised demo features stopped after ~50 iterations (C = 1)


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
    """weights/fold<k>.safetensors, written atomically (core.io.atomic), so a page never reads half of it."""
    import torch
    from safetensors.torch import save

    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in head.items()}
    write_bytes_atomic(path, save(tensors, metadata=metadata))


def load_head(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a scan fold's safetensors file as numpy arrays (what `predict_linear` takes)."""
    from safetensors.numpy import load_file

    return load_file(str(path))


def log_loss(labels: np.ndarray, probs: np.ndarray) -> float:
    """Mean negative log-probability of the given labels (probabilities clipped at 1e-15)."""
    picked = probs[np.arange(len(labels)), labels]
    return float(-np.log(np.clip(picked, 1e-15, 1.0)).mean())
