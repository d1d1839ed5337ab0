"""Recipe scans: scan.copies augmented copies of each train image beside the originals, scan.tta dihedral test views.

A ~230-image demo at 64 px (as tests/core/scan/test_scan.py), copies 1-2, fixed C (no search) to stay fast.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.config import ConfigError, field_help, resolve_config
from core.embeddings import features as embeddings_module
from core.project.demo import build_demo
from core.runs.folder import read_events, read_status
from core.scan import run as run_module
from core.scan.linear import load_head, predict_linear
from core.scan.views import dihedral
from tests.core.scan.test_scan import NUM_CLASSES, PROB_COLUMNS, Recorder, run_job

RECIPE_SCAN = ["scan.image_size=64", "data.folds=2", "scan.C=0.01", "scan.copies=1", "scan.tta=true"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """232 train images (all ten classes), 179 labelled test images, 64x64."""
    return build_demo(tmp_path_factory.mktemp("recipe_scan") / "demo", per_class=30, test_fraction=0.1).root


@pytest.fixture(scope="module")
def recipe_scanned(demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One 2-fold recipe scan (document-scan, 1 copy, TTA) at 64 px; the embedding cache starts empty."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WORKBENCH_HOME", str(tmp_path_factory.mktemp("home")))
        code, run_dir = run_job(demo, [*RECIPE_SCAN, "aug.recipe=document-scan"])
    assert code == 0, read_status(run_dir).get("traceback")
    return run_dir


def test_scan_copies_is_zero_or_more():
    assert resolve_config(kind="scan").scan.copies == 0
    assert resolve_config(kind="scan", overrides=["scan.copies=3"]).scan.copies == 3
    with pytest.raises(ConfigError, match=r"scan.copies: -1 must be 0 \(no augmented copies\) or more"):
        resolve_config(kind="scan", overrides=["scan.copies=-1"])
    with pytest.raises(ConfigError, match="scan.copies: expected an integer"):
        resolve_config(kind="scan", overrides=["scan.copies=1.5"])
    assert "aug.recipe" in field_help()["scan.copies"]
    assert "8 dihedral views" in field_help()["scan.tta"]


def _view_code(view) -> int:
    """0: the image itself; k + 1: recipe copy k; 10 + v: dihedral view v."""
    if view is None:
        return 0
    if view.key.startswith("dihedral:"):
        return 10 + int(view.key.split(":")[1])
    return int(view.key.rsplit("copy=", 1)[1]) + 1


def test_folds_never_train_on_a_held_out_images_copies(demo: Path, monkeypatch: pytest.MonkeyPatch):
    """Fake embeddings say which image and which copy a row is; every fold's training rows are checked."""
    numbers = {p.name: i for i, p in enumerate(sorted((demo / "train").iterdir()) + sorted((demo / "test").iterdir()))}

    def embed(paths, *, view=None, **_):
        rng = np.random.default_rng(len(paths) + _view_code(view))
        rows = rng.normal(size=(len(paths), 8)).astype(np.float32)
        rows[:, 0] = [numbers[Path(p).name] for p in paths]
        rows[:, 1] = _view_code(view)
        return rows

    fitted: list[np.ndarray] = []
    real_fit = run_module.fit_linear

    def recording_fit(x, y, **kwargs):
        fitted.append(x[:, :2].astype(int))
        return real_fit(x, y, **kwargs)

    monkeypatch.setattr(embeddings_module, "compute_embeddings", embed)
    monkeypatch.setattr(run_module, "fit_linear", recording_fit)
    # scan.prune = 0.1: the pruning pass leaves out every image the first pass gets wrong.
    overrides = ["data.folds=3", "scan.C=1", "scan.copies=2", "scan.prune=0.1", "aug.recipe=document-scan"]
    code, run_dir = run_job(demo, overrides)
    assert code == 0, read_status(run_dir).get("traceback")

    train = pd.read_csv(demo / "train.csv", dtype={"ID": str})
    oof = pd.read_csv(run_dir / "oof.csv", dtype={"ID": str})
    assert sorted(oof["ID"]) == sorted(train["ID"])  # the originals, each once; no copy
    fold_of = dict(zip(oof["ID"].map(numbers), oof["fold"], strict=True))
    pruned = int(read_status(run_dir)["metrics"]["scan_pruned"])
    assert pruned > 0 and len(fitted) == 6  # 3 folds, then 3 again without the pruned images

    left_out = 0
    for n, rows in enumerate(fitted):
        held = {image for image, fold in fold_of.items() if fold == n % 3}
        images, codes = rows[:, 0], rows[:, 1]
        assert not held & set(images.tolist()), f"fit {n}: a held-out image or one of its copies is in training"
        originals = set(images[codes == 0].tolist())
        for copy in (1, 2):  # each training image comes with both its copies, and no other copy does
            assert sorted(images[codes == copy].tolist()) == sorted(originals)
        assert len(rows) == 3 * len(originals)
        if n < 3:
            assert originals == set(fold_of) - held
        else:
            left_out += len(set(fold_of) - held - originals)
    assert left_out == 2 * pruned  # a pruned image is in 2 of the 3 training parts, and left out of both


