"""The Runs page's comparison of two finished runs: headline deltas and per-class F1, A beside B and B - A."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from core.analysis.two_runs import compare_per_class, run_per_class_f1
from core.project.dataset import Dataset
from core.runs.catalog import RunInfo
from workbench import state

DIRECTION_COLOURS = {"better": "#16a34a", "worse": "#dc2626", "same": "#9ca3af"}
HEADLINES = (("oof_macro_f1", "OOF macro-F1"), ("test_macro_f1", "Test macro-F1"))


def per_class_figure(diff: pd.DataFrame, *, metric: str, run_a: str, run_b: str) -> go.Figure:
    """Grouped bars of each class's score in run A and run B (diff: core.analysis.two_runs.compare_per_class + class)."""
    long = diff.melt(id_vars=["class"], value_vars=["a", "b"], var_name="run", value_name="f1")
    long["run"] = long["run"].map({"a": f"A {run_a}", "b": f"B {run_b}"})
    fig = px.bar(long, x="class", y="f1", color="run", barmode="group", title=f"Per-class {metric}")
    fig.update_layout(height=360, margin=dict(l=10, r=10, t=40, b=10), legend_title_text="")
    return fig


def delta_figure(diff: pd.DataFrame) -> go.Figure:
    """Bars of B - A per class, green where B is better, red where worse."""
    frame = diff.assign(direction=["better" if d > 0 else "worse" if d < 0 else "same" for d in diff["delta"]])
    fig = px.bar(frame, x="class", y="delta", color="direction", title="B - A", color_discrete_map=DIRECTION_COLOURS)
    fig.update_layout(height=360, margin=dict(l=10, r=10, t=40, b=10), showlegend=False)
    return fig


def run_comparison(data: Dataset, succeeded: list[RunInfo]) -> None:
    """Pick two finished runs (B the newer by default) and a per-class metric; draw their deltas."""
    st.subheader("Compare two runs")
    ids = [r.run_id for r in succeeded]
    c1, c2, c3 = st.columns([2, 2, 1])
    run_a = c1.selectbox("Run A (before)", ids, index=1, key=state.COMPARE_A)
    run_b = c2.selectbox("Run B (after)", ids, index=0, key=state.COMPARE_B)
    metrics = ["oof_f1"] + (["test_f1"] if data.test_labels is not None else [])
    metric = c3.selectbox("Per-class", metrics, index=len(metrics) - 1, key=state.COMPARE_METRIC)
    runs_dir = data.layout.runs_dir
    per_a = run_per_class_f1(runs_dir / run_a, num_classes=data.num_classes, test_labels=data.test_labels)
    per_b = run_per_class_f1(runs_dir / run_b, num_classes=data.num_classes, test_labels=data.test_labels)
    if metric not in per_a or metric not in per_b:
        st.info(f"One of the runs has no {metric} (no oof.csv / test_probs.csv).")
        return
    diff = compare_per_class(per_a, per_b, metric=metric)
    diff["class"] = [data.class_label(t) for t in diff["target"]]
    status_a = next(r.status for r in succeeded if r.run_id == run_a).get("metrics", {})
    status_b = next(r.status for r in succeeded if r.run_id == run_b).get("metrics", {})
    for col, (key, label) in zip(st.columns(2), HEADLINES):
        if key in status_a and key in status_b:
            col.metric(f"{label}: B", f"{status_b[key]:.4f}", delta=f"{status_b[key] - status_a[key]:+.4f} vs A")
    left, right = st.columns(2)
    left.plotly_chart(per_class_figure(diff, metric=metric, run_a=run_a, run_b=run_b), width="stretch")
    right.plotly_chart(delta_figure(diff), width="stretch")
