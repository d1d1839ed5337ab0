"""2-D UMAP projections of embeddings: the computation (imports umap, slow the first time).

    project_embeddings(embeddings, *, params, callbacks) -> (N, 2) float32
    ProjectionParams                                     the settings that change the picture

Where the time goes, and what is done about it (2-core CPU, 5,000 x 1,280 embeddings):
- `import umap` compiles pynndescent with numba: ~30 s once per machine, ~3 s afterwards, because
  the job points NUMBA_CACHE_DIR at a per-user folder (numba only caches functions that ask for it).
- Nearest-neighbour descent compiles ~60 s of code that numba cannot cache; up to EXACT_KNN_MAX points
  the exact k nearest neighbours come from a chunked matrix product instead (< 1 s for 5,000) and are
  handed to UMAP as `precomputed_knn`. Larger sets use UMAP's own NNDescent (low_memory).
- Rows are scaled to unit length (so euclidean distance ranks like cosine) and reduced to
  `pca_dims` components before the neighbour search; 200 epochs instead of UMAP's 500 for small sets.
"""

from __future__ import annotations

import re
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.embeddings.neighbours import exact_neighbours
from core.runs.progress import Callbacks

EXACT_KNN_MAX = 30_000  # above this, UMAP's approximate NNDescent (the exact search grows as N^2)


@dataclass(frozen=True)
class ProjectionParams:
    """UMAP settings that change the picture (all part of the cache key).

    n_neighbors: UMAP's neighbourhood size; min_dist: how tightly points pack; pca_dims: components
    kept before the neighbour search (0 = none; ignored when the embeddings are narrower);
    n_epochs: layout iterations (None = UMAP's default: 500 below 10,000 points, else 200);
    seed: fixes the layout (UMAP then runs its layout on one thread), None = parallel and random.
    """

    n_neighbors: int = 15
    min_dist: float = 0.1
    pca_dims: int = 50
    n_epochs: int | None = 200
    seed: int | None = 0

    def validate(self) -> ProjectionParams:
        if not 2 <= int(self.n_neighbors) <= 200:
            raise ValueError(f"n_neighbors must be in 2..200, got {self.n_neighbors}")
        if not 0.0 <= float(self.min_dist) <= 1.0:
            raise ValueError(f"min_dist must be in 0..1, got {self.min_dist}")
        if int(self.pca_dims) < 0:
            raise ValueError(f"pca_dims must be 0 (no PCA) or positive, got {self.pca_dims}")
        if self.n_epochs is not None and int(self.n_epochs) < 1:
            raise ValueError(f"n_epochs must be positive or None, got {self.n_epochs}")
        return self


# ---------------------------------------------------------------- the computation


def _unit_pca(embeddings: np.ndarray, *, pca_dims: int, seed: int | None) -> np.ndarray:
    """Rows scaled to unit length, then the first `pca_dims` principal components (float32)."""
    data = np.asarray(embeddings, dtype=np.float32)
    norms = np.linalg.norm(data, axis=1, keepdims=True)
    data = np.divide(data, norms, out=np.zeros_like(data), where=norms > 0)
    if pca_dims and data.shape[1] > pca_dims and len(data) > pca_dims:
        from sklearn.decomposition import PCA

        solver = "randomized" if min(data.shape) > 4 * pca_dims else "full"
        data = PCA(n_components=pca_dims, svd_solver=solver, random_state=seed).fit_transform(data)
    return np.ascontiguousarray(data, dtype=np.float32)


def _import_umap() -> None:
    try:
        import umap  # noqa: F401
    except Exception:  # noqa: BLE001 - the main thread imports it again and reports the error
        pass


class _EpochProgress:
    """A file-like sink for UMAP's tqdm bar (bar_format "{n}/{total}") that reports each step."""

    def __init__(self, report: Callable[[int, int], None]) -> None:
        self._report = report

    def write(self, text: str) -> int:
        found = re.findall(r"(\d+)/(\d+)", text)
        if found:
            done, total = found[-1]
            self._report(int(done), int(total))
        return len(text)

    def flush(self) -> None:
        pass


def project_embeddings(
    embeddings: np.ndarray, *, params: ProjectionParams | None = None, callbacks: Callbacks | None = None
) -> np.ndarray:
    """(N, 2) float32 UMAP coordinates of `embeddings` (N, D); imports umap (slow the first time).

    `callbacks.on_progress` hears each stage (no step) and each layout epoch (step = epochs done,
    steps = epochs in all).
    """
    params = (params or ProjectionParams()).validate()
    embeddings = np.asarray(embeddings)
    if embeddings.ndim != 2 or len(embeddings) == 0:
        raise ValueError(f"embeddings must be a non-empty (N, D) array, got shape {embeddings.shape}")
    if not np.isfinite(embeddings).all():
        raise ValueError("embeddings hold NaN or infinite values")
    callbacks = callbacks or Callbacks()

    def report(fraction: float, message: str, **where: int) -> None:
        callbacks.on_progress(progress=fraction, message=message, **where)

    n = len(embeddings)
    if n <= 2:  # UMAP needs at least a neighbour per point; lay a tiny set out on a line
        return np.column_stack([np.arange(n, dtype=np.float32), np.zeros(n, dtype=np.float32)])

    # Importing umap compiles pynndescent (~25 s the first time on a machine, ~3 s later), mostly
    # in Python; PCA and the neighbour search are BLAS work that releases the GIL. Overlap them.
    loader = threading.Thread(target=_import_umap, name="import-umap", daemon=True)
    loader.start()
    report(0.02, f"PCA to {params.pca_dims} dimensions" if params.pca_dims else "scaling rows")
    data = _unit_pca(embeddings, pca_dims=params.pca_dims, seed=params.seed)
    n_neighbors = min(int(params.n_neighbors), n - 1)
    knn = (None, None, None)
    if n <= EXACT_KNN_MAX:
        report(0.10, f"exact {n_neighbors} nearest neighbours of {n:,} points")
        indices, distances = exact_neighbours(data, k=n_neighbors)
        knn = (indices, distances, None)
    report(0.20, "loading UMAP (compiles once per machine)")
    loader.join()
    import umap

    layout_start, layout_end = 0.30, 0.97

    def epochs(done: int, total: int) -> None:
        share = done / max(total, 1)
        report(
            layout_start + (layout_end - layout_start) * share,
            f"UMAP layout: epoch {done}/{total}",
            step=done,
            steps=total,
        )

    report(0.25, "building the neighbour graph" if knn[0] is not None else "approximate nearest neighbours")
    reducer = umap.UMAP(
        n_neighbors=n_neighbors,
        min_dist=float(params.min_dist),
        n_components=2,
        metric="euclidean",
        n_epochs=params.n_epochs,
        random_state=params.seed,
        low_memory=True,
        precomputed_knn=knn,
        tqdm_kwds={
            "disable": False,
            "file": _EpochProgress(epochs),
            "bar_format": "{n}/{total}\n",
            "mininterval": 0.25,
        },
    )
    with warnings.catch_warnings():
        # "precomputed_knn[2] is None ... transform will fail", "n_jobs overridden by random_state",
        # "graph is not fully connected": expected here, and only noise in the job's log.
        warnings.simplefilter("ignore")
        coordinates = reducer.fit_transform(data)
    report(0.98, "saving")
    return np.asarray(coordinates, dtype=np.float32)
