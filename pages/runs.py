"""Runs: every scan and training run, the active run the analysis pages use, run management, and a run-vs-run comparison."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.project.db import store_problem
from core.project.layout import open_layout
from core.runs.catalog import list_runs, runs_table
from core.runs.folder import CONFIG, LOG, OOF, SUBMISSION, TEST_PROBS
from core.runs.manage import display_name, pinned_run
from workbench import state
from workbench.cache import dataset
from workbench.components.downloads import download_files
from workbench.components.job_panel import live_run_card
from workbench.components.run_comparison import run_comparison
from workbench.components.run_manage import run_actions, trash_panel

project = state.current_project()
layout = open_layout(project)
data = dataset(project)
st.title("Runs")
if flash := state.pop_flash():
    st.success(flash, icon=":material/play_arrow:")
if problem := store_problem(layout.db_path):  # garbage or damaged: runs still listed, label versions unknown to it
    st.error(problem, icon=":material/error:")

runs = list_runs(layout)
if not runs:
    st.info("No runs yet. Start one on the Train page, or `workbench scan --project DIR` from a terminal.")
    trash_panel(layout)
    st.stop()

table = runs_table(runs)
active = state.active_run(runs)
pinned = pinned_run(layout)
table.insert(0, "active", table["run_id"] == active)
table.insert(1, "pinned", table["run_id"] == pinned)
table["name"] = [display_name(r.run_dir) for r in runs]
table["created_at"] = pd.to_datetime(table["created_at"], errors="coerce", utc=True)
for column in ("oof_macro_f1", "test_macro_f1", "duration_s", "folds"):  # a run without a score: blank, not "None"
    table[column] = pd.to_numeric(table[column], errors="coerce")
# Chosen for a 1,400 px window with the sidebar open (about 920 px of table): what tells runs apart and their
# scores come first and fit; how each was made (model, recipe, folds, time, created) follows, scrolled to.
COLUMNS = {
    "active": st.column_config.CheckboxColumn("active", help="The run the analysis pages show", width=50),
    "pinned": st.column_config.CheckboxColumn("pin", help="Pinned: the active run after reloads too", width=35),
    "run_id": st.column_config.TextColumn("run", width=190),
    "name": st.column_config.TextColumn("name", width=150, help="Display name (Rename below)"),
    "state": st.column_config.TextColumn("state", width=75),
    "labels": st.column_config.TextColumn("labels", width=62, help="The train labels the run used"),
    "oof_macro_f1": st.column_config.NumberColumn(
        "OOF F1", format="%.4f", width=65, help="Out-of-fold macro-F1, against the run's own labels"
    ),
    "test_macro_f1": st.column_config.NumberColumn(
        "test F1", format="%.4f", width=65, help="Macro-F1 on the labelled hold-out"
    ),
    "kind": st.column_config.TextColumn("kind", width=45),
    "model": st.column_config.TextColumn("model", width=170),
    "recipe": st.column_config.TextColumn("recipe", width=70),
    "folds": st.column_config.NumberColumn("folds", width=45),
    "duration_s": st.column_config.NumberColumn("time (s)", format="%.0f", width=65),
    "created_at": st.column_config.DatetimeColumn("created (UTC)", format="YYYY-MM-DD HH:mm", width=135),
}
st.dataframe(table[list(COLUMNS)], hide_index=True, width="stretch", column_config=COLUMNS)

ids = [r.run_id for r in runs]
names = dict(zip(ids, table["name"]))
state.pick_run_default(ids, active)  # the run just started here or on the Issues page, else the active run
picked = st.selectbox(
    "Run",
    ids,
    key=state.RUN_PICK,
    # Ids and names only: a run's state in the label would be stale once it ends; the table and card show it.
    format_func=lambda i: f"{i} · {names[i]}" if names.get(i) else i,
    help="The table above shows each run's state; the card below follows the chosen run live.",
)
selected = next(r for r in runs if r.run_id == picked)
run_actions(layout, selected, active=active, pinned=pinned)
live_run_card(layout, selected.run_id, selected.status)
download_files([selected.run_dir / name for name in (SUBMISSION, OOF, TEST_PROBS, CONFIG, LOG)])

succeeded = [r for r in runs if r.state == "succeeded"]
if len(succeeded) >= 2:
    run_comparison(data, succeeded)
trash_panel(layout)
