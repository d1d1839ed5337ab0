"""Backing up what a team cannot recompute: `workbench backup --project DIR --to DIR`.

What is copied (DESIGN.md, "Backup"):
  - `.workbench/workbench.db` through SQLite's online backup API (a consistent snapshot, safe while the
    app and jobs write decisions), checked with `PRAGMA quick_check`;
  - everything else under `.workbench/`: runs/ (config, status, events, log, predictions, embeddings,
    weights), labels/, recipes/, predictions/ and any folder a later feature adds;
  - the project's own small files: train.csv, sample_submission.csv, meta.csv, test_labels.csv and
    workbench.toml (a restore into an empty folder needs them to open);
  - the images (train/, test/) and the offline expansions (augmented/<name>/, images too) only with
    `with_images=True` (`--with-images`): they are large, and usually kept elsewhere.
Never copied: `.workbench/cache/` and any `cache/` folder inside a run (rebuilt on demand), locks/,
names starting with "." (temp files of atomic writes, work in progress), symlinks inside .workbench/.
An expansion left out is listed in the manifest's `recompute` with the `workbench expand` options that
write it again (same recipe name, copies, labels and seed: the same bytes, if the recipe is unchanged).

The backup folder is `<to>/<project folder name>/`: manifest.json and objects/ (each file's bytes,
named by their sha256). One backup folder holds one project: another project's backup there is refused.

Incremental: a file whose size and mtime match the previous manifest's entry (and whose object is
there) is not read again; a changed file is copied once into objects/ (an object already there, e.g.
an unchanged database snapshot, is not written twice). Objects are never overwritten, and the
manifest is written last (atomically): a backup interrupted midway leaves the previous manifest and
every object it names intact. Objects no manifest names any more are deleted after it is written.
The project keeps a small record of its last backup in `.workbench/last_backup.json` (the sidebar).

    backup_project(project, to, *, with_images, callbacks)   BackupSummary

The backup folder's format: core.project.backup_manifest. Where to back up, when the last backup
was, whether one is due: core.project.backup_status.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.io.atomic import copy_file_atomic, write_json_atomic
from core.io.text import shown
from core.project.backup_manifest import (
    DATABASE,
    FORMAT,
    INCOMING,
    MANIFEST,
    OBJECTS,
    SHA256,
    BackupError,
    check_relative,
    object_path,
    read_manifest,
)
from core.project.backup_status import RECORD, children
from core.project.layout import CONFIG_FILE, ProjectLayout, open_layout

if TYPE_CHECKING:
    from core.runs.progress import Callbacks

# Top-level names under .workbench/ never copied: rebuildable, or copied otherwise (the database).
SKIPPED = {"cache", "locks", "workbench.db", "workbench.db-wal", "workbench.db-shm", "workbench.db-journal", RECORD}
WITH_IMAGES_ONLY = {"augmented"}


@dataclass
class BackupSummary:
    """What one backup did: files listed, copied (new bytes written) or unchanged, in how long."""

    folder: Path
    files: int = 0
    copied: int = 0
    unchanged: int = 0
    bytes_copied: int = 0
    seconds: float = 0.0
    recompute: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- what is copied


def _clean_relative(root: Path, path: Path) -> str | None:
    """`path` relative to `root` as a POSIX string, or None when it is not below the project folder."""
    try:
        relative = path.relative_to(root).as_posix()
        return check_relative(relative)
    except (ValueError, BackupError):
        return None


def _walk(folder: Path, *, skip_dirs: frozenset[str] = frozenset()) -> list[Path]:
    """Plain files below `folder` (which may itself be a symlink), skipping dot names and `skip_dirs`, sorted."""
    found = []
    for current, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in skip_dirs)
        for name in sorted(files):
            path = Path(current) / name
            if not name.startswith(".") and not path.is_symlink():
                found.append(path)
    return found


def _sources(layout: ProjectLayout, with_images: bool, summary: BackupSummary) -> list[tuple[str, Path]]:
    """(manifest path, file) of everything but the database, in a stable order."""
    root, settings = layout.root, layout.settings
    chosen: list[Path] = []
    for name in (settings.train_csv, settings.test_csv, settings.meta_csv, settings.test_labels_csv, CONFIG_FILE):
        if (root / name).is_file():
            chosen.append(root / name)
    if with_images:
        for folder in (layout.train_dir, layout.test_dir):
            if folder.is_dir():
                chosen += _walk(folder)
    for entry in sorted(children(layout.work_dir)):
        if entry.name in SKIPPED or entry.name.startswith(".") or entry.is_symlink():
            continue
        if entry.name in WITH_IMAGES_ONLY and not with_images:
            continue
        if entry.is_file():
            chosen.append(entry)
        elif entry.is_dir():
            chosen += _walk(entry, skip_dirs=frozenset({"cache"}) if entry.name == "runs" else frozenset())
    sources = []
    for path in chosen:
        relative = _clean_relative(root, path)
        if relative is None:
            summary.skipped.append(f"{shown(path, 300)}: outside the project folder (back it up on its own)")
        else:
            sources.append((relative, path))
    return sources


def _recompute(layout: ProjectLayout, with_images: bool) -> list[str]:
    """The `workbench expand --project DIR` options that write again each expansion this backup leaves out."""
    if with_images:
        return []
    from shlex import quote

    from core.recipes.augmented import list_expansions

    commands = []
    for expansion in list_expansions(layout):
        m = expansion.manifest
        commands.append(
            f"--recipe {quote(str(m.get('recipe')))} --copies {quote(str(m.get('copies')))} "
            f"--labels {quote(str(m.get('labels', 'original')))} --seed {quote(str(m.get('seed', 0)))} "
            f"--name {quote(expansion.name)}"
        )
    return commands


# ---------------------------------------------------------------- copying


def _store(folder: Path, source: Path) -> tuple[str, int, bool]:
    """Copy `source` into the object store; (sha256, size, whether new bytes were written).

    The source (which a job may be appending to) is first copied to a staging file: its sha256 names
    the object, which is then written atomically from that stable copy, so an object never holds
    other bytes than its name says.
    """
    incoming = folder / OBJECTS / INCOMING
    incoming.mkdir(parents=True, exist_ok=True)
    staged = incoming / secrets.token_hex(8)
    try:
        sha = copy_file_atomic(source, staged)
        size = staged.stat().st_size
        target = object_path(folder, sha)
        if target.is_file():
            return sha, size, False
        target.parent.mkdir(parents=True, exist_ok=True)
        if copy_file_atomic(staged, target) != sha:  # the backup disk changed the staged bytes
            target.unlink(missing_ok=True)
            raise BackupError(
                f"{shown(target, 300)}: written bytes differ from {shown(source, 300)}; check the backup disk"
            )
        return sha, size, True
    finally:
        staged.unlink(missing_ok=True)


def _snapshot_database(layout: ProjectLayout, folder: Path) -> tuple[str, int, bool, int]:
    """The database through SQLite's backup API into the store; (sha256, size, new, schema version).

    The snapshot is one consistent state even while other connections commit (WAL readers do not
    block writers); it is made a single file (journal_mode DELETE) and checked before it is kept.
    """
    incoming = folder / OBJECTS / INCOMING
    incoming.mkdir(parents=True, exist_ok=True)
    snapshot = incoming / f"db-{secrets.token_hex(8)}"
    try:
        source = sqlite3.connect(layout.db_path, timeout=30.0)
        copy = sqlite3.connect(snapshot)
        try:
            source.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")
            check = copy.execute("PRAGMA quick_check").fetchone()[0]
            schema = int(copy.execute("PRAGMA user_version").fetchone()[0])
        finally:
            copy.close()
            source.close()
        if check != "ok":
            raise BackupError(f"{layout.db_path}: the snapshot fails SQLite's quick_check: {shown(check, 200)}")
        sha, size, new = _store(folder, snapshot)
        return sha, size, new, schema
    finally:
        snapshot.unlink(missing_ok=True)


def _backup_folder(layout: ProjectLayout, to: Path) -> tuple[Path, dict[str, dict]]:
    """`<to>/<project name>` and the previous manifest's entries by path (empty for a first backup)."""
    folder = Path(to).expanduser().resolve() / layout.root.name
    if folder == layout.root or folder.is_relative_to(layout.root):
        raise BackupError(
            f"{shown(folder, 300)}: a backup inside the project it backs up; choose a folder outside {shown(layout.root, 300)}"
        )
    if not (folder / MANIFEST).is_file():
        return folder, {}
    previous = read_manifest(folder)
    if previous.get("source") != str(layout.root):
        raise BackupError(
            f"{shown(folder, 300)} holds a backup of {shown(previous.get('source'), 300)}, not of {shown(layout.root, 300)}; "
            "choose another --to folder (or delete that backup first)"
        )
    return folder, {entry["path"]: entry for entry in previous["files"]}


