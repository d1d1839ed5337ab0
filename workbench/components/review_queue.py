"""The Issues page's review queue: filters, the card with its actions and shortcuts, undo."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from core.issues.run_issues import KIND_TITLES, KINDS
from core.labels.decisions import ACTIONS, current_decisions
from core.labels.review import filter_queue, review_queue
from core.project.dataset import Dataset
from workbench import state
from workbench.cache import Review
from workbench.components import review as rv


@dataclass(frozen=True)
class QueueFilters:
    """The queue's filters: given classes, suggested classes, issue kinds (empty: any)."""

    given: list[int]
    suggested: list[int]
    kinds: list[str]

    def mask(self, queue: pd.DataFrame) -> pd.Series:
        """Rows of the queue these filters keep, decided or not."""
        return filter_queue(queue, given=self.given, suggested=self.suggested, kinds=self.kinds)

    def remaining(self, queue: pd.DataFrame, decided: set[str]) -> pd.DataFrame:
        """The undecided rows these filters keep, in review order (this session's skipped ones last)."""
        return review_queue(
            queue,
            decided,
            given=self.given,
            suggested=self.suggested,
            kinds=self.kinds,
            skipped=state.skipped_images(),
        )


def review_queue_view(data: Dataset, review: Review, *, run_ids: tuple[str, ...], db_path: Path) -> None:
    """Draw the queue for `review` (the cached issues of `run_ids`); decisions go to `db_path`."""
    filters = queue_filters(data)
    run_id = ",".join(run_ids)
    queue_fragment(data, review, filters, run_id=run_id, db_path=db_path)

    # Below the card, drawn on full reruns only (a filter change, another view): a table redrawn
    # after every decision would cost the reviewer more time than the decision itself. Bulk accept is
    # a view of its own (workbench.components.bulk_accept): a table here showed stale decisions.
    current = current_decisions(db_path)
    with st.expander("Progress by issue kind (as of the last filter change or bulk action)"):
        st.dataframe(progress_by_kind(review.queue, filters, current), hide_index=True, width="content")


def queue_filters(data: Dataset) -> QueueFilters:
    """The filter widgets above the card (issue kind starts on label issues)."""
    classes = list(data.classes)
    c1, c2, c3 = st.columns([2, 2, 3])
    given = c1.multiselect(
        "Given class", classes, key=state.ISSUES_GIVEN, format_func=data.class_label, placeholder="any"
    )
    suggested = c2.multiselect(
        "Suggested class", classes, key=state.ISSUES_SUGGESTED, format_func=data.class_label, placeholder="any"
    )
    state.default_issue_kinds(["label"])
    kinds = c3.multiselect(
        "Issue kind", list(KINDS), key=state.ISSUES_KINDS, format_func=KIND_TITLES.get, placeholder="any kind"
    )
    return QueueFilters(given=given, suggested=suggested, kinds=kinds)


@st.fragment
def queue_fragment(data: Dataset, review: Review, filters: QueueFilters, *, run_id: str, db_path: Path) -> None:
    """Card, actions and progress: a decision reruns only this, not the filters above."""
    current = current_decisions(db_path)
    remaining = filters.remaining(review.queue, set(current["ID"]))
    flagged = int(filters.mask(review.queue).sum())
    reviewed = flagged - len(remaining)
    st.progress(reviewed / flagged if flagged else 1.0, text=f"Reviewed {reviewed:,} / {flagged:,} flagged")
    item = rv.make_item(remaining.iloc[0], run_id=run_id) if len(remaining) else None
    state.set_review_item(item)
    card, actions = st.columns([4, 1], gap="medium")
    with card:
        position = f"{reviewed + 1:,} of {flagged:,}" if item else ""
        rv.review_card(data, review, item, position=position, db_path=db_path)
    with actions:
        action_buttons(data, item, db_path=db_path)
        counts = current["action"].value_counts()
        st.caption("Decisions in this project: " + " · ".join(f"{counts.get(a, 0):,} {a}" for a in ACTIONS))


def action_buttons(data: Dataset, item: dict | None, *, db_path: Path) -> None:
    """Keep, accept, relabel, drop, ambiguous, skip and undo for the item on screen (the card's keys do the same)."""
    classes = list(data.classes)
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
        accept_label(data.class_label(item["suggested"]), item["suggested"]) if item else "Accept suggestion (A)",
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
            format_func=data.class_label,
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
        # no tooltip: it showed above the button, over the Relabel button a user reaches for next
    )
    st.button(
        "Ambiguous (M)",
        key=state.issues_button_key("ambiguous"),
        icon=":material/compare_arrows:",
        width="stretch",
        disabled=item is None,
        on_click=rv.decide,
        args=(db_path, item, "ambiguous"),
        help="Plausible in two classes: not a label error. Kept out of the queue; optionally left out of "
        "training at export",
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
        disabled=not state.can_undo(),
        on_click=rv.undo_last,
        args=(db_path,),
        help="Revert your last decision (U); repeat to go further back",
    )
    st.caption("Drop removes the image from train in the next export.")


# The longest class label the accept button shows whole in its column at a 1,400-px window (a longer
# one was cut mid-word, "Accept 8 · Long ve…"); the card beside it shows the suggested class in full.
ACCEPT_LABEL_CHARS = 10


def accept_label(class_label: str, target: int) -> str:
    """The accept button's text: "Accept 3 · cat (A)", or "Accept 8 (A)" when the class label is long."""
    return f"Accept {class_label} (A)" if len(class_label) <= ACCEPT_LABEL_CHARS else f"Accept {int(target)} (A)"


def progress_by_kind(queue: pd.DataFrame, filters: QueueFilters, current: pd.DataFrame) -> pd.DataFrame:
    """Flagged and reviewed images per issue kind under the class filters, and what was decided."""
    rows = []
    for kind in KINDS:
        mask = QueueFilters(given=filters.given, suggested=filters.suggested, kinds=[kind]).mask(queue)
        done = current.loc[current["ID"].isin(queue.loc[mask, "ID"])]
        rows.append(
            {
                "issue kind": KIND_TITLES[kind],
                "flagged": int(mask.sum()),
                "reviewed": len(done),
                **{a: int((done["action"] == a).sum()) for a in ACTIONS},
            }
        )
    return pd.DataFrame(rows)
