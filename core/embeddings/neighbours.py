"""Nearest neighbours in embedding space (exact, by matrix products; no index to build).

unit_rows(embeddings)                       rows scaled to unit length (cosine = dot product)
nearest_neighbours(unit, row, k=)           the k most similar rows of one row
NeighbourIndex.build(embeddings) / .query(row, k=)   the same with bounded memory for large runs
exact_neighbours(data, k=)                  the k nearest rows of every row (UMAP's input)
projected_rows(*arrays)                     unit rows projected by one PCA (for large runs)
approximate_neighbours(unit, k=, sources=)  the k nearest rows of every row, approximately (pynndescent)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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


# ---------------------------------------------------------------- bounded memory for large runs

FULL_BYTES = 256 * 2**20  # embeddings up to this size (float32) are searched exactly, in memory
REDUCED_DIMS = 128  # beyond it, candidates come from a PCA projection to this many dimensions...
CANDIDATES = 256  # ...and this many of them are re-ranked on the stored rows, exactly (1.8 MB read at D=1,752)
_FIT_ROWS = 20_000  # rows the projection is fitted on
_BLOCK = 8192  # rows read from the stored array at a time


def projected_rows(*arrays: np.ndarray, dims: int = REDUCED_DIMS, seed: int = 0) -> list[np.ndarray]:
    """Each of `arrays` ((N_i, D) arrays or memory maps, never copied whole) as unit rows projected to
    `dims` dimensions and scaled to unit length again, by one PCA of the unit rows fitted on a sample of
    the first: float32 (N_i, dims) arrays whose dot products approximate the cosine similarities.
    With D <= dims, just the unit rows."""
    if arrays[0].shape[1] <= dims:
        return [unit_rows(array) for array in arrays]
    from sklearn.decomposition import PCA

    n = len(arrays[0])
    sample = np.sort(np.random.default_rng(seed).choice(n, size=min(n, _FIT_ROWS), replace=False))
    pca = PCA(n_components=min(dims, len(sample)), svd_solver="randomized", random_state=seed)
    pca.fit(unit_rows(arrays[0][sample]))
    projected = []
    for array in arrays:
        rows = np.empty((len(array), pca.n_components_), dtype=np.float32)
        for start in range(0, len(array), _BLOCK):
            rows[start : start + _BLOCK] = pca.transform(unit_rows(array[start : start + _BLOCK]))
        projected.append(unit_rows(rows))
    return projected


@dataclass(frozen=True)
class NeighbourIndex:
    """Cosine nearest neighbours over a run's embeddings, holding at most ~N x 128 float32 in memory.

    Up to FULL_BYTES the unit rows themselves are kept (`source` None) and a query is exact. Larger
    runs (200,000 x 1,752 float32 is 1.4 GB) keep a PCA projection of the unit rows (100 MB at 200,000)
    and `source`, the stored array memory-mapped: a query takes the CANDIDATES most similar rows of the
    projection and ranks them by their exact cosine similarity, read from `source` (256 rows from disk).
    """

    search: np.ndarray  # (N, d) float32 unit rows: the embeddings (exact) or their projection
    source: np.ndarray | None = None  # (N, D) the stored rows, re-ranked exactly; None when `search` is exact

    @classmethod
    def build(cls, embeddings: np.ndarray, *, full_bytes: int = FULL_BYTES, dims: int = REDUCED_DIMS, seed: int = 0):
        """The index of `embeddings` (N, D), an array or a read-only memory map that it never copies whole."""
        n, d = embeddings.shape
        if n * d * 4 <= full_bytes or d <= dims:
            search = unit_rows(embeddings)
            search.flags.writeable = False
            return cls(search=search)
        search = projected_rows(embeddings, dims=dims, seed=seed)[0]
        search.flags.writeable = False
        return cls(search=search, source=embeddings)

    def __len__(self) -> int:
        return len(self.search)

    def query(self, row: int, *, k: int = 8) -> tuple[np.ndarray, np.ndarray]:
        """The `k` rows most similar to `row`, itself excluded: (indices, cosine similarities), most similar first."""
        if self.source is None:
            return nearest_neighbours(self.search, row, k=k)
        candidates, _ = nearest_neighbours(self.search, row, k=max(CANDIDATES, 4 * k))
        ordered = np.sort(candidates)  # ascending: a memory map reads them front to back
        exact = unit_rows(self.source[ordered]) @ unit_rows(self.source[row : row + 1])[0]
        top = np.argsort(-exact, kind="stable")[: min(k, len(ordered))]
        return ordered[top].astype(np.int64), exact[top]


def approximate_neighbours(
    unit: np.ndarray, *, k: int, sources: Sequence[np.ndarray] = (), seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The k most similar other rows of every row by cosine, approximately: (indices (N, k) int64,
    cosine distances (N, k) float32, nearest first), for runs too large for a brute-force search.

    unit: (N, d) unit rows, e.g. `projected_rows` of the embeddings (d = 128 keeps the search fast);
    pynndescent (nearest-neighbour descent, UMAP's own neighbour search) finds the neighbours in them.
    sources: the rows `unit` was projected from, one array or several stacked (train, then test):
    the distances are then measured on them, exactly, and the neighbours ordered by them. A projection
    keeps what most rows share and drops the rest, so its distances make an odd row look ordinary:
    an outlier search needs the exact ones. Without sources, the distances are those of `unit`.
    Needs N > k + 1.
    """
    from pynndescent import NNDescent

    n = len(unit)
    if not 1 <= k < n - 1:
        raise ValueError(f"k must be in 1..{n - 2} (fewer than the other rows), got {k}")
    if sources and sum(len(source) for source in sources) != n:
        raise ValueError(f"sources hold {sum(len(s) for s in sources)} rows, unit {n}")
    graph = NNDescent(unit, n_neighbors=k + 1, metric="euclidean", random_state=seed, low_memory=True)
    found, euclidean = graph.neighbor_graph
    # One entry per row leaves: the row itself, or its farthest when exact duplicates pushed it out.
    itself = found == np.arange(n)[:, None]
    drop = np.where(itself.any(axis=1), itself.argmax(axis=1), k)
    keep = np.ones(found.shape, dtype=bool)
    keep[np.arange(n), drop] = False
    indices = found[keep].reshape(n, k).astype(np.int64)
    if not sources:  # unit rows: |a - b|^2 = 2 (1 - cos(a, b))
        return indices, np.maximum(euclidean[keep].reshape(n, k).astype(np.float32) ** 2 / 2, 0.0)
    distances = np.empty((n, k), dtype=np.float32)
    block = max(1, _BLOCK // (4 * k))  # rows per step: the block and its neighbours, ~N x D / 30 floats at most
    for start in range(0, n, block):
        stop = min(n, start + block)
        rows = unit_rows(_stacked_rows(sources, np.arange(start, stop)))
        near = unit_rows(_stacked_rows(sources, indices[start:stop].reshape(-1))).reshape(stop - start, k, -1)
        distances[start:stop] = 1.0 - np.einsum("bd,bkd->bk", rows, near)
    order = np.argsort(distances, axis=1, kind="stable")
    return np.take_along_axis(indices, order, axis=1), np.maximum(np.take_along_axis(distances, order, axis=1), 0.0)


def _stacked_rows(sources: Sequence[np.ndarray], rows: np.ndarray) -> np.ndarray:
    """float32 rows `rows` of the arrays `sources` stacked one after the other, without stacking them."""
    if len(sources) == 1:
        return np.asarray(sources[0][rows], dtype=np.float32)
    offsets = np.cumsum([0] + [len(source) for source in sources])
    part = np.searchsorted(offsets, rows, side="right") - 1
    out = np.empty((len(rows), sources[0].shape[1]), dtype=np.float32)
    for number, source in enumerate(sources):
        mine = part == number
        if mine.any():
            out[mine] = source[rows[mine] - offsets[number]]
    return out
