"""Errors: what the active run gets wrong: headline scores, a clickable confusion matrix, the worst
classes and most confused pairs, and where two runs disagree."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import streamlit as st

from core.analysis.overview import gallery_items
from core.analysis.predictions import filter_predictions, labelled, prediction_cards, sort_predictions
from core.analysis.scores import confused_pairs, confusion_counts, headline_metrics, per_class_report
from core.analysis.two_runs import run_disagreements
from core.runs.catalog import list_runs
from workbench import state
from workbench.components import run_data
from workbench.components.confusion import choose_cell, chosen_cell, confusion_matrix_chart
from workbench.components.gallery import gallery
from workbench.components.prediction_detail import detail_renderer
from workbench.components.run_picker import analysis_run
from workbench.data import dataset

SETS = {"train": "Out-of-fold (train)", "test": "Test hold-out"}

data = dataset(state.current_project())
st.title("Errors")
runs = list_runs(data.layout)
run = analysis_run(runs, widget_key=state.analysis_run_key("errors"))
if run is None:
    st.stop()
table = run_data.predictions(run.run_dir, num_classes=data.num_classes, test_labels=data.test_labels)
sets = [s for s in SETS if len(labelled(table, s))]
if not sets:
    st.info("This run stored no labelled predictions (no oof.csv, and no test_labels.csv for its test predictions).")
    st.stop()

metrics = headline_metrics(table, num_classes=data.num_classes, stored=run.status.get("metrics"))
cells = st.columns(4)
for cell, key, title in zip(
    cells,
    ("oof_macro_f1", "oof_accuracy", "test_macro_f1", "test_accuracy"),
    ("OOF macro-F1", "OOF accuracy", "Test macro-F1", "Test accuracy"),
):
    if key in metrics:
        cell.metric(title, f"{metrics[key]:.4f}")
    elif key.startswith("test"):
        cell.metric(title, "—", help="Needs test_labels.csv (a labelled hold-out) in the project.")

if st.session_state.get(state.ERRORS_SET) not in (None, *sets):  # e.g. another run without a hold-out
    del st.session_state[state.ERRORS_SET]
controls = st.columns([3, 2, 3])
scored_on = controls[0].segmented_control(
    "Scored on", sets, default=sets[0], key=state.ERRORS_SET, format_func=SETS.get
)
scored_on = scored_on or sets[0]
normalise = controls[1].toggle(
    "Row shares", key=state.ERRORS_NORMALISE, help="Each row divided by its true class's size: the diagonal is recall."
)
rows = labelled(table, scored_on)
detail = detail_renderer(table, run_dir=run.run_dir, class_names=data.classes, images=data.images)


def class_label(target: int) -> str:
    return f"{target} · {data.class_name(target)}"


def _pick_pair(pairs: pd.DataFrame) -> None:
    """Selecting a row of the confused pairs opens that confusion cell."""
    event = st.session_state.get(state.ERRORS_PAIRS)
    chosen = (event or {}).get("selection", {}).get("rows", []) if event else []
    if chosen:
        pair = pairs.iloc[int(chosen[0])]
        choose_cell(int(pair["true"]), int(pair["predicted"]))


@st.fragment
def confusion_section(rows: pd.DataFrame, split: str, normalise: bool) -> None:
    """Matrix, per-class report, pairs and the chosen cell's gallery; a click reruns only this part."""
    labels = rows["given"].to_numpy(dtype=np.int64)
    predicted = rows["predicted"].to_numpy(dtype=np.int64)
    matrix = confusion_counts(labels, predicted, num_classes=data.num_classes)
    left, right = st.columns([1, 1], gap="medium")
    with left:
        st.markdown(f"**Confusion matrix** · {SETS[split].lower()}, {len(rows):,} images")
        confusion_matrix_chart(matrix, data.classes, normalise=normalise)
    with right:
        report = per_class_report(labels, predicted, num_classes=data.num_classes)
        report.insert(0, "class", [class_label(t) for t in report["target"]])
        st.markdown("**Per class**, worst F1 first")
        st.dataframe(
            report.drop(columns=["target"]),
            hide_index=True,
            width="stretch",
            height=min(38 + 35 * len(report), 420),
            column_config={
                "class": st.column_config.TextColumn(width="small"),
                "precision": st.column_config.NumberColumn("prec.", format="%.3f", width="small"),
                "recall": st.column_config.NumberColumn(format="%.3f", width="small"),
                "f1": st.column_config.ProgressColumn("F1", format="%.3f", min_value=0.0, max_value=1.0, width="small"),
                "support": st.column_config.NumberColumn("images", format="%d", width="small", help="support"),
            },
        )
        pairs = confused_pairs(matrix, top=10)
        st.markdown("**Most confused pairs** (select a row to see its images)")
        shown = pd.DataFrame(
            {
                "true": [class_label(t) for t in pairs["true"]],
                "predicted as": [class_label(p) for p in pairs["predicted"]],
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
            column_config={
                "images": st.column_config.NumberColumn(width="small"),
                "share of true class": st.column_config.NumberColumn("share of true", format="%.0f%%", width="small"),
            },
        )
    cell = chosen_cell(data.num_classes)
    if cell is None:
        st.caption("Click a cell of the matrix, or a row of the most confused pairs, to see its images here.")
        return
    true, pred = cell
    members = sort_predictions(
        filter_predictions(rows, true_classes=[true], predicted_classes=[pred]), by="confidence", descending=True
    )
    st.markdown(
        f"**True {class_label(true)}, predicted {class_label(pred)}**: {len(members):,} image(s), most confident first"
    )
    cards = prediction_cards(members, gallery_items(data, split), class_names=data.classes, split=split)
    gallery(cards, name=f"errors_cell_{true}_{pred}", detail=detail, empty_text="No image in this cell.")


confusion_section(rows, scored_on, bool(normalise))

succeeded = [r for r in runs if r.state == "succeeded"]
if len(succeeded) >= 2:
    st.subheader("Two runs: the images one gets right and the other wrong")
    ids = [r.run_id for r in succeeded]
    pick = st.columns(2)
    run_a = pick[0].selectbox("Run A", ids, index=ids.index(run.run_id), key=state.ERRORS_RUN_A)
    run_b = pick[1].selectbox(
        "Run B", ids, index=next(i for i, r in enumerate(ids) if r != run.run_id), key=state.ERRORS_RUN_B
    )
    if run_a == run_b:
        st.info("Choose two different runs.")
    else:
        run_ids = {"A": run_a, "B": run_b}
        tables = {
            name: run_data.predictions(
                data.layout.runs_dir / rid, num_classes=data.num_classes, test_labels=data.test_labels
            )
            for name, rid in run_ids.items()
        }
        a_only, b_only = run_disagreements(labelled(tables["A"], scored_on), labelled(tables["B"], scored_on))
        items = gallery_items(data, scored_on)
        tabs = st.tabs([f"A right, B wrong ({len(a_only):,})", f"B right, A wrong ({len(b_only):,})"])
        for tab, only, wrong in zip(tabs, (a_only, b_only), ("B", "A")):
            with tab:
                # The cards show the wrong run's prediction; the dialog lists both.
                wrong_rows = tables[wrong].merge(only[["split", "ID"]], on=["split", "ID"], how="inner")
                wrong_rows = sort_predictions(wrong_rows, by="confidence", descending=True)
                cards = prediction_cards(wrong_rows, items, class_names=data.classes, split=scored_on)
                both = only.set_index("ID")
                cards["A predicted"] = cards["ID"].map(both["predicted_a"]).map(class_label)
                cards["B predicted"] = cards["ID"].map(both["predicted_b"]).map(class_label)
                st.caption(f"Cards show run {wrong}'s wrong prediction (given → {wrong}), most confident first.")
                wrong_detail = detail_renderer(
                    tables[wrong],
                    run_dir=data.layout.runs_dir / run_ids[wrong],
                    class_names=data.classes,
                    images=data.images,
                )
                gallery(cards, name=f"errors_only_{wrong}", detail=wrong_detail, page_size=24, empty_text="None.")
