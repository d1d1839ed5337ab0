"""Offline expansion from the Recipes page: K augmented copies of every train image written to disk.

The work runs as a background job (core.recipes.expansion_job through core.runs.jobs, like every
job); this panel only starts it, polls its status file and lists the expansions already written.
Calls go through the module (`expansion_job.start_expansion`), so a test can replace the job start.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

import core.recipes.expansion_job as expansion_job
from core.labels.versions import label_versions
from core.project.layout import ProjectLayout
from core.recipes.augmented import PREFIX, ExpansionError, default_name, list_expansions, safe_name
from core.runs.status import ACTIVE


def expand_panel(layout: ProjectLayout, recipe_name: str) -> None:
    """Copies, labels and name for an expansion with `recipe_name`; its button, progress and result;
    then the expansions of the project (what a train run can name as data.labels)."""
    with st.container(border=True):
        st.markdown(
            f"**Offline expansion** with `{recipe_name}`: augmented copies of every train image written to "
            "`.workbench/augmented/`, for a train run to use as extra labelled images"
        )
        left, middle, right = st.columns([1, 1, 2])
        copies = int(left.number_input("Copies per train image", 1, 1000, 4, help="K: the set grows to (K + 1) x N"))
        versions = [f"v{n}" for n, _ in label_versions(layout.labels_dir)][::-1]
        labels = middle.selectbox(
            "Labels",
            ["latest", "original", *versions],
            help="latest: the newest exported clean version, else train.csv",
        )
        typed = right.text_input(
            "Name", placeholder=f"{recipe_name}-x<copies>", help="its folder under .workbench/augmented/"
        )
        try:
            name = safe_name(typed) if typed.strip() else default_name(recipe_name, copies)
        except ExpansionError as exc:
            st.error(str(exc))
            return
        _job(layout, recipe_name, name=name, copies=copies, labels=labels)
    _written(layout)


def _job(layout: ProjectLayout, recipe_name: str, *, name: str, copies: int, labels: str) -> None:
    """The button while no job works on `name`, else the job's progress; the last job's outcome."""
    status = expansion_job.expansion_status(layout, name)
    if status["state"] in ACTIVE:
        _progress(layout, name)
        return
    if status["state"] == "failed":
        st.error(f"Expansion {name} failed: {str(status.get('message', '')).splitlines()[0]}", icon=":material/error:")
        if status.get("traceback"):
            st.code(status["traceback"], language="text")
    elif status["state"] == "succeeded":
        st.success(f"{name}: {status.get('message', '')}. Train on it with data.labels = `{PREFIX}{name}`")
        if status.get("skipped"):
            with st.expander(f"{len(status['skipped'])} image(s) skipped"):
                st.code("\n".join(status["skipped"]), language="text")
    exists = any(e.name == name for e in list_expansions(layout))
    replace = st.checkbox(f"Replace the existing {name}", value=False) if exists else False
    if st.button(
        f"Write {copies} copies of each train image as {name}",
        icon=":material/library_add:",
        disabled=exists and not replace,
        help="Runs in the background; the page stays usable",
    ):
        expansion_job.start_expansion(
            layout, recipe=recipe_name, copies=copies, labels=labels, name=name, replace=replace
        )
        st.rerun()


@st.fragment(run_every=1.0)
def _progress(layout: ProjectLayout, name: str) -> None:
    """Polls the job's status file; the page reruns in full when the job has ended."""
    status = expansion_job.expansion_status(layout, name)
    if status["state"] not in ACTIVE:
        st.rerun()
    step, steps = status.get("step"), status.get("steps")
    counted = f"{int(step):,}/{int(steps):,} train images · " if step is not None and steps else ""
    text = f"Expanding {name}: {counted}{str(status.get('message') or 'starting').splitlines()[0]}"
    st.progress(min(1.0, float(status.get("progress", 0.0))), text=text)


def _written(layout: ProjectLayout) -> None:
    expansions = list_expansions(layout)
    if not expansions:
        return
    rows = [
        {
            "data.labels": f"{PREFIX}{e.name}",
            "recipe": e.manifest.get("recipe"),
            "version": e.manifest.get("recipe_version"),
            "copies": e.manifest.get("copies"),
            "images": e.images,
            "skipped": len(e.manifest.get("skipped") or []),
            "labels": e.manifest.get("labels"),
            "seconds": e.manifest.get("seconds"),
            "written": str(e.manifest.get("created_at", ""))[:19].replace("T", " "),
        }
        for e in expansions
    ]
    st.caption("Expansions of this project (a train run names one as data.labels)")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
