"""Every session-state key the app uses, in one place, with the few helpers that read them.

Keys hold ids and paths only, never a model, a process handle or a large frame.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import streamlit as st

PROJECT = "wb.project"  # str: absolute path of the open project folder
OPEN_FOLDER_INPUT = "wb.sidebar.open_folder"  # text input: a folder the user typed
RECENT_PICK = "wb.sidebar.recent"  # selectbox: a recent project
OPEN_ERROR = "wb.sidebar.open_error"  # str: why the last folder could not be opened
OVERVIEW_CLASS = "wb.overview.class"  # selectbox: class filter of the overview galleries
OVERVIEW_SIZE_SPLIT = "wb.overview.size_split"


def gallery_page_key(name: str, num_pages: int) -> str:
    """st.pagination key of one gallery; includes the page count so a new filter starts at page 1."""
    return f"wb.gallery.{name}.page.{num_pages}"


def gallery_component_key(name: str) -> str:
    return f"wb.gallery.{name}.grid"


def project_from_command_line(argv: list[str] | None = None) -> str | None:
    """`--project DIR` passed after `--` to `streamlit run workbench/app.py`."""
    args = list(sys.argv if argv is None else argv)
    for i, arg in enumerate(args):
        if arg == "--project" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--project="):
            return arg.split("=", 1)[1]
    return None


def default_project() -> Path:
    """The command line's --project, else $WORKBENCH_PROJECT, else the demo (built on first use)."""
    chosen = project_from_command_line() or os.environ.get("WORKBENCH_PROJECT")
    if chosen:
        return Path(chosen).expanduser().resolve()
    from core.settings import ensure_demo_project

    return ensure_demo_project()


def current_project() -> Path:
    """The project the pages work on: the sidebar's choice, else `default_project()`."""
    if PROJECT not in st.session_state:
        st.session_state[PROJECT] = str(default_project())
    return Path(st.session_state[PROJECT])


ACTIVE_RUN = "wb.active_run"  # str: run id the analysis pages use (default: newest succeeded)
TRAIN_KIND = "wb.train.kind"
TRAIN_FORM = "wb.train.form"  # prefix of the train form's widget keys
WATCHED_RUN = "wb.train.watched"  # str: run id the live panel follows
FLASH = "wb.flash"  # str: a one-time confirmation shown at the top of the next rerun
RUN_PICK = "wb.runs.pick"  # selectbox: the run whose details the Runs page shows
COMPARE_A = "wb.runs.compare_a"
COMPARE_B = "wb.runs.compare_b"
COMPARE_METRIC = "wb.runs.compare_metric"
JOB_PANEL = "wb.jobs.panel"


def form_key(name: str) -> str:
    """Key of one widget of the train form (the field's dotted config key)."""
    return f"{TRAIN_FORM}.{name}"


def cancel_key(run_id: str) -> str:
    return f"wb.jobs.cancel.{run_id}"


def active_run(runs) -> str | None:
    """The run the analysis pages use: the user's pick if it still exists, else the newest succeeded."""
    chosen = st.session_state.get(ACTIVE_RUN)
    ids = {r.run_id for r in runs}
    if chosen in ids:
        return chosen
    newest = next((r.run_id for r in runs if r.state == "succeeded"), None)
    return newest


TRAIN_BASE = "wb.train.base"
