"""Relabel / keep / drop one train image from the image dialog of Browse, Errors and Embeddings.

The decisions are the Issues page's, stored through the same public functions
(`core.labels.decisions.record_decision` / `undo_decision`) inside widget callbacks, so a decision is
committed to workbench.db before the dialog redraws and says it was saved; a write that fails (a full
disk, a damaged workbench.db) is shown in the dialog with st.error and stores nothing. The dialog shows the
image's current decision, and Undo reverts that decision (`undo_decision`: its row stays as history).
A decision made here also goes on this session's undo stack, which the Issues page's Undo walks.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path

import streamlit as st

from core.io.text import shown
from core.labels.decisions import (
    Decision,
    DecisionConflict,
    decision_history,
    latest_decision,
    record_decision,
    undo_decision,
)
from core.project.dataset import class_label
from core.project.db import DatabaseError
from workbench import state

NOTICE_WIDTH = 300  # characters of a saved / refused / failed message (it quotes an image ID or an error)
# What reading or writing workbench.db raises when it cannot (a full disk is core.io.atomic.SaveError, an OSError)
STORE_ERRORS = (OSError, sqlite3.Error, DatabaseError)


def describe_decision(decision: Decision | None, *, given: int | None, class_names: Mapping[int, str]) -> str:
    """One line on an image's current decision, e.g. "Relabelled to 3 · cat (was 1 · dog) on 2026-12-03 20:31 UTC"."""
    if decision is None:
        label = "no label" if given is None else class_label(given, class_names)
        return f"Not decided yet: its label is {label}."
    when = f"on {decision.created_at[:16].replace('T', ' ')} UTC, {decision.source}"
    if decision.action == "relabel":
        was = "" if decision.old_label is None else f" (was {class_label(decision.old_label, class_names)})"
        return f"Relabelled to {class_label(decision.new_label, class_names)}{was} {when}."
    if decision.action == "drop":
        return f"Dropped {when}: left out of train at the next export."
    if decision.action == "ambiguous":
        return f"Marked ambiguous ({class_label(decision.new_label, class_names)} kept) {when}."
    return f"Kept as {class_label(decision.new_label, class_names)} {when}."


def _read(db_path: Path, image_id: str) -> tuple[Decision | None, int | None]:
    """(the image's current decision, the id of its newest decision, reverted or not); reading never creates the db."""
    if not db_path.is_file():
        return None, None
    newest = decision_history(db_path, image_id=image_id, limit=1)
    return latest_decision(db_path, image_id), (int(newest["id"].iloc[0]) if len(newest) else None)


def decision_panel(
    db_path: Path,
    image_id: str,
    *,
    given: int | None,
    class_names: Mapping[int, str],
    run_id: str | None,
    suggested: int | None = None,
) -> None:
    """The current decision of train image `image_id` and the buttons that change it.

    given: its label as the run saw it (train.csv's, or the label version the run trained on);
    suggested: the class the "Relabel to" box starts on (e.g. the predicted class).
    """
    with st.container(border=True, key=state.detail_panel_key(image_id)):
        st.markdown("**Label decision**")
        try:
            current, newest = _read(db_path, image_id)
        except STORE_ERRORS as exc:  # a damaged or locked workbench.db: say so, offer no buttons
            st.error(f"Could not read the decisions in {shown(db_path, 120)}: {shown(exc, NOTICE_WIDTH)}")
            return
        st.caption(describe_decision(current, given=given, class_names=class_names))
        notice = state.pop_detail_notice(image_id)
        if notice is not None:
            kind, text = notice
            {"success": st.success, "warning": st.warning}.get(kind, st.error)(text)
        seen = {
            "ID": image_id,
            "given": given,
            "run": run_id,
            "expected": current.id if current else None,
            "current": (current.action, current.new_label) if current else None,
            "newest": newest,
        }
        classes = sorted(int(k) for k in class_names)
        start = suggested if suggested in classes else given
        row = st.columns([4, 2, 2, 2, 2], vertical_alignment="bottom")
        row[0].selectbox(
            "Relabel to",
            classes,
            index=classes.index(start) if start in classes else 0,
            key=state.detail_relabel_key(image_id),
            format_func=lambda k: class_label(k, class_names),
        )
        buttons = (("relabel", "Relabel", ":material/edit:"), ("keep", "Keep label", ":material/check:"))
        buttons += (("drop", "Drop", ":material/delete:"),)
        for column, (action, title, icon) in zip(row[1:], buttons):
            column.button(
                title,
                key=state.detail_button_key(image_id, action),
                icon=icon,
                width="stretch",
                disabled=given is None and action != "drop",
                on_click=_on_decide,
                args=(db_path, seen, action),
            )
        row[4].button(
            "Undo",
            key=state.detail_button_key(image_id, "undo"),
            icon=":material/undo:",
            width="stretch",
            disabled=current is None,
            on_click=_on_undo,
            args=(db_path, image_id, seen["expected"]),
        )
        st.caption(
            "Keep: the label is right. Drop: leave the image out of train at the next export. "
            "Undo reverts the decision shown (its history is kept). Export a label version on the Issues page."
        )


def _on_decide(db_path: Path, seen: Mapping, action: str) -> None:
    """Button callback: store `action` for the image the dialog shows, unless it is already its decision."""
    image_id, given = seen["ID"], seen["given"]
    new_label = state.detail_relabel_target(image_id) if action == "relabel" else None
    if action == "relabel" and (new_label is None or int(new_label) == given):
        action, new_label = "keep", None  # relabelling to the label it has is keeping it
    wanted = (action, None if action == "drop" else int(new_label) if new_label is not None else given)
    if seen["current"] is not None and tuple(seen["current"]) == wanted:
        state.set_detail_notice(image_id, "success", "Already decided so: nothing to change.")
        return
    try:
        decision = record_decision(
            db_path,
            image_id,
            action,
            old_label=given,
            new_label=new_label,
            source="manual",
            run_id=seen["run"],
            expected_latest=seen["expected"],  # another tab or the CLI decided it since: refused, not stacked
            # the same click sent twice stores one decision; after an undo the newest id differs: stored anew
            request_id=f"{state.issues_session_token()}:dialog:{image_id}:{seen['newest']}:{action}:{new_label}",
        )
    except DecisionConflict as conflict:
        text = f"{conflict}. It was left as it is (decided in another tab or from the command line)."
        state.set_detail_notice(image_id, "warning", shown(text, NOTICE_WIDTH))
        return
    except STORE_ERRORS as exc:  # a full disk, a read-only or locked workbench.db: nothing was stored
        state.set_detail_notice(image_id, "error", f"The decision was not saved: {shown(exc, NOTICE_WIDTH)}")
        return
    state.push_undo([decision.id])  # the Issues page's Undo (this session's decisions, newest first) includes it
    state.set_detail_notice(image_id, "success", f"Saved in workbench.db: {decision.describe()}.")


def _on_undo(db_path: Path, image_id: str, decision_id: int | None) -> None:
    """Button callback: revert the decision the dialog shows (the image falls back to its previous one)."""
    if decision_id is None:
        return
    try:
        reverted = undo_decision(db_path, decision_id)
    except STORE_ERRORS as exc:  # a full disk, a read-only or locked workbench.db: nothing was changed
        state.set_detail_notice(image_id, "error", f"The decision was not undone: {shown(exc, NOTICE_WIDTH)}")
        return
    if reverted is None:
        state.set_detail_notice(image_id, "warning", "That decision was already undone (in another tab?).")
        return
    state.set_detail_notice(image_id, "success", f"Undone: {reverted.describe()} (it stays in the history).")
