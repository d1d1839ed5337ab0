"""A second benchmark project from real photos whose classes overlap: Fashion-MNIST, with seeded label noise.

    .venv/bin/python bench/fashion_project.py --out DIR [--regime mixed|systematic] [--train 2000]
                                             [--test 1000] [--noise 0.06] [--seed 0]

The demo (digits) has well separated classes; clothing does not (T-shirt / shirt / pullover / coat
look alike; sneaker / sandal / ankle boot too), which is what competition classes look like. This
writes a project in the competition layout from Debian's `dataset-fashion-mnist` package (offline:
`apt-get install dataset-fashion-mnist`, files under /usr/share/datasets/fashion-mnist/):

    train/   --train upright, clean 64x64 RGB images (the 28x28 photos upscaled, a light paper tint),
             classes mildly imbalanced, --noise of the labels wrong in one of two regimes:
               mixed       70% flipped to a confusable class, 30% to a random other class
               systematic  every wrong label is its class's one partner (sneaker labelled sandal...),
                           concentrated in four source classes: the hardest case for per-class thresholds
    test/    --test images with the competition's test noise (rot90s, flips, colour and brightness
             shifts, blur, Gaussian noise), labelled in test_labels.csv (a hold-out)

The truth about the train labels is kept OUTSIDE the project, in `<DIR>.truth.csv` (ID, given_target,
true_target, flipped): the workbench never sees it, the benchmarks score against it.
"""

from __future__ import annotations

import argparse
import gzip
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.io.csvfile import write_csv_atomic  # noqa: E402

