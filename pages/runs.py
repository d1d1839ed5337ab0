"""Runs: every scan and training run, the active run the analysis pages use, and a run-vs-run comparison."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from core.analysis.two_runs import compare_per_class, run_per_class_f1
from core.project.layout import open_layout
from core.runs.catalog import list_runs, retrain_config, runs_table
from core.runs.folder import ACTIVE
from core.runs.jobs import start_job
from workbench import state
from workbench.components.job_panel import live_run_card
from workbench.data import dataset

project = state.current_project()
layout = open_layout(project)
data = dataset(project)
st.title("Runs")
if flash := st.session_state.pop(state.FLASH, None):
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
watched = st.session_state.get(state.WATCHED_RUN)  # the run just started here or on the Issues page
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
        st.session_state[state.ACTIVE_RUN] = selected.run_id
        st.rerun()
if selected.state not in ACTIVE:
    if actions.button("Retrain on the newest labels", type="primary", icon=":material/replay:"):
        config = retrain_config(selected.config(), layout.labels_dir)
        run_dir = start_job(layout, config)
        st.session_state[state.WATCHED_RUN] = run_dir.name
        st.session_state[state.FLASH] = f"Started {run_dir.name}: the same config on labels {config.data.labels}."
        st.rerun()
live_run_card(layout, selected.run_id, selected.status)

succeeded = [r for r in runs if r.state == "succeeded"]
if len(succeeded) >= 2:
    st.subheader("Compare two runs")
    ids = [r.run_id for r in succeeded]
    c1, c2, c3 = st.columns([2, 2, 1])
    run_a = c1.selectbox("Run A (before)", ids, index=1, key=state.COMPARE_A)
    run_b = c2.selectbox("Run B (after)", ids, index=0, key=state.COMPARE_B)
    metrics = ["oof_f1"] + (["test_f1"] if data.test_labels is not None else [])
    metric = c3.selectbox("Per-class", metrics, index=len(metrics) - 1, key=state.COMPARE_METRIC)
    per_a = run_per_class_f1(layout.runs_dir / run_a, num_classes=data.num_classes, test_labels=data.test_labels)
    per_b = run_per_class_f1(layout.runs_dir / run_b, num_classes=data.num_classes, test_labels=data.test_labels)
    if metric in per_a and metric in per_b:
        diff = compare_per_class(per_a, per_b, metric=metric)
        diff["class"] = [f"{t} · {data.class_name(t)}" for t in diff["target"]]
        status_a = next(r.status for r in succeeded if r.run_id == run_a).get("metrics", {})
        status_b = next(r.status for r in succeeded if r.run_id == run_b).get("metrics", {})
        cols = st.columns(2)
        for col, key, label in zip(cols, ("oof_macro_f1", "test_macro_f1"), ("OOF macro-F1", "Test macro-F1")):
            if key in status_a and key in status_b:
                col.metric(f"{label}: B", f"{status_b[key]:.4f}", delta=f"{status_b[key] - status_a[key]:+.4f} vs A")
        long = diff.melt(id_vars=["class"], value_vars=["a", "b"], var_name="run", value_name="f1")
        long["run"] = long["run"].map({"a": f"A {run_a}", "b": f"B {run_b}"})
        left, right = st.columns(2)
        fig = px.bar(long, x="class", y="f1", color="run", barmode="group", title=f"Per-class {metric}")
        fig.update_layout(height=360, margin=dict(l=10, r=10, t=40, b=10), legend_title_text="")
        left.plotly_chart(fig, width="stretch")
        diff["direction"] = ["better" if d > 0 else "worse" if d < 0 else "same" for d in diff["delta"]]
        fig = px.bar(
            diff,
            x="class",
            y="delta",
            color="direction",
            title="B - A",
            color_discrete_map={"better": "#16a34a", "worse": "#dc2626", "same": "#9ca3af"},
        )
        fig.update_layout(height=360, margin=dict(l=10, r=10, t=40, b=10), showlegend=False)
        right.plotly_chart(fig, width="stretch")
    else:
        st.info(f"One of the runs has no {metric} (no oof.csv / test_probs.csv).")
