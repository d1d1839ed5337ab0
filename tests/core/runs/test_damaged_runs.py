"""Damaged run files never take the app down, and reading runs never writes (issue 13).

A status.json of the wrong shape lists its run as `damaged` (message naming the file) while every other
run keeps working; a truncated or garbled artifact raises RunDamaged wherever the run would be analysed;
listing, find_run and job_status judge a dead job in memory and write nothing.
"""

from __future__ import annotations

import errno
import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest

import core.io.atomic as atomic
import core.runs.jobs as jobs
import core.runs.status as status_module
from core.config import resolve_config
from core.runs.artifacts import RunDamaged, load_embeddings, load_oof, load_test_probs
from core.runs.catalog import find_run, list_runs, runs_table
from core.runs.folder import (
    EMBEDDING_IDS,
    EMBEDDINGS,
    EVENTS,
    OOF,
    TEST_PROBS,
    RunWriter,
    create_run,
    read_events,
    read_oof,
    read_status,
    write_embeddings,
    write_oof,
    write_test_outputs,
)
from core.runs.status import job_status
from tests.support.builders import probs_run

GOOD, BAD = "20260101-000001-scan-good", "20260101-000002-scan-bad0"
N, K = 12, 3


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def good_run(layout) -> None:
    given = np.arange(N) % K
    probs = np.full((N, K), 0.1)
    probs[np.arange(N), given] = 0.8
    probs_run(layout, GOOD, given, probs)


def bad_status_run(layout, content: bytes):
    run_dir = create_run(layout, resolve_config(kind="scan"), run_id=BAD)
    (run_dir / "status.json").write_bytes(content)
    return run_dir


MALFORMED = {
    "null": b"null",
    "a list": b"[1, 2]",
    "a string": b'"running"',
    "a number": b"42",
    "no state": b"{}",
    "unknown state": b'{"state": "exploded"}',
    "pid abc": b'{"state": "running", "pid": "abc"}',
    "pid negative": b'{"state": "running", "pid": -4}',
    "pid a list": b'{"state": "queued", "pid": [1]}',
    "progress x": b'{"state": "succeeded", "progress": "x"}',
    "progress a dict": b'{"state": "running", "progress": {"a": 1}}',
    "metrics a list": b'{"state": "succeeded", "metrics": [0.5, 0.6]}',
    "metric a string": b'{"state": "succeeded", "metrics": {"oof_macro_f1": "high"}}',
    "message a list": b'{"state": "failed", "message": ["x"]}',
    "kind a number": b'{"state": "succeeded", "kind": 7}',
    "epoch text": b'{"state": "running", "pid": 1, "epoch": "two"}',
    "cut short": b'{"state": "succeeded", "progr',
    "empty": b"",
    "not utf-8": b'{"state": "\xff\xfe"}',
}


