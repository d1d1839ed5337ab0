"""Sidebar: which project is open, open another folder, recent folders, rescan."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.home import demo_project_dir, ensure_demo_project, recent_projects, remember_project
from core.project.layout import ProjectError, open_layout
from workbench import state
from workbench.cache import forget_datasets


def _open(folder: str) -> None:
    """Callback: switch to `folder` if it is a readable folder, else leave an error for the sidebar."""
    state.set_open_error(None)
    folder = (folder or "").strip()
    if not folder:
        return
    try:
        layout = open_layout(folder)
    except ProjectError as exc:
        state.set_open_error(str(exc))
        return
    state.set_project(layout.root)
    remember_project(layout.root)


def _open_typed() -> None:
    _open(st.session_state.get(state.OPEN_FOLDER_INPUT, ""))


def _open_recent() -> None:
    _open(st.session_state.get(state.RECENT_PICK, ""))


def _open_demo() -> None:
    _open(str(ensure_demo_project()))


def project_sidebar() -> Path:
    """Draw the project block of the sidebar; returns the open project's folder."""
    project = state.current_project()
    with st.sidebar:
        st.markdown(f"**Project** · `{project.name}`")
        st.caption(str(project))
        with st.expander("Open another project", expanded=False):
            st.text_input(
                "Folder path", key=state.OPEN_FOLDER_INPUT, placeholder="/data/competition", on_change=_open_typed
            )
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
    return project
