"""Data-pipeline throughput: images/s of the training DataLoader with the default noise recipe.

The demo project rendered at 224 px (JPEGs), read the way a training run reads it: open_rgb ->
the "default" recipe -> Resize(224) -> Normalize -> ToTensorV2, batched by a DataLoader with 0, 1
and 2 workers (persistent, seeded, one thread each). Each setting runs one warm-up pass (worker
start-up), then timed passes; the per-worker figure is what to multiply by data.num_workers when
sizing a GPU box (a GPU step's images/s over it is the workers needed).

    .venv/bin/python bench/data_pipeline.py [--per-class N] [--size PX] [--workers 0,1,2] [--passes N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _fixtures import REPO, note, report, temp_dir  # noqa: E402

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

BENCH = "data_pipeline"


def _stage_costs(paths: list[str], *, size: int) -> dict[str, float]:
    """Milliseconds per image of each stage, in this process (no workers): where the time goes."""
    import albumentations as A
    import numpy as np

    from core.io.images import open_rgb
    from core.training.transforms import create_eval_transform, create_train_transform, default_noise

    noise = A.Compose(default_noise(), seed=0)
    finish = create_eval_transform(image_size=size, mean=(0.5,) * 3, std=(0.5,) * 3)
    full = create_train_transform(
        recipe="default", recipes_dir=Path("."), image_size=size, mean=(0.5,) * 3, std=(0.5,) * 3, seed=0
    )
    decoded = [np.array(open_rgb(Path(p))) for p in paths]
    costs = {}
    for stage, work in (
        ("decode (open_rgb)", lambda i: np.array(open_rgb(Path(paths[i])))),
        ("noise recipe", lambda i: noise(image=decoded[i])),
        ("resize + normalise + tensor", lambda i: finish(image=decoded[i])),
        ("whole transform", lambda i: full(image=decoded[i])),
    ):
        start = time.perf_counter()
        for i in range(len(paths)):
            work(i)
        costs[stage] = (time.perf_counter() - start) / len(paths) * 1000
    return costs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=60, help="demo train images per (large) class")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--workers", default="0,1,2", help="comma-separated worker counts")
    parser.add_argument("--passes", type=int, default=2, help="timed passes over the images per setting")
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args(argv)

    import cv2
    import torch

    from core.project.demo import build_demo
    from core.training.data import ImageDataset, create_loader
    from core.training.transforms import create_train_transform

    with temp_dir("wb-bench-data-") as tmp:
        start = time.perf_counter()
        summary = build_demo(tmp / "demo", per_class=args.per_class, test_fraction=0.02, image_size=args.size)
        paths = sorted(str(p) for p in (tmp / "demo" / "train").iterdir())
        print(
            f"[{BENCH}] {len(paths)} demo JPEGs at {args.size}px (built in {time.perf_counter() - start:.1f} s), "
            f"batch {args.batch}, os.cpu_count()={os.cpu_count()}, load average {os.getloadavg()[0]:.2f}",
            flush=True,
        )
        del summary
        for stage, ms in _stage_costs(paths[:100], size=args.size).items():
            report(BENCH, f"per image, main process: {stage}", ms, "ms")

        for workers in (int(w) for w in args.workers.split(",")):
            if workers == 0:  # the main process runs the pipeline; give it the one-thread budget of a worker
                cv2.setNumThreads(0)
                threads = torch.get_num_threads()
                torch.set_num_threads(1)
            transform = create_train_transform(
                recipe="default", recipes_dir=Path("."), image_size=args.size, mean=(0.5,) * 3, std=(0.5,) * 3, seed=0
            )
            dataset = ImageDataset(paths, [0] * len(paths), transform=transform)
            loader = create_loader(dataset, batch_size=args.batch, num_workers=workers, pin_memory=False, seed=0)
            for _ in loader:  # warm-up: worker start-up, page cache
                pass
            start = time.perf_counter()
            for _ in range(args.passes):
                for _ in loader:
                    pass
            rate = args.passes * len(paths) / (time.perf_counter() - start)
            report(BENCH, f"{workers} worker(s): images/s", rate, "img/s")
            report(BENCH, f"{workers} worker(s): images/s per worker", rate / max(workers, 1), "img/s")
            del loader
            if workers == 0:
                torch.set_num_threads(threads)
        note("per-worker rate x data.num_workers (-1 = min(8, cores)) is what a GPU can be fed")


if __name__ == "__main__":
    main()
