"""Live view of a run: progress, per-fold curves, log tail, cancel; polled by a fragment."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.express as px
import streamlit as st

from core.project.layout import ProjectLayout
from core.runs.catalog import RunInfo, list_runs
from core.runs.folder import ACTIVE, read_events, read_status, tail_log
from core.runs.jobs import cancel_job, refresh_liveness
from workbench import state

STATE_ICONS = {
    "queued": ":gray[:material/schedule:]",
    "running": ":blue[:material/play_circle:]",
    "succeeded": ":green[:material/check_circle:]",
    "failed": ":red[:material/error:]",
    "cancelled": ":orange[:material/stop_circle:]",
}


def _where(status: dict) -> str:
    parts = []
    if status.get("folds"):
        parts.append(f"fold {int(status.get('fold', 0)) + 1}/{status['folds']}")
    if status.get("epochs"):
        parts.append(f"epoch {int(status.get('epoch', 0)) + 1}/{status['epochs']}")
    if status.get("steps"):
        parts.append(f"step {status.get('step', 0)}/{status['steps']}")
    message = str(status.get("message", "")).splitlines()[0] if status.get("message") else ""
    return " · ".join(parts + ([message] if message else []))


def _curves(run_dir: Path) -> None:
    epochs = read_events(run_dir, kinds=("epoch",))
    if not epochs:
        return
    frame = pd.DataFrame(epochs)
    frame["fold"] = frame["fold"].astype(str)
    frame["epoch"] = frame["epoch"].astype(int) + 1
    left, right = st.columns(2)
    for column, metrics, title in (
        (left, [c for c in ("train_loss", "val_loss") if c in frame], "Loss"),
        (right, [c for c in ("val_f1", "val_acc") if c in frame], "Validation macro-F1 / accuracy"),
    ):
        if not metrics:
            continue
        long = frame.melt(id_vars=["fold", "epoch"], value_vars=metrics, var_name="metric")
        fig = px.line(long, x="epoch", y="value", color="fold", line_dash="metric", markers=True, title=title)
        fig.update_layout(height=260, margin=dict(l=10, r=10, t=40, b=10))
        column.plotly_chart(fig, width="stretch")


def run_card(layout: ProjectLayout, run_id: str, status: dict) -> None:
    """One run: header, progress bar, curves, log tail, and Cancel while it is active."""
    run_dir = layout.runs_dir / run_id
    run_state = status.get("state", "?")
    with st.container(border=True):
        head, button = st.columns([5, 1])
        head.markdown(f"{STATE_ICONS.get(run_state, '')} **{run_id}** · {status.get('kind', '')} · `{run_state}`")
        if run_state in ACTIVE:
            if button.button("Cancel", key=state.cancel_key(run_id), icon=":material/stop:"):
                with st.spinner("Cancelling (finished folds are kept)..."):
                    final = cancel_job(run_dir)
                st.toast(f"{run_id}: {final}")
                status = dict(status, state=final)
        st.progress(min(1.0, float(status.get("progress", 0.0))), text=_where(status) or run_state)
        if run_state == "failed":
            st.error(str(status.get("message", "failed")).splitlines()[0])
            if status.get("traceback"):
                st.code(status["traceback"], language="text")
        elif run_state == "succeeded" and status.get("metrics"):
            metrics = status["metrics"]
            cols = st.columns(4)
            for col, key, label in zip(
                cols,
                ("oof_macro_f1", "oof_accuracy", "test_macro_f1", "test_accuracy"),
                ("OOF macro-F1", "OOF accuracy", "Test macro-F1", "Test accuracy"),
            ):
                if key in metrics:
                    col.metric(label, f"{metrics[key]:.4f}")
        _curves(run_dir)
        log = tail_log(run_dir, lines=30)
        if log:
            with st.expander("Log (last 30 lines)", expanded=run_state == "failed"):
                st.code(log, language="text")


def jobs_panel(layout: ProjectLayout, *, show_finished: int = 1) -> None:
    """Active runs plus the newest finished ones, re-read every second while something is active."""
    runs = list_runs(layout)
    active = [r for r in runs if r.state in ACTIVE]
    watched = state.watched_run()
    finished = [r for r in runs if r.state not in ACTIVE]
    shown = active + [r for r in finished if r.run_id == watched] + [r for r in finished if r.run_id != watched]
    shown = shown[: len(active) + show_finished]
    if not shown:
        st.info("No runs yet. Start a scan (minutes on a CPU) or a training run above.")
        return
    for run in shown:
        run_card(layout, run.run_id, refresh_liveness(run.run_dir, run.status))


_polling_panel = st.fragment(jobs_panel, run_every=1.0)
_static_panel = st.fragment(jobs_panel)


@st.fragment(run_every=1.0)
def _polled_card(layout: ProjectLayout, run_id: str) -> None:
    run_dir = layout.runs_dir / run_id
    status = refresh_liveness(run_dir, read_status(run_dir))
    run_card(layout, run_id, status)
    if status.get("state") not in ACTIVE:
        st.rerun()  # the whole page: its table, picker and comparison now include the finished run


def live_run_card(layout: ProjectLayout, run_id: str, status: dict) -> None:
    """`run_card`, re-read every second while the run is queued or running; the page reruns when it ends."""
    if status.get("state") in ACTIVE:
        _polled_card(layout, run_id)
    else:
        run_card(layout, run_id, status)


def live_jobs_panel(layout: ProjectLayout, *, show_finished: int = 1) -> None:
    """Poll every second while a job is queued or running; otherwise draw once."""
    any_active = any(r.state in ACTIVE for r in list_runs(layout))
    (_polling_panel if any_active else _static_panel)(layout, show_finished=show_finished)


def start_retrain(layout: ProjectLayout, base: RunInfo, labels: str | None = None) -> None:
    """Start `base`'s config again on newer labels (`labels`, e.g. "v3"; None: the newest version),
    follow it on the Train page and rerun; a config that cannot be read is shown as an error."""
    from dataclasses import replace

    from core.config import ConfigError
    from core.runs.catalog import retrain_config
    from core.runs.jobs import start_job

    try:
        config = retrain_config(base.config(), layout.labels_dir)
    except ConfigError as exc:
        st.error(f"Run {base.run_id}'s config cannot be used for a retrain: {exc}")
        return
    if labels is not None:
        config = replace(config, data=replace(config.data, labels=labels))
    run_dir = start_job(layout, config)
    state.set_watched_run(run_dir.name)
    state.set_flash(f"Started {run_dir.name}: the config of {base.run_id} on labels {config.data.labels}.")
    st.rerun()
