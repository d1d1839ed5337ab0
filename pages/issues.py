"""Issues: review what cleanlab flags (label errors, outliers, duplicates, leakage), export clean labels, retrain."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import plotly.express as px
import streamlit as st

from core.cleaning import KIND_TITLES, KINDS, filter_queue, issues_cached, review_queue
from core.decisions import current_decisions, decision_counts, export_version, versions_table
from core.jobs import start_job
from core.project import open_layout
from core.runs import list_runs, retrain_config
from workbench import state
from workbench.components import review as rv
from workbench.components.gallery import gallery
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
    c1, c2, c3 = st.columns([2, 2, 3])
    given = c1.multiselect("Given class", classes, key=state.ISSUES_GIVEN, format_func=label_of, placeholder="any")
    suggested = c2.multiselect(
        "Suggested class", classes, key=state.ISSUES_SUGGESTED, format_func=label_of, placeholder="any"
    )
    if state.ISSUES_KINDS not in st.session_state:
        st.session_state[state.ISSUES_KINDS] = ["label"]
    kinds = c3.multiselect(
        "Issue kind", list(KINDS), key=state.ISSUES_KINDS, format_func=KIND_TITLES.get, placeholder="any kind"
    )

    @st.fragment
    def queue_fragment() -> None:
        """Card, actions and progress: a decision reruns only this, not the filters above."""
        current = current_decisions(db_path)
        decided = set(current["ID"])
        remaining = review_queue(
            review.queue,
            decided,
            given=given,
            suggested=suggested,
            kinds=kinds,
            skipped=st.session_state.get(state.ISSUES_SKIPPED, []),
        )
        flagged_mask = filter_queue(review.queue, given=given, suggested=suggested, kinds=kinds)
        flagged = int(flagged_mask.sum())
        reviewed = flagged - len(remaining)
        st.progress(reviewed / flagged if flagged else 1.0, text=f"Reviewed {reviewed:,} / {flagged:,} flagged")
        item = rv.make_item(remaining.iloc[0], run_id=",".join(run_ids)) if len(remaining) else None
        st.session_state[state.ISSUES_ITEM] = item
        card, actions = st.columns([4, 1], gap="medium")
        with card:
            position = f"{reviewed + 1:,} of {flagged:,}" if item else ""
            rv.review_card(data, review, item, position=position, db_path=db_path)
        with actions:
            st.button(
                "Keep (K)",
                key=state.issues_button_key("keep"),
                icon=":material/check:",
                width="stretch",
                disabled=item is None,
                on_click=rv.decide,
                args=(db_path, item, "keep"),
                help="The given label is right",
            )
            st.button(
                f"Accept {label_of(item['suggested'])} (A)" if item else "Accept suggestion (A)",
                key=state.issues_button_key("accept"),
                type="primary",
                icon=":material/done_all:",
                width="stretch",
                disabled=item is None,
                on_click=rv.decide,
                args=(db_path, item, "accept"),
            )
            if item is not None:
                target = st.selectbox(
                    "Relabel to",
                    classes,
                    index=classes.index(item["suggested"]) if item["suggested"] in classes else 0,
                    key=state.issues_relabel_key(item["ID"]),
                    format_func=label_of,
                )
                st.button(
                    "Relabel (R)",
                    key=state.issues_button_key("relabel"),
                    icon=":material/edit:",
                    width="stretch",
                    on_click=rv.decide,
                    args=(db_path, item, "relabel", target),
                )
            st.button(
                "Drop (D)",
                key=state.issues_button_key("drop"),
                icon=":material/delete:",
                width="stretch",
                disabled=item is None,
                on_click=rv.decide,
                args=(db_path, item, "drop"),
                help="Remove the image from train in the next export",
            )
            left, right = st.columns(2)
            left.button(
                "Skip",
                key=state.issues_button_key("skip"),
                width="stretch",
                disabled=item is None,
                on_click=rv.skip,
                args=(item,),
                help="Put it off (S)",
            )
            right.button(
                "Undo",
                key=state.issues_button_key("undo"),
                width="stretch",
                disabled=not st.session_state.get(state.ISSUES_UNDO),
                on_click=rv.undo_last,
                args=(db_path,),
                help="Revert your last decision (U); repeat to go further back",
            )
            counts = current["action"].value_counts()
            st.caption(
                "Decisions in this project: "
                + " · ".join(f"{counts.get(a, 0):,} {a}" for a in ("keep", "relabel", "drop"))
            )

    queue_fragment()

    # Below the card, drawn on full reruns only (a filter change, a bulk action): a 500-row table
    # redrawn after every decision would cost the reviewer more time than the decision itself.
    current = current_decisions(db_path)
    remaining = review_queue(
        review.queue,
        set(current["ID"]),
        given=given,
        suggested=suggested,
        kinds=kinds,
        skipped=st.session_state.get(state.ISSUES_SKIPPED, []),
    )
    with st.expander("Bulk: accept suggestions"):
        # Every flagged row of these filters, decided or not: the rows keep their positions while
        # the card above decides (a selection is a list of positions), and a row decided meanwhile
        # is skipped by the store rather than decided twice.
        shown = review.queue.loc[filter_queue(review.queue, given=given, suggested=suggested, kinds=kinds)].head(500)
        decided_now = current.set_index("ID")["action"]
        table = pd.DataFrame(
            {
                "ID": shown["ID"],
                "given": [label_of(t) for t in shown["given_label"]],
                "suggested": [label_of(t) for t in shown["suggested_label"]],
                "label score": shown["label_score"],
                "kinds": shown["kinds"],
                "decided": decided_now.reindex(shown["ID"]).fillna("").to_numpy(),
            }
        )
        filters = f"{sorted(given)}|{sorted(suggested)}|{sorted(kinds)}"
        picked = st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            height=260,
            on_select="rerun",
            selection_mode="multi-row",
            key=f"{state.ISSUES_BULK}.{filters}",  # new filters, new table: the selection starts empty
            column_config={"label score": st.column_config.NumberColumn(format="%.4f")},
        )
        rows = picked.selection.rows if picked is not None else []
        b1, b2 = st.columns(2)
        if b1.button(
            f"Accept the suggestion for {len(rows)} selected",
            key=state.issues_button_key("bulk_selected"),
            disabled=not rows,
        ):
            stored, skipped = rv.bulk_accept(db_path, shown.iloc[rows], ",".join(run_ids))
            rv._notice(
                f"Relabelled {stored} image(s) to their suggestion"
                + (f"; {skipped} were decided meanwhile" if skipped else "")
            )
            st.rerun()
        label_rows = remaining.loc[remaining["is_label_issue"]]
        if b2.button(
            f"Accept all {len(label_rows):,} label-issue suggestions in the queue",
            key=state.issues_button_key("bulk_all"),
            disabled=label_rows.empty,
        ):
            stored, skipped = rv.bulk_accept(db_path, label_rows, ",".join(run_ids))
            rv._notice(
                f"Relabelled {stored} image(s) to their suggestion"
                + (f"; {skipped} were decided meanwhile" if skipped else "")
            )
            st.rerun()
    by_kind = []  # reviewed / flagged per issue kind, and what was decided
    for kind in KINDS:
        mask = filter_queue(review.queue, given=given, suggested=suggested, kinds=[kind])
        ids = review.queue.loc[mask, "ID"]
        done = current.loc[current["ID"].isin(ids)]
        by_kind.append(
            {
                "issue kind": KIND_TITLES[kind],
                "flagged": int(mask.sum()),
                "reviewed": len(done),
                **{a: int((done["action"] == a).sum()) for a in ("keep", "relabel", "drop")},
            }
        )
    with st.expander("Progress by issue kind (as of the last filter change or bulk action)"):
        st.dataframe(pd.DataFrame(by_kind), hide_index=True, width="content")


# ----------------------------------------------------------------------------------- group views
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
