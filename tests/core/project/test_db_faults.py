"""workbench.db that is garbage, corrupted, deleted, or on a full disk: typed errors, clean messages, a rebuild."""

from __future__ import annotations

import os
import sqlite3
import subprocess

import pandas as pd
import pytest

from core.io.atomic import SaveError
from core.labels.decisions import current_decisions, decision_counts, record_decision
from core.labels.versions import export_version, label_versions, versions_table
from core.project import db
from core.project.db import DatabaseError, open_store, take_notices
from core.project.layout import open_layout


class FullDisk:
    """A connection whose statements starting with one of `words` fail as SQLite does when the disk is full."""

    def __init__(self, real: sqlite3.Connection, words: tuple[str, ...]) -> None:
        self._real = real
        self._words = words

    def execute(self, sql: str, *args):
        if sql.lstrip().upper().startswith(self._words):
            raise sqlite3.OperationalError("database or disk is full")
        return self._real.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._real, name)


def fill_disk(monkeypatch, *words: str) -> None:
    """Every connection core.project.db opens from now on fails the statements starting with `words`."""
    real_connect = sqlite3.connect
    monkeypatch.setattr(db.sqlite3, "connect", lambda *a, **k: FullDisk(real_connect(*a, **k), words))


@pytest.fixture
def layout(tmp_path, make_project):
    return open_layout(make_project(tmp_path, per_class=4))


# ------------------------------------------------------------------------------------------ garbage


def test_a_file_that_is_not_a_database_is_a_typed_error_naming_it(tmp_path):
    path = tmp_path / ".workbench" / "workbench.db"
    path.parent.mkdir()
    path.write_bytes(b"this is not a database\n" * 200)
    with pytest.raises(DatabaseError) as caught:
        with open_store(path):
            pass
    message = str(caught.value)
    assert str(path) in message and "not a SQLite database" in message
    assert "workbench check" in message  # says what to do
    assert path.read_bytes() == b"this is not a database\n" * 200  # never overwritten


def test_a_corrupted_database_fails_the_quick_check(tmp_path):
    path = tmp_path / "workbench.db"
    for n in range(300):
        record_decision(path, f"img_{n:04d}_{'x' * 100}.png", "drop", old_label=0)
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with open(path, "r+b") as handle:
        handle.seek(4096 * 3)
        handle.write(os.urandom(4096 * 3))
    with pytest.raises(DatabaseError, match="damaged"):
        current_decisions(path)


def test_open_store_without_create_never_makes_a_database(tmp_path):
    path = tmp_path / "not-a-project" / ".workbench" / "workbench.db"
    with pytest.raises(FileNotFoundError):
        with open_store(path, create=False):
            pass
    assert not (tmp_path / "not-a-project").exists()


# ------------------------------------------------------------------------------------------ full disk


@pytest.mark.parametrize("failing", ["INSERT", "COMMIT"])
def test_a_full_disk_at_insert_or_commit_is_a_save_error_and_nothing_is_stored(tmp_path, monkeypatch, failing):
    path = tmp_path / "workbench.db"
    record_decision(path, "a.png", "keep", old_label=0)
    fill_disk(monkeypatch, failing)
    with pytest.raises(SaveError) as caught:
        record_decision(path, "b.png", "drop", old_label=1)
    assert str(caught.value) == f"could not save {path}: no space left on device"
    monkeypatch.undo()
    assert list(current_decisions(path)["ID"]) == ["a.png"]


def test_reading_works_when_the_disk_is_full(tmp_path, monkeypatch):
    path = tmp_path / "workbench.db"
    record_decision(path, "a.png", "relabel", old_label=0, new_label=1)
    fill_disk(monkeypatch, "INSERT", "UPDATE", "DELETE", "COMMIT", "BEGIN")
    assert decision_counts(path)["relabel"] == 1


# ------------------------------------------------------------------------------------------ deleted


def _two_versions(layout) -> None:
    record_decision(layout.db_path, "cat_0.png", "relabel", old_label=0, new_label=2, source="cleanlab")
    record_decision(layout.db_path, "dog_0.png", "drop", old_label=1)
    export_version(layout)
    record_decision(layout.db_path, "bird_0.png", "ambiguous", old_label=2)
    export_version(layout, leave_out_ambiguous=True)


