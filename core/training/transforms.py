"""Noise recipes and the image transforms a training run uses (albumentations).

    recipe "default"  the competition's test noise, imitated: rot90s, flips, Gaussian noise,
                      colour shifts, brightness/contrast, blur, each with a moderate probability
    recipe "none"     nothing: resize + normalise only
    recipe <name>     `.workbench/recipes/<name>.yaml`, an albumentations serialization
                      (`albumentations.save(compose, path, data_format="yaml")`)

A training transform is  recipe -> Resize(image_size) -> Normalize(mean, std) -> ToTensorV2:
the noise is applied at the image's own resolution, as the test images got it, and the model
always sees `image_size` x `image_size`. Evaluation uses Resize -> Normalize -> ToTensorV2 only.
Batch-level mixing (timm's Mixup/CutMix) is `create_mixup`, applied by the loop on the device.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

BUILT_IN_RECIPES = ("default", "none")


class RecipeError(ValueError):
    """A noise recipe that cannot be used; the message names the recipe file."""


def default_noise() -> list[Any]:
    """Transforms imitating the test set's noise (see core.project.demo.render_test for the demo's version)."""
    import albumentations as A

    return [
        A.RandomRotate90(p=0.5),
        A.HorizontalFlip(p=0.5),
        A.VerticalFlip(p=0.5),
        A.OneOf(
            [
                A.HueSaturationValue(hue_shift_limit=15, sat_shift_limit=30, val_shift_limit=20, p=1.0),
                A.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.3, hue=0.05, p=1.0),
            ],
            p=0.4,
        ),
        A.RandomBrightnessContrast(brightness_limit=0.15, contrast_limit=0.3, p=0.5),
        A.GaussianBlur(sigma_limit=(0.5, 1.6), p=0.3),
        A.GaussNoise(std_range=(0.02, 0.1), p=0.5),  # sigma 5..25 on 0..255, like the test images
    ]


def recipe_path(name: str, *, recipes_dir: Path) -> Path:
    return Path(recipes_dir) / f"{name}.yaml"


def load_recipe(name: str, *, recipes_dir: Path) -> list[Any]:
    """The noise transforms of a recipe: built in, or loaded (and dry-run once) from its YAML file."""
    import albumentations as A

    if name == "default":
        return default_noise()
    if name == "none":
        return []
    path = recipe_path(name, recipes_dir=recipes_dir)
    if not path.is_file():
        known = sorted(p.stem for p in Path(recipes_dir).glob("*.yaml")) if Path(recipes_dir).is_dir() else []
        raise RecipeError(
            f"noise recipe {name!r}: file {path} not found (built in: {', '.join(BUILT_IN_RECIPES)}; "
            f"saved: {', '.join(known) or 'none'})"
        )
    try:
        loaded = A.load(str(path), data_format="yaml")
    except Exception as exc:  # noqa: BLE001 - yaml errors, unknown transform names, bad arguments...
        raise RecipeError(f"noise recipe {name!r}: {path} is not a valid albumentations recipe: {exc}") from exc
    if not isinstance(loaded, A.BaseCompose | A.BasicTransform):
        raise RecipeError(f"noise recipe {name!r}: {path} holds {type(loaded).__name__}, not albumentations transforms")
    try:  # a recipe that needs masks or boxes, or breaks on RGB uint8, fails here rather than in a worker
        loaded(image=np.zeros((32, 32, 3), dtype=np.uint8))
    except Exception as exc:  # noqa: BLE001
        raise RecipeError(f"noise recipe {name!r}: {path} fails on an RGB image: {exc}") from exc
    return [loaded]


def _finish(image_size: int, mean: Sequence[float], std: Sequence[float]) -> list[Any]:
    import albumentations as A
    from albumentations.pytorch import ToTensorV2

    return [
        A.Resize(image_size, image_size, area_for_downscale="image"),
        A.Normalize(mean=tuple(mean), std=tuple(std)),
        ToTensorV2(),
    ]


def create_train_transform(
    *,
    recipe: str,
    recipes_dir: Path,
    image_size: int,
    mean: Sequence[float],
    std: Sequence[float],
    seed: int | None = None,
):
    """recipe -> Resize -> Normalize -> ToTensorV2, as one albumentations Compose (own seeded RNG).

    Called with `image=` an (H, W, 3) uint8 array; returns {"image": (3, size, size) float tensor}.
    DataLoader workers reseed it (core.training.data.init_worker) so no two workers draw the same noise.
    """
    import albumentations as A

    return A.Compose(load_recipe(recipe, recipes_dir=recipes_dir) + _finish(image_size, mean, std), seed=seed)


def create_eval_transform(*, image_size: int, mean: Sequence[float], std: Sequence[float]):
    """Resize -> Normalize -> ToTensorV2: what validation, test prediction and embeddings see."""
    import albumentations as A

    return A.Compose(_finish(image_size, mean, std))


def create_mixup(*, mixup_alpha: float, cutmix_alpha: float, mix_prob: float, label_smoothing: float, num_classes: int):
    """timm's batch-level Mixup/CutMix, or None when both alphas are 0.

    Called on a batch (images (B, 3, S, S), labels (B,)) it returns the mixed images and (B, K)
    soft targets, smoothed by `label_smoothing`. B must be even (the loop drops an odd last row).
    """
    if mixup_alpha <= 0 and cutmix_alpha <= 0:
        return None
    from timm.data import Mixup

    return Mixup(
        mixup_alpha=mixup_alpha,
        cutmix_alpha=cutmix_alpha,
        prob=mix_prob,
        label_smoothing=label_smoothing,
        num_classes=num_classes,
    )
