"""Submissions: every CSV the team sent, what produced it, its leaderboard scores, and whether our validation
predicts the leaderboard."""

from __future__ import annotations

import streamlit as st

from core.project.db import store_problem
from core.runs.catalog import list_runs
from core.submissions.log import list_submissions
from workbench import cache, state
from workbench.components.submissions_log import correlation_plot, log_form, scores_table

data = cache.dataset(state.current_project())
st.title("Submissions")
st.caption(
    "Log each file you send to the leaderboard (a copy is kept under .workbench/predictions/), then type in its "
    "public and private scores. The plot answers: does our out-of-fold validation predict the leaderboard?"
)
if not data.report.usable or data.test.empty:
    st.error("This project has no usable test set yet: see the Overview page for what is wrong.")
    st.stop()
if problem := store_problem(data.layout.db_path):  # workbench.db is garbage or damaged: say what to do, no traceback
    st.error(problem, icon=":material/error:")
    st.stop()

if flash := state.pop_flash():
    st.success(flash, icon=":material/check:")
log_form(data, list_runs(data.layout))
log = list_submissions(data.layout)
if log.empty:
    st.info("No submission logged yet.")
    st.stop()
scores_table(data, log)
correlation_plot(list_submissions(data.layout))  # read again: includes scores saved just now
