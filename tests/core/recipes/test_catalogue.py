"""The editor's catalogue: every transform builds and runs; parameters are checked and named; steps round-trip."""

from __future__ import annotations

import pytest

from core.recipes.catalogue import KINDS, TRANSFORMS, Step, build_step, compose_of, steps_of
from core.recipes.presets import preset
from core.recipes.store import RecipeError, parse_recipe, recipe_to_yaml


def test_every_catalogue_transform_builds_from_its_defaults_and_keeps_uint8_rgb():
    for name, spec in TRANSFORMS.items():
        assert spec.name == name and spec.summary
        for param in spec.params:
            assert param.kind in KINDS and param.help, (name, param.name)
    steps = [Step(name, 1.0, {}) for name in TRANSFORMS]
    # parse_recipe tries every step on an RGB and a grey image and checks uint8 RGB comes out
    recipe = parse_recipe(recipe_to_yaml(compose_of(steps)), name="everything")
    assert [s.name for s in steps_of(recipe.compose)] == list(TRANSFORMS)


def test_the_catalogue_covers_every_transform_the_presets_use():
    used = {type(t).__name__ for name in ("light", "document-scan", "heavy") for t in preset(name).transforms}
    assert used <= set(TRANSFORMS)


def test_a_step_takes_the_defaults_it_is_not_given_and_its_values_as_given():
    noise = build_step("GaussNoise", {"std_range": [0.1, 0.3], "p": 1})
    assert noise.std_range == (0.1, 0.3) and noise.p == 1.0 and noise.per_channel is True
    rotate = build_step("Rotate", {"border_mode": "constant", "fill": 255})
    assert rotate.border_mode == 0 and rotate.fill == 255.0 and rotate.p == 0.5


@pytest.mark.parametrize(
    ("name", "params", "expected"),
    [
        ("GausNoise", {}, "unknown transform 'GausNoise'; did you mean GaussNoise"),
        ("GaussNoise", {"sigma": 3}, "GaussNoise: unknown parameter(s) 'sigma'; GaussNoise takes p, std_range"),
        ("GaussNoise", {"std_range": (0.1, 2.0)}, "GaussNoise: std_range = (0.1, 2.0) must be in [0, 1]"),
        (
            "GaussNoise",
            {"std_range": (0.3, 0.1)},
            "GaussNoise: std_range = (0.3, 0.1) must be a pair [low, high] with low <= high",
        ),
        ("GaussNoise", {"std_range": 0.1}, "GaussNoise: std_range = 0.1 must be a pair"),
        ("GaussNoise", {"per_channel": "yes"}, "GaussNoise: per_channel = 'yes' must be true or false"),
        (
            "ImageCompression",
            {"quality_range": (10.5, 20)},
            "quality_range = (10.5, 20) must be whole numbers in [1, 100]",
        ),
        ("ImageCompression", {"compression_type": "png"}, "compression_type = 'png' must be one of jpeg, webp"),
        ("Rotate", {"fill": "white"}, "Rotate: fill = 'white' must be numbers in [0, 255]"),
        ("HorizontalFlip", {"p": 1.5}, "HorizontalFlip: p = 1.5 must be in [0, 1]"),
        ("Downscale", {"scale_range": (float("nan"), 0.5)}, "Downscale: scale_range = (nan, 0.5) must be numbers"),
    ],
)
def test_bad_parameters_are_refused_naming_the_transform_the_parameter_and_the_value(name, params, expected):
    with pytest.raises(RecipeError) as caught:
        build_step(name, params)
    assert expected in str(caught.value)


def test_steps_round_trip_through_compose_and_yaml():
    steps = [
        Step("RandomRotate90", 1.0, {}),
        Step(
            "ColorJitter",
            0.4,
            {"brightness": (0.9, 1.1), "contrast": (0.7, 1.3), "saturation": (0.8, 1.2), "hue": (-0.02, 0.02)},
        ),
        Step("Rotate", 0.3, {"limit": (-5.0, 5.0), "border_mode": "reflect_101", "fill": 0.0}),
        Step("ImageCompression", 0.2, {"quality_range": (50, 90), "compression_type": "webp"}),
    ]
    compose = compose_of(steps)
    assert steps_of(compose) == steps
    assert steps_of(parse_recipe(recipe_to_yaml(compose), name="x").compose) == steps


def test_a_wrong_step_is_named_by_its_place():
    with pytest.raises(RecipeError, match=r"step 2: GaussNoise: std_range"):
        compose_of([Step("HorizontalFlip", 0.5, {}), Step("GaussNoise", 0.5, {"std_range": (0.5, 0.1)})])


def test_the_editor_refuses_a_recipe_it_would_change_naming_what_it_cannot_show():
    import albumentations as A

    with pytest.raises(RecipeError, match="step 2: CLAHE is not one of the editor's transforms"):
        steps_of(A.Compose([A.HorizontalFlip(), A.CLAHE()]))
    with pytest.raises(RecipeError, match="step 1: GaussNoise sets mean_range, which the editor does not offer"):
        steps_of(A.Compose([A.GaussNoise(mean_range=(0.1, 0.2))]))
    with pytest.raises(RecipeError, match="step 1: Rotate: fill"):
        steps_of(A.Compose([A.Rotate(fill=(10, 20, 30))]))
    with pytest.raises(RecipeError, match="plain list of steps"):
        steps_of(A.Compose([A.HorizontalFlip()], p=0.5))
