"""core.db (the SQLite store and its migrations) and core.settings (per-user: recent projects, the demo)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

import core.demo
from core import db, settings

# --- db ----------------------------------------------------------------------------------------


def _tables(connection: sqlite3.Connection) -> list[str]:
    rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    return sorted(name for (name,) in rows)


def test_connect_creates_a_wal_database_at_the_current_schema(tmp_path):
    path = tmp_path / ".workbench" / "workbench.db"
    connection = db.connect(path)
    try:
        assert path.is_file()
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("PRAGMA user_version").fetchone()[0] == db.SCHEMA_VERSION >= 1
        assert db.schema_version(connection) == db.SCHEMA_VERSION
        assert _tables(connection) == ["jobs", "label_decisions", "label_versions"]
    finally:
        connection.close()


def test_connect_again_keeps_data_and_migrates_nothing(tmp_path):
    path = tmp_path / "workbench.db"
    first = db.connect(path)
    first.execute(
        "INSERT INTO label_decisions (image_id, action, old_label, new_label, source) VALUES (?, ?, ?, ?, ?)",
        ("a.png", "relabel", 1, 2, "issues page"),
    )
    first.close()
    again = db.connect(path)
    try:
        assert db.migrate(again) == db.SCHEMA_VERSION
        assert again.execute("SELECT image_id, action, new_label FROM label_decisions").fetchall() == [
            ("a.png", "relabel", 2)
        ]
        assert _tables(again) == ["jobs", "label_decisions", "label_versions"]
    finally:
        again.close()


def test_the_schema_refuses_an_unknown_action(tmp_path):
    connection = db.connect(tmp_path / "workbench.db")
    try:
        with pytest.raises(sqlite3.IntegrityError):
            connection.execute(
                "INSERT INTO label_decisions (image_id, action, source) VALUES ('a.png', 'delete', 'test')"
            )
    finally:
        connection.close()


def test_two_connections_opened_together_both_migrate_safely(tmp_path):
    path = tmp_path / "workbench.db"
    barrier = threading.Barrier(4)
    versions: list[int] = []
    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            barrier.wait()
            connection = db.connect(path)
            versions.append(db.schema_version(connection))
            connection.close()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert versions == [db.SCHEMA_VERSION] * 4
    check = db.connect(path)
    try:
        assert _tables(check) == ["jobs", "label_decisions", "label_versions"]
    finally:
        check.close()


def test_a_second_connection_sees_the_first_ones_writes(tmp_path):
    path = tmp_path / "workbench.db"
    writer, reader = db.connect(path), db.connect(path)
    try:
        writer.execute("INSERT INTO jobs (run_id, kind, state) VALUES ('run-1', 'scan', 'running')")
        assert reader.execute("SELECT run_id, state FROM jobs").fetchall() == [("run-1", "running")]
    finally:
        writer.close()
        reader.close()


def test_a_database_from_a_newer_workbench_is_refused(tmp_path):
    path = tmp_path / "workbench.db"
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version = {db.SCHEMA_VERSION + 1}")
    raw.close()
    with pytest.raises(RuntimeError, match=f"schema version {db.SCHEMA_VERSION + 1}, newer than this workbench"):
        db.connect(path)


# --- settings ----------------------------------------------------------------------------------


def test_home_comes_from_workbench_home(workbench_home):
    assert settings.workbench_home() == workbench_home
    assert settings.demo_project_dir() == workbench_home / "demo"


def test_home_falls_back_to_xdg_data_home(tmp_path, monkeypatch):
    monkeypatch.delenv("WORKBENCH_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert settings.workbench_home() == tmp_path / "xdg" / "workbench"


def test_recent_projects_newest_first_and_deduplicated(tmp_path):
    a, b, c = (tmp_path / name for name in ("a", "b", "c"))
    for folder in (a, b, c):
        folder.mkdir()
    assert settings.recent_projects() == []
    settings.remember_project(a)
    settings.remember_project(b)
    settings.remember_project(c)
    assert settings.remember_project(a) == [str(a), str(c), str(b)]
    assert settings.recent_projects() == [str(a), str(c), str(b)]


def test_recent_projects_are_stored_resolved(tmp_path, monkeypatch):
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(tmp_path)
    settings.remember_project("project")
    settings.remember_project(tmp_path / "project" / ".." / "project")
    assert settings.recent_projects() == [str(project.resolve())]


def test_vanished_folders_are_dropped(tmp_path):
    keep, gone = tmp_path / "keep", tmp_path / "gone"
    keep.mkdir()
    gone.mkdir()
    settings.remember_project(keep)
    settings.remember_project(gone)
    shutil.rmtree(gone)
    assert settings.recent_projects() == [str(keep)]
    assert settings.remember_project(keep) == [str(keep)]


def test_the_list_keeps_the_newest_ten(tmp_path):
    folders = [tmp_path / f"p{n:02d}" for n in range(12)]
    for folder in folders:
        folder.mkdir()
        settings.remember_project(folder)
    assert settings.recent_projects() == [str(f) for f in reversed(folders)][: settings.MAX_RECENT]


def test_a_damaged_recent_file_is_ignored_and_replaced(tmp_path, workbench_home):
    (workbench_home / "recent.json").write_text("{not json")
    assert settings.recent_projects() == []
    (workbench_home / "recent.json").write_text(json.dumps({"a": 1}))
    assert settings.recent_projects() == []
    project = tmp_path / "p"
    project.mkdir()
    assert settings.remember_project(project) == [str(project)]
    assert json.loads((workbench_home / "recent.json").read_text()) == [str(project)]
    assert [p.name for p in workbench_home.iterdir()] == ["recent.json"]  # no temp file left behind


def _fake_build_demo(calls: list[Path]):
    def build(out, **kwargs):
        out = Path(out)
        calls.append(out)
        (out / "train").mkdir(parents=True)
        (out / "train.csv").write_text("ID,target\n")

    return build


def test_the_demo_is_built_once_in_the_home(monkeypatch, workbench_home):
    calls: list[Path] = []
    monkeypatch.setattr(core.demo, "build_demo", _fake_build_demo(calls))
    root = settings.ensure_demo_project()
    assert root == workbench_home / "demo"
    assert (root / "train.csv").is_file()
    assert settings.ensure_demo_project() == root
    assert len(calls) == 1
    assert not (workbench_home / "demo.building").exists()


def test_a_half_built_demo_is_started_over(monkeypatch, workbench_home):
    calls: list[Path] = []
    monkeypatch.setattr(core.demo, "build_demo", _fake_build_demo(calls))
    (workbench_home / "demo" / "train").mkdir(parents=True)  # interrupted: images but no train.csv
    (workbench_home / "demo" / "train" / "x.jpg").write_bytes(b"partial")
    (workbench_home / "demo.building").mkdir()  # and a stale staging folder
    root = settings.ensure_demo_project()
    assert (root / "train.csv").is_file()
    assert not (root / "train" / "x.jpg").exists()
    assert len(calls) == 1


def test_opening_a_project_creates_the_store_at_the_current_schema(make_project, tmp_path):
    import sqlite3

    from core.dataset import load_dataset

    root = make_project(tmp_path)
    load_dataset(root)
    path = root / ".workbench" / "workbench.db"
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA user_version").fetchone()[0] == db.SCHEMA_VERSION
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    connection.close()
