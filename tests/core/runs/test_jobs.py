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
