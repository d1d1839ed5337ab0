"""Embeddings: a UMAP map of the active run's train and test images; select a region to see its images.

The projection is computed once per run and parameter set by a background job (core.embeddings.projection_job)
and cached under .workbench/cache/umap/; this page only starts it, polls its progress, and reads it.
"""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from core.analysis.overview import gallery_items
from core.analysis.predictions import prediction_cards, projection_points
from core.embeddings.projection import ProjectionParams
from core.embeddings.projection_job import numba_cache_dir, projection_file, projection_status, start_projection
from core.labels.review import join_review_columns
from core.runs.catalog import list_runs
from workbench import state
from workbench.components import run_data
from workbench.components.embedding_map import colour_options, embedding_figure, hover_preview, selected_rows
from workbench.components.gallery import gallery
from workbench.components.prediction_detail import detail_renderer
from workbench.components.run_picker import analysis_run
from workbench.data import dataset

DEFAULTS = ProjectionParams()

data = dataset(state.current_project())
st.title("Embeddings")
run = analysis_run(list_runs(data.layout), widget_key=state.analysis_run_key("embeddings"))
if run is None:
    st.stop()
if not run_data.has_embeddings(run.run_dir):
    st.info("This run stored no embeddings (embeddings.npy + embeddings_ids.csv).")
    st.stop()

with st.expander("UMAP settings"):
    left, right, _ = st.columns([1, 1, 2])
    n_neighbors = left.number_input(
        "n_neighbors", 2, 200, DEFAULTS.n_neighbors, key=state.EMB_NEIGHBOURS, help="Larger: more global structure."
    )
    min_dist = right.number_input(
        "min_dist", 0.0, 1.0, DEFAULTS.min_dist, step=0.05, key=state.EMB_MIN_DIST, help="Smaller: tighter clusters."
    )
    st.caption(
        f"Rows scaled to unit length, PCA to {DEFAULTS.pca_dims} dimensions, {DEFAULTS.n_epochs} epochs, seed "
        f"{DEFAULTS.seed}. Each setting is computed once per run and kept in .workbench/cache/umap/."
    )
params = ProjectionParams(
    n_neighbors=int(n_neighbors),
    min_dist=float(min_dist),
    pca_dims=DEFAULTS.pca_dims,
    n_epochs=DEFAULTS.n_epochs,
    seed=DEFAULTS.seed,
)
out = projection_file(data.layout.cache_dir, run.run_dir, params)
status = projection_status(out)


@st.fragment(run_every=1.0)
def projection_progress(out) -> None:
    """Polls the job's status file; the page reruns in full once the projection exists."""
    status = projection_status(out)
    if status["state"] in ("succeeded", "failed"):
        st.rerun()
    started = status.get("started")
    elapsed = f" · {time.time() - float(started):.0f} s" if started else ""
    text = str(status.get("message") or "starting") + elapsed
    st.progress(min(1.0, float(status.get("progress", 0.0))), text=f"Computing the UMAP map: {text}")


if status["state"] != "succeeded":
    if status["state"] == "missing":
        start_projection(run.run_dir, out, params=params)
        status = projection_status(out)
    if status["state"] == "failed":
        st.error("The UMAP job failed: " + str(status.get("message", "")).splitlines()[0], icon=":material/error:")
        if status.get("traceback"):
            st.code(status["traceback"], language="text")
        if st.button("Try again", icon=":material/replay:"):
            start_projection(run.run_dir, out, params=params)
            st.rerun()
        st.stop()
    cache = numba_cache_dir()
    if not cache.is_dir() or not any(cache.iterdir()):
        st.caption(
            "First map on this machine: UMAP compiles its code once (about a minute on 2 cores); "
            "later maps take seconds. The page stays usable meanwhile."
        )
    projection_progress(out)
    st.stop()

table = run_data.predictions(run.run_dir, num_classes=data.num_classes, test_labels=data.test_labels)
table = join_review_columns(table, data.layout, run.run_id)  # label-issue flag and review state, where they exist
points = projection_points(run_data.projection(out), table)
options = colour_options(points)
controls = st.columns([2, 5])
colour = controls[0].selectbox("Colour by", list(options), key=state.EMB_COLOUR, format_func=options.get)
controls[1].caption(
    f"{len(points):,} images ({int((points['split'] == 'train').sum()):,} train, "
    f"{int((points['split'] == 'test').sum()):,} test) · run {run.run_id}. Hover a point for its image; "
    "drag a box, or pick the lasso in the chart's toolbar, to open the selected images below."
)
event = st.plotly_chart(
    embedding_figure(points, colour=colour, class_names=data.classes),
    key=state.EMB_MAP,
    on_select="rerun",
    selection_mode=("box", "lasso"),
    width="stretch",
    config={"scrollZoom": True, "displaylogo": False},
)
hover_preview(points, data.images, class_names=data.classes)


@st.fragment
def selection_gallery(selected: pd.DataFrame) -> None:
    """The selected images, train first; paging reruns only this part."""
    cards = [
        prediction_cards(selected, gallery_items(data, split), class_names=data.classes, split=split)
        for split in ("train", "test")
        if (selected["split"] == split).any()
    ]
    cards = pd.concat(cards, ignore_index=True) if cards else pd.DataFrame(columns=["ID", "thumb", "path", "caption"])
    detail = detail_renderer(table, run_dir=run.run_dir, class_names=data.classes, images=data.images)
    gallery(cards, name="embeddings_selection", detail=detail, empty_text="No scored image in the selection.")


rows = selected_rows(event)
if len(rows):
    chosen = points.iloc[rows[rows < len(points)]]
    keys = chosen[["split", "ID"]]
    selected = table.merge(keys, on=["split", "ID"], how="inner")
    st.markdown(f"**Selection**: {len(chosen):,} image(s)")
    selection_gallery(selected.sort_values(["split", "confidence"], ascending=[False, True], kind="stable"))
else:
    wrong = int(points["correct"].eq(False).sum())
    st.caption(f"Nothing selected yet. {wrong:,} of the labelled images on the map are predicted wrong.")
