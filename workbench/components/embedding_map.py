"""The UMAP scatter of a run's embeddings, and a hover preview that shows the image under the cursor.

The figure has one trace per colour category (a numeric colour, e.g. a label-issue score, is one
trace with a colour scale); every point's customdata is its row in the points table, so a box or
lasso selection maps straight back to images. Above WEBGL_ABOVE points the traces are WebGL
(scattergl); coordinates and row numbers travel as binary arrays, and the traces are built with
boolean masks, never a Python loop over points.

Plotly's own hover label cannot show an image, so it is switched off (hoverinfo "none" still
sends hover events) and a small component (embedding_hover.js) listens to the chart's
plotly_hover events in the page, shows a tooltip at the cursor and asks Python for that point's
ID, labels and thumbnail (a state value; the fragment that answers reruns alone).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from core.analysis.predictions import prediction_cards
from core.project.dataset import Dataset, class_label
from workbench import state
from workbench.cache import split_items, thumbnail_data_uri
from workbench.components.gallery import gallery
from workbench.components.prediction_detail import detail_renderer

WEBGL_ABOVE = 1_000
COLOUR_FIELDS = {
    "given": "given label",
    "predicted": "predicted label",
    "outcome": "correct / wrong",
    "split": "split (train vs test)",
}
# Numeric columns offered as a colour only when the points table has them (joined from results
# computed elsewhere, e.g. label issues). Nothing is shown for them otherwise.
OPTIONAL_COLOUR_FIELDS = {"label_score": "label-issue score"}
_OUTCOME_COLOURS = {"correct": "#16a34a", "wrong": "#dc2626", "unlabelled": "#9ca3af"}
_SPLIT_COLOURS = {"train": "#2563eb", "test": "#f59e0b"}
_UNLABELLED = "#9ca3af"

_HERE = Path(__file__).resolve().parent
_hover = st.components.v2.component(
    "wb_embedding_hover",
    html='<div class="wb-hover"></div>',
    css=(_HERE / "embedding_hover.css").read_text(encoding="utf-8"),
    js=(_HERE / "embedding_hover.js").read_text(encoding="utf-8"),
)


def colour_options(points: pd.DataFrame) -> dict[str, str]:
    """{field: label} of the colourings this points table supports."""
    options = dict(COLOUR_FIELDS)
    options.update({c: label for c, label in OPTIONAL_COLOUR_FIELDS.items() if c in points.columns})
    return options


def _palette(k: int) -> list[str]:
    base = px.colors.qualitative.Dark24 + px.colors.qualitative.Light24
    return [base[i % len(base)] for i in range(k)]


def _categories(points: pd.DataFrame, field: str, class_names: Mapping[int, str]) -> list[tuple[str, str, np.ndarray]]:
    """(name, colour, boolean mask) per category of a categorical field, in legend order."""
    if field in ("given", "predicted"):
        values = points[field].to_numpy(dtype=np.float64, na_value=np.nan)
        colours = _palette(len(class_names))
        groups = [(class_label(k, class_names), colours[i], values == k) for i, k in enumerate(sorted(class_names))]
        missing = np.isnan(values)
        if missing.any():
            groups.append(("unlabelled (test)", _UNLABELLED, missing))
        return groups
    if field == "outcome":
        correct = points["correct"]
        known = correct.notna().to_numpy()
        right = correct.fillna(False).to_numpy(dtype=bool)
        return [
            ("correct", _OUTCOME_COLOURS["correct"], known & right),
            ("wrong", _OUTCOME_COLOURS["wrong"], known & ~right),
            ("unlabelled", _OUTCOME_COLOURS["unlabelled"], ~known),
        ]
    if field == "split":
        split = points["split"].to_numpy()
        return [(s, _SPLIT_COLOURS[s], split == s) for s in ("train", "test")]
    raise ValueError(f"unknown colour field {field!r}")


def embedding_figure(points: pd.DataFrame, *, colour: str, class_names: Mapping[int, str]) -> go.Figure:
    """The scatter of `points` (x, y + the colour field), one trace per category, customdata = row number."""
    n = len(points)
    trace = go.Scattergl if n > WEBGL_ABOVE else go.Scatter
    size = 7 if n <= 5_000 else 4 if n <= 50_000 else 2.5
    opacity = 0.85 if n <= 5_000 else 0.6
    x = points["x"].to_numpy(dtype=np.float32)
    y = points["y"].to_numpy(dtype=np.float32)
    figure = go.Figure()
    if colour in OPTIONAL_COLOUR_FIELDS:
        values = points[colour].to_numpy(dtype=np.float64, na_value=np.nan)
        figure.add_trace(
            trace(
                x=x,
                y=y,
                customdata=np.arange(n, dtype=np.int32),
                mode="markers",
                marker=dict(
                    size=size,
                    color=values,
                    colorscale="Viridis",
                    showscale=True,
                    colorbar=dict(title=OPTIONAL_COLOUR_FIELDS[colour]),
                ),
                opacity=opacity,
                hoverinfo="none",
                name=OPTIONAL_COLOUR_FIELDS[colour],
            )
        )
    else:
        for name, col, mask in _categories(points, colour, class_names):
            rows = np.flatnonzero(mask).astype(np.int32)
            if not len(rows):
                continue
            figure.add_trace(
                trace(
                    x=x[rows],
                    y=y[rows],
                    customdata=rows,
                    mode="markers",
                    marker=dict(size=size, color=col, line=dict(width=0)),
                    opacity=opacity,
                    hoverinfo="none",
                    name=f"{name} ({len(rows):,})",
                )
            )
    figure.update_layout(
        height=640,
        margin=dict(l=10, r=10, t=44, b=10),  # room for the toolbar above the legend
        xaxis=dict(visible=False),
        yaxis=dict(visible=False, scaleanchor="x"),
        legend=dict(itemsizing="constant", title_text=COLOUR_FIELDS.get(colour, "")),
        hovermode="closest",
        uirevision="embedding-map",  # keep zoom when only colours change
    )
    return figure


def selected_rows(event) -> np.ndarray:
    """Row numbers (into the points table) of a plotly selection event, sorted and unique."""
    points = ((event or {}).get("selection") or {}).get("points") or []
    rows = [p.get("customdata") for p in points]
    rows = [int(r[0] if isinstance(r, list | tuple) else r) for r in rows if r is not None]
    return np.unique(np.asarray(rows, dtype=np.int64))


def map_selection(event, points: pd.DataFrame, table: pd.DataFrame, *, data: Dataset, run_dir: Path) -> None:
    """Below the map: the images of a box or lasso selection (`event`: the chart's selection), or, with
    nothing selected, how many labelled images on the map are predicted wrong."""
    rows = selected_rows(event)
    if not len(rows):
        wrong = int(points["correct"].eq(False).sum())
        st.caption(f"Nothing selected yet. {wrong:,} of the labelled images on the map are predicted wrong.")
        return
    chosen = points.iloc[rows[rows < len(points)]]
    selected = table.merge(chosen[["split", "ID"]], on=["split", "ID"], how="inner")
    st.markdown(f"**Selection**: {len(chosen):,} image(s)")
    selected = selected.sort_values(["split", "confidence"], ascending=[False, True], kind="stable")
    _selection_gallery(selected, table, data=data, run_dir=run_dir)


@st.fragment
def _selection_gallery(selected: pd.DataFrame, table: pd.DataFrame, *, data: Dataset, run_dir: Path) -> None:
    """The selected images, train first; paging reruns only this part."""
    cards = [
        prediction_cards(selected, split_items(data, split), class_names=data.classes, split=split)
        for split in ("train", "test")
        if (selected["split"] == split).any()
    ]
    cards = pd.concat(cards, ignore_index=True) if cards else pd.DataFrame(columns=["ID", "thumb", "path", "caption"])
    detail = detail_renderer(
        table, run_dir=run_dir, class_names=data.classes, images=data.images, db_path=data.layout.db_path
    )
    gallery(cards, name="embeddings_selection", detail=detail, empty_text="No scored image in the selection.")


def css_class_of_key(key: str) -> str:
    """The class Streamlit gives an element's container for `key` (st-key-<key>, odd characters as '-')."""
    return "st-key-" + re.sub(r"[^a-zA-Z0-9_-]", "-", key.strip())


@st.fragment
def hover_preview(points: pd.DataFrame, images: pd.DataFrame, *, class_names: Mapping[int, str]) -> None:
    """The thumbnail tooltip of the map drawn with key state.EMB_MAP; reruns alone on every hover."""
    hovered = (st.session_state.get(state.EMB_HOVER) or {}).get("hovered")
    preview = None
    if isinstance(hovered, int | float) and 0 <= int(hovered) < len(points):
        row = points.iloc[int(hovered)]
        preview = {"row": int(hovered), "lines": _describe(row, class_names), "src": _thumbnail(row, images)}
    _hover(
        data={"target": css_class_of_key(state.EMB_MAP), "preview": preview},
        key=state.EMB_HOVER,
        on_hovered_change=lambda: None,
    )


def _describe(row: pd.Series, class_names: Mapping[int, str]) -> list[str]:
    def name(value) -> str:
        return "—" if pd.isna(value) else class_label(int(value), class_names)

    lines = [f"{row['ID']} ({row['split']})", f"given: {name(row.get('given'))}"]
    if "predicted" in row and pd.notna(row.get("predicted")):
        lines.append(f"predicted: {name(row['predicted'])} ({float(row['confidence']):.0%})")
    for column, label in OPTIONAL_COLOUR_FIELDS.items():
        if column in row and pd.notna(row[column]):
            lines.append(f"{label}: {float(row[column]):.3f}")
    return lines


def _thumbnail(row: pd.Series, images: pd.DataFrame) -> str:
    match = images.loc[(images["split"] == row["split"]) & (images["name"] == row["ID"]), "thumb"]
    thumb = match.iloc[0] if len(match) else ""
    return thumbnail_data_uri(thumb) if isinstance(thumb, str) and thumb else ""