@pytest.mark.parametrize("content", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_status_lists_its_run_as_damaged_and_the_others_keep_working(layout, run_cli, content):
    good_run(layout)
    bad_status_run(layout, content)
    runs = {r.run_id: r for r in list_runs(layout)}
    assert runs[BAD].state == "damaged" and runs[BAD].damaged
    assert runs[BAD].status["message"].startswith("status.json is damaged: ")
    assert runs[GOOD].state == "succeeded" and not runs[GOOD].damaged
    table = runs_table(list(runs.values())).set_index("run_id")
    assert table.loc[BAD, "state"] == "damaged" and table.loc[BAD, "progress"] == 0.0
    assert table.loc[GOOD, "state"] == "succeeded"
    assert find_run(layout).run_id == GOOD  # the newest run is damaged: never the one analysed
    assert find_run(layout, BAD).state == "damaged"
    code, out, err = run_cli(["jobs", "--project", str(layout.root)])
    assert code == 0, err
    line = next(line for line in out.splitlines() if line.startswith(BAD))
    assert " damaged " in line and "status.json is damaged" in line
    assert any(line.startswith(GOOD) and " succeeded " in line for line in out.splitlines())
    # Any other job's status file reads as failed (its page offers a retry), never raises.
    judged = job_status(layout.runs_dir / BAD / "status.json", log=layout.runs_dir / BAD / "log.txt")
    if content:
        assert judged["state"] == "failed" and "status.json is damaged" in judged["message"]
    else:  # a launcher creates the file empty for an instant (core.runs.jobs.start_once)
        assert judged["state"] == "missing"


def test_the_damaged_message_names_the_field_and_quotes_its_value_safely(layout):
    bad_status_run(layout, b'{"state": "running", "pid": "abc\\u001b[31m"}')
    [run] = list_runs(layout)
    assert run.status["message"] == "status.json is damaged: pid 'abc\\x1b[31m' is not a whole number"
    bad_status_run_2 = layout.runs_dir / BAD
    (bad_status_run_2 / "status.json").write_text('{"state": "succeeded", "metrics": [1]}')
    assert list_runs(layout)[0].status["message"] == (
        "status.json is damaged: metrics is a list instead of an object of numbers"
    )


def test_fields_of_the_right_kind_are_coerced_to_the_types_readers_use(layout):
    run_dir = bad_status_run(
        layout, b'{"state": "succeeded", "progress": "0.5", "pid": "123", "metrics": {"oof_macro_f1": "0.75"}}'
    )
    status = read_status(run_dir)
    assert status["progress"] == 0.5 and status["pid"] == 123 and status["metrics"] == {"oof_macro_f1": 0.75}
    (run_dir / "status.json").write_text('{"state": "running", "progress": 7, "fold": null, "step": 3.0}')
    status = read_status(run_dir)
    assert status["progress"] == 1.0 and status["fold"] is None and status["step"] == 3


# ---------------------------------------------------------------- reading never writes


def test_listing_judges_a_dead_job_in_memory_and_writes_nothing(layout):
    run_dir = create_run(layout, resolve_config(kind="scan"), run_id=BAD)
    RunWriter(run_dir).status(state="running", pid=dead_pid(), created_at="2026-01-01T00:00:00.000000Z")
    (run_dir / "log.txt").write_text("epoch 1\nKilled\n")
    before = (run_dir / "status.json").read_bytes()
    [run] = list_runs(layout)
    assert run.state == "failed" and run.status["message"].endswith("Killed")
    assert find_run(layout, BAD).state == "failed"
    assert job_status(run_dir / "status.json", log=run_dir / "log.txt")["state"] == "failed"
    assert (run_dir / "status.json").read_bytes() == before  # judged the same way by every reader, never written


def test_a_full_disk_never_breaks_a_listing(layout, monkeypatch):
    good_run(layout)
    run_dir = create_run(layout, resolve_config(kind="scan"), run_id=BAD)
    RunWriter(run_dir).status(state="running", pid=dead_pid(), created_at="2026-01-01T00:00:00.000000Z")

    attempts = []

    def full(*args, **kwargs):
        attempts.append(args)
        raise OSError(errno.ENOSPC, "No space left on device")

    for module in (atomic, status_module):
        monkeypatch.setattr(module, "write_json_atomic", full)
    monkeypatch.setattr(atomic, "atomic_write", full)
    monkeypatch.setattr(status_module.StatusFile, "update", full)
    states = {r.run_id: r.state for r in list_runs(layout)}
    assert states == {BAD: "failed", GOOD: "succeeded"}
    assert find_run(layout).run_id == GOOD
    assert job_status(run_dir / "status.json", log=run_dir / "log.txt")["state"] == "failed"
    assert attempts == []  # not a write that failed and was forgiven: no write at all


# ---------------------------------------------------------------- artifacts


def scan_run(layout, run_id: str, *, rows: int = N, **status) -> object:
    """A succeeded scan run: oof.csv of `rows` train images, test_probs.csv of 4, embeddings of both."""
    run_dir = create_run(layout, resolve_config(kind="scan"), run_id=run_id)
    given = np.arange(rows) % K
    probs = np.full((rows, K), 0.1)
    probs[np.arange(rows), given] = 0.8
    ids = [f"img_{i:03d}.png" for i in range(rows)]
    write_oof(run_dir, ids, np.arange(rows) % 3, given, probs)
    test_ids = [f"test_{i}.png" for i in range(4)]
    write_test_outputs(run_dir, test_ids, np.full((4, K), 1 / K))
    write_embeddings(run_dir, ids + test_ids, ["train"] * rows + ["test"] * 4, np.ones((rows + 4, 5)))
    RunWriter(run_dir).status(**{"state": "succeeded", "labels": "original", **status})
    return run_dir


def cut_lines(path, keep: int) -> None:
    """Keep the header and `keep` rows: a file cut at a line boundary (it still parses)."""
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[: 1 + keep]))


