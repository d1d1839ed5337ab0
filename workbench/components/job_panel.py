"""Live view of a run: progress, per-fold curves, log tail, cancel; polled by a fragment."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.express as px
import streamlit as st

from core.project.layout import ProjectLayout
from core.runs.catalog import RunInfo, list_runs
from core.runs.folder import ACTIVE, read_status, tail_log
from core.runs.jobs import cancel_job, refresh_liveness
from core.runs.progress import format_duration, job_timing, readable_log_line
from workbench import cache, state

STATE_ICONS = {
    "queued": ":gray[:material/schedule:]",
    "running": ":blue[:material/play_circle:]",
    "succeeded": ":green[:material/check_circle:]",
    "failed": ":red[:material/error:]",
    "cancelled": ":orange[:material/stop_circle:]",
    "damaged": ":red[:material/broken_image:]",
}


def _count(status: dict, name: str, total: str) -> str | None:
    """ "fold 2/5" from status fields fold (0-based) and folds; None when the stage has no such count."""
    try:
        return f"{name} {int(status.get(name) or 0) + 1}/{int(status[total])}" if status.get(total) else None
    except (TypeError, ValueError):
        return None


def _where(status: dict) -> str:
    """Where the job is: "fold 2/5 · epoch 3/10 · training (batch 12/40)". The batch or image count is the
    current stage's and is shown inside its stage's name, so its restart is not read as the job's."""
    parts = [p for p in (_count(status, "fold", "folds"), _count(status, "epoch", "epochs")) if p]
    message = str(status.get("message", "")).splitlines()[0] if status.get("message") else ""
    if status.get("steps") and status.get("step") is not None:
        message = f"{message or 'step'} ({int(status['step']):,}/{int(status['steps']):,})"
    return " · ".join(parts + ([message] if message else []))


def _overall(status: dict, run_state: str) -> str:
    """The bar's own text: "37% · 2 min 10 s elapsed · about 3 min 40 s left" (no estimate early on)."""
    progress = min(1.0, float(status.get("progress") or 0.0))
    elapsed, left = job_timing(status)
    parts = [f"{progress:.0%}" if run_state in ACTIVE else run_state]
    if elapsed is not None:
        parts.append(f"{format_duration(elapsed)} {'elapsed' if run_state in ACTIVE else 'in all'}")
    if left is not None:
        parts.append(f"about {format_duration(left)} left")
    return " · ".join(parts)


def _curves(run_dir: Path) -> None:
    epochs = cache.run_events(run_dir, ("epoch",))  # only what was appended since the last poll
    if not epochs:
        return
    frame = pd.DataFrame(epochs)
    if not {"fold", "epoch"} <= set(frame.columns):
        return
    # A damaged events.jsonl may hold records of another shape: only whole epoch rows are drawn.
    for column in ("epoch", "train_loss", "val_loss", "val_f1", "val_acc"):
        if column in frame:
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
    frame = frame.loc[frame["epoch"].notna() & frame["fold"].notna()].copy()
    if frame.empty:
        return
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
        kind = status.get("kind") or "kind unknown"  # a damaged status.json may not say
        head.markdown(f"{STATE_ICONS.get(run_state, '')} **{run_id}** · {kind} · `{run_state}`")
        if run_state in ACTIVE:
            status = _cancel_buttons(run_dir, status, button)
            run_state = status.get("state", run_state)
        st.progress(min(1.0, float(status.get("progress") or 0.0)), text=_overall(status, run_state))
        if run_state in ACTIVE and (where := _where(status)):
            st.caption(where)
        if run_state in ("failed", "damaged"):  # damaged: the message names the file and what is wrong
            st.error(str(status.get("message") or run_state).splitlines()[0])
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
                st.code(
                    "\n".join(readable_log_line(line) for line in log.splitlines()), language="text", wrap_lines=True
                )


def _cancel_buttons(run_dir: Path, status: dict, where) -> dict:
    """Cancel, then a confirmation (a job can take hours): "Yes, cancel" stops it, "Keep running" withdraws.

    Returns the status to draw (its state is the final one once cancelled)."""
    run_id = run_dir.name
    if state.cancel_pending() != run_id:
        where.button(
            "Cancel",
            key=state.cancel_key(run_id),
            icon=":material/stop:",
            on_click=state.set_cancel_pending,
            args=(run_id,),
        )
        return status
    st.warning(f"Cancel {run_id}? Finished folds are kept; the rest of the run is lost.", icon=":material/warning:")
    yes, no = st.columns(2)
    if yes.button(
        "Yes, cancel it", key=state.cancel_confirm_key(run_id, "yes"), icon=":material/stop:", type="primary"
    ):
        state.set_cancel_pending(None)
        with st.spinner("Cancelling (finished folds are kept)..."):
            final = cancel_job(run_dir)
        st.toast(f"{run_id}: {final}")
        return dict(status, state=final)
    no.button(
        "Keep running",
        key=state.cancel_confirm_key(run_id, "no"),
        icon=":material/play_arrow:",
        on_click=state.set_cancel_pending,
        args=(None,),
    )
    return status


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
    follow it on the Train page and rerun. Nothing starts, with a note, when no version newer than the labels
    `base` trained on exists; a config that cannot be read is shown as an error."""
    from dataclasses import replace

    from core.config import ConfigError
    from core.runs.catalog import NothingNewError, retrain_run_config
    from core.runs.jobs import start_job

    try:
        config = retrain_run_config(base, layout.labels_dir)
    except NothingNewError as exc:
        if labels is None:
            st.info(str(exc), icon=":material/info:")
            return
        config = base.config()
    except ConfigError as exc:
        st.error(f"Run {base.run_id}'s config cannot be used for a retrain: {exc}")
        return
    if labels is not None:
        config = replace(config, data=replace(config.data, labels=labels))
    run_dir = start_job(layout, config)
    state.set_watched_run(run_dir.name)
    state.set_flash(f"Started {run_dir.name}: the config of {base.run_id} on labels {config.data.labels}.")
    st.rerun()
