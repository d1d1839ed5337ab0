"""Background jobs: a run is a detached subprocess in its own process session, never the page's.

    start_job(layout, config)  -> run folder; `python -m core.train --config <run>/config.yaml`
    cancel_job(run_dir)        -> SIGTERM to the job's process group, SIGKILL after a grace period

No shell is involved; stdout and stderr go to the run's log.txt. The queue needs no daemon: each
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.config import RunConfig
from core.project.layout import ProjectLayout
from core.runs.folder import ACTIVE, LOG, RunWriter, create_run, now_iso, read_status, tail_log


def pid_alive(pid: int | None, run_id: str | None = None) -> bool:
    """True while `pid` runs (not a zombie) and, where /proc shows it, is this run's process."""
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path(f"/proc/{int(pid)}")
    if proc.exists():
        try:
            if ") Z" in (proc / "stat").read_text() or ") X" in (proc / "stat").read_text():
                return False
            if run_id:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                return run_id in cmdline
        except OSError:
            return False
    return True


def refresh_liveness(run_dir: Path, status: dict[str, Any]) -> dict[str, Any]:
    """A queued or running job whose process is gone is marked failed, with the log tail."""
    if status.get("state") not in ACTIVE:
        return status
    pid = status.get("pid")
    if pid is None:
        # Created but never started (e.g. the launcher crashed): give it a minute before judging.
        created = status.get("created_at", "")
        try:
            age = time.time() - datetime.strptime(created, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()
        except ValueError:
            age = 1e9
        if age < 60:
            return status
    elif pid_alive(pid, run_dir.name):
        return status
    status = read_status(run_dir)  # the job may have finished between the two reads
    if status.get("state") not in ACTIVE:
        return status
    tail = tail_log(run_dir, lines=15)
    message = "the job's process ended without reporting (killed or crashed)"
    if tail:
        message += ":\n" + tail
    writer = RunWriter(run_dir)
    return writer.status(state="failed", message=message, finished_at=now_iso())


REPO_ROOT = Path(__file__).resolve().parent.parent


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


def job_command(config_path: Path) -> list[str]:
    return [sys.executable, "-m", "core.train", "--config", str(config_path)]


def start_job(layout: ProjectLayout, config: RunConfig, *, run_id: str | None = None) -> Path:
    """Create the run folder and launch its job detached; returns the run folder at once."""
    run_dir = create_run(layout, config, run_id=run_id)
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    with open(run_dir / LOG, "ab") as log:
        process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            job_command(run_dir / "config.yaml"),
            cwd=str(REPO_ROOT),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: survives the page, cancellable as a group
            close_fds=True,
        )
    RunWriter(run_dir).status(pid=process.pid, pgid=process.pid)
    # Reap the child when it exits so it never lingers as a zombie under a long-lived server.
    threading.Thread(target=process.wait, name=f"reap-{run_dir.name}", daemon=True).start()
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
        _signal_group(int(pgid), signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and _group_alive(int(pgid)):
            time.sleep(0.1)
        if _group_alive(int(pgid)):
            _signal_group(int(pgid), signal.SIGKILL)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and _group_alive(int(pgid)):
                time.sleep(0.05)
    status = read_status(run_dir)
    if status.get("state") in ACTIVE:  # killed before it could write its own last word
        status = RunWriter(run_dir).status(state="cancelled", message="cancelled by the user", finished_at=now_iso())
    return str(status["state"])


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
