"""2-D UMAP projections of a run's embeddings, computed once per run and parameter set, then only read.

    project_embeddings(embeddings, *, params)  -> (N, 2) float32       the computation (imports umap)
    projection_file(cache_dir, run_dir, params) -> path of its cache   keyed by embeddings + params
    start_projection(run_dir, out, params)      -> launches the job    core.runs.jobs.start_once
    python -m core.embeddings.projection_job --warm            compiles UMAP once per machine (a setup step)
    start_warm_up()                             the same, detached, after WARM_AFTER_S at nice 10, unless done
                                                (the app calls it once per server process, so the
                                                first map a user asks for does not pay for it)
    read_projection(out) / projection_status(out)                      what the page polls and reads

Where the time goes, and what is done about it (2-core CPU, 5,000 x 1,280 embeddings):
- `import umap` compiles pynndescent with numba: ~30 s once per machine, ~3 s afterwards, because
  the job points NUMBA_CACHE_DIR at a per-user folder (numba only caches functions that ask for it).
- umap's own functions do not ask for numba's disk cache, so every new process would pay ~12-20 s
  compiling them; the job turns caching on for them (`_cache_numba_compilations`) before importing.
- Nearest-neighbour descent compiles ~60 s of code that numba cannot cache; up to EXACT_KNN_MAX points
  the exact k nearest neighbours come from a chunked matrix product instead (< 1 s for 5,000) and are
  handed to UMAP as `precomputed_knn`. Larger sets use UMAP's own NNDescent (low_memory).
- Rows are scaled to unit length (so euclidean distance ranks like cosine) and reduced to
  `pca_dims` components before the neighbour search; 200 epochs instead of UMAP's 500 for small sets.

The job keeps `<out>.status.json` (core.runs.status: state, progress 0..1, message, pid, created_at;
`started` in epoch seconds for the page's clock) and writes `<out>` (an .npz: ids, splits, xy) when
done; a page polls the status and then reads the file. Its log is `<out>.log`. Starting, watching
and judging the job go through core.runs.jobs / core.runs.status, like every background job's.
The cache folder is safe to delete.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.embeddings.projection import ProjectionParams, project_embeddings
from core.io.atomic import atomic_write, write_text_atomic
from core.runs.folder import EMBEDDING_IDS, EMBEDDINGS
from core.runs.jobs import spawn, start_once
from core.runs.progress import StatusCallbacks
from core.runs.status import StatusFile, job_status, read_json

JOB_MODULE = "core.embeddings.projection_job"  # `python -m` this module: the job's entry point


ENDED = "the projection job ended without a result"  # the message of a job found dead


# ---------------------------------------------------------------- the cache


def _fingerprint(path: Path) -> str:
    stat = path.stat()
    return f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}"


def projection_key(run_dir: str | Path, params: ProjectionParams) -> str:
    """A name that changes whenever the run's embeddings or the parameters do: <run id>-umap-<hash>."""
    run_dir = Path(run_dir)
    params = params.validate()
    parts = [_fingerprint(run_dir / EMBEDDINGS), _fingerprint(run_dir / EMBEDDING_IDS)]
    digest = hashlib.sha1(json.dumps([parts, asdict(params)], sort_keys=True).encode()).hexdigest()[:16]
    return f"{run_dir.name}-umap-{digest}"


def projection_file(cache_dir: str | Path, run_dir: str | Path, params: ProjectionParams) -> Path:
    """Where the projection of this run's embeddings with these parameters lives: cache/umap/<key>.npz."""
    return Path(cache_dir) / "umap" / f"{projection_key(run_dir, params)}.npz"


def status_file(out: Path) -> Path:
    return Path(out).with_name(Path(out).name + ".status.json")


def log_file(out: Path) -> Path:
    return Path(out).with_name(Path(out).name + ".log")


