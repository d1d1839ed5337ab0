"""Training data: fold assignment, the image dataset, samplers and DataLoaders.

    assign_folds(labels, folds=, seed=)      (N,) validation fold of each row (-1: never validated)
    ImageDataset(paths, labels, transform=)  item i = (image tensor (3, S, S), label; -1 unlabelled)
    create_train_sampler(labels, ...)        shuffled or class-balanced rows, sharded per DDP rank
    create_loader(dataset, ...)              a DataLoader that keeps a GPU fed: workers, pinned
                                             memory, persistent workers, seeded per worker

torch is imported inside the functions, so importing this module stays light (pages import core).
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.io.images import open_rgb


def class_counts(labels: np.ndarray, *, num_classes: int) -> np.ndarray:
    """(K,) rows per class."""
    return np.bincount(np.asarray(labels, dtype=int), minlength=num_classes)


def inverse_frequency(labels: np.ndarray, *, num_classes: int) -> np.ndarray:
    """(K,) class weights N / (K * n_k), mean 1 over present classes; an absent class gets 0."""
    counts = class_counts(labels, num_classes=num_classes).astype(np.float64)
    present = counts > 0
    weights = np.zeros(num_classes)
    weights[present] = counts.sum() / (present.sum() * counts[present])
    return weights


class ImageDataset:
    """Map-style dataset over image files (a torch Dataset by duck typing: __len__ + __getitem__).

    Item i is (transform(image)["image"], label): the transform gets an (H, W, 3) uint8 RGB array
    decoded by core.io.images.open_rgb; label is the class index, or -1 where `labels` is None.
    """

    def __init__(self, paths: Sequence[str | Path], labels: Sequence[int] | None = None, *, transform: Any) -> None:
        self.paths = [str(p) for p in paths]
        self.labels = None if labels is None else [int(y) for y in labels]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        image = np.array(open_rgb(Path(self.paths[index])))  # a writable copy: some transforms work in place
        tensor = self.transform(image=image)["image"]
        return tensor, (-1 if self.labels is None else self.labels[index])


def resolve_workers(num_workers: int, *, world_size: int = 1) -> int:
    """data.num_workers; -1 = one per CPU core (at most 8), shared between the DDP ranks of this machine."""
    if num_workers >= 0:
        return num_workers
    return max(1, min(8, (os.cpu_count() or 1) // max(1, world_size)))


def init_worker(worker_id: int) -> None:  # noqa: ARG001 - the DataLoader's worker_init_fn signature
    """In each DataLoader worker: one thread for OpenCV and torch (workers are the parallelism), and
    distinct seeds for python, numpy and the albumentations pipeline (each worker gets a copy of the
    same seeded pipeline; without this, every worker would draw the same noise)."""
    import cv2
    import torch

    cv2.setNumThreads(0)
    torch.set_num_threads(1)
    info = torch.utils.data.get_worker_info()
    seed = info.seed % 2**32  # the loader's generator base seed + worker id: reproducible
    random.seed(seed)
    np.random.seed(seed)
    transform = getattr(info.dataset, "transform", None)
    if hasattr(transform, "set_random_state"):
        from core.recipes.apply import shared_random_state

        # One stream for all the pipeline's steps: albumentations' set_random_seed gives each step its
        # own generator with the same seed, so HorizontalFlip(0.5) and VerticalFlip(0.5) always agreed.
        shared_random_state(transform, seed)


class DistributedWeightedSampler:
    """Class-balanced sampling (with replacement) under DDP: every rank draws the same epoch-seeded
    N indices, then keeps every world_size-th one, so the ranks share one balanced epoch."""

    def __init__(self, weights: np.ndarray, *, rank: int, world_size: int, seed: int) -> None:
        self.weights = np.asarray(weights, dtype=np.float64)
        self.rank, self.world_size, self.seed = rank, world_size, seed
        self.epoch = 0
        self.num_samples = -(-len(self.weights) // world_size)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self):
        import torch

        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        total = self.num_samples * self.world_size
        drawn = torch.multinomial(torch.as_tensor(self.weights), total, replacement=True, generator=generator)
        return iter(drawn[self.rank :: self.world_size].tolist())


def create_train_sampler(labels: np.ndarray, *, weighted: bool, seed: int, rank: int = 0, world_size: int = 1):
    """The rows one rank trains on each epoch: a shuffle, or (weighted) draws with probability
    1 / (size of the row's class). Under DDP each rank gets its share; call `set_epoch` where present."""
    import torch
    from torch.utils.data import DistributedSampler, RandomSampler, WeightedRandomSampler

    labels = np.asarray(labels, dtype=int)
    row_weights = 1.0 / np.bincount(labels)[labels] if weighted else None
    if world_size > 1:
        if weighted:
            return DistributedWeightedSampler(row_weights, rank=rank, world_size=world_size, seed=seed)
        return DistributedSampler(range(len(labels)), num_replicas=world_size, rank=rank, shuffle=True, seed=seed)
    generator = torch.Generator().manual_seed(seed)
    if weighted:
        return WeightedRandomSampler(
            row_weights.tolist(), num_samples=len(labels), replacement=True, generator=generator
        )
    return RandomSampler(range(len(labels)), generator=generator)


def create_loader(
    dataset: Any,
    *,
    batch_size: int,
    num_workers: int,
    pin_memory: bool,
    seed: int,
    sampler: Any = None,
    drop_last: bool = False,
):
    """A DataLoader in the dataset's order (or the sampler's): `num_workers` worker processes, each
    initialised by `init_worker` and seeded from `seed`; workers persist across epochs."""
    import torch
    from torch.utils.data import DataLoader

    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        shuffle=False,
        num_workers=num_workers,
        pin_memory=pin_memory,
        drop_last=drop_last,
        persistent_workers=num_workers > 0,
        worker_init_fn=init_worker if num_workers > 0 else None,
        generator=torch.Generator().manual_seed(seed),
    )


def shard(count: int, *, rank: int, world_size: int) -> np.ndarray:
    """The row indices (of `count`) one rank predicts: every world_size-th, no padding, no overlap."""
    return np.arange(count)[rank::world_size]
