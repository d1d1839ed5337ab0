"""Bringing a project back from a backup: `workbench restore --project DIR --from DIR`.

The backup (core.project.backup) is checked whole before anything is written: the manifest (every
path relative and inside the project, every checksum a sha256, the database no newer than this
workbench reads), then every file's size and sha256. A corrupted or missing file is named and
nothing is written. Then:

  - the target folder may be absent, empty, or hold the images (or anything else) but no
    `.workbench/` with content; `force=True` restores over an existing project's `.workbench/`
    (its files named in the backup are replaced; others are left as they are);
  - a project file of the backup (train.csv...) that exists in the target with other content is
    refused unless `force=True`; one with the same content is left untouched;
  - each file is copied atomically and its sha256 checked again as it is written, its mtime set back
    (so a backup of the restored project is incremental); the database's stale WAL files are removed.

Images: a backup made without `--with-images` holds none. Restore into a folder that has them (a copy
of train/ and test/, or symlinks to the data disk), or copy them in afterwards; expansions left out
are written again with the manifest's `recompute` commands (the summary lists them).

    find_backup(path, project)          the backup folder: `path` itself or `path/<project name>`
    verify_backup(folder)               the checked manifest; BackupError naming every bad file
    restore_project(backup, project, *, force, callbacks)   RestoreSummary
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.io.atomic import copy_file_atomic
from core.io.text import shown
from core.project.backup_manifest import DATABASE, MANIFEST, BackupError, object_path, read_manifest
from core.project.layout import WORK_DIR, resolve_inside

if TYPE_CHECKING:
    from core.runs.progress import Callbacks

_MAX_NAMED = 10  # bad files named in one message


@dataclass
class RestoreSummary:
    """What a restore did: files written, files already there with the same content, what to do next."""

    project: Path
    files: int = 0
    written: int = 0
    already: int = 0
    seconds: float = 0.0
    with_images: bool = False
    recompute: list[str] = field(default_factory=list)


def find_backup(path: str | Path, project: str | Path) -> Path:
    """The backup folder meant by `--from`: `path` itself when it holds a manifest, else `path/<project name>`,
    else its only subfolder that holds one. BackupError naming the candidates otherwise."""
    path = Path(path).expanduser()
    if (path / MANIFEST).is_file():
        return path
    named = path / Path(project).name
    if (named / MANIFEST).is_file():
        return named
    try:
        found = sorted(p for p in path.iterdir() if (p / MANIFEST).is_file())
    except OSError as exc:
        raise BackupError(f"{shown(path, 300)}: no backup here ({shown(exc, 200)})") from exc
    if len(found) == 1:
        return found[0]
    if not found:
        raise BackupError(f"{shown(path, 300)}: no backup here (no {MANIFEST}, nor a folder holding one)")
    names = ", ".join(shown(p.name) for p in found)
    raise BackupError(
        f"{shown(path, 300)} holds backups of several projects ({names}); pass --from {shown(path, 300)}/NAME"
    )


def verify_backup(folder: Path) -> dict[str, Any]:
    """The manifest of the backup in `folder` once every file listed is there with its size and sha256.

    BackupError naming each missing or corrupted file (up to ten, then how many more).
    """
    from core.project.db import SCHEMA_VERSION

    manifest = read_manifest(folder)
    schema = manifest.get("schema_version")
    if isinstance(schema, int) and schema > SCHEMA_VERSION:
        raise BackupError(
            f"{shown(folder, 300)}: its database is at schema version {schema}, newer than this workbench ({SCHEMA_VERSION}); "
            "restore it with the workbench that made it"
        )
    problems = []
    for entry in manifest["files"]:
        problem = _check_object(object_path(folder, entry["sha256"]), entry)
        if problem:
            problems.append(f"{shown(entry['path'], 200)}: {problem}")
    if problems:
        more = f" (and {len(problems) - _MAX_NAMED} more)" if len(problems) > _MAX_NAMED else ""
        raise BackupError(
            f"{shown(folder, 300)}: {len(problems)} file(s) of the backup cannot be restored, nothing was written: "
            + "; ".join(problems[:_MAX_NAMED])
            + more
        )
    return manifest


def _check_object(path: Path, entry: dict) -> str:
    """'' when the object holds the bytes the entry describes, else what is wrong."""
    try:
        if path.stat().st_size != entry["size"]:
            return f"corrupted (size {path.stat().st_size:,} bytes, expected {entry['size']:,})"
        return "" if _sha256(path) == entry["sha256"] else "corrupted (checksum differs)"
    except FileNotFoundError:
        return f"missing ({path.name} is not in objects/)"
    except OSError as exc:
        return f"unreadable ({shown(exc, 200)})"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _plan(manifest: dict, root: Path, *, force: bool) -> list[tuple[dict, Path, bool]]:
    """(entry, target file, already there with the same content) for every file; BackupError when refused."""
    work = root / WORK_DIR
    if not force and work.is_dir() and any(work.iterdir()):
        raise BackupError(
            f"{shown(root, 300)} already has a {WORK_DIR}/ folder; restore into an empty folder, or pass --force"
        )
    # The project folder, and each folder in it: train/ may be a symlink to a data disk.
    bases = [root.resolve()] + ([p.resolve() for p in root.iterdir() if p.is_dir()] if root.is_dir() else [])
    plan, clashes = [], []
    for entry in manifest["files"]:
        target = resolve_inside(entry["path"], *bases, bases_resolved=True)
        if target is None:
            raise BackupError(
                f"manifest entry {shown(entry['path'], 200)}: not a path inside the project {shown(root, 300)}"
            )
        same = target.is_file() and target.stat().st_size == entry["size"] and _sha256(target) == entry["sha256"]
        if target.exists() and not same and not entry["path"].startswith(f"{WORK_DIR}/"):
            clashes.append(shown(entry["path"], 200))
        plan.append((entry, target, same))
    if clashes and not force:
        raise BackupError(
            f"{shown(root, 300)} already has {', '.join(clashes[:_MAX_NAMED])} with other content than the backup; "
            "move them away, or pass --force to replace them"
        )
    return plan


def restore_project(
    backup: str | Path, project: str | Path, *, force: bool = False, callbacks: Callbacks | None = None
) -> RestoreSummary:
    """Restore the backup at `backup` (see `find_backup`) into the folder `project` (see the module docstring).

    Progress: `callbacks.on_progress(progress=0..1, message="restoring", step=files done, steps=files)`.
    BackupError (nothing written) for a bad manifest, a missing or corrupted file, or a refused target.
    """
    started = time.perf_counter()
    root = Path(project).expanduser().absolute()
    if root.exists() and not root.is_dir():
        raise BackupError(f"{shown(root, 300)}: not a folder")
    folder = find_backup(backup, root)
    manifest = verify_backup(folder)
    plan = _plan(manifest, root, force=force)
    summary = RestoreSummary(project=root, files=len(plan), with_images=bool(manifest.get("with_images")))
    summary.recompute = [str(c) for c in manifest.get("recompute", []) if isinstance(c, str)]
    for step, (entry, target, same) in enumerate(plan):
        if same:
            summary.already += 1
        else:
            _restore_file(folder, entry, target)
            summary.written += 1
        if callbacks is not None:
            callbacks.on_progress(progress=(step + 1) / len(plan), message="restoring", step=step + 1, steps=len(plan))
    _note_backup(root, folder, manifest)
    summary.seconds = time.perf_counter() - started
    return summary


def _note_backup(root: Path, folder: Path, manifest: dict) -> None:
    """The restored project's "last backed up" is the backup it came from (its files are as they were then),
    so the sidebar does not call a project fresh from its backup never backed up."""
    from datetime import datetime

    from core.io.atomic import write_json_atomic
    from core.project.backup_status import RECORD

    work = root / WORK_DIR
    try:
        created = datetime.fromisoformat(str(manifest.get("created_at", "")))
    except ValueError:
        return
    if work.is_dir():
        record = {"folder": str(folder), "created_at": created.isoformat(), "time": created.timestamp()}
        write_json_atomic(work / RECORD, {**record, "restored": True})


def _restore_file(folder: Path, entry: dict, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if entry["path"] == DATABASE:  # a stale WAL would be replayed onto the restored database
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
    sha = copy_file_atomic(object_path(folder, entry["sha256"]), target)
    if sha != entry["sha256"]:  # changed on the backup disk since it was verified
        target.unlink(missing_ok=True)
        raise BackupError(f"{shown(entry['path'], 200)}: corrupted while restoring (checksum differs); run it again")
    os.utime(target, ns=(entry["mtime_ns"], entry["mtime_ns"]))
