"""The Errors page's panels: headline scores, the confusion section (matrix, per-class scores, most
confused pairs, the chosen cell's images) and the images two runs disagree on."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import pandas as pd
import streamlit as st

from core.analysis.predictions import filter_predictions, labelled, prediction_cards, sort_predictions
from core.analysis.scores import confused_pairs, confusion_counts, per_class_scores
from core.analysis.two_runs import run_disagreements
from core.project.dataset import Dataset
from core.runs.artifacts import RunDamaged
from core.runs.catalog import RunInfo
from workbench import cache, state
from workbench.components.confusion import choose_cell, chosen_cell, confusion_matrix_chart
from workbench.components.gallery import gallery
from workbench.components.prediction_detail import detail_renderer

SETS = {"train": "Out-of-fold (train)", "test": "Test hold-out"}
HEADLINES = (
    ("oof_macro_f1", "OOF macro-F1"),
    ("oof_accuracy", "OOF accuracy"),
    ("test_macro_f1", "Test macro-F1"),
    ("test_accuracy", "Test accuracy"),
)
PER_CLASS_COLUMNS = {
    "class": st.column_config.TextColumn(width="small"),
    "precision": st.column_config.NumberColumn("prec.", format="%.3f", width="small"),
    "recall": st.column_config.NumberColumn(format="%.3f", width="small"),
    "f1": st.column_config.ProgressColumn("F1", format="%.3f", min_value=0.0, max_value=1.0, width="small"),
    "support": st.column_config.NumberColumn("images", format="%d", width="small", help="support"),
}
PAIRS_COLUMNS = {
    "images": st.column_config.NumberColumn(width="small"),
    "share of true class": st.column_config.NumberColumn("share of true", format="%.0f%%", width="small"),
}


def headline_row(metrics: dict[str, float]) -> None:
    """OOF and test macro-F1 and accuracy; a dash with a hint where the project has no labelled hold-out."""
    for cell, (key, title) in zip(st.columns(4), HEADLINES):
        if key in metrics:
            cell.metric(title, f"{metrics[key]:.4f}")
        elif key.startswith("test"):
            cell.metric(title, "—", help="Needs test_labels.csv (a labelled hold-out) in the project.")


@st.fragment
def confusion_section(
    data: Dataset, rows: pd.DataFrame, split: str, normalise: bool, detail: Callable[[pd.Series], None]
) -> None:
    """Matrix, per-class report, pairs and the chosen cell's gallery; a click reruns only this part."""
    labels = rows["given"].to_numpy(dtype=np.int64)
    predicted = rows["predicted"].to_numpy(dtype=np.int64)
    matrix = confusion_counts(labels, predicted, num_classes=data.num_classes)
    left, right = st.columns([1, 1], gap="medium")
    with left:
        st.markdown(f"**Confusion matrix** · {SETS[split].lower()}, {len(rows):,} images")
        confusion_matrix_chart(matrix, data.classes, normalise=normalise)
    with right:
        per_class_table(data, labels, predicted)
        confused_pairs_table(data, matrix)
    cell_gallery(data, rows, split, detail)


def per_class_table(data: Dataset, labels: np.ndarray, predicted: np.ndarray) -> None:
    report = per_class_scores(labels, predicted, num_classes=data.num_classes, worst_first=True)
    report.insert(0, "class", [data.class_label(t) for t in report["target"]])
    st.markdown("**Per class**, worst F1 first")
    st.dataframe(
        report.drop(columns=["target"]),
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * len(report), 420),
        column_config=PER_CLASS_COLUMNS,
    )


def confused_pairs_table(data: Dataset, matrix: np.ndarray) -> None:
    """The ten most confused (true, predicted) pairs; selecting a row opens that cell."""
    pairs = confused_pairs(matrix, top=10)
    st.markdown("**Most confused pairs** (select a row to see its images)")
    shown = pd.DataFrame(
        {
            "true": [data.class_label(t) for t in pairs["true"]],
            "predicted as": [data.class_label(p) for p in pairs["predicted"]],
            "images": pairs["count"],
            "share of true class": pairs["share_of_true"] * 100,
        }
    )
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        key=state.ERRORS_PAIRS,
        on_select=partial(_pick_pair, pairs),
        selection_mode="single-row",
        column_config=PAIRS_COLUMNS,
    )


