"""Backup and restore of a team's work: what is copied, incremental copies, checksums, safe restores."""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from core.labels.decisions import current_decisions, record_decision
from core.labels.versions import export_version, versions_table
from core.project.backup import backup_project
from core.project.backup_manifest import BackupError
from core.project.backup_status import backup_target, backup_warning, last_backup, work_since
from core.project.dataset import load_dataset
from core.project.layout import open_layout
from core.project.restore import restore_project
from core.runs.catalog import list_runs
from tests.support.builders import probs_run


def _with_work(layout) -> None:
    """Two succeeded runs (one with a cache folder inside), decisions, an exported version, caches."""
    rng = np.random.default_rng(0)
    for run_id in ("20260101-000000-scan-aaaa", "20260102-000000-scan-bbbb"):
        probs_run(layout, run_id, [0, 1, 2, 0], rng.dirichlet(np.ones(3), size=4))
    (layout.runs_dir / "20260101-000000-scan-aaaa" / "cache").mkdir()
    (layout.runs_dir / "20260101-000000-scan-aaaa" / "cache" / "features.npy").write_bytes(b"x" * 100)
    (layout.cache_dir / "thumbs.bin").write_bytes(b"thumb")
    (layout.runs_dir / ".oof.csv.abc.tmp").write_text("half a file", encoding="utf-8")
    record_decision(layout.db_path, "cat_0.png", "relabel", old_label=0, new_label=1)
    record_decision(layout.db_path, "dog_1.png", "drop", old_label=1)
    export_version(layout)


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def _paths(folder: Path) -> set[str]:
    return {entry["path"] for entry in _manifest(folder)["files"]}


def _object(folder: Path, path: str) -> Path:
    entry = next(e for e in _manifest(folder)["files"] if e["path"] == path)
    return folder / "objects" / entry["sha256"][:2] / entry["sha256"]


def test_a_backup_copies_the_work_but_not_caches_images_or_temp_files(layout, tmp_path):
    _with_work(layout)
    summary = backup_project(layout.root, tmp_path / "backups")
    assert summary.folder == tmp_path / "backups" / "project"
    paths = _paths(summary.folder)
    run = ".workbench/runs/20260101-000000-scan-aaaa"
    assert {".workbench/workbench.db", f"{run}/oof.csv", f"{run}/status.json", f"{run}/config.yaml"} <= paths
    assert {".workbench/labels/train_v1.csv", ".workbench/labels/changes_v1.csv"} <= paths
    assert {"train.csv", "sample_submission.csv", "meta.csv"} <= paths
    assert not [p for p in paths if "/cache/" in p or p.endswith(".tmp") or p.startswith(("train/", "test/"))]
    manifest = _manifest(summary.folder)
    distinct = {entry["sha256"] for entry in manifest["files"]}  # two runs' identical config.yaml: one object
    assert summary.files == len(paths) and summary.copied == len(distinct) < len(paths)
    assert summary.unchanged == len(paths) - len(distinct)
    assert manifest["schema_version"] >= 4 and manifest["created_at"] and manifest["with_images"] is False
    record = last_backup(layout)
    assert record is not None and record["folder"] == str(summary.folder)


def test_with_images_the_image_folders_are_copied_too(layout, tmp_path):
    summary = backup_project(layout.root, tmp_path / "backups", with_images=True)
    assert {"train/cat_0.png", "test/test_0.png"} <= _paths(summary.folder)


def test_the_second_backup_copies_only_what_changed(layout, tmp_path, monkeypatch):
    import core.project.backup as backup_module

    _with_work(layout)
    first = backup_project(layout.root, tmp_path / "backups")
    read = []
    store = backup_module._store
    monkeypatch.setattr(
        backup_module, "_store", lambda folder, source: read.append(source.name) or store(folder, source)
    )
    again = backup_project(layout.root, tmp_path / "backups")
    assert again.copied == 0 and again.unchanged == again.files == first.files
    assert read == [read[0]] and read[0].startswith("db-")  # only the database snapshot is read again
    time.sleep(0.01)
    record_decision(layout.db_path, "bird_2.png", "keep", old_label=2)
    (layout.labels_dir / "notes.txt").write_text("new", encoding="utf-8")
    third = backup_project(layout.root, tmp_path / "backups")
    assert third.copied == 2 and third.files == first.files + 1  # the database and the new file


