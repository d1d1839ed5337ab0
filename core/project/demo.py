"""The built-in demo project: real handwriting (scikit-learn's bundled digits), shaped like the competition.

    train/  ~1,450 upright, clean 64x64 RGB images, classes imbalanced (some have about half the
            images of others), ~6% of labels flipped the way annotators err
    test/   ~680 images of other writers' digits with the test set's noise: rot90s, flips,
            Gaussian noise, colour and brightness shifts, blur
    train.csv  sample_submission.csv  meta.csv  test_labels.csv (the hold-out's true labels)
    demo_truth.csv  ID, given_target, true_target, flipped: the truth about the flipped train
            labels, for the label-cleaning benchmarks (the workbench itself never reads it)

Nothing is downloaded: `sklearn.datasets.load_digits` ships inside scikit-learn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from core.io.csvfile import write_csv_atomic

CLASS_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


# Share of the largest class each class gets in train: 2, 4, 7 and 9 get about half.
CLASS_SHARE = (1.0, 1.0, 0.5, 0.95, 0.5, 0.85, 1.0, 0.5, 0.9, 0.55)


# Pairs annotators confuse in handwriting; most flips go to the partner, the rest to a random class.
CONFUSABLE = {1: 7, 7: 1, 3: 8, 8: 3, 4: 9, 9: 4, 5: 6, 6: 5, 2: 7, 0: 6}


TRUTH_FILE = "demo_truth.csv"


@dataclass(frozen=True)
class DemoSummary:
    root: Path
    train_images: int
    test_images: int
    flipped: int
    class_counts: dict[int, int]


def _zoom(digit: np.ndarray, size: int) -> np.ndarray:
    """8x8 intensities (0..16) to size x size in [0, 1], bicubic."""
    small = Image.fromarray((digit / 16.0 * 255).astype(np.uint8), mode="L")
    return np.asarray(small.resize((size, size), Image.Resampling.BICUBIC), dtype=np.float32) / 255.0


def _warp(
    ink: np.ndarray, rng: np.random.Generator, *, max_degrees: float, scale: tuple[float, float], shift: float
) -> np.ndarray:
    """A small random rotation, scale and shift about the centre (the writer's variation)."""
    from scipy import ndimage

    size = ink.shape[0]
    angle = math.radians(rng.uniform(-max_degrees, max_degrees))
    factor = rng.uniform(*scale)
    cos, sin = math.cos(angle) / factor, math.sin(angle) / factor
    matrix = np.array([[cos, -sin], [sin, cos]])
    centre = np.array([size / 2 - 0.5, size / 2 - 0.5])
    offset = centre - matrix @ (centre + rng.uniform(-shift, shift, size=2))
    return ndimage.affine_transform(ink, matrix, offset=offset, order=1, mode="constant", cval=0.0)


def _ink_mask(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Soft pen strokes from a blurry intensity map: blur a little, then a steep sigmoid."""
    from scipy import ndimage

    ink = ndimage.gaussian_filter(ink, rng.uniform(0.6, 1.3))
    threshold = rng.uniform(0.35, 0.5)
    return 1.0 / (1.0 + np.exp(-(ink - threshold) * 14.0))


def _compose(mask: np.ndarray, ink_rgb: np.ndarray, paper_rgb: np.ndarray) -> np.ndarray:
    return paper_rgb[None, None, :] * (1.0 - mask[..., None]) + ink_rgb[None, None, :] * mask[..., None]


def render_train(digit: np.ndarray, rng: np.random.Generator, size: int = 64) -> Image.Image:
    """Upright and clean: dark ink on off-white paper, the writer's small variations only."""
    mask = _ink_mask(_warp(_zoom(digit, size), rng, max_degrees=8, scale=(0.82, 0.98), shift=2.5), rng)
    ink = np.array([20, 24, 40], dtype=np.float32) + rng.uniform(0, 25, size=3)
    paper = np.array([246, 244, 238], dtype=np.float32) - rng.uniform(0, 10, size=3)
    pixels = _compose(mask, ink, paper)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode="RGB")


def render_test(digit: np.ndarray, rng: np.random.Generator, size: int = 64) -> Image.Image:
    """The test set's noise: rot90, flips, colour/brightness shifts, Gaussian noise, blur."""
    from scipy import ndimage

    mask = _ink_mask(_warp(_zoom(digit, size), rng, max_degrees=12, scale=(0.8, 1.0), shift=3.0), rng)
    mask = np.rot90(mask, k=int(rng.integers(0, 4)))
    if rng.random() < 0.35:
        mask = mask[:, ::-1]
    if rng.random() < 0.2:
        mask = mask[::-1, :]
    ink = rng.uniform(0, 120, size=3).astype(np.float32)
    paper = rng.uniform(150, 255, size=3).astype(np.float32)
    if rng.random() < 0.15:  # inverted: light ink on dark paper
        ink, paper = 255 - ink * 0.5, paper * 0.35
    pixels = _compose(mask, ink, paper)
    pixels = pixels * rng.uniform(0.65, 1.25) + rng.uniform(-30, 30)  # contrast and brightness
    if rng.random() < 0.4:
        sigma = rng.uniform(0.6, 1.6)
        pixels = np.stack([ndimage.gaussian_filter(pixels[..., c], sigma) for c in range(3)], axis=-1)
    pixels = pixels + rng.normal(0.0, rng.uniform(4, 28), size=pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode="RGB")


def _flip_label(label: int, rng: np.random.Generator, num_classes: int) -> int:
    if label in CONFUSABLE and rng.random() < 0.7:
        return CONFUSABLE[label]
    other = int(rng.integers(0, num_classes - 1))
    return other + 1 if other >= label else other


def build_demo(
    out: str | Path,
    *,
    seed: int = 0,
    per_class: int = 200,
    flip_rate: float = 0.06,
    test_fraction: float = 0.38,
    image_size: int = 64,
    index: bool = True,
) -> DemoSummary:
    """Write the demo project into `out` (created; must be empty or absent). Deterministic for a seed.

    index: also index its images and write their thumbnails (`prepare_first_view`), so the first
    Overview shows pictures at once. False when the folder is moved afterwards (the index holds
    absolute thumbnail paths): call `prepare_first_view` where it ends up.
    """
    from sklearn.datasets import load_digits

    root = Path(out).expanduser()
    if root.exists() and not root.is_dir():
        raise FileExistsError(f"{root}: exists and is not a folder; choose a new folder for the demo project")
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root}: folder is not empty; choose a new folder for the demo project")
    (root / "train").mkdir(parents=True, exist_ok=True)
    (root / "test").mkdir(parents=True, exist_ok=True)

    digits = load_digits()
    images, targets = digits.images, digits.target.astype(int)
    rng = np.random.default_rng(seed)
    num_classes = len(CLASS_NAMES)

    train_rows, test_rows = [], []
    for label in range(num_classes):
        sources = rng.permutation(np.flatnonzero(targets == label))
        n_test = int(round(len(sources) * test_fraction))
        test_sources, train_sources = sources[:n_test], sources[n_test:]
        n_train = int(round(per_class * CLASS_SHARE[label]))
        # Each writer's digit appears at most twice in train, with different small variations.
        picks = np.concatenate([train_sources, rng.permutation(train_sources)])[:n_train]
        train_rows += [(int(i), label) for i in picks]
        test_rows += [(int(i), label) for i in test_sources]

    order = rng.permutation(len(train_rows))
    train_rows = [train_rows[i] for i in order]
    test_rows = [test_rows[i] for i in rng.permutation(len(test_rows))]

    train_records = []
    for n, (source, label) in enumerate(train_rows, 1):
        image_id = f"tr_{n:05d}.jpg"
        render_train(images[source], rng, image_size).save(root / "train" / image_id, quality=92)
        train_records.append((image_id, label))
    test_records = []
    for n, (source, label) in enumerate(test_rows, 1):
        image_id = f"te_{n:05d}.jpg"
        render_test(images[source], rng, image_size).save(root / "test" / image_id, quality=92)
        test_records.append((image_id, label))

    true_labels = np.array([label for _, label in train_records])
    given = true_labels.copy()
    flip_idx = rng.choice(len(given), size=int(round(len(given) * flip_rate)), replace=False)
    for i in flip_idx:
        given[i] = _flip_label(int(given[i]), rng, num_classes)

    ids = [image_id for image_id, _ in train_records]
    _write_tables(root, ids, given, true_labels, test_records)
    if index:
        prepare_first_view(root)
    counts = pd.Series(given).value_counts().sort_index()
    return DemoSummary(
        root=root.resolve(),
        train_images=len(ids),
        test_images=len(test_records),
        flipped=int((given != true_labels).sum()),
        class_counts={int(k): int(v) for k, v in counts.items()},
    )


