"""Overview: what is in the project, what is wrong with it, and how train and test differ."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from core.analysis.overview import class_distribution, gallery_items, size_distribution, test_predictions
from core.runs.catalog import list_runs
from workbench import state
from workbench.components.findings import show_findings
from workbench.components.gallery import gallery
from workbench.data import dataset

project = state.current_project()
data = dataset(project)

st.title("Overview")
has_holdout = data.test_labels is not None
cols = st.columns(5)
cols[0].metric("Train images", f"{len(data.train):,}")
cols[1].metric("Test images", f"{len(data.test):,}")
cols[2].metric("Classes", f"{data.num_classes}")
cols[3].metric("Check", "not usable" if data.report.errors else f"{len(data.report.warnings)} warning(s)")
cols[4].metric("Labelled test", f"{len(data.test_labels):,}" if has_holdout else "none")

show_findings(data.report)
if not data.report.usable:
    st.stop()

left, right = st.columns([3, 2])
with left:
    runs = list_runs(data.layout)
    run_id = state.active_run(runs)
    predictions = test_predictions(data.layout.runs_dir / run_id) if run_id else None
    dist = class_distribution(data, test_predictions=predictions)
    fig = px.bar(
        dist,
        x="class_name",
        y="share",
        color="split",
        barmode="group",
        hover_data=["count", "target"],
        labels={"class_name": "class", "share": "share of split"},
        title="Class distribution",
    )
    fig.update_layout(height=340, margin=dict(l=10, r=10, t=50, b=10), legend_title_text="", yaxis_tickformat=".0%")
    st.plotly_chart(fig, width="stretch")
    if predictions is not None:
        st.caption(f"Test predicted by run {run_id} (the active run).")
with right:
    sizes = size_distribution(data)
    fig = px.scatter(
        sizes,
        x="width",
        y="height",
        size="count",
        color="split",
        hover_data=["count"],
        title="Image sizes (width x height)",
        size_max=40,
    )
    fig.update_layout(height=340, margin=dict(l=10, r=10, t=50, b=10), legend_title_text="")
    st.plotly_chart(fig, width="stretch")
    if len(sizes) <= 6:
        st.caption(" · ".join(f"{r.split}: {r.width}x{r.height} ({r.count:,})" for r in sizes.itertuples()))

st.subheader("Train beside test")
options = [None, *data.classes]
chosen = st.selectbox(
    "Class",
    options,
    key=state.OVERVIEW_CLASS,
    format_func=lambda t: "All classes" if t is None else f"{t} · {data.class_name(t)}",
    help="Train is filtered by its given label"
    + (
        "; test by its hold-out label."
        if has_holdout
        else "; test by the active run's prediction."
        if predictions is not None
        else "; test has no labels until a run predicts them."
    ),
)


@st.fragment
def side(split: str, title: str, target: int | None) -> None:
    """One gallery; paging reruns only this fragment, not the charts above."""
    st.markdown(f"**{title}**")
    items = gallery_items(data, split, target=target, test_predictions=predictions)
    gallery(items, name=f"overview_{split}", page_size=24, min_px=96)


train_col, test_col = st.columns(2, gap="medium")
with train_col:
    side("train", "Train", chosen)
with test_col:
    side("test", "Test", chosen if has_holdout or predictions is not None else None)
