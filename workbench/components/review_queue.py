"""The Issues page's review queue: filters, the card with its actions and shortcuts, undo, bulk accept."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.issues.run_issues import KIND_TITLES, KINDS
from core.labels.decisions import current_decisions
from core.labels.review import filter_queue, review_queue
from core.project.dataset import Dataset
from workbench import state
from workbench.components import review as rv


def review_queue_view(data: Dataset, review: rv.Review, *, run_ids: tuple[str, ...], db_path) -> None:
    """Draw the queue for `review` (the cached issues of `run_ids`); decisions go to `db_path`."""
    classes = list(data.classes)

    def label_of(target) -> str:
        return rv.class_label(data, target)

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
