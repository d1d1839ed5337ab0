"""A finished run's predictions for any images: the test set again (e.g. with TTA) or a folder of new images.

    predict_run(run_dir, paths, tta=, cache_dir=, callbacks=) -> (N, K) probabilities, fold models averaged
    image_paths(folder)                                     the folder's image files (regular files only)

Scan runs: the images are embedded as the scan embedded them (scan.backbone, .pretrained, .image_size,
.features; cached per project by core.embeddings) and each fold's linear head (weights/fold<k>.safetensors,
core.scan.linear) predicts; without TTA the test set's probabilities are the run's own test_probs.csv.
tta averages the 8 dihedral views (core.scan.views), as scan.tta does.
Train runs: each fold's timm model (model.name, its weights loaded with safetensors, never pickle) on the
evaluation transform at data.image_size; tta uses the run's train.tta, or the 8 dihedral views when the
run had none. Folds are averaged in both kinds.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core.io.images import IMAGE_EXTENSIONS
from core.runs.progress import Callbacks, SpanCallbacks


class PredictError(ValueError):
    """A run that cannot predict (no weights, an unknown kind); the message says why."""


def image_paths(folder: str | Path) -> list[Path]:
    """Image files directly in `folder` (known extensions, regular files, not hidden), sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PredictError(f"{folder}: not a folder")
    found = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")]
    return sorted((p for p in found if p.is_file()), key=lambda p: p.name)


def _weights(run_dir: Path) -> list[Path]:
    found = sorted((run_dir / "weights").glob("fold*.safetensors"), key=lambda p: int(p.stem[4:] or 0))
    if not found:
        raise PredictError(f"run {run_dir.name} kept no weights (weights/fold<k>.safetensors)")
    return found


def predict_run(
    run_dir: str | Path,
    paths: Sequence[str | Path],
    *,
    num_classes: int,
    tta: bool = False,
    cache_dir: Path | None = None,
    callbacks: Callbacks | None = None,
) -> np.ndarray:
    """(len(paths), num_classes) probabilities of the run's fold models, averaged (module docstring)."""
    from core.config import load_config
    from core.runs.folder import CONFIG

    run_dir = Path(run_dir)
    config = load_config(run_dir / CONFIG)
    weights = _weights(run_dir)
    paths = [str(p) for p in paths]
    if not paths:
        return np.zeros((0, num_classes), dtype=np.float32)
    if config.kind == "scan":
        return _predict_scan(config, weights, paths, num_classes=num_classes, tta=tta, cache_dir=cache_dir,
                             callbacks=callbacks or Callbacks())  # fmt: skip
    return _predict_train(config, weights, paths, num_classes=num_classes, tta=tta, callbacks=callbacks or Callbacks())


def _predict_scan(config, weights, paths, *, num_classes, tta, cache_dir, callbacks) -> np.ndarray:
    from core.embeddings.features import compute_embeddings
    from core.scan.linear import load_head, predict_linear
    from core.scan.views import DIHEDRAL_VIEWS, DihedralView

    scan = config.scan
    views = [None, *(DihedralView(v) for v in range(1, DIHEDRAL_VIEWS))] if tta else [None]
    heads = [load_head(path) for path in weights]
    total = np.zeros((len(paths), num_classes), dtype=np.float64)
    for i, view in enumerate(views):
        span = SpanCallbacks(callbacks, (i / len(views), (i + 1) / len(views)))
        embeddings = compute_embeddings(
            paths, backbone=scan.backbone, pretrained=scan.pretrained, image_size=scan.image_size,
            batch_size=scan.batch_size, features=scan.features, cache_dir=cache_dir, callbacks=span,
            message=f"embedding view {i + 1}/{len(views)}", **({} if view is None else {"view": view}),
        )  # fmt: skip
        for head in heads:
            total += predict_linear(head, embeddings, num_classes=num_classes)
    return (total / (len(views) * len(heads))).astype(np.float32)


def _predict_train(config, weights, paths, *, num_classes, tta, callbacks) -> np.ndarray:
    from safetensors.torch import load_file

    from core.models.factory import create_model, normalisation
    from core.training.data import ImageDataset, create_loader
    from core.training.loop import predict
    from core.training.runtime import resolve_runtime
    from core.training.transforms import create_eval_transform

    model_config, train = config.model, config.train
    runtime = resolve_runtime(device=train.device, amp=train.amp, channels_last=train.channels_last)
    views = (train.tta if train.tta != "none" else "flips_rot90") if tta else "none"
    total = np.zeros((len(paths), num_classes), dtype=np.float64)
    for k, path in enumerate(weights):
        callbacks.on_progress(progress=k / len(weights), message=f"fold {k + 1}/{len(weights)}: {len(paths):,} images")
        # pretrained="none": the fold's own weights replace every tensor (no download, no offline file needed)
        model = create_model(model_config.name, pretrained="none", num_classes=num_classes)
        mean, std = normalisation(model_config.pretrained, model)
        model.load_state_dict(load_file(str(path)))
        model = model.to(runtime.device)
        transform = create_eval_transform(image_size=config.data.image_size, mean=mean, std=std)
        loader = create_loader(ImageDataset(paths, transform=transform), batch_size=train.batch_size, num_workers=0,
                               pin_memory=runtime.cuda, seed=config.data.seed)  # fmt: skip
        total += predict(model, loader, runtime=runtime, tta=views)
    callbacks.on_progress(progress=1.0, message="done")
    return (total / len(weights)).astype(np.float32)