def write_projection(out: str | Path, ids: Any, splits: Any, xy: np.ndarray) -> Path:
    """Save coordinates atomically (temp file + rename), so a page never reads half a file."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    xy = np.asarray(xy, dtype=np.float32)
    ids = np.asarray([str(i) for i in ids])
    splits = np.asarray([str(s) for s in splits])
    if xy.shape != (len(ids), 2) or len(splits) != len(ids):
        raise ValueError(f"xy must be (N, 2) with N = {len(ids)} ids and splits, got {xy.shape} and {len(splits)}")
    with atomic_write(out, "wb") as handle:
        np.savez(handle, ids=ids, splits=splits, xy=xy)
    return out


def read_projection(out: str | Path) -> pd.DataFrame:
    """A stored projection: columns ID, split, x, y (one row per embedding, the run's order)."""
    with np.load(Path(out), allow_pickle=False) as stored:
        xy = stored["xy"]
        return pd.DataFrame(
            {"ID": stored["ids"].astype(str), "split": stored["splits"].astype(str), "x": xy[:, 0], "y": xy[:, 1]}
        )


def projection_status(out: str | Path) -> dict[str, Any]:
    """The job's status: state (missing | queued | running | succeeded | failed), progress, message.

    A queued or running job whose process is gone reads as failed, with its log's last lines
    (core.runs.status.job_status, as for every background job).
    """
    out = Path(out)
    if out.is_file():
        return {**read_json(status_file(out)), "state": "succeeded", "progress": 1.0}
    return job_status(status_file(out), log=log_file(out), identity=out.name, ended=ENDED)


# ---------------------------------------------------------------- the background job


def numba_cache_dir() -> Path:
    """Numba's compiled-code cache, shared by every project of this user on this machine."""
    explicit = os.environ.get("NUMBA_CACHE_DIR")
    if explicit:
        return Path(explicit)
    from core.home import workbench_home

    return workbench_home() / "numba-cache"


def numba_env() -> dict[str, str]:
    """The job's extra environment: the per-user numba cache (created here, so the job finds it)."""
    cache = numba_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    return {"NUMBA_CACHE_DIR": str(cache)}


def start_projection(run_dir: str | Path, out: str | Path, *, params: ProjectionParams) -> bool:
    """Launch the projection job detached (core.runs.jobs.start_once) unless `out` exists or a job is at work on it.

    Returns True when a job was started. The job survives the page; its status is `projection_status(out)`.
    """
    run_dir, out = Path(run_dir), Path(out)
    params = params.validate()
    if out.is_file():
        return False
    out.parent.mkdir(parents=True, exist_ok=True)
    return start_once(
        JOB_MODULE,
        ["--run-dir", str(run_dir), "--out", str(out), "--params", json.dumps(asdict(params))],
        status=status_file(out),
        log=log_file(out),
        identity=out.name,
        env=numba_env(),
        name=f"reap-umap-{out.stem}",
        message="starting",
        started=time.time(),  # epoch seconds: the page's "· 12 s" clock
    )


def _cache_numba_compilations() -> None:
    """Make numba's decorators cache compiled code on disk by default (only in the job's own process).

    umap-learn declares its kernels without `cache=True`; without this, every new process spends
    ~12-20 s compiling them again. Functions numba cannot cache are compiled as before (a warning).
    """
    import numba

    def with_cache(decorator):
        def wrapped(*args, **kwargs):
            if len(args) == 1 and callable(args[0]) and not kwargs:  # bare @njit
                return decorator(cache=True)(args[0])
            kwargs.setdefault("cache", True)
            return decorator(*args, **kwargs)

        return wrapped

    numba.njit = with_cache(numba.njit)
    numba.jit = with_cache(numba.jit)


def prepare_numba() -> None:
    """In a job process that will import umap: numba's disk cache on (numba_cache_dir) for umap's kernels too."""
    os.environ.setdefault("NUMBA_CACHE_DIR", str(numba_cache_dir()))
    _cache_numba_compilations()


class JobProgress(StatusCallbacks):
    """The job's progress in its status file, with the seconds since it began (elapsed_s)."""

    def __init__(self, status: StatusFile) -> None:
        super().__init__(status, min_interval_s=0.4)
        self.began = time.perf_counter()

    def write(self, fields: dict[str, Any]) -> None:
        super().write({**fields, "elapsed_s": round(time.perf_counter() - self.began, 1)})


def run_projection_job(run_dir: str | Path, out: str | Path, *, params: ProjectionParams) -> Path:
    """The job: read the run's embeddings, project them, write `out`; status written throughout."""
    run_dir, out = Path(run_dir), Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    status = StatusFile(status_file(out))
    status.forget("traceback")  # of an earlier attempt
    status.update(pid=os.getpid(), pgid=os.getpgrp(), state="running", params=asdict(params))
    callbacks = JobProgress(status)
    callbacks.on_progress(progress=0.01, message="reading embeddings")
    try:
        embeddings = np.load(run_dir / EMBEDDINGS, mmap_mode="r")
        ids = pd.read_csv(run_dir / EMBEDDING_IDS, dtype={"ID": str, "split": str}, keep_default_na=False)
        if len(ids) != len(embeddings):
            raise ValueError(f"{EMBEDDING_IDS} has {len(ids)} rows but {EMBEDDINGS} has {len(embeddings)}")
        xy = project_embeddings(np.asarray(embeddings), params=params, callbacks=callbacks)
        write_projection(out, ids["ID"], ids["split"], xy)
    except BaseException as exc:
        status.update(state="failed", message=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc()[-4000:])
        raise
    status.update(
        state="succeeded",
        progress=1.0,
        message=f"{len(xy):,} points",
        duration_s=round(time.perf_counter() - callbacks.began, 1),
    )
    return out


WARM_MARKER = "warm.txt"  # in numba_cache_dir(): the versions a finished warm-up compiled for


def _warm_versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    parts = [sys.version.split()[0]]
    for package in ("umap-learn", "pynndescent", "numba"):
        try:
            parts.append(f"{package}={version(package)}")
        except PackageNotFoundError:
            parts.append(f"{package}=-")
    return " ".join(parts)


def is_warm() -> bool:
    """Whether a warm-up finished on this machine for the installed Python, umap, pynndescent and numba."""
    try:
        return (numba_cache_dir() / WARM_MARKER).read_text().strip() == _warm_versions()
    except OSError:
        return False


def start_warm_up() -> bool:
    """Launch `python -m core.embeddings.projection_job --warm` detached (own session, no shell) unless `is_warm()`.

    Returns True when it was launched. Two warm-ups at once only compile twice; the marker is
    written by whichever finishes.
    """
    if is_warm():
        return False
    env = numba_env()
    after = ["--after", str(WARM_AFTER_S)]  # the first page a user opens gets the cores first
    spawn(
        JOB_MODULE, ["--warm", *after], log=Path(env["NUMBA_CACHE_DIR"]) / "warm.log", env=env, name="reap-umap-warm-up"
    )
    return True


WARM_AFTER_S = 20  # a background warm-up waits this long, then compiles at a low priority (nice 10)


def warm_up() -> float:
    """Compile (and cache on disk) everything a projection needs, on 300 random points; returns seconds.

    The first projection on a machine pays ~30 s of numba compilation; after this (e.g. in a setup
    step: `python -m core.embeddings.projection_job --warm`) it takes seconds.
    """
    started = time.perf_counter()
    points = np.random.default_rng(0).random((300, 64), dtype=np.float32)
    project_embeddings(points, params=ProjectionParams(n_epochs=10))
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Project a run's embeddings to 2-D with UMAP (a background job).")
    parser.add_argument("--run-dir")
    parser.add_argument("--out")
    parser.add_argument("--params", default="{}", help="ProjectionParams as JSON")
    parser.add_argument("--warm", action="store_true", help="only compile and cache UMAP's code on this machine")
    parser.add_argument(
        "--after", type=float, default=0.0, help="with --warm: wait this many seconds, then compile at nice 10"
    )
    args = parser.parse_args(argv)
    if not args.warm and not (args.run_dir and args.out):
        parser.error("--run-dir and --out are required (or --warm)")
    if args.warm and args.after > 0:  # started by a server: its first page view must not share the CPU with numba
        time.sleep(args.after)
        os.nice(10)
    prepare_numba()
    if args.warm:
        seconds = warm_up()
        cache = Path(os.environ["NUMBA_CACHE_DIR"])
        cache.mkdir(parents=True, exist_ok=True)
        write_text_atomic(cache / WARM_MARKER, _warm_versions() + "\n")
        print(f"UMAP compiled and cached in {cache} ({seconds:.1f} s)")
        return 0
    params = ProjectionParams(**json.loads(args.params))
    run_projection_job(args.run_dir, args.out, params=params)
    return 0


if __name__ == "__main__":
    sys.exit(main())
