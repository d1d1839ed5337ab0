"""The scan run end to end (job entry in-process on a small demo) and its pieces: linear head, embeddings.

Its folds (the same as a train run's) are tested in tests/core/runs/test_folds.py.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.config import resolve_config
from core.embeddings import features as embeddings_module
from core.embeddings.features import compute_embeddings
from core.project.demo import build_demo
from core.project.layout import open_layout
from core.runs.folder import create_run, prob_columns, read_events, read_status
from core.runs.progress import Callbacks
from core.scan.linear import fit_linear, load_head, log_loss, predict_linear
from core.scan.run import C_GRID

NUM_CLASSES = 10  # the demo's digits
PROB_COLUMNS = prob_columns(NUM_CLASSES)
BACKBONE = dict(backbone="tf_efficientnet_lite0", pretrained="offline")


def run_job(root: Path, overrides: list[str]) -> tuple[int, Path]:
    """A scan job through core.runs.entry.main, in this process; (exit code, run folder)."""
    from core.runs.entry import main

    run_dir = create_run(open_layout(root), resolve_config(kind="scan", overrides=overrides))
    previous = signal.getsignal(signal.SIGTERM)  # main() installs its cancel handler; give ours back
    try:
        code = main(["--config", str(run_dir / "config.yaml")])
    finally:
        signal.signal(signal.SIGTERM, previous)
    return code, run_dir


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """~230 train images (all ten classes, 15-30 each) and ~180 labelled test images, 64x64."""
    return build_demo(tmp_path_factory.mktemp("scan") / "demo", per_class=30, test_fraction=0.1).root


@pytest.fixture(scope="module")
def scanned(demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run folder of one 3-fold scan at 64 px on the demo (the embedding cache starts empty)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WORKBENCH_HOME", str(tmp_path_factory.mktemp("home")))
        code, run_dir = run_job(demo, ["scan.image_size=64", "data.folds=3"])
    assert code == 0, read_status(run_dir).get("traceback")
    return run_dir


def test_scan_job_writes_every_artifact_the_pages_read(demo: Path, scanned: Path):
    train = pd.read_csv(demo / "train.csv", dtype={"ID": str})
    test_ids = pd.read_csv(demo / "sample_submission.csv", dtype={"ID": str})["ID"]
    status = read_status(scanned)
    assert status["state"] == "succeeded"
    assert status["progress"] == 1.0

    oof = pd.read_csv(scanned / "oof.csv", dtype={"ID": str})
    assert list(oof.columns) == ["ID", "fold", "given", "predicted", *PROB_COLUMNS]
    assert sorted(oof["ID"]) == sorted(train["ID"])  # 3 folds: every train image held out once
    assert sorted(oof["fold"].unique()) == [0, 1, 2]
    np.testing.assert_allclose(oof[PROB_COLUMNS].sum(axis=1), 1.0, atol=1e-6)
    assert (oof["predicted"] == oof[PROB_COLUMNS].to_numpy().argmax(axis=1)).all()
    given = train.set_index("ID").loc[oof["ID"], "target"].to_numpy()
    assert (oof["given"].to_numpy() == given).all()

    test_probs = pd.read_csv(scanned / "test_probs.csv", dtype={"ID": str})
    submission = pd.read_csv(scanned / "submission.csv", dtype={"ID": str})
    assert list(test_probs.columns) == ["ID", *PROB_COLUMNS]
    assert sorted(test_probs["ID"]) == sorted(test_ids) == sorted(submission["ID"])
    np.testing.assert_allclose(test_probs[PROB_COLUMNS].sum(axis=1), 1.0, atol=1e-6)
    assert list(submission.columns) == ["ID", "target"]

    vectors = np.load(scanned / "embeddings.npy")
    ids = pd.read_csv(scanned / "embeddings_ids.csv", dtype={"ID": str})
    # features = "multi" (the default): 40 + 112 + 320 stage channels and the 1280 pooled features of Lite0.
    assert vectors.dtype == np.float32 and vectors.shape == (len(train) + len(test_ids), 1752)
    assert len(ids) == len(vectors)
    assert ids["split"].value_counts().to_dict() == {"train": len(train), "test": len(test_ids)}
    assert np.isfinite(vectors).all()

    metrics = status["metrics"]
    # Measured 0.67 at 64 px on this 232-image demo (chance is 0.1; the full demo gives ~0.85).
    assert metrics["oof_macro_f1"] > 0.5
    assert metrics["scan_C"] in C_GRID  # scan.C = 0: chosen by out-of-fold log-loss
    # The test images are rotated, flipped and recoloured: a linear probe on upright train images
    # barely transfers (the gap the noise recipes are for), but the metric must be there.
    assert 0.0 <= metrics["test_macro_f1"] <= 1.0


def test_scan_reports_each_fold_and_progress_in_order(scanned: Path):
    folds = read_events(scanned, kinds=("fold_end",))
    assert [e["fold"] for e in folds] == [0, 1, 2]
    assert all(0.0 <= e["val_macro_f1"] <= 1.0 and 0.0 <= e["val_accuracy"] <= 1.0 for e in folds)
    progress = [e["progress"] for e in read_events(scanned, kinds=("progress",))]
    assert progress == sorted(progress) and progress[-1] == 1.0
    messages = [e.get("message") for e in read_events(scanned, kinds=("progress",))]
    assert messages[0] == "embedding train images" and messages[-1] == "fold 3/3 done"  # (throttled in between)


def test_fold_weights_reproduce_the_test_probabilities(scanned: Path):
    vectors = np.load(scanned / "embeddings.npy")
    split = pd.read_csv(scanned / "embeddings_ids.csv")["split"].to_numpy()
    heads = [load_head(scanned / "weights" / f"fold{k}.safetensors") for k in range(3)]
    assert set(heads[0]) == {"coef", "intercept", "classes", "scaler_mean", "scaler_scale"}
    assert heads[0]["coef"].shape == (NUM_CLASSES, 1752)
    mean = np.mean([predict_linear(h, vectors[split == "test"], num_classes=NUM_CLASSES) for h in heads], axis=0)
    written = pd.read_csv(scanned / "test_probs.csv")[PROB_COLUMNS].to_numpy()
    np.testing.assert_allclose(mean, written, atol=1e-6)


def test_second_scan_reuses_the_embedding_cache(demo: Path, scanned: Path, monkeypatch: pytest.MonkeyPatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the backbone ran although every embedding is cached")

    monkeypatch.setattr(embeddings_module, "_run_network", no_network)
    monkeypatch.setattr("core.models.factory.create_model", no_network)
    code, again = run_job(demo, ["scan.image_size=64", "data.folds=3"])
    assert code == 0, read_status(again).get("message")
    assert np.array_equal(np.load(again / "embeddings.npy"), np.load(scanned / "embeddings.npy"))
    first, second = pd.read_csv(scanned / "oof.csv"), pd.read_csv(again / "oof.csv")
    np.testing.assert_allclose(second[PROB_COLUMNS], first[PROB_COLUMNS], atol=1e-6)


def test_single_holdout_scores_only_the_held_out_fifth(demo: Path, scanned: Path):
    code, run_dir = run_job(demo, ["scan.image_size=64", "data.folds=1"])
    status = read_status(run_dir)
    assert code == 0 and status["state"] == "succeeded", status.get("message")
    train = pd.read_csv(demo / "train.csv")
    oof = pd.read_csv(run_dir / "oof.csv")
    assert len(oof) == int(np.ceil(0.2 * len(train)))
    assert set(oof["fold"]) == {0}
    # Stratified: every class is held out in proportion (+-1 image).
    held = oof["given"].value_counts().sort_index()
    expected = train["target"].value_counts().sort_index() * 0.2
    assert (abs(held - expected) <= 1).all()
    assert len(pd.read_csv(run_dir / "test_probs.csv")) == len(pd.read_csv(demo / "sample_submission.csv"))
    assert sorted(p.name for p in (run_dir / "weights").iterdir()) == ["fold0.safetensors"]
    assert "oof_macro_f1" in status["metrics"] and "test_macro_f1" in status["metrics"]


class Recorder(Callbacks):
    def __init__(self) -> None:
        self.messages: list[str] = []
        self.progress: list[dict] = []

    def on_message(self, text: str) -> None:
        self.messages.append(text)

    def on_progress(self, *, progress: float, message: str = "", **where) -> None:
        self.progress.append({"progress": progress, "message": message, **where})


def test_linear_head_has_k_columns_when_a_class_is_missing_from_training():
    rng = np.random.default_rng(0)
    labels = np.array([0, 1, 3] * 20)  # class 2 absent
    features = rng.normal(size=(60, 8)) + np.eye(8)[labels] * 4
    head = fit_linear(features, labels, C=1.0, seed=0)
    probs = predict_linear(head, features, num_classes=4)
    assert probs.shape == (60, 4)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert (probs[:, 2] == 0).all()
    assert (probs.argmax(axis=1) == labels).mean() > 0.95


def test_binary_head_matches_scikit_learn_probabilities():
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(1)
    labels = np.array([1, 4] * 30)
    features = rng.normal(size=(60, 5)) + (labels == 4)[:, None] * 1.5
    head = fit_linear(features, labels, C=0.5, seed=0)
    scaler = StandardScaler().fit(features)
    reference = LogisticRegression(C=0.5, max_iter=3000).fit(scaler.transform(features), labels)
    probs = predict_linear(head, features, num_classes=5)
    np.testing.assert_allclose(probs[:, [1, 4]], reference.predict_proba(scaler.transform(features)), atol=1e-5)
    assert (probs[:, [0, 2, 3]] == 0).all()


def _demo_paths(demo: Path, n: int) -> list[Path]:
    return sorted((demo / "train").glob("*.jpg"))[:n]


def test_embedding_cache_embeds_only_files_it_has_not_seen(demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    paths = _demo_paths(demo, 12)
    options = dict(**BACKBONE, image_size=32, batch_size=4, tta=False)
    embedded: list[int] = []
    real = embeddings_module._run_network

    def counting(paths_run, **kwargs):
        embedded.append(len(paths_run))
        return real(paths_run, **kwargs)

    monkeypatch.setattr(embeddings_module, "_run_network", counting)
    first = compute_embeddings(paths[:8], cache_dir=tmp_path, **options)
    # Labels exported with rows 2-3 dropped and two new images: only the two new ones run.
    subset = paths[:2] + paths[4:8] + paths[8:10]
    second = compute_embeddings(subset, cache_dir=tmp_path, **options)
    again = compute_embeddings(subset, cache_dir=tmp_path, **options)
    assert embedded == [8, 2]
    assert first.shape == (8, 1280) and second.shape == (8, 1280)
    np.testing.assert_array_equal(second[:6], first[[0, 1, 4, 5, 6, 7]])
    np.testing.assert_array_equal(again, second)
    fresh = compute_embeddings(paths[8:10], cache_dir=None, **options)
    np.testing.assert_allclose(second[6:], fresh, atol=1e-4)

    # A file changed in place (new mtime) is embedded again, not served stale from the cache.
    changed = paths[0]
    stat = changed.stat()
    os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    compute_embeddings(subset, cache_dir=tmp_path, **options)
    assert embedded == [8, 2, 2, 1]  # `fresh` (no cache) ran 2, the changed file 1


def test_tta_averages_the_image_and_its_mirror_and_workers_change_nothing(tmp_path: Path):
    from PIL import Image

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "image.png")
    Image.fromarray(pixels[:, ::-1]).save(tmp_path / "mirror.png")
    paths = [tmp_path / "image.png", tmp_path / "mirror.png"]
    options = dict(**BACKBONE, image_size=32, batch_size=2, cache_dir=None)
    plain = compute_embeddings(paths, tta=False, **options)
    flipped = compute_embeddings(paths, tta=True, **options)
    np.testing.assert_allclose(flipped[0], plain.mean(axis=0), atol=1e-4)
    np.testing.assert_allclose(flipped[0], flipped[1], atol=1e-4)
    assert not np.allclose(plain[0], plain[1], atol=1e-3)
    with_workers = compute_embeddings(paths, tta=False, num_workers=1, **options)
    np.testing.assert_allclose(with_workers, plain, atol=1e-6)


def test_multi_features_are_the_normalised_stages_and_the_pooled_features(demo: Path, tmp_path: Path):
    paths = _demo_paths(demo, 3)
    options = dict(**BACKBONE, image_size=32, batch_size=3, tta=False)
    pooled = compute_embeddings(paths, cache_dir=tmp_path, features="pooled", **options)
    multi = compute_embeddings(paths, cache_dir=tmp_path, features="multi", **options)
    assert pooled.shape == (3, 1280) and multi.shape == (3, 40 + 112 + 320 + 1280)
    parts = np.split(multi, [40, 152, 472], axis=1)
    for part in parts:  # each part L2-normalised, so no part outweighs the others in a cosine distance
        np.testing.assert_allclose(np.linalg.norm(part, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(parts[-1], pooled / np.linalg.norm(pooled, axis=1, keepdims=True), atol=1e-5)
    # Separate cache entries: one kind is never served as the other.
    assert len(list((tmp_path / "embeddings").glob("*.npz"))) == 2
    with pytest.raises(ValueError, match="features must be one of multi, pooled"):
        compute_embeddings(paths, cache_dir=None, features="stages", **options)


def test_scan_keeps_the_C_with_the_lowest_out_of_fold_log_loss(demo: Path, scanned: Path):
    messages = [e["text"] for e in read_events(scanned, kinds=("message",))]
    line = next(x for x in messages if "out-of-fold log-loss by C:" in x)
    losses = dict(pair.split(": ") for pair in line.split("by C: ")[1].split("; ")[0].split(", "))
    chosen = read_status(scanned)["metrics"]["scan_C"]
    assert set(map(float, losses)) == set(C_GRID)
    assert float(min(losses, key=lambda c: float(losses[c]))) == chosen
    for weights in sorted((scanned / "weights").glob("fold*.safetensors")):
        from safetensors import safe_open

        with safe_open(str(weights), framework="numpy") as handle:
            assert float(handle.metadata()["C"]) == chosen and handle.metadata()["features"] == "multi"


def test_the_pruning_pass_refits_without_the_confident_label_issues(scanned: Path):
    from core.runs.folds import fold_splits

    status = read_status(scanned)
    chosen = status["metrics"]["scan_C"]
    pruned = pd.read_csv(scanned / "oof.csv", dtype={"ID": str})
    ids = pd.read_csv(scanned / "embeddings_ids.csv", dtype={"ID": str})
    vectors = np.load(scanned / "embeddings.npy")[(ids["split"] == "train").to_numpy()]
    train_ids = ids.loc[ids["split"] == "train", "ID"].tolist()
    labels = pruned.set_index("ID").loc[train_ids, "given"].to_numpy()
    # The first pass, redone from the run's own embeddings (same folds, seed and C).
    first = np.zeros((len(labels), NUM_CLASSES))
    for train_rows, held_rows in fold_splits(labels, folds=3, seed=0):
        head = fit_linear(vectors[train_rows], labels[train_rows], C=chosen, seed=0)
        first[held_rows] = predict_linear(head, vectors[held_rows], num_classes=NUM_CLASSES)
    confident = int(((first.argmax(axis=1) != labels) & (first.max(axis=1) >= 0.7)).sum())
    # Pruned: exactly the rows the first pass puts in another class with probability >= scan.prune
    # (0.7), and every row still scored, by the refitted folds.
    assert confident > 0 and status["metrics"]["scan_pruned"] == confident
    messages = [e["text"] for e in read_events(scanned, kinds=("message",))]
    assert any(f"without the {confident} training images" in m for m in messages)
    final = pruned.set_index("ID").loc[train_ids, PROB_COLUMNS].to_numpy()
    assert len(final) == len(labels) and not np.allclose(final, first, atol=1e-4)
    # Unpruned, the out-of-fold probabilities would be the first pass's: the log-loss the C search reported.
    line = next(m for m in messages if "log-loss by C:" in m)
    losses = dict(pair.split(": ") for pair in line.split("by C: ")[1].split("; ")[0].split(", "))
    assert log_loss(labels, first) == pytest.approx(float(losses[f"{chosen:g}"]), abs=1e-3)


def test_a_fixed_C_skips_the_search(demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path))
    code, run_dir = run_job(demo, ["scan.image_size=32", "data.folds=2", "scan.C=0.05", "scan.features=pooled"])
    assert code == 0, read_status(run_dir).get("traceback")
    assert read_status(run_dir)["metrics"]["scan_C"] == 0.05
    assert not [e for e in read_events(run_dir, kinds=("message",)) if "log-loss by C" in e["text"]]
    assert np.load(run_dir / "embeddings.npy").shape[1] == 1280


def test_embedding_progress_stays_inside_its_span(demo: Path):
    recorder = Recorder()
    compute_embeddings(
        _demo_paths(demo, 6),
        **BACKBONE,
        image_size=32,
        batch_size=2,
        tta=False,
        cache_dir=None,
        callbacks=recorder,
        progress_span=(0.2, 0.5),
    )
    values = [p["progress"] for p in recorder.progress]
    assert values[0] == pytest.approx(0.2) and values[-1] == pytest.approx(0.5)
    assert values == sorted(values)
    assert {p["message"] for p in recorder.progress} == {"embedding images"}
    assert recorder.progress[-1]["step"] == recorder.progress[-1]["steps"] == 6


def test_offline_weights_rank_daisy_first_on_the_flower_photo(tmp_path: Path):
    """DESIGN.md's claim, through the scan's own preprocessing (plain resize to 224 px, mean = std = 0.5)."""
    import torch
    from PIL import Image
    from sklearn.datasets import load_sample_image

    from core.models.factory import create_model, normalisation

    assert normalisation("offline") == ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    Image.fromarray(load_sample_image("flower.jpg")).save(tmp_path / "flower.png")
    vector = compute_embeddings(
        [tmp_path / "flower.png"], **BACKBONE, image_size=224, batch_size=1, tta=False, cache_dir=None
    )
    imagenet = create_model("tf_efficientnet_lite0", pretrained="offline", num_classes=1000).eval()
    with torch.inference_mode():
        logits = imagenet.get_classifier()(torch.from_numpy(vector))[0]
    assert int(logits.argmax()) == 985  # ImageNet 'daisy'


def test_cache_files_are_plain_arrays_named_by_model_and_image_set(demo: Path, scanned: Path):
    from core.embeddings.features import model_key

    key = model_key(**BACKBONE, image_size=64, tta=False, features="multi")  # the `scanned` run's
    files = sorted((demo / ".workbench" / "cache" / "embeddings").glob(f"{key}-*.npz"))
    assert len(files) == 2  # the train set and the test set
    with np.load(files[0], allow_pickle=False) as data:
        assert data["embeddings"].dtype == np.float32
        assert len(data["fingerprints"]) == len(data["embeddings"])
