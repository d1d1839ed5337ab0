"""Issues: review what cleanlab flags (label errors, outliers, duplicates, leakage), export clean labels, retrain."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import plotly.express as px
import streamlit as st

from core.issues.run_issues import KIND_TITLES, KINDS, issues_cached
from core.labels.decisions import decision_counts
from core.labels.versions import export_version, versions_table
from core.project.layout import open_layout
from core.runs.catalog import list_runs, retrain_config
from core.runs.jobs import start_job
from workbench import state
from workbench.components import review as rv
from workbench.components.gallery import gallery
from workbench.components.review_queue import review_queue_view
from workbench.data import dataset

project = state.current_project()
layout = open_layout(project)
data = dataset(project)
db_path = layout.db_path
layout.ensure_work_dir()
st.title("Label issues")
if flash := st.session_state.pop(state.FLASH, None):
    st.success(flash, icon=":material/play_arrow:")

runs = list_runs(layout)
active = state.active_run(runs)
if active is None:
    st.info(
        "No finished run yet. Start a scan on the Train page (minutes on a CPU); its out-of-fold "
        "probabilities are what cleanlab ranks."
    )
    st.stop()
active_run = next(r for r in runs if r.run_id == active)
same_labels = [
    r.run_id
    for r in runs
    if r.state == "succeeded" and r.run_id != active and r.status.get("labels") == active_run.status.get("labels")
]
average = st.multiselect(
    f"Run **{active}** (the active run), averaged with",
    same_labels,
    key=state.ISSUES_AVERAGE,
    help="Averaging the out-of-fold probabilities of several runs ranks label errors better than any one of them. "
    "Only runs trained on the same labels are offered.",
    placeholder="no other run",
)
run_ids = (active, *average)
with_data = (
    len(data.train) <= rv.AUTO_DATALAB_ROWS
    or bool(st.session_state.get(state.ISSUES_DATALAB))
    or issues_cached(layout, run_ids, data=True)
)
try:
    review = rv.load_review(layout, run_ids, with_data=with_data)
except ValueError as exc:
    st.error(str(exc))
    st.stop()
for note in review.issues.notes:
    st.warning(note)
if not with_data:
    left, right = st.columns([4, 1])
    left.info(
        f"Label issues only. Outliers, near duplicates and train/test leakage (cleanlab's Datalab) take minutes on "
        f"{len(data.train):,} images: run them here, or `workbench issues --project DIR` in a terminal."
    )
    if right.button("Find them now", icon=":material/search:"):
        st.session_state[state.ISSUES_DATALAB] = True
        st.rerun()

VIEWS = ["Review queue", *[KIND_TITLES[k] for k in KINDS[1:]], "Export & versions"]
view = st.segmented_control("View", VIEWS, default=VIEWS[0], key=state.ISSUES_VIEW, label_visibility="collapsed")
view = view or VIEWS[0]
classes = list(data.classes)


def label_of(target) -> str:
    return rv.class_label(data, target)


# ----------------------------------------------------------------------------------- review queue
if view == "Review queue":
    review_queue_view(data, review, run_ids=run_ids, db_path=db_path)

elif view in (KIND_TITLES["near_duplicate"], KIND_TITLES["leakage"]):
    kind = "near_duplicate" if view == KIND_TITLES["near_duplicate"] else "leakage"
    found = review.issues.data
    if found is None:
        st.info("Datalab has not run for this run (see the note above).")
        st.stop()
    groups = found.groups.loc[found.groups["kind"] == kind]
    if groups.empty:
        st.success(
            "No near-duplicate train images."
            if kind == "near_duplicate"
            else "No train image nearly duplicates a test image."
        )
        st.stop()
    rv.group_view(data, review, groups, kind=kind, db_path=db_path, run_id=",".join(run_ids))

elif view == KIND_TITLES["outlier"]:
    found = review.issues.data
    if found is None:
        st.info("Datalab has not run for this run (see the note above).")
        st.stop()
    table = found.table.loc[found.table["is_outlier_issue"]].sort_values("outlier_score")
    st.caption(
        f"{len(table):,} train images lie far from every other image in the run's embedding space (Datalab's outlier "
        "score, lowest first). Review them one by one in the queue with the issue kind **Outliers**."
    )
    gallery(rv.gallery_rows(data, review, table["ID"].tolist(), score=table["outlier_score"]), name="issues_outliers")

elif view == KIND_TITLES["class_imbalance"]:
    found = review.issues.data
    counts = review.issues.labels["given_label"].value_counts().reindex(classes, fill_value=0)
    frame = pd.DataFrame({"class": [label_of(t) for t in classes], "images": counts.to_numpy()})
    flagged = set()
    if found is not None:
        rare = review.issues.labels.set_index("ID")["given_label"].reindex(
            found.table.loc[found.table["is_class_imbalance_issue"], "ID"]
        )
        flagged = set(rare.dropna().astype(int))
    frame["rare"] = ["rare (Datalab)" if t in flagged else "" for t in classes]
    fig = px.bar(frame, x="class", y="images", color="rare", title="Train images per class (labels the run used)")
    fig.update_layout(height=360, margin=dict(l=10, r=10, t=40, b=10), legend_title_text="")
    st.plotly_chart(fig, width="stretch")
    if flagged:
        st.warning(
            f"Datalab finds {', '.join(label_of(t) for t in sorted(flagged))} much rarer than the others: consider the "
            "weighted sampler or weighted loss on the Train page, or more images of it."
        )
    else:
        st.success(
            "No class is rare enough for Datalab to flag (smallest / largest: "
            f"{counts.min():,} / {counts.max():,} images)."
        )

# ----------------------------------------------------------------------------------- export
else:
    counts = decision_counts(db_path)
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Kept", f"{counts['keep']:,}")
    c2.metric("Relabelled", f"{counts['relabel']:,}")
    c3.metric("Dropped", f"{counts['drop']:,}")
    if c4.button("Export the next version", type="primary", icon=":material/download:"):
        result = export_version(layout)
        st.session_state[state.FLASH] = (
            f"Exported v{result.version}: {result.rows:,} rows, {result.relabeled:,} relabelled, "
            f"{result.dropped:,} dropped → {result.path}"
        )
        st.rerun()
    versions = versions_table(layout)
    if versions.empty:
        st.info(
            "No version exported yet. train.csv is never modified; each export writes "
            "`.workbench/labels/train_v<N>.csv` and `changes_v<N>.csv`."
        )
        st.stop()
    st.dataframe(
        versions.iloc[::-1],
        hide_index=True,
        width="stretch",
        column_config={
            "changed_vs_previous": st.column_config.NumberColumn("relabelled vs previous"),
            "dropped_vs_previous": st.column_config.NumberColumn("dropped vs previous"),
            "restored_vs_previous": st.column_config.NumberColumn("restored vs previous"),
        },
    )
    numbers = versions["version"].tolist()[::-1]
    left, right = st.columns([1, 2])
    chosen = left.selectbox("Version", numbers, key=state.ISSUES_VERSION, format_func=lambda n: f"v{n}")
    right.caption(
        f"Retrain runs the active run's config ({active}) on v{chosen}; when it has finished, the "
        "Runs page compares it with the active run, per class."
    )
    if right.button(f"Retrain on v{chosen}", icon=":material/replay:"):
        config = retrain_config(active_run.config(), layout.labels_dir)
        if config.data.labels != f"v{chosen}":
            config = replace(config, data=replace(config.data, labels=f"v{chosen}"))
        run_dir = start_job(layout, config)
        st.session_state[state.WATCHED_RUN] = run_dir.name
        st.session_state[state.FLASH] = f"Started {run_dir.name}: the config of {active} on labels v{chosen}."
        st.rerun()
    st.page_link(
        "../pages/runs.py", label="Runs: follow the retrain and compare per-class F1", icon=":material/history:"
    )
