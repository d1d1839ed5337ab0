"""Sidebar: which project is open, open another folder, recent folders, rescan.

A folder is opened only after it passed the project check (`workbench check`'s): one that is not a project
(/etc, a source tree) is explained and not opened, and nothing is written into it.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.home import demo_project_dir, ensure_demo_project, recent_projects, remember_project
from core.io.text import shown
from core.project.layout import ProjectError, open_layout
from workbench import state
from workbench.cache import dataset, forget_datasets
from workbench.components.backup_status import backup_sidebar

_SHOWN = 300  # characters of a path or a finding a message quotes


def _checked(folder: str) -> tuple[Path | None, str]:
    """(the project's folder, "") when `folder` passes the project check, else (None, why not)."""
    try:
        layout = open_layout(folder)
    except ProjectError as exc:
        return None, shown(exc, _SHOWN)
    report = dataset(layout.root).report
    if not report.usable:
        reasons = "; ".join(shown(finding.message, _SHOWN) for finding in report.errors)
        return None, f"`{shown(layout.root, _SHOWN)}` is not a usable project: {reasons}"
    return layout.root, ""


def _open(folder: str) -> None:
    """Callback: switch to `folder` if it passes the project check, else leave the reason for the sidebar."""
    state.set_open_error(None)
    folder = (folder or "").strip()
    if not folder:
        return
    root, why = _checked(folder)
    if root is None:
        state.set_open_error(why)
        return
    state.set_project(root)
    remember_project(root)


def _open_typed() -> None:
    _open(st.session_state.get(state.OPEN_FOLDER_INPUT, ""))


def _open_recent() -> None:
    _open(st.session_state.get(state.RECENT_PICK, ""))


def _open_demo() -> None:
    _open(str(ensure_demo_project()))


def _start_project() -> None:
    """A fresh session opens the first usable folder the address, --project or WORKBENCH_PROJECT names, else
    the demo; each one that cannot be used is named in the sidebar with the reason."""
    if state.has_project():
        return
    refused = []
    for where, folder in state.project_candidates():
        root, why = _checked(folder)
        if root is not None:
            state.set_project(root)
            break
        refused.append(f"{where} names a folder that cannot be opened: {why}")
    else:
        state.set_project(ensure_demo_project())
    state.set_open_error(" \n\n".join(refused) or None)


def project_sidebar() -> Path:
    """Draw the project block of the sidebar; returns the open project's folder."""
    _start_project()
    project = state.current_project()
    with st.sidebar:
        st.markdown(f"**Project** · `{project.name}`")
        st.caption(str(project))
        with st.expander("Open another project", expanded=bool(state.open_error())):
            with st.form(key=state.OPEN_FOLDER_FORM, border=False, enter_to_submit=True):
                st.text_input("Folder path", key=state.OPEN_FOLDER_INPUT, placeholder="/data/competition")
                st.form_submit_button("Open", on_click=_open_typed, width="stretch")
            recent = [p for p in recent_projects() if p != str(project)]
            if recent:
                st.selectbox(
                    "Recent",
                    recent,
                    index=None,
                    key=state.RECENT_PICK,
                    placeholder="Pick a recent folder",
                    on_change=_open_recent,
                )
            if str(demo_project_dir()) != str(project):
                st.button("Open the demo project", on_click=_open_demo, width="stretch")
        if error := state.open_error():
            st.error(error)
        if st.button("Rescan files", help="Re-read the CSVs and image folders (e.g. after editing them on disk)"):
            forget_datasets()
    backup_sidebar(project)
    return project
