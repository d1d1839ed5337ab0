"""compute_embeddings(view=...): a view changes the pixels before the network and has cache rows of its own."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.embeddings import features as embeddings_module
from core.embeddings.features import compute_embeddings
from core.scan.views import DihedralView, dihedral, image_seed

OPTIONS = dict(backbone="tf_efficientnet_lite0", pretrained="offline", image_size=32, batch_size=4, features="pooled")


@pytest.fixture
def images(tmp_path: Path) -> list[Path]:
    """Three lossless 24x40 images (not square: a quarter turn changes the shape before the resize)."""
    rng = np.random.default_rng(0)
    paths = []
    for n in range(3):
        pixels = rng.integers(0, 256, size=(24, 40, 3), dtype=np.uint8)
        pixels[:, :20] //= 3  # something a turn visibly moves
        Image.fromarray(pixels).save(tmp_path / f"image{n}.png")
        paths.append(tmp_path / f"image{n}.png")
    return paths


def test_a_view_embeds_the_turned_image_and_runs_in_workers(images: list[Path], tmp_path: Path):
    turned_dir = tmp_path / "turned"
    turned_dir.mkdir()
    turned = []
    for path in images:
        pixels = np.asarray(Image.open(path).convert("RGB"))
        Image.fromarray(dihedral(pixels, 5)).save(turned_dir / path.name)
        turned.append(turned_dir / path.name)
    expected = compute_embeddings(turned, cache_dir=None, **OPTIONS)
    viewed = compute_embeddings(images, cache_dir=None, view=DihedralView(5), **OPTIONS)
    np.testing.assert_allclose(viewed, expected, atol=1e-4)
    assert not np.allclose(viewed, compute_embeddings(images, cache_dir=None, **OPTIONS), atol=1e-3)
    # A DataLoader worker gets a pickled copy of the view.
    in_worker = compute_embeddings(images, cache_dir=None, view=DihedralView(5), num_workers=1, **OPTIONS)
    np.testing.assert_allclose(in_worker, viewed, atol=1e-6)
    assert pickle.loads(pickle.dumps(DihedralView(5))).key == "dihedral:5"


def test_each_view_is_cached_under_its_own_key(images: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    runs: list[tuple[int, str | None]] = []
    real = embeddings_module._run_network

    def counting(paths, **kwargs):
        view = kwargs.get("view")
        runs.append((len(paths), view.key if view is not None else None))
        return real(paths, **kwargs)

    monkeypatch.setattr(embeddings_module, "_run_network", counting)
    cache = tmp_path / "cache"
    plain = compute_embeddings(images, cache_dir=cache, **OPTIONS)
    turned = compute_embeddings(images, cache_dir=cache, view=DihedralView(1), **OPTIONS)
    assert runs == [(3, None), (3, "dihedral:1")]
    # Again, and a subset: nothing runs; each view reads its own rows.
    np.testing.assert_array_equal(compute_embeddings(images, cache_dir=cache, view=DihedralView(1), **OPTIONS), turned)
    np.testing.assert_array_equal(compute_embeddings(images[:2], cache_dir=cache, **OPTIONS), plain[:2])
    np.testing.assert_array_equal(
        compute_embeddings(images[1:], cache_dir=cache, view=DihedralView(1), **OPTIONS), turned[1:]
    )
    assert len(runs) == 2
    compute_embeddings(images, cache_dir=cache, view=DihedralView(2), **OPTIONS)  # another view: embedded
    assert runs[-1] == (3, "dihedral:2")
    names = sorted(p.name for p in (cache / "embeddings").glob("*.npz"))
    model = names[0].split("-")[0].split("_")[0]
    assert all(name.startswith(model) for name in names)
    plain_files = [n for n in names if n.startswith(f"{model}-")]
    assert len(plain_files) == 2  # the three images, then two of them: the views' files are apart


def test_image_seeds_differ_by_copy_and_file_but_not_by_folder():
    a = image_seed(0, 0, "/project/train/tr_001.jpg")
    assert a == image_seed(0, 0, "/copy/of/project/train/tr_001.jpg")
    others = {image_seed(0, 1, "/project/train/tr_001.jpg"), image_seed(1, 0, "/project/train/tr_001.jpg")}
    others.add(image_seed(0, 0, "/project/train/tr_002.jpg"))
    assert a not in others and len(others) == 3
    with pytest.raises(ValueError, match="0..7"):
        DihedralView(8)


def test_a_recipe_copy_is_the_same_after_pickling_and_differs_by_copy(images: list[Path]):
    from importlib.metadata import version

    from core.recipes.apply import apply_recipe
    from core.recipes.store import built_in_recipe
    from core.scan.views import RecipeCopy

    recipe = built_in_recipe("document-scan")
    common = dict(recipe_name=recipe.name, recipe_yaml=recipe.yaml_text, version=recipe.version, seed=0)
    first, second = RecipeCopy(**common, copy=0), RecipeCopy(**common, copy=1)
    assert first.key.startswith(f"recipe:{recipe.version}:") and first.key.endswith(":seed=0:copy=0")
    assert f"albumentations={version('albumentations')}" in first.key  # the same seed is other noise elsewhere
    pixels = np.asarray(Image.open(images[0]).convert("RGB"))
    out = first(pixels, str(images[0]))
    assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(first))(pixels, str(images[0])), out)  # a worker's copy
    assert not np.array_equal(second(pixels, str(images[0])), out)
    # One pipeline reseeded per image gives what apply_recipe gives, image after image.
    for path in [*images, *images]:
        pixels = np.asarray(Image.open(path).convert("RGB"))
        expected = apply_recipe(recipe, pixels, seed=image_seed(0, 1, str(path)))
        np.testing.assert_array_equal(second(pixels, str(path)), expected)
