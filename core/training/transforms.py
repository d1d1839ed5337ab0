"""The image transforms a training run uses (albumentations) and timm's Mixup/CutMix.

A training transform is  recipe -> Resize(image_size) -> Normalize(mean, std) -> ToTensorV2:
the noise is applied at the image's own resolution, as the test images got it, and the model
always sees `image_size` x `image_size`. Evaluation uses Resize -> Normalize -> ToTensorV2 only.
Batch-level mixing (timm's Mixup/CutMix) is `create_mixup`, applied by the loop on the device.

The recipe is the run's (core.recipes.store.run_recipe): the YAML its config stored when it was
created (aug.recipe_yaml), or for older runs the recipe named by aug.recipe, loaded now: a file
`.workbench/recipes/<name>.yaml`, a preset (none, light, document-scan, heavy), or the legacy
"default" (rot90s, flips, Gaussian noise, colour shifts, brightness/contrast, blur), kept as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.recipes.apply import shared_random_state
from core.recipes.serialization import albumentations
from core.recipes.store import RecipeError as RecipeError  # moved to core.recipes.store; importable here as before
from core.recipes.store import run_recipe


def _finish(image_size: int, mean: Sequence[float], std: Sequence[float]) -> list[Any]:
    A = albumentations()
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
    recipe_yaml: str = "",
):
    """recipe -> Resize -> Normalize -> ToTensorV2, as one albumentations Compose (seeded when `seed` is given).

    The noise is `recipe_yaml` (the run's aug.recipe_yaml) when given, else the recipe named `recipe`
    under `recipes_dir` or built in; RecipeError names what is wrong with either.
    Called with `image=` an (H, W, 3) uint8 array; returns {"image": (3, size, size) float tensor}.
    DataLoader workers reseed it (core.training.data.init_worker) so no two workers draw the same noise;
    reseed with core.recipes.apply.shared_random_state(transform, seed), not transform.set_random_seed.
    """
    noise = run_recipe(recipe, recipe_yaml=recipe_yaml, recipes_dir=recipes_dir).compose
    steps = list(noise.transforms) if noise.p == 1 else [noise]  # a recipe applied as a whole is inlined
    pipeline = albumentations().Compose(steps + _finish(image_size, mean, std))
    # One generator shared by every transform, not Compose(seed=): albumentations 2.0 then gives each
    # transform its own generator with the same seed, and their random choices coincide (core.recipes.apply).
    return shared_random_state(pipeline, seed) if seed is not None else pipeline


def create_eval_transform(*, image_size: int, mean: Sequence[float], std: Sequence[float]):
    """Resize -> Normalize -> ToTensorV2: what validation, test prediction and embeddings see."""
    return albumentations().Compose(_finish(image_size, mean, std))


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
