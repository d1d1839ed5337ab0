"""Safe bulk accept, the Issues page's "Bulk accept" view: many label suggestions accepted at once, never blindly.

Pick the N worst-ranked suggestions, or every one with a label score below X. Before anything is stored
the panel says how many undecided images that is, the model's expected precision on them, how many fall
in overlapping class pairs, and how many are left out because they are already decided. A decision the
user made is never overwritten: decided rows are left out of the pick, and the store refuses a row
decided meanwhile (`workbench.components.review.bulk_accept`). No button accepts more suggestions than
the estimated number of wrong labels (core.issues.health) without a second confirmation.

It is a view of its own, not a panel under the review card: the card's decisions rerun only the card's
fragment, so a table drawn beside it kept showing them as undecided.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from core.issues.health import LabelHealth, expected_precision
from core.issues.label_issues import CONFIDENT
from core.labels.decisions import current_decisions
from core.labels.review import filter_queue
from core.project.dataset import Dataset
from core.runs.folder import prob_columns
from workbench import state
from workbench.cache import Review
from workbench.components import review as rv
from workbench.components.label_health import decision_text, overlapping_sets
from workbench.components.review_queue import QueueFilters, queue_filters

BULK_VIEW = "Bulk accept"  # the Issues page's view of this module
TOP_N = "Top N of the queue"
SCORE_BELOW = "Label score below X"
BULK_ROWS = 500  # the table lists at most this many flagged rows
SCORE_MAX = 0.5  # label score (normalized margin) below which another class is more likely than the given one
SCORE_STEP = 0.005


@dataclass(frozen=True)
class BulkPick:
    """What a bulk accept would store: `rows` (undecided, in rank order) and what the panel says about them."""

    rows: pd.DataFrame
    skipped: int  # rows of the pick already decided: left as they are
    precision: float  # expected_precision of `rows`
    in_pairs: int  # rows whose given and suggested classes overlap
    beyond_flags: int  # rows the default flags leave out (another class is likelier, but below CONFIDENT)


def candidates(review: Review, filters: QueueFilters) -> pd.DataFrame:
    """Label table rows whose suggestion differs from the given label, ranked: the queue's flagged label issues
    first (its order), then the other rows where another class is likelier, lowest label score first."""
    queue, labels = review.queue, review.issues.labels
    flagged = queue.loc[filters.mask(queue) & queue["is_label_issue"], list(labels.columns)]
    rest = labels.loc[~labels["is_label_issue"]]
    rest = rest.loc[filter_queue(rest, given=filters.given, suggested=filters.suggested)]
    if filters.kinds and "label" not in filters.kinds:
        rest = rest.iloc[:0]  # other issue kinds only: the unflagged rows are not what was asked for
    ranked = pd.concat([flagged, rest], ignore_index=True)
    return ranked.loc[ranked["suggested_label"] != ranked["given_label"]].reset_index(drop=True)


def pick(rows: pd.DataFrame, decided: set[str], overlapping: set[frozenset[int]]) -> BulkPick:
    """The undecided part of `rows` and what the panel reports about it (see BulkPick)."""
    is_decided = rows["ID"].isin(pd.Index(list(decided))).to_numpy()
    undecided = rows.loc[~is_decided]
    num_classes = sum(c.startswith("prob_") for c in rows.columns)
    probs = undecided[prob_columns(num_classes)].to_numpy()
    pairs = [frozenset((int(g), int(s))) for g, s in zip(undecided["given_label"], undecided["suggested_label"])]
    return BulkPick(
        rows=undecided,
        skipped=int(is_decided.sum()),
        precision=expected_precision(undecided["given_label"].to_numpy(), probs) if len(undecided) else 0.0,
        in_pairs=sum(p in overlapping for p in pairs),
        beyond_flags=int((~undecided["is_label_issue"]).sum()),
    )


def bulk_accept_view(
    data: Dataset, review: Review, health: LabelHealth, *, run_ids: tuple[str, ...], db_path: Path
) -> None:
    """The queue's filters, the pick by count or score, and the table of flagged rows with its selection."""
    filters = queue_filters(data)
    run_id = ",".join(run_ids)
    if notice := state.pop_action_notice():
        st.success(notice, icon=":material/done_all:")
    current = current_decisions(db_path)
    relabelled = int((current["action"] == "relabel").sum())
    ranked = candidates(review, filters)
    if ranked.empty:
        st.info("No suggestion to accept with these filters: the model agrees with every given label.")
        return
    chosen = _choose(ranked, filters, estimate=health.likely_wrong)
    found = pick(chosen, set(current["ID"]), overlapping_sets(health))
    _report(found, picked=len(chosen))
    _accept_button(
        f"Accept {len(found.rows):,} suggestions",
        found,
        budget=health.likely_wrong,
        already=relabelled,
        action="pick",
        run_id=run_id,
        db_path=db_path,
    )
    st.divider()
    _flagged_table(data, review, filters, current, health=health, relabelled=relabelled, run_id=run_id, db_path=db_path)