def backup_project(
    project: str | Path, to: str | Path, *, with_images: bool = False, callbacks: Callbacks | None = None
) -> BackupSummary:
    """Back up `project` into `<to>/<project folder name>/` (see the module docstring); returns what was done.

    Progress: `callbacks.on_progress(progress=0..1, message="backing up", step=files done, steps=files)`.
    BackupError when the backup folder holds another project's backup or lies inside the project.
    """
    started = time.perf_counter()
    layout = open_layout(project)
    folder, previous = _backup_folder(layout, Path(to))
    summary = BackupSummary(folder=folder)
    sources = _sources(layout, with_images, summary)
    summary.recompute = _recompute(layout, with_images)
    steps = len(sources) + 1
    entries = []
    for step, (relative, path) in enumerate(sources):
        entries.append(_backup_file(folder, relative, path, previous.get(relative), summary))
        if callbacks is not None:
            callbacks.on_progress(progress=step / steps, message="backing up", step=step, steps=steps)
    schema = None  # a project never opened has no store yet (the app creates one when it opens it)
    if layout.db_path.is_file():
        db_stat = layout.db_path.stat()
        sha, size, new, schema = _snapshot_database(layout, folder)
        entries.append({"path": DATABASE, "size": size, "mtime_ns": db_stat.st_mtime_ns, "sha256": sha})
        _count(summary, new, size)
    created = datetime.now(UTC)
    write_json_atomic(folder / MANIFEST, _manifest(layout, entries, schema, with_images, summary, created))
    if callbacks is not None:
        callbacks.on_progress(progress=1.0, message="backing up", step=steps, steps=steps)
    _prune(folder, {entry["sha256"] for entry in entries})
    summary.files = len(entries)
    summary.seconds = time.perf_counter() - started
    record = {"folder": str(folder), "created_at": created.isoformat(timespec="seconds"), "time": created.timestamp()}
    if layout.work_dir.is_dir():  # the sidebar's "last backed up"; a project never opened gets no folder for it
        write_json_atomic(layout.work_dir / RECORD, {**record, "files": summary.files, "copied": summary.copied})
    return summary