def _write_tables(
    root: Path, ids: list[str], given: np.ndarray, true_labels: np.ndarray, test_records: list[tuple[str, int]]
) -> None:
    """train.csv, sample_submission.csv, test_labels.csv, meta.csv and the truth file."""
    num_classes = len(CLASS_NAMES)
    write_csv_atomic(pd.DataFrame({"ID": ids, "target": given}), root / "train.csv")
    write_csv_atomic(pd.DataFrame({"ID": [i for i, _ in test_records], "target": 0}), root / "sample_submission.csv")
    write_csv_atomic(
        pd.DataFrame({"ID": [i for i, _ in test_records], "target": [t for _, t in test_records]}),
        root / "test_labels.csv",
    )
    write_csv_atomic(pd.DataFrame({"target": range(num_classes), "class_name": CLASS_NAMES}), root / "meta.csv")
    write_csv_atomic(
        pd.DataFrame({"ID": ids, "given_target": given, "true_target": true_labels, "flipped": given != true_labels}),
        root / TRUTH_FILE,
    )


def prepare_first_view(root: str | Path) -> None:
    """Build now what a project's first page view would: the image index and every thumbnail
    (core.project.dataset.load_dataset), so a new user's first Overview does not wait for them."""
    from core.project.dataset import load_dataset

    load_dataset(root)