def test_a_deleted_database_is_rebuilt_from_the_exports_and_says_so(layout):
    _two_versions(layout)
    before = versions_table(layout).drop(columns=["created_at"])
    for path in layout.work_dir.glob("workbench.db*"):
        path.unlink()
    take_notices(layout.db_path)

    current = current_decisions(layout.db_path).set_index("ID")  # the first open rebuilds
    assert current.loc["cat_0.png", ["action", "new_label", "source"]].tolist() == ["relabel", 2, "cleanlab"]
    assert current.loc["dog_0.png", "action"] == "drop"
    assert current.loc["bird_0.png", "action"] == "ambiguous"
    [notice] = take_notices(layout.db_path)
    assert "rebuilt" in notice and "2 label version(s)" in notice and "3 decision(s)" in notice
    assert "changes_v2.csv" in notice
    pd.testing.assert_frame_equal(versions_table(layout).drop(columns=["created_at"]), before)
    assert [n for n, _ in label_versions(layout.labels_dir)] == [1, 2]

    # The next export keeps the earlier cleaning (it used to start from an empty store).
    record_decision(layout.db_path, "cat_1.png", "relabel", old_label=0, new_label=1)
    third = export_version(layout, leave_out_ambiguous=True)
    assert third.version == 3 and (third.relabeled, third.dropped, third.ambiguous_left_out) == (2, 1, 1)


def test_a_rebuilt_database_counts_an_unchanged_export_as_nothing_new(layout):
    _two_versions(layout)
    for path in layout.work_dir.glob("workbench.db*"):
        path.unlink()
    again = export_version(layout, leave_out_ambiguous=True)
    assert again.nothing_new and again.version == 2
    assert sorted(p.name for p in layout.labels_dir.glob("train_v*.csv")) == ["train_v1.csv", "train_v2.csv"]


# ------------------------------------------------------------------------------------------ check


def test_check_says_a_garbage_database_makes_the_project_unusable(layout, run_cli):
    layout.ensure_work_dir()
    for path in layout.work_dir.glob("workbench.db*"):
        path.unlink()
    layout.db_path.write_text("garbage")
    code, out, err = run_cli(["check", "--project", str(layout.root)])
    assert code == 1
    assert "workbench.db" in out + err and "not a SQLite database" in out + err
    assert "Traceback" not in out + err


def test_check_rebuilds_a_deleted_database_and_says_so(layout, run_cli):
    _two_versions(layout)
    for path in layout.work_dir.glob("workbench.db*"):
        path.unlink()
    code, out, err = run_cli(["check", "--project", str(layout.root)])
    assert code == 0
    assert "rebuilt" in out + err and "2 label version(s)" in out + err
    assert current_decisions(layout.db_path)["ID"].tolist() == ["cat_0.png", "dog_0.png", "bird_0.png"]


def test_check_of_a_healthy_project_mentions_no_database_problem(layout, run_cli):
    record_decision(layout.db_path, "cat_0.png", "drop", old_label=0)
    code, out, err = run_cli(["check", "--project", str(layout.root)])
    assert code == 0 and "workbench.db" not in out + err


# ------------------------------------------------------------------------------------------ a real full disk


@pytest.fixture
def full_work_dir(layout):
    """The project's .workbench/ on a 256 KiB tmpfs with one decision stored, then filled (needs root)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    layout.work_dir.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(layout.work_dir)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        layout.ensure_work_dir()
        record_decision(layout.db_path, "cat_0.png", "relabel", old_label=0, new_label=1)
        with pytest.raises(OSError):
            (layout.work_dir / "filler").write_bytes(b"x" * 1_000_000)
        yield layout
    finally:
        subprocess.run(["umount", "-l", str(layout.work_dir)], check=False)


def test_on_a_really_full_disk_reading_works_and_a_decision_is_one_clean_line(full_work_dir, run_cli):
    layout = full_work_dir
    assert current_decisions(layout.db_path)["ID"].tolist() == ["cat_0.png"]  # reading never needs to write
    code, out, err = run_cli(["relabel", "--project", str(layout.root), "--drop", "dog_0.png"])
    assert code == 1 and "saved" not in out
    assert err.strip() == f"error: could not save {layout.db_path}: no space left on device"
    assert current_decisions(layout.db_path)["ID"].tolist() == ["cat_0.png"]
