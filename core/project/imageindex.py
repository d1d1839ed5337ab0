"""One pass over the image folders: header, full decode check and thumbnail, cached per file.

Each image file under train/ and test/ is opened once: its size and mode are read, it is decoded
completely (so truncated or corrupt files are found and named), and a small JPEG thumbnail is
written to `.workbench/cache/thumbs/`. The results are kept in `.workbench/cache/image_index.parquet`
keyed by (split, name, size in bytes, mtime): a file that has not changed is never opened again,
and a changed file gets a new thumbnail key, so the gallery never shows a stale picture.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from core.io import images
from core.io.atomic import atomic_write
from core.io.images import (
    DEFAULT_MAX_PIXELS,
    IMAGE_EXTENSIONS,
    ImageError,
    decode_bytes,
    not_regular,
    open_rgb_with_header,
)
from core.io.text import shown

if TYPE_CHECKING:  # only the type: core.runs' table of contents imports this package (dataset loading)
    from core.runs.progress import Callbacks

THUMB_PX = 160


INDEX_FILE = "image_index.parquet"


INDEX_COLUMNS = ["split", "name", "bytes", "mtime_ns", "width", "height", "mode", "format", "error", "thumb"]


PROGRESS_MESSAGE = "indexing images (size, decode check, thumbnail)"


@dataclass(frozen=True)
class _Job:
    split: str
    name: str
    path: str
    size: int
    mtime_ns: int
    thumb_path: str
    thumb_px: int
    max_pixels: int


def thumb_key(split: str, name: str, size: int, mtime_ns: int, thumb_px: int) -> str:
    """Cache key of one thumbnail; changes whenever the file's size or modification time does."""
    return hashlib.sha1(f"{split}/{name}|{size}|{mtime_ns}|{thumb_px}".encode()).hexdigest()[:24]


def list_image_files(folder: Path) -> list[tuple[str, os.stat_result]]:
    """(name relative to folder in posix form, stat) of every entry below `folder` named like an image,
    sorted: files, and the folders, FIFOs, sockets and symlink loops so named (the index reports them)."""
    return [(name, stat) for name, stat, _ in _listed(folder)]


def _listed(folder: Path) -> list[tuple[str, os.stat_result, bool]]:
    """`list_image_files` with, for each entry, whether it is a symlink: one scandir per folder, and a
    stat per file only where the folder listing does not already tell (os.DirEntry caches it)."""
    found: list[tuple[str, os.stat_result, bool]] = []
    pending = [("", str(folder))]
    while pending:
        prefix, path = pending.pop()
        try:
            entries = list(os.scandir(path))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            named_like_image = entry.name.lower().endswith(IMAGE_EXTENSIONS)
            if entry.is_dir(follow_symlinks=False) and not named_like_image:
                pending.append((f"{prefix}{entry.name}/", entry.path))  # linked folders are not followed
                continue
            if not named_like_image:
                continue
            try:
                stat = entry.stat()  # follows symlinks; a dangling link or a loop fails here
            except OSError:
                stat = entry.stat(follow_symlinks=False)
            found.append((f"{prefix}{entry.name}", stat, entry.is_symlink()))
    found.sort(key=lambda item: item[0])
    return found


def _unreadable(path: Path, bases: list[Path]) -> str:
    """Why `path` must not be opened, or "" when it may be: a symlink loop, a symlink resolving outside
    every base, or anything but a regular file (a FIFO would block the reader; a device never ends)."""
    why = not_regular(path)
    if why.startswith("a symlink loop"):
        return why  # before resolving it: there is no target to name
    if path.is_symlink():  # os.walk does not follow linked subfolders, so only the entry itself can be a link
        target = Path(os.path.realpath(path))
        if not any(target.is_relative_to(base) for base in bases):
            return f"a symlink to {shown(target, 300)}, outside the project; not read"
    return why


def _error_row(split: str, name: str, stat: os.stat_result, error: str) -> dict:
    return {
        "split": split,
        "name": name,
        "bytes": int(stat.st_size),
        "mtime_ns": int(stat.st_mtime_ns),
        "width": -1,
        "height": -1,
        "mode": "",
        "format": "",
        "error": error,
        "thumb": "",
    }


