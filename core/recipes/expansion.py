"""Offline expansion: K augmented copies of every train image written to disk, in worker processes.

    expand_train_set(layout, rows, recipe, copies=, name=, labels=, seed=, workers=, replace=, callbacks=)
                               -> ExpansionResult      the folder core.recipes.augmented describes
    image_seed(seed, image_id) the seed of one image; its copy k uses core.recipes.apply.copy_seed(that, k)
    default_workers()          min(4, the CPU cores this process may use)

Determinism: copy k of image ID is `augmented_copies(recipe, pixels, seed=image_seed(seed, ID))[k]`,
saved as PNG: the same bytes for the same (recipe version, seed, ID, k), whatever the number of
workers or the order they finish in (with the same albumentations, OpenCV and Pillow).

Never half-written: the copies go to `augmented/.partial-<name>/` (each file written atomically);
train.csv, recipe.yaml and manifest.json are written last and the folder is renamed to <name> in
one step. An interrupted expansion (Ctrl-C, a crash, a killed job) leaves only the hidden partial
folder, which the next expansion with the same plan (recipe version, seed, copies, labels, rows)
resumes, keeping the copies already on disk. A full disk removes the partial folder and raises
ExpansionError saying so. A corrupt image (or one the recipe fails on) is named and skipped.
One writer per name at a time (a lock file beside the folder).

Workers: `workers` processes (default min(4, cores); at most one per MIN_IMAGES_PER_WORKER images
still to write) in a multiprocessing pool started from a fork server where the platform has one
(Linux), else spawned: never forked from the caller, whose threads (torch's, the app server's) can
deadlock a forked child. The fork server imports this module once; a spawned worker imports
albumentations, and through it torch, again (~5 s each on a 2-core box). Each worker runs OpenCV single-threaded: the processes are the parallelism. One
worker runs in this process, without a pool.
"""

from __future__ import annotations

import copy
import errno
import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.io.atomic import atomic_write, write_json_atomic, write_text_atomic
from core.io.csvfile import write_csv_atomic
from core.io.images import ImageError, open_rgb
from core.project.layout import ProjectLayout
from core.recipes.apply import as_rgb, copy_seed, shared_random_state
from core.recipes.augmented import (
    COLUMNS,
    CSV,
    IMAGES,
    MANIFEST,
    RECIPE_FILE,
    ExpansionError,
    augmented_dir,
    copy_id,
    copy_names,
    expansion_folder,
    read_manifest,
)
from core.recipes.store import Recipe, parse_recipe, stamped_yaml
from core.runs.progress import Callbacks
from core.runs.status import now_iso

PLAN = "plan.json"  # in the partial folder: what its copies were made with (a resume needs the same)
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
PNG_LEVEL = 1  # zlib level: 6 (Pillow's default) costs ~3x the time for ~10% smaller files
MIN_IMAGES_PER_WORKER = 100  # below that, a worker's start and hand-over cost more than it saves


@dataclass(frozen=True)
class ExpansionResult:
    """What an expansion wrote: `images` copies of `originals` train images into `folder`.

    skipped: "ID: reason" per image left out; resumed: copies found from an interrupted attempt;
    already: an identical expansion existed and nothing was written.
    """

    name: str
    folder: Path
    originals: int
    images: int
    seconds: float
    skipped: list[str] = field(default_factory=list)
    resumed: int = 0
    already: bool = False


def default_workers() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


