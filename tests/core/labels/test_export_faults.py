"""Exports are all-or-nothing, "nothing new" writes nothing, and a full disk is one clean message (core and CLI)."""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess

import pytest

from core.io.atomic import SaveError
from core.labels import versions
from core.labels.decisions import current_decisions, record_decision
from core.labels.versions import export_version, label_versions, versions_table
from core.project import db
from core.project.layout import open_layout


@pytest.fixture
def layout(tmp_path, make_project):
    layout = open_layout(make_project(tmp_path, per_class=4))
    layout.ensure_work_dir()
    return layout


def _rows(layout) -> list[int]:
    with sqlite3.connect(layout.db_path) as raw:
        return [n for (n,) in raw.execute("SELECT version FROM label_versions ORDER BY version")]


def _files(layout) -> list[str]:
    return sorted(p.name for p in layout.labels_dir.iterdir())  # temp files (.train_v1.csv.*.tmp) included


def _fail_writing(monkeypatch, name: str) -> None:
    """The CSV writer of core.labels.versions runs out of space on the file called `name`."""
    real = versions.write_csv_atomic

    def write(frame, path):
        if path.name == name:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(frame, path)

    monkeypatch.setattr(versions, "write_csv_atomic", write)


class _FullAt:
    def __init__(self, real, word):
        self._real, self._word = real, word

    def execute(self, sql, *args):
        if sql.lstrip().upper().startswith(self._word):
            raise sqlite3.OperationalError("database or disk is full")
        return self._real.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._real, name)


def _fail_sqlite(monkeypatch, word: str) -> None:
    real_connect = sqlite3.connect
    monkeypatch.setattr(db.sqlite3, "connect", lambda *a, **k: _FullAt(real_connect(*a, **k), word))


# ------------------------------------------------------------------------------------------ all or nothing


@pytest.mark.parametrize("failing", ["changes_v2.csv", "train_v2.csv"])
def test_a_failed_file_write_leaves_no_new_file_and_no_row(layout, monkeypatch, failing):
    record_decision(layout.db_path, "cat_0.png", "drop", old_label=0)
    export_version(layout)
    before = _files(layout)
    record_decision(layout.db_path, "cat_1.png", "drop", old_label=0)
    _fail_writing(monkeypatch, failing)
    with pytest.raises(SaveError) as caught:
        export_version(layout)
    assert str(caught.value) == f"could not save {layout.labels_dir / failing}: no space left on device"
    assert _files(layout) == before and _rows(layout) == [1]
    assert [n for n, _ in label_versions(layout.labels_dir)] == [1]


@pytest.mark.parametrize("failing", ["INSERT", "COMMIT"])
def test_a_full_database_leaves_no_new_file_and_no_row(layout, monkeypatch, failing):
    record_decision(layout.db_path, "cat_0.png", "drop", old_label=0)
    _fail_sqlite(monkeypatch, failing)
    with pytest.raises(SaveError, match="workbench.db: no space left on device"):
        export_version(layout)
    monkeypatch.undo()
    assert _files(layout) == [] and _rows(layout) == []


def test_a_file_without_a_row_is_never_the_newest_version(layout):
    record_decision(layout.db_path, "cat_0.png", "drop", old_label=0)
    first = export_version(layout)
    (layout.labels_dir / "train_v2.csv").write_text("ID,target\ncat_1.png,0\n")  # a crash left it, no row
    assert [n for n, _ in label_versions(layout.labels_dir)] == [1]
    assert versions_table(layout)["version"].tolist() == [1]
    assert export_version(layout).version == first.version  # nothing new since v1


# ------------------------------------------------------------------------------------------ nothing new


def test_a_second_export_without_new_decisions_writes_nothing(layout):
    record_decision(layout.db_path, "cat_0.png", "relabel", old_label=0, new_label=1)
    first = export_version(layout)
    assert not first.nothing_new
    files = _files(layout)
    again = export_version(layout)
    assert again.nothing_new and again.version == 1 and again.path == first.path
    assert (again.rows, again.relabeled, again.dropped) == (first.rows, first.relabeled, first.dropped)
    assert _files(layout) == files and _rows(layout) == [1]


def test_decisions_that_change_nothing_are_nothing_new_but_a_real_change_is_exported(layout):
    record_decision(layout.db_path, "cat_0.png", "drop", old_label=0)
    export_version(layout)
    record_decision(layout.db_path, "dog_0.png", "keep", old_label=1)  # its label was already right
    record_decision(layout.db_path, "bird_0.png", "ambiguous", old_label=2)  # kept with its label
    assert export_version(layout).nothing_new
    left_out = export_version(layout, leave_out_ambiguous=True)  # leaving it out does change the CSV
    assert not left_out.nothing_new and left_out.version == 2
    record_decision(layout.db_path, "cat_0.png", "keep", old_label=0)  # brought back
    assert export_version(layout, leave_out_ambiguous=True).version == 3


def test_the_first_export_without_any_decision_still_writes_v1(layout):
    result = export_version(layout)
    assert result.version == 1 and not result.nothing_new and result.path.is_file()


# ------------------------------------------------------------------------------------------ CLI


def test_cli_export_twice_says_nothing_new_and_prints_the_existing_path(layout, run_cli):
    root = str(layout.root)
    assert run_cli(["relabel", "--project", root, "--drop", "cat_0.png"])[0] == 0
    code, out, _ = run_cli(["export", "--project", root])
    assert code == 0
    code, out, err = run_cli(["export", "--project", root])
    assert code == 0 and "nothing new since v1" in err
    assert out.strip().splitlines()[-1] == str(layout.labels_dir / "train_v1.csv")
    assert _rows(layout) == [1]


@pytest.mark.parametrize("action", [["cat_0.png", "1"], ["--keep", "cat_0.png"], ["--drop", "cat_0.png"]])
def test_cli_relabel_on_a_full_disk_is_one_clean_line(layout, run_cli, monkeypatch, action):
    _fail_sqlite(monkeypatch, "INSERT")
    code, out, err = run_cli(["relabel", "--project", str(layout.root), *action])
    assert code == 1
    assert err.strip() == f"error: could not save {layout.db_path}: no space left on device"
    assert "saved" not in out and "Traceback" not in err
    monkeypatch.undo()
    assert current_decisions(layout.db_path).empty


def test_cli_export_on_a_full_disk_is_one_clean_line(layout, run_cli, monkeypatch):
    record_decision(layout.db_path, "cat_0.png", "drop", old_label=0)
    _fail_writing(monkeypatch, "train_v1.csv")
    code, out, err = run_cli(["export", "--project", str(layout.root)])
    assert code == 1 and out == ""
    assert err.strip() == f"error: could not save {layout.labels_dir / 'train_v1.csv'}: no space left on device"
    assert _files(layout) == [] and _rows(layout) == []


def test_cli_export_on_a_really_full_disk(layout, run_cli):
    """labels/ on a tmpfs that is full: the real ENOSPC (needs root to mount)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    record_decision(layout.db_path, "cat_0.png", "drop", old_label=0)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", str(layout.labels_dir)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        try:
            (layout.labels_dir / "filler").write_bytes(b"x" * 8192)
        except OSError:
            pass  # the disk is now full
        code, out, err = run_cli(["export", "--project", str(layout.root)])
        assert code == 1 and out == ""
        assert err.startswith("error: could not save ") and err.strip().endswith(": no space left on device")
        assert sorted(p.name for p in layout.labels_dir.iterdir()) == ["filler"]
        assert _rows(layout) == []
    finally:
        subprocess.run(["umount", "-l", str(layout.labels_dir)], check=False)
