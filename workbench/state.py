"""Every session-state key the app uses, in one place, with the helpers that read and write them.

Keys hold ids and paths only, never a model, a process handle or a large frame. Pages and components
read a widget's value through its key (`st.session_state.get(state.X)`), and never write a key by
hand: every write goes through a setter below.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import streamlit as st

PROJECT = "wb.project"  # str: absolute path of the open project folder
OPEN_FOLDER_INPUT = "wb.sidebar.open_folder"  # text input: a folder the user typed
RECENT_PICK = "wb.sidebar.recent"  # selectbox: a recent project
OPEN_ERROR = "wb.sidebar.open_error"  # str: why the last folder could not be opened
OPEN_FOLDER_FORM = "wb.sidebar.open_form"  # form: the folder box and its Open button (Enter submits it too)
PROJECT_PARAM = "project"  # URL query parameter (?project=/abs/path): a reload or a new tab keeps the project
OVERVIEW_CLASS = "wb.overview.class"  # selectbox: class filter of the overview galleries


def gallery_page_key(name: str, num_pages: int) -> str:
    """st.pagination key of one gallery; includes the page count so a new filter starts at page 1."""
    return f"wb.gallery.{name}.page.{num_pages}"


def gallery_component_key(name: str) -> str:
    return f"wb.gallery.{name}.grid"


# The hidden element that fetches the gallery's code (workbench.components.gallery.load_gallery_code);
# its element container carries the CSS class st-key-wb-gallery-code-loader.
GALLERY_CODE_LOADER = "wb-gallery-code-loader"


def project_from_command_line(argv: list[str] | None = None) -> str | None:
    """`--project DIR` passed after `--` to `streamlit run workbench/app.py`."""
    args = list(sys.argv if argv is None else argv)
    for i, arg in enumerate(args):
        if arg == "--project" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--project="):
            return arg.split("=", 1)[1]
    return None


def project_from_url() -> str | None:
    """The folder the page's address names (`?project=DIR`), if any."""
    return st.query_params.get(PROJECT_PARAM) or None


def project_candidates() -> list[tuple[str, str]]:
    """Where a fresh session looks for its project, in order, as (what names it, folder): the address
    (`?project=`), the command line's --project, $WORKBENCH_PROJECT. The demo comes after them."""
    named = [
        ("The address (?project=)", project_from_url()),
        ("--project", project_from_command_line()),
        ("WORKBENCH_PROJECT", os.environ.get("WORKBENCH_PROJECT")),
    ]
    return [(where, folder) for where, folder in named if folder]


def has_project() -> bool:
    """Whether this session has chosen its project yet (the sidebar checks the candidates first)."""
    return PROJECT in st.session_state


def default_project() -> Path:
    """The first of `project_candidates()`, else the demo (built on first use); unchecked."""
    candidates = project_candidates()
    if candidates:
        return Path(candidates[0][1]).expanduser().resolve()
    from core.home import ensure_demo_project

    return ensure_demo_project()


def current_project() -> Path:
    """The project the pages work on: the sidebar's choice, else `default_project()`. It is put back into
    the address on every run (a page switch drops query parameters), so a reload or a new tab keeps it."""
    if PROJECT not in st.session_state:
        st.session_state[PROJECT] = str(default_project())
    project = st.session_state[PROJECT]
    if st.query_params.get(PROJECT_PARAM) != project:
        st.query_params[PROJECT_PARAM] = project
    return Path(project)


ACTIVE_RUN = "wb.active_run"  # str: run id the analysis pages use (default: newest succeeded)
TRAIN_KIND = "wb.train.kind"
TRAIN_FORM = "wb.train.form"  # prefix of the train form's widget keys
WATCHED_RUN = "wb.train.watched"  # str: run id the live panel follows
FLASH = "wb.flash"  # str: a one-time confirmation shown at the top of the next rerun
RUN_PICK = "wb.runs.pick"  # selectbox: the run whose details the Runs page shows
RUN_FOLLOWED = "wb.runs.followed"  # str: the watched run the Runs page's picker last moved to
COMPARE_A = "wb.runs.compare_a"
COMPARE_B = "wb.runs.compare_b"
COMPARE_METRIC = "wb.runs.compare_metric"


def form_key(name: str) -> str:
    """Key of one widget of the train form (the field's dotted config key)."""
    return f"{TRAIN_FORM}.{name}"


def cancel_key(run_id: str) -> str:
    return f"wb.jobs.cancel.{run_id}"