def _process(job: _Job) -> dict:
    """Decode one image completely and write its thumbnail; never raises for a bad image."""
    from PIL import Image

    row = {
        "split": job.split,
        "name": job.name,
        "bytes": job.size,
        "mtime_ns": job.mtime_ns,
        "width": -1,
        "height": -1,
        "mode": "",
        "format": "",
        "error": "",
        "thumb": "",
    }
    try:
        # One opening: the header (mode and format as stored, size as shown), then the whole decode.
        image, header = open_rgb_with_header(
            Path(job.path), max_pixels=job.max_pixels, draft_size=(job.thumb_px, job.thumb_px)
        )
    except ImageError as exc:
        row["error"] = str(exc).replace(job.path, f"{job.split}/{job.name}")
        return row
    except Exception as exc:  # noqa: BLE001 - any decoder failure is a corrupt image, not a crash
        row["error"] = f"{job.split}/{job.name}: corrupt or unreadable image: {exc}"
        return row
    row["width"], row["height"], row["mode"], row["format"] = header
    if row["format"] != "JPEG":  # decoded at full size: its size is the upright one, whatever the header said
        row["width"], row["height"] = image.size
    image.thumbnail((job.thumb_px, job.thumb_px), Image.Resampling.BILINEAR, reducing_gap=2.0)
    thumb = Path(job.thumb_path)
    if not thumb.parent.is_dir():  # scan_images makes the 256 folders first; a cache cleared meanwhile
        thumb.parent.mkdir(parents=True, exist_ok=True)
    # A rebuildable cache written by the thousand: atomic (a gallery never shows half a picture), no fsync.
    with atomic_write(thumb, "wb", durable=False) as handle:
        image.save(handle, format="JPEG", quality=85)
    row["thumb"] = job.thumb_path
    return row


