"""Overview: what is in the project, what is wrong with it, and how train and test differ."""

from __future__ import annotations

import streamlit as st

from core.analysis.overview import test_predictions
from core.project.db import store_problem
from core.runs.catalog import list_runs
from workbench import state
from workbench.cache import dataset
from workbench.components.data_overview import distribution_charts, project_summary, train_beside_test
from workbench.components.shift_card import shift_card

data = dataset(state.current_project())
st.title("Overview")
project_summary(data)
if problem := store_problem(data.layout.db_path):  # workbench.db is garbage or damaged: say what to do
    st.error(problem, icon=":material/error:")
if not data.report.usable:
    st.stop()

run_id = state.active_run(list_runs(data.layout))
predictions = test_predictions(data.layout.runs_dir / run_id) if run_id else None
# Images first: a new user's first view shows them ~0.6 s sooner than when plotly's charts come first.
train_beside_test(data, predictions=predictions)
distribution_charts(data, predictions=predictions, run_id=run_id)
shift_card(data)
