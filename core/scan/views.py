"""What a scan embeds besides the images themselves: augmented copies and dihedral test views.

    RecipeCopy(recipe_name=, recipe_yaml=, version=, seed=, copy=)   copy k of each train image through
                                             the noise recipe (core.recipes.apply); key
                                             "recipe:<version>:<COPY_SCHEME>:albumentations=<its version>:
                                             seed=<seed>:copy=<k>"
    DihedralView(v)                          view v of 0..7 (`dihedral`); key "dihedral:<v>"
    dihedral(pixels, v)                      rot90 by v % 4 quarter turns, then a left-right mirror for v >= 4
    image_seed(seed, copy, path)             the recipe's seed for one copy of one image

Both are `core.embeddings.features.ImageView`s: small picklable objects (DataLoader workers get a
copy) whose `key` goes into each embedded row's cache fingerprint, so a copy is embedded once per
(recipe version, seed, copy index, image file) and a changed recipe re-embeds its copies only.
A copy's seed hashes the file's name, not its folder or row number: the same image gets the same
noise in a copied project and in a train set with other rows dropped. The same seed gives the same
noise only with the same albumentations and the same seeding in core.recipes.apply, so the key names
albumentations' version and COPY_SCHEME (bump it when apply_recipe turns a seed into noise
differently: cached copies made the old way are then embedded again, never mixed in).
"""

from __future__ import annotations

import hashlib
from pathlib import PurePath
from typing import Any

import numpy as np

DIHEDRAL_VIEWS = 8  # rot90 x 4, each with and without a mirror


COPY_SCHEME = "apply2"  # apply_recipe with one shared random stream per seed (core.recipes.apply)


def _albumentations_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("albumentations")
    except PackageNotFoundError:  # pragma: no cover - a recipe cannot run without it anyway
        return "unknown"


def dihedral(pixels: np.ndarray, v: int) -> np.ndarray:
    """(H, W, C) -> view v: `v % 4` quarter turns anticlockwise (np.rot90), then mirrored left-right when v >= 4."""
    if not 0 <= v < DIHEDRAL_VIEWS:
        raise ValueError(f"a dihedral view is 0..7, got {v}")
    out = np.rot90(pixels, k=v % 4)
    return np.ascontiguousarray(out[:, ::-1] if v >= 4 else out)


def image_seed(seed: int, copy: int, path: str) -> int:
    """A 31-bit seed from (seed, copy index, file name): deterministic, different for every copy of every image."""
    text = f"{int(seed)}|{int(copy)}|{PurePath(path).name}"
    return int.from_bytes(hashlib.sha1(text.encode()).digest()[:4], "big") & 0x7FFFFFFF


class DihedralView:
    """The scan's test-time view v (see `dihedral`); view 0 is the image itself."""

    def __init__(self, v: int) -> None:
        if not 0 <= v < DIHEDRAL_VIEWS:
            raise ValueError(f"a dihedral view is 0..7, got {v}")
        self.v = v
        self.key = f"dihedral:{v}"

    def __call__(self, pixels: np.ndarray, path: str) -> np.ndarray:  # noqa: ARG002 - the same turn for every image
        return dihedral(pixels, self.v)


class RecipeCopy:
    """Augmented copy `copy` (0-based) of each image through a noise recipe given by its YAML text.

    The same pixels as `core.recipes.apply.apply_recipe(recipe, image, seed=image_seed(seed, copy, path))`,
    without its copy of the pipeline per image (3 of its ~4 ms on a 64 px image): the recipe is parsed
    on first use in each process into a pipeline of this object's own, reseeded before every image
    (`shared_random_state`, as apply_recipe does). That pipeline is not pickled (a DataLoader worker
    parses its own), so the object stays small and worker safe; one object is not for two threads.
    """

    def __init__(self, *, recipe_name: str, recipe_yaml: str, version: str, seed: int, copy: int) -> None:
        self.recipe_name, self.recipe_yaml, self.version = recipe_name, recipe_yaml, version
        self.seed, self.copy = int(seed), int(copy)
        scheme = f"{COPY_SCHEME}:albumentations={_albumentations_version()}"
        self.key = f"recipe:{version}:{scheme}:seed={self.seed}:copy={self.copy}"
        self._pipeline: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_pipeline": None}

    def __call__(self, pixels: np.ndarray, path: str) -> np.ndarray:
        from core.recipes.apply import as_rgb, shared_random_state

        if self._pipeline is None:
            from core.recipes.store import parse_recipe

            self._pipeline = parse_recipe(self.recipe_yaml, name=self.recipe_name).compose
        shared_random_state(self._pipeline, image_seed(self.seed, self.copy, path))
        return np.ascontiguousarray(self._pipeline(image=as_rgb(pixels).copy())["image"])
