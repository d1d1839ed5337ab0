"""A recipe applied to images, the same way every time for a seed (previews, scans' copies, expansion).

    apply_recipe(recipe, image, seed=)              one noisy version of an image
    augmented_copies(recipe, image, copies=, seed=) `copies` of them; copy k uses copy_seed(seed, k)
    as_rgb(image)                                   grey (H, W) / (H, W, 1) or RGBA -> (H, W, 3) uint8
    shared_random_state(pipeline, seed)             how any albumentations pipeline should be seeded

Determinism: a private copy of the recipe's pipeline (concurrent callers, e.g. Streamlit threads,
never share random state) gets ONE numpy and ONE python generator made from the seed, shared by
all its transforms (`shared_random_state`). Not albumentations' own `Compose(seed=)` /
`set_random_seed` (2.0.x): that gives every transform its own generator with the same seed, so
their draws are the same numbers: two flips with p = 0.5 are always both applied or neither.
The same seed gives the same image only with the same albumentations (and OpenCV) version.
"""

from __future__ import annotations

import copy
import random
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from core.recipes.store import Recipe


def as_rgb(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8: grey (H, W) or (H, W, 1) repeated into 3 channels, RGBA without its alpha.

    Raises ValueError for another dtype or shape.
    """
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {image.dtype}")
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4) or 0 in image.shape[:2]:
        raise ValueError(f"expected an (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) image, got shape {image.shape}")
    if image.shape[2] == 1:
        return np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image[..., :3])


def shared_random_state(pipeline: Any, seed: int) -> Any:
    """Seed an albumentations pipeline so that all its transforms draw from one stream; returns it.

    Use this, not `set_random_seed` / `Compose(seed=)`, whose per-transform generators with the same
    seed make the transforms' random choices identical (see the module docstring).
    """
    pipeline.set_random_state(np.random.default_rng(int(seed)), random.Random(int(seed)))
    return pipeline


def copy_seed(seed: int, copy_index: int) -> int:
    """The seed of copy `copy_index` of an image given `seed` (a 32-bit int; seeds must be >= 0)."""
    return int(np.random.SeedSequence([int(seed), int(copy_index)]).generate_state(1)[0])


def apply_recipe(recipe: Recipe, image: np.ndarray, *, seed: int) -> np.ndarray:
    """The image (any size; RGB, grey or RGBA, uint8) through the recipe: (H', W', 3) uint8, the same for a seed."""
    return _outputs(recipe, image, seeds=[seed])[0]


def augmented_copies(recipe: Recipe, image: np.ndarray, *, copies: int, seed: int) -> list[np.ndarray]:
    """`copies` noisy versions of the image; copy k is apply_recipe(recipe, image, seed=copy_seed(seed, k))."""
    if copies < 0:
        raise ValueError(f"copies must be >= 0, got {copies}")
    return _outputs(recipe, image, seeds=[copy_seed(seed, k) for k in range(copies)])


def _outputs(recipe: Recipe, image: np.ndarray, *, seeds: list[int]) -> list[np.ndarray]:
    """One output per seed, from one private copy of the pipeline reseeded before each."""
    rgb = as_rgb(image)
    pipeline = copy.deepcopy(recipe.compose)
    outputs = []
    for seed in seeds:
        shared_random_state(pipeline, seed)
        outputs.append(np.ascontiguousarray(pipeline(image=rgb.copy())["image"]))
    return outputs
