"""Background jobs: every one is a detached subprocess in its own process session, never the page's.

    spawn(module, args, log=, env=)   `python -m MODULE ARGS`, detached: the one way any job starts
    start_job(layout, config)         a run: its folder, then `python -m core.train --config <run>/config.yaml`
    start_once(module, args, status=, log=)
                                      a job that computes one file (a UMAP map, a recipe's fit score):
                                      started unless one is already queued or running on `status`
    refresh_liveness(run_dir, status) a run whose process is gone reads as failed (in memory: core.runs.status)
    cancel_job(run_dir)               SIGTERM to the job's process group, SIGKILL after a grace period
    stop_group(pgid)                  the same for any process group (a job its launcher could not record)
    no_main_module()                  while a process pool starts its workers: none of them runs __main__ again

No shell is involved; stdout and stderr go to the job's log. Each job keeps a status file
(core.runs.status): state, pid, progress, message, created_at. The queue needs no daemon: each
job process takes a slot lock (`.workbench/locks/slot<k>.lock`, flock) before it starts work, and
waits as `queued` while every slot is taken. The kernel releases a lock when its holder dies, even
by SIGKILL, so a crashed job never blocks the queue. There is one slot per GPU, one on a CPU box.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.config import RunConfig
from core.project.layout import ProjectLayout
from core.runs.folder import CONFIG, LOG, STATUS, RunWriter, create_run, read_status
from core.runs.status import ACTIVE, job_status, judge_liveness, now_iso, pid_alive, queue_status, record_pid

# The repository (core/runs/jobs.py -> ../..): every job's cwd and the head of its PYTHONPATH.
REPO_ROOT = Path(__file__).resolve().parents[2]


RUN_MODULE = "core.train"  # the run jobs' entry point (a shim kept for old run folders and scripts)


def spawn(
    module: str,
    args: Sequence[str],
    *,
    log: str | Path,
    env: Mapping[str, str] | None = None,
    name: str | None = None,
) -> subprocess.Popen:
    """Start `python -m module *args` detached and return its process at once.

    Own session (so it survives the page and is cancellable as a process group), no shell, stdin
    closed, stdout and stderr appended to `log`, the repository on PYTHONPATH, unbuffered output;
    `env` adds to (or overrides) this process's environment. A daemon thread reaps the child when
    it exits, so it never lingers as a zombie under a long-lived server.
    """
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), full_env.get("PYTHONPATH", "")) if p)
    with open(log, "ab") as handle:
        process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [sys.executable, "-m", module, *args],
            cwd=str(REPO_ROOT),
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    threading.Thread(target=process.wait, name=name or f"reap-{module}-{process.pid}", daemon=True).start()
    return process


def start_once(
    module: str,
    args: Sequence[str],
    *,
    status: str | Path,
    log: str | Path,
    identity: str | None = None,
    env: Mapping[str, str] | None = None,
    name: str | None = None,
    **fields: Any,
) -> bool:
    """Start `python -m module *args` (via `spawn`) unless a job is already queued or running on `status`.

    Writes a fresh `queued` record (with `fields`) to the status file first, so a failed job's
    record is replaced (a retry), and notes the pid. `identity` is a string of the job's command line
    (e.g. its output file's name) that proves a pid is still this job. Returns True when started.
    """
    status, log = Path(status), Path(log)
    if job_status(status, log=log, identity=identity)["state"] in ACTIVE:
        return False
    if not status.exists():
        # Two sessions asking at once: only the one that creates the status file starts a job.
        try:
            os.close(os.open(status, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
    queue_status(status, **fields)
    process = spawn(module, args, log=log, env=env, name=name)
    record_pid(status, process.pid)
    return True


def refresh_liveness(run_dir: Path, status: dict[str, Any]) -> dict[str, Any]:
    """`status` of the run, or `failed` with its log's last lines when it is queued or running but its
    process is gone; judged in memory (core.runs.status.judge_liveness), nothing is written."""
    run_dir = Path(run_dir)
    return judge_liveness(run_dir / STATUS, status, log=run_dir / LOG, identity=run_dir.name)


def slot_count() -> int:
    """How many jobs may run at once on this machine: one per visible GPU, one without a GPU.

    Read from nvidia-smi's device files rather than importing torch (pages must stay light).
    """
    override = os.environ.get("WORKBENCH_SLOTS")
    if override:
        return max(1, int(override))
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return max(1, len([d for d in visible.split(",") if d.strip() and d.strip() != "-1"]))
    return max(1, len(list(Path("/dev").glob("nvidia[0-9]*"))))


def start_job(layout: ProjectLayout, config: RunConfig, *, run_id: str | None = None) -> Path:
    """Create the run folder and launch its job detached; returns the run folder at once.

    When the pid cannot be noted (OSError: a full disk), the job just started is stopped before the
    error is raised, so no job runs that its launcher reported as failed.
    """
    run_dir = create_run(layout, config, run_id=run_id)
    process = spawn(RUN_MODULE, ["--config", str(run_dir / CONFIG)], log=run_dir / LOG, name=f"reap-{run_dir.name}")
    try:
        record_pid(run_dir / STATUS, process.pid)
    except OSError:
        stop_group(process.pid, grace_s=5.0)
        raise
    return run_dir


def cancel_job(run_dir: str | Path, *, grace_s: float = 10.0) -> str:
    """End a queued or running job and its whole process group; returns the final state.

    Finished folds stay on disk. A job that does not stop within `grace_s` after SIGTERM is killed.
    """
    run_dir = Path(run_dir)
    status = read_status(run_dir)
    if status.get("state") not in ACTIVE:
        return str(status.get("state", "unknown"))
    pid, pgid = status.get("pid"), status.get("pgid") or status.get("pid")
    if pid and pid_alive(pid, run_dir.name):
        stop_group(int(pgid), grace_s=grace_s)
    status = read_status(run_dir)
    if status.get("state") in ACTIVE:  # killed before it could write its own last word
        try:
            fields = dict(state="cancelled", message="cancelled by the user", finished_at=now_iso())
            status = RunWriter(run_dir).status(**fields)
        except OSError:  # a full disk or a deleted folder: the job is stopped all the same
            return "cancelled"
    return str(status["state"])


def stop_group(pgid: int, *, grace_s: float = 10.0) -> None:
    """SIGTERM to process group `pgid`, SIGKILL to what is left after `grace_s`; returns once it is gone (or 5 s more)."""
    _signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and _group_alive(pgid):
        time.sleep(0.1)
    if _group_alive(pgid):
        _signal_group(pgid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _group_alive(pgid):
            time.sleep(0.05)


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(pgid: int) -> bool:
    """True while any non-zombie process of the group remains."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # fields: state ppid pgrp ...
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False


@contextmanager
def job_slot(
    layout: ProjectLayout, *, need: int = 1, poll_s: float = 0.5, on_wait: Callable[[], None] | None = None
) -> Iterator[list[int]]:
    """Hold `need` slot locks for the job's lifetime; waits (polling) while they are taken.

    Yields the slot numbers (= GPU indices on a GPU box).
    """
    slots = slot_count()
    if need > slots:
        raise RuntimeError(f"this job needs {need} GPU slot(s) but the machine has {slots}")
    lock_dir = layout.work_dir / "locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    handles: dict[int, object] = {}
    try:
        while True:
            for k in range(slots):
                if k in handles:
                    continue
                handle = open(lock_dir / f"slot{k}.lock", "a+")  # noqa: SIM115 - held until release
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    handle.close()
                    continue
                handles[k] = handle
                if len(handles) == need:
                    break
            if len(handles) == need:
                break
            # Not enough free slots: give back partial holdings so two multi-GPU jobs cannot deadlock.
            for handle in handles.values():
                handle.close()
            handles.clear()
            if on_wait:
                on_wait()
            time.sleep(poll_s)
        yield sorted(handles)
    finally:
        for handle in handles.values():
            handle.close()


@contextmanager
def no_main_module() -> Iterator[None]:
    """While worker processes start (multiprocessing spawn / fork server): no __main__ for them to run again.

    A new worker (spawn, fork server) runs the parent's __main__ script first unless it is a module run
    with -m. The workers need nothing from it, and it may be anything: an app script that Streamlit's
    AppTest left as __main__ built a demo project in every worker, which died (multiprocessing.Pool
    then replaced it forever: the test suite hung).
    """
    import types

    saved = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if saved is not None:
            sys.modules["__main__"] = saved
