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
    from core.home import ensure_demo_project

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


# Issues page (label cleaning). Lists hold ids only.
ISSUES_AVERAGE = "wb.issues.average"  # multiselect: other runs whose probabilities are averaged with the active run's
ISSUES_VIEW = "wb.issues.view"  # segmented control: which view of the issues page
ISSUES_GIVEN = "wb.issues.given"  # multiselect: queue filter by given class
ISSUES_SUGGESTED = "wb.issues.suggested"  # multiselect: queue filter by suggested class
ISSUES_KINDS = "wb.issues.kinds"  # multiselect: queue filter by issue kind
ISSUES_SKIPPED = "wb.issues.skipped"  # list[str]: IDs put off in this session (moved to the queue's end)
ISSUES_UNDO = "wb.issues.undo"  # list[int]: decision ids made in this session, newest last
ISSUES_ITEM = "wb.issues.item"  # dict: the item on screen (ID, labels, request id) for keyboard actions
ISSUES_SESSION = "wb.issues.session"  # str: this session's token, part of every decision's request id
ISSUES_NOTICE = "wb.issues.notice"  # str: what the last action did, shown once in the review card
ISSUES_CARD = "wb.issues.card"  # the review card component (keyboard and click triggers)
ISSUES_BULK = "wb.issues.bulk"  # dataframe selection of the bulk table
ISSUES_GROUP_PAGE = "wb.issues.group_page"  # prefix: pagination of the duplicate / leakage groups
ISSUES_VERSION = "wb.issues.version"  # selectbox: the exported version to retrain on


def issues_relabel_key(image_id: str) -> str:
    """The relabel selectbox of one queue item (its default, the suggestion, resets per item)."""
    return f"wb.issues.relabel.{image_id}"


def issues_button_key(name: str) -> str:
    return f"wb.issues.button.{name}"


# Analysis pages (Browse, Errors, Embeddings). The run they show is ACTIVE_RUN.
BROWSE_SPLIT = "wb.browse.split"  # segmented control: train (out-of-fold) or test images
BROWSE_TRUE = "wb.browse.true"  # multiselect: given (true) classes
BROWSE_PREDICTED = "wb.browse.predicted"  # multiselect: predicted classes
BROWSE_OUTCOME = "wb.browse.outcome"  # segmented control: all / correct / wrong
BROWSE_CONFIDENCE = "wb.browse.confidence"  # slider: (low, high) confidence range
BROWSE_SORT = "wb.browse.sort"  # selectbox: sort order of the gallery
ERRORS_SET = "wb.errors.set"  # segmented control: OOF (train) or the labelled test hold-out
ERRORS_NORMALISE = "wb.errors.normalise"  # toggle: confusion matrix as row shares
ERRORS_MATRIX = "wb.errors.matrix"  # plotly chart: selection on the confusion matrix
ERRORS_CELL = "wb.errors.cell"  # [true, predicted]: the confusion cell whose images are shown
ERRORS_PAIRS = "wb.errors.pairs"  # dataframe: row selection in the most-confused pairs
ERRORS_RUN_A = "wb.errors.run_a"  # selectbox: first run of the two-run comparison
ERRORS_RUN_B = "wb.errors.run_b"  # selectbox: second run of the two-run comparison
EMB_COLOUR = "wb.embeddings.colour"  # selectbox: what colours the points
EMB_NEIGHBOURS = "wb.embeddings.n_neighbors"  # number input: UMAP n_neighbors
EMB_MIN_DIST = "wb.embeddings.min_dist"  # number input: UMAP min_dist
EMB_MAP = "wb.embeddings.map"  # plotly chart: box / lasso selection on the map
EMB_HOVER = "wb.embeddings.hover"  # hover preview component (state: the hovered row)


def analysis_run_key(page: str) -> str:
    """The run selectbox of one analysis page; it mirrors ACTIVE_RUN and never stores it."""
    return f"wb.analysis.{page}.run"


def browse_flag_key(column: str) -> str:
    """Filter widget of an optional column joined onto the predictions (e.g. is_label_issue)."""
    return f"wb.browse.flag.{column}"


ISSUES_DATALAB = "wb.issues.datalab"  # bool: run Datalab now on a project too big for it to run unasked