def active_run(runs) -> str | None:
    """The run the analysis pages use: the user's pick if it still exists, else the run pinned in the project
    (core.runs.manage), else the newest succeeded. The answer is remembered for the session, so a run that
    finishes later never silently replaces (and reorders the review queue of) the run the user is looking at."""
    chosen = st.session_state.get(ACTIVE_RUN)
    if chosen in {r.run_id for r in runs if r.state != "damaged"}:  # a run damaged since is never analysed
        return chosen
    succeeded = [r.run_id for r in runs if r.state == "succeeded"]
    pinned = _pinned_run()
    picked = pinned if pinned in succeeded else next(iter(succeeded), None)
    if picked is not None:
        st.session_state[ACTIVE_RUN] = picked
    return picked


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
ISSUES_PAIR = "wb.issues.pair"  # [class a, class b]: the overlapping pair shown side by side (absent: the list)
ISSUES_BULK_MODE = "wb.issues.bulk_mode"  # segmented control: bulk accept picks the top N, or by label score
ISSUES_BULK_SCORE = "wb.issues.bulk_score"  # slider: bulk accept picks label scores below this
ISSUES_ACTION_NOTICE = "wb.issues.action_notice"  # str: what the last bulk or pair action did, shown once


def issues_relabel_key(image_id: str) -> str:
    """The relabel selectbox of one queue item (its default, the suggestion, resets per item)."""
    return f"wb.issues.relabel.{image_id}"


def issues_button_key(name: str) -> str:
    return f"wb.issues.button.{name}"


def issues_bulk_key(filters: str) -> str:
    """The bulk table of one filter setting: new filters, new table, so its row selection starts empty."""
    return f"{ISSUES_BULK}.{filters}"


def issues_group_page_key(kind: str, num_pages: int) -> str:
    """Pagination of the near-duplicate / leakage groups; includes the page count so fewer groups start at page 1."""
    return f"{ISSUES_GROUP_PAGE}.{kind}.{num_pages}"


def issues_bulk_top_key(filters: str, most: int) -> str:
    """Bulk accept's "top N" input of one filter setting and candidate count (a new one starts at its default)."""
    return f"wb.issues.bulk_top.{filters}.{most}"


def issues_confirm_key(action: str, count: int) -> str:
    """The second confirmation of a bulk action above the estimate: a new count asks again."""
    return f"wb.issues.confirm.{action}.{count}"


def issues_pair_table_key(given: int, towards: int, generation: int) -> str:
    """One side's table of a pair reviewed side by side; a new generation (a decision made) empties its selection."""
    return f"wb.issues.pair_table.{given}.{towards}.{generation}"


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


# Recipes page (noise recipes). A draft is a recipe's unsaved YAML text (a few KB), never its pipeline.
RECIPES_PICK = "wb.recipes.pick"  # radio: the recipe the editor shows
RECIPES_DRAFTS = "wb.recipes.drafts"  # dict[str, str]: unsaved YAML per recipe name
RECIPES_GENERATION = "wb.recipes.generation"  # int: part of the step widgets' keys; bumped when a draft changes
RECIPES_NOTICE = "wb.recipes.notice"  # (kind, text): what the last action did, shown once
RECIPES_NEW_NAME = "wb.recipes.new_name"  # text input: name of a new recipe
RECIPES_NEW_FROM = "wb.recipes.new_from"  # selectbox: the recipe a new one starts from
RECIPES_COPY_NAME = "wb.recipes.copy_name"  # text input: name of the copy (save as)
RECIPES_ADD = "wb.recipes.add"  # selectbox: the transform the next "Add step" appends
RECIPES_TAB = "wb.recipes.tab"  # tabs: steps or YAML
RECIPES_IMAGES = "wb.recipes.images"  # number input: train images in the preview
RECIPES_DRAWS = "wb.recipes.draws"  # number input: noisy versions of each
RECIPES_WORK_PX = "wb.recipes.work_px"  # selectbox: long side the recipe is applied at in the preview
RECIPES_DRAW_SEED = "wb.recipes.draw_seed"  # int: seed of the preview's draws (Reroll changes it)
RECIPES_TEST_SEED = "wb.recipes.test_seed"  # int: seed of the test sample beside the preview
TRAIN_RECIPE = "wb.train.recipe"  # str: recipe the next Train form starts with ("Use in a run" on the Recipes page)


