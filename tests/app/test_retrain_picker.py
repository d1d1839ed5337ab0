"""AppTest of the Issues page's retrain picker: only versions newer than the active run's labels, newest first."""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.labels.decisions import record_decision
from core.labels.versions import export_version
from core.project.demo import build_demo
from core.project.layout import open_layout
from core.runs.folder import RunWriter
from tests.support.apphelpers import APP, fixture_run
from workbench import state

RUN = "20260101-000000-scan-aaaa"


@pytest.fixture
def layout(tmp_path):
    root = tmp_path / "project"
    build_demo(root, per_class=8)
    layout = open_layout(root)
    layout.ensure_work_dir()
    fixture_run(layout, accuracy=0.8, seed=1, run_id=RUN)
    return layout


def _export(layout, number: int) -> None:
    """Export version `number` the way the Issues page does: one more image dropped, then export."""
    train = pd.read_csv(layout.train_csv)
    record_decision(layout.db_path, train.ID.iloc[number], "drop", old_label=int(train.target.iloc[number]))
    assert export_version(layout).version == number


def _export_view(layout, monkeypatch, tmp_path) -> AppTest:
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state[state.PROJECT] = str(layout.root)
    at.run()
    at.switch_page("../pages/issues.py").run()
    at.segmented_control(key=state.ISSUES_VIEW).set_value("Export & versions").run()
    assert not at.exception, at.exception
    return at


def _retrain_labels(at) -> list[str]:
    return [b.label for b in at.button if b.label.startswith("Retrain on v")]


def test_a_new_export_moves_the_picker_to_it(layout, monkeypatch, tmp_path):
    _export(layout, 1)
    at = _export_view(layout, monkeypatch, tmp_path)
    assert _retrain_labels(at) == ["Retrain on v1"]
    _export(layout, 2)  # exported meanwhile (this tab or a teammate's)
    at.run()
    assert _retrain_labels(at) == ["Retrain on v2"]  # not the older pick


def test_only_versions_newer_than_the_run_labels_are_offered(layout, monkeypatch, tmp_path):
    RunWriter(layout.runs_dir / RUN).status(labels="v1")
    _export(layout, 1)
    at = _export_view(layout, monkeypatch, tmp_path)
    assert _retrain_labels(at) == []
    assert any(f"nothing new: {RUN} already trained on v1; export cleaned labels first" in i.value for i in at.info)
    _export(layout, 2)
    at.run()
    picker = next(s for s in at.selectbox if s.label == "Version")
    assert picker.options == ["v2"] and _retrain_labels(at) == ["Retrain on v2"]
