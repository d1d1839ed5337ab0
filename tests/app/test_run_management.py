"""AppTest of the Runs page's run management, "nothing new" retrains, honest comparisons and the job panel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.config import resolve_config
from core.project.demo import build_demo
from core.project.layout import open_layout
from core.runs.catalog import list_runs
from core.runs.folder import RunWriter, create_run
from core.runs.manage import pinned_run, trashed_runs
from tests.support.apphelpers import APP, fixture_run
from workbench import state

OLD, NEW = "20260101-000000-scan-aaaa", "20260102-000000-scan-bbbb"


@pytest.fixture
def layout(tmp_path):
    root = tmp_path / "project"
    build_demo(root, per_class=8)
    layout = open_layout(root)
    layout.ensure_work_dir()
    fixture_run(layout, accuracy=0.5, seed=1, run_id=OLD)
    fixture_run(layout, accuracy=0.9, seed=2, run_id=NEW)
    return layout


def _runs_page(layout, monkeypatch, tmp_path) -> AppTest:
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state[state.PROJECT] = str(layout.root)
    at.run()
    return at.switch_page("../pages/runs.py").run()


def _button(at, label):
    return next(b for b in at.button if b.label == label)


def _table(at) -> pd.DataFrame:
    return at.dataframe[0].value


def test_retrain_with_no_newer_labels_starts_nothing_and_says_so(layout, monkeypatch, tmp_path):
    at = _runs_page(layout, monkeypatch, tmp_path)
    _button(at, "Retrain on the newest labels").click().run()
    assert not at.exception
    assert [r.run_id for r in list_runs(layout)] == [NEW, OLD]  # no duplicate run
    assert any(
        f"nothing new: {NEW} already trained on original; export cleaned labels first" in i.value for i in at.info
    )


def test_a_run_that_finishes_later_does_not_replace_the_active_run(layout, monkeypatch, tmp_path):
    at = _runs_page(layout, monkeypatch, tmp_path)
    assert list(_table(at)["active"]) == [True, False]
    fixture_run(layout, accuracy=0.7, seed=3, run_id="20260103-000000-scan-cccc")  # finishes meanwhile
    at.run()
    table = _table(at)
    assert list(table["run_id"]) == ["20260103-000000-scan-cccc", NEW, OLD]
    assert list(table["active"]) == [False, True, False]


def test_a_pinned_run_is_the_active_run_after_a_reload(layout, monkeypatch, tmp_path):
    at = _runs_page(layout, monkeypatch, tmp_path)
    at.selectbox(key=state.RUN_PICK).set_value(OLD).run()
    _button(at, "Pin as the active run").click().run()
    assert not at.exception and pinned_run(layout) == OLD
    fresh = _runs_page(layout, monkeypatch, tmp_path)  # a new session: the pin, not the newest run
    table = _table(fresh)
    assert list(table["active"]) == [False, True] and list(table["pinned"]) == [False, True]


def test_delete_asks_first_then_moves_the_run_to_the_trash_and_restore_brings_it_back(layout, monkeypatch, tmp_path):
    at = _runs_page(layout, monkeypatch, tmp_path)
    at.selectbox(key=state.RUN_PICK).set_value(OLD).run()
    _button(at, "Delete").click().run()
    assert (layout.runs_dir / OLD).is_dir()  # one click only asks
    assert any(f"Move {OLD} to the trash" in w.value for w in at.warning)
    _button(at, "Keep it").click().run()
    assert not any("to the trash" in w.value for w in at.warning)
    _button(at, "Delete").click().run()
    _button(at, "Yes, move it to the trash").click().run()
    assert not at.exception
    assert list(_table(at)["run_id"]) == [NEW] and trashed_runs(layout) == [OLD]
    assert any(f"Moved {OLD} to the trash" in s.value for s in at.success)
    at.selectbox(key=state.RUNS_RESTORE).set_value(OLD)
    _button(at, "Restore").click().run()
    assert list(_table(at)["run_id"]) == [NEW, OLD] and trashed_runs(layout) == []


def test_rename_shows_the_name_in_the_table_and_the_picker(layout, monkeypatch, tmp_path):
    config_before = (layout.runs_dir / NEW / "config.yaml").read_text()
    at = _runs_page(layout, monkeypatch, tmp_path)
    at.text_input[0].set_value("baseline on clean labels")
    _button(at, "Rename").click().run()
    assert not at.exception
    assert _table(at).set_index("run_id").loc[NEW, "name"] == "baseline on clean labels"
    assert "baseline on clean labels" in at.selectbox(key=state.RUN_PICK).format_func(NEW)
    assert (layout.runs_dir / NEW / "config.yaml").read_text() == config_before


def test_runs_on_different_labels_get_no_oof_delta(layout, monkeypatch, tmp_path):
    RunWriter(layout.runs_dir / NEW).status(labels="v1")  # B trained on cleaned labels
    at = _runs_page(layout, monkeypatch, tmp_path)
    metrics = [m for m in at.metric if m.label.endswith(": B")]  # the comparison's, not the run card's
    assert [m.label for m in metrics] == ["Test macro-F1: B", "OOF macro-F1: B"]  # the hold-out leads
    assert metrics[0].delta and "vs A" in metrics[0].delta
    assert not metrics[1].delta  # no green/red delta for OOF scores on different labels
    assert any("not comparable" in w.value for w in at.warning)


def test_the_job_card_shows_time_and_asks_before_cancelling(layout, monkeypatch, tmp_path):
    run_dir = create_run(layout, resolve_config(kind="train"), run_id="20991231-000000-train-dddd")
    started = (datetime.now(UTC) - timedelta(seconds=100)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    RunWriter(run_dir).status(
        state="running", started_at=started, progress=0.5, fold=1, folds=5, epoch=2, epochs=10, message="training",
        step=12, steps=40,
    )  # fmt: skip
    (run_dir / "log.txt").write_text("fold 0 done: {'val_f1': 0.5, 'val_acc': 0.75}\n" + "x" * 400 + "\n")
    at = _runs_page(layout, monkeypatch, tmp_path)
    at.selectbox(key=state.RUN_PICK).set_value(run_dir.name).run()
    bar = next(p for p in at.get("progress"))
    assert "50%" in bar.proto.text and "elapsed" in bar.proto.text and "left" in bar.proto.text
    assert any("fold 2/5 · epoch 3/10 · training (12/40)" in c.value for c in at.caption)
    log = next(c for c in at.code if "fold 1 done" in c.value)
    assert "val macro-F1 0.5 · val accuracy 0.75" in log.value and "{" not in log.value
    assert log.proto.wrap_lines
    _button(at, "Cancel").click().run()
    assert list_runs(layout)[0].state == "running"  # one click only asks
    assert any("Cancel 20991231-000000-train-dddd?" in w.value for w in at.warning)
    _button(at, "Keep running").click().run()
    assert not any("Cancel 20991231" in w.value for w in at.warning)
    assert list_runs(layout)[0].state == "running"