def recipe_param_key(name: str, index: int, transform: str, param: str) -> str:
    """One parameter widget of step `index` of recipe `name`; the generation makes a changed draft start fresh widgets."""
    generation = st.session_state.get(RECIPES_GENERATION, 0)
    return f"wb.recipes.param.{name}.{generation}.{index}.{transform}.{param}"


def recipe_step_key(name: str, index: int, transform: str, what: str) -> str:
    """A step's expander or button (up, down, remove): stable while the step stays where it is."""
    return f"wb.recipes.step.{name}.{index}.{transform}.{what}"


def recipe_yaml_key(name: str, digest: str) -> str:
    """The YAML text area of a recipe's draft (`digest` of its text: a draft changed elsewhere shows anew)."""
    return f"wb.recipes.yaml.{name}.{digest}"


def recipe_steps_on_key(name: str, digest: str) -> str:
    """The preview's step toggles of a recipe (`digest` of its step names: new steps start all on)."""
    return f"wb.recipes.steps_on.{name}.{digest}"


def recipe_button_key(what: str) -> str:
    return f"wb.recipes.button.{what}"


# ------------------------------------------------------------------------------------------- setters and getters


def set_project(folder: str | Path) -> None:
    """Open another project (the sidebar, after the folder passed the check); the address follows."""
    st.session_state[PROJECT] = str(folder)
    st.query_params[PROJECT_PARAM] = str(folder)


def open_error() -> str | None:
    """Why the last folder typed or picked in the sidebar could not be opened, if it could not."""
    return st.session_state.get(OPEN_ERROR)


def set_open_error(message: str | None) -> None:
    """Remember why a folder could not be opened; None clears it."""
    if message is None:
        st.session_state.pop(OPEN_ERROR, None)
    else:
        st.session_state[OPEN_ERROR] = message


def set_active_run(run_id: str) -> None:
    """The run every analysis page and the Overview show from now on."""
    st.session_state[ACTIVE_RUN] = run_id


def watched_run() -> str | None:
    """The run just started on the Train, Runs or Issues page: the one the live panels follow."""
    return st.session_state.get(WATCHED_RUN)


def set_watched_run(run_id: str) -> None:
    st.session_state[WATCHED_RUN] = run_id


def pick_run_default(ids: list[str], active: str | None) -> None:
    """Before the Runs page's picker is drawn: move it to the run just started here or on the Issues page (once
    per run, so another can be picked afterwards; a picker still on the run it started from would never show
    the new run's card nor rerun the page when it ends); else keep the pick; else the active run."""
    watched, picked = st.session_state.get(WATCHED_RUN), st.session_state.get(RUN_PICK)
    if watched in ids and (picked not in ids or st.session_state.get(RUN_FOLLOWED) != watched):
        st.session_state[RUN_FOLLOWED] = watched
        st.session_state[RUN_PICK] = watched
    elif picked not in ids:
        st.session_state[RUN_PICK] = active if active in ids else ids[0]


def set_flash(text: str) -> None:
    """A confirmation shown once, at the top of the next rerun (see `pop_flash`)."""
    st.session_state[FLASH] = text


def pop_flash() -> str | None:
    """The confirmation left by the previous run, if any; it is shown once."""
    return st.session_state.pop(FLASH, None)


def show_widget_value(widget_key: str, value) -> None:
    """Make a widget show `value` on its next draw (a widget that mirrors durable state, e.g. ACTIVE_RUN)."""
    if st.session_state.get(widget_key) != value:
        st.session_state[widget_key] = value


def forget_stale_choice(widget_key: str, offered) -> None:
    """Drop a widget's value that is no longer among its options (e.g. "test" for a run without test
    images), so the widget falls back to its default instead of failing."""
    if st.session_state.get(widget_key) not in (None, *offered):
        del st.session_state[widget_key]


def keep_offered_choices(widget_key: str, offered) -> None:
    """A multiselect's chosen values, less those no longer offered (a deleted file, a removed run)."""
    chosen = st.session_state.get(widget_key)
    if isinstance(chosen, list) and any(c not in offered for c in chosen):
        st.session_state[widget_key] = [c for c in chosen if c in offered]


def errors_cell() -> list[int] | None:
    """The confusion cell [true, predicted] whose images the Errors page shows, or None."""
    return st.session_state.get(ERRORS_CELL)


def set_errors_cell(true: int, predicted: int) -> None:
    st.session_state[ERRORS_CELL] = [int(true), int(predicted)]


