"""core.runs.status: the status file every background job keeps, and how a dead job is recognised."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import core.runs.status as status_module
from core.runs.status import (
    ENDED,
    ISO_FORMAT,
    StatusFile,
    judge_liveness,
    pid_alive,
    queue_status,
    read_json,
    record_pid,
)


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_status_file_merges_fields_and_stamps_updates(tmp_path):
    path = tmp_path / "x.status.json"
    queued = queue_status(path, message="starting", kind="umap")
    assert queued["state"] == "queued" and queued["progress"] == 0.0 and queued["kind"] == "umap"
    datetime.strptime(queued["created_at"], ISO_FORMAT)  # the one timestamp format
    writer = StatusFile(path)
    writer.update(state="running", progress=0.5, traceback="old")
    writer.forget("traceback")
    final = writer.update(state="succeeded", progress=1.0)
    assert read_json(path) == final and "traceback" not in final and final["kind"] == "umap"
    assert final["updated_at"] >= final["created_at"]
    (tmp_path / "half.json").write_text('{"state": "runn')
    assert read_json(tmp_path / "half.json") == {} and read_json(tmp_path / "missing.json") == {}


def test_record_pid_never_overwrites_what_the_job_wrote(tmp_path):
    path = tmp_path / "status.json"
    queue_status(path)
    record_pid(path, 1234)
    assert (read_json(path)["pid"], read_json(path)["pgid"]) == (1234, 1234)
    StatusFile(path).update(pid=999, state="running")  # the job's own word
    record_pid(path, 1234)
    assert read_json(path)["pid"] == 999


def test_a_job_whose_process_is_gone_is_marked_failed_with_its_log_tail(tmp_path):
    path, log = tmp_path / "status.json", tmp_path / "job.log"
    log.write_text("".join(f"line {i}\n" for i in range(30)) + "Killed\n")
    StatusFile(path).update(state="running", pid=dead_pid(), progress=0.4, created_at="2026-01-01T00:00:00.000000Z")
    judged = status_module.job_status(path, log=log)
    assert judged["state"] == "failed" and judged["message"].startswith(ENDED) and judged["message"].endswith("Killed")
    assert "line 16" in judged["message"] and "line 15" not in judged["message"]  # the last 15 lines
    assert read_json(path)["state"] == "running"  # judged in memory, the same by every reader: reading never writes


def test_a_job_never_started_gets_a_minute_before_it_is_judged(tmp_path):
    path, log = tmp_path / "status.json", tmp_path / "job.log"
    queue_status(path)
    assert status_module.job_status(path, log=log)["state"] == "queued"  # young, no pid yet: the launcher is at it
    old = (datetime.now(UTC) - timedelta(seconds=61)).strftime(ISO_FORMAT)
    StatusFile(path).update(created_at=old)
    assert status_module.job_status(path, log=log, ended="never started")["message"] == "never started"
    # UMAP records of older versions carry `started` (epoch seconds) instead of created_at.
    path.write_text(f'{{"state": "queued", "started": {time.time()}}}')
    assert status_module.job_status(path, log=log)["state"] == "queued"
    assert status_module.job_status(tmp_path / "none.json", log=log)["state"] == "missing"


def test_a_job_that_finished_meanwhile_is_not_marked_failed(tmp_path, monkeypatch):
    path, log = tmp_path / "status.json", tmp_path / "job.log"
    stale = {"state": "running", "pid": 4242}
    StatusFile(path).update(state="succeeded", pid=4242, progress=1.0)  # what the job wrote last
    monkeypatch.setattr(status_module, "pid_alive", lambda pid, identity=None: False)
    assert judge_liveness(path, stale, log=log)["state"] == "succeeded"


def test_pid_alive_checks_the_command_line_when_asked(tmp_path):
    assert pid_alive(dead_pid()) is False and pid_alive(None) is False
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", "job-7f3a"])
    try:
        assert pid_alive(process.pid) and pid_alive(process.pid, "job-7f3a")
        assert not pid_alive(process.pid, "another-job")  # a recycled pid is not this job
    finally:
        process.kill()
        process.wait()
