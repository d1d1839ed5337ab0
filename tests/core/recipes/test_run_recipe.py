"""A run stores its recipe: editing the recipe later never changes what the run trains with."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from core.config import RunConfig, load_config, resolve_config
from core.recipes.catalogue import Step, compose_of
from core.recipes.store import built_in_recipe, parse_recipe, recipe_to_yaml, recipes_dir, run_recipe, save_recipe
from core.runs.folder import create_run
from core.training.transforms import create_train_transform

GENTLE = [Step("HorizontalFlip", 1.0, {}), Step("GaussNoise", 1.0, {"std_range": (0.01, 0.02)})]
HARSH = [Step("VerticalFlip", 1.0, {}), Step("GaussNoise", 1.0, {"std_range": (0.3, 0.4)})]


def _train_image(config: RunConfig, layout, photo: np.ndarray, *, from_name_only: bool = False) -> np.ndarray:
    """What the run's training transform makes of `photo` (seed 0)."""
    transform = create_train_transform(
        recipe=config.aug.recipe,
        recipe_yaml="" if from_name_only else config.aug.recipe_yaml,
        recipes_dir=recipes_dir(layout),
        image_size=32,
        mean=(0.0, 0.0, 0.0),
        std=(1.0, 1.0, 1.0),
        seed=0,
    )
    return transform(image=photo.copy())["image"].numpy()


def test_a_run_stores_its_recipe_and_a_later_edit_does_not_change_its_transform(bare_layout, photo):
    saved = save_recipe(bare_layout, "scanner", recipe_to_yaml(compose_of(GENTLE)))
    run_dir = create_run(bare_layout, resolve_config(kind="train", overrides=["aug.recipe=scanner"]))
    config = load_config(run_dir / "config.yaml")
    assert config.aug.recipe == "scanner"
    assert config.aug.recipe_yaml.startswith(f"# noise recipe scanner, version {saved.version}\n")
    assert parse_recipe(config.aug.recipe_yaml, name="scanner").version == saved.version
    before = _train_image(config, bare_layout, photo)

    save_recipe(bare_layout, "scanner", recipe_to_yaml(compose_of(HARSH)))  # edited afterwards

    np.testing.assert_array_equal(_train_image(config, bare_layout, photo), before)
    assert not np.array_equal(_train_image(config, bare_layout, photo, from_name_only=True), before)
    newer = load_config(
        create_run(bare_layout, resolve_config(kind="train", overrides=["aug.recipe=scanner"])) / "config.yaml"
    )
    assert not np.array_equal(_train_image(newer, bare_layout, photo), before)  # a new run takes the edit


def test_rerunning_a_config_keeps_its_recipe_and_naming_another_recipe_takes_that_one(bare_layout):
    gentle = save_recipe(bare_layout, "gentle", recipe_to_yaml(compose_of(GENTLE)))
    first = load_config(
        create_run(bare_layout, resolve_config(kind="train", overrides=["aug.recipe=gentle"])) / "config.yaml"
    )
    harsh = save_recipe(bare_layout, "gentle", recipe_to_yaml(compose_of(HARSH)))

    rerun = load_config(create_run(bare_layout, first) / "config.yaml")
    assert rerun.aug.recipe_yaml == first.aug.recipe_yaml
    assert (
        run_recipe("gentle", recipe_yaml=rerun.aug.recipe_yaml, recipes_dir=recipes_dir(bare_layout)).version
        == gentle.version
    )

    # the train form started from the earlier run, with another recipe picked: that recipe, not the stale YAML
    switched = replace(first, aug=replace(first.aug, recipe="heavy"))
    stored = load_config(create_run(bare_layout, switched) / "config.yaml").aug.recipe_yaml
    assert stored.startswith("# noise recipe heavy, version ")
    assert parse_recipe(stored, name="heavy").version == built_in_recipe("heavy").version != harsh.version


def test_default_runs_store_the_legacy_recipe_and_an_unknown_recipe_is_left_to_the_job(bare_layout, photo):
    default = load_config(create_run(bare_layout, resolve_config(kind="scan")) / "config.yaml")
    assert default.aug.recipe == "default"
    assert parse_recipe(default.aug.recipe_yaml, name="default").version == built_in_recipe("default").version
    np.testing.assert_array_equal(
        _train_image(default, bare_layout, photo), _train_image(default, bare_layout, photo, from_name_only=True)
    )
    missing = load_config(
        create_run(bare_layout, resolve_config(kind="train", overrides=["aug.recipe=nowhere"])) / "config.yaml"
    )
    assert missing.aug.recipe_yaml == ""  # the job loads it by name and fails naming the file


def test_an_older_run_config_without_recipe_yaml_still_loads_and_uses_the_recipe_by_name(bare_layout, tmp_path, photo):
    path = tmp_path / "old.yaml"
    path.write_text("kind: train\naug:\n  recipe: none\n  mixup_alpha: 0.0\n")
    config = load_config(path)
    assert config.aug.recipe_yaml == ""
    plain = _train_image(config, bare_layout, photo)
    assert plain.shape == (3, 32, 32)
    with pytest.raises(ValueError, match="not found"):
        run_recipe("gone", recipe_yaml="", recipes_dir=recipes_dir(bare_layout))