def test_whole_artifacts_load_as_the_run_wrote_them(layout):
    run_dir = scan_run(layout, GOOD, oof_rows=N, test_probs_rows=4)
    status = read_status(run_dir)
    pd.testing.assert_frame_equal(load_oof(run_dir, status), read_oof(run_dir), check_dtype=False)
    assert list(load_test_probs(run_dir, status)["ID"]) == [f"test_{i}.png" for i in range(4)]
    ids, vectors = load_embeddings(run_dir)
    assert len(ids) == len(vectors) == N + 4
    empty = create_run(layout, resolve_config(kind="scan"), run_id=BAD)  # no artifacts yet: nothing, no error
    assert load_oof(empty, {}) is None and load_test_probs(empty, {}) is None and load_embeddings(empty) is None


def oof_cut_recorded(run_dir):
    cut_lines(run_dir / OOF, N - 3)


def oof_cut_old_run(run_dir):  # a run from before oof_rows: the job's train_rows, every row scored (5 folds)
    RunWriter(run_dir).forget("oof_rows")
    RunWriter(run_dir).status(train_rows=N)
    cut_lines(run_dir / OOF, N - 1)


def oof_cut_mid_line(run_dir):
    text = (run_dir / OOF).read_text()
    (run_dir / OOF).write_text(text[: text.rindex(",") - 2])


def oof_garbage(run_dir):
    (run_dir / OOF).write_bytes(b"\x00\xff\xfe garbage \x89PNG\r\n\x1a\n" * 20)


def oof_text_prob(run_dir):
    frame = read_oof(run_dir).astype({"prob_1": object})
    frame.loc[3, "prob_1"] = "abc"
    frame.to_csv(run_dir / OOF, index=False)


def oof_header_only(run_dir):
    cut_lines(run_dir / OOF, 0)


def oof_no_probs(run_dir):
    read_oof(run_dir)[["ID", "fold", "given", "predicted"]].to_csv(run_dir / OOF, index=False)


TRUNCATIONS = {
    "cut at a line boundary": (oof_cut_recorded, OOF, "has 9 rows but the run wrote 12 (the file is cut short)"),
    "cut, a run before oof_rows": (oof_cut_old_run, OOF, "has 11 rows but the run wrote 12"),
    "cut mid-line": (oof_cut_mid_line, OOF, "cut short"),
    "garbage": (oof_garbage, OOF, "oof.csv is damaged"),
    "a text probability": (oof_text_prob, OOF, "row 5 (img_003.png) has prob_1 'abc'"),
    "header only": (oof_header_only, OOF, "has a header but no rows"),
    "no prob columns": (oof_no_probs, OOF, "has no prob_0.. columns"),
    "test_probs cut": (lambda d: cut_lines(d / TEST_PROBS, 2), TEST_PROBS, "has 2 rows but the run wrote 4"),
    "test_probs garbage": (lambda d: (d / TEST_PROBS).write_text("ID,prob_0\n,,,,\n"), TEST_PROBS, "damaged"),
}


@pytest.mark.parametrize("damage, name, what", TRUNCATIONS.values(), ids=TRUNCATIONS.keys())
def test_a_truncated_or_garbled_prediction_file_is_never_analysed_partially(layout, damage, name, what):
    run_dir = scan_run(layout, BAD, oof_rows=N, test_probs_rows=4)
    damage(run_dir)
    load = load_oof if name == OOF else load_test_probs
    with pytest.raises(RunDamaged, match=f"run {BAD}: {name} is damaged") as raised:
        load(run_dir, read_status(run_dir))
    assert what in str(raised.value)


def test_a_cancelled_run_keeps_its_finished_folds_without_a_count(layout):
    run_dir = scan_run(layout, BAD, rows=6)
    RunWriter(run_dir).status(state="cancelled", train_rows=N)  # 6 of 12 scored before the cancel
    assert len(load_oof(run_dir, read_status(run_dir))) == 6


EMBEDDING_DAMAGE = {
    "not an npy file": (lambda d: (d / EMBEDDINGS).write_bytes(b"garbage"), "cannot be loaded"),
    "cut short": (lambda d: (d / EMBEDDINGS).write_bytes((d / EMBEDDINGS).read_bytes()[:150]), "cannot be loaded"),
    "fewer ids": (lambda d: cut_lines(d / EMBEDDING_IDS, 5), "has 16 rows but embeddings_ids.csv has 5"),
    "one-dimensional": (lambda d: np.save(d / EMBEDDINGS, np.ones(16)), "not (N, D)"),
    "NaN": (lambda d: np.save(d / EMBEDDINGS, np.full((16, 5), np.nan)), "NaN"),
}


@pytest.mark.parametrize("damage, what", EMBEDDING_DAMAGE.values(), ids=EMBEDDING_DAMAGE.keys())
def test_embeddings_that_cannot_be_loaded_or_do_not_match_their_ids_are_damaged(layout, damage, what):
    run_dir = scan_run(layout, BAD)
    damage(run_dir)
    with pytest.raises(RunDamaged, match=f"run {BAD}: embeddings.npy is damaged") as raised:
        load_embeddings(run_dir)
    assert what in str(raised.value)