def test_a_backup_taken_while_decisions_are_written_is_a_consistent_database(layout, tmp_path):
    # The app keeps a connection open: decisions then stay in the WAL (not checkpointed into
    # workbench.db), which a plain file copy would miss; SQLite's backup API includes them.
    app = sqlite3.connect(layout.db_path)
    app.execute("SELECT COUNT(*) FROM label_decisions").fetchone()
    _with_work(layout)
    stop = threading.Event()
    written = []

    def write() -> None:
        n = 0
        while not stop.is_set():
            record_decision(layout.db_path, f"img_{n}.png", "keep", old_label=0)
            written.append(n)
            n += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while len(written) < 5:
            time.sleep(0.01)
        committed = len(written)
        summary = backup_project(layout.root, tmp_path / "backups")
    finally:
        stop.set()
        writer.join()
        app.close()
    copy = sqlite3.connect(_object(summary.folder, ".workbench/workbench.db"))
    try:
        assert copy.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        count = copy.execute("SELECT COUNT(*) FROM label_decisions").fetchone()[0]
    finally:
        copy.close()
    assert 2 + committed <= count <= 2 + len(written)  # every decision committed before it began, none half


def test_restore_into_an_empty_folder_brings_back_every_run_decision_and_version(layout, tmp_path):
    _with_work(layout)
    backup_project(layout.root, tmp_path / "backups")
    target = tmp_path / "restored" / "project"
    summary = restore_project(tmp_path / "backups", target)
    assert summary.files > 0
    # the images come back from their own copy (or with --with-images)
    shutil.copytree(layout.train_dir, target / "train")
    shutil.copytree(layout.test_dir, target / "test")
    restored = open_layout(target)
    assert [r.run_id for r in list_runs(restored)] == [r.run_id for r in list_runs(layout)]
    assert all(r.state == "succeeded" for r in list_runs(restored))
    before, after = current_decisions(layout.db_path), current_decisions(restored.db_path)
    assert len(before) == 2 and after.astype(str).values.tolist() == before.astype(str).values.tolist()
    assert versions_table(restored)["version"].tolist() == [1]
    assert load_dataset(target).report.usable
    assert not (target / ".workbench" / "cache" / "thumbs.bin").exists()
    # its last backup is the one it came from: the sidebar neither says "never" nor warns
    assert last_backup(restored)["folder"] == str((tmp_path / "backups" / "project").resolve())
    assert backup_warning(restored) is None


def test_restore_with_images_gives_a_usable_project(layout, tmp_path):
    backup_project(layout.root, tmp_path / "backups", with_images=True)
    target = tmp_path / "restored"
    restore_project(tmp_path / "backups" / "project", target)
    assert (target / "train" / "cat_0.png").read_bytes() == (layout.train_dir / "cat_0.png").read_bytes()
    assert load_dataset(target).report.usable


def test_a_corrupted_backup_file_is_named_and_nothing_is_written(layout, tmp_path):
    _with_work(layout)
    summary = backup_project(layout.root, tmp_path / "backups")
    damaged = _object(summary.folder, ".workbench/labels/train_v1.csv")
    data = bytearray(damaged.read_bytes())
    data[3] ^= 0x01
    damaged.write_bytes(bytes(data))
    target = tmp_path / "restored"
    with pytest.raises(BackupError, match=r"\.workbench/labels/train_v1\.csv: corrupted"):
        restore_project(summary.folder, target)
    assert not target.exists()


