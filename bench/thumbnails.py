"""Image indexing throughput: core.project.imageindex.scan_images on 1,000 512x512 JPEGs, cold and warm.

Cold = an empty `.workbench/cache` (every file is opened, fully decoded and thumbnailed) with the
default number of workers; the JPEGs themselves were just written, so they sit in the OS page
cache (disk reads are not timed). Warm = the same call again: a stat per file and a parquet read.

Diagnosis (skip with --no-diagnose): the cost of one image in one process, and a trial of the
proposed fix (JPEG draft at THUMB_PX instead of 2 x THUMB_PX, see `diagnose`), run interleaved
with the current code so both see the same machine load.

    .venv/bin/python bench/thumbnails.py [--n 1000] [--size 512] [--workers N] [--repeat 3]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _fixtures import build_project, note, report, temp_dir  # noqa: E402

BENCH = "thumbnails"
TARGET_IMAGES_PER_S = 300.0


@contextlib.contextmanager
def draft_at_thumb_size():
    """The proposed fix, patched in this process only (forked workers inherit it; core/ is not edited).

    `core.project.imageindex._process` asks `open_rgb` for a JPEG draft of at least 2 x THUMB_PX (320 px);
    for images under 640 px that means no DCT scaling at all: the whole 512x512 is decoded, then
    resized to 160. Asking for THUMB_PX lets libjpeg decode at 1/2 scale (256x256), still reading
    the whole file (truncation is still caught), and the resize has 4x fewer pixels to filter.
    """
    import core.project.imageindex as imageindex
    from core.io.images import open_rgb

    def patched(path, *, max_pixels, draft_size):
        return open_rgb(path, max_pixels=max_pixels, draft_size=(draft_size[0] // 2, draft_size[1] // 2))

    original = imageindex.open_rgb
    imageindex.open_rgb = patched
    try:
        yield
    finally:
        imageindex.open_rgb = original


def cold_scan(folders, cache: Path, workers: int | None):
    from core.project.imageindex import scan_images

    shutil.rmtree(cache, ignore_errors=True)
    before = os.times()
    start = time.perf_counter()
    index = scan_images(folders, cache, workers=workers)
    wall = time.perf_counter() - start
    after = os.times()
    return wall, cpu_seconds(before, after), index


def cpu_seconds(before: os.times_result, after: os.times_result) -> float:
    """CPU time used between two os.times(), this process plus its finished children (the pool's workers)."""
    fields = ("user", "system", "children_user", "children_system")
    return sum(getattr(after, f) - getattr(before, f) for f in fields)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--workers", type=int, default=None, help="scan_images workers (default: its own default)")
    parser.add_argument("--repeat", type=int, default=3, help="cold scans (cache wiped before each); best kept")
    parser.add_argument("--no-diagnose", action="store_true", help="skip the per-image breakdown and the fix trial")
    args = parser.parse_args(argv)

    from core.project.imageindex import scan_images

    print(
        f"[{BENCH}] {args.n:,} {args.size}x{args.size} RGB JPEGs (q90), os.cpu_count()={os.cpu_count()}, "
        f"workers={args.workers or 'default'}, load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    with temp_dir("wb-bench-thumbs-") as tmp:
        root = tmp / "project"
        start = time.perf_counter()
        build_project(root, n_train=args.n, n_test=0, size=args.size, quality=90)
        note(
            f"generated in {time.perf_counter() - start:.1f} s, "
            f"{sum(p.stat().st_size for p in (root / 'train').iterdir()) / args.n / 1024:.0f} KiB per file"
        )
        folders = [("train", root / "train")]
        cache = root / ".workbench" / "cache"

        cold_times, cold_cpu, fix_times, fix_cpu = [], [], [], []
        for _ in range(max(1, args.repeat)):
            seconds, cpu, index = cold_scan(folders, cache, args.workers)
            cold_times.append(seconds)
            cold_cpu.append(cpu)
            if not args.no_diagnose:
                with draft_at_thumb_size():
                    seconds, cpu, _ = cold_scan(folders, cache, args.workers)
                fix_times.append(seconds)
                fix_cpu.append(cpu)
        errors = int((index["error"] != "").sum())
        thumbs = int((index["thumb"] != "").sum())
        note(f"cold scans: {', '.join(f'{t:.2f} s' for t in cold_times)}; {thumbs:,} thumbnails, {errors} errors")

        warm_times = []
        for _ in range(3):
            start = time.perf_counter()
            scan_images(folders, cache, workers=args.workers)
            warm_times.append(time.perf_counter() - start)

        cold = min(cold_times)
        report(BENCH, f"cold scan (empty cache), best of {len(cold_times)}", cold, "s")
        report(
            BENCH, "cold scan throughput", args.n / cold, "images/s", target=TARGET_IMAGES_PER_S, higher_is_better=True
        )
        report(BENCH, "warm re-scan (nothing changed), best of 3", min(warm_times), "s")
        cores = args.workers or os.cpu_count() or 1
        # CPU time is what the scan costs whatever else runs on the machine; wall time is not.
        report(BENCH, "CPU time per image, all processes (min of runs)", min(cold_cpu) / args.n * 1000, "ms")
        report(
            BENCH,
            f"throughput {cores} idle cores would give (cores / CPU per image)",
            cores * args.n / min(cold_cpu),
            "images/s",
        )

        if not args.no_diagnose:
            print("  diagnosis:", flush=True)
            per_image(folders, cache)
            note(f"fix trial cold scans: {', '.join(f'{t:.2f} s' for t in fix_times)}")
            report(BENCH, "PROPOSED FIX: CPU time per image, all processes", min(fix_cpu) / args.n * 1000, "ms")
            report(
                BENCH,
                f"PROPOSED FIX: throughput {cores} idle cores would give",
                cores * args.n / min(fix_cpu),
                "images/s",
                target=TARGET_IMAGES_PER_S,
                higher_is_better=True,
            )
            report(
                BENCH,
                "PROPOSED FIX (draft at THUMB_PX): cold throughput",
                args.n / min(fix_times),
                "images/s",
                target=TARGET_IMAGES_PER_S,
                higher_is_better=True,
            )


def per_image(folders, cache: Path) -> None:
    """One image through `_process` in this process (no pool), current code and with the fix."""
    import core.project.imageindex as imageindex

    folder = folders[0][1]
    sample = imageindex.list_image_files(folder)[:100]
    jobs = [
        imageindex._Job(
            split="train",
            name=name,
            path=str(folder / name),
            size=stat.st_size,
            mtime_ns=stat.st_mtime_ns,
            thumb_path=str(cache / "diag" / f"{i}.jpg"),
            thumb_px=imageindex.THUMB_PX,
            max_pixels=50_000_000,
        )
        for i, (name, stat) in enumerate(sample)
    ]

    def best_ms() -> float:  # CPU time of this process: robust to other load on the machine
        best = float("inf")
        for _ in range(3):
            start = time.process_time()
            for job in jobs:
                imageindex._process(job)
            best = min(best, (time.process_time() - start) / len(jobs))
        return best * 1000

    current = best_ms()
    with draft_at_thumb_size():
        fixed = best_ms()
    report(BENCH, "one image through _process, CPU ms (current)", current, "ms")
    report(BENCH, "one image through _process, CPU ms (draft at THUMB_PX)", fixed, "ms")


if __name__ == "__main__":
    main()
