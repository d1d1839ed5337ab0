"""AppTest of the router and the overview page."""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.project.demo import build_demo
from tests.support.apphelpers import APP, galleries
from workbench import state


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo") / "project"
    build_demo(root, per_class=12)
    return root


def _app(project, monkeypatch, tmp_path) -> AppTest:
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.session_state[state.PROJECT] = str(project)
    return at.run()


def test_overview_shows_counts_and_galleries(small_demo, monkeypatch, tmp_path):
    at = _app(small_demo, monkeypatch, tmp_path)
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    train_rows = len(pd.read_csv(small_demo / "train.csv"))
    test_rows = len(pd.read_csv(small_demo / "sample_submission.csv"))
    assert metrics["Train images"] == f"{train_rows:,}"
    assert metrics["Test images"] == f"{test_rows:,}"
    assert metrics["Classes"] == "10"
    assert metrics["Labelled test"] == f"{test_rows:,}"
    shown = galleries(at)
    assert len(shown["overview_train"]) == min(24, train_rows)
    assert shown["overview_train"][0]["src"].startswith("data:image/jpeg;base64,")
    assert {item["id"] for item in shown["overview_test"]} <= set(pd.read_csv(small_demo / "sample_submission.csv").ID)


def test_overview_class_filter_limits_both_galleries(small_demo, monkeypatch, tmp_path):
    at = _app(small_demo, monkeypatch, tmp_path)
    at.selectbox(key=state.OVERVIEW_CLASS).set_value(3).run()
    train = pd.read_csv(small_demo / "train.csv")
    truth = pd.read_csv(small_demo / "test_labels.csv")
    shown = galleries(at)
    assert {i["id"] for i in shown["overview_train"]} <= set(train.loc[train.target == 3, "ID"])
    assert {i["id"] for i in shown["overview_test"]} <= set(truth.loc[truth.target == 3, "ID"])
    assert all(i["caption"] == "3 · three" for i in shown["overview_train"])


def test_overview_lists_findings_of_a_damaged_project(tmp_path, monkeypatch):
    root = tmp_path / "damaged"
    build_demo(root, per_class=6)
    train = pd.read_csv(root / "train.csv")
    (root / "train" / train.ID[0]).write_bytes(b"not an image")
    extra = pd.DataFrame({"ID": ["../../escape.png", "ghost.jpg"], "target": [1, 2]})
    pd.concat([train, extra]).to_csv(root / "train.csv", index=False)
    at = _app(root, monkeypatch, tmp_path)
    assert not at.exception
    texts = " ".join(w.value for w in at.warning)
    assert train.ID[0] in texts and "corrupt" in texts
    assert "../../escape.png" in texts and "ghost.jpg" in texts
    assert {m.label: m.value for m in at.metric}["Train images"] == f"{len(train) - 1:,}"


def test_unusable_project_says_why_and_stops(tmp_path, monkeypatch):
    root = tmp_path / "empty"
    (root / "train").mkdir(parents=True)
    at = _app(root, monkeypatch, tmp_path)
    assert not at.exception
    assert any("train.csv" in e.value for e in at.error)
    assert not galleries(at)


def test_sidebar_opens_another_folder_and_reports_bad_paths(small_demo, tmp_path, monkeypatch):
    at = _app(small_demo, monkeypatch, tmp_path)
    at.sidebar.text_input(key=state.OPEN_FOLDER_INPUT).input(str(tmp_path / "nope"))
    at.sidebar.button[0].click().run()  # Open (Enter submits the same form)
    assert any("folder not found" in e.value for e in at.sidebar.error)
    assert at.session_state[state.PROJECT] == str(small_demo)
    other = tmp_path / "other"
    build_demo(other, per_class=5)
    at.sidebar.text_input(key=state.OPEN_FOLDER_INPUT).input(str(other))
    at.sidebar.button[0].click().run()
    assert at.session_state[state.PROJECT] == str(other.resolve())
    assert {m.label: m.value for m in at.metric}["Train images"] == f"{len(pd.read_csv(other / 'train.csv')):,}"
    from core.home import recent_projects

    assert recent_projects()[0] == str(other.resolve())


def test_without_hold_out_labels_test_is_shown_by_the_active_runs_predictions(tmp_path, monkeypatch):
    import numpy as np

    from core.config import resolve_config
    from core.project.layout import open_layout
    from core.runs.folder import RunWriter, create_run, write_test_outputs

    root = tmp_path / "no-holdout"
    build_demo(root, per_class=6)
    (root / "test_labels.csv").unlink()
    layout = open_layout(root)
    test_ids = pd.read_csv(root / "sample_submission.csv").ID
    predicted = np.arange(len(test_ids)) % 10
    run_dir = create_run(layout, resolve_config(kind="scan"))
    write_test_outputs(run_dir, test_ids, np.eye(10)[predicted])
    RunWriter(run_dir).status(state="succeeded", progress=1.0)

    at = _app(root, monkeypatch, tmp_path)
    assert {m.label: m.value for m in at.metric}["Labelled test"] == "none"
    at.selectbox(key=state.OVERVIEW_CLASS).set_value(3).run()
    shown = galleries(at)["overview_test"]
    expected = set(test_ids[predicted == 3])
    assert {i["id"] for i in shown} <= expected and len(shown) == min(24, len(expected))
    assert all(i["caption"] == "pred 3 · three" for i in shown)
    assert any(run_dir.name in c.value for c in at.caption)
