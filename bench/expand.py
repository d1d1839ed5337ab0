"""Offline expansion throughput: `workbench expand` (core.recipes.expansion) on a copy of the demo project.

K augmented copies of every train image (decode -> recipe -> PNG, atomic writes) with 1 and 2 worker
processes: images/s in all and per worker, the seconds of the whole command (project load
included), CPU milliseconds per written image (this process and its workers: robust to other load
on a shared box, unlike the wall-clock rates), the MB written, whether all runs wrote the same
bytes (they must), and, beside the W=2 / W=1 ratio, the ratio a pure-Python loop gets from a
second process at that moment (the most a second worker can gain on the box as it is).

    .venv/bin/python bench/expand.py [--source /tmp/bench/demo] [--copies 4] [--workers 1,2]
                                     [--recipe document-scan] [--repeats 2]

The source project is copied first (`cp -r`, its .workbench/ cache included, so the image index is
warm) and the copy is removed at the end; without --source a demo is built (the default 1,550
images, 64 px).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _fixtures import REPO, note, report, temp_dir  # noqa: E402

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

BENCH = "expand"


def _digest(folder: Path) -> str:
    """One hash over every file of the expansion's images/ (names and bytes)."""
    sha = hashlib.sha1()
    for path in sorted((folder / "images").iterdir()):
        sha.update(path.name.encode())
        sha.update(path.read_bytes())
    return sha.hexdigest()


def _megabytes(folder: Path) -> float:
    return sum(p.stat().st_size for p in (folder / "images").iterdir()) / 1e6


def _cpu_seconds() -> float:
    """CPU seconds of this process and of its finished children (the pool's workers, once joined)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _spin(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


def _headroom(workers: int) -> float:
    """Throughput of `workers` processes of a pure-Python loop over one process's: what this box can give
    a second worker right now (2.0 on two idle cores, ~1.0 when other work takes them)."""
    import multiprocessing

    rates = []
    for count in (1, workers):
        started = time.perf_counter()
        with multiprocessing.get_context("fork").Pool(count) as pool:
            pool.map(_spin, [3_000_000] * (2 * workers))
        rates.append(1 / (time.perf_counter() - started))
    return rates[1] / rates[0]


def _project(tmp: Path, source: str | None) -> Path:
    root = tmp / "demo"
    if source and Path(source).is_dir():
        shutil.copytree(source, root, symlinks=True)
        shutil.rmtree(root / ".workbench" / "augmented", ignore_errors=True)
        return root
    from core.project.demo import build_demo

    note(f"no project at {source}: building the demo")
    build_demo(root)
    return root


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="/tmp/bench/demo", help="project to copy (default: the bench demo)")
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--recipe", default="document-scan")
    parser.add_argument("--repeats", type=int, default=2, help="interleaved runs per worker count (best kept)")
    args = parser.parse_args(argv)

    from core.project.dataset import load_dataset
    from core.recipes.expansion_job import run_expansion

    with temp_dir("wb-bench-expand-") as tmp:
        root = _project(tmp, args.source)
        load_dataset(root)  # index once, so every setting below finds it warm
        print(
            f"[{BENCH}] {root} (copy of {args.source}), K={args.copies}, recipe {args.recipe}, "
            f"os.cpu_count()={os.cpu_count()}, load average {os.getloadavg()[0]:.2f}",
            flush=True,
        )
        digests, best = {}, {}
        counts = [int(w) for w in args.workers.split(",")]
        for attempt in range(args.repeats):  # interleaved, so a burst of other load hits every setting alike
            for workers in counts:
                name = f"w{workers}-{attempt}"
                started, cpu = time.perf_counter(), _cpu_seconds()
                result = run_expansion(
                    root, recipe=args.recipe, copies=args.copies, labels="original", workers=workers, name=name
                )
                wall, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
                figures = (result.images / result.seconds, wall, 1000 * cpu / result.images)
                if workers not in best or figures[0] > best[workers][0]:
                    best[workers] = figures
                digests[name] = _digest(result.folder)
                megabytes = _megabytes(result.folder)
                shutil.rmtree(result.folder)
        for workers, (rate, wall, cpu_ms) in best.items():
            report(BENCH, f"W={workers}: images/s (expansion, pool start included)", rate, "img/s")
            report(BENCH, f"W={workers}: images/s per worker", rate / workers, "img/s")
            report(BENCH, f"W={workers}: command seconds ({result.images:,} images, load included)", wall, "s")
            report(BENCH, f"W={workers}: CPU per written image (command, all processes)", cpu_ms, "ms")
        report(BENCH, "written", megabytes, "MB")
        top = max(counts)
        if 1 in best and top > 1:
            report(BENCH, f"W={top} over W=1: images/s ratio", best[top][0] / best[1][0], "x")
            report(
                BENCH, f"the box now: {top} spinning processes over 1 (the ratio idle cores allow)", _headroom(top), "x"
            )
        same = len(set(digests.values())) == 1
        note(
            f"best of {args.repeats} interleaved runs per setting; runs {sorted(digests)} wrote {'the same bytes' if same else 'DIFFERENT bytes (a bug)'}"
        )
        note(f"load average at the end {os.getloadavg()[0]:.2f} (2 shared cores: W=2 gains only what is idle)")


if __name__ == "__main__":
    main()
