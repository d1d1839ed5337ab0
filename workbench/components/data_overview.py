"""The Overview page's sections: the project's headline numbers and check findings, the class and
image-size charts, and train beside test galleries."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from core.analysis.overview import class_distribution, gallery_items, size_distribution
from core.project.dataset import Dataset
from workbench import state
from workbench.components.findings import show_findings
from workbench.components.gallery import gallery


def project_summary(data: Dataset) -> None:
    """Train / test / class counts, the check's verdict, the labelled hold-out, then the findings."""
    has_holdout = data.test_labels is not None
    cols = st.columns(5)
    cols[0].metric("Train images", f"{len(data.train):,}")
    cols[1].metric("Test images", f"{len(data.test):,}")
    cols[2].metric("Classes", f"{data.num_classes}")
    # The value is a bare count: a fifth of a 1,400-px window holds about 8 characters of a metric's value
    # ("0 warning(s)" showed as "0 warnin…").
    if data.report.errors:
        cols[3].metric("Check errors", f"{len(data.report.errors):,}", help="Not usable until they are fixed (below)")
    else:
        cols[3].metric("Check warnings", f"{len(data.report.warnings):,}")
    cols[4].metric("Labelled test", f"{len(data.test_labels):,}" if has_holdout else "none")
    show_findings(data.report)


def class_distribution_figure(dist: pd.DataFrame) -> go.Figure:
    """Share of each split per class (core.analysis.overview.class_distribution), splits side by side."""
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
    return fig


def image_size_figure(sizes: pd.DataFrame) -> go.Figure:
    """Image sizes per split (core.analysis.overview.size_distribution), one marker per size, sized by count."""
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
    return fig


def distribution_charts(data: Dataset, *, predictions: pd.DataFrame | None, run_id: str | None) -> None:
    """The class distribution (test by the active run's predictions where it has them) beside the image sizes."""
    left, right = st.columns([3, 2])
    with left:
        st.plotly_chart(
            class_distribution_figure(class_distribution(data, test_predictions=predictions)), width="stretch"
        )
        if predictions is not None:
            st.caption(f"Test predicted by run {run_id} (the active run).")
    with right:
        sizes = size_distribution(data)
        st.plotly_chart(image_size_figure(sizes), width="stretch")
        if len(sizes) <= 6:
            st.caption(" · ".join(f"{r.split}: {r.width}x{r.height} ({r.count:,})" for r in sizes.itertuples()))


def train_beside_test(data: Dataset, *, predictions: pd.DataFrame | None) -> None:
    """A class picker, then a train and a test gallery side by side (test filtered by its hold-out
    label, else by the active run's prediction)."""
    has_holdout = data.test_labels is not None
    st.subheader("Train beside test")
    chosen = st.selectbox(
        "Class",
        [None, *data.classes],
        key=state.OVERVIEW_CLASS,
        format_func=lambda t: "All classes" if t is None else data.class_label(t),
        help="Train is filtered by its given label"
        + (
            "; test by its hold-out label."
            if has_holdout
            else "; test by the active run's prediction."
            if predictions is not None
            else "; test has no labels until a run predicts them."
        ),
    )
    train_col, test_col = st.columns(2, gap="medium")
    with train_col:
        _side(data, "train", "Train", chosen, predictions=predictions)
    with test_col:
        _side(data, "test", "Test", chosen if has_holdout or predictions is not None else None, predictions=predictions)


@st.fragment
def _side(data: Dataset, split: str, title: str, target: int | None, *, predictions: pd.DataFrame | None) -> None:
    """One gallery; paging reruns only this fragment, not the charts above."""
    st.markdown(f"**{title}**")
    items = gallery_items(data, split, target=target, test_predictions=predictions)
    gallery(items, name=f"overview_{split}", page_size=24, min_px=96)
