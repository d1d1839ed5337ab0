"""What a scan embeds: the train and test images, `scan.copies` recipe copies of each train image,
and with `scan.tta` the 8 dihedral views of each test image.

    embed_scan(inputs, train, test, callbacks, span=) -> ScanEmbeddings
    scan_recipe(inputs) -> Recipe      aug.recipe_yaml when the run stored it, else aug.recipe by name
    with_recipe(config, recipe)        a config with the recipe, its scan a recipe scan (RECIPE_SCAN_COPIES + TTA)

Every part goes through core.embeddings.features.compute_embeddings, cached per project; copies and
views by their key (core.scan.views). The embedding share of the progress bar (`span`) is split
over the parts by their image counts, each part counting the images the network runs; the log
names each part as it starts ("embedding 4 copies of 1,550 train images with recipe document-scan
(v3f2a1)"). Only the originals go into the run folder's embeddings.npy (one row per train and test
image, as the pages expect).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from core.runs.progress import Callbacks
from core.scan.views import DIHEDRAL_VIEWS, DihedralView, RecipeCopy

if TYPE_CHECKING:
    import pandas as pd

    from core.config import RunConfig
    from core.runs.inputs import RunInputs


# What "Use in a run" sets for a scan with a recipe (scan.copies; scan.tta on): chosen on the demo and on
# Fashion-MNIST (bench/recipe_scan.py, document-scan at 128 px; test macro-F1 of the plain scan: 0.25 / 0.30).
RECIPE_SCAN_COPIES = 4


def with_recipe(config: RunConfig, recipe: str) -> RunConfig:
    """The config with aug.recipe = `recipe`; any recipe but "none" also makes its scan a recipe scan
    (RECIPE_SCAN_COPIES copies, scan.tta on) unless the config already asks for copies."""
    aug = replace(config.aug, recipe=recipe, recipe_yaml="")
    scan = config.scan
    if recipe != "none" and scan.copies == 0:
        scan = replace(scan, copies=RECIPE_SCAN_COPIES, tta=True)
    return replace(config, aug=aug, scan=scan)


@dataclass
class ScanEmbeddings:
    """The scan's features; D = the backbone's feature width."""

    train: np.ndarray  # (N, D) the train images, in `train` row order
    copies: np.ndarray  # (C, N, D) C = scan.copies augmented copies of each train image (C = 0: none)
    # (V, M, D) the test images; V = 8 dihedral views with scan.tta (view 0: as they are), else 1
    test_views: np.ndarray
    seconds: float  # wall time of the whole embedding stage
    rows: int  # image rows embedded or read from the cache, all parts together

    @property
    def test(self) -> np.ndarray:
        """(M, D) the test images as they are."""
        return self.test_views[0]


@dataclass
class _Part:
    label: str  # for the progress bar: "embedding copy 2/4 of the train images"
    paths: list[str]
    view: Any  # an ImageView, or None for the images as they are
    announce: str = ""  # a log line as the part starts (the first part of a group names the group)


def scan_recipe(inputs: RunInputs):
    """The run's noise recipe (core.recipes.store.Recipe): the YAML its config stored, else the saved one by name."""
    from core.recipes.store import recipes_dir, run_recipe

    aug = inputs.config.aug  # runs made before recipes were stored with the run have recipe_yaml = ""
    return run_recipe(aug.recipe, recipe_yaml=aug.recipe_yaml, recipes_dir=recipes_dir(inputs.layout))


