"""The recipe store: YAML round trip, named errors, a listing that never raises or writes, atomic saves."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from core.recipes.apply import apply_recipe
from core.recipes.catalogue import Step, compose_of, steps_of
from core.recipes.presets import PRESETS
from core.recipes.store import (
    MAX_RECIPE_BYTES,
    RecipeError,
    built_in_recipe,
    delete_recipe,
    ensure_presets,
    list_recipes,
    load_recipe,
    parse_recipe,
    recipe_to_yaml,
    recipes_dir,
    save_recipe,
)


def compose_yaml(*steps: str) -> str:
    """albumentations YAML of a Compose holding the given one-line transform mappings."""
    lines = ["transform:", "  __class_fullname__: Compose", "  p: 1.0", "  transforms:"]
    return "\n".join(lines + [f"  - {step}" for step in steps]) + "\n"


def files_under(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


STEPS = [
    Step("RandomRotate90", 1.0, {}),
    Step("GaussNoise", 0.8, {"std_range": (0.05, 0.15), "per_channel": False}),
    Step("Rotate", 0.5, {"limit": (-8.0, 8.0), "border_mode": "replicate", "fill": 0.0}),
    Step("ImageCompression", 0.5, {"quality_range": (30, 70), "compression_type": "jpeg"}),
]


# ------------------------------------------------------------------ round trip


def test_save_then_load_gives_the_same_steps_and_the_same_image_for_a_seed(bare_layout, photo):
    import albumentations as A

    yaml_text = recipe_to_yaml(compose_of(STEPS))
    saved = save_recipe(bare_layout, "scanner", yaml_text)
    path = recipes_dir(bare_layout) / "scanner.yaml"
    assert path.read_text() == saved.yaml_text == yaml_text  # what albumentations.save writes

    loaded = load_recipe("scanner", recipes_dir=recipes_dir(bare_layout))
    assert steps_of(loaded.compose) == STEPS
    assert (loaded.name, loaded.version, loaded.yaml_text) == ("scanner", saved.version, saved.yaml_text)
    np.testing.assert_array_equal(apply_recipe(loaded, photo, seed=3), apply_recipe(saved, photo, seed=3))
    # albumentations reads the file itself too (it is its own serialization)
    assert [type(t).__name__ for t in A.load(str(path), data_format="yaml").transforms] == [s.name for s in STEPS]


def test_the_version_follows_the_content_not_the_spelling():
    base = parse_recipe(compose_yaml("{__class_fullname__: GaussNoise, p: 0.5, std_range: [0.1, 0.2]}"), name="a")
    same = parse_recipe(compose_yaml("{__class_fullname__: GaussNoise, std_range: [0.1, 0.2], p: 0.5}"), name="b")
    other = parse_recipe(compose_yaml("{__class_fullname__: GaussNoise, p: 0.5, std_range: [0.1, 0.3]}"), name="a")
    assert len(base.version) == 12 and base.version == same.version != other.version
    assert parse_recipe(base.yaml_text, name="a").version == base.version


# ------------------------------------------------------------------ named errors


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("transform:\n  __class_fullname__: Compose\n  transforms: [\n   - a: b\n", "not valid YAML at line 4"),
        ("- just\n- a list\n", "expected albumentations' YAML"),
        ("", "expected albumentations' YAML"),
        (
            compose_yaml("{__class_fullname__: GausNoise, p: 0.5}"),
            "step 1: unknown transform 'GausNoise'; did you mean GaussNoise",
        ),
        (
            compose_yaml(
                "{__class_fullname__: HorizontalFlip, p: 0.5}",
                "{__class_fullname__: GaussNoise, p: 0.5, std_range: [0.5, 0.1]}",
            ),
            "step 2 (GaussNoise): std_range = [0.5, 0.1]: First value should be less than the second",
        ),
        (
            compose_yaml("{__class_fullname__: ImageCompression, p: 0.5, quality_range: [0, 300]}"),
            "step 1 (ImageCompression): quality_range = [0, 300]",
        ),
        (
            compose_yaml("{__class_fullname__: GaussNoise, p: 0.5, std_rang: [0.1, 0.2]}"),
            "unknown parameter(s) 'std_rang'",
        ),
        (compose_yaml("{__class_fullname__: HorizontalFlip, p: 7}"), "step 1 (HorizontalFlip): p = 7"),
        (
            compose_yaml("{__class_fullname__: ToFloat, p: 1.0}"),
            "step 1 (ToFloat) turns a uint8 RGB image into float32",
        ),
        (
            compose_yaml("{__class_fullname__: RandomCrop, p: 1.0, height: 100, width: 100}"),
            "step 1 (RandomCrop) fails on an RGB image",
        ),
    ],
    ids=[
        "yaml-line",
        "not-a-mapping",
        "empty",
        "unknown-transform",
        "bad-value",
        "out-of-range",
        "unknown-param",
        "bad-p",
        "float-output",
        "too-small",
    ],
)
def test_bad_recipes_are_refused_naming_the_line_transform_parameter_and_value(yaml_text, expected):
    with pytest.raises(RecipeError) as caught:
        parse_recipe(yaml_text, name="mine")
    assert expected in str(caught.value) and str(caught.value).startswith("noise recipe 'mine'")


def test_a_nested_transform_is_named_by_its_place():
    text = (
        "transform:\n  __class_fullname__: Compose\n  transforms:\n  - __class_fullname__: OneOf\n    p: 0.5\n"
        "    transforms:\n    - {__class_fullname__: Blur, p: 1.0}\n    - {__class_fullname__: Downscale, p: 1.0, scale_range: [0.5, 3]}\n"
    )
    with pytest.raises(RecipeError, match=r"step 1\.2 \(Downscale\): scale_range"):
        parse_recipe(text, name="nested")


@pytest.mark.parametrize("name", ["a/b", "../escape", "..", "", "x" * 65, "with space", "dots.yaml", None])
def test_names_outside_the_rule_are_refused_and_nothing_is_written(bare_layout, name):
    good = recipe_to_yaml(compose_of(STEPS))
    with pytest.raises(RecipeError, match="use 1 to 64 letters"):
        save_recipe(bare_layout, name, good)
    with pytest.raises(RecipeError, match="use 1 to 64 letters"):
        load_recipe(name, recipes_dir=recipes_dir(bare_layout))
    assert not bare_layout.work_dir.exists()
    assert not (bare_layout.root.parent / "escape.yaml").exists()


@pytest.mark.parametrize("name", ["none", "default"])
def test_the_fixed_built_ins_cannot_be_saved_deleted_or_shadowed_by_a_file(bare_layout, name):
    with pytest.raises(RecipeError, match="built in and fixed"):
        save_recipe(bare_layout, name, recipe_to_yaml(compose_of(STEPS)))
    with pytest.raises(RecipeError, match="built in and fixed"):
        delete_recipe(bare_layout, name)
    folder = recipes_dir(bare_layout)
    folder.mkdir(parents=True)
    (folder / f"{name}.yaml").write_text(recipe_to_yaml(compose_of(STEPS)))  # copied in by hand
    assert load_recipe(name, recipes_dir=folder).version == built_in_recipe(name).version


# ------------------------------------------------------------------ listing


def test_the_listing_marks_a_broken_file_keeps_the_rest_and_never_writes(bare_layout):
    save_recipe(bare_layout, "good", recipe_to_yaml(compose_of(STEPS)))
    folder = recipes_dir(bare_layout)
    (folder / "broken.yaml").write_text(compose_yaml("{__class_fullname__: NoSuchTransform, p: 0.5}"))
    (folder / "garbled.yaml").write_text("transform: [unclosed\n")
    (folder / "huge.yaml").write_text("# " + "x" * MAX_RECIPE_BYTES + "\n")
    (folder / "folder.yaml").mkdir()
    (folder / "dangling.yaml").symlink_to(folder / "gone.yaml")
    (folder / "bad name.yaml").write_text(recipe_to_yaml(compose_of(STEPS)))
    (folder / "notes.txt").write_text("not a recipe")
    before = files_under(bare_layout.root)

    infos = {info.name: info for info in list_recipes(bare_layout)}

    assert files_under(bare_layout.root) == before
    assert list(infos)[:4] == list(PRESETS) and list(infos)[-1] == "default"
    assert infos["good"].error is None and infos["good"].version and infos["good"].path == folder / "good.yaml"
    assert "unknown transform 'NoSuchTransform'" in infos["broken"].error and infos["broken"].version is None
    assert "not valid YAML at line 2" in infos["garbled"].error
    assert "bytes" in infos["huge"].error and "at most" in infos["huge"].error
    assert "not a regular file" in infos["folder"].error
    assert "cannot be read" in infos["dangling"].error
    assert "use 1 to 64 letters" in infos["bad name"].error
    assert "notes" not in infos
    # presets were copied by the save; the fixed ones are built in without a file
    assert infos["light"].path == folder / "light.yaml" and infos["light"].built_in
    assert infos["none"].path is None and infos["default"].path is None and infos["default"].version


def test_listing_a_project_without_recipes_shows_the_built_ins_and_creates_nothing(bare_layout):
    infos = list_recipes(bare_layout)
    assert [i.name for i in infos] == [*PRESETS, "default"]
    assert all(i.built_in and i.path is None and i.error is None and i.version for i in infos)
    assert not bare_layout.work_dir.exists()


# ------------------------------------------------------------------ saving, presets, deleting


def test_a_refused_save_leaves_the_previous_file_as_it_was(bare_layout):
    first = save_recipe(bare_layout, "mine", recipe_to_yaml(compose_of(STEPS)))
    path = recipes_dir(bare_layout) / "mine.yaml"
    with pytest.raises(RecipeError, match="unknown transform"):
        save_recipe(bare_layout, "mine", compose_yaml("{__class_fullname__: NoSuchTransform, p: 0.5}"))
    with pytest.raises(RecipeError, match="line"):
        save_recipe(bare_layout, "mine", "transform: [\n")
    assert path.read_text() == first.yaml_text


def test_a_save_that_fails_while_writing_leaves_the_previous_file_and_no_temp_file(bare_layout, monkeypatch):
    first = save_recipe(bare_layout, "mine", recipe_to_yaml(compose_of(STEPS)))
    folder = recipes_dir(bare_layout)
    before = sorted(p.name for p in folder.iterdir())

    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError, match="No space"):
        save_recipe(bare_layout, "mine", recipe_to_yaml(compose_of(STEPS[:2])))
    assert (folder / "mine.yaml").read_text() == first.yaml_text
    assert sorted(p.name for p in folder.iterdir()) == before


def test_presets_are_copied_on_the_first_write_once_and_an_edited_preset_is_kept(bare_layout):
    folder = recipes_dir(bare_layout)
    written = ensure_presets(bare_layout)
    assert sorted(p.name for p in written) == ["document-scan.yaml", "heavy.yaml", "light.yaml"]
    assert load_recipe("light", recipes_dir=folder).version == built_in_recipe("light").version

    edited = save_recipe(bare_layout, "light", recipe_to_yaml(compose_of(STEPS)))
    assert ensure_presets(bare_layout) == []
    assert load_recipe("light", recipes_dir=folder).version == edited.version != built_in_recipe("light").version

    delete_recipe(bare_layout, "light")  # back to the shipped preset
    assert load_recipe("light", recipes_dir=folder).version == built_in_recipe("light").version
    with pytest.raises(RecipeError, match="never copied"):
        delete_recipe(bare_layout, "light")


def test_deleting_a_saved_recipe_and_loading_a_missing_one_name_the_file(bare_layout):
    save_recipe(bare_layout, "tmp", recipe_to_yaml(compose_of(STEPS)))
    delete_recipe(bare_layout, "tmp")
    path = recipes_dir(bare_layout) / "tmp.yaml"
    assert not path.exists()
    with pytest.raises(RecipeError, match="has no file"):
        delete_recipe(bare_layout, "tmp")
    with pytest.raises(RecipeError) as caught:
        load_recipe("tmp", recipes_dir=recipes_dir(bare_layout))
    assert str(path) in str(caught.value) and "not found" in str(caught.value)