SOURCE = Path("/usr/share/datasets/fashion-mnist")
CLASS_NAMES = ("T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
CLASS_SHARE = (1.0, 0.6, 1.0, 0.8, 1.0, 0.7, 1.0, 0.9, 0.6, 0.8)
# Where an annotator's wrong label goes for each class (the look-alike it is most often confused with).
CONFUSABLE = {0: 6, 1: 3, 2: 4, 3: 0, 4: 2, 5: 7, 6: 0, 7: 5, 8: 2, 9: 7}
SYSTEMATIC_SOURCES = (7, 6, 2, 9)  # sneaker -> sandal, shirt -> T-shirt, pullover -> coat, ankle boot -> sneaker


def read_idx(images: Path, labels: Path) -> tuple[np.ndarray, np.ndarray]:
    """(N, 28, 28) uint8 images and (N,) labels from the gzipped IDX files."""
    with gzip.open(images, "rb") as handle:
        pixels = np.frombuffer(handle.read(), dtype=np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(labels, "rb") as handle:
        targets = np.frombuffer(handle.read(), dtype=np.uint8, offset=8).astype(int)
    return pixels, targets


def render_train(photo: np.ndarray, rng: np.random.Generator, size: int = 64) -> Image.Image:
    """Upright and clean: the photo upscaled, dark garment on a light, slightly tinted background."""
    gray = np.asarray(Image.fromarray(photo).resize((size, size), Image.Resampling.BICUBIC), dtype=np.float32) / 255
    paper = np.array([245, 243, 238], dtype=np.float32) - rng.uniform(0, 12, size=3)
    ink = np.array([25, 25, 35], dtype=np.float32) + rng.uniform(0, 20, size=3)
    pixels = paper * (1 - gray[..., None]) + ink * gray[..., None]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode="RGB")


def render_test(photo: np.ndarray, rng: np.random.Generator, size: int = 64) -> Image.Image:
    """The competition's test noise: rot90, flips, colour and brightness shifts, blur, Gaussian noise."""
    from scipy import ndimage

    gray = np.asarray(Image.fromarray(photo).resize((size, size), Image.Resampling.BICUBIC), dtype=np.float32) / 255
    gray = np.rot90(gray, k=int(rng.integers(0, 4)))
    if rng.random() < 0.35:
        gray = gray[:, ::-1]
    if rng.random() < 0.2:
        gray = gray[::-1, :]
    paper = rng.uniform(150, 255, size=3).astype(np.float32)
    ink = rng.uniform(0, 120, size=3).astype(np.float32)
    pixels = paper * (1 - gray[..., None]) + ink * gray[..., None]
    pixels = pixels * rng.uniform(0.65, 1.25) + rng.uniform(-30, 30)
    if rng.random() < 0.4:
        sigma = rng.uniform(0.6, 1.6)
        pixels = np.stack([ndimage.gaussian_filter(pixels[..., c], sigma) for c in range(3)], axis=-1)
    pixels = pixels + rng.normal(0.0, rng.uniform(4, 28), size=pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode="RGB")


def corrupt_labels(true: np.ndarray, *, regime: str, rate: float, rng: np.random.Generator) -> np.ndarray:
    """The given labels: `rate` of `true` made wrong, the way `regime` says (see the module docstring)."""
    given = true.copy()
    count = int(round(len(true) * rate))
    k = len(CLASS_NAMES)
    if regime == "mixed":
        for i in rng.choice(len(true), size=count, replace=False):
            if rng.random() < 0.7:
                given[i] = CONFUSABLE[int(true[i])]
            else:
                other = int(rng.integers(0, k - 1))
                given[i] = other + 1 if other >= true[i] else other
    elif regime == "systematic":
        per_source = np.full(len(SYSTEMATIC_SOURCES), count // len(SYSTEMATIC_SOURCES))
        per_source[: count % len(SYSTEMATIC_SOURCES)] += 1
        for source, n in zip(SYSTEMATIC_SOURCES, per_source, strict=True):
            rows = rng.choice(np.flatnonzero(true == source), size=int(n), replace=False)
            given[rows] = CONFUSABLE[source]
    else:
        raise ValueError(f"regime must be mixed or systematic, got {regime!r}")
    return given


def build_fashion_project(
    out: str | Path,
    *,
    regime: str = "mixed",
    train: int = 2000,
    test: int = 1000,
    noise: float = 0.06,
    seed: int = 0,
    size: int = 64,
) -> dict:
    """Write the project into `out` (must be absent or empty) and its truth beside it; returns a summary."""
    root = Path(out).expanduser().resolve()
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root}: not empty")
    if not (SOURCE / "train-images-idx3-ubyte.gz").is_file():
        raise FileNotFoundError(f"{SOURCE}: install Debian's dataset-fashion-mnist package")
    rng = np.random.default_rng(seed)
    photos, targets = read_idx(SOURCE / "train-images-idx3-ubyte.gz", SOURCE / "train-labels-idx1-ubyte.gz")
    test_photos, test_targets = read_idx(SOURCE / "t10k-images-idx3-ubyte.gz", SOURCE / "t10k-labels-idx1-ubyte.gz")
    share = np.asarray(CLASS_SHARE) / np.sum(CLASS_SHARE)
    per_class = np.maximum(1, np.round(share * train)).astype(int)
    picks = np.concatenate(
        [rng.choice(np.flatnonzero(targets == c), size=n, replace=False) for c, n in enumerate(per_class)]
    )
    picks = rng.permutation(picks)
    test_picks = rng.choice(len(test_targets), size=test, replace=False)

    (root / "train").mkdir(parents=True, exist_ok=True)
    (root / "test").mkdir(exist_ok=True)
    ids = [f"tr_{n:05d}.png" for n in range(1, len(picks) + 1)]
    for image_id, source in zip(ids, picks, strict=True):
        render_train(photos[source], rng, size).save(root / "train" / image_id)
    test_ids = [f"te_{n:05d}.png" for n in range(1, len(test_picks) + 1)]
    for image_id, source in zip(test_ids, test_picks, strict=True):
        render_test(test_photos[source], rng, size).save(root / "test" / image_id)

    true = targets[picks]
    given = corrupt_labels(true, regime=regime, rate=noise, rng=rng)
    write_csv_atomic(pd.DataFrame({"ID": ids, "target": given}), root / "train.csv")
    write_csv_atomic(pd.DataFrame({"ID": test_ids, "target": 0}), root / "sample_submission.csv")
    write_csv_atomic(pd.DataFrame({"ID": test_ids, "target": test_targets[test_picks]}), root / "test_labels.csv")
    write_csv_atomic(pd.DataFrame({"target": range(len(CLASS_NAMES)), "class_name": CLASS_NAMES}), root / "meta.csv")
    truth = truth_path(root)
    write_csv_atomic(
        pd.DataFrame({"ID": ids, "given_target": given, "true_target": true, "flipped": given != true}), truth
    )
    return {"root": root, "truth": truth, "train": len(ids), "test": len(test_ids), "wrong": int((given != true).sum())}


def truth_path(root: str | Path) -> Path:
    """Where a benchmark project's train-label truth lives: beside the project folder, never inside it."""
    root = Path(root).resolve()
    return root.with_name(root.name + ".truth.csv")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--regime", choices=("mixed", "systematic"), default="mixed")
    parser.add_argument("--train", type=int, default=2000)
    parser.add_argument("--test", type=int, default=1000)
    parser.add_argument("--noise", type=float, default=0.06)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    summary = build_fashion_project(
        args.out, regime=args.regime, train=args.train, test=args.test, noise=args.noise, seed=args.seed
    )
    print(f"{summary['root']}: {summary['train']} train ({summary['wrong']} wrong labels), {summary['test']} test")
    print(f"truth: {summary['truth']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
