"""Background jobs: detached processes, the slot queue, cancel, crash and dead-pid handling."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.config import resolve_config
from core.project.demo import build_demo
from core.project.layout import open_layout
from core.runs.catalog import list_runs
from core.runs.folder import RunWriter, create_run, read_status
from core.runs.jobs import cancel_job, job_slot, start_job

REPO = Path(__file__).resolve().parents[3]


def wait_for(run_dir: Path, states: tuple[str, ...], timeout_s: float = 120) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = read_status(run_dir)
        if status.get("state") in states:
            return status
        time.sleep(0.2)
    raise AssertionError(f"{run_dir.name} never reached {states}: {read_status(run_dir)}")


def processes_of_group(pgid: int) -> list[str]:
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            alive.append(stat.parent.name)
    return alive


@pytest.fixture()
def project(tmp_path):
    root = tmp_path / "project"
    build_demo(root, per_class=5)
    return open_layout(root)


def test_a_job_that_raises_ends_failed_with_its_traceback(project):
    (project.root / "train.csv").unlink()  # the job finds the project unusable and raises
    run_dir = start_job(project, resolve_config(kind="scan"))
    status = wait_for(run_dir, ("failed",))
    assert "train.csv" in status["message"]
    assert "Traceback" in status["traceback"] and "RuntimeError" in status["traceback"]
    assert "train.csv" in (run_dir / "log.txt").read_text()


def test_queued_job_waits_for_the_slot_and_cancel_leaves_no_process(project, monkeypatch):
    monkeypatch.setenv("WORKBENCH_SLOTS", "1")
    with job_slot(project):  # another job holds the only slot
        run_dir = start_job(project, resolve_config(kind="scan"))
        status = wait_for(run_dir, ("queued",))
        time.sleep(1.0)
        status = read_status(run_dir)
        assert status["state"] == "queued" and status["pid"]
        assert cancel_job(run_dir, grace_s=10) == "cancelled"
    assert read_status(run_dir)["state"] == "cancelled"
    assert processes_of_group(int(status["pgid"])) == []


def test_a_job_whose_process_died_silently_is_marked_failed(project):
    run_dir = create_run(project, resolve_config(kind="scan"))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    RunWriter(run_dir).status(state="running", pid=dead.pid, pgid=dead.pid)
    (run_dir / "log.txt").write_text("epoch 1 ...\nKilled\n")
    [run] = list_runs(project)
    assert run.state == "failed"
    assert "ended without reporting" in run.status["message"] and "Killed" in run.status["message"]


def test_job_state_is_read_back_by_a_fresh_process(project):
    (project.root / "train.csv").unlink()
    run_dir = start_job(project, resolve_config(kind="scan"))
    wait_for(run_dir, ("failed",))
    out = subprocess.run(
        [sys.executable, "-m", "core.cli", "jobs", "--project", str(project.root)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ),
    )
    line = next(line for line in out.stdout.splitlines() if line.startswith(run_dir.name))
    assert " scan " in line and " failed " in line


def test_cli_rejects_unknown_config_keys_with_the_key_named(project, capsys):
    from core.cli.commands import main

    assert main(["scan", "--project", str(project.root), "--set", "scan.bakbone=x"]) == 1
    assert "scan.bakbone" in capsys.readouterr().err
    assert list_runs(project) == []


# ---------------------------------------------------------------- one spawn for every background job


def test_run_jobs_and_umap_jobs_start_through_the_same_spawn(tmp_path, monkeypatch, make_project):
    """A run, a UMAP projection and the UMAP warm-up are all started by core.runs.jobs.spawn, the one Popen."""
    from core.embeddings import projection_job
    from core.runs import jobs, status

    launched: list[tuple[object, list[str], dict]] = []

    class Fake:
        pid = 2**22 + 4242

        def wait(self):
            return 0

    def fake_popen(command, **kwargs):
        launched.append((sys._getframe(1).f_code, command, kwargs))  # the code that called Popen
        return Fake()

    monkeypatch.setattr(jobs.subprocess, "Popen", fake_popen)
    monkeypatch.setattr(status, "pid_alive", lambda pid, identity=None: True)
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba"))
    layout = open_layout(make_project(tmp_path))
    run_dir = jobs.start_job(layout, resolve_config(kind="scan"))
    out = tmp_path / "cache" / "umap" / "run-umap-x.npz"
    assert projection_job.start_projection(run_dir, out, params=projection_job.ProjectionParams()) is True
    assert projection_job.start_warm_up() is True

    assert [caller for caller, _, _ in launched] == [jobs.spawn.__code__] * 3
    modules = [command[2] for _, command, _ in launched]
    assert modules == ["core.train", "core.embeddings.projection_job", "core.embeddings.projection_job"]
    for _, command, kwargs in launched:
        assert command[:2] == [sys.executable, "-m"] and "shell" not in kwargs
        assert kwargs["start_new_session"] is True and kwargs["stdin"] == subprocess.DEVNULL
        assert kwargs["cwd"] == str(REPO) and kwargs["env"]["PYTHONPATH"].split(os.pathsep)[0] == str(REPO)
    # Both kinds of status file got the pid the same way (core.runs.status.record_pid).
    assert read_status(run_dir)["pid"] == Fake.pid and read_status(run_dir)["pgid"] == Fake.pid
    assert projection_job.projection_status(out)["pid"] == Fake.pid


def test_start_once_starts_one_job_per_status_file_and_retries_a_failed_one(tmp_path, monkeypatch):
    from core.runs import jobs, status

    started: list[list[str]] = []

    class Fake:
        pid = 2**22 + 99

        def wait(self):
            return 0

    def fake_popen(command, **kwargs):
        started.append(command)
        return Fake()

    monkeypatch.setattr(jobs.subprocess, "Popen", fake_popen)
    monkeypatch.setattr(status, "pid_alive", lambda pid, identity=None: pid == Fake.pid)
    target, log = tmp_path / "score.status.json", tmp_path / "score.log"
    kwargs = dict(status=target, log=log, identity="score", message="starting", recipe="heavy")
    assert jobs.start_once("core.some_job", ["--recipe", "heavy"], **kwargs) is True
    assert jobs.start_once("core.some_job", ["--recipe", "heavy"], **kwargs) is False  # running
    record = status.read_json(target)
    assert (record["state"], record["pid"], record["recipe"], record["message"]) == (
        "queued",
        Fake.pid,
        "heavy",
        "starting",
    )
    assert status.StatusFile(target).update(state="failed", message="boom")["state"] == "failed"
    assert jobs.start_once("core.some_job", ["--recipe", "heavy"], **kwargs) is True  # a retry
    assert status.read_json(target)["state"] == "queued" and len(started) == 2
