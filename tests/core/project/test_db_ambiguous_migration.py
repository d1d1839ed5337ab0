"""core.project.db migration 3: label_decisions rebuilt to allow 'ambiguous', ids and history kept."""

from __future__ import annotations

import sqlite3

import pytest

from core.labels.decisions import current_decisions, decision_history, record_decision, undo_decision
from core.project import db


def _v2_database(path) -> None:
    """A database as the previous workbench (schema 2) left it: decisions, an undone one, a version."""
    raw = sqlite3.connect(path, isolation_level=None)
    for version, script in enumerate(db.MIGRATIONS[:2], start=1):
        for statement in db._statements(script):
            raw.execute(statement)
        raw.execute(f"PRAGMA user_version = {version}")
    insert = (
        "INSERT INTO label_decisions (image_id, action, old_label, new_label, source, run_id, request_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)"
    )
    raw.execute(insert, ("a.png", "relabel", 1, 2, "cleanlab", "r1", "tab:1"))
    raw.execute(insert, ("b.png", "drop", 0, None, "manual", None, "tab:2"))
    raw.execute(insert, ("a.png", "keep", 2, 2, "manual", None, None))
    raw.execute("UPDATE label_decisions SET reverted_at = '2026-01-01T00:00:00.000Z' WHERE id = 3")  # undone
    raw.execute(insert, ("c.png", "keep", 1, 1, "manual", None, None))
    raw.execute(insert, ("d.png", "keep", 1, 1, "manual", None, None))
    raw.execute("DELETE FROM label_decisions WHERE id = 5")  # removed by hand: its id must not come back
    raw.execute(
        "INSERT INTO label_versions (version, path, rows, relabeled, dropped, changes_path, decisions_through) "
        "VALUES (1, 'labels/train_v1.csv', 11, 1, 1, 'labels/changes_v1.csv', 4)"
    )
    raw.close()


def _rows(connection: sqlite3.Connection) -> list[tuple]:
    return connection.execute(
        "SELECT id, image_id, action, old_label, new_label, source, run_id, created_at, request_id, reverted_at "
        "FROM label_decisions ORDER BY id"
    ).fetchall()


def test_a_v2_database_with_decisions_migrates_keeping_ids_and_history(tmp_path):
    path = tmp_path / "workbench.db"
    _v2_database(path)
    raw = sqlite3.connect(path)
    before = _rows(raw)
    raw.close()
    assert [r[0] for r in before] == [1, 2, 3, 4]

    connection = db.connect(path)
    try:
        assert db.schema_version(connection) == db.SCHEMA_VERSION >= 3  # migrated through 3 to the newest
        assert _rows(connection) == before  # same ids, created_at, request ids, reverted marks
        indexes = {
            name: sql
            for name, sql in connection.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'label_decisions'"
            )
        }
        assert set(indexes) >= {"label_decisions_image", "label_decisions_request", "label_decisions_current"}
        assert "WHERE request_id IS NOT NULL" in indexes["label_decisions_request"]
        assert "WHERE reverted_at IS NULL" in indexes["label_decisions_current"]
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "label_decisions_new" not in tables
        # The request index is still unique: the same request cannot be stored twice.
        with pytest.raises(sqlite3.IntegrityError):
            connection.execute(
                "INSERT INTO label_decisions (image_id, action, source, request_id) VALUES ('x.png', 'keep', 'm', 'tab:1')"
            )
        # The old version row gains the new counts, at 0.
        assert connection.execute("SELECT ambiguous, ambiguous_left_out FROM label_versions").fetchall() == [(0, 0)]
        # The old check still refuses unknown actions; 'ambiguous' is allowed now.
        with pytest.raises(sqlite3.IntegrityError):
            connection.execute("INSERT INTO label_decisions (image_id, action, source) VALUES ('x.png', 'maybe', 'm')")
    finally:
        connection.close()

    # The current decisions read as before: a.png's keep was undone, so its relabel stands.
    current = current_decisions(path).set_index("ID")
    assert current.loc["a.png", "action"] == "relabel" and current.loc["a.png", "decision_id"] == 1
    assert current.loc["b.png", "action"] == "drop" and sorted(current.index) == ["a.png", "b.png", "c.png"]

    # A new decision gets an id above every id ever used (5 was deleted by hand before the migration).
    new = record_decision(path, "e.png", "ambiguous", old_label=3)
    assert new.id == 6 and new.id > max(r[0] for r in before)
    # Undo of a decision from before the migration still works, by its old id.
    assert undo_decision(path, 1).image_id == "a.png"
    assert "a.png" not in set(current_decisions(path)["ID"])
    history = decision_history(path, image_id="a.png")
    assert list(history["id"]) == [3, 1] and history["reverted_at"].notna().all()


def test_a_fresh_database_allows_ambiguous_and_counts_ids_from_one(tmp_path):
    path = tmp_path / "workbench.db"
    first = record_decision(path, "a.png", "ambiguous", old_label=2)
    assert first.id == 1 and (first.action, first.old_label, first.new_label) == ("ambiguous", 2, 2)


def test_a_v2_database_without_decisions_migrates(tmp_path):
    path = tmp_path / "workbench.db"
    raw = sqlite3.connect(path, isolation_level=None)
    for version, script in enumerate(db.MIGRATIONS[:2], start=1):
        for statement in db._statements(script):
            raw.execute(statement)
        raw.execute(f"PRAGMA user_version = {version}")
    raw.close()
    connection = db.connect(path)
    try:
        assert db.schema_version(connection) == db.SCHEMA_VERSION >= 3
        assert connection.execute("SELECT COUNT(*) FROM label_decisions").fetchone()[0] == 0
    finally:
        connection.close()
    assert record_decision(path, "a.png", "ambiguous", old_label=0).id == 1