def _choose(ranked: pd.DataFrame, filters: QueueFilters, *, estimate: int) -> pd.DataFrame:
    """The mode and its one number; returns the rows picked, decided or not."""
    flagged = int(ranked["is_label_issue"].sum())
    default = min(estimate, flagged)
    mode = st.segmented_control("Pick", [TOP_N, SCORE_BELOW], default=TOP_N, key=state.ISSUES_BULK_MODE) or TOP_N
    if mode == TOP_N:
        filter_text = f"{sorted(filters.given)}|{sorted(filters.suggested)}|{sorted(filters.kinds)}"
        count = st.number_input(
            "N",
            min_value=0,
            max_value=len(ranked),
            value=default,
            step=1,
            width=240,
            key=state.issues_bulk_top_key(filter_text, len(ranked)),
            help=f"Starts at the estimated number of wrong labels ({estimate:,}), or the {flagged:,} flagged rows "
            f"if fewer. Beyond the flags come the images the model puts in another class below {CONFIDENT}.",
        )
        return ranked.head(int(count))
    first = float(ranked["label_score"].iloc[max(default, 1) - 1])
    below = st.slider(
        "Label score below",
        min_value=0.0,
        max_value=SCORE_MAX,
        value=round(min(SCORE_MAX, (int(first / SCORE_STEP) + 1) * SCORE_STEP), 3),
        step=SCORE_STEP,
        format="%.3f",
        key=state.ISSUES_BULK_SCORE,
        help="cleanlab's label score (normalized margin): 0 = the model is sure another class is right; "
        f"below {SCORE_MAX} another class is likelier than the given one.",
    )
    return ranked.loc[ranked["label_score"] < below]


def _report(found: BulkPick, *, picked: int) -> None:
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("To accept", f"{len(found.rows):,}", help=f"Undecided images among the {picked:,} picked")
    c2.metric("Skipped: already decided", f"{found.skipped:,}", help="Your decisions are never overwritten")
    c3.metric(
        "Expected precision",
        f"{found.precision:.0%}" if len(found.rows) else "-",
        help="The model's estimate of the share of these suggestions that fix a wrong label. It overstates "
        "where classes overlap: there the model is confident about images a person would call ambiguous.",
    )
    c4.metric("In overlapping pairs", f"{found.in_pairs:,}", help="Given and suggested class overlap (Label health)")
    notes = ["Expected precision: the model's estimate, which overstates on overlapping classes."]
    if found.in_pairs:
        notes.append(
            f"{found.in_pairs:,} of them fall in overlapping class pairs: review those side by side in Label health."
        )
    if found.beyond_flags:
        notes.append(f"{found.beyond_flags:,} are not flagged: another class is likelier, but below {CONFIDENT}.")
    st.caption(" ".join(notes))


def _accept_button(
    label: str, found: BulkPick, *, budget: int, already: int, action: str, run_id: str, db_path: Path
) -> None:
    """The accept button, behind a second confirmation when it would take the relabels past the estimate."""
    count = len(found.rows)
    confirmed = True
    if count and already + count > budget:
        what = f"{count:,} suggestions" + (f" (after {already:,} relabels already made)" if already else "")
        confirmed = st.checkbox(
            f"Yes, accept {what}: more than the ~{budget:,} wrong labels the model estimates",
            key=state.issues_confirm_key(action, count),
        )
    clicked = st.button(
        label,
        key=state.issues_button_key(f"bulk.{action}"),
        type="primary",
        icon=":material/done_all:",
        disabled=not count or not confirmed,
    )
    if clicked and count and confirmed:  # re-checked: a disabled button is not a refusal on its own
        with rv.saving():
            stored, conflicts = rv.bulk_accept(db_path, found.rows, run_id)
        skipped = found.skipped + conflicts
        state.set_action_notice(
            f"Relabelled {stored:,} image(s) to their suggestion; {skipped:,} skipped (already decided)"
        )
        st.rerun()


def _flagged_table(
    data: Dataset,
    review: Review,
    filters: QueueFilters,
    current: pd.DataFrame,
    *,
    health: LabelHealth,
    relabelled: int,
    run_id: str,
    db_path: Path,
) -> None:
    """Every flagged row of these filters (decided or not, so rows keep their positions) to pick from by hand."""
    shown = review.queue.loc[filters.mask(review.queue)].head(BULK_ROWS)
    decisions = current.set_index("ID")
    total = int(filters.mask(review.queue).sum())
    st.markdown(
        f"**Flagged rows** · {total:,} with these filters, decided or not · pick by hand"
        + (f" (the first {BULK_ROWS} shown)" if total > BULK_ROWS else "")
    )
    table = pd.DataFrame(
        {
            "ID": shown["ID"].to_numpy(),
            "given": [data.class_label(t) for t in shown["given_label"]],
            "suggested": [data.class_label(t) for t in shown["suggested_label"]],
            "label score": shown["label_score"].to_numpy(),
            "kinds": shown["kinds"].to_numpy(),
            "decided": [
                decision_text(data, decisions.at[i, "action"], decisions.at[i, "new_label"])
                if i in decisions.index
                else ""
                for i in shown["ID"]
            ],
        }
    )
    selected = st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        height=300,
        on_select="rerun",
        selection_mode="multi-row",
        key=state.issues_bulk_key(f"{sorted(filters.given)}|{sorted(filters.suggested)}|{sorted(filters.kinds)}"),
        column_config={"label score": st.column_config.NumberColumn(format="%.4f")},
    )
    rows = shown.iloc[selected.selection.rows] if selected is not None else shown.iloc[:0]
    rows = rows.loc[rows["suggested_label"] != rows["given_label"]]
    found = pick(rows, set(current["ID"]), overlapping_sets(health))
    if found.skipped:
        st.caption(f"{found.skipped:,} of the selected rows are decided already: they are left as they are.")
    _accept_button(
        f"Accept the suggestion for {len(found.rows):,} selected",
        found,
        budget=health.likely_wrong,
        already=relabelled,
        action="selected",
        run_id=run_id,
        db_path=db_path,
    )
