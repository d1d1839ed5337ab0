"""The Issues page's class-imbalance view: train images per class, the classes Datalab finds rare."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from core.issues.class_balance import class_balance
from core.project.dataset import Dataset, class_label
from workbench.cache import Review


def class_balance_figure(balance: pd.DataFrame, class_names: Mapping[int, str]) -> go.Figure:
    """Bars of core.issues.class_balance's table, the rare classes in their own colour."""
    frame = pd.DataFrame(
        {
            "class": [class_label(t, class_names) for t in balance["target"]],
            "images": balance["images"].to_numpy(),
            "rare": ["rare (Datalab)" if rare else "" for rare in balance["is_rare"]],
        }
    )
    fig = px.bar(frame, x="class", y="images", color="rare", title="Train images per class (labels the run used)")
    fig.update_layout(height=360, margin=dict(l=10, r=10, t=40, b=10), legend_title_text="")
    return fig


def class_balance_view(data: Dataset, review: Review) -> None:
    """The chart, then what to do about the rare classes (or that there are none)."""
    found = review.issues.data
    balance = class_balance(review.issues.labels, None if found is None else found.table, classes=list(data.classes))
    st.plotly_chart(class_balance_figure(balance, data.classes), width="stretch")
    rare = balance.loc[balance["is_rare"], "target"]
    if len(rare):
        st.warning(
            f"Datalab finds {', '.join(data.class_label(t) for t in sorted(rare))} much rarer than the others: "
            "consider the weighted sampler or weighted loss on the Train page, or more images of it."
        )
    else:
        st.success(
            "No class is rare enough for Datalab to flag (smallest / largest: "
            f"{balance['images'].min():,} / {balance['images'].max():,} images)."
        )
