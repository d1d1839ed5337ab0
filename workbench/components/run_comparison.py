"""The Runs page's comparison of two finished runs: headline deltas and per-class F1, A beside B and B - A."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from core.analysis.two_runs import compare_headlines, compare_per_class, oof_comparable, run_per_class_f1
from core.io.text import shown
from core.project.dataset import Dataset
from core.runs.artifacts import RunDamaged
from core.runs.catalog import RunInfo, trained_labels
from core.runs.manage import display_name
from workbench import state

DIRECTION_COLOURS = {"better": "#16a34a", "worse": "#dc2626", "same": "#9ca3af"}


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
    """Pick two finished runs (B the newer by default) and a per-class metric; draw their deltas.

    The hold-out (test) delta leads. Runs trained on different labels get no OOF delta: each run's OOF score
    is measured against its own labels, so the two are not comparable."""
    st.subheader("Compare two runs")
    ids = [r.run_id for r in succeeded]
    by_id = {r.run_id: r for r in succeeded}
    c1, c2, c3 = st.columns([2, 2, 1])
    run_a = c1.selectbox("Run A (before)", ids, index=1, key=state.COMPARE_A, format_func=lambda i: _label(by_id[i]))
    run_b = c2.selectbox("Run B (after)", ids, index=0, key=state.COMPARE_B, format_func=lambda i: _label(by_id[i]))
    labels_a, labels_b = trained_labels(by_id[run_a]), trained_labels(by_id[run_b])
    same_labels = oof_comparable(labels_a, labels_b)
    metrics = (["test_f1"] if data.test_labels is not None else []) + ["oof_f1"]
    metric = c3.selectbox("Per-class", metrics, index=0, key=state.COMPARE_METRIC)
    headlines = compare_headlines(
        by_id[run_a].status.get("metrics") or {},
        by_id[run_b].status.get("metrics") or {},
        labels_a=labels_a,
        labels_b=labels_b,
    )
    for col, row in zip(st.columns(max(len(headlines), 1)), headlines):
        delta = None if row["delta"] is None else f"{row['delta']:+.4f} vs A"
        col.metric(f"{row['label']}: B", f"{row['b']:.4f}", delta=delta, help=row["note"] or None)
    if not same_labels:
        st.warning(
            f"A trained on labels {shown(labels_a)}, B on {shown(labels_b)}: their OOF scores are measured against "
            "different labels and are not comparable. Judge the change by the hold-out (test) scores.",
            icon=":material/warning:",
        )
    runs_dir = data.layout.runs_dir
    try:
        per_a = run_per_class_f1(runs_dir / run_a, num_classes=data.num_classes, test_labels=data.test_labels)
        per_b = run_per_class_f1(runs_dir / run_b, num_classes=data.num_classes, test_labels=data.test_labels)
    except RunDamaged as exc:  # a run's files cut short or garbled: said, never compared partially
        st.error(str(exc), icon=":material/broken_image:")
        return
    if metric not in per_a or metric not in per_b:
        st.info(f"One of the runs has no {metric} (no oof.csv / test_probs.csv).")
        return
    diff = compare_per_class(per_a, per_b, metric=metric)
    diff["class"] = [data.class_label(t) for t in diff["target"]]
    left, right = st.columns(2)
    left.plotly_chart(per_class_figure(diff, metric=metric, run_a=run_a, run_b=run_b), width="stretch")
    if metric == "oof_f1" and not same_labels:
        right.info("No per-class OOF delta: the two runs' OOF scores are on different labels.")
    else:
        right.plotly_chart(delta_figure(diff), width="stretch")


def _label(run: RunInfo) -> str:
    name = display_name(run.run_dir)
    return f"{run.run_id} · {name}" if name else run.run_id
