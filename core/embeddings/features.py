"""Image embeddings from a frozen timm backbone, cached so a second scan never runs the network.

    compute_embeddings(paths, *, backbone, pretrained, image_size, batch_size, tta, features, cache_dir)
        -> (N, D) float32, row i for paths[i]

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

With `tta` the embedding is the mean of the image's and its horizontal mirror's.

The cache lives in `<cache_dir>/embeddings/<model>-<set>.npz`: `model` hashes what decides the
numbers (backbone, weights, image size, TTA, preprocessing version), `set` hashes every file's
path, size and modification time in order. The same image set again is one file read and no
model at all. A different set (labels exported with a few rows dropped, a replaced image) reuses
the rows of earlier sets under the same model key and runs the network only on the new files.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.config import SCAN_FEATURES
from core.io.atomic import atomic_write
from core.io.images import open_rgb
from core.runs.progress import Callbacks, SpanCallbacks

if TYPE_CHECKING:
    import torch


# Bump when the preprocessing changes, so old cache files are never read as the new numbers.
PREPROCESSING = "v1:open_rgb+resize_bicubic+normalise"


MULTI_STAGES = 3  # intermediate stages kept by features = "multi", counted from the last


CACHE_SUBDIR = "embeddings"


KEEP_SETS_PER_MODEL = 8  # older set files of one model key are deleted; the cache folder is safe to delete


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


def file_fingerprints(paths: Sequence[str | Path]) -> list[str]:
    """One string per file: absolute path, size in bytes and mtime in ns (a changed file changes it)."""
    prints = []
    for path in paths:
        absolute = os.path.abspath(path)
        stat = os.stat(absolute)
        prints.append(f"{absolute}|{stat.st_size}|{stat.st_mtime_ns}")
    return prints


def set_key(fingerprints: Sequence[str]) -> str:
    digest = hashlib.sha1()
    for item in fingerprints:
        digest.update(item.encode())
        digest.update(b"\n")
    return digest.hexdigest()[:16]


def load_pixels(path: str | Path, image_size: int) -> np.ndarray:
    """(image_size, image_size, 3) uint8: the upright RGB image resized to a square.

    A plain resize rather than resize-shorter-side + centre-crop: a scan is used to find wrong
    labels, and the part a crop would cut off may be the part that carries the label. The
    offline weights rank 'daisy' first on the 640x427 flower photo either way (tests/test_scan.py).
    Large JPEGs are decoded at a reduced scale (draft) that is still at least image_size.
    """
    from PIL import Image

    image = open_rgb(Path(path), draft_size=(image_size, image_size))
    if image.size != (image_size, image_size):
        image = image.resize((image_size, image_size), Image.Resampling.BICUBIC)
    return np.asarray(image, dtype=np.uint8)


class _ImageSet:
    """A map-style dataset of uint8 HWC arrays (picklable, for DataLoader workers)."""

    def __init__(self, paths: Sequence[str], image_size: int) -> None:
        self.paths = list(paths)
        self.image_size = image_size

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> np.ndarray:
        return load_pixels(self.paths[index], self.image_size)


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
            _ImageSet(paths, image_size),
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


def _cache_files(folder: Path, model: str) -> list[Path]:
    """This model key's set files, newest first."""
    files = []
    for path in folder.glob(f"{model}-*.npz"):
        try:
            files.append((path.stat().st_mtime_ns, path))
        except OSError:  # deleted by another job meanwhile
            continue
    return [path for _, path in sorted(files, reverse=True)]


