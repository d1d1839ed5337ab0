"""Which runs the Issues page scores: the active run, averaged by default with its companion scans.

    issue_runs(layout, runs, active_run) -> run ids     the picker, and the button that adds a scan

Averaging a scan at another image size (core.runs.catalog.companion_scans, where the figures are)
flags label errors better per CPU minute than anything else measured, so it is the default: the
picker starts on the companions, follows new ones as they finish until the user changes it, and,
while there is none, offers to start one.
"""

from __future__ import annotations

import streamlit as st

from core.project.layout import ProjectLayout
from core.runs.catalog import RunInfo, companion_scan_config, companion_scans
from core.runs.status import ACTIVE
from workbench import state


def issue_runs(layout: ProjectLayout, runs: list[RunInfo], active_run: RunInfo) -> tuple[str, ...]:
    """The picker of runs averaged with `active_run`; returns (active, *averaged)."""
    active = active_run.run_id
    labels = active_run.status.get("labels")
    same_labels = [
        r.run_id for r in runs if r.state == "succeeded" and r.run_id != active and r.status.get("labels") == labels
    ]
    companions = companion_scans(runs, active)
    key = state.issues_average_key(active)
    state.follow_default_average(key, companions)
    left, right = st.columns([4, 1], vertical_alignment="bottom")
    average = left.multiselect(
        f"Run **{active}** (the active run), averaged with",
        same_labels,
        key=key,
        help="Averaging the out-of-fold probabilities of several runs ranks and flags label errors better than "
        "any one of them; a scan at another image size is picked by default (224 + 128 px: flags' precision "
        "0.94 -> 0.99 on the demo, 0.66 -> 0.73 on clothing photos). Only runs trained on the same labels are offered.",
        placeholder="no other run",
    )
    if not companions and active_run.kind == "scan":
        _add_companion_button(layout, runs, active_run, right)
    return (active, *average)


def _add_companion_button(layout: ProjectLayout, runs: list[RunInfo], active_run: RunInfo, where) -> None:
    """Start the companion scan, or say that it is running."""
    try:
        config = companion_scan_config(active_run.config())
    except Exception as exc:  # noqa: BLE001 - a damaged config.yaml: no button, the reason shown
        where.caption(f"Cannot offer a second scan: {str(exc)[:200]}")
        return
    size = config.scan.image_size
    running = [
        r
        for r in runs
        if r.kind == "scan" and r.state in ACTIVE and r.status.get("labels") == active_run.status.get("labels")
    ]
    if running:
        where.caption(f"Scan {running[0].run_id} is running: it is averaged in when it finishes.")
        return
    if where.button(
        f"Add a {size}-px scan",
        icon=":material/add:",
        width="stretch",
        help=f"The same scan at {size} px (about a third of the 224-px scan's CPU time), averaged with this one: "
        "better label-issue flags.",
    ):
        from core.runs.jobs import start_job

        run_dir = start_job(layout, config)
        state.set_watched_run(run_dir.name)
        state.set_flash(f"Started {run_dir.name}: a {size}-px scan; it is averaged in when it finishes.")
        st.rerun()