def image_seed(seed: int, image_id: str) -> int:
    """A 31-bit seed from (seed, ID): every image of a train set gets its own stream."""
    digest = hashlib.sha1(f"{int(seed)}|{image_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


# ------------------------------------------------------------------ one image (in a worker process)


class _ImageWriter:
    """Writes the copies of one image; returns (outcome, ID, message, errno): outcome ok | skip | write.

    Its copies are `augmented_copies(recipe, pixels, copies=, seed=image_seed(seed, ID))`, computed the
    same way (core.recipes.apply: one shared stream per copy seed) on a pipeline of its own, copied once:
    augmented_copies deep-copies the pipeline on every call, two thirds of the CPU time on 64 px images.
    A writer is used by one thread only.
    """

    def __init__(self, recipe: Recipe, *, copies: int, seed: int, images_dir: Path) -> None:
        self.copies, self.seed, self.images_dir = copies, seed, Path(images_dir)
        self.pipeline = copy.deepcopy(recipe.compose)

    def copies_of(self, pixels: np.ndarray, image_id: str) -> list[np.ndarray]:
        rgb, seed = as_rgb(pixels), image_seed(self.seed, image_id)
        outputs = []
        for k in range(self.copies):
            shared_random_state(self.pipeline, copy_seed(seed, k))
            outputs.append(np.ascontiguousarray(self.pipeline(image=rgb.copy())["image"]))
        return outputs

    def __call__(self, task: tuple[str, str, str]) -> tuple[str, str, str, int]:
        image_id, path, stem = task
        try:
            pixels = np.asarray(open_rgb(Path(path)))
        except ImageError as exc:
            return "skip", image_id, str(exc), 0
        try:
            outputs = self.copies_of(pixels, image_id)
        except Exception as exc:  # noqa: BLE001 - one image the recipe cannot handle is named, not fatal
            return "skip", image_id, f"{path}: the recipe fails on it: {type(exc).__name__}: {exc}", 0
        for k, output in enumerate(outputs):
            target = self.images_dir / copy_id(stem, k)
            try:
                with atomic_write(target, "wb", durable=False) as handle:
                    _save_png(output, handle)
            except OSError as exc:
                return "write", image_id, f"{target}: {exc.strerror or exc}", exc.errno or 0
        return "ok", image_id, "", 0


def _save_png(pixels: np.ndarray, handle: Any) -> None:
    from PIL import Image

    Image.fromarray(pixels).save(handle, format="PNG", compress_level=PNG_LEVEL)


_WORKER: _ImageWriter | None = None  # each pool process's own writer (its own parsed recipe)


def _start_worker(recipe_yaml: str, recipe_name: str, copies: int, seed: int, images_dir: str) -> None:
    global _WORKER
    import signal

    import cv2

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it ends the pool
    cv2.setNumThreads(1)  # the parallelism is the processes; OpenCV's threads would only contend
    recipe = parse_recipe(recipe_yaml, name=recipe_name)
    _WORKER = _ImageWriter(recipe, copies=copies, seed=seed, images_dir=Path(images_dir))


def _pool_task(task: tuple[str, str, str]) -> tuple[str, str, str, int]:
    assert _WORKER is not None  # set by _start_worker  # noqa: S101 - internal invariant
    return _WORKER(task)


def _outcomes(
    tasks: list[tuple[str, str, str]], recipe: Recipe, *, copies: int, seed: int, images_dir: Path, workers: int
) -> Iterator[tuple[str, str, str, int]]:
    """Each task's outcome as it finishes: in this process for one worker, else in a process pool."""
    if workers <= 1 or len(tasks) <= 1:
        writer = _ImageWriter(recipe, copies=copies, seed=seed, images_dir=images_dir)
        yield from map(writer, tasks)
        return
    import multiprocessing
    from concurrent.futures.process import BrokenProcessPool, ProcessPoolExecutor

    from core.runs.jobs import no_main_module  # here: core.runs imports this package

    init = (recipe.yaml_text, recipe.name, copies, seed, str(images_dir))
    chunk = max(1, min(16, len(tasks) // (workers * 8)))
    # Not "fork": a process with threads (torch's, a server's) can deadlock its forked children (the test
    # suite hung). A fork server is a fresh single-threaded process that imports this module once.
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload([__name__])
    # Not multiprocessing.Pool: it replaces a worker that dies and waits forever on its chunk; an executor raises.
    executor = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=init)
    try:
        with no_main_module():  # map() submits every chunk at once: the workers start here
            results = executor.map(_pool_task, tasks, chunksize=chunk)
        yield from results
    except BrokenProcessPool as exc:
        died = "a worker process of the expansion died (out of memory, or killed); the copies written so far"
        raise ExpansionError(f"{died} are kept: run the same command again to resume") from exc
    finally:  # leaving early (an error, Ctrl-C, a closed generator): queued chunks are dropped
        executor.shutdown(wait=True, cancel_futures=True)


# ------------------------------------------------------------------ the expansion


def _plan(rows: pd.DataFrame, recipe: Recipe, *, copies: int, seed: int, labels: str) -> dict[str, Any]:
    """What the copies are made of; an existing or partial folder with another plan is not this expansion."""
    listed = "\n".join(f"{i}\t{t}" for i, t in zip(rows["ID"], rows["target"], strict=True))
    return {
        "recipe": recipe.name,
        "recipe_version": recipe.version,
        "seed": int(seed),
        "copies": int(copies),
        "labels": labels,
        "rows_sha1": hashlib.sha1(listed.encode()).hexdigest(),
    }


def _differences(plan: dict[str, Any], manifest: dict[str, Any]) -> list[str]:
    return [f"{key} {manifest.get(key)!r} (now {value!r})" for key, value in plan.items() if manifest.get(key) != value]


@contextmanager
def _name_lock(base: Path, name: str) -> Iterator[None]:
    """Held while `name` is written; ExpansionError when another process holds it."""
    with open(base / f".{name}.lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ExpansionError(f"expansion {name!r} is being written by another process; wait for it") from None
        yield


def _prepare_partial(partial: Path, plan: dict[str, Any]) -> set[str]:
    """The partial folder ready for this plan; the copy files already in it (empty unless resuming)."""
    previous = None
    try:
        previous = json.loads((partial / PLAN).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    if previous != plan and partial.exists():
        shutil.rmtree(partial)
    (partial / IMAGES).mkdir(parents=True, exist_ok=True)
    if previous != plan:
        write_json_atomic(partial / PLAN, plan)
        return set()
    kept = set()
    with os.scandir(partial / IMAGES) as entries:
        for entry in entries:
            if entry.name.startswith("."):  # a temp file of a write that was killed
                os.unlink(entry.path)
            elif entry.stat().st_size > 0:
                kept.add(entry.name)
    return kept


def _write_error(partial: Path, exc: OSError | str, code: int) -> ExpansionError:
    """The error to raise for a failed write; a full disk also removes the partial folder."""
    if code in DISK_FULL:
        shutil.rmtree(partial, ignore_errors=True)
        return ExpansionError(f"the disk is full ({exc}); the unfinished expansion {partial} was removed")
    return ExpansionError(f"cannot write the expansion ({exc}); run it again to resume from {partial}")


def _finish(partial: Path, final: Path, table: pd.DataFrame, recipe: Recipe, manifest: dict[str, Any]) -> None:
    """The CSV, recipe and manifest into the partial folder, then one rename makes it the expansion."""
    write_csv_atomic(table, partial / CSV)
    write_text_atomic(partial / RECIPE_FILE, stamped_yaml(recipe))
    write_json_atomic(partial / MANIFEST, manifest)
    (partial / PLAN).unlink(missing_ok=True)
    old = final.with_name(f".old-{final.name}-{os.getpid()}")
    if final.exists():  # replacing: the old folder leaves in one rename, the new one arrives in another
        final.rename(old)
    partial.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def expand_train_set(
    layout: ProjectLayout,
    rows: pd.DataFrame,
    recipe: Recipe,
    *,
    copies: int,
    name: str,
    labels: str,
    seed: int = 0,
    workers: int | None = None,
    replace: bool = False,
    callbacks: Callbacks | None = None,
) -> ExpansionResult:
    """Write `copies` copies of every row's image (rows: ID, target, path) to augmented/<name>/.

    `labels` is the pinned labels source the rows came from (recorded in the manifest; "augmented:<name>"
    trains on it plus the copies). An existing expansion of the same name is returned as it is when it
    has the same plan, else ExpansionError unless `replace`. See the module docstring for the rest.
    """
    if not 1 <= int(copies) <= 1000:
        raise ExpansionError(f"copies must be 1 to 1000, got {copies}")
    if not len(rows) or rows["ID"].duplicated().any():
        raise ExpansionError("the train rows to expand must be at least one, each ID once")
    final = expansion_folder(layout, name)
    plan = _plan(rows, recipe, copies=copies, seed=seed, labels=labels)
    existing = read_manifest(final)
    if existing is None and final.exists():
        raise ExpansionError(f"{final} exists but is not a finished expansion (no {MANIFEST}); remove it first")
    if existing is not None and not replace:
        if not _differences(plan, existing):
            listed = [f"{s.get('ID')}: {s.get('reason')}" for s in existing.get("skipped") or []]
            return ExpansionResult(name, final, len(rows), int(existing.get("images", 0)), 0.0, listed, already=True)
        raise ExpansionError(
            f"expansion {name!r} exists with another {'; '.join(_differences(plan, existing))}; "
            "choose another name, or replace it"
        )
    augmented_dir(layout).mkdir(parents=True, exist_ok=True)
    with _name_lock(augmented_dir(layout), name):
        return _expand_locked(
            rows,
            recipe,
            plan=plan,
            final=final,
            workers=workers or default_workers(),
            callbacks=callbacks or Callbacks(),
        )


def _expand_locked(
    rows: pd.DataFrame, recipe: Recipe, *, plan: dict[str, Any], final: Path, workers: int, callbacks: Callbacks
) -> ExpansionResult:
    started = time.perf_counter()
    partial = final.with_name(f".partial-{final.name}")
    copies, total = plan["copies"], len(rows)
    stems = copy_names(rows["ID"])
    try:
        on_disk = _prepare_partial(partial, plan)
    except OSError as exc:
        raise _write_error(partial, exc, exc.errno or 0) from exc
    done = [i for i in rows["ID"] if all(copy_id(stems[i], k) in on_disk for k in range(copies))]
    done_ids = set(done)
    tasks = [(i, p, stems[i]) for i, p in zip(rows["ID"], rows["path"], strict=True) if i not in done_ids]
    workers = max(1, min(workers, len(tasks) // MIN_IMAGES_PER_WORKER))
    message = f"writing {copies} copies of {total:,} train images ({len(done):,} done before)"
    callbacks.on_progress(progress=len(done) / total, message=message)
    skipped: dict[str, str] = {}
    finished = len(done)
    outcomes = _outcomes(tasks, recipe, copies=copies, seed=plan["seed"], images_dir=partial / IMAGES, workers=workers)
    with closing(outcomes):  # however the loop ends, the pool ends with it (before a folder is removed)
        for outcome, image_id, reason, code in outcomes:
            if outcome == "write":
                outcomes.close()
                raise _write_error(partial, reason, code)
            if outcome == "skip":
                skipped[image_id] = reason
            finished += 1
            callbacks.on_progress(progress=finished / total, message="writing copies", step=finished, steps=total)
    kept = rows.loc[~rows["ID"].isin(skipped)]
    table = pd.DataFrame(
        [(copy_id(stems[i], k), t, i) for i, t in zip(kept["ID"], kept["target"], strict=True) for k in range(copies)],
        columns=COLUMNS,
    )
    seconds = round(time.perf_counter() - started, 2)
    listed = [f"{i}: {r}" for i, r in skipped.items()]
    manifest = {
        **plan,
        "name": final.name,
        "originals": total,
        "images": len(table),
        "skipped": [{"ID": i, "reason": r} for i, r in skipped.items()],
        "resumed_copies": len(done) * copies,
        "workers": workers,
        "seconds": seconds,
        "created_at": now_iso(),
        "versions": _library_versions(),
    }
    try:
        _finish(partial, final, table, recipe, manifest)
    except OSError as exc:
        raise _write_error(partial, exc, exc.errno or 0) from exc
    return ExpansionResult(final.name, final, total, len(table), seconds, listed, len(done) * copies)


def _library_versions() -> dict[str, str]:
    """The libraries a copy's bytes depend on (the same seed gives the same image only with the same ones)."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("albumentations", "opencv-python-headless", "pillow", "numpy"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found
