"""The Compare page's views of its members: agreement, class distributions, scores against a labelled
hold-out, out-of-fold error correlation, and a gallery of the test images they disagree on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.analysis.overview import gallery_items
from core.io.text import shown
from core.predictions.agreement import (
    agreement,
    disagreements,
    distribution,
    error_correlation,
    member_scores,
    only_wrong,
)
from core.predictions.ensemble import oof_matrix
from core.predictions.members import Member
from core.project.dataset import Dataset
from workbench import state
from workbench.components.gallery import gallery


def _heatmap(frame: pd.DataFrame, *, text: str, zmin: float, zmax: float, colorscale: str = "Blues") -> go.Figure:
    names = [shown(n, 24) for n in frame.index]
    figure = go.Figure(
        go.Heatmap(
            z=frame.to_numpy(),
            x=names,
            y=names,
            zmin=zmin,
            zmax=zmax,
            colorscale=colorscale,
            text=[[f"{v:.2f}" if np.isfinite(v) else "-" for v in row] for row in frame.to_numpy()],
            texttemplate="%{text}",
            hovertemplate="%{y} vs %{x}: %{text} " + text + "<extra></extra>",
        )
    )
    size = 120 + 45 * len(frame)
    figure.update_layout(height=size, margin={"l": 10, "r": 10, "t": 10, "b": 10}, yaxis={"autorange": "reversed"})
    return figure


def agreement_view(members: list[Member]) -> None:
    labels = np.stack([m.labels for m in members])
    names = [m.name for m in members]
    share, kappa = agreement(labels, names)
    left, right = st.columns([3, 2], gap="medium")
    with left:
        shown_as = st.segmented_control(
            "Agreement", ["share", "kappa"], default="share", key=state.COMPARE_MATRIX,
            format_func={"share": "Same prediction (share)", "kappa": "Cohen's kappa"}.get,
        ) or "share"  # fmt: skip
        frame = share if shown_as == "share" else kappa
        st.plotly_chart(
            _heatmap(frame, text=shown_as, zmin=0 if shown_as == "share" else -0.2, zmax=1), width="stretch"
        )
        st.caption(
            "Low agreement between two good members is where an ensemble gains most. Kappa discounts the "
            "agreement two members would reach by chance from their class distributions."
        )
    with right:
        differ = int((labels != labels[:1]).any(axis=0).sum())
        st.metric("Test images where the members disagree", f"{differ:,} of {labels.shape[1]:,}")


def distribution_view(data: Dataset, members: list[Member]) -> None:
    shares = distribution(
        np.stack([m.labels for m in members]), [m.name for m in members], num_classes=data.num_classes
    )
    train = data.train["target"].value_counts(normalize=True).reindex(range(data.num_classes), fill_value=0.0)
    figure = go.Figure()
    figure.add_bar(x=[data.class_label(k) for k in range(data.num_classes)], y=train.to_numpy(), name="train (given)",
                   marker_color="#9aa0a6")  # fmt: skip
    for name, row in shares.iterrows():
        figure.add_bar(x=[data.class_label(k) for k in range(data.num_classes)], y=row.to_numpy(), name=shown(name, 24))
    figure.update_layout(barmode="group", height=320, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                         yaxis={"tickformat": ".0%", "title": "share of predictions"}, legend={"orientation": "h"})  # fmt: skip
    st.plotly_chart(figure, width="stretch")
    st.caption("A member that predicts one class far more often than train has it is often miscalibrated on test.")


def hold_out(data: Dataset) -> tuple[np.ndarray, np.ndarray] | None:
    """(mask of the test rows with a hold-out label, those labels in test order), or None without test_labels.csv."""
    if data.test_labels is None:
        return None
    truth = data.test_labels.set_index("ID")["target"]
    ids = data.test["ID"].astype(str)
    known = ids.isin(truth.index).to_numpy()
    return known, truth.reindex(ids[known]).to_numpy(dtype=np.int64)


def scores_view(data: Dataset, members: list[Member]) -> None:
    """Each member's macro-F1 and per-class F1 on the labelled hold-out, and what only it gets wrong."""
    labelled = hold_out(data)
    if labelled is None:
        st.caption("No test_labels.csv: member scores appear when the project has a labelled hold-out.")
        return
    known, truth = labelled
    labels = np.stack([m.labels[known] for m in members])
    names = [m.name for m in members]
    macro, per_class = member_scores(labels, names, truth, num_classes=data.num_classes)
    alone = only_wrong(labels, names, truth)
    table = pd.DataFrame({"member": names, "test macro-F1": macro.to_numpy(),
                          "wrong where every other member is right": [len(alone[n]) for n in names]})  # fmt: skip
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={"test macro-F1": st.column_config.NumberColumn(format="%.3f")})  # fmt: skip
    per_class.columns = [data.class_label(k) for k in per_class.columns]
    per_class.index = [shown(n, 24) for n in per_class.index]
    figure = go.Figure(go.Heatmap(z=per_class.to_numpy(), x=list(per_class.columns), y=list(per_class.index),
                                  zmin=0, zmax=1, colorscale="RdYlGn", texttemplate="%{z:.2f}"))  # fmt: skip
    figure.update_layout(
        height=120 + 35 * len(members), margin={"l": 10, "r": 10, "t": 10, "b": 10}, yaxis={"autorange": "reversed"}
    )
    st.plotly_chart(figure, width="stretch")