def _pick_pair(pairs: pd.DataFrame) -> None:
    """Selecting a row of the confused pairs opens that confusion cell."""
    event = st.session_state.get(state.ERRORS_PAIRS)
    chosen = (event or {}).get("selection", {}).get("rows", []) if event else []
    if chosen:
        pair = pairs.iloc[int(chosen[0])]
        choose_cell(int(pair["true"]), int(pair["predicted"]))


def cell_gallery(data: Dataset, rows: pd.DataFrame, split: str, detail: Callable[[pd.Series], None]) -> None:
    """The images of the chosen confusion cell, most confident first (a hint while none is chosen)."""
    cell = chosen_cell(data.num_classes)
    if cell is None:
        st.caption("Click a cell of the matrix, or a row of the most confused pairs, to see its images here.")
        return
    true, pred = cell
    members = sort_predictions(
        filter_predictions(rows, true_classes=[true], predicted_classes=[pred]), by="confidence", descending=True
    )
    st.markdown(
        f"**True {data.class_label(true)}, predicted {data.class_label(pred)}**: {len(members):,} image(s), "
        "most confident first"
    )
    cards = prediction_cards(members, cache.split_items(data, split), class_names=data.classes, split=split)
    gallery(cards, name=f"errors_cell_{true}_{pred}", detail=detail, empty_text="No image in this cell.")


def two_runs_section(data: Dataset, succeeded: list[RunInfo], *, shown_run: str, scored_on: str) -> None:
    """Pick two finished runs (A: the run on the page); one tab per direction of right vs wrong."""
    st.subheader("Two runs: the images one gets right and the other wrong")
    ids = [r.run_id for r in succeeded]
    pick = st.columns(2)
    run_a = pick[0].selectbox("Run A", ids, index=ids.index(shown_run), key=state.ERRORS_RUN_A)
    run_b = pick[1].selectbox(
        "Run B", ids, index=next(i for i, r in enumerate(ids) if r != shown_run), key=state.ERRORS_RUN_B
    )
    if run_a == run_b:
        st.info("Choose two different runs.")
        return
    run_ids = {"A": run_a, "B": run_b}
    try:
        tables = {
            name: cache.run_predictions(
                data.layout.runs_dir / rid, num_classes=data.num_classes, test_labels=data.test_labels
            )
            for name, rid in run_ids.items()
        }
    except RunDamaged as exc:  # the other run's files are cut short or garbled: said, and the page goes on
        st.error(str(exc), icon=":material/broken_image:")
        return
    a_only, b_only = run_disagreements(labelled(tables["A"], scored_on), labelled(tables["B"], scored_on))
    tabs = st.tabs([f"A right, B wrong ({len(a_only):,})", f"B right, A wrong ({len(b_only):,})"])
    for tab, only, wrong in zip(tabs, (a_only, b_only), ("B", "A")):
        with tab:
            wrong_run_gallery(data, tables[wrong], only, wrong=wrong, run_id=run_ids[wrong], scored_on=scored_on)


def wrong_run_gallery(
    data: Dataset, table: pd.DataFrame, only: pd.DataFrame, *, wrong: str, run_id: str, scored_on: str
) -> None:
    """The images only one run gets right, as the wrong run (`wrong`: "A" or "B") predicted them; the dialog
    lists both runs' predictions."""
    wrong_rows = table.merge(only[["split", "ID"]], on=["split", "ID"], how="inner")
    wrong_rows = sort_predictions(wrong_rows, by="confidence", descending=True)
    cards = prediction_cards(wrong_rows, cache.split_items(data, scored_on), class_names=data.classes, split=scored_on)
    both = only.set_index("ID")
    cards["A predicted"] = cards["ID"].map(both["predicted_a"]).map(data.class_label)
    cards["B predicted"] = cards["ID"].map(both["predicted_b"]).map(data.class_label)
    st.caption(f"Cards show run {wrong}'s wrong prediction (given → {wrong}), most confident first.")
    detail = detail_renderer(
        table,
        run_dir=data.layout.runs_dir / run_id,
        class_names=data.classes,
        images=data.images,
        db_path=data.layout.db_path,
    )
    gallery(cards, name=f"errors_only_{wrong}", detail=detail, page_size=24, empty_text="None.")