def clear_errors_cell() -> None:
    st.session_state.pop(ERRORS_CELL, None)


def datalab_requested() -> bool:
    """The user asked for Datalab on a project too big for it to run unasked."""
    return bool(st.session_state.get(ISSUES_DATALAB))


def request_datalab() -> None:
    st.session_state[ISSUES_DATALAB] = True


def issues_average_key(active_run: str) -> str:
    """The multiselect of runs averaged with `active_run` (one per active run: options differ)."""
    return f"{ISSUES_AVERAGE}.{active_run}"


def follow_default_average(key: str, companions: list[str]) -> None:
    """Start the picker `key` on `companions`; while the user has not changed it, follow new companions."""
    seen = f"{key}.default"
    if key not in st.session_state or st.session_state[key] == st.session_state.get(seen):
        st.session_state[key] = list(companions)
    st.session_state[seen] = list(companions)


def default_issue_kinds(kinds: list[str]) -> None:
    """The issue-kind filter's starting value, set once per session (the user's choice wins afterwards)."""
    if ISSUES_KINDS not in st.session_state:
        st.session_state[ISSUES_KINDS] = list(kinds)


def issues_session_token() -> str:
    """This session's token, part of every decision's request id (made on first use)."""
    if ISSUES_SESSION not in st.session_state:
        st.session_state[ISSUES_SESSION] = uuid.uuid4().hex[:12]
    return st.session_state[ISSUES_SESSION]


def review_item() -> dict | None:
    """The review-queue item on screen (ID, labels, request id), which keyboard actions apply to."""
    return st.session_state.get(ISSUES_ITEM)


def set_review_item(item: dict | None) -> None:
    st.session_state[ISSUES_ITEM] = item


def open_pair(a: int, b: int, view: str) -> None:
    """Widget callback: show the overlapping pair (a, b) side by side in `view` of the Issues page."""
    st.session_state[ISSUES_PAIR] = [int(a), int(b)]
    st.session_state[ISSUES_VIEW] = view


def close_pair() -> None:
    st.session_state.pop(ISSUES_PAIR, None)


def open_issues_pair() -> tuple[int, int] | None:
    """The overlapping pair shown side by side, or None (the list of pairs)."""
    pair = st.session_state.get(ISSUES_PAIR)
    return (int(pair[0]), int(pair[1])) if pair else None


def set_action_notice(text: str) -> None:
    """What the last bulk accept or pair action stored, shown once above its table."""
    st.session_state[ISSUES_ACTION_NOTICE] = text


def pop_action_notice() -> str:
    return st.session_state.pop(ISSUES_ACTION_NOTICE, "")


def set_review_notice(text: str) -> None:
    """What the last review action did, shown once in the review card."""
    st.session_state[ISSUES_NOTICE] = text


def pop_review_notice() -> str:
    return st.session_state.pop(ISSUES_NOTICE, "")


def skipped_images() -> list[str]:
    """IDs put off in this session, in the order they were skipped (they go to the queue's end)."""
    return st.session_state.get(ISSUES_SKIPPED, [])


def skip_image(image_id: str) -> None:
    skipped = st.session_state.setdefault(ISSUES_SKIPPED, [])
    if image_id not in skipped:
        skipped.append(image_id)


def can_undo() -> bool:
    """Whether this session has made a decision it could revert."""
    return bool(st.session_state.get(ISSUES_UNDO))


def push_undo(decision_ids) -> None:
    """Remember decisions made in this session (newest last) so Undo can revert them."""
    stack = st.session_state.setdefault(ISSUES_UNDO, [])
    for decision_id in decision_ids:
        if decision_id not in stack:
            stack.append(decision_id)


def pop_undo() -> int | None:
    """This session's newest decision id not yet reverted, taken off the stack; None when there is none."""
    stack = st.session_state.setdefault(ISSUES_UNDO, [])
    return stack.pop() if stack else None


def picked_recipe() -> str | None:
    """The recipe the Recipes page edits (the list's choice), None before the first pick."""
    return st.session_state.get(RECIPES_PICK)


def pick_recipe(name: str) -> None:
    """Widget callback or page start: the list selects `name` on its next draw."""
    st.session_state[RECIPES_PICK] = name


def recipe_draft(name: str) -> str | None:
    """The unsaved YAML of recipe `name`, or None when it has no unsaved edits."""
    return st.session_state.get(RECIPES_DRAFTS, {}).get(name)


