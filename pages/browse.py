"""Browse: the active run's images by true x predicted class, correct or wrong, and confidence."""

from __future__ import annotations

import streamlit as st

from core.analysis.predictions import (
    OPTIONAL_FILTERS,
    filter_predictions,
    labelled,
    optional_filters,
    prediction_cards,
    sort_predictions,
)
from core.labels.review import join_review_columns
from core.project.db import DatabaseError
from core.runs.catalog import list_runs
from workbench import cache, state
from workbench.components.gallery import gallery
from workbench.components.prediction_detail import detail_renderer
from workbench.components.run_picker import analysis_run, run_predictions

SORTS = {
    "loss": ("loss", True, "Loss (most wrong first)"),
    "confidence_low": ("confidence", False, "Confidence, lowest first"),
    "confidence_high": ("confidence", True, "Confidence, highest first"),
    "id": ("ID", False, "ID"),
}
SPLIT_TITLES = {"train": "Train (out-of-fold)", "test": "Test"}
OUTCOMES = {"all": "All", "correct": "Correct", "wrong": "Wrong"}

data = cache.dataset(state.current_project())
st.title("Browse predictions")
run = analysis_run(list_runs(data.layout), widget_key=state.analysis_run_key("browse"))
if run is None:
    st.stop()
table = run_predictions(run, data)  # None: damaged, the error says which file
if table is None:
    st.stop()
try:
    table = join_review_columns(table, data.layout, run.run_id)  # label-issue flag and review state, where they exist
except DatabaseError as exc:  # workbench.db is garbage or damaged: the predictions, without review state
    st.error(str(exc), icon=":material/error:")
if not len(table):
    st.info("This run stored no predictions (no oof.csv or test_probs.csv).")
    st.stop()

splits = [s for s in ("train", "test") if (table["split"] == s).any()]
state.forget_stale_choice(state.BROWSE_SPLIT, splits)  # e.g. another run without test images
# Segmented controls get a row of their own: squeezed beside the class pickers they were cut off
# ("Tes…", "Wron…") at a 1,400-px window.
top = st.columns(2)
mid = st.columns([3, 3, 2])
split = (
    top[0].segmented_control("Images", splits, default=splits[0], key=state.BROWSE_SPLIT, format_func=SPLIT_TITLES.get)
    or splits[0]
)
has_labels = len(labelled(table, split)) > 0
classes = list(data.classes)

true_classes = mid[0].multiselect(
    "True (given) class",
    classes,
    key=state.BROWSE_TRUE,
    format_func=data.class_label,
    disabled=not has_labels,
    help=None if has_labels else "The test images have no labels (no test_labels.csv).",
)
predicted_classes = mid[1].multiselect(
    "Predicted class", classes, key=state.BROWSE_PREDICTED, format_func=data.class_label
)
outcome = (
    top[1].segmented_control(
        "Outcome",
        list(OUTCOMES),
        default="all",
        key=state.BROWSE_OUTCOME,
        format_func=OUTCOMES.get,
        disabled=not has_labels,
    )
    or "all"
)
sort = mid[2].selectbox("Sort by", list(SORTS), key=state.BROWSE_SORT, format_func=lambda s: SORTS[s][2])
row = st.columns([3, 5])
confidence = row[0].slider(
    "Confidence (probability of the predicted class)", 0.0, 1.0, (0.0, 1.0), step=0.01, key=state.BROWSE_CONFIDENCE
)
where = {}
for column, values in optional_filters(table).items():
    chosen = row[1].multiselect(OPTIONAL_FILTERS[column], values, key=state.browse_flag_key(column))
    if chosen:
        where[column] = chosen

by, descending, _ = SORTS[sort]
shown = sort_predictions(
    filter_predictions(
        table,
        split=split,
        true_classes=true_classes if has_labels else None,
        predicted_classes=predicted_classes,
        outcome=outcome if has_labels else "all",
        confidence=confidence,
        where=where,
    ),
    by=by,
    descending=descending,
)
items = cache.split_items(data, split)


def page_cards(rows):
    """Gallery cards of the rows on screen only (core.analysis.predictions.prediction_cards)."""
    return prediction_cards(rows, items, class_names=data.classes, split=split)


detail = detail_renderer(
    table, run_dir=run.run_dir, class_names=data.classes, images=data.images, db_path=data.layout.db_path
)


@st.fragment
def browse_gallery(rows, detail) -> None:
    """Paging reruns only the gallery; each page's cards are made when it is shown."""
    gallery(rows, name="browse", detail=detail, empty_text="No image matches these filters.", render=page_cards)


st.caption(
    f"Run {run.run_id}: each card reads given → predicted, then the confidence and ID; "
    "a red border marks a wrong prediction, green a right one. Click a card for its probabilities and neighbours."
)
browse_gallery(shown.loc[shown["split"] == split], detail)
