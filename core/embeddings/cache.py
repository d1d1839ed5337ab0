"""The embedding cache: plain .npz files of (fingerprints, embeddings), one per model key and image set.

    <cache_dir>/embeddings/<group>-<set>.npz      fingerprints (N,) str, embeddings (N, D) float32

`group` is the model key (core.embeddings.features.model_key), or `<model key>_<view hash>` for
the rows of one view (an augmented copy, a dihedral view: see `group_name`), so a view's files are
searched and pruned apart from the plain images' and a plain look-up never opens them. `set` hashes
the rows' fingerprints in order (`set_key`). A row's fingerprint is the file's absolute path, size
and modification time (`file_fingerprints`), followed by `|view=<key>` for a view's rows.

    read_set / write_set     one file, atomically written; an unreadable file reads as absent
    known_rows               rows of earlier files of the same group (same fingerprint), reused
    prune_sets               keep the newest files of a group (the folder is safe to delete)
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core.io.atomic import atomic_write


def file_fingerprints(paths: Sequence[str | Path], *, view_key: str | None = None) -> list[str]:
    """One string per file: absolute path, size in bytes and mtime in ns (a changed file changes it),
    and `|view=<view_key>` where the rows are a view of the file rather than the file itself."""
    suffix = f"|view={view_key}" if view_key is not None else ""
    prints = []
    for path in paths:
        absolute = os.path.abspath(path)
        stat = os.stat(absolute)
        prints.append(f"{absolute}|{stat.st_size}|{stat.st_mtime_ns}{suffix}")
    return prints


def set_key(fingerprints: Sequence[str]) -> str:
    digest = hashlib.sha1()
    for item in fingerprints:
        digest.update(item.encode())
        digest.update(b"\n")
    return digest.hexdigest()[:16]


def group_name(model: str, view_key: str | None) -> str:
    """The file-name prefix of a model key's rows: the key itself, or `<key>_<hash of the view key>`."""
    if view_key is None:
        return model
    return f"{model}_{hashlib.sha1(view_key.encode()).hexdigest()[:10]}"


def cache_files(folder: Path, group: str) -> list[Path]:
    """This group's set files, newest first (`<group>-*.npz`: a model key's glob never matches its views')."""
    files = []
    for path in folder.glob(f"{group}-*.npz"):
        try:
            files.append((path.stat().st_mtime_ns, path))
        except OSError:  # deleted by another job meanwhile
            continue
    return [path for _, path in sorted(files, reverse=True)]


def read_set(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """(fingerprints, embeddings) of a cache file, or None when it is unreadable (treated as absent)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            prints, embeddings = data["fingerprints"], data["embeddings"]
            if embeddings.ndim != 2 or len(prints) != len(embeddings):
                return None
            return prints, embeddings.astype(np.float32, copy=False)
    except (OSError, ValueError, KeyError, EOFError):
        return None


def write_set(path: Path, fingerprints: Sequence[str], embeddings: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "wb") as handle:
        np.savez(handle, fingerprints=np.asarray(fingerprints, dtype=str), embeddings=embeddings.astype(np.float32))


def prune_sets(folder: Path, group: str, keep: int) -> None:
    """Delete all but the `keep` newest set files of `group`."""
    for stale in cache_files(folder, group)[keep:]:
        try:
            stale.unlink()
        except OSError:
            pass


def prune_views(folder: Path, model: str, keep: int) -> None:
    """Delete all but the `keep` newest view files of a model key, over all its views (old recipe versions)."""
    views = []
    for path in folder.glob(f"{model}_*.npz"):
        try:
            views.append((path.stat().st_mtime_ns, path))
        except OSError:
            continue
    for _, stale in sorted(views, reverse=True)[keep:]:
        try:
            stale.unlink()
        except OSError:
            pass


def known_rows(folder: Path, group: str, prints: Sequence[str]) -> tuple[np.ndarray | None, np.ndarray]:
    """Rows already embedded in earlier set files of this group (same fingerprint):
    (embeddings (N, D) float32 with those rows filled, or None if none was; known (N,) bool)."""
    total = len(prints)
    embeddings: np.ndarray | None = None
    known = np.zeros(total, dtype=bool)
    if not folder.is_dir():
        return embeddings, known
    wanted = {fp: i for i, fp in enumerate(prints)}
    for path in cache_files(folder, group):
        cached = read_set(path)
        if cached is None:
            continue
        for fp, row in zip(cached[0].tolist(), cached[1], strict=True):
            i = wanted.get(fp)
            if i is None or known[i]:
                continue
            if embeddings is None:
                embeddings = np.zeros((total, cached[1].shape[1]), dtype=np.float32)
            if row.shape[0] != embeddings.shape[1]:
                continue
            embeddings[i] = row
            known[i] = True
        if known.all():
            break
    return embeddings, known
