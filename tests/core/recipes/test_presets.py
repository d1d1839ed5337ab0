"""The shipped recipes: each runs on any image, keeps uint8 RGB and the size, and opens in the editor."""

from __future__ import annotations

import numpy as np
import pytest

from core.recipes.apply import apply_recipe
from core.recipes.catalogue import compose_of, steps_of
from core.recipes.presets import BUILT_IN, PRESETS, preset
from core.recipes.store import RecipeError, built_in_recipe, recipe_to_yaml


def _image(shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


@pytest.mark.parametrize("name", BUILT_IN)
@pytest.mark.parametrize(
    "shape",
    [(16, 16, 3), (16, 16), (16, 16, 1), (768, 1024, 3), (768, 1024)],
    ids=["rgb-16", "grey-16", "grey1-16", "rgb-1024x768", "grey-1024x768"],
)
def test_every_preset_keeps_uint8_rgb_and_the_size_on_small_and_large_rgb_and_grey_images(name, shape):
    recipe = built_in_recipe(name)
    for seed in range(3):
        out = apply_recipe(recipe, _image(shape, seed), seed=seed)
        assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
        # a quarter turn swaps height and width, as in the test images; nothing else changes the size
        assert sorted(out.shape[:2]) == sorted(shape[:2]), (name, seed, out.shape)


def test_the_presets_are_the_four_named_and_default_is_the_legacy_recipe_as_it_was():
    assert PRESETS == ("none", "light", "document-scan", "heavy")
    assert [type(t).__name__ for t in preset("none").transforms] == []
    legacy = [type(t).__name__ for t in preset("default").transforms]
    assert legacy == [
        "RandomRotate90",
        "HorizontalFlip",
        "VerticalFlip",
        "OneOf",
        "RandomBrightnessContrast",
        "GaussianBlur",
        "GaussNoise",
    ]
    with pytest.raises(ValueError, match="document-scan"):
        preset("documentscan")


def test_document_scan_imitates_the_test_noise_and_heavy_is_stronger():
    scan = {type(t).__name__: t for t in preset("document-scan").transforms}
    for expected in (
        "RandomRotate90",
        "HorizontalFlip",
        "VerticalFlip",
        "Rotate",
        "InvertImg",
        "RGBShift",
        "RandomBrightnessContrast",
        "GaussianBlur",
        "GaussNoise",
        "ImageCompression",
    ):
        assert expected in scan, expected
    order = [type(t).__name__ for t in preset("document-scan").transforms]
    assert order.index("GaussNoise") > order.index("GaussianBlur")  # noise last, as in the test images
    heavy = {type(t).__name__: t for t in preset("heavy").transforms}
    light = {type(t).__name__: t for t in preset("light").transforms}
    assert set(light) < set(scan) < set(heavy)
    assert heavy["GaussNoise"].std_range[1] > scan["GaussNoise"].std_range[1] > light["GaussNoise"].std_range[1]
    assert heavy["GaussNoise"].p >= scan["GaussNoise"].p >= light["GaussNoise"].p


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_opens_in_the_editor_and_comes_back_the_same(name):
    compose = preset(name)
    steps = steps_of(compose)
    assert len(steps) == len(compose.transforms)
    assert recipe_to_yaml(compose_of(steps)) == recipe_to_yaml(compose)


def test_the_legacy_default_does_not_open_in_the_editor_naming_the_step():
    with pytest.raises(RecipeError, match="step 4: OneOf"):
        steps_of(preset("default"))