def error_correlation_view(data: Dataset, members: list[Member]) -> None:
    with_oof = [m for m in members if m.oof is not None]
    if len(with_oof) < 2:
        st.caption("Out-of-fold error correlation needs at least two of the project's runs among the members.")
        return
    try:
        _, y, probs = oof_matrix([m.oof for m in with_oof], num_classes=data.num_classes)
    except ValueError as exc:
        st.caption(f"No out-of-fold comparison: {shown(exc, 200)}")
        return
    corr = error_correlation(probs, y, [m.name for m in with_oof])
    st.plotly_chart(_heatmap(corr, text="error correlation", zmin=-0.2, zmax=1, colorscale="Oranges"), width="stretch")
    st.caption(f"Correlation of the runs' out-of-fold mistakes on the {len(y):,} train images they all scored: "
               "members whose mistakes correlate little gain most from being ensembled.")  # fmt: skip


def disagreement_gallery(data: Dataset, members: list[Member]) -> None:
    names = [m.name for m in members]
    labels = np.stack([m.labels for m in members])
    ids = data.test["ID"].astype(str).tolist()
    rows = disagreements(labels, names, ids)
    left, right = st.columns(2)
    chosen = left.selectbox("Class", [None, *data.classes], key=state.COMPARE_CLASS,
                            format_func=lambda t: "Any class" if t is None else f"some member predicts {data.class_label(t)}")  # fmt: skip
    truth = None if data.test_labels is None else data.test_labels.set_index("ID")["target"]
    focus_options = (
        ["all"] + [f"only:{n}" for n in names] + [f"pair:{a}|{b}" for i, a in enumerate(names) for b in names[i + 1 :]]
    )
    if truth is not None:
        focus_options += [f"wrong:{n}" for n in names]
    state.forget_stale_choice(state.COMPARE_FOCUS, focus_options)
    focus = right.selectbox("Which disagreements", focus_options, key=state.COMPARE_FOCUS, format_func=_focus_label)
    if chosen is not None:
        rows = rows[(rows[names] == chosen).any(axis=1)]
    if focus.startswith("only:"):
        who = focus[5:]
        others = [n for n in names if n != who]
        rows = rows[(rows[others].nunique(axis=1) == 1) & (rows[who] != rows[others[0]])] if others else rows.iloc[0:0]
    elif focus.startswith("wrong:") and truth is not None:
        who = focus[6:]
        others = [n for n in names if n != who]
        right = truth.reindex(rows["ID"]).to_numpy()
        rows = rows[(rows[who].to_numpy() != right) & (rows[others].to_numpy() == right[:, None]).all(axis=1)]
    elif focus.startswith("pair:"):
        a, b = focus[5:].split("|", 1)
        rows = rows[rows[a] != rows[b]]
    items = gallery_items(data, "test").set_index("ID").reindex(rows["ID"]).reset_index()
    items["caption"] = [" · ".join(str(int(v)) for v in row) for row in rows[names].to_numpy()]
    for name in names:  # listed in each image's detail dialog
        items[f"{shown(name, 40)} predicts"] = [data.class_label(int(v)) for v in rows[name]]
    st.caption(
        "Each caption lists the members' predicted classes in this order: " + " · ".join(shown(n, 30) for n in names)
    )
    if truth is not None:
        items["sub"] = [f"true {data.class_label(int(truth[i]))}" if i in truth.index else "" for i in items["ID"]]
    gallery(items, name="compare_disagreements", empty_text="The members agree on every test image here.")


def _focus_label(option: str) -> str:
    if option == "all":
        return "All disagreements"
    if option.startswith("only:"):
        return f"Only {shown(option[5:], 30)} disagrees with the rest"
    if option.startswith("wrong:"):
        return f"{shown(option[6:], 30)} is wrong where every other member is right (hold-out)"
    a, b = option[5:].split("|", 1)
    return f"{shown(a, 24)} vs {shown(b, 24)}"