def test_recipe_scan_writes_the_originals_and_names_what_it_embeds(demo: Path, recipe_scanned: Path):
    from core.recipes.store import load_recipe

    train = pd.read_csv(demo / "train.csv", dtype={"ID": str})
    test_ids = pd.read_csv(demo / "sample_submission.csv", dtype={"ID": str})["ID"]
    oof = pd.read_csv(recipe_scanned / "oof.csv", dtype={"ID": str})
    assert sorted(oof["ID"]) == sorted(train["ID"])
    ids = pd.read_csv(recipe_scanned / "embeddings_ids.csv", dtype={"ID": str})
    assert ids["split"].value_counts().to_dict() == {"train": len(train), "test": len(test_ids)}

    version = load_recipe("document-scan", recipes_dir=demo / ".workbench" / "recipes").version
    messages = [e["text"] for e in read_events(recipe_scanned, kinds=("message",))]
    assert f"embedding 1 copy of {len(train)} train images with recipe document-scan ({version})" in messages
    assert any(m.startswith(f"embedding 7 more views of {len(test_ids)} test images") for m in messages)
    total = 2 * len(train) + 8 * len(test_ids)
    assert any(m.startswith("embeddings ready") and f"({total:,} images" in m for m in messages)
    progress = read_events(recipe_scanned, kinds=("progress",))
    values = [e["progress"] for e in progress]
    assert values == sorted(values) and values[-1] == 1.0
    # Each part counts the images the network ran for it (a cold cache: all of them). Events are
    # throttled (0.5 s), so a fast part may leave none; every one that is there has its part's count.
    steps = {"embedding train images": len(train), "embedding copy 1/1 of the train images": len(train)}
    steps |= {"embedding test images": len(test_ids)} | {
        f"embedding test view {v}/8": len(test_ids) for v in range(2, 9)
    }
    embedding = [e for e in progress if e["message"].startswith("embedding")]
    assert embedding and all(e["steps"] == steps[e["message"]] for e in embedding)
    assert max(e["progress"] for e in embedding) <= run_module.EMBEDDING_SHARE


def test_tta_averages_the_test_probabilities_over_the_8_views(demo: Path, recipe_scanned: Path, tmp_path: Path):
    """Two test images turned and mirrored by hand, embedded as files, predicted by each fold head, averaged."""
    from PIL import Image

    from core.embeddings.features import compute_embeddings
    from core.io.images import open_rgb

    written = pd.read_csv(recipe_scanned / "test_probs.csv", dtype={"ID": str}).set_index("ID")
    heads = [load_head(recipe_scanned / "weights" / f"fold{k}.safetensors") for k in range(2)]
    picked = written.index[:4].tolist()
    files = []
    for image_id in picked:
        pixels = np.asarray(open_rgb(demo / "test" / image_id))
        for v in range(8):
            files.append(tmp_path / f"{Path(image_id).stem}_view{v}.png")  # lossless: the same pixels
            Image.fromarray(dihedral(pixels, v)).save(files[-1])
    options = dict(backbone="tf_efficientnet_lite0", pretrained="offline", image_size=64, batch_size=16)
    vectors = compute_embeddings(files, cache_dir=None, features="multi", **options).reshape(len(picked), 8, -1)
    differences = []
    for i, image_id in enumerate(picked):
        by_head = [predict_linear(h, vectors[i], num_classes=NUM_CLASSES) for h in heads]  # (8, K) each
        expected = np.mean([p.mean(axis=0) for p in by_head], axis=0)
        np.testing.assert_allclose(written.loc[image_id, PROB_COLUMNS].to_numpy(float), expected, atol=1e-4)
        upright_only = np.mean([p[0] for p in by_head], axis=0)
        differences.append(np.abs(expected - upright_only).max())
    assert max(differences) > 1e-3, differences  # the other 7 views count (for some image: a sure one is sure in all)


