"""Builders of small test projects: seeded PNGs and a valid competition-layout folder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

CLASS_NAMES = ("cat", "dog", "bird")
# One distinct colour per class, so a test can tell which image it is looking at.
CLASS_COLOURS = ((220, 40, 40), (40, 200, 60), (30, 60, 230), (200, 200, 30), (150, 40, 170))


def save_png(path: Path, colour: Sequence[int], *, size: int = 32, seed: int = 0) -> Path:
    """A small RGB PNG: a solid colour with a little seeded noise (so files differ)."""
    rng = np.random.default_rng(seed)
    pixels = np.empty((size, size, 3), dtype=np.int16)
    pixels[:] = np.asarray(colour, dtype=np.int16)
    pixels += rng.integers(-5, 6, size=pixels.shape, dtype=np.int16)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode="RGB").save(path, format="PNG")
    return path


def _write_text(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def build_project(
    tmp_path: Path,
    *,
    name: str = "project",
    classes: Sequence[str] = CLASS_NAMES,
    per_class: int = 3,
    test_images: int = 4,
    size: int = 32,
    meta: bool = True,
) -> Path:
    """Write a small valid project under `tmp_path / name` and return its folder.

    train/: `per_class` PNGs per class named `<class>_<n>.png`; train.csv lists them in that order
    (class index order, then n), so row r of the CSV (header = row 1) is image number r - 2.
    test/: `test_images` PNGs `test_<n>.png` listed in sample_submission.csv; meta.csv when `meta`.
    """
    root = tmp_path / name
    (root / "train").mkdir(parents=True)
    (root / "test").mkdir()
    train_lines = ["ID,target"]
    seed = 0
    for target, class_name in enumerate(classes):
        for n in range(per_class):
            image_id = f"{class_name}_{n}.png"
            save_png(root / "train" / image_id, CLASS_COLOURS[target % len(CLASS_COLOURS)], size=size, seed=seed)
            train_lines.append(f"{image_id},{target}")
            seed += 1
    test_lines = ["ID,target"]
    for n in range(test_images):
        image_id = f"test_{n}.png"
        save_png(root / "test" / image_id, CLASS_COLOURS[n % len(classes)], size=size, seed=1000 + n)
        test_lines.append(f"{image_id},0")
    _write_text(root / "train.csv", train_lines)
    _write_text(root / "sample_submission.csv", test_lines)
    if meta:
        _write_text(root / "meta.csv", ["target,class_name"] + [f"{t},{n}" for t, n in enumerate(classes)])
    return root


def noise_image(size: int = 64, seed: int = 0) -> Image.Image:
    """A size x size RGB image of seeded random pixels."""
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8), mode="RGB")


def rotated_jpeg(path: Path) -> Path:
    """Stored 40 wide x 20 tall, left half red, right half blue, with EXIF orientation 6.

    Orientation 6 means "rotate 90 degrees clockwise to view": upright it is 20 wide x 40 tall,
    red on top (the stored left edge) and blue at the bottom.
    """
    stored = Image.new("RGB", (40, 20), (0, 0, 255))
    stored.paste((255, 0, 0), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(path, format="JPEG", exif=exif.tobytes(), quality=95)
    return path


def probs_run(layout, run_id: str, given, probs, *, embeddings=None, overrides=(), labels="original") -> None:
    """A succeeded scan run (config `overrides`, trained on `labels`) holding `probs` (N, K) as its
    out-of-fold probabilities for labels `given`."""
    from core.config import resolve_config
    from core.runs.folder import RunWriter, create_run, write_embeddings, write_oof

    run_dir = create_run(layout, resolve_config(kind="scan", overrides=list(overrides)), run_id=run_id)
    ids = [f"img_{i:04d}.png" for i in range(len(given))]
    write_oof(run_dir, ids, np.arange(len(given)) % 3, np.asarray(given), probs)
    if embeddings is not None:
        write_embeddings(run_dir, ids, ["train"] * len(ids), embeddings)
    RunWriter(run_dir).status(state="succeeded", labels=labels)


def noisy_problem(n: int = 1200, k: int = 5, flip_rate: float = 0.08, seed: int = 0):
    """(true, given, pred_probs, flipped): a model right ~90% of the time on the truth, labels flipped at random."""
    rng = np.random.default_rng(seed)
    true = rng.integers(0, k, n)
    flipped = rng.random(n) < flip_rate
    given = true.copy()
    given[flipped] = (true[flipped] + rng.integers(1, k, flipped.sum())) % k
    logits = rng.normal(0, 1.0, (n, k))
    logits[np.arange(n), true] += 3.0
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return true, given, probs, flipped


def overlapping_problem(n: int = 1200, k: int = 5, flip_rate: float = 0.05, seed: int = 0):
    """(true, given, pred_probs, flipped) where classes 0 and 1 overlap, like shirt and T-shirt.

    For an image of class 0 or 1 the model splits its probability between the two, leaning only a
    little towards the true one (a person would call many of them ambiguous); classes 2..k-1 are well
    separated and the model is confident on them. flip_rate of the labels go to a random other class.
    """
    rng = np.random.default_rng(seed)
    true = rng.integers(0, k, n)
    flipped = rng.random(n) < flip_rate
    given = true.copy()
    given[flipped] = (true[flipped] + rng.integers(1, k, flipped.sum())) % k
    logits = rng.normal(0, 0.5, (n, k))
    logits[np.arange(n), true] += 6.0
    pair = np.isin(true, (0, 1))
    lean = np.where(true[pair] == 0, 0.3, -0.3) + rng.normal(0, 0.5, pair.sum())
    logits[pair, 0] = 6.0 + lean
    logits[pair, 1] = 6.0 - lean
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return true, given, probs, flipped
