"""Image embeddings from a frozen timm backbone, cached so a second scan never runs the network.

    compute_embeddings(paths, *, backbone, pretrained, image_size, batch_size, cache_dir, features="pooled",
                       tta=False, view=None) -> (N, D) float32, row i for paths[i]

Each image is opened with core.io.images.open_rgb (upright RGB, bombs refused), resized to
image_size x image_size (plain resize, bicubic: nothing is cropped away, see `load_pixels`),
normalised for the weights (core.models.factory.normalisation) and passed through the backbone without
its classifier. `features` says what is kept:

    "pooled"   the pooled features of the last layer (timm num_classes=0); 1280-d for Lite0
    "multi"    those and the average-pooled maps of the last MULTI_STAGES stages (timm's
               `forward_intermediates`), each part L2-normalised, then concatenated; 1752-d for
               Lite0 (40 + 112 + 320 + 1280). The middle stages keep strokes, edges and textures
               that the ImageNet-specific last layer discards: on the demo's digits a linear model
               on them is right more often (OOF accuracy against the true labels 0.944 -> 0.954 at
               224 px) and cleanlab's label-issue precision rises with it (bench/label_issues.py).
               Normalising each part keeps a cosine neighbour search from being decided by
               whichever part has the largest values.

With `tta` the embedding is the mean of the image's and its horizontal mirror's (the scan no longer
uses it: its scan.tta averages test probabilities over dihedral views, core.scan.views).

`view` (an `ImageView`: a small picklable object with a `key` string, called as
`view(pixels, path) -> pixels`) changes each image before the network: an augmented copy, a
rotation. It gets the decoded RGB uint8 pixels at the file's own resolution (large JPEGs reduced by
draft to at least image_size), before the resize, so noise lands at the scale the test images got
it. It runs in DataLoader workers, so it must be picklable and deterministic per (key, path).

The cache (core.embeddings.cache) lives in `<cache_dir>/embeddings/<model>-<set>.npz`: `model`
hashes what decides the numbers (backbone, weights, image size, TTA, preprocessing version), `set`
hashes every file's path, size and modification time in order. The same image set again is one
file read and no model at all. A different set (labels exported with a few rows dropped, a
replaced image) reuses the rows of earlier sets under the same model key and runs the network only
on the new files. A view's rows carry its key in their fingerprints and live in files of their own
(`<model>_<view hash>-<set>.npz`): the same view of the same file is never embedded twice, and a
changed view (a new recipe version) is embedded afresh without touching the plain rows.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from core.config import SCAN_FEATURES
from core.embeddings.cache import (
    file_fingerprints,
    group_name,
    known_rows,
    prune_sets,
    prune_views,
    read_set,
    set_key,
    write_set,
)
from core.io.images import open_rgb
from core.runs.progress import Callbacks, SpanCallbacks

if TYPE_CHECKING:
    import torch


# Bump when the preprocessing changes, so old cache files are never read as the new numbers.
PREPROCESSING = "v1:open_rgb+resize_bicubic+normalise"


MULTI_STAGES = 3  # intermediate stages kept by features = "multi", counted from the last


CACHE_SUBDIR = "embeddings"


KEEP_SETS_PER_MODEL = 8  # older set files of one model key are deleted; the cache folder is safe to delete


# View files of one model key, over all views: 4 copies + 7 dihedral views of train and test sets,
# a few recipe versions deep. The oldest go first (an old recipe version's copies).
KEEP_VIEW_FILES_PER_MODEL = 48


class ImageView(Protocol):
    """What `compute_embeddings(view=...)` applies to each image's pixels before the network."""

    key: str  # goes into every row's cache fingerprint: a different key is a different embedding

    def __call__(self, pixels: np.ndarray, path: str) -> np.ndarray:
        """(H, W, 3) uint8 -> (H', W', 3) uint8, deterministic per (key, path)."""
        ...


PROGRESS_EVERY_S = 0.5


def weights_fingerprint(pretrained: str) -> str:
    """What identifies the weights: the name, or a checkpoint file's path, size and mtime."""
    if pretrained in ("offline", "hub", "none"):
        return pretrained
    path = Path(pretrained).expanduser().resolve()
    try:
        stat = path.stat()
    except OSError:
        return str(path)
    return f"{path}|{stat.st_size}|{stat.st_mtime_ns}"


