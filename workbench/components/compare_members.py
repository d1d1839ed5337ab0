"""The Compare page's members: prediction CSVs added by upload or dropped into .workbench/predictions/,
and the project's own runs. Every file is checked (core.predictions) before it is written."""

from __future__ import annotations

import html

import pandas as pd
import streamlit as st

from core.io.text import shown
from core.predictions.members import Member, PredictionError
from core.predictions.store import add_prediction, predictions_dir
from core.project.dataset import Dataset
from core.runs.catalog import RunInfo
from core.runs.folder import TEST_PROBS
from core.submissions.log import PREFIX
from workbench import cache, state
from workbench.components.downloads import download_files


def add_files(data: Dataset) -> None:
    """The uploader and its Add button; each file is checked, then saved under predictions/ (or refused, named)."""
    for kind, text in state.compare_notices():
        (st.success if kind == "success" else st.error)(text)
    with st.expander("Add teammates' prediction CSVs", expanded=not cache.prediction_files(data)):
        st.caption(
            f"`ID,target` with one row per test image ({len(data.test):,}), optionally `prob_0..prob_"
            f"{data.num_classes - 1}` for soft voting. Files are checked against this project's test IDs and saved "
            f"to `{predictions_dir(data.layout)}`; you can also copy CSVs there yourself."
        )
        files = st.file_uploader(
            "Prediction CSVs",
            type=["csv"],
            accept_multiple_files=True,
            key=f"{state.COMPARE_UPLOADS}.{st.session_state.get(state.COMPARE_UPLOADS, 0)}",
        )
        left, right = st.columns([2, 1], vertical_alignment="bottom")
        typed = left.text_input(
            "Name", key=state.COMPARE_NAME, disabled=len(files or []) != 1, placeholder="the file's name",
            help="For a single file: the name it is shown and saved under (letters, digits, . _ -)",
        )  # fmt: skip
        replace = right.checkbox("Replace files of the same name", value=False)
        if st.button("Add", icon=":material/upload_file:", disabled=not files):
            names = [typed.strip() or f.name for f in files] if len(files) == 1 else [f.name for f in files]
            state.added_predictions([_add(data, n, f.getvalue(), replace=replace) for n, f in zip(names, files)])
            st.rerun()


def _add(data: Dataset, name: str, raw: bytes, *, replace: bool) -> tuple[str, str]:
    try:
        member, path = add_prediction(
            data.layout,
            name,
            raw,
            test_ids=data.test["ID"].astype(str).tolist(),
            num_classes=data.num_classes,
            replace=replace,
        )
    except (PredictionError, OSError) as exc:
        return "error", f"Not added: {shown(exc, 1500)}"
    probs = "with probabilities" if member.has_probs else "labels only"
    return "success", f"Added {shown(name)} as {path.name} ({len(member.labels):,} rows, {probs})."


def _candidates(data: Dataset, runs: list[RunInfo]) -> tuple[dict[str, Member], list[tuple[str, str]]]:
    """{option: member} of every usable file and finished run with test predictions; [(what, why)] of the others."""
    found: dict[str, Member] = {}
    problems = []
    for item in cache.prediction_files(data):
        if item.member is not None:
            found[f"file:{item.name}"] = item.member
        else:
            problems.append((f"{item.path.name}", item.error))
    for run in runs:
        if run.state != "succeeded" or not run.has(TEST_PROBS):
            continue
        member = cache.run_member(data, run.run_dir)
        if isinstance(member, Member):
            found[f"run:{run.run_id}"] = member
        else:
            problems.append((f"run {run.run_id}", member))
    return found, problems


def pick_members(data: Dataset, runs: list[RunInfo]) -> list[Member]:
    """The multiselect of members (files first, then runs, newest first); the chosen members in order."""
    found, problems = _candidates(data, runs)
    if problems:
        with st.expander(f"{len(problems)} prediction file(s) or run(s) cannot be used"):
            st.dataframe(
                pd.DataFrame([{"what": shown(w, 80), "why": shown(why, 600)} for w, why in problems]),
                hide_index=True,
                width="stretch",
            )
    if not found:
        st.info("No predictions yet: add teammates' CSVs above, or finish a run on the Train page.")
        return []
    options = list(found)
    default = [o for o in options if o.startswith("file:") and not o.startswith(f"file:{PREFIX}")][:6] or options[:2]
    state.keep_offered_choices(state.COMPARE_MEMBERS, options)
    chosen = st.multiselect(
        "Members",
        options,
        default=default if state.COMPARE_MEMBERS not in st.session_state else None,
        key=state.COMPARE_MEMBERS,
        format_func=lambda o: f"{o.split(':', 1)[1]}  ({'file' if o.startswith('file:') else 'run'})",
        help="Teammates' files (.workbench/predictions/) and this project's finished runs",
    )
    members = [found[option] for option in chosen]
    _files_table(data, [found[o] for o in options if o.startswith("file:")])
    return members


def _files_table(data: Dataset, files: list[Member]) -> None:
    """Each prediction file with a download button (its real name)."""
    if not files:
        return
    with st.expander(f"{len(files)} prediction file(s) in {html.escape(str(predictions_dir(data.layout).name))}/"):
        for member in files:
            path = predictions_dir(data.layout) / f"{member.name}.csv"
            left, right = st.columns([3, 1])
            left.markdown(f"`{shown(path.name, 80)}` · {'probabilities' if member.has_probs else 'labels only'}")
            with right:
                download_files([path], label="Download")
