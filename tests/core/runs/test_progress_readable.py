"""core.runs.progress: what a person reads of a job's progress (log lines, elapsed time, time left, stage fields)."""

from __future__ import annotations

from datetime import UTC, datetime

from core.runs.folder import RunWriter
from core.runs.progress import RunCallbacks, format_duration, job_timing, metrics_line, readable_log_line
from core.runs.status import read_json


def test_epoch_and_fold_lines_are_readable_not_python_dicts(tmp_path, capsys):
    callbacks = RunCallbacks(RunWriter(tmp_path), min_interval_s=60)
    callbacks.on_epoch(fold=1, epoch=2, metrics={"train_loss": 0.41234, "val_f1": 0.875})
    callbacks.on_fold_end(fold=1, metrics={"val_f1": 0.9, "val_acc": 0.91})
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "fold 2 · epoch 3 · train loss 0.4123 · val macro-F1 0.875",
        "fold 2 done · val macro-F1 0.9 · val accuracy 0.91",
    ]


def test_an_older_run_log_is_shown_readable_too():
    assert readable_log_line("fold 0 done: {'val_f1': 0.5, 'val_acc': 0.75}") == (
        "fold 1 done · val macro-F1 0.5 · val accuracy 0.75"
    )
    assert (
        readable_log_line("fold 1 epoch 0: train_loss=0.4100 lr=0.0003")
        == "fold 2 · epoch 1 · train loss 0.41 · lr 0.0003"
    )
    assert readable_log_line("loading the project") == "loading the project"
    assert readable_log_line("fold 0 done: {not python") == "fold 0 done: {not python"
    assert metrics_line({}, fold=0) == "fold 1"


def test_a_stage_report_clears_the_counts_of_the_stage_before(tmp_path):
    callbacks = RunCallbacks(RunWriter(tmp_path), min_interval_s=0)
    callbacks.on_progress(progress=0.3, message="embedding train images", step=300, steps=300)
    callbacks.on_progress(progress=0.5, message="fitting fold 1/5", fold=0, folds=5)
    status = read_json(tmp_path / "status.json")
    assert status["step"] is None and status["steps"] is None
    assert (status["fold"], status["folds"], status["message"]) == (0, 5, "fitting fold 1/5")


def _iso(seconds_ago: float, now: float) -> str:
    return datetime.fromtimestamp(now - seconds_ago, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_elapsed_time_and_time_left_follow_progress():
    now = 1_800_000_000.0
    running = {"state": "running", "started_at": _iso(120, now), "progress": 0.25}
    elapsed, left = job_timing(running, now=now)
    assert round(elapsed) == 120 and round(left) == 360
    early = dict(running, progress=0.01)
    assert job_timing(early, now=now)[1] is None  # too early for an estimate
    assert job_timing({"state": "queued"}, now=now) == (None, None)
    assert job_timing({"state": "succeeded", "duration_s": 95.0}, now=now) == (95.0, None)
    assert job_timing(dict(running, started_at="yesterday"), now=now) == (None, None)
    assert [format_duration(s) for s in (45, 185, 3720)] == ["45 s", "3 min 05 s", "1 h 02 min"]
