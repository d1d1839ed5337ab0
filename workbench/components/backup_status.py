"""Sidebar: when the project was last backed up, "Back up now", and a warning when a backup is due.

"Back up now" runs the backup in the page's process, under a spinner: it copies only what changed
since the last backup (core.project.backup), which takes seconds unless many new weights were written.
"""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from core.io.text import shown
from core.project.backup import backup_project
from core.project.backup_manifest import BackupError
from core.project.backup_status import backup_target, backup_warning, last_backup
from core.project.layout import ProjectError, ProjectLayout, open_layout
from workbench import state

_HOW_TO_SET = 'To back up from here, set a folder in `workbench.toml`: `[backup]` then `to = "/mnt/backup"`'


def backup_sidebar(project: Path) -> None:
    """Draw the backup block in the sidebar for the project folder `project`."""
    with st.sidebar:
        try:
            layout = open_layout(project)
            target = backup_target(layout)
        except (ProjectError, BackupError) as exc:
            st.caption(f"Backup: {shown(exc, 300)}")
            return
        _status(layout)
        if notice := state.pop_backup_notice():
            kind, text = notice
            (st.success if kind == "success" else st.error)(text)
        if target is None:
            st.caption(_HOW_TO_SET)
            return
        if st.button("Back up now", icon=":material/backup:", help=f"Copy what changed to {target}"):
            _back_up(layout, target)
            st.rerun()


def _status(layout: ProjectLayout) -> None:
    record = last_backup(layout)
    if record is None:
        st.caption("Never backed up")
    else:
        st.caption(f"Last backed up {_ago(float(record['time']))} to `{shown(record.get('folder', ''), 200)}`")
    if warning := backup_warning(layout):
        st.warning(warning, icon=":material/warning:")


def _back_up(layout: ProjectLayout, target: Path) -> None:
    """The backup, its outcome kept for the rerun's notice."""
    with st.spinner(f"Backing up to {target}..."):
        try:
            summary = backup_project(layout.root, target)
        except (BackupError, OSError) as exc:
            state.set_backup_notice("error", f"Backup failed: {shown(exc, 300)}")
            return
    state.set_backup_notice(
        "success",
        f"Backed up {summary.files:,} files ({summary.copied:,} copied, {summary.unchanged:,} unchanged) "
        f"in {summary.seconds:.1f} s",
    )


def _ago(when: float) -> str:
    seconds = max(0.0, time.time() - when)
    for size, unit in ((86_400, "day"), (3_600, "hour"), (60, "minute")):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"
