"""The run an analysis page shows: the active run (newest succeeded by default), changeable in place.

analysis_run(runs, widget_key=)   the picker: succeeded runs only (a damaged run is never offered)
run_predictions(run, data)        its prediction table, or None with an error naming the damaged file
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.project.dataset import Dataset
from core.runs.artifacts import RunDamaged
from core.runs.catalog import RunInfo
from core.runs.manage import display_name
from workbench import cache, state


def _make_active(widget_key: str) -> None:
    state.set_active_run(st.session_state[widget_key])


def analysis_run(runs: list[RunInfo], *, widget_key: str, label: str = "Run") -> RunInfo | None:
    """A selectbox of the succeeded runs on the active one; choosing another makes it active everywhere.

    Returns the chosen run, or None (with a note) when no run has succeeded yet.
    """
    succeeded = [r for r in runs if r.state == "succeeded"]
    if not succeeded:
        st.info(
            "No finished run yet. Start a scan on the Train page (a few minutes on a CPU), "
            "or `workbench scan --project DIR` from a terminal.",
            icon=":material/info:",
        )
        return None
    active = state.active_run(runs)
    ids = [r.run_id for r in succeeded]
    if active not in ids:
        active = ids[0]
    # The widget mirrors ACTIVE_RUN (which the Runs page may change); its key is never the durable store.
    state.show_widget_value(widget_key, active)
    st.selectbox(
        label,
        ids,
        key=widget_key,
        on_change=_make_active,
        args=(widget_key,),
        format_func=lambda i: _describe(next(r for r in succeeded if r.run_id == i)),
        help=(
            "The active run; every analysis page and the Overview show it. By default the run pinned on the "
            "Runs page, else the newest finished run when the session began (a run finishing later does not replace it)."
        ),
    )
    return next(r for r in succeeded if r.run_id == active)


def _describe(run: RunInfo) -> str:
    metrics = run.status.get("metrics") or {}
    parts = [run.run_id, run.kind]
    if name := display_name(run.run_dir):
        parts.insert(1, name)
    if "oof_macro_f1" in metrics:
        parts.append(f"OOF macro-F1 {metrics['oof_macro_f1']:.3f}")
    return " · ".join(parts)


def run_predictions(run: RunInfo, data: Dataset) -> pd.DataFrame | None:
    """The run's prediction table (workbench.cache.run_predictions), or None after an error that names the
    damaged file and what is wrong (the page stops; the picker above still offers every other run)."""
    try:
        return cache.run_predictions(run.run_dir, num_classes=data.num_classes, test_labels=data.test_labels)
    except RunDamaged as exc:
        st.error(f"{exc}. Pick another run above, or run it again.", icon=":material/broken_image:")
        return None
