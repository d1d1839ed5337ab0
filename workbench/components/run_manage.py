"""The Runs page's run management: pin as the active run, rename, delete to the trash (confirmed), restore.

run_actions(layout, run, *, active, pinned)   the chosen run's buttons and its display-name input
trash_panel(layout)                           the trashed runs, and Restore
"""

from __future__ import annotations

import streamlit as st

from core.io.text import shown
from core.project.layout import ProjectLayout
from core.runs.catalog import RunInfo
from core.runs.folder import ACTIVE
from core.runs.manage import RunManageError, display_name, pin_run, rename_run, trash_run, trashed_runs
from workbench import state
from workbench.components.job_panel import start_retrain


def run_actions(layout: ProjectLayout, run: RunInfo, *, active: str | None, pinned: str | None) -> None:
    """Make active / pin / unpin, retrain, delete (a second click confirms) and rename the chosen run."""
    run_id = run.run_id
    actions = st.container(horizontal=True)
    if run.state == "succeeded" and run_id != active:
        if actions.button(
            "Make it the active run",
            key=state.runs_button_key("activate", run_id),
            icon=":material/check:",
            help="For this session: the Overview and analysis pages show it",
        ):
            state.set_active_run(run_id)
            st.rerun()
    if run.state == "succeeded" and run_id != pinned:
        if actions.button(
            "Pin as the active run",
            key=state.runs_button_key("pin", run_id),
            icon=":material/push_pin:",
            help="Kept in the project: the active run after a reload too, whatever runs finish later",
        ):
            pin_run(layout, run_id)
            state.set_active_run(run_id)
            state.set_flash(f"Pinned {run_id}: the analysis pages show it until you pin another.")
            st.rerun()
    if run_id == pinned and actions.button("Unpin", key=state.runs_button_key("unpin", run_id)):
        pin_run(layout, None)
        st.rerun()
    if run.state not in ACTIVE:
        if actions.button("Retrain on the newest labels", type="primary", icon=":material/replay:"):
            start_retrain(layout, run)
        actions.button(
            "Delete",
            key=state.runs_button_key("delete", run_id),
            icon=":material/delete:",
            on_click=state.set_delete_pending,
            args=(run_id,),
        )
    if state.delete_pending() == run_id and run.state not in ACTIVE:
        _confirm_delete(layout, run_id)
    _rename(run)


def _confirm_delete(layout: ProjectLayout, run_id: str) -> None:
    st.warning(
        f"Move {run_id} to the trash (`.workbench/trash/`)? It leaves every page; Restore below brings it back.",
        icon=":material/delete:",
    )
    yes, no = st.columns(2)
    if yes.button("Yes, move it to the trash", key=state.runs_button_key("delete_yes", run_id), type="primary"):
        state.set_delete_pending(None)
        try:
            trash_run(layout, run_id)
        except RunManageError as exc:
            st.error(str(exc))
            return
        state.set_flash(f"Moved {run_id} to the trash.")
        st.rerun()
    no.button(
        "Keep it", key=state.runs_button_key("delete_no", run_id), on_click=state.set_delete_pending, args=(None,)
    )


def _rename(run: RunInfo) -> None:
    current = display_name(run.run_dir)
    with st.form(state.runs_rename_key(run.run_id), border=False, enter_to_submit=True):
        left, right = st.columns([4, 1], vertical_alignment="bottom")
        name = left.text_input(
            "Display name",
            value=current,
            max_chars=120,
            help="Shown in the tables and pickers; the run's config.yaml is not changed. Empty: no name.",
        )
        if right.form_submit_button("Rename", icon=":material/edit:"):
            try:
                kept = rename_run(run.run_dir, name)
            except RunManageError as exc:
                st.error(str(exc))
                return
            state.set_flash(f"{run.run_id} is now called {shown(kept)}." if kept else f"{run.run_id} has no name now.")
            st.rerun()


def trash_panel(layout: ProjectLayout) -> None:
    """The runs in the trash and a Restore button (nothing when the trash is empty)."""
    from core.runs.manage import restore_run

    trashed = trashed_runs(layout)
    if not trashed:
        return
    with st.expander(f"Trash ({len(trashed)} run{'s' if len(trashed) != 1 else ''})", icon=":material/delete:"):
        left, right = st.columns([4, 1], vertical_alignment="bottom")
        picked = left.selectbox("Deleted run", trashed, key=state.RUNS_RESTORE)
        if right.button("Restore", key=state.runs_button_key("restore"), icon=":material/restore_from_trash:"):
            try:
                restore_run(layout, picked)
            except RunManageError as exc:
                st.error(str(exc))
                return
            state.set_flash(f"Restored {picked}.")
            st.rerun()
