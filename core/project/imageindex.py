"""One pass over the image folders: header, full decode check and thumbnail, cached per file.

Each image file under train/ and test/ is opened once: its size and mode are read, it is decoded
completely (so truncated or corrupt files are found and named), and a small JPEG thumbnail is made.
Thumbnails are packed: the JPEGs of up to PACK_IMAGES images go into one file under
`.workbench/cache/thumbs/<px>/packs/` (creating 200,000 small files costs the kernel more than decoding
the images), and an index row's `thumb` is a reference "<pack path>#<offset>+<length>" that
`read_thumbnail` reads. The results are kept in `.workbench/cache/image_index.parquet` keyed by
(split, name, size in bytes, mtime): a file that has not changed is never opened again, and a changed
file gets a new thumbnail in a new pack, so the gallery never shows a stale picture. Packs no row
refers to any more are deleted once they are an hour old (another process may be writing its index).
"""

from __future__ import annotations

import hashlib
import io
import os
import time
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
PACK_IMAGES = 256  # thumbnails per pack file
STALE_PACK_S = 3600  # an unreferenced pack younger than this may belong to an index being written


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
    thumb_px: int
    max_pixels: int


@dataclass(frozen=True)
class _Pack:
    """A worker's unit: the images whose thumbnails go into one pack file."""

    path: str
    jobs: tuple[_Job, ...]


def thumb_key(split: str, name: str, size: int, mtime_ns: int, thumb_px: int) -> str:
    """Cache key of one thumbnail; changes whenever the file's size or modification time does."""
    return hashlib.sha1(f"{split}/{name}|{size}|{mtime_ns}|{thumb_px}".encode()).hexdigest()[:24]


def _pack_ref(pack: str, offset: int, length: int) -> str:
    return f"{pack}#{offset}+{length}"


def _split_ref(ref: str) -> tuple[str, int, int] | None:
    """(pack path, offset, length) of a pack reference; None for a plain file path (an older index)."""
    path, sep, span = ref.rpartition("#")
    offset, plus, length = span.partition("+")
    if not sep or not plus or not offset.isdigit() or not length.isdigit():
        return None
    return path, int(offset), int(length)


def thumb_file(ref: str) -> str:
    """The file holding the thumbnail `ref` (a pack, or the thumbnail itself in an older index)."""
    parts = _split_ref(ref)
    return parts[0] if parts else ref


def read_thumbnail(ref: str) -> bytes:
    """The JPEG bytes of an index row's `thumb`; OSError when its file is gone or cut short."""
    parts = _split_ref(ref)
    if parts is None:
        return Path(ref).read_bytes()
    path, offset, length = parts
    with open(path, "rb") as handle:
        handle.seek(offset)
        data = handle.read(length)
    if len(data) != length:
        raise OSError(f"thumbnail pack {shown(path, 300)} is cut short")
    return data


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


def _process(job: _Job) -> tuple[dict, bytes]:
    """Decode one image completely and make its JPEG thumbnail: (index row without `thumb`, JPEG bytes,
    empty for an image that cannot be used); never raises for a bad image."""
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
        return row, b""
    except Exception as exc:  # noqa: BLE001 - any decoder failure is a corrupt image, not a crash
        row["error"] = f"{job.split}/{job.name}: corrupt or unreadable image: {exc}"
        return row, b""
    row["width"], row["height"], row["mode"], row["format"] = header
    if row["format"] != "JPEG":  # decoded at full size: its size is the upright one, whatever the header said
        row["width"], row["height"] = image.size
    image.thumbnail((job.thumb_px, job.thumb_px), Image.Resampling.BILINEAR, reducing_gap=2.0)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return row, buffer.getvalue()


