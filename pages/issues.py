"""Issues: review what cleanlab flags (label errors, outliers, duplicates, leakage), export clean labels, retrain."""

from __future__ import annotations

import streamlit as st

from core.issues.run_issues import KIND_TITLES, KINDS, issues_cached, ranked_issues_csv
from core.project.db import store_problem, take_notices
from core.project.layout import open_layout
from core.runs.artifacts import RunDamaged
from core.runs.catalog import list_runs, trained_labels
from workbench import state
from workbench.cache import AUTO_DATALAB_ROWS, dataset, load_review, review_health
from workbench.components import review as rv
from workbench.components.bulk_accept import BULK_VIEW, bulk_accept_view
from workbench.components.class_balance import class_balance_view
from workbench.components.downloads import download_text
from workbench.components.gallery import gallery
from workbench.components.issue_runs import issue_runs
from workbench.components.job_panel import start_retrain
from workbench.components.label_export import export_panel
from workbench.components.label_health import HEALTH_VIEW, health_headline, label_health_view
from workbench.components.review_queue import review_queue_view

project = state.current_project()
layout = open_layout(project)
data = dataset(project)
db_path = layout.db_path
st.title("Label issues")
if not data.report.usable:  # nothing is written into a folder that did not pass the project check
    st.error("This project cannot be used yet: see the Overview page for what is wrong.", icon=":material/error:")
    st.stop()
layout.ensure_work_dir()
if problem := store_problem(db_path):  # workbench.db is garbage or damaged: say what to do, no traceback
    st.error(problem, icon=":material/error:")
    st.stop()
for notice in take_notices(db_path):  # it was deleted and has been rebuilt from the exports
    st.warning(notice, icon=":material/build:")
if flash := state.pop_flash():
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
run_ids = issue_runs(layout, runs, active_run)
with_data = (
    len(data.train) <= AUTO_DATALAB_ROWS or state.datalab_requested() or issues_cached(layout, run_ids, data=True)
)
try:
    review = load_review(layout, run_ids, with_data=with_data)
except RunDamaged as exc:  # a run's oof.csv cut short or garbled: which file, and the way out
    way_out = "Pick other runs (the active one on the Runs page, those averaged above), or run it again."
    st.error(f"{exc}. {way_out}", icon=":material/broken_image:")
    st.stop()
except ValueError as exc:
    st.error(str(exc))
    st.stop()
for note in review.issues.notes:
    st.warning(note)
if not with_data:
    left, right = st.columns([4, 1])
    left.info(
        f"Label issues only. Outliers, near duplicates and train/test leakage (cleanlab's Datalab) take about a "
        f"minute on {len(data.train):,} images: run them here, or `workbench issues --project DIR` in a terminal."
    )
    if right.button("Find them now", icon=":material/search:"):
        state.request_datalab()
        st.rerun()

health = review_health(layout, review)
health_headline(data, health)

VIEWS = ["Review queue", BULK_VIEW, HEALTH_VIEW, *[KIND_TITLES[k] for k in KINDS[1:]], "Export & versions"]
view = st.segmented_control("View", VIEWS, default=VIEWS[0], key=state.ISSUES_VIEW, label_visibility="collapsed")
view = view or VIEWS[0]

# ----------------------------------------------------------------------------------- review queue
if view == "Review queue":
    review_queue_view(data, review, run_ids=run_ids, db_path=db_path)

elif view == BULK_VIEW:
    bulk_accept_view(data, review, health, run_ids=run_ids, db_path=db_path)

elif view == HEALTH_VIEW:
    label_health_view(data, review, health, db_path=db_path, run_id=",".join(run_ids))

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
    class_balance_view(data, review)

# ----------------------------------------------------------------------------------- export
else:
    download_text(
        lambda: ranked_issues_csv(review.issues).to_csv(index=False),
        file_name=f"issues-{active}.csv",
        label="Download the ranked label issues (CSV, as `workbench issues` writes it)",
    )
    version = export_panel(layout, active=active, trained_on=trained_labels(active_run))
    if version is not None:
        start_retrain(layout, active_run, labels=f"v{version}")
