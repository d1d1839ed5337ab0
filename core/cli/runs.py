"""`workbench scan | train | jobs | cancel`: runs and their background jobs."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from core.cli.project import open_project


def start_run(args: argparse.Namespace, kind: str) -> int:
    from core.config import ConfigError, resolve_config
    from core.io.text import shown
    from core.project.layout import ProjectError
    from core.runs.folder import read_status
    from core.runs.jobs import cancel_job, start_job

    layout = open_project(args.project)
    if layout is None:
        return 1
    try:
        config = resolve_config(kind=kind, file=getattr(args, "config", None), overrides=args.set or [])
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        run_dir = start_job(layout, config)
    except ProjectError as exc:  # not a project (no train CSV): nothing was written into the folder
        print(f"error: {shown(exc, 300)}", file=sys.stderr)
        return 1
    except OSError as exc:  # e.g. a full disk; start_job stops a job it could not record
        print(f"error: the {kind} run could not be started ({shown(exc, 200)}); no job is running", file=sys.stderr)
        return 1
    run_id = run_dir.name
    if getattr(args, "detach", False):
        print(
            f"started {kind} run in the background; follow it with `workbench jobs --project {layout.root}`",
            file=sys.stderr,
        )
        print(run_id)
        return 0
    print(f"{kind} run {run_id} (Ctrl-C cancels it; log: {run_dir / 'log.txt'})", file=sys.stderr)
    try:
        status = follow_run(run_dir)
    except KeyboardInterrupt:
        print(f"cancelling {run_id} ...", file=sys.stderr)
        cancel_job(run_dir)
        status = read_status(run_dir) or {"state": "cancelled"}
    state = status.get("state")
    if state == "failed":
        print(status.get("traceback") or status.get("message", ""), file=sys.stderr)
    elif state == "succeeded":
        metrics = status.get("metrics", {})
        print("  ".join(f"{k}={v:.4f}" for k, v in metrics.items()), file=sys.stderr)
    elif state in ("damaged", "missing"):
        print(f"error: {status.get('message', '')}", file=sys.stderr)
    print(run_id)
    return 0 if state == "succeeded" else 1


FOLLOW_ENDS = ("succeeded", "failed", "cancelled", "damaged")


def follow_run(run_dir: Path, *, poll_s: float = 0.5) -> dict:
    """Print the run's state whenever it changes, until it ends; returns its last status (read only).

    A run folder that disappears ends the wait as state `missing` (its job, if it still runs, is stopped:
    it has nowhere to write); a status.json that becomes damaged ends it as `damaged` (the job is left
    running: it rewrites its record, and `workbench jobs` / `workbench cancel` reach it).
    """
    from core.io.text import shown
    from core.runs.folder import STATUS, read_status
    from core.runs.jobs import refresh_liveness, stop_group
    from core.runs.status import damaged_record, pid_alive

    last, pid = "", None
    while True:
        status = read_status(run_dir)
        if not status and (run_dir / STATUS).is_file():
            status = damaged_record(STATUS, "the file is empty")
        if not status:
            message = f"the run folder {shown(run_dir, 200)} disappeared while waiting for its job"
            if pid and pid_alive(pid, run_dir.name):
                stop_group(pid)
                message += f"; its job (process {pid}) was stopped"
            return {"state": "missing", "message": message}
        pid = status.get("pgid") or status.get("pid") or pid
        status = refresh_liveness(run_dir, status)
        state = status.get("state", "")
        line = f"{state} {100 * status.get('progress', 0.0):5.1f}% {status.get('message', '')}"
        if line != last:
            print(shown(line.splitlines()[0], 200), file=sys.stderr, flush=True)
            last = line
        if state == "damaged":
            return {**status, "message": f"{status['message']}; its job may still run: `workbench jobs` shows it"}
        if state in FOLLOW_ENDS:
            return status
        time.sleep(poll_s)


def cmd_scan(args: argparse.Namespace) -> int:
    return start_run(args, "scan")


def cmd_train(args: argparse.Namespace) -> int:
    return start_run(args, "train")


def cmd_jobs(args: argparse.Namespace) -> int:
    from core.io.text import shown
    from core.runs.catalog import list_runs

    layout = open_project(args.project)
    if layout is None:
        return 1
    runs = list_runs(layout)
    if not runs:
        print("no runs yet; start one with `workbench scan --project DIR`")
        return 0
    print(f"{'RUN':34} {'KIND':5} {'STATE':10} {'PROGRESS':>8} {'LABELS':9} {'OOF F1':>7} {'TEST F1':>7}  MESSAGE")
    for run in runs:
        status = run.status
        metrics = status.get("metrics") or {}
        oof = f"{metrics['oof_macro_f1']:.4f}" if "oof_macro_f1" in metrics else "-"
        test = f"{metrics['test_macro_f1']:.4f}" if "test_macro_f1" in metrics else "-"
        first = (status.get("message") or "").splitlines()[0] if status.get("message") else ""
        message = shown(first, 160 if run.damaged else 60)  # a damaged run's message says which file and field
        print(
            f"{run.run_id:34} {run.kind:5} {run.state:10} {100 * status.get('progress', 0.0):7.1f}% "
            f"{str(status.get('labels', '-')):9} {oof:>7} {test:>7}  {message}"
        )
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    from core.runs.catalog import find_run
    from core.runs.jobs import cancel_job

    layout = open_project(args.project)
    if layout is None:
        return 1
    run = find_run(layout, args.run)
    if run is None:
        print(f"error: no run {args.run!r} in {layout.runs_dir}", file=sys.stderr)
        return 1
    if run.state not in ("queued", "running"):
        print(f"{run.run_id} already {run.state}; nothing to cancel")
        return 0
    state = cancel_job(run.run_dir)
    print(f"{run.run_id} {state}")
    return 0