def _process_pack(pack: _Pack) -> list[dict]:
    """Index the images of one pack and write their thumbnails into it, in one file: the index rows."""
    rows: list[dict] = []
    data = bytearray()
    for job in pack.jobs:
        row, jpeg = _process(job)
        if jpeg:
            row["thumb"] = _pack_ref(pack.path, len(data), len(jpeg))
            data += jpeg
        rows.append(row)
    if data:
        path = Path(pack.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # A rebuildable cache: atomic (a gallery never shows half a picture), no fsync.
        with atomic_write(path, "wb", durable=False) as handle:
            handle.write(data)
    return rows


def _packs(jobs: list[_Job], folder: Path) -> list[_Pack]:
    """`jobs` in packs of PACK_IMAGES, each named by its images' thumbnail keys (the same images, the same pack)."""
    packs = []
    for start in range(0, len(jobs), PACK_IMAGES):
        part = tuple(jobs[start : start + PACK_IMAGES])
        digest = hashlib.sha1()
        for job in part:
            digest.update(thumb_key(job.split, job.name, job.size, job.mtime_ns, job.thumb_px).encode())
        packs.append(_Pack(path=str(folder / f"{digest.hexdigest()[:24]}.pack"), jobs=part))
    return packs


def _run_jobs(jobs: list[_Job], packs_dir: Path, *, workers: int, callbacks: Callbacks | None) -> list[dict]:
    total = len(jobs)
    rows: list[dict] = []
    packs = _packs(jobs, packs_dir)

    def report() -> None:
        if callbacks is not None:
            done = len(rows)
            callbacks.on_progress(progress=done / total, message=PROGRESS_MESSAGE, step=done, steps=total)

    if workers <= 1 or len(packs) == 1:
        for pack in packs:
            rows.extend(_process_pack(pack))
            report()
        return rows
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for part in pool.map(_process_pack, packs):
            rows.extend(part)
            report()
    return rows


def _remove_unused_packs(packs_dir: Path, index: pd.DataFrame) -> None:
    """Delete the packs of `packs_dir` no row of `index` refers to, once they are STALE_PACK_S old."""
    try:
        entries = list(os.scandir(packs_dir))
    except OSError:
        return
    used = {thumb_file(ref) for ref in index["thumb"].unique() if ref}
    cutoff = time.time() - STALE_PACK_S
    for entry in entries:
        try:
            if entry.path not in used and entry.name.endswith(".pack") and entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
        except OSError:
            continue  # another process removed it, or it is not ours to remove: the cache stays usable


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
        files = {ref: thumb_file(ref) for ref in set(thumbs[rows[within]]) if ref}
        present = {path: os.path.isfile(path) for path in set(files.values())}  # a few hundred packs
        for i in rows[within]:
            valid[i] = bool(thumbs[i]) and present[files[thumbs[i]]]
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
    `thumb` a reference to its thumbnail (`read_thumbnail`), holding the absolute path of its pack. The index is saved back to `cache_dir`.
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
    jobs = [
        _Job(split, name, path, size, mtime_ns, thumb_px=thumb_px, max_pixels=max_pixels)
        for split, name, size, mtime_ns, path in missing
    ]
    packs_dir = cache_dir / "thumbs" / str(thumb_px) / "packs"
    if jobs:
        workers = workers or len(os.sched_getaffinity(0)) or 1
        rows.extend(_run_jobs(jobs, packs_dir, workers=workers, callbacks=callbacks))
    parts = [pd.DataFrame(rows, columns=INDEX_COLUMNS)] + ([hits] if hits is not None and len(hits) else [])
    index = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    index = index.astype({"bytes": "int64", "mtime_ns": "int64", "width": "int64", "height": "int64"})
    index = index.astype({c: "str" for c in ("split", "name", "mode", "format", "error", "thumb")})
    index = index.sort_values(["split", "name"], kind="stable").reset_index(drop=True)
    if jobs or len(index) != len(cached):
        cache_dir.mkdir(parents=True, exist_ok=True)
        with atomic_write(index_path, "wb") as handle:
            index.to_parquet(handle, index=False)
        _remove_unused_packs(packs_dir, index)
    return index
