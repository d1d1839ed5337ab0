"""The `train` run's folds: build each fold's model, data and loss from the config, fit, write the artifacts.

train_folds(inputs, callbacks, rank=, world_size=)   every fold (as one DDP rank, or alone):
                                                     weights/fold<k>.safetensors, oof.csv,
                                                     test_probs.csv, submission.csv, embeddings
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.io.atomic import write_bytes_atomic
from core.runs.progress import Callbacks
from core.training.loop import FoldResult, create_schedule, embed, fit_fold, predict
from core.training.runtime import Runtime, resolve_runtime, seed_everything

if TYPE_CHECKING:
    from core.runs.inputs import RunInputs


TRAIN_SHARE = 0.85  # of each fold's progress; the rest is test prediction (and embeddings, fold 0)


# ------------------------------------------------------------------ the run


def save_weights(state: dict[str, Any], path: Path, *, metadata: dict[str, str] | None = None) -> Path:
    """A state dict as safetensors, written atomically (pages may be reading the folder)."""
    from safetensors.torch import save

    path.parent.mkdir(parents=True, exist_ok=True)
    return write_bytes_atomic(path, save({k: v.contiguous() for k, v in state.items()}, metadata=metadata))


def recipes_dir(inputs: RunInputs) -> Path:
    """Where saved noise recipes live: <project>/.workbench/recipes/."""
    return inputs.layout.work_dir / "recipes"


def train_folds(
    inputs: RunInputs, callbacks: Callbacks, *, rank: int = 0, world_size: int = 1, local_rank: int = 0
) -> None:
    """Every fold of the run, as DDP rank `rank` of `world_size` (0 of 1 without DDP).

    Per fold: train (fit_fold), predict the test images with TTA, embed train + test (fold 0);
    rank 0 then writes that fold's weights and the artifacts so far, and reports the fold's end.
    """
    from core.runs.folder import write_embeddings, write_oof, write_test_outputs
    from core.runs.folds import fold_splits
    from core.training.data import resolve_workers

    data, model_config, train = inputs.config.data, inputs.config.model, inputs.config.train
    runtime = resolve_runtime(
        device=train.device,
        amp=train.amp,
        channels_last=train.channels_last,
        rank=rank,
        world_size=world_size,
        local_rank=local_rank,
    )
    report = callbacks if runtime.is_main else Callbacks()
    ids, paths = inputs.train["ID"].astype(str).tolist(), inputs.train["path"].astype(str).tolist()
    labels = inputs.train["target"].to_numpy(dtype=int)
    test_ids, test_paths = inputs.test["ID"].astype(str).tolist(), inputs.test["path"].astype(str).tolist()
    # The scan's split (core.runs.folds): it may use fewer folds than data.folds, and it names rare classes.
    # An offline expansion's copies (labels "augmented:<name>") train beside their original, never validated.
    groups = inputs.train["original_ID"].astype(str).to_numpy() if "original_ID" in inputs.train else None
    fold_rows = fold_splits(labels, folds=data.folds, seed=data.seed, callbacks=report, groups=groups)
    fold_of = np.full(len(labels), -1, dtype=np.int64)  # copies are never validated (core.runs.folds)
    for k, (_, held) in enumerate(fold_rows):
        fold_of[held] = k
    n_folds = len(fold_rows)
    workers = resolve_workers(data.num_workers, world_size=world_size)
    progress = _Progress(report, folds=n_folds, epochs=train.epochs)
    report.on_message(
        f"training {model_config.name} (pretrained: {model_config.pretrained}) on {runtime.describe()}: "
        f"{n_folds} fold(s), {len(ids)} train / {len(test_ids)} test images at {data.image_size}px, "
        f"{workers} loader worker(s)"
    )

    oof = np.zeros((len(ids), inputs.num_classes), dtype=np.float32)
    validated = np.zeros(len(ids), dtype=bool)
    test_sum = np.zeros((len(test_ids), inputs.num_classes), dtype=np.float64)
    for fold in range(n_folds):
        model, result, predictor = _train_fold(
            inputs, fold=fold, split=fold_rows[fold], runtime=runtime, workers=workers, report=report, progress=progress
        )
        if test_paths:
            progress.after_training(fold, 0.0, f"predicting {len(test_paths)} test images (TTA: {train.tta})")
            test_sum += predictor.probs(model, predictor.prepare(test_paths), tta=train.tta)
        if fold == 0:  # one model's features, so that train and test share one space
            progress.after_training(fold, 0.5, f"embedding {len(paths) + len(test_paths)} train and test images")
            embeddings = predictor.features(model, predictor.prepare(paths + test_paths))
        if runtime.is_main:
            weights = inputs.run_dir / "weights" / f"fold{fold}.safetensors"
            about = {
                "model": model_config.name,
                "fold": fold,
                "num_classes": inputs.num_classes,
                "image_size": data.image_size,  # the scan's key (runs before this change wrote "size")
            }
            save_weights(result.state, weights, metadata={k: str(v) for k, v in about.items()})
            val_rows = fold_rows[fold][1]
            oof[val_rows], validated[val_rows] = result.val_probs, True
            done = np.flatnonzero(validated)
            write_oof(inputs.run_dir, [ids[i] for i in done], fold_of[done], labels[done], oof[done])
            if test_paths:
                write_test_outputs(inputs.run_dir, test_ids, (test_sum / (fold + 1)).astype(np.float32))
            if fold == 0:
                splits = ["train"] * len(ids) + ["test"] * len(test_ids)
                write_embeddings(inputs.run_dir, ids + test_ids, splits, embeddings)
        report.on_fold_end(fold=fold, metrics=result.metrics)
        progress.after_training(fold, 1.0, f"fold {fold + 1}/{n_folds} done")


def _train_fold(
    inputs: RunInputs,
    *,
    fold: int,
    split: tuple[np.ndarray, np.ndarray],
    runtime: Runtime,
    workers: int,
    report: Callbacks,
    progress: _Progress,
) -> tuple[Any, FoldResult, _Predictor]:
    """Build the fold's model, data, loss, optimiser and schedule from the config, and fit it.

    Returns the model holding the fold's best weights, the FoldResult, and a predictor with the
    evaluation transform (for test predictions and embeddings).
    """
    import torch
    from timm.optim import create_optimizer_v2

    from core.training.transforms import create_eval_transform

    data, train = inputs.config.data, inputs.config.train
    labels = inputs.train["target"].to_numpy(dtype=int)
    paths = inputs.train["path"].astype(str).tolist()
    train_rows, val_rows = split
    # Every rank seeds differently (its own noise and dropout); DDP broadcasts rank 0's initial weights.
    seed = data.seed + fold + 1000 * runtime.rank
    seed_everything(seed)

    model, mean, std = _create_fold_model(inputs, runtime=runtime)
    train_loader = _create_train_loader(
        inputs, train_rows, fold=fold, mean=mean, std=std, seed=seed, runtime=runtime, workers=workers
    )
    steps = len(train_loader) if train.max_train_batches <= 0 else min(len(train_loader), train.max_train_batches)
    loss_fn, mixup = _create_objective(inputs, labels[train_rows], runtime=runtime)
    optimizer = create_optimizer_v2(model, opt=train.optimizer, lr=train.lr, weight_decay=train.weight_decay)
    scheduler = create_schedule(
        optimizer, name=train.scheduler, epochs=train.epochs, warmup_epochs=train.warmup_epochs, steps_per_epoch=steps
    )
    scaler = torch.amp.GradScaler("cuda") if runtime.amp_dtype == torch.float16 else None
    trained = model
    if runtime.world_size > 1:
        from torch.nn.parallel import DistributedDataParallel

        trained = DistributedDataParallel(model, device_ids=[runtime.device.index] if runtime.cuda else None)

    predictor = _Predictor(
        transform=create_eval_transform(image_size=data.image_size, mean=mean, std=std),
        runtime=runtime,
        batch_size=train.batch_size * 2,
        workers=workers,
        seed=data.seed,
    )
    val_prepared = predictor.prepare([paths[i] for i in val_rows])
    result = fit_fold(
        trained,
        train_loader,
        lambda net: predictor.probs(net, val_prepared),
        labels[val_rows],
        loss_fn=loss_fn,
        optimizer=optimizer,
        scheduler=scheduler,
        runtime=runtime,
        epochs=train.epochs,
        steps=steps,
        patience=train.patience,
        num_classes=inputs.num_classes,
        mixup=mixup,
        scaler=scaler,
        on_epoch=lambda epoch, metrics: report.on_epoch(fold=fold, epoch=epoch, metrics=metrics),
        on_step=lambda epoch, step, total: progress.training(fold, epoch, step, total),
    )
    model.load_state_dict(result.state)
    return model, result, predictor


def _create_fold_model(inputs: RunInputs, *, runtime: Runtime) -> tuple[Any, Any, Any]:
    """(the timm model on the run's device, its normalisation mean, std) for model.* of the config."""
    import torch

    from core.models.factory import create_model, normalisation

    model_config = inputs.config.model
    model = create_model(
        model_config.name,
        pretrained=model_config.pretrained,
        num_classes=inputs.num_classes,
        drop_rate=model_config.drop_rate,
    )
    mean, std = normalisation(model_config.pretrained, model)
    model = model.to(runtime.device)
    if runtime.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model, mean, std


def _create_train_loader(
    inputs: RunInputs,
    train_rows: np.ndarray,
    *,
    fold: int,
    mean: Any,
    std: Any,
    seed: int,
    runtime: Runtime,
    workers: int,
) -> Any:
    """The fold's training DataLoader: the noise recipe's transform, and the sampler train.sampler names."""
    from core.training.data import ImageDataset, create_loader, create_train_sampler
    from core.training.transforms import create_train_transform

    data, train = inputs.config.data, inputs.config.train
    labels = inputs.train["target"].to_numpy(dtype=int)[train_rows]
    paths = inputs.train["path"].astype(str).to_numpy()[train_rows].tolist()
    transform = create_train_transform(
        recipe=inputs.config.aug.recipe,
        recipe_yaml=inputs.config.aug.recipe_yaml,  # the recipe as it was when the run was created
        recipes_dir=recipes_dir(inputs),
        image_size=data.image_size,
        mean=mean,
        std=std,
        seed=seed,
    )
    sampler = create_train_sampler(
        labels,
        weighted=train.sampler == "weighted",
        seed=data.seed + fold,
        rank=runtime.rank,
        world_size=runtime.world_size,
    )
    return create_loader(
        ImageDataset(paths, labels, transform=transform),
        batch_size=train.batch_size,
        sampler=sampler,
        num_workers=workers,
        pin_memory=runtime.cuda,
        seed=seed,
        drop_last=len(sampler) > train.batch_size,  # no 1-image batch for BatchNorm
    )


def _create_objective(inputs: RunInputs, train_labels: np.ndarray, *, runtime: Runtime) -> tuple[Any, Any]:
    """(the loss train.loss names, timm's Mixup/CutMix or None); class weights from the fold's training labels."""
    from core.training.data import inverse_frequency
    from core.training.losses import create_loss
    from core.training.transforms import create_mixup

    aug, train, num_classes = inputs.config.aug, inputs.config.train, inputs.num_classes
    mixup = create_mixup(
        mixup_alpha=aug.mixup_alpha,
        cutmix_alpha=aug.cutmix_alpha,
        mix_prob=aug.mix_prob,
        label_smoothing=train.label_smoothing if train.loss == "label_smoothing" else 0.0,
        num_classes=num_classes,
    )
    loss_fn = create_loss(
        train.loss,
        num_classes=num_classes,
        class_weights=inverse_frequency(train_labels, num_classes=num_classes),
        label_smoothing=train.label_smoothing,
        focal_gamma=train.focal_gamma,
        soft_targets=mixup is not None,
        device=runtime.device,
    )
    return loss_fn, mixup


class _Predictor:
    """Predictions over a list of images, each DDP rank doing its share; every rank gets all rows."""

    def __init__(self, *, transform: Any, runtime: Runtime, batch_size: int, workers: int, seed: int) -> None:
        self.transform, self.runtime = transform, runtime
        self.batch_size, self.workers, self.seed = batch_size, workers, seed

    def prepare(self, paths: list[str]) -> tuple[np.ndarray, Any, int]:
        """(this rank's row indices, their DataLoader, the number of rows): reusable across epochs."""
        from core.training.data import ImageDataset, create_loader, shard

        rows = shard(len(paths), rank=self.runtime.rank, world_size=self.runtime.world_size)
        loader = create_loader(
            ImageDataset([paths[i] for i in rows], transform=self.transform),
            batch_size=self.batch_size,
            num_workers=self.workers,
            pin_memory=self.runtime.cuda,
            seed=self.seed,
        )
        return rows, loader, len(paths)

    def probs(self, model: Any, prepared: tuple[np.ndarray, Any, int], *, tta: str = "none") -> np.ndarray:
        """(N, K) softmax probabilities averaged over the TTA views."""
        from core.training.distributed import broadcast_buffers, gather_rows

        rows, loader, count = prepared
        broadcast_buffers(model, runtime=self.runtime)  # BatchNorm statistics as rank 0 has them
        return gather_rows(
            rows, predict(model, loader, runtime=self.runtime, tta=tta), count=count, runtime=self.runtime
        )

    def features(self, model: Any, prepared: tuple[np.ndarray, Any, int]) -> np.ndarray:
        """(N, D) penultimate-layer features."""
        from core.training.distributed import broadcast_buffers, gather_rows

        rows, loader, count = prepared
        broadcast_buffers(model, runtime=self.runtime)
        return gather_rows(rows, embed(model, loader, runtime=self.runtime), count=count, runtime=self.runtime)


class _Progress:
    """Overall progress 0..1 of a run: each fold an equal share, TRAIN_SHARE of it training."""

    def __init__(self, callbacks: Callbacks, *, folds: int, epochs: int) -> None:
        self.callbacks, self.folds, self.epochs = callbacks, folds, epochs

    def training(self, fold: int, epoch: int, step: int, steps: int) -> None:
        within = TRAIN_SHARE * (epoch + step / max(steps, 1)) / self.epochs
        self.callbacks.on_progress(
            progress=(fold + within) / self.folds,
            message="training",
            fold=fold,
            folds=self.folds,
            epoch=epoch,
            epochs=self.epochs,
            step=step,
            steps=steps,
        )

    def after_training(self, fold: int, share: float, message: str) -> None:
        within = TRAIN_SHARE + (1.0 - TRAIN_SHARE) * share
        self.callbacks.on_progress(progress=(fold + within) / self.folds, message=message, fold=fold, folds=self.folds)