def model_key(*, backbone: str, pretrained: str, image_size: int, tta: bool, features: str = "pooled") -> str:
    """Hash of everything (but the images) that decides the embedding values."""
    text = f"{backbone}|{weights_fingerprint(pretrained)}|{int(image_size)}|tta={bool(tta)}|{PREPROCESSING}"
    if features != "pooled":  # "pooled" keeps the keys (and the cache files) written before `features` existed
        text += f"|features={features}:{MULTI_STAGES}"
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def load_pixels(path: str | Path, image_size: int, view: ImageView | None = None) -> np.ndarray:
    """(image_size, image_size, 3) uint8: the upright RGB image (through `view`, if any) resized to a square.

    A plain resize rather than resize-shorter-side + centre-crop: a scan is used to find wrong
    labels, and the part a crop would cut off may be the part that carries the label. The
    offline weights rank 'daisy' first on the 640x427 flower photo either way (tests/test_scan.py).
    Large JPEGs are decoded at a reduced scale (draft) that is still at least image_size.
    """
    from PIL import Image

    image = open_rgb(Path(path), draft_size=(image_size, image_size))
    if view is not None:
        image = Image.fromarray(np.ascontiguousarray(view(np.asarray(image, dtype=np.uint8), str(path))))
    if image.size != (image_size, image_size):
        image = image.resize((image_size, image_size), Image.Resampling.BICUBIC)
    return np.asarray(image, dtype=np.uint8)


class _ImageSet:
    """A map-style dataset of uint8 HWC arrays (picklable, for DataLoader workers)."""

    def __init__(self, paths: Sequence[str], image_size: int, view: ImageView | None = None) -> None:
        self.paths = list(paths)
        self.image_size = image_size
        self.view = view

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> np.ndarray:
        return load_pixels(self.paths[index], self.image_size, self.view)


def _stack(items: list[np.ndarray]) -> torch.Tensor:
    import torch

    return torch.from_numpy(np.stack(items))


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _pick_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _default_workers(device: str) -> int:
    # On CPU the network dominates (decoding a 64x64 JPEG and resizing it costs well under 1 ms,
    # a forward pass tens of ms): worker processes would only take cores from torch's threads.
    # On a GPU the decoding becomes the bottleneck, so it is spread over processes.
    if device == "cpu":
        return 0
    return max(0, min(8, _cpu_count() - 1))


@functools.lru_cache(maxsize=1)
def _backbone(backbone: str, pretrained: str, weights: str, device: str):
    """The frozen model, kept for the next call in this process (the train set, then the test set).

    `weights` (weights_fingerprint) is part of the key so a replaced checkpoint file is reloaded.
    """
    from core.models.factory import create_model

    return create_model(backbone, pretrained=pretrained, num_classes=0).eval().to(device)


def _features(model, x: torch.Tensor, features: str) -> torch.Tensor:
    """(B, D) float features of a normalised (B, 3, H, W) batch (see the module docstring)."""
    import torch

    if features == "pooled":
        return model(x).float()
    final, stages = model.forward_intermediates(x, indices=MULTI_STAGES)
    parts = [stage.float().mean(dim=(2, 3)) for stage in stages] + [model.forward_head(final).float()]
    return torch.cat([torch.nn.functional.normalize(part, dim=1) for part in parts], dim=1)


def _forward(
    model, batch: torch.Tensor, *, mean: torch.Tensor, std: torch.Tensor, tta: bool, features: str = "pooled"
) -> np.ndarray:
    """(B, H, W, 3) uint8 on the model's device -> (B, D) float32 features."""
    import torch

    x = batch.permute(0, 3, 1, 2).float().div_(255.0)
    x = (x - mean) / std
    if tta:
        both = _features(model, torch.cat([x, torch.flip(x, dims=[3])], dim=0), features)
        out = (both[: len(x)] + both[len(x) :]) / 2
    else:
        out = _features(model, x, features)
    return out.cpu().numpy().astype(np.float32, copy=False)