def test_a_second_recipe_scan_embeds_nothing_and_a_changed_recipe_only_its_copies(
    demo: Path, recipe_scanned: Path, monkeypatch: pytest.MonkeyPatch
):
    from core.recipes.presets import albumentations

    ran: list[tuple[int, str | None]] = []
    real = embeddings_module._run_network

    def counting(paths, **kwargs):
        view = kwargs.get("view")
        ran.append((len(paths), None if view is None else view.key))
        return real(paths, **kwargs)

    monkeypatch.setattr(embeddings_module, "_run_network", counting)
    code, again = run_job(demo, [*RECIPE_SCAN, "aug.recipe=document-scan"])
    assert code == 0 and ran == []
    first, second = (pd.read_csv(d / "test_probs.csv")[PROB_COLUMNS] for d in (recipe_scanned, again))
    np.testing.assert_allclose(second, first, atol=1e-6)

    # A recipe of its own (quarter turns only): its copies are embedded, nothing else is.
    A = albumentations()
    recipes = demo / ".workbench" / "recipes"
    recipes.mkdir(parents=True, exist_ok=True)
    A.save(A.Compose([A.RandomRotate90(p=1.0)]), str(recipes / "turns.yaml"), data_format="yaml")
    code, changed = run_job(demo, [*RECIPE_SCAN, "aug.recipe=turns"])
    assert code == 0, read_status(changed).get("traceback")
    n_train = len(pd.read_csv(demo / "train.csv"))
    assert len(ran) == 1 and ran[0][0] == n_train and ran[0][1].startswith("recipe:")


def test_cached_parts_still_report_each_stage_with_its_image_count(demo: Path, recipe_scanned: Path):
    from core.config import load_config
    from core.project.layout import open_layout
    from core.runs.folder import create_run
    from core.runs.inputs import prepare_inputs

    config = load_config(recipe_scanned / "config.yaml")
    run_dir = create_run(open_layout(demo), config)
    recorder = Recorder()
    run_module.run_scan(prepare_inputs(run_dir, config), recorder)
    embedding = [p for p in recorder.progress if p["message"].startswith("embedding")]
    labels = list(dict.fromkeys(p["message"] for p in embedding))
    assert labels == [
        "embedding train images",
        "embedding test images",
        "embedding copy 1/1 of the train images",
        *(f"embedding test view {v}/8" for v in range(2, 9)),
    ]
    assert embedding[-1]["progress"] == pytest.approx(run_module.EMBEDDING_SHARE)
    values = [p["progress"] for p in recorder.progress]
    assert values == sorted(values)


def test_a_recipe_chosen_for_a_run_makes_its_scan_a_recipe_scan():
    from core.scan.embed import RECIPE_SCAN_COPIES, with_recipe

    chosen = with_recipe(resolve_config(kind="scan"), "document-scan")
    assert chosen.aug.recipe == "document-scan" and chosen.aug.recipe_yaml == ""
    assert chosen.scan.copies == RECIPE_SCAN_COPIES > 0 and chosen.scan.tta
    plain = with_recipe(resolve_config(kind="scan"), "none")
    assert plain.aug.recipe == "none" and plain.scan.copies == 0 and not plain.scan.tta
    own = with_recipe(resolve_config(kind="scan", overrides=["scan.copies=2"]), "heavy")
    assert own.scan.copies == 2 and not own.scan.tta  # what the user set stays