def test_manifest_paths_that_leave_the_project_are_refused(layout, tmp_path):
    summary = backup_project(layout.root, tmp_path / "backups")
    manifest = _manifest(summary.folder)
    for bad in ("../outside.csv", "/etc/passwd", ".workbench/../../x"):
        manifest["files"][0]["path"] = bad
        (summary.folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        with pytest.raises(BackupError, match="not a path inside the project"):
            restore_project(summary.folder, tmp_path / "restored")
    manifest["files"][0]["path"] = "train.csv"
    manifest["files"][0]["sha256"] = "../../../etc/passwd"
    (summary.folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(BackupError, match="not a sha256"):
        restore_project(summary.folder, tmp_path / "restored")
    assert not (tmp_path / "restored").exists()


def test_restore_refuses_a_folder_with_a_project_unless_forced(layout, tmp_path):
    _with_work(layout)
    summary = backup_project(layout.root, tmp_path / "backups")
    with pytest.raises(BackupError, match="already has a .workbench"):
        restore_project(summary.folder, layout.root)
    record_decision(layout.db_path, "bird_0.png", "drop", old_label=2)
    restore_project(summary.folder, layout.root, force=True)
    assert "bird_0.png" not in current_decisions(layout.db_path)["ID"].tolist()


def test_an_interrupted_backup_leaves_the_previous_one_restorable(layout, tmp_path, monkeypatch):
    _with_work(layout)
    backup_project(layout.root, tmp_path / "backups")
    (layout.labels_dir / "train_v1.csv").write_text("ID,target\nchanged,0\n", encoding="utf-8")
    import core.project.backup as backup_module

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(backup_module, "_snapshot_database", broken)  # the database is copied last
    with pytest.raises(OSError):
        backup_project(layout.root, tmp_path / "backups")
    monkeypatch.undo()
    target = tmp_path / "restored"
    restore_project(tmp_path / "backups", target)
    assert "cat_0.png" in (target / ".workbench" / "labels" / "train_v1.csv").read_text(encoding="utf-8")


def test_a_backup_folder_holding_another_projects_backup_is_refused(layout, tmp_path, make_project):
    backup_project(layout.root, tmp_path / "backups")
    other = make_project(tmp_path / "elsewhere")  # also named "project"
    with pytest.raises(BackupError, match="holds a backup of"):
        backup_project(other, tmp_path / "backups")


def test_the_backup_folder_is_a_workbench_toml_setting(tmp_path, make_project):
    root = make_project(tmp_path)
    (root / "workbench.toml").write_text('train_csv = "train.csv"\n\n[backup]\nto = "../backups"\n', encoding="utf-8")
    layout = open_layout(root)  # a [backup] table is not an unknown project setting
    assert backup_target(layout) == (tmp_path / "backups").resolve()
    (root / "workbench.toml").write_text("[backup]\nto = 3\n", encoding="utf-8")
    with pytest.raises(BackupError, match=r"\[backup\] to must be a folder path"):
        backup_target(open_layout(root))
    (root / "workbench.toml").unlink()
    assert backup_target(open_layout(root)) is None


def test_work_since_a_backup_is_seen_in_the_database_and_the_runs(layout, tmp_path):
    backup_project(layout.root, tmp_path / "backups")
    when = last_backup(layout)["time"]
    assert not work_since(layout, when)
    time.sleep(0.01)
    record_decision(layout.db_path, "cat_0.png", "keep", old_label=0)
    assert work_since(layout, when)


def test_the_warning_asks_for_a_backup_older_than_a_day_with_work_since(layout, tmp_path):
    from core.project.backup_status import backup_warning

    assert backup_warning(layout) is None  # a fresh project: nothing to lose yet
    record_decision(layout.db_path, "cat_0.png", "keep", old_label=0)
    assert "Never backed up" in backup_warning(layout)
    backup_project(layout.root, tmp_path / "backups")
    when = last_backup(layout)["time"]
    assert backup_warning(layout, now=when + 3 * 86400) is None  # old, but nothing happened since
    time.sleep(0.01)
    record_decision(layout.db_path, "cat_1.png", "keep", old_label=0)
    assert backup_warning(layout, now=when + 3600) is None  # work since, but the backup is an hour old
    assert "3 days old" in backup_warning(layout, now=when + 3 * 86400)


def test_a_project_never_opened_is_backed_up_without_writing_into_it(tmp_path, make_project):
    root = make_project(tmp_path)
    summary = backup_project(root, tmp_path / "backups")
    assert _paths(summary.folder) == {"train.csv", "sample_submission.csv", "meta.csv"}
    assert not (root / ".workbench").exists()
    target = tmp_path / "restored"
    restore_project(summary.folder, target)
    assert (target / "train.csv").read_bytes() == (root / "train.csv").read_bytes()