def _read_set(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """(fingerprints, embeddings) of a cache file, or None when it is unreadable (treated as absent)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            prints, embeddings = data["fingerprints"], data["embeddings"]
            if embeddings.ndim != 2 or len(prints) != len(embeddings):
                return None
            return prints, embeddings.astype(np.float32, copy=False)
    except (OSError, ValueError, KeyError, EOFError):
        return None


def _write_set(path: Path, fingerprints: Sequence[str], embeddings: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "wb") as handle:
        np.savez(handle, fingerprints=np.asarray(fingerprints, dtype=str), embeddings=embeddings.astype(np.float32))


def _prune(folder: Path, model: str, keep: int) -> None:
    for stale in _cache_files(folder, model)[keep:]:
        try:
            stale.unlink()
        except OSError:
            pass


def _known_rows(folder: Path, model: str, prints: Sequence[str]) -> tuple[np.ndarray | None, np.ndarray]:
    """Rows already embedded in earlier set files of this model key (same file, size and mtime):
    (embeddings (N, D) float32 with those rows filled, or None if none was; known (N,) bool)."""
    total = len(prints)
    embeddings: np.ndarray | None = None
    known = np.zeros(total, dtype=bool)
    if not folder.is_dir():
        return embeddings, known
    wanted = {fp: i for i, fp in enumerate(prints)}
    for path in _cache_files(folder, model):
        cached = _read_set(path)
        if cached is None:
            continue
        for fp, row in zip(cached[0].tolist(), cached[1], strict=True):
            i = wanted.get(fp)
            if i is None or known[i]:
                continue
            if embeddings is None:
                embeddings = np.zeros((total, cached[1].shape[1]), dtype=np.float32)
            if row.shape[0] != embeddings.shape[1]:
                continue
            embeddings[i] = row
            known[i] = True
        if known.all():
            break
    return embeddings, known


def compute_embeddings(
    paths: Sequence[str | Path],
    *,
    backbone: str,
    pretrained: str,
    image_size: int,
    batch_size: int,
    tta: bool,
    cache_dir: str | Path | None,
    features: str = "pooled",
    callbacks: Callbacks | None = None,
    progress_span: tuple[float, float] = (0.0, 1.0),
    num_workers: int | None = None,
) -> np.ndarray:
    """(N, D) float32 embeddings, row i for paths[i]; D is the backbone's feature width (1280 for Lite0)
    with features = "pooled", wider with "multi" (see the module docstring).

    `cache_dir` is the project's cache folder (None: no caching). `progress_span` is the share of
    the whole run this call covers: progress is reported from its start to its end (step = images
    embedded by the network, steps = images not cached). `num_workers` are DataLoader processes
    for decoding (None: 0 on CPU, up to 8 on a GPU).
    """
    if image_size < 16:
        raise ValueError(f"image_size must be at least 16 pixels, got {image_size}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if features not in SCAN_FEATURES:
        raise ValueError(f"features must be one of {', '.join(SCAN_FEATURES)}, got {features!r}")
    span = SpanCallbacks(callbacks or Callbacks(), progress_span, min_interval_s=PROGRESS_EVERY_S)

    def report(done: int, steps: int) -> None:
        span.on_progress(progress=done / steps if steps else 1.0, message="embedding images", step=done, steps=steps)

    paths = [os.path.abspath(p) for p in paths]
    total = len(paths)
    model = model_key(backbone=backbone, pretrained=pretrained, image_size=image_size, tta=tta, features=features)
    prints = file_fingerprints(paths) if cache_dir is not None else []
    folder = Path(cache_dir) / CACHE_SUBDIR if cache_dir is not None else None
    target = folder / f"{model}-{set_key(prints)}.npz" if folder is not None else None

    if target is not None and target.is_file():
        cached = _read_set(target)
        if cached is not None and list(cached[0]) == prints:
            report(total, total)
            return cached[1]

    embeddings, known = _known_rows(folder, model, prints) if folder is not None else (None, np.zeros(total, bool))
    missing = np.flatnonzero(~known)
    if len(missing):
        steps = len(missing)
        report(0, steps)
        fresh = _run_network(
            [paths[i] for i in missing],
            backbone=backbone,
            pretrained=pretrained,
            image_size=image_size,
            batch_size=batch_size,
            tta=tta,
            features=features,
            num_workers=num_workers,
            report=lambda done: report(done, steps),
        )
        if embeddings is None:
            embeddings = np.zeros((total, fresh.shape[1]), dtype=np.float32)
        embeddings[missing] = fresh
    else:
        report(total, total)
    if embeddings is None:  # no paths at all
        embeddings = np.zeros((0, 0), dtype=np.float32)

    if target is not None and total:
        _write_set(target, prints, embeddings)
        _prune(folder, model, KEEP_SETS_PER_MODEL)
    return embeddings