def set_recipe_draft(name: str, text: str | None, *, refresh_widgets: bool = True) -> None:
    """Keep `text` as the unsaved YAML of `name` (None: drop the draft, back to the saved recipe).

    refresh_widgets: the step widgets start anew from the draft (not when the change came from one of them).
    """
    drafts = st.session_state.setdefault(RECIPES_DRAFTS, {})
    if text is None:
        drafts.pop(name, None)
    else:
        drafts[name] = text
    if refresh_widgets:
        st.session_state[RECIPES_GENERATION] = st.session_state.get(RECIPES_GENERATION, 0) + 1


def set_recipe_notice(kind: str, text: str) -> None:
    """What the last recipe action did ("success" / "error"), shown once at the top of the Recipes page."""
    st.session_state[RECIPES_NOTICE] = (kind, text)


def pop_recipe_notice() -> tuple[str, str] | None:
    return st.session_state.pop(RECIPES_NOTICE, None)


def preview_seed(which: str) -> int:
    """The preview's draw seed ("draws") or test-sample seed ("test"); 0 until rerolled."""
    return int(st.session_state.get(RECIPES_DRAW_SEED if which == "draws" else RECIPES_TEST_SEED, 0))


def reroll(which: str) -> None:
    """Widget callback: new draws ("draws") or another test sample ("test") in the preview."""
    key = RECIPES_DRAW_SEED if which == "draws" else RECIPES_TEST_SEED
    st.session_state[key] = int(st.session_state.get(key, 0)) + 1


def use_recipe_in_run(name: str) -> None:
    """The next Train form starts as a training run with aug.recipe = `name`."""
    st.session_state[TRAIN_RECIPE] = name
    st.session_state[TRAIN_KIND] = "train"


def pop_run_recipe() -> str | None:
    """The recipe picked with "Use in a run", once (the form's own widget keeps it afterwards)."""
    return st.session_state.pop(TRAIN_RECIPE, None)


COMPARE_UPLOADS = "wb.compare.uploads"  # int: part of the uploader's key; bumped after the files were added
COMPARE_NAME = "wb.compare.name"  # text input: the name one uploaded file is saved under
COMPARE_NOTICE = "wb.compare.notice"  # list[(kind, text)]: what adding files did, shown once
COMPARE_MEMBERS = "wb.compare.members"  # multiselect: the members compared ("file:<name>" / "run:<id>")
COMPARE_MATRIX = "wb.compare.matrix"  # segmented control: agreement as share or Cohen's kappa
COMPARE_CLASS = "wb.compare.class"  # selectbox: disagreements where some member predicts this class
COMPARE_FOCUS = "wb.compare.focus"  # selectbox: disagreements of a pair / where only one member differs
ENSEMBLE_METHOD = "wb.ensemble.method"  # segmented control: hard or soft vote
ENSEMBLE_WEIGHT = "wb.ensemble.weight"  # prefix: number input of one member's weight
ENSEMBLE_NAME = "wb.ensemble.name"  # text input: the exported ensemble's name
ENSEMBLE_SAVED = "wb.ensemble.saved"  # str: path of the ensemble this session exported last (its download)


def compare_notices() -> list[tuple[str, str]]:
    """What the last "Add" on the Compare page did, once."""
    return st.session_state.pop(COMPARE_NOTICE, [])


def added_predictions(notices: list[tuple[str, str]]) -> None:
    """After the uploaded files were handled: their outcomes shown once, the uploader emptied."""
    st.session_state[COMPARE_NOTICE] = notices
    st.session_state[COMPARE_UPLOADS] = int(st.session_state.get(COMPARE_UPLOADS, 0)) + 1


def ensemble_weight_key(member: str) -> str:
    return f"{ENSEMBLE_WEIGHT}.{member}"


def set_weights(weights: dict[str, float]) -> None:
    """Widget callback: the greedy selection's weights put into the weight inputs."""
    for member, weight in weights.items():
        st.session_state[ensemble_weight_key(member)] = float(weight)


SUBMISSIONS_FORM = "wb.submissions.form"  # the form that logs a submission
SUBMISSIONS_SCORES = "wb.submissions.scores"  # the form that saves a submission's leaderboard scores


DOWNLOAD = "wb.download"  # prefix: a download button's key (one per file)


def download_key(what: str) -> str:
    """A download button's key, unique per file (its path) or per generated file name."""
    return f"{DOWNLOAD}.{what}"


