"""The Overview's "train vs test" card: how different test looks from train, in what ways, and where to act.

The measurements come from the fit-score job (core.recipes.fit_job writes the report with its first
recipe); this card reads the report, offers to start the job when there is none, and links to Recipes.
"""

from __future__ import annotations

import streamlit as st

import core.recipes.fit_job as fit_job
from core.analysis.shift import describe_auc, kind_shifts
from core.project.dataset import Dataset
from core.recipes import fit_cache
from core.runs.status import ACTIVE
from workbench import cache
from workbench.components.recipe_fit import PARAMS, fit_progress

RECIPES_PAGE = "../pages/recipes.py"


def shift_card(data: Dataset) -> None:
    """The card: the report when it exists, else the job's progress or the button that measures."""
    if data.test.empty:
        return
    layout = data.layout
    with st.container(border=True):
        st.markdown("**Train vs test**")
        report = fit_cache.read_shift(layout, cache.fit_data_key(data, PARAMS))
        if report is None:
            status = fit_job.fit_status(layout)
            if status["state"] in ACTIVE:
                fit_progress(layout)
                return
            st.caption(
                "Competition test images are often rotated, noisy or colour-shifted while train is clean. "
                "Measure how this project's test differs from its train (about 30 s in the background)."
            )
            if st.button("Measure train vs test", icon=":material/compare:"):
                fit_job.start_fit(layout, ["none"], PARAMS)
                st.rerun()
            return
        _report(report)


def _report(report: dict) -> None:
    kinds = kind_shifts(report.get("kinds", []))
    try:
        auc = float(report["auc"])
        st.markdown(f"{describe_auc(auc)} (ROC AUC {auc:.2f}, {report.get('train', '?')} train and "
                    f"{report.get('test', '?')} test images).")  # fmt: skip
    except (KeyError, TypeError, ValueError):
        st.caption("The classifier's figure is missing from the report.")
    differs = [k for k in kinds if k.differs]
    same = [k.kind for k in kinds if not k.differs]
    if differs:
        st.markdown("Where they differ:\n" + "\n".join(f"- {k.sentence()}" for k in differs))
    if same:
        st.caption(f"No difference found in: {', '.join(same)}.")
    if differs:
        st.page_link(
            RECIPES_PAGE,
            label="Recipes: add this noise to train, and see which recipe fits test best",
            icon=":material/auto_fix_high:",
        )
