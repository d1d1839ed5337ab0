"""`workbench scan | train | jobs | cancel`: runs and their background jobs."""

from __future__ import annotations

import argparse
import sys
import time

from core.cli.project import open_project


def start_run(args: argparse.Namespace, kind: str) -> int:
    from core.config import ConfigError, resolve_config
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
    run_dir = start_job(layout, config)
    run_id = run_dir.name
    if getattr(args, "detach", False):
        print(
            f"started {kind} run in the background; follow it with `workbench jobs --project {layout.root}`",
            file=sys.stderr,
        )
        print(run_id)
        return 0
    print(f"{kind} run {run_id} (Ctrl-C cancels it; log: {run_dir / 'log.txt'})", file=sys.stderr)
    last = ""
    try:
        while True:
            status = read_status(run_dir)
            state = status.get("state", "")
            line = f"{state} {100 * float(status.get('progress', 0)):5.1f}% {status.get('message', '')}"
            if line != last:
                print(line.splitlines()[0] if line else line, file=sys.stderr, flush=True)
                last = line
            if state in ("succeeded", "failed", "cancelled"):
                break
            from core.runs.jobs import refresh_liveness

            refresh_liveness(run_dir, status)
            time.sleep(0.5)
    except KeyboardInterrupt:
        print(f"cancelling {run_id} ...", file=sys.stderr)
        cancel_job(run_dir)
        status = read_status(run_dir)
    state = status.get("state")
    if state == "failed":
        print(status.get("traceback") or status.get("message", ""), file=sys.stderr)
    elif state == "succeeded":
        metrics = status.get("metrics", {})
        print("  ".join(f"{k}={v:.4f}" for k, v in metrics.items()), file=sys.stderr)
    print(run_id)
    return 0 if state == "succeeded" else 1


def cmd_scan(args: argparse.Namespace) -> int:
    return start_run(args, "scan")


def cmd_train(args: argparse.Namespace) -> int:
    return start_run(args, "train")


def cmd_jobs(args: argparse.Namespace) -> int:
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
        message = str(status.get("message", "")).splitlines()[0][:60] if status.get("message") else ""
        print(
            f"{run.run_id:34} {run.kind:5} {run.state:10} {100 * float(status.get('progress', 0)):7.1f}% "
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