# Runs page: run management (delete to the trash, restore, rename, pin) and the jobs' Cancel confirmation.
RUNS_RENAME = "wb.runs.rename"  # prefix: text input of a run's display name
RUNS_RESTORE = "wb.runs.restore"  # selectbox: the trashed run to restore
RUNS_DELETE_PENDING = "wb.runs.delete_pending"  # str: run id whose Delete waits for its confirmation
RUNS_BUTTON = "wb.runs.button"  # prefix: the Runs page's action buttons
CANCEL_PENDING = "wb.jobs.cancel_pending"  # str: run id whose Cancel waits for its confirmation


def _pinned_run() -> str | None:
    """The run pinned in the open project (None before a project is open)."""
    project = st.session_state.get(PROJECT)
    if not project:
        return None
    from core.project.layout import open_layout
    from core.runs.manage import pinned_run

    return pinned_run(open_layout(project))


def runs_rename_key(run_id: str) -> str:
    """The display-name input of one run (a new run starts with its own name)."""
    return f"{RUNS_RENAME}.{run_id}"


def runs_button_key(what: str, run_id: str = "") -> str:
    return f"{RUNS_BUTTON}.{what}.{run_id}"


def delete_pending() -> str | None:
    """The run whose Delete was pressed once and waits for the confirming click."""
    return st.session_state.get(RUNS_DELETE_PENDING)


def set_delete_pending(run_id: str | None) -> None:
    if run_id is None:
        st.session_state.pop(RUNS_DELETE_PENDING, None)
    else:
        st.session_state[RUNS_DELETE_PENDING] = run_id


def cancel_pending() -> str | None:
    """The run whose Cancel was pressed once and waits for the confirming click."""
    return st.session_state.get(CANCEL_PENDING)


def set_cancel_pending(run_id: str | None) -> None:
    if run_id is None:
        st.session_state.pop(CANCEL_PENDING, None)
    else:
        st.session_state[CANCEL_PENDING] = run_id


def cancel_confirm_key(run_id: str, what: str) -> str:
    """The confirming ("yes") or withdrawing ("no") button of a pending Cancel."""
    return f"wb.jobs.cancel_confirm.{what}.{run_id}"


def issues_version_key(offered: tuple[int, ...]) -> str:
    """The Issues page's retrain version picker, one per set of versions offered: a new export (or another
    active run) starts it again on the newest version instead of keeping an older pick."""
    return f"{ISSUES_VERSION}.{'-'.join(str(n) for n in offered)}"


# The image dialog's label decision (Browse, Errors, Embeddings): relabel / keep / drop one train image.
DETAIL_NOTICE = "wb.detail.notice"  # {image ID: (kind, text)}: what the dialog's last action did, shown once


def detail_relabel_key(image_id: str) -> str:
    """The image dialog's "Relabel to" selectbox of one image."""
    return f"wb.detail.relabel.{image_id}"


def detail_relabel_target(image_id: str) -> int | None:
    """The class picked in the image dialog's "Relabel to" box of `image_id` (None before it was drawn)."""
    return st.session_state.get(detail_relabel_key(image_id))


def detail_panel_key(image_id: str) -> str:
    """The image dialog's label-decision box of one image (its CSS class st-key-... locates it)."""
    return f"wb.detail.panel.{image_id}"


def detail_button_key(image_id: str, action: str) -> str:
    """One decision button (relabel, keep, drop, undo) of the image dialog of one image."""
    return f"wb.detail.button.{image_id}.{action}"


def set_detail_notice(image_id: str, kind: str, text: str) -> None:
    """What the image dialog's last action on `image_id` did ("success" / "warning" / "error"), shown once there."""
    st.session_state.setdefault(DETAIL_NOTICE, {})[image_id] = (kind, text)


def pop_detail_notice(image_id: str) -> tuple[str, str] | None:
    return st.session_state.get(DETAIL_NOTICE, {}).pop(image_id, None)


BACKUP_NOTICE = "wb.backup.notice"  # (kind, text): what the sidebar's "Back up now" did, shown once


def set_backup_notice(kind: str, text: str) -> None:
    """Remember what "Back up now" did ("success" or "error"), for the rerun that follows it."""
    st.session_state[BACKUP_NOTICE] = (kind, text)


def pop_backup_notice() -> tuple[str, str] | None:
    """What the last "Back up now" did, once."""
    return st.session_state.pop(BACKUP_NOTICE, None)
