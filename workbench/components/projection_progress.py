"""The Embeddings page's UMAP job: its settings, starting it once, following its progress, its failure.

The projection is computed once per run and parameter set by a background job
(core.embeddings.projection_job) and cached under .workbench/cache/umap/; this component only
starts it, polls its status file and says where it stands. Every call goes through the module
(`projection_job.start_projection`), so a test can replace the job start.
"""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

import core.embeddings.projection_job as projection_job
from core.embeddings.projection import ProjectionParams
from core.io.text import shown
from core.runs.artifacts import RunDamaged, load_embeddings
from workbench import state

DEFAULTS = ProjectionParams()


def umap_settings() -> ProjectionParams:
    """The expander with UMAP's two user settings; the rest are the defaults."""
    with st.expander("UMAP settings"):
        left, right, _ = st.columns([1, 1, 2])
        n_neighbors = left.number_input(
            "n_neighbors", 2, 200, DEFAULTS.n_neighbors, key=state.EMB_NEIGHBOURS, help="Larger: more global structure."
        )
        min_dist = right.number_input(
            "min_dist",
            0.0,
            1.0,
            DEFAULTS.min_dist,
            step=0.05,
            key=state.EMB_MIN_DIST,
            help="Smaller: tighter clusters.",
        )
        st.caption(
            f"Rows scaled to unit length, PCA to {DEFAULTS.pca_dims} dimensions, {DEFAULTS.n_epochs} epochs, seed "
            f"{DEFAULTS.seed}. Each setting is computed once per run and kept in .workbench/cache/umap/."
        )
    return ProjectionParams(
        n_neighbors=int(n_neighbors),
        min_dist=float(min_dist),
        pca_dims=DEFAULTS.pca_dims,
        n_epochs=DEFAULTS.n_epochs,
        seed=DEFAULTS.seed,
    )


def ready_projection(run_dir: Path, cache_dir: Path, params: ProjectionParams) -> Path | None:
    """The projection file of `run_dir` with `params` when it exists; otherwise starts the job (once),
    shows its progress or its failure (with a retry) and returns None: the page stops there, and
    reruns in full once the job has finished."""
    out = projection_job.projection_file(cache_dir, run_dir, params)
    status = projection_job.projection_status(out)
    if status["state"] == "succeeded":
        return out
    if status["state"] == "missing":
        projection_job.start_projection(run_dir, out, params=params)
        status = projection_job.projection_status(out)
    if status["state"] == "failed":
        _failure(status, run_dir, out, params)
        return None
    cache = projection_job.numba_cache_dir()
    if not cache.is_dir() or not any(cache.iterdir()):
        st.caption(
            "First map on this machine: UMAP compiles its code once (about a minute on 2 cores); "
            "later maps take seconds. The page stays usable meanwhile."
        )
    projection_progress(out)
    return None


def _failure(status: dict, run_dir: Path, out: Path, params: ProjectionParams) -> None:
    try:  # a damaged embeddings.npy fails the job with numpy's words: name the file instead, no traceback
        load_embeddings(run_dir)
    except RunDamaged as exc:
        st.error(f"{exc}. Pick another run above, or run it again.", icon=":material/broken_image:")
        return
    message = (str(status.get("message", "")).splitlines() or [""])[0]
    st.error("The UMAP job failed: " + shown(message, 300), icon=":material/error:")
    if status.get("traceback"):
        st.code(status["traceback"], language="text")
    if st.button("Try again", icon=":material/replay:"):
        projection_job.start_projection(run_dir, out, params=params)
        st.rerun()


@st.fragment(run_every=1.0)
def projection_progress(out: Path) -> None:
    """Polls the job's status file; the page reruns in full once the projection exists."""
    status = projection_job.projection_status(out)
    if status["state"] in ("succeeded", "failed"):
        st.rerun()
    started = status.get("started")
    elapsed = f" · {time.time() - float(started):.0f} s" if started else ""
    text = str(status.get("message") or "starting") + elapsed
    st.progress(min(1.0, float(status.get("progress", 0.0))), text=f"Computing the UMAP map: {text}")