def test_events_skip_half_lines_and_garbage_without_crashing(layout):
    run_dir = create_run(layout, resolve_config(kind="scan"), run_id=BAD)
    good = '{"type": "epoch", "fold": 0, "epoch": 0, "val_f1": 0.5}\n'
    (run_dir / EVENTS).write_bytes(
        good.encode() + b"[1, 2]\n42\nnull\n\xff\xfe\x00garbage\n" + good.encode() + b'{"type": "epoch", "fo'
    )
    assert read_events(run_dir, kinds=("epoch",)) == [
        {"type": "epoch", "fold": 0, "epoch": 0, "val_f1": 0.5},
        {"type": "epoch", "fold": 0, "epoch": 0, "val_f1": 0.5},
    ]
    assert len(read_events(run_dir)) == 2


# ---------------------------------------------------------------- `workbench scan` in the foreground


def sleeper() -> subprocess.Popen:
    """A stand-in for a job: a process in its own session that would run for a minute."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)


def gone(process: subprocess.Popen, timeout_s: float = 15) -> bool:
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        return False
    return True


def test_scan_on_a_full_disk_stops_the_job_it_started_and_says_so(layout, run_cli, monkeypatch):
    started = []
    monkeypatch.setattr(jobs, "spawn", lambda *a, **k: started.append(sleeper()) or started[-1])

    def full(path, pid):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(jobs, "record_pid", full)
    code, out, err = run_cli(["scan", "--project", str(layout.root)])
    assert code == 1 and "No space left on device" in err and "no job is running" in err
    assert gone(started[0], timeout_s=10)  # not left running in the background


def test_scan_ends_with_a_message_when_its_run_folder_disappears(layout, run_cli, monkeypatch):
    import shutil

    started = []
    monkeypatch.setattr(jobs, "spawn", lambda *a, **k: started.append(sleeper()) or started[-1])
    monkeypatch.setattr(status_module, "pid_alive", lambda pid, identity=None: pid == started[0].pid)
    result = {}

    def scan():
        result["answer"] = run_cli(["scan", "--project", str(layout.root)])

    thread = threading.Thread(target=scan, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not started or not any(layout.runs_dir.iterdir()):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.6)
    shutil.rmtree(next(layout.runs_dir.iterdir()))
    thread.join(timeout=20)
    assert not thread.is_alive(), "workbench scan kept waiting for a run folder that is gone"
    code, out, err = result["answer"]
    assert code == 1 and "disappeared while waiting" in err and "was stopped" in err
    assert gone(started[0], timeout_s=10)


def test_scan_ends_failed_when_its_job_dies_without_a_word(layout, run_cli, monkeypatch):
    monkeypatch.setattr(jobs, "spawn", lambda *a, **k: subprocess.Popen([sys.executable, "-c", "pass"]))
    code, out, err = run_cli(["scan", "--project", str(layout.root)])
    assert code == 1 and "ended without reporting" in err
    [run] = list_runs(layout)
    assert run.state == "failed" and out.strip() == run.run_id


def test_a_run_whose_job_died_can_be_deleted_though_its_file_still_says_running(layout):
    from core.runs.manage import trash_run

    run_dir = create_run(layout, resolve_config(kind="scan"), run_id=BAD)
    RunWriter(run_dir).status(state="running", pid=dead_pid(), created_at="2026-01-01T00:00:00.000000Z")
    assert [r.state for r in list_runs(layout)] == ["failed"]  # what the Runs page shows, with Delete
    assert read_status(run_dir)["state"] == "running"  # nothing was written
    assert trash_run(layout, BAD).is_dir() and list_runs(layout) == []


def test_a_run_with_a_cut_short_oof_is_not_an_ensemble_member_scored_on_part_of_it(layout):
    from core.predictions.members import PredictionError, run_member

    run_dir = scan_run(layout, BAD, oof_rows=N, test_probs_rows=4)
    test_ids = [f"test_{i}.png" for i in range(4)]
    assert len(run_member(run_dir, name=BAD, test_ids=test_ids, num_classes=K).oof) == N
    cut_lines(run_dir / OOF, N - 2)
    with pytest.raises(PredictionError, match=f"run {BAD}: oof.csv is damaged: has 10 rows but the run wrote 12"):
        run_member(run_dir, name=BAD, test_ids=test_ids, num_classes=K)
