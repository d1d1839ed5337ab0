"""A clickable confusion matrix: a plotly heatmap whose cells open the gallery of their images.

Streamlit 1.67's plotly selections come from plotly's own point selection, which heatmaps do not
support (a click on a heatmap cell selects nothing; the frontend's click handler only reports
sunburst/treemap nodes). So the heatmap draws the matrix and an invisible square marker sits on
every cell: a click selects that marker (selection mode "points"), whose customdata names the
cell. The chosen cell is kept in session state (state.ERRORS_CELL) by the selection callback, so it
survives a redraw (counts <-> row shares makes a new chart whose selection starts empty).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from core.analysis.scores import row_normalise
from core.project.dataset import class_label
from workbench import state

CELL_PX = 34  # drawn cell size; the chart's height follows from it
_MARGIN = dict(l=10, r=10, t=40, b=10)


def axis_labels(class_names: Mapping[int, str]) -> list[str]:
    return [class_label(k, class_names) for k in sorted(class_names)]


def confusion_figure(matrix: np.ndarray, class_names: Mapping[int, str], *, normalise: bool) -> go.Figure:
    """Rows = true (given) class, columns = predicted; colour and text are counts or row shares."""
    counts = np.asarray(matrix, dtype=np.int64)
    k = len(counts)
    shares = row_normalise(counts)
    labels = axis_labels(class_names)
    colour = shares if normalise else counts
    if normalise:
        text = np.where(counts > 0, np.char.mod("%.0f%%", shares * 100), "")
    else:
        text = np.where(counts > 0, counts.astype(str), "")
    true_idx, pred_idx = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    customdata = np.stack([true_idx, pred_idx, counts, shares], axis=-1).reshape(-1, 4)
    figure = go.Figure()
    figure.add_trace(
        go.Heatmap(
            z=colour,
            x=labels,
            y=labels,
            text=text,
            texttemplate="%{text}",
            textfont=dict(size=11),
            colorscale="Blues",
            showscale=False,
            hoverinfo="skip",
            xgap=1,
            ygap=1,
        )
    )
    # The clickable layer: one transparent square per cell, highlighted when selected.
    figure.add_trace(
        go.Scatter(
            x=[labels[p] for p in pred_idx.ravel()],
            y=[labels[t] for t in true_idx.ravel()],
            # A plain list: numpy arrays travel as typed arrays, which come back from a selection as
            # {"0": .., "1": ..} objects instead of lists.
            customdata=customdata.tolist(),
            mode="markers",
            marker=dict(symbol="square", size=CELL_PX - 4, color="rgba(0,0,0,0)", line=dict(width=0)),
            selected=dict(marker=dict(color="rgba(245,158,11,0.55)")),
            unselected=dict(marker=dict(opacity=1)),
            hovertemplate=(
                "true %{y}<br>predicted %{x}<br>%{customdata[2]} image(s), "
                "%{customdata[3]:.0%} of the true class<br><i>click to see them</i><extra></extra>"
            ),
            showlegend=False,
        )
    )
    side = CELL_PX * k
    figure.update_layout(
        height=side + 170,
        margin=_MARGIN,
        dragmode=False,
        hoverdistance=-1,  # the nearest cell centre wins anywhere in the plot
        xaxis=dict(
            title="predicted",
            side="top",
            tickangle=-40,
            fixedrange=True,
            categoryorder="array",
            categoryarray=labels,
            constrain="domain",
        ),
        yaxis=dict(
            title="true (given)",
            autorange="reversed",
            fixedrange=True,
            categoryorder="array",
            categoryarray=labels,
            scaleanchor="x",
            constrain="domain",
        ),
        plot_bgcolor="rgba(0,0,0,0)",
    )
    return figure


def _remember_cell() -> None:
    """Selection callback: keep the clicked cell (true, predicted); clicking it again clears it."""
    event = st.session_state.get(state.ERRORS_MATRIX)
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    if points:
        data = points[0].get("customdata") or []
        if isinstance(data, dict):  # a typed array, serialised by index
            data = [data[k] for k in sorted(data, key=int)]
        if len(data) >= 2:
            state.set_errors_cell(int(data[0]), int(data[1]))
            return
    state.clear_errors_cell()


def confusion_matrix_chart(matrix: np.ndarray, class_names: Mapping[int, str], *, normalise: bool) -> None:
    """Draw the matrix; a click on a cell stores it in state.ERRORS_CELL (read it with `chosen_cell`)."""
    st.plotly_chart(
        confusion_figure(matrix, class_names, normalise=normalise),
        key=state.ERRORS_MATRIX,
        on_select=_remember_cell,
        selection_mode="points",
        width="stretch",
        config={"displayModeBar": False},
    )


def chosen_cell(num_classes: int) -> tuple[int, int] | None:
    """The cell (true, predicted) last clicked, or None."""
    cell = state.errors_cell()
    if not cell or len(cell) != 2:
        return None
    true, predicted = int(cell[0]), int(cell[1])
    if not (0 <= true < num_classes and 0 <= predicted < num_classes):
        return None
    return true, predicted


def choose_cell(true: int, predicted: int) -> None:
    """Open a cell without a click (e.g. from the table of confused pairs)."""
    state.set_errors_cell(true, predicted)
