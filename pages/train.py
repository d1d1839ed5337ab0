"""Train: configure a scan or a training run, start it in the background, watch it live."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import streamlit as st

from core.config import ConfigError, RunConfig
from core.labels.versions import label_versions
from core.runs.catalog import list_runs
from core.runs.jobs import slot_count, start_job
from core.scan.embed import with_recipe
from workbench import cache, state
from workbench.components.job_panel import live_jobs_panel
from workbench.components.train_form import run_form

data = cache.dataset(state.current_project())
st.title("Train")
if not data.report.usable:  # no run can start on it: say why instead of failing inside the job
    st.error("Runs start once the project check passes. It does not yet:", icon=":material/error:")
    for finding in data.report.errors:
        st.error(finding.message)
    st.stop()
layout = data.layout
if Path("/dev/nvidia0").exists():
    gpu_note = f"{slot_count()} GPU slot(s): one job per GPU; the rest wait in the queue."
else:
    gpu_note = (
        "No GPU on this machine: scans take minutes; training works but is slow (use small images). "
        "One job runs at a time; the rest wait as queued."
    )
st.caption(gpu_note)

runs = list_runs(layout)
base_choices = ["defaults"] + [r.run_id for r in runs]
base = st.selectbox(
    "Start from",
    base_choices,
    key=state.TRAIN_BASE,
    help="Defaults, or the exact config of an earlier run (to rerun or tweak it).",
)
defaults = RunConfig()
if base != "defaults":
    chosen = next(r for r in runs if r.run_id == base)
    try:
        defaults = chosen.config()
    except ConfigError as exc:  # a damaged or hand-edited config.yaml: start from the defaults instead
        st.error(f"Run {base}'s config cannot be used, the form shows the defaults: {exc}")
preselected = state.pop_run_recipe()  # "Use in a run" on the Recipes page
if preselected:
    defaults = with_recipe(defaults, preselected)
kind = (
    st.segmented_control(
        "Kind",
        ["scan", "train"],
        default=defaults.kind,
        key=state.TRAIN_KIND,
        help="scan: frozen backbone + k-fold linear model (CPU, minutes). train: k-fold fine-tuning (GPU).",
    )
    or defaults.kind
)

catalogue = cache.model_catalogue()
versions = [f"v{n}" for n, _ in label_versions(layout.labels_dir)]
options = {
    "model.name": catalogue["names"],
    "scan.backbone": catalogue["names"],
    "aug.recipe": cache.recipe_names(layout),
    "data.labels": ["original", "latest", *versions],
}
config = run_form(dataclasses.replace(defaults, kind=kind), kind=kind, options=options)
if config is not None:
    run_dir = start_job(layout, config)
    state.set_watched_run(run_dir.name)
    st.success(f"Started {config.kind} run {run_dir.name}; it runs on if you close this tab.")

st.subheader("Jobs")
live_jobs_panel(layout)
