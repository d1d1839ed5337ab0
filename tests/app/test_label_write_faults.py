"""The Issues page when a save fails (disk full), when workbench.db is garbage, and when an export has nothing new."""

from __future__ import annotations

import errno
import os
import sqlite3

from core.labels import versions
from core.labels.decisions import current_decisions
from core.project import db
from tests.app.test_issues import _app, fresh, issues_project  # noqa: F401 - fixtures
from workbench import state


def _export(at):
    at.segmented_control(key=state.ISSUES_VIEW).set_value("Export & versions").run()
    next(b for b in at.button if b.label == "Export the next version").click().run()


def test_an_export_on_a_full_disk_is_an_error_naming_the_file_and_writes_nothing(fresh, monkeypatch, tmp_path):  # noqa: F811
    layout, _ = fresh
    at = _app(layout, monkeypatch, tmp_path)
    at.button(key=state.issues_button_key("drop")).click().run()

    def full(frame, path):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(versions, "write_csv_atomic", full)
    _export(at)
    assert not at.exception
    assert [e.value for e in at.error] == [
        f"could not save {layout.labels_dir / 'changes_v1.csv'}: no space left on device"
    ]
    assert not any("Exported" in s.value for s in at.success)
    assert list(layout.labels_dir.iterdir()) == []


def test_a_second_export_with_nothing_new_says_so(fresh, monkeypatch, tmp_path):  # noqa: F811
    layout, _ = fresh
    at = _app(layout, monkeypatch, tmp_path)
    at.button(key=state.issues_button_key("drop")).click().run()
    _export(at)
    assert (layout.labels_dir / "train_v1.csv").is_file()
    next(b for b in at.button if b.label == "Export the next version").click().run()
    assert not at.exception
    assert any("Nothing new since v1" in i.value for i in at.info)
    assert sorted(p.name for p in layout.labels_dir.iterdir()) == ["changes_v1.csv", "train_v1.csv"]


class _FullDisk:
    def __init__(self, real):
        self._real = real

    def execute(self, sql, *args):
        if sql.lstrip().upper().startswith("INSERT"):
            raise sqlite3.OperationalError("database or disk is full")
        return self._real.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._real, name)


def test_a_decision_on_a_full_disk_is_an_error_not_a_traceback(fresh, monkeypatch, tmp_path):  # noqa: F811
    layout, _ = fresh
    at = _app(layout, monkeypatch, tmp_path)
    real_connect = sqlite3.connect
    monkeypatch.setattr(db.sqlite3, "connect", lambda *a, **k: _FullDisk(real_connect(*a, **k)))
    at.button(key=state.issues_button_key("accept")).click().run()
    assert not at.exception
    assert f"could not save {layout.db_path}: no space left on device" in [e.value for e in at.error]
    monkeypatch.undo()
    assert current_decisions(layout.db_path).empty


def test_a_garbage_database_is_shown_as_an_error_with_what_to_do(fresh, monkeypatch, tmp_path):  # noqa: F811
    layout, _ = fresh
    layout.db_path.write_bytes(b"not a database at all\n" * 100)
    at = _app(layout, monkeypatch, tmp_path)
    assert not at.exception
    [error] = [e.value for e in at.error]
    assert str(layout.db_path) in error and "not a SQLite database" in error and "workbench check" in error