def _run_network(
    paths: Sequence[str],
    *,
    backbone: str,
    pretrained: str,
    image_size: int,
    batch_size: int,
    tta: bool,
    features: str,
    num_workers: int | None,
    report,
    view: ImageView | None = None,
) -> np.ndarray:
    import torch
    from torch.utils.data import DataLoader

    from core.models.factory import normalisation

    device = _pick_device()
    workers = _default_workers(device) if num_workers is None else num_workers
    threads = torch.get_num_threads()
    torch.set_num_threads(_cpu_count())
    try:
        model = _backbone(backbone, pretrained, weights_fingerprint(pretrained), device)
        if features == "multi" and not hasattr(model, "forward_intermediates"):
            raise ValueError(
                f"{backbone} cannot give its intermediate stages (timm has no forward_intermediates for it); "
                "use scan.features=pooled"
            )
        mean_values, std_values = normalisation(pretrained, model)
        mean = torch.tensor(mean_values, dtype=torch.float32, device=device).view(1, 3, 1, 1)
        std = torch.tensor(std_values, dtype=torch.float32, device=device).view(1, 3, 1, 1)
        loader = DataLoader(
            _ImageSet(paths, image_size, view),
            batch_size=batch_size,
            shuffle=False,
            num_workers=workers,
            collate_fn=_stack,
            pin_memory=device != "cpu",
            persistent_workers=False,
        )
        chunks: list[np.ndarray] = []
        done = 0
        with torch.inference_mode():
            for batch in loader:
                chunks.append(
                    _forward(model, batch.to(device, non_blocking=True), mean=mean, std=std, tta=tta, features=features)
                )
                done += len(batch)
                report(done)
        return np.concatenate(chunks, axis=0)
    finally:
        torch.set_num_threads(threads)


def _check_options(*, image_size: int, batch_size: int, features: str) -> None:
    if image_size < 16:
        raise ValueError(f"image_size must be at least 16 pixels, got {image_size}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if features not in SCAN_FEATURES:
        raise ValueError(f"features must be one of {', '.join(SCAN_FEATURES)}, got {features!r}")


def compute_embeddings(
    paths: Sequence[str | Path],
    *,
    backbone: str,
    pretrained: str,
    image_size: int,
    batch_size: int,
    cache_dir: str | Path | None,
    tta: bool = False,
    features: str = "pooled",
    view: ImageView | None = None,
    callbacks: Callbacks | None = None,
    progress_span: tuple[float, float] = (0.0, 1.0),
    message: str = "embedding images",
    num_workers: int | None = None,
) -> np.ndarray:
    """(N, D) float32 embeddings, row i for paths[i] (through `view`, if any: see the module docstring);
    D is the backbone's feature width (1280 for Lite0) with features = "pooled", wider with "multi".

    `cache_dir` is the project's cache folder (None: no caching). `progress_span` is the share of
    the whole run this call covers: progress is reported from its start to its end with `message`
    (step = images embedded by the network, steps = images not cached). `num_workers` are
    DataLoader processes for decoding (None: 0 on CPU, up to 8 on a GPU).
    """
    _check_options(image_size=image_size, batch_size=batch_size, features=features)
    span = SpanCallbacks(callbacks or Callbacks(), progress_span, min_interval_s=PROGRESS_EVERY_S)

    def report(done: int, steps: int) -> None:
        span.on_progress(progress=done / steps if steps else 1.0, message=message, step=done, steps=steps)

    paths = [os.path.abspath(p) for p in paths]
    total = len(paths)
    view_key = None if view is None else view.key
    model = model_key(backbone=backbone, pretrained=pretrained, image_size=image_size, tta=tta, features=features)
    group = group_name(model, view_key)
    prints = file_fingerprints(paths, view_key=view_key) if cache_dir is not None else []
    folder = Path(cache_dir) / CACHE_SUBDIR if cache_dir is not None else None
    target = folder / f"{group}-{set_key(prints)}.npz" if folder is not None else None

    if target is not None and target.is_file():
        cached = read_set(target)
        if cached is not None and list(cached[0]) == prints:
            report(total, total)
            return cached[1]

    embeddings, known = known_rows(folder, group, prints) if folder is not None else (None, np.zeros(total, bool))
    missing = np.flatnonzero(~known)
    if len(missing):
        steps = len(missing)
        report(0, steps)
        network = dict(backbone=backbone, pretrained=pretrained, image_size=image_size, batch_size=batch_size)
        fresh = _run_network(
            [paths[i] for i in missing],
            **network,
            tta=tta,
            features=features,
            num_workers=num_workers,
            report=lambda done: report(done, steps),
            view=view,
        )
        if embeddings is None:
            embeddings = np.zeros((total, fresh.shape[1]), dtype=np.float32)
        embeddings[missing] = fresh
    else:
        report(total, total)
    if embeddings is None:  # no paths at all
        embeddings = np.zeros((0, 0), dtype=np.float32)

    if target is not None and total:
        write_set(target, prints, embeddings)
        prune_sets(folder, group, KEEP_SETS_PER_MODEL)
        if view is not None:
            prune_views(folder, model, KEEP_VIEW_FILES_PER_MODEL)
    return embeddings
