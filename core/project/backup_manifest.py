"""The backup folder's format, shared by core.project.backup (which writes it) and core.project.restore.

    <backup folder>/manifest.json   format, created_at, source, project, workbench_version, schema_version,
                                    with_images, recompute, skipped, files: [{path, size, mtime_ns, sha256}, ...]
    <backup folder>/objects/ab/ab12...   each file's bytes, named by their sha256 (content-addressed)

A manifest path is a plain relative POSIX path inside the project (no "..", no absolute path, no
"." part, no backslash); a sha256 is 64 lowercase hex digits (an object's name is built from it, so
anything else could point out of objects/). `read_manifest` refuses any other entry.

    BackupError                 what a backup or restore refuses, naming the file or folder
    object_path(folder, sha)    where an object lies
    check_relative(path)        a manifest path, checked
    read_manifest(folder)       the manifest, every entry checked
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any

from core.io.text import shown
from core.project.layout import WORK_DIR

MANIFEST = "manifest.json"
OBJECTS = "objects"
INCOMING = ".incoming"  # objects being written, under objects/
DATABASE = f"{WORK_DIR}/workbench.db"  # the manifest path of the database snapshot
FORMAT = 1
SHA256 = re.compile(r"[0-9a-f]{64}")


class BackupError(ValueError):
    """A backup or restore that cannot go on; the message names the file or folder and what is wrong."""


def object_path(folder: Path, sha256: str) -> Path:
    return folder / OBJECTS / sha256[:2] / sha256


def check_relative(path: object) -> str:
    """A manifest path as given, when it is a plain relative POSIX path; BackupError otherwise."""
    if not isinstance(path, str) or not path or "\x00" in path or "\\" in path:
        raise BackupError(f"manifest entry {shown(path)}: not a path inside the project")
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts or "." in path.split("/") or str(pure) != path:
        raise BackupError(f"manifest entry {shown(path)}: not a path inside the project")
    return path


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of the backup in `folder`, every entry checked (path, size, sha256); BackupError when not."""
    import json

    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BackupError(f"{shown(path, 300)}: no backup here (no {MANIFEST})") from exc
    except (OSError, ValueError) as exc:
        raise BackupError(f"{shown(path, 300)}: unreadable: {shown(exc, 200)}") from exc
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list):
        raise BackupError(f"{shown(path, 300)}: not a workbench backup manifest (no files list)")
    if manifest.get("format") != FORMAT:
        raise BackupError(
            f"{shown(path, 300)}: backup format {shown(manifest.get('format'))}, this workbench reads {FORMAT}"
        )
    seen = set()
    for entry in manifest["files"]:
        if not isinstance(entry, dict):
            raise BackupError(f"{shown(path, 300)}: a files entry is not an object: {shown(entry)}")
        check_relative(entry.get("path"))
        if not isinstance(entry.get("sha256"), str) or not SHA256.fullmatch(entry["sha256"]):
            raise BackupError(
                f"manifest entry {shown(entry['path'])}: sha256 {shown(entry.get('sha256'))} is not a sha256"
            )
        if not isinstance(entry.get("size"), int) or entry["size"] < 0 or not isinstance(entry.get("mtime_ns"), int):
            raise BackupError(f"manifest entry {shown(entry['path'])}: size or mtime_ns is not a whole number")
        if entry["path"] in seen:
            raise BackupError(f"manifest entry {shown(entry['path'])}: listed twice")
        seen.add(entry["path"])
    return manifest
