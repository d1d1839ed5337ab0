"""Nearest neighbours in embedding space (exact, by matrix products; no index to build).

unit_rows(embeddings)                       rows scaled to unit length (cosine = dot product)
nearest_neighbours(unit, row, k=)           the k most similar rows of one row
exact_neighbours(data, k=)                  the k nearest rows of every row (UMAP's input)
"""

from __future__ import annotations

import numpy as np

_CHUNK = 2048  # rows per block of the exact neighbour search: a 2,048 x N float32 distance block


def exact_neighbours(data: np.ndarray, *, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest rows of every row by euclidean distance, itself first: (indices (N, k) int64, distances float32).

    Blocks of rows against all rows through one matrix product each (BLAS), so memory stays at one
    (block x N) distance matrix.
    """
    data = np.asarray(data, dtype=np.float32)
    n = len(data)
    if not 1 <= k <= n:
        raise ValueError(f"k must be in 1..{n} (the number of rows), got {k}")
    squared = np.einsum("ij,ij->i", data, data)
    indices = np.empty((n, k), dtype=np.int64)
    distances = np.empty((n, k), dtype=np.float32)
    for start in range(0, n, _CHUNK):
        stop = min(n, start + _CHUNK)
        block = squared[start:stop, None] - 2.0 * (data[start:stop] @ data.T) + squared[None, :]
        np.maximum(block, 0.0, out=block)
        # Each row's own distance is 0 up to rounding; pin it so the row comes first, as UMAP expects.
        block[np.arange(stop - start), np.arange(start, stop)] = -1.0
        part = np.argpartition(block, k - 1, axis=1)[:, :k]
        part_d = np.take_along_axis(block, part, axis=1)
        order = np.argsort(part_d, axis=1, kind="stable")
        indices[start:stop] = np.take_along_axis(part, order, axis=1)
        distances[start:stop] = np.sqrt(np.maximum(np.take_along_axis(part_d, order, axis=1), 0.0))
    return indices, distances


# ---------------------------------------------------------------- nearest neighbours


def unit_rows(embeddings: np.ndarray) -> np.ndarray:
    """float32 copy of `embeddings` (N, D) with every row scaled to length 1 (zero rows stay zero)."""
    embeddings = np.asarray(embeddings, dtype=np.float32)
    if embeddings.ndim != 2:
        raise ValueError(f"embeddings must be two-dimensional (N, D), got shape {embeddings.shape}")
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    return np.divide(embeddings, norms, out=np.zeros_like(embeddings), where=norms > 0)


def nearest_neighbours(unit_embeddings: np.ndarray, row: int, *, k: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """The `k` rows most similar to `row` by cosine similarity, itself excluded: (indices, similarities).

    unit_embeddings: (N, D) rows of length 1 (`unit_rows`); one matrix-vector product, no index.
    Most similar first; fewer than k when N - 1 < k.
    """
    n = len(unit_embeddings)
    if not 0 <= row < n:
        raise ValueError(f"row must be in 0..{n - 1}, got {row}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    similarity = unit_embeddings @ unit_embeddings[row]
    similarity[row] = -np.inf
    k = min(k, n - 1)
    if k <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    top = np.argpartition(-similarity, k - 1)[:k]
    top = top[np.argsort(-similarity[top], kind="stable")]
    return top.astype(np.int64), similarity[top]
