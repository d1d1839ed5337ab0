"""AppTest of the Train and Runs pages on fixture runs (artifacts written through core.runs)."""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.config import resolve_config
from core.project.demo import build_demo
from core.project.layout import open_layout
from core.runs.catalog import list_runs
from core.runs.folder import RunWriter, create_run
from tests.support.apphelpers import APP, fixture_run
from workbench import state


@pytest.fixture(scope="module")
def project_with_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs") / "project"
    build_demo(root, per_class=8)
    layout = open_layout(root)
    layout.ensure_work_dir()
    fixture_run(layout, accuracy=0.5, seed=1, run_id="20260101-000000-scan-aaaa")
    fixture_run(layout, accuracy=0.9, seed=2, run_id="20260102-000000-scan-bbbb")
    return layout


def _app(layout, monkeypatch, tmp_path, page: str) -> AppTest:
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state[state.PROJECT] = str(layout.root)
    at.run()
    return at.switch_page(f"../pages/{page}.py").run()


def test_runs_page_lists_runs_and_compares_them(project_with_runs, monkeypatch, tmp_path):
    at = _app(project_with_runs, monkeypatch, tmp_path, "runs")
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["run_id"]) == ["20260102-000000-scan-bbbb", "20260101-000000-scan-aaaa"]
    assert list(table["active"]) == [True, False]  # newest succeeded is active by default
    runs = {r.run_id: r for r in list_runs(project_with_runs)}
    expected = runs["20260102-000000-scan-bbbb"].status["metrics"]["test_macro_f1"]
    assert table["test_macro_f1"].iloc[0] == pytest.approx(expected)
    labels = {m.label: m for m in at.metric}
    before = runs["20260101-000000-scan-aaaa"].status["metrics"]["test_macro_f1"]
    assert labels["Test macro-F1: B"].value == f"{expected:.4f}"
    assert f"{expected - before:+.4f}" in str(labels["Test macro-F1: B"].delta)
    downloads = [d.proto.label for d in at.get("download_button")]  # the chosen run's files, by their names
    assert {"submission.csv", "oof.csv", "test_probs.csv", "config.yaml"} <= set(downloads)


def test_make_active_and_retrain_from_the_runs_page(project_with_runs, monkeypatch, tmp_path):
    at = _app(project_with_runs, monkeypatch, tmp_path, "runs")
    at.selectbox(key=state.RUN_PICK).set_value("20260101-000000-scan-aaaa").run()
    at.button[0].click().run()  # "Make it the active run"
    assert at.session_state[state.ACTIVE_RUN] == "20260101-000000-scan-aaaa"
    # An exported clean version exists: retrain must pick it up.
    labels_dir = project_with_runs.labels_dir
    pd.read_csv(project_with_runs.train_csv).iloc[:-3].to_csv(labels_dir / "train_v1.csv", index=False)
    retrain = next(b for b in at.button if b.label == "Retrain on the newest labels")
    retrain.click().run()
    assert not at.exception
    new_runs = [r for r in list_runs(project_with_runs) if r.run_id.endswith(tuple("0123456789abcdef"))]
    started = [r for r in new_runs if r.run_id not in ("20260101-000000-scan-aaaa", "20260102-000000-scan-bbbb")]
    assert len(started) == 1
    assert started[0].config().data.labels == "v1"
    assert any("labels v1" in s.value for s in at.success)
    from core.runs.jobs import cancel_job

    cancel_job(started[0].run_dir)


def test_train_page_starts_a_scan_with_the_form_values(project_with_runs, monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBENCH_SLOTS", "1")
    at = _app(project_with_runs, monkeypatch, tmp_path, "train")
    assert not at.exception
    at.number_input(key=state.form_key("data.folds")).set_value(3)
    at.number_input(key=state.form_key("scan.image_size")).set_value(48)
    submit = next(b for b in at.button if b.label == "Start scan run")
    submit.click().run()
    assert not at.exception
    watched = at.session_state[state.WATCHED_RUN]
    run = next(r for r in list_runs(project_with_runs) if r.run_id == watched)
    config = run.config()
    assert (config.kind, config.data.folds, config.scan.image_size) == ("scan", 3, 48)
    from core.runs.jobs import cancel_job

    cancel_job(run.run_dir)


def test_train_page_shows_a_failed_run_with_its_traceback(project_with_runs, monkeypatch, tmp_path):
    run_dir = create_run(project_with_runs, resolve_config(kind="train"), run_id="20991231-000000-train-cccc")
    RunWriter(run_dir).status(
        state="failed",
        message="RuntimeError: CUDA out of memory",
        traceback="Traceback (most recent call last):\n  ...\nRuntimeError: CUDA out of memory",
    )
    at = _app(project_with_runs, monkeypatch, tmp_path, "train")
    assert any("CUDA out of memory" in e.value for e in at.error)
    assert any("Traceback" in c.value for c in at.code)
    import shutil

    shutil.rmtree(run_dir)
