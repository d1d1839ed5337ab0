"""core.runs.progress: the one callbacks protocol and its adapters (status file, run folder, span, terminal)."""

from __future__ import annotations

import io

from core.runs.folder import RunWriter, read_events
from core.runs.progress import Callbacks, RunCallbacks, SpanCallbacks, StatusCallbacks, TerminalProgress
from core.runs.status import StatusFile, read_json


class Recorder(Callbacks):
    def __init__(self) -> None:
        self.calls: list[dict] = []

    def on_progress(self, *, progress: float, message: str = "", **where) -> None:
        self.calls.append({"progress": progress, "message": message, **where})


def test_status_callbacks_throttle_steps_but_never_stages_or_the_end(tmp_path):
    path = tmp_path / "job.status.json"
    callbacks = StatusCallbacks(StatusFile(path), min_interval_s=60)
    callbacks.on_progress(progress=0.1, message="epoch", step=1, steps=10)  # the first always
    callbacks.on_progress(progress=0.2, message="epoch", step=2, steps=10)  # too soon: dropped
    assert read_json(path)["step"] == 1
    callbacks.on_progress(progress=0.3, message="building the graph")  # a stage: written
    assert read_json(path)["message"] == "building the graph" and read_json(path)["progress"] == 0.3
    callbacks.on_progress(progress=1.0, message="done", step=10, steps=10)  # the end: written
    assert read_json(path)["step"] == 10
    callbacks.on_message("saving")
    assert read_json(path)["message"] == "saving"


def test_run_callbacks_write_status_and_events(tmp_path):
    callbacks = RunCallbacks(RunWriter(tmp_path), min_interval_s=60)
    callbacks.on_progress(progress=0.5, message="fitting fold 1/2", fold=0, folds=2)
    callbacks.on_epoch(fold=0, epoch=0, metrics={"val_f1": 0.5})
    callbacks.on_progress(progress=1.0, message="fold 2/2 done", fold=1, folds=2)
    assert read_json(tmp_path / "status.json")["progress"] == 1.0
    assert [e["type"] for e in read_events(tmp_path)] == ["progress", "epoch", "progress"]


def test_span_callbacks_rescale_into_the_share_of_the_whole():
    parent = Recorder()
    span = SpanCallbacks(parent, (0.2, 0.6), min_interval_s=60)
    for step in range(5):
        span.on_progress(progress=step / 4, message="embedding images", step=step, steps=4)
    span.on_progress(progress=0.5, message="a stage")
    assert [c["progress"] for c in parent.calls] == [0.2, 0.6, 0.4]  # first, last (1.0), the stage
    assert parent.calls[1]["step"] == 4 and parent.calls[1]["message"] == "embedding images"


def test_terminal_progress_rewrites_one_line_and_prints_stages():
    out = io.StringIO()
    bar = TerminalProgress("checking images", unit="images", stream=out, min_interval_s=60)
    for done in (25, 50, 1500):
        bar.on_progress(progress=done / 1500, step=done, steps=1500)
    bar.on_progress(progress=0.0, message="Scoring labels with cleanlab")
    assert out.getvalue() == (
        "\rchecking images: 25/1,500 images\rchecking images: 1,500/1,500 images\n"
        "checking images: Scoring labels with cleanlab\n"
    )
    plain = io.StringIO()
    TerminalProgress(stream=plain).on_message("Looking for outliers")
    assert plain.getvalue() == "Looking for outliers\n"


def test_every_long_operation_takes_the_same_callbacks_parameter():
    import inspect

    from core.embeddings.features import compute_embeddings
    from core.embeddings.projection import project_embeddings
    from core.issues.run_issues import issues_for_runs
    from core.project.dataset import load_dataset
    from core.project.imageindex import scan_images

    for function in (compute_embeddings, project_embeddings, issues_for_runs, load_dataset, scan_images):
        parameters = inspect.signature(function).parameters
        assert "callbacks" in parameters and "progress" not in parameters, function.__name__
        assert parameters["callbacks"].default is None
