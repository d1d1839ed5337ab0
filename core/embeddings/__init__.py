"""Frozen-backbone features, nearest neighbours and UMAP maps.

features        compute_embeddings: cached per model and image set
neighbours      unit_rows, nearest_neighbours, exact_neighbours
projection      project_embeddings: the UMAP computation
projection_job  the cached map of a run, computed by a background job (start, status, read)
"""

from __future__ import annotations

from core.embeddings.features import compute_embeddings
from core.embeddings.neighbours import nearest_neighbours, unit_rows
from core.embeddings.projection import ProjectionParams, project_embeddings
from core.embeddings.projection_job import projection_file, projection_status, read_projection, start_projection

__all__ = [
    "ProjectionParams",
    "compute_embeddings",
    "nearest_neighbours",
    "project_embeddings",
    "projection_file",
    "projection_status",
    "read_projection",
    "start_projection",
    "unit_rows",
]