def embed_scan(
    inputs: RunInputs, train: pd.DataFrame, test: pd.DataFrame, callbacks: Callbacks, *, span: tuple[float, float]
) -> ScanEmbeddings:
    """Embed every part (module docstring) within `span` of the progress bar; writes embeddings.npy + ids."""
    from core.runs.folder import write_embeddings

    scan = inputs.config.scan
    started = time.perf_counter()
    train_paths, test_paths = train["path"].tolist(), test["path"].tolist()
    n_train, n_test = len(train_paths), len(test_paths)
    callbacks.on_message(
        f"embedding {n_train:,} train and {n_test:,} test images with {scan.backbone} "
        f"({scan.pretrained} weights) at {scan.image_size} px"
    )
    parts = [_Part("embedding train images", train_paths, None), _Part("embedding test images", test_paths, None)]
    copy_parts = _copy_parts(inputs, train_paths) if scan.copies > 0 and n_train else []
    view_parts = _view_parts(test_paths) if scan.tta and n_test else []
    results = _embed_parts(inputs, parts + copy_parts + view_parts, callbacks, span=span)
    train_emb, test_emb = results[0], results[1]
    if not n_test:
        test_emb = np.zeros((0, train_emb.shape[1]), dtype=np.float32)
    write_embeddings(
        inputs.run_dir,
        train["ID"].tolist() + test["ID"].tolist(),
        ["train"] * n_train + ["test"] * n_test,
        np.concatenate([train_emb, test_emb]),
    )
    width = train_emb.shape[1]
    copies = np.stack(results[2 : 2 + len(copy_parts)]) if copy_parts else np.zeros((0, n_train, width), np.float32)
    views = [test_emb] + results[2 + len(copy_parts) :]
    seconds = time.perf_counter() - started
    rows = sum(len(part.paths) for part in parts + copy_parts + view_parts)
    callbacks.on_message(f"embeddings ready in {seconds:.1f} s ({rows:,} images, {width} dimensions)")
    return ScanEmbeddings(train=train_emb, copies=copies, test_views=np.stack(views), seconds=seconds, rows=rows)


def _copy_parts(inputs: RunInputs, train_paths: list[str]) -> list[_Part]:
    copies = inputs.config.scan.copies
    recipe = scan_recipe(inputs)  # loaded before anything is embedded: a broken recipe fails the scan at once
    announce = (
        f"embedding {copies} cop{'ies' if copies > 1 else 'y'} of {len(train_paths):,} train images "
        f"with recipe {recipe.name} ({recipe.version})"
    )
    common = dict(recipe_name=recipe.name, recipe_yaml=recipe.yaml_text, version=recipe.version)
    return [
        _Part(
            f"embedding copy {k + 1}/{copies} of the train images",
            train_paths,
            RecipeCopy(**common, seed=inputs.config.data.seed, copy=k),
            announce if k == 0 else "",
        )
        for k in range(copies)
    ]


def _view_parts(test_paths: list[str]) -> list[_Part]:
    announce = (
        f"embedding {DIHEDRAL_VIEWS - 1} more views of {len(test_paths):,} test images "
        "(scan.tta: rotated by quarter turns and mirrored; test probabilities are averaged over all 8)"
    )
    return [
        _Part(f"embedding test view {v + 1}/{DIHEDRAL_VIEWS}", test_paths, DihedralView(v), announce if v == 1 else "")
        for v in range(1, DIHEDRAL_VIEWS)
    ]


def _embed_parts(
    inputs: RunInputs, parts: list[_Part], callbacks: Callbacks, *, span: tuple[float, float]
) -> list[np.ndarray | None]:
    """Each part's (len(paths), D) embeddings (None for an empty part); the span split by image counts."""
    from core.embeddings.features import compute_embeddings

    scan = inputs.config.scan
    common = dict(
        backbone=scan.backbone,
        pretrained=scan.pretrained,
        image_size=scan.image_size,
        batch_size=scan.batch_size,
        features=scan.features,
        cache_dir=inputs.layout.cache_dir,
        callbacks=callbacks,
    )
    total = max(1, sum(len(part.paths) for part in parts))
    start, end = span
    done = 0
    out = []
    for part in parts:
        if not part.paths:
            out.append(None)
            continue
        if part.announce:
            callbacks.on_message(part.announce)
        low = start + (end - start) * done / total
        done += len(part.paths)
        high = start + (end - start) * done / total
        extra = {} if part.view is None else {"view": part.view}
        out.append(compute_embeddings(part.paths, progress_span=(low, high), message=part.label, **common, **extra))
    return out
