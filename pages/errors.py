"""Errors: what the active run gets wrong: headline scores, a clickable confusion matrix, the worst
classes and most confused pairs, and where two runs disagree."""

from __future__ import annotations

import streamlit as st

from core.analysis.predictions import labelled
from core.analysis.scores import headline_metrics
from core.runs.catalog import list_runs
from workbench import cache, state
from workbench.components.error_panels import SETS, confusion_section, headline_row, two_runs_section
from workbench.components.prediction_detail import detail_renderer
from workbench.components.run_picker import analysis_run, run_predictions

data = cache.dataset(state.current_project())
st.title("Errors")
runs = list_runs(data.layout)
run = analysis_run(runs, widget_key=state.analysis_run_key("errors"))
if run is None:
    st.stop()
table = run_predictions(run, data)  # None: damaged, the error says which file
if table is None:
    st.stop()
sets = [s for s in SETS if len(labelled(table, s))]
if not sets:
    st.info("This run stored no labelled predictions (no oof.csv, and no test_labels.csv for its test predictions).")
    st.stop()

headline_row(headline_metrics(table, num_classes=data.num_classes, stored=run.status.get("metrics")))

state.forget_stale_choice(state.ERRORS_SET, sets)  # e.g. another run without a hold-out
controls = st.columns([3, 2, 3])
scored_on = controls[0].segmented_control(
    "Scored on", sets, default=sets[0], key=state.ERRORS_SET, format_func=SETS.get
)
scored_on = scored_on or sets[0]
normalise = controls[1].toggle(
    "Row shares", key=state.ERRORS_NORMALISE, help="Each row divided by its true class's size: the diagonal is recall."
)
detail = detail_renderer(
    table, run_dir=run.run_dir, class_names=data.classes, images=data.images, db_path=data.layout.db_path
)
confusion_section(data, labelled(table, scored_on), scored_on, bool(normalise), detail)

succeeded = [r for r in runs if r.state == "succeeded"]
if len(succeeded) >= 2:
    two_runs_section(data, succeeded, shown_run=run.run_id, scored_on=scored_on)
