"""apply_recipe / augmented_copies: the same image for the same seed, others for other seeds, any input image."""

from __future__ import annotations

import numpy as np
import pytest

from core.recipes.apply import apply_recipe, as_rgb, augmented_copies, copy_seed
from core.recipes.store import built_in_recipe


@pytest.fixture(scope="module")
def scan_recipe():
    return built_in_recipe("document-scan")


def test_the_same_seed_gives_the_same_image_and_other_seeds_other_images(scan_recipe, photo):
    first = apply_recipe(scan_recipe, photo, seed=7)
    for other in (3, 11, 7):  # calls in between leave no trace in the recipe
        apply_recipe(scan_recipe, photo, seed=other)
    np.testing.assert_array_equal(apply_recipe(scan_recipe, photo, seed=7), first)
    outputs = {apply_recipe(scan_recipe, photo, seed=seed).tobytes() for seed in range(8)}
    assert len(outputs) == 8
    assert not np.array_equal(first, photo)


def test_grey_images_are_converted_to_rgb_first(scan_recipe, photo):
    grey = photo[..., 1]
    as_three = np.repeat(grey[..., None], 3, axis=2)
    expected = apply_recipe(scan_recipe, as_three, seed=4)
    np.testing.assert_array_equal(apply_recipe(scan_recipe, grey, seed=4), expected)
    np.testing.assert_array_equal(apply_recipe(scan_recipe, grey[..., None], seed=4), expected)
    rgba = np.concatenate([photo, np.full(photo.shape[:2] + (1,), 255, np.uint8)], axis=2)
    np.testing.assert_array_equal(apply_recipe(scan_recipe, rgba, seed=4), apply_recipe(scan_recipe, photo, seed=4))


def test_the_input_image_is_left_as_it_was(scan_recipe, photo):
    before = photo.copy()
    apply_recipe(built_in_recipe("heavy"), photo, seed=1)
    np.testing.assert_array_equal(photo, before)


def test_copy_k_is_the_same_every_time_and_the_copies_differ(scan_recipe, photo):
    copies = augmented_copies(scan_recipe, photo, copies=4, seed=5)
    again = augmented_copies(scan_recipe, photo, copies=6, seed=5)
    assert len(copies) == 4 and len(again) == 6
    for k in range(4):
        np.testing.assert_array_equal(copies[k], again[k])
        np.testing.assert_array_equal(copies[k], apply_recipe(scan_recipe, photo, seed=copy_seed(5, k)))
    assert len({c.tobytes() for c in again}) == 6
    other = augmented_copies(scan_recipe, photo, copies=4, seed=6)
    assert all(not np.array_equal(a, b) for a, b in zip(copies, other))
    assert augmented_copies(scan_recipe, photo, copies=0, seed=5) == []


def test_copy_seeds_are_fixed_numbers():
    """Stored copies (expansion folders, embedding caches) stay valid only while these do not change."""
    assert copy_seed(0, 0) == copy_seed(0, 0)
    assert len({copy_seed(s, k) for s in range(5) for k in range(5)}) == 25
    assert all(0 <= copy_seed(s, k) < 2**32 for s in range(3) for k in range(3))


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((8, 8, 3), dtype=np.float32), "uint8"),
        (np.zeros((8, 8, 2), dtype=np.uint8), "shape"),
        (np.zeros((0, 8, 3), dtype=np.uint8), "shape"),
        (np.zeros((2, 8, 8, 3), dtype=np.uint8), "shape"),
    ],
)
def test_images_that_are_not_uint8_rgb_or_grey_are_refused(image, message):
    with pytest.raises(ValueError, match=message):
        as_rgb(image)


def test_the_steps_of_a_recipe_draw_independently(photo):
    """albumentations' own Compose(seed=) gives each step the same random numbers: both flips or neither."""
    from core.recipes.catalogue import Step, compose_of
    from core.recipes.store import parse_recipe, recipe_to_yaml

    flips = parse_recipe(
        recipe_to_yaml(compose_of([Step("HorizontalFlip", 0.5, {}), Step("VerticalFlip", 0.5, {})])), name="flips"
    )
    views = {
        "none": photo,
        "mirrored": photo[:, ::-1],
        "upside down": photo[::-1],
        "both": photo[::-1, ::-1],
    }

    def seen(image: np.ndarray) -> str:
        return next(name for name, view in views.items() if np.array_equal(view, image))

    assert {seen(out) for out in augmented_copies(flips, photo, copies=40, seed=0)} == set(views)
