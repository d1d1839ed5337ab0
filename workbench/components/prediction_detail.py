"""What the gallery's dialog adds for a scored image: its label decision (train images), its probability
bars and its nearest neighbours."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.project.dataset import class_label
from core.project.imageindex import read_thumbnail
from core.runs.artifacts import RunDamaged
from core.runs.folder import prob_columns
from workbench import cache
from workbench.components.image_decision import decision_panel

NEIGHBOURS = 8
COLOUR_PREDICTED = "#2563eb"
COLOUR_GIVEN = "#16a34a"
COLOUR_OTHER = "#cbd5e1"


def probability_figure(probs: np.ndarray, *, given: int | None, class_names: Mapping[int, str]) -> go.Figure:
    """Horizontal bars of one image's class probabilities, highest on top; predicted blue, given label green."""
    order = np.argsort(-probs, kind="stable")
    predicted = int(order[0])
    colours = [
        COLOUR_PREDICTED if k == predicted else COLOUR_GIVEN if given is not None and k == given else COLOUR_OTHER
        for k in order
    ]
    labels = [class_label(k, class_names) + (" (given)" if k == given else "") for k in order]
    figure = go.Figure(
        go.Bar(
            x=probs[order],
            y=labels,
            orientation="h",
            marker_color=colours,
            text=[f"{p:.1%}" for p in probs[order]],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}: %{x:.2%}<extra></extra>",
        )
    )
    figure.update_layout(
        height=max(160, 22 * len(order) + 40),
        margin=dict(l=10, r=40, t=30, b=10),
        title="Probabilities",
        xaxis=dict(range=[0, 1.12], tickformat=".0%", showgrid=False),
        yaxis=dict(autorange="reversed"),
        showlegend=False,
    )
    return figure


def detail_renderer(
    table: pd.DataFrame,
    *,
    run_dir: Path,
    class_names: Mapping[int, str],
    images: pd.DataFrame,
    db_path: Path | None = None,
) -> Callable[[pd.Series], None]:
    """The gallery's `detail` callback for cards built from this prediction table (rows need ID and split).

    db_path: the project's workbench.db; with it, a train image's dialog can relabel, keep or drop it
    (workbench.components.image_decision).
    """
    num_classes = len(class_names)
    probs_columns = prob_columns(num_classes)

    def draw(row: pd.Series) -> None:
        keyed = table.set_index(["split", "ID"])  # only when a dialog opens, not on every page run
        key = (str(row.get("split", "train")), str(row["ID"]))
        if key not in keyed.index:
            return
        scored = keyed.loc[key]
        given = None if pd.isna(scored["given"]) else int(scored["given"])
        if db_path is not None and key[0] == "train":
            predicted = None if pd.isna(scored["predicted"]) else int(scored["predicted"])
            decision_panel(
                db_path, key[1], given=given, class_names=class_names, run_id=run_dir.name, suggested=predicted
            )
        elif db_path is not None:
            st.caption("Label decisions are for train images: a test image's label is not relabelled here.")
        left, right = st.columns([2, 3])
        with left:
            probs = scored[probs_columns].to_numpy(dtype=np.float64)
            st.plotly_chart(
                probability_figure(probs, given=given, class_names=class_names),
                width="stretch",
                config={"displayModeBar": False},
            )
        with right:
            _neighbours(key, run_dir=run_dir, keyed=keyed, class_names=class_names, images=images)

    return draw


def _neighbours(key, *, run_dir: Path, keyed: pd.DataFrame, class_names, images: pd.DataFrame) -> None:
    st.markdown(f"**{NEIGHBOURS} nearest neighbours** (cosine similarity of the run's embeddings)")
    try:
        index = cache.neighbour_index(run_dir)
    except RunDamaged as exc:  # embeddings.npy unreadable or not matching its IDs: no neighbours, said so
        st.error(str(exc), icon=":material/broken_image:")
        return
    if index is None:
        st.caption("This run stored no embeddings.")
        return
    neighbours, lookup, ids = index
    row = lookup.get(key)
    if row is None:
        st.caption("This image has no embedding in the run.")
        return
    rows, similarity = neighbours.query(row, k=NEIGHBOURS)
    found = ids.iloc[rows]
    keys = list(zip(found["split"], found["ID"]))
    thumbs = images.set_index(["split", "name"])["thumb"].reindex(pd.MultiIndex.from_tuples(keys))
    thumbs = dict(zip(keys, thumbs.to_numpy()))
    cards = []
    for (split, image_id), sim in zip(zip(found["split"], found["ID"]), similarity):
        thumb = thumbs.get((split, image_id))
        if not isinstance(thumb, str) or not thumb:
            continue
        label = ""
        if (split, image_id) in keyed.index:
            scored = keyed.loc[(split, image_id)]
            given, predicted = scored["given"], class_names.get(int(scored["predicted"]), "")
            label = f"{class_names.get(int(given), given)} → {predicted}" if pd.notna(given) else f"? → {predicted}"
        cards.append((thumb, f"{label} · {sim:.2f}  \n{split} {image_id}"))
    if not cards:
        st.caption("No thumbnails for the neighbours.")
        return
    # Four to a row: eight st.image calls, each a small thumbnail read from its pack.
    for start in range(0, len(cards), 4):
        for column, (thumb, caption) in zip(st.columns(4), cards[start : start + 4]):
            column.image(read_thumbnail(thumb), caption=caption, width="stretch")
