"""core.project.db: the SQLite store and its migrations."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from core.project import db

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
        assert _tables(connection) == [
            "jobs",
            "label_decisions",
            "label_versions",
            "submissions",
        ]  # jobs: unused, see core.project.db
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
        assert _tables(again) == ["jobs", "label_decisions", "label_versions", "submissions"]
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


@pytest.mark.parametrize("round_", range(40))
def test_two_connections_opened_together_both_migrate_safely(tmp_path, round_):
    # Forty fresh stores: the race for the switch to WAL went wrong about one time in ten (SQLite
    # answers the loser SQLITE_BUSY without waiting), so one round alone would rarely show it.
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
        assert _tables(check) == ["jobs", "label_decisions", "label_versions", "submissions"]
        assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        check.close()


def test_a_second_connection_sees_the_first_ones_writes(tmp_path):
    path = tmp_path / "workbench.db"
    writer, reader = db.connect(path), db.connect(path)
    try:
        writer.execute("INSERT INTO label_decisions (image_id, action, source) VALUES ('a.png', 'drop', 'test')")
        assert reader.execute("SELECT image_id, action FROM label_decisions").fetchall() == [("a.png", "drop")]
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


def test_opening_a_project_creates_the_store_at_the_current_schema(make_project, tmp_path):
    import sqlite3

    from core.project.dataset import load_dataset

    root = make_project(tmp_path)
    load_dataset(root)
    path = root / ".workbench" / "workbench.db"
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA user_version").fetchone()[0] == db.SCHEMA_VERSION
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    connection.close()