def _backup_file(folder: Path, relative: str, path: Path, before: dict | None, summary: BackupSummary) -> dict:
    """One file's manifest entry: the previous one when size and mtime match and its object is there, else a copy."""
    stat = path.stat()
    if (
        before is not None
        and before["size"] == stat.st_size
        and before["mtime_ns"] == stat.st_mtime_ns
        and object_path(folder, before["sha256"]).is_file()
    ):
        summary.unchanged += 1
        return dict(before)
    sha, size, new = _store(folder, path)
    _count(summary, new, size)
    return {"path": relative, "size": size, "mtime_ns": stat.st_mtime_ns, "sha256": sha}


def _count(summary: BackupSummary, new: bool, size: int) -> None:
    if new:
        summary.copied += 1
        summary.bytes_copied += size
    else:
        summary.unchanged += 1


def _manifest(
    layout, entries, schema: int | None, with_images: bool, summary: BackupSummary, created
) -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        workbench_version = version("image-workbench")
    except PackageNotFoundError:
        workbench_version = "unknown"
    return {
        "format": FORMAT,
        "created_at": created.isoformat(timespec="seconds"),
        "source": str(layout.root),
        "project": layout.root.name,
        "workbench_version": workbench_version,
        "schema_version": schema,
        "with_images": with_images,
        "recompute": summary.recompute,
        "skipped": summary.skipped,
        "files": entries,
    }


def _prune(folder: Path, keep: set[str]) -> None:
    """Delete objects the manifest just written does not name, and anything left in objects/.incoming."""
    for path in children(folder / OBJECTS / INCOMING):
        path.unlink(missing_ok=True)
    for bucket in children(folder / OBJECTS):
        if bucket.name == INCOMING or not bucket.is_dir():
            continue
        for path in children(bucket):
            if SHA256.fullmatch(path.name) and path.name not in keep:
                path.unlink(missing_ok=True)
