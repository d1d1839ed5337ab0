"""Compare: teammates' prediction CSVs and the project's runs side by side, and an ensemble of them to submit."""

from __future__ import annotations

import streamlit as st

from core.runs.catalog import list_runs
from workbench import cache, state
from workbench.components.compare_members import add_files, pick_members
from workbench.components.compare_views import (
    agreement_view,
    disagreement_gallery,
    distribution_view,
    error_correlation_view,
    scores_view,
)
from workbench.components.ensemble_builder import ensemble_builder

data = cache.dataset(state.current_project())
st.title("Compare predictions")
st.caption(
    "Where teammates' models and your runs disagree, how each scores, and an ensemble of them to submit. "
    "Every file is checked against this project's test IDs before it is used."
)
if not data.report.usable or data.test.empty:
    st.error("This project has no usable test set yet: see the Overview page for what is wrong.")
    st.stop()

add_files(data)
members = pick_members(data, list_runs(data.layout))
if len(members) < 2:
    if members:
        st.info("Pick at least two members to compare and ensemble.")
    st.stop()

st.subheader("Agreement")
agreement_view(members)
st.subheader("Predicted classes")
distribution_view(data, members)
st.subheader("Scores")
scores_view(data, members)
error_correlation_view(data, members)
st.subheader("Ensemble")
ensemble_builder(data, members)
st.subheader("Where they disagree")
disagreement_gallery(data, members)
