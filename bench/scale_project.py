"""A synthetic project at scale: 200,000 small images (train/test, 17 classes) and a fake succeeded scan run.

    .venv/bin/python bench/scale_project.py --out DIR [--images 200000] [--dim 1752] [--classes 17]
        [--test-fraction 0.3] [--size 32] [--format png|jpg] [--workers 2] [--seed 0] [--index]

Writes the competition layout (DESIGN.md "The project folder") into DIR (absent or empty):
train/ test/ (size x size images: a class colour, a gradient and pixel noise), train.csv,
sample_submission.csv, meta.csv, test_labels.csv; and one scan run in .workbench/runs/<id>/ that
follows the run folder contract: config.yaml + status.json (core.runs.folder.create_run with the
default scan config), events.jsonl, log.txt, oof.csv (5 folds), test_probs.csv, submission.csv,
embeddings.npy (N x dim float32, what core.runs.folder.write_embeddings writes; 1,752 is the default
scan's `multi` features of tf_efficientnet_lite0) + embeddings_ids.csv, then state `succeeded` with
the headline metrics. Probabilities are right for about 85% of the images, embeddings cluster by class.
Prints the seconds and the rate of each part (images are written by --workers processes).
--index also indexes the images (core.project.dataset.load_dataset: decode check + thumbnails) and
prints that rate. The embeddings alone are N x dim x 4 bytes (1.4 GB at the defaults).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

RUN_ID = "20260101-000000-scan-scal"  # sorts before real runs' ids (new_run_id: UTC time first)
ACCURACY = 0.85
FOLDS = 5
CHUNK = 500  # images per task of the writer pool; also rows per embeddings block


def _colours(num_classes: int) -> np.ndarray:
    return np.random.default_rng(12345).integers(30, 226, size=(num_classes, 3))


def _write_chunk(task: tuple[str, list[str], list[int], int, str, int, int]) -> float:
    """Write one chunk of images (a worker of the pool); returns the CPU seconds it took."""
    from PIL import Image

    cpu = time.process_time()

    folder, names, targets, size, fmt, seed, num_classes = task
    colours = _colours(num_classes)
    rng = np.random.default_rng(seed)
    ramp = np.linspace(-40, 40, size, dtype=np.float32)
    for name, target in zip(names, targets):
        direction = rng.integers(0, 2)
        gradient = ramp[None, :, None] if direction else ramp[:, None, None]
        noise = rng.normal(0, 18, size=(size, size, 3)).astype(np.float32)
        pixels = np.clip(colours[target][None, None, :] + gradient + noise, 0, 255).astype(np.uint8)
        image = Image.fromarray(pixels, "RGB")
        if fmt == "png":
            image.save(Path(folder) / name, format="PNG", compress_level=1)
        else:
            image.save(Path(folder) / name, format="JPEG", quality=90)
    return time.process_time() - cpu


def write_images(folder: Path, ids: list[str], targets: np.ndarray, args: argparse.Namespace) -> float:
    """Write the images with `args.workers` processes; returns their CPU seconds (robust to other load)."""
    folder.mkdir(parents=True, exist_ok=True)
    tasks = [
        (str(folder), ids[i : i + CHUNK], [int(t) for t in targets[i : i + CHUNK]], args.size, args.format,
         args.seed * 1_000_003 + i, args.classes)
        for i in range(0, len(ids), CHUNK)
    ]  # fmt: skip
    if args.workers <= 1:
        return sum(_write_chunk(task) for task in tasks)
    with Pool(args.workers) as pool:
        return sum(pool.imap_unordered(_write_chunk, tasks))


def write_tables(root: Path, train_ids, train_y, test_ids, test_y, num_classes: int) -> None:
    from core.io.csvfile import write_csv_atomic

    write_csv_atomic(pd.DataFrame({"ID": train_ids, "target": train_y}), root / "train.csv")
    write_csv_atomic(pd.DataFrame({"ID": test_ids, "target": 0}), root / "sample_submission.csv")
    write_csv_atomic(pd.DataFrame({"ID": test_ids, "target": test_y}), root / "test_labels.csv")
    names = [f"class_{k:02d}" for k in range(num_classes)]
    write_csv_atomic(pd.DataFrame({"target": range(num_classes), "class_name": names}), root / "meta.csv")


def fake_probs(labels: np.ndarray, num_classes: int, rng: np.random.Generator) -> np.ndarray:
    """Rows summing to 1: the top class is the label with probability ACCURACY, else a random one."""
    predicted = np.where(rng.random(len(labels)) < ACCURACY, labels, rng.integers(0, num_classes, len(labels)))
    confidence = rng.uniform(0.3, 0.97, len(labels))
    probs = np.tile(((1 - confidence) / (num_classes - 1))[:, None], (1, num_classes))
    probs[np.arange(len(labels)), predicted] = confidence
    return probs.astype(np.float32)


def write_embeddings(run_dir: Path, labels: np.ndarray, dim: int, rng: np.random.Generator) -> None:
    """embeddings.npy (N, dim) float32 like core.runs.folder.write_embeddings, written block by block
    (atomically) so 200,000 x 1,752 never sits in memory twice."""
    from core.io.atomic import atomic_write
    from core.runs.folder import EMBEDDINGS

    centres = rng.normal(size=(int(labels.max()) + 1, dim)).astype(np.float32)
    with atomic_write(run_dir / EMBEDDINGS, "wb") as handle:
        header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)), "fortran_order": False}
        np.lib.format.write_array_header_1_0(handle, {**header, "shape": (len(labels), dim)})
        for start in range(0, len(labels), CHUNK * 4):
            block = labels[start : start + CHUNK * 4]
            rows = centres[block] + rng.normal(scale=1.5, size=(len(block), dim)).astype(np.float32)
            handle.write(np.ascontiguousarray(rows, dtype=np.float32).tobytes())


def write_run(root: Path, train_ids, train_y, test_ids, test_y, args: argparse.Namespace) -> Path:
    """The fake succeeded scan run, through core.runs.folder's own writers."""
    from core.analysis.predictions import prediction_table
    from core.analysis.scores import headline_metrics
    from core.config import resolve_config
    from core.io.csvfile import write_csv_atomic
    from core.project.layout import open_layout
    from core.runs.folder import (
        EMBEDDING_IDS,
        LOG,
        RunWriter,
        create_run,
        read_oof,
        read_test_probs,
        write_oof,
        write_test_outputs,
    )
    from core.runs.status import now_iso

    rng = np.random.default_rng(args.seed + 7)
    layout = open_layout(root)
    run_dir = create_run(layout, resolve_config(kind="scan"), run_id=RUN_ID)
    writer = RunWriter(run_dir)
    writer.status(state="running", started_at=now_iso(), message="synthetic (bench/scale_project.py)")
    folds = rng.permutation(len(train_ids)) % FOLDS
    write_oof(run_dir, train_ids, folds, train_y, fake_probs(train_y, args.classes, rng))
    write_test_outputs(run_dir, test_ids, fake_probs(test_y, args.classes, rng))
    write_embeddings(run_dir, np.concatenate([train_y, test_y]), args.dim, rng)
    ids = pd.DataFrame(
        {"ID": list(train_ids) + list(test_ids), "split": ["train"] * len(train_ids) + ["test"] * len(test_ids)}
    )
    write_csv_atomic(ids, run_dir / EMBEDDING_IDS)
    for fold in range(FOLDS):
        writer.event("progress", progress=(fold + 1) / FOLDS, fold=fold, message=f"fold {fold + 1}/{FOLDS}")
    (run_dir / LOG).write_text("synthetic scan run written by bench/scale_project.py\n", encoding="utf-8")
    truth = pd.DataFrame({"ID": test_ids, "target": test_y})
    table = prediction_table(read_oof(run_dir), read_test_probs(run_dir), truth, num_classes=args.classes)
    metrics = headline_metrics(table, num_classes=args.classes)
    writer.status(
        state="succeeded",
        progress=1.0,
        finished_at=now_iso(),
        metrics=metrics,
        labels="original",
        train_rows=len(train_ids),
        test_rows=len(test_ids),
        duration_s=0.0,
        message="finished",
    )
    return run_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="project folder to create (absent or empty)")
    parser.add_argument("--images", type=int, default=200_000, help="train + test images")
    parser.add_argument("--dim", type=int, default=1752, help="embedding dimensions (the default scan: 1,752)")
    parser.add_argument("--classes", type=int, default=17)
    parser.add_argument("--test-fraction", type=float, default=0.3)
    parser.add_argument("--size", type=int, default=32, help="image side in pixels")
    parser.add_argument("--format", choices=("png", "jpg"), default="png")
    parser.add_argument("--workers", type=int, default=2, help="processes writing images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--index", action="store_true", help="also index the images (thumbnails) and time it")
    args = parser.parse_args(argv)

    root = Path(args.out).expanduser()
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        print(f"error: {root}: exists and is not an empty folder", file=sys.stderr)
        return 1
    rng = np.random.default_rng(args.seed)
    n_test = int(round(args.images * args.test_fraction))
    n_train = args.images - n_test
    weights = np.linspace(1.0, 0.35, args.classes)  # imbalanced, like a real competition
    train_y = rng.choice(args.classes, size=n_train, p=weights / weights.sum())
    test_y = rng.choice(args.classes, size=n_test)
    train_ids = [f"tr_{i:06d}.{args.format}" for i in range(n_train)]
    test_ids = [f"te_{i:06d}.{args.format}" for i in range(n_test)]

    started = time.perf_counter()
    cpu_s = write_images(root / "train", train_ids, train_y, args) + write_images(root / "test", test_ids, test_y, args)
    images_s = time.perf_counter() - started
    write_tables(root, train_ids, train_y, test_ids, test_y, args.classes)
    run_start = time.perf_counter()
    run_dir = write_run(root, train_ids, train_y, test_ids, test_y, args)
    run_s = time.perf_counter() - run_start
    print(f"images: {args.images:,} ({n_train:,} train, {n_test:,} test) in {images_s:.1f} s = "
          f"{args.images / images_s:,.0f} images/s with {args.workers} worker(s)")  # fmt: skip
    per_image = cpu_s / args.images
    print(f"  CPU {per_image * 1000:.2f} ms per image: {args.workers} idle cores would write "
          f"{args.workers / per_image:,.0f} images/s")  # fmt: skip
    print(f"scan run {run_dir.name}: {args.images:,} x {args.dim} embeddings + CSVs in {run_s:.1f} s")
    if args.index:
        from core.project.dataset import load_dataset

        index_start = time.perf_counter()
        data = load_dataset(root)
        index_s = time.perf_counter() - index_start
        print(f"index (decode check + thumbnails): {len(data.images):,} images in {index_s:.1f} s = "
              f"{len(data.images) / index_s:,.0f} images/s")  # fmt: skip
    print(f"total {time.perf_counter() - started:.1f} s, load average {os.getloadavg()[0]:.2f}")
    print(root.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
