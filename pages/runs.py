"""Runs: every scan and training run, the active run the analysis pages use, and a run-vs-run comparison."""

from __future__ import annotations

import streamlit as st

from core.project.layout import open_layout
from core.runs.catalog import list_runs, runs_table
from core.runs.folder import ACTIVE, CONFIG, LOG, OOF, SUBMISSION, TEST_PROBS
from workbench import state
from workbench.cache import dataset
from workbench.components.downloads import download_files
from workbench.components.job_panel import live_run_card, start_retrain
from workbench.components.run_comparison import run_comparison

project = state.current_project()
layout = open_layout(project)
data = dataset(project)
st.title("Runs")
if flash := state.pop_flash():
    st.success(flash, icon=":material/play_arrow:")

runs = list_runs(layout)
if not runs:
    st.info("No runs yet. Start one on the Train page, or `workbench scan --project DIR` from a terminal.")
    st.stop()

table = runs_table(runs)
active = state.active_run(runs)
table.insert(0, "active", table["run_id"] == active)
st.dataframe(
    table.drop(columns=["progress"]),
    hide_index=True,
    width="stretch",
    column_config={
        "active": st.column_config.CheckboxColumn("active", help="The run the analysis pages show"),
        "oof_macro_f1": st.column_config.NumberColumn("OOF macro-F1", format="%.4f"),
        "test_macro_f1": st.column_config.NumberColumn("test macro-F1", format="%.4f"),
        "duration_s": st.column_config.NumberColumn("duration (s)", format="%.0f"),
        "created_at": st.column_config.TextColumn("created (UTC)"),
    },
)

ids = [r.run_id for r in runs]
watched = state.watched_run()  # the run just started here or on the Issues page
picked = st.selectbox(
    "Run",
    ids,
    index=ids.index(watched) if watched in ids else ids.index(active) if active in ids else 0,
    key=state.RUN_PICK,
    # Plain ids: a keyed selectbox keeps showing the label it was drawn with, so a state in the label
    # ("running") would stay after the run ended. The table above and the card below show the state.
    help="The table above shows each run's state; the card below follows the chosen run live.",
)
selected = next(r for r in runs if r.run_id == picked)
actions = st.container(horizontal=True)
if selected.state == "succeeded" and selected.run_id != active:
    if actions.button(
        "Make it the active run", icon=":material/check:", help="The Overview and analysis pages show the active run"
    ):
        state.set_active_run(selected.run_id)
        st.rerun()
if selected.state not in ACTIVE:
    if actions.button("Retrain on the newest labels", type="primary", icon=":material/replay:"):
        start_retrain(layout, selected)
live_run_card(layout, selected.run_id, selected.status)
download_files([selected.run_dir / name for name in (SUBMISSION, OOF, TEST_PROBS, CONFIG, LOG)])

succeeded = [r for r in runs if r.state == "succeeded"]
if len(succeeded) >= 2:
    run_comparison(data, succeeded)