def _run_jobs(jobs: list[_Job], *, workers: int, callbacks: Callbacks | None) -> list[dict]:
    total = len(jobs)
    rows: list[dict] = []

    def report(done: int) -> None:
        if callbacks is not None:
            callbacks.on_progress(progress=done / total, message=PROGRESS_MESSAGE, step=done, steps=total)

    if workers <= 1 or total < 64:
        for done, job in enumerate(jobs, 1):
            rows.append(_process(job))
            if done % 25 == 0 or done == total:
                report(done)
        return rows
    chunk = max(8, min(128, total // (workers * 8) or 1))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for done, row in enumerate(pool.map(_process, jobs, chunksize=chunk), 1):
            rows.append(row)
            if done % 50 == 0 or done == total:
                report(done)
    return rows


def _load_cached(path: Path) -> pd.DataFrame:
    if path.is_file():
        try:
            cached = pd.read_parquet(path)
            if list(cached.columns) == INDEX_COLUMNS:
                return cached
        except Exception:  # noqa: BLE001 - a damaged cache is rebuilt, never fatal
            pass
    return pd.DataFrame(columns=INDEX_COLUMNS)


_KEY = ["split", "name", "bytes", "mtime_ns"]


def _cached_rows(
    cached: pd.DataFrame, listed: list[tuple[str, str, int, int, str]]
) -> tuple[pd.DataFrame | None, list]:
    """(index rows still valid for the files `listed`, the listed files to index again). A cached row is
    valid for an unchanged file (same size and mtime) when it is an error, or usable with its thumbnail
    on disk and within the decode limit as it stands now."""
    if not listed:
        return None, []
    files = pd.DataFrame(listed, columns=[*_KEY, "path"])
    if cached.empty:
        return None, listed
    cached = cached.astype({"bytes": "int64", "mtime_ns": "int64"}).drop_duplicates(_KEY, keep="last")
    merged = files.merge(cached, on=_KEY, how="left", indicator=True)
    found = (merged["_merge"] == "both").to_numpy()
    errors = merged["error"].fillna("").astype(str).to_numpy() != ""
    thumbs = merged["thumb"].fillna("").astype(str).to_numpy()
    valid = found & errors
    usable = found & ~errors
    if usable.any():
        modes = merged["mode"].fillna("").astype(str).to_numpy()
        pixels = merged["width"].fillna(0).to_numpy(np.int64) * merged["height"].fillna(0).to_numpy(np.int64)
        per_pixel = {m: decode_bytes(m, 1, 1, transparency=True) for m in set(modes[usable])}  # linear in pixels
        rows = np.flatnonzero(usable)
        # The decode limit may be newer than the row: a row over it now is indexed again (and refused).
        within = np.array([pixels[i] * per_pixel[modes[i]] <= images.MAX_DECODED_BYTES for i in rows], dtype=bool)
        for i in rows[within]:
            valid[i] = bool(thumbs[i]) and os.path.isfile(thumbs[i])
    return merged.loc[valid, INDEX_COLUMNS], [listed[i] for i in np.flatnonzero(~valid)]


def scan_images(
    folders: Iterable[tuple[str, Path]],
    cache_dir: Path,
    *,
    thumb_px: int = THUMB_PX,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    workers: int | None = None,
    callbacks: Callbacks | None = None,
    root: Path | None = None,
) -> pd.DataFrame:
    """Index every image in `folders` ((split, folder) pairs), decoding only new or changed files.

    Returns one row per file with columns INDEX_COLUMNS: `error` is empty for a usable image,
    `thumb` the absolute path of its thumbnail. The index is saved back to `cache_dir`.
    A symlinked file that resolves outside its folder (and outside `root`, the project, when given),
    a symlink loop, and anything but a regular file (a FIFO, socket, device or folder named like an
    image) are never opened: their rows carry an error instead. A cached usable row is trusted only
    while its size and mode stay within the decode limit (core.io.images.MAX_DECODED_BYTES). `callbacks.on_progress` hears of the files
    decoded (step) out of those not cached (steps).
    """
    cache_dir = Path(cache_dir)
    # The pixel limit decides which rows are errors, so each limit keeps its own index: lowering it in
    # workbench.toml refuses cached images that exceed it, raising it admits the ones it refused.
    index_path = cache_dir / (
        INDEX_FILE if max_pixels == DEFAULT_MAX_PIXELS else f"image_index.max{max_pixels}.parquet"
    )
    cached = _load_cached(index_path)
    rows: list[dict] = []
    listed: list[tuple[str, str, int, int, str]] = []  # (split, name, bytes, mtime_ns, path) of files to index
    for split, folder in folders:
        bases = [Path(folder).resolve()] + ([Path(root).resolve()] if root is not None else [])
        for name, stat, is_link in _listed(Path(folder)):
            # A regular file that is no link needs no second look; links and anything else do.
            why = _unreadable(Path(folder) / name, bases) if is_link or not S_ISREG(stat.st_mode) else ""
            if why:
                rows.append(_error_row(split, name, stat, f"{split}/{name}: {why}"))
                continue
            path = os.path.join(folder, name)
            listed.append((split, name, int(stat.st_size), int(stat.st_mtime_ns), path))
    hits, missing = _cached_rows(cached, listed)
    jobs: list[_Job] = []
    for split, name, size, mtime_ns, path in missing:
        tkey = thumb_key(split, name, size, mtime_ns, thumb_px)
        jobs.append(
            _Job(
                split=split,
                name=name,
                path=path,
                size=size,
                mtime_ns=mtime_ns,
                thumb_path=str(cache_dir / "thumbs" / str(thumb_px) / tkey[:2] / f"{tkey}.jpg"),
                thumb_px=thumb_px,
                max_pixels=max_pixels,
            )
        )
    if jobs:
        workers = workers or len(os.sched_getaffinity(0)) or 1
        for prefix in {Path(job.thumb_path).parent for job in jobs}:  # at most 256: not one mkdir per image
            prefix.mkdir(parents=True, exist_ok=True)
        rows.extend(_run_jobs(jobs, workers=workers, callbacks=callbacks))
    parts = [pd.DataFrame(rows, columns=INDEX_COLUMNS)] + ([hits] if hits is not None and len(hits) else [])
    index = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    index = index.astype({"bytes": "int64", "mtime_ns": "int64", "width": "int64", "height": "int64"})
    index = index.astype({c: "str" for c in ("split", "name", "mode", "format", "error", "thumb")})
    index = index.sort_values(["split", "name"], kind="stable").reset_index(drop=True)
    if jobs or len(index) != len(cached):
        cache_dir.mkdir(parents=True, exist_ok=True)
        with atomic_write(index_path, "wb") as handle:
            index.to_parquet(handle, index=False)
    return index
