"""Embeddings: a UMAP map of the active run's train and test images; select a region to see its images.

The projection is computed once per run and parameter set by a background job and cached under
.workbench/cache/umap/ (workbench.components.projection_progress starts and follows it); this page
reads it and draws the map.
"""

from __future__ import annotations

import streamlit as st

from core.analysis.predictions import projection_points
from core.labels.review import join_review_columns
from core.project.db import DatabaseError
from core.runs.catalog import list_runs
from workbench import cache, state
from workbench.components.embedding_map import colour_options, embedding_figure, hover_preview, map_selection
from workbench.components.projection_progress import ready_projection, umap_settings
from workbench.components.run_picker import analysis_run, run_predictions

data = cache.dataset(state.current_project())
st.title("Embeddings")
run = analysis_run(list_runs(data.layout), widget_key=state.analysis_run_key("embeddings"))
if run is None:
    st.stop()
if not cache.has_embeddings(run.run_dir):
    st.info("This run stored no embeddings (embeddings.npy + embeddings_ids.csv).")
    st.stop()

params = umap_settings()
out = ready_projection(run.run_dir, data.layout.cache_dir, params)
if out is None:  # the job is running (its progress is shown) or failed (with a retry)
    st.stop()

table = run_predictions(run, data)  # None: damaged, the error says which file
if table is None:
    st.stop()
try:
    table = join_review_columns(table, data.layout, run.run_id)  # label-issue flag and review state, where they exist
except DatabaseError as exc:  # workbench.db is garbage or damaged: the predictions, without review state
    st.error(str(exc), icon=":material/error:")
points = projection_points(cache.projection(out), table)
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
map_selection(event, points, table, data=data, run_dir=run.run_dir)
