"""Frozen-backbone features, nearest neighbours and UMAP maps.

features        compute_embeddings: cached per model and image set, optionally through a view (ImageView)
cache           the embedding cache files (.npz per model key, view and image set)
neighbours      unit_rows, nearest_neighbours, exact_neighbours
projection      project_embeddings: the UMAP computation
projection_job  the cached map of a run, computed by a background job (start, status, read)

projection_job is not re-exported here: it is also run as `python -m core.embeddings.projection_job`,
and a module the package imports first would run twice (Python warns). Import it directly.
"""

from __future__ import annotations

from core.embeddings.features import compute_embeddings
from core.embeddings.neighbours import nearest_neighbours, unit_rows
from core.embeddings.projection import ProjectionParams, project_embeddings

__all__ = [
    "ProjectionParams",
    "compute_embeddings",
    "nearest_neighbours",
    "project_embeddings",
    "unit_rows",
]
