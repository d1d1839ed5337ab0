"""k-fold fine-tuning of a timm model: the loop, predictions with TTA, embeddings, and the run.

    run_training(inputs, callbacks)  the job's `train` run (core.train calls it): every fold, then
                                     weights/fold<k>.safetensors, oof.csv, test_probs.csv,
                                     submission.csv, embeddings.npy through core.runs' writers
    train_folds(...)                 the same, as one rank of a DDP group (core.ddp runs it)
    fit_fold(...)                    one fold: epochs of train_one_epoch + validation, early stopping
    train_one_epoch(...)             one pass over batches: AMP, Mixup/CutMix, per-step schedule
    predict / embed                  (N, K) softmax probabilities averaged over TTA views;
                                     (N, D) penultimate-layer features

The loop never opens a file or a screen: progress leaves through `Callbacks`, artifacts through
the writers, both called from `train_folds` only (and only on rank 0).
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.progress import Callbacks

if TYPE_CHECKING:
    import torch

    from core.train import RunInputs

TRAIN_SHARE = 0.85  # of each fold's progress; the rest is test prediction (and embeddings, fold 0)


# ------------------------------------------------------------------ where and how the work runs


@dataclass(frozen=True)
class Runtime:
    """Device, precision and DDP rank of this process (not the run config: what the machine gives)."""

    device: Any  # torch.device
    amp_dtype: Any = None  # torch.bfloat16 | torch.float16 | None (full precision)
    channels_last: bool = False
    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def cuda(self) -> bool:
        return self.device.type == "cuda"

    def autocast(self):
        import torch

        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def images_to_device(self, images: torch.Tensor) -> torch.Tensor:
        """A (pinned) host batch to the device; the channels_last layout is made there, not on the host."""
        import torch

        images = images.to(self.device, non_blocking=True)
        return images.contiguous(memory_format=torch.channels_last) if self.channels_last else images

    def describe(self) -> str:
        precision = {None: "fp32"}.get(self.amp_dtype) or str(self.amp_dtype).removeprefix("torch.")
        ranks = f", {self.world_size} processes" if self.world_size > 1 else ""
        return f"{self.device} ({precision}{', channels_last' if self.channels_last else ''}{ranks})"


def resolve_device(spec: str, *, local_rank: int | None = None) -> torch.device:
    """train.device: auto (CUDA when there is one), cpu, cuda, cuda:N. Under DDP (`local_rank` given)
    each rank takes the GPU of its local rank among those visible, whatever N says."""
    import torch

    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    if spec == "cpu":
        return torch.device("cpu")
    if spec != "cuda" and not (spec.startswith("cuda:") and spec[5:].isdigit()):
        raise ValueError(f"train.device: {spec!r} is not one of auto, cpu, cuda, cuda:N")
    if not torch.cuda.is_available():
        raise ValueError(f"train.device={spec}: this machine has no CUDA GPU that torch can use; use cpu or auto")
    index = local_rank if local_rank is not None else int(spec[5:] or 0)
    if index >= torch.cuda.device_count():
        raise ValueError(f"train.device={spec}: GPU {index} asked for, {torch.cuda.device_count()} visible")
    torch.cuda.set_device(index)
    return torch.device("cuda", index)


def resolve_amp(amp: str, device: torch.device) -> torch.dtype | None:
    """train.amp: auto = bf16 where the GPU supports it, else fp16, on CUDA; full precision on the CPU."""
    import torch

    if amp == "off" or (amp == "auto" and device.type != "cuda"):
        return None
    if amp == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if amp == "fp16" and device.type != "cuda":
        raise ValueError("train.amp=fp16 needs a CUDA GPU; on the CPU use bf16 or off")
    return {"bf16": torch.bfloat16, "fp16": torch.float16}[amp]


def resolve_runtime(
    *, device: str, amp: str, channels_last: bool, rank: int = 0, world_size: int = 1, local_rank: int = 0
) -> Runtime:
    import torch

    resolved = resolve_device(device, local_rank=local_rank if world_size > 1 else None)
    if resolved.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed image size: let cuDNN pick the fastest kernels
    return Runtime(
        device=resolved,
        amp_dtype=resolve_amp(amp, resolved),
        channels_last=channels_last and resolved.type == "cuda",
        rank=rank,
        world_size=world_size,
    )


def seed_everything(seed: int) -> None:
    """python, numpy and torch (CPU and every GPU) generators."""
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


# ------------------------------------------------------------------ the loop


def tta_views(images: torch.Tensor, tta: str) -> list[torch.Tensor]:
    """The views of an NCHW batch averaged at test time: none (1), flips (identity, horizontal,
    vertical: 3), flips_rot90 (the 8 rotations and mirror images of the square)."""
    import torch

    if tta == "none":
        return [images]
    if tta == "flips":
        return [images, images.flip(3), images.flip(2)]
    if tta == "flips_rot90":
        mirrored = images.flip(3)
        return [torch.rot90(view, k, dims=(2, 3)) for view in (images, mirrored) for k in range(4)]
    raise ValueError(f"train.tta: {tta!r} is not one of none, flips, flips_rot90")


def train_one_epoch(
    model: Any,
    batches: Iterable,
    *,
    loss_fn: Callable,
    optimizer: Any,
    runtime: Runtime,
    steps: int,
    scheduler: Any = None,
    mixup: Callable | None = None,
    scaler: Any = None,
    first_update: int = 0,
    on_step: Callable[[int, int], None] | None = None,
) -> tuple[float, int]:
    """One pass over `steps` batches of (images (B, 3, S, S), labels (B,)).

    Returns (mean training loss over the images seen, by every rank; the optimizer update count
    after the pass, which drives the per-step schedule). No host-device sync inside the loop.
    """
    import torch

    from core.ddp import sum_across_ranks

    model.train()
    total = torch.zeros((), device=runtime.device)
    seen = 0
    update = first_update
    for step, (images, labels) in enumerate(batches, 1):
        if step > steps:
            break
        images, targets = runtime.images_to_device(images), labels.to(runtime.device, non_blocking=True)
        if mixup is not None:
            keep = len(images) - len(images) % 2  # timm's Mixup pairs rows: an even batch
            if keep == 0:
                continue
            images, targets = mixup(images[:keep], targets[:keep])
        with runtime.autocast():
            loss = loss_fn(model(images), targets)
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        update += 1
        if scheduler is not None:
            scheduler.step_update(num_updates=update)
        total += loss.detach().float() * len(images)
        seen += len(images)
        if on_step is not None:
            on_step(step, steps)
    total_loss, total_seen = sum_across_ranks([float(total), float(seen)], runtime=runtime)
    return total_loss / max(total_seen, 1.0), update


def predict(model: Any, loader: Iterable, *, runtime: Runtime, tta: str = "none") -> np.ndarray:
    """(N, K) float32 softmax probabilities, averaged over the TTA views, in the loader's order."""
    import torch

    model.eval()
    chunks = []
    with torch.inference_mode(), runtime.autocast():
        for images, _ in loader:
            views = tta_views(runtime.images_to_device(images), tta)
            probs = sum(model(view).float().softmax(dim=-1) for view in views) / len(views)
            chunks.append(probs.cpu())
    return torch.cat(chunks).numpy() if chunks else np.zeros((0, 0), dtype=np.float32)


def embed(model: Any, loader: Iterable, *, runtime: Runtime) -> np.ndarray:
    """(N, D) float32 penultimate-layer features: forward_head(forward_features(x), pre_logits=True)."""
    import torch

    model.eval()
    chunks = []
    with torch.inference_mode(), runtime.autocast():
        for images, _ in loader:
            features = model.forward_head(model.forward_features(runtime.images_to_device(images)), pre_logits=True)
            chunks.append(features.float().cpu())
    return torch.cat(chunks).numpy() if chunks else np.zeros((0, 0), dtype=np.float32)


def validation_metrics(probs: np.ndarray, labels: np.ndarray, *, num_classes: int) -> dict[str, float]:
    """val_loss (cross-entropy, whatever the training loss: comparable between runs), val_acc, val_f1."""
    from core.metrics import macro_f1

    predicted = probs.argmax(axis=1)
    picked = probs[np.arange(len(labels)), labels]
    return {
        "val_loss": float(-np.log(np.clip(picked, 1e-12, None)).mean()),
        "val_acc": float((predicted == labels).mean()),
        "val_f1": macro_f1(labels, predicted, num_classes=num_classes),
    }


@dataclass
class FoldResult:
    """The best epoch of a fold (by validation macro-F1)."""

    state: dict[str, Any]  # its weights, on the CPU
    val_probs: np.ndarray  # (n_val, K) its validation probabilities
    metrics: dict[str, float] = field(default_factory=dict)  # its epoch metrics + best_epoch, epochs_run


def fit_fold(
    model: Any,
    train_loader: Any,
    validate: Callable[[Any], np.ndarray],
    val_labels: np.ndarray,
    *,
    loss_fn: Callable,
    optimizer: Any,
    scheduler: Any,
    runtime: Runtime,
    epochs: int,
    steps: int,
    patience: int,
    num_classes: int,
    mixup: Callable | None = None,
    scaler: Any = None,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    on_step: Callable[[int, int, int], None] | None = None,
) -> FoldResult:
    """Train for `epochs` (fewer when validation macro-F1 has not improved for `patience` epochs;
    0 = never stop early) and keep the best epoch. `model` may be DDP-wrapped; `validate(model)`
    returns (n_val, K) probabilities for every validation row, the same on every rank."""
    unwrapped = getattr(model, "module", model)
    best: FoldResult | None = None
    stale = 0
    update = 0
    for epoch in range(epochs):
        if hasattr(train_loader.sampler, "set_epoch"):
            train_loader.sampler.set_epoch(epoch)
        train_loss, update = train_one_epoch(
            model,
            train_loader,
            loss_fn=loss_fn,
            optimizer=optimizer,
            runtime=runtime,
            steps=steps,
            scheduler=scheduler,
            mixup=mixup,
            scaler=scaler,
            first_update=update,
            on_step=None if on_step is None else lambda step, total, e=epoch: on_step(e, step, total),
        )
        probs = validate(unwrapped)
        metrics = {"train_loss": train_loss, **validation_metrics(probs, val_labels, num_classes=num_classes)}
        metrics["lr"] = float(optimizer.param_groups[0]["lr"])
        if scheduler is not None:
            scheduler.step(epoch + 1, metric=metrics["val_f1"])  # per-epoch schedules and plateau
        if on_epoch is not None:
            on_epoch(epoch, metrics)
        if best is None or metrics["val_f1"] > best.metrics["val_f1"]:
            state = {k: v.detach().to("cpu", copy=True) for k, v in unwrapped.state_dict().items()}
            best = FoldResult(state=state, val_probs=probs, metrics={**metrics, "best_epoch": epoch})
            stale = 0
        else:
            stale += 1
        best.metrics["epochs_run"] = epoch + 1
        if patience and stale >= patience:
            break
    return best


def create_schedule(optimizer: Any, *, name: str, epochs: int, warmup_epochs: int, steps_per_epoch: int) -> Any:
    """timm's scheduler `name`, updated every optimizer step: a linear warm-up of `warmup_epochs`
    (at most epochs - 1, so the decay gets at least one epoch), then the schedule over the rest.
    None for name="none"."""
    from timm.scheduler import create_scheduler_v2

    warmup = max(0, min(warmup_epochs, epochs - 1))
    scheduler, _ = create_scheduler_v2(
        optimizer,
        sched=name,
        num_epochs=epochs - warmup,
        warmup_epochs=warmup,
        warmup_prefix=True,
        step_on_epochs=False,
        updates_per_epoch=max(steps_per_epoch, 1),
    )
    return scheduler


# ------------------------------------------------------------------ the run


def save_weights(state: dict[str, Any], path: Path, *, metadata: dict[str, str] | None = None) -> Path:
    """A state dict as safetensors, written atomically (pages may be reading the folder)."""
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp), metadata=metadata)
    os.replace(tmp, path)
    return path


def run_training(inputs: RunInputs, callbacks: Callbacks) -> None:
    """The `train` run: k-fold fine-tuning, in this process or (train.gpus > 1) under torchrun."""
    _check_early(inputs)
    if inputs.config.train.gpus > 1:
        from core.ddp import launch

        launch(inputs, callbacks, processes=inputs.config.train.gpus)
        return
    train_folds(inputs, callbacks)


def _check_early(inputs: RunInputs) -> None:
    """Fail in a second on what fold 0 would fail on only after the model is built (and, under DDP,
    every rank has started): a recipe that cannot be loaded, a loss that Mixup/CutMix cannot feed."""
    from core.losses import create_loss
    from core.transforms import load_recipe

    aug, train, k = inputs.config.aug, inputs.config.train, inputs.num_classes
    load_recipe(aug.recipe, recipes_dir=recipes_dir(inputs))
    mixing = aug.mixup_alpha > 0 or aug.cutmix_alpha > 0
    create_loss(train.loss, num_classes=k, class_weights=[1.0] * k, soft_targets=mixing)


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
    from core.data import assign_folds, resolve_workers
    from core.runs import write_embeddings, write_oof, write_test_outputs

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
    fold_of = assign_folds(labels, folds=data.folds, seed=data.seed)
    workers = resolve_workers(data.num_workers, world_size=world_size)
    progress = _Progress(report, folds=data.folds, epochs=train.epochs)
    report.on_message(
        f"training {model_config.name} (pretrained: {model_config.pretrained}) on {runtime.describe()}: "
        f"{data.folds} fold(s), {len(ids)} train / {len(test_ids)} test images at {data.image_size}px, "
        f"{workers} loader worker(s)"
    )
    counts = np.bincount(labels, minlength=inputs.num_classes)
    scarce = [str(k) for k in np.flatnonzero(counts < max(data.folds, 2))]
    if scarce:
        report.on_message(
            f"class(es) {', '.join(scarce)} have fewer images than folds: some folds validate none of them"
        )

    oof = np.zeros((len(ids), inputs.num_classes), dtype=np.float32)
    validated = np.zeros(len(ids), dtype=bool)
    test_sum = np.zeros((len(test_ids), inputs.num_classes), dtype=np.float64)
    for fold in range(data.folds):
        model, result, predictor = _train_fold(
            inputs, fold=fold, fold_of=fold_of, runtime=runtime, workers=workers, report=report, progress=progress
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
                "size": data.image_size,
            }
            save_weights(result.state, weights, metadata={k: str(v) for k, v in about.items()})
            val_rows = np.flatnonzero(fold_of == fold)
            oof[val_rows], validated[val_rows] = result.val_probs, True
            done = np.flatnonzero(validated)
            write_oof(inputs.run_dir, [ids[i] for i in done], fold_of[done], labels[done], oof[done])
            if test_paths:
                write_test_outputs(inputs.run_dir, test_ids, (test_sum / (fold + 1)).astype(np.float32))
            if fold == 0:
                splits = ["train"] * len(ids) + ["test"] * len(test_ids)
                write_embeddings(inputs.run_dir, ids + test_ids, splits, embeddings)
        report.on_fold_end(fold=fold, metrics=result.metrics)
        progress.after_training(fold, 1.0, f"fold {fold + 1}/{data.folds} done")


def _train_fold(
    inputs: RunInputs,
    *,
    fold: int,
    fold_of: np.ndarray,
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

    from core.data import ImageDataset, create_loader, create_train_sampler, inverse_frequency
    from core.losses import create_loss
    from core.models import create_model, normalisation
    from core.transforms import create_eval_transform, create_mixup, create_train_transform

    data, model_config, aug, train = inputs.config.data, inputs.config.model, inputs.config.aug, inputs.config.train
    labels = inputs.train["target"].to_numpy(dtype=int)
    paths = inputs.train["path"].astype(str).tolist()
    train_rows, val_rows = np.flatnonzero(fold_of != fold), np.flatnonzero(fold_of == fold)
    num_classes = inputs.num_classes
    # Every rank seeds differently (its own noise and dropout); DDP broadcasts rank 0's initial weights.
    seed = data.seed + fold + 1000 * runtime.rank
    seed_everything(seed)

    model = create_model(
        model_config.name, pretrained=model_config.pretrained, num_classes=num_classes, drop_rate=model_config.drop_rate
    )
    mean, std = normalisation(model_config.pretrained, model)
    model = model.to(runtime.device)
    if runtime.channels_last:
        model = model.to(memory_format=torch.channels_last)

    train_transform = create_train_transform(
        recipe=aug.recipe,
        recipes_dir=recipes_dir(inputs),
        image_size=data.image_size,
        mean=mean,
        std=std,
        seed=seed,
    )
    sampler = create_train_sampler(
        labels[train_rows],
        weighted=train.sampler == "weighted",
        seed=data.seed + fold,
        rank=runtime.rank,
        world_size=runtime.world_size,
    )
    train_loader = create_loader(
        ImageDataset([paths[i] for i in train_rows], labels[train_rows], transform=train_transform),
        batch_size=train.batch_size,
        sampler=sampler,
        num_workers=workers,
        pin_memory=runtime.cuda,
        seed=seed,
        drop_last=len(sampler) > train.batch_size,  # no 1-image batch for BatchNorm
    )
    steps = len(train_loader) if train.max_train_batches <= 0 else min(len(train_loader), train.max_train_batches)
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
        class_weights=inverse_frequency(labels[train_rows], num_classes=num_classes),
        label_smoothing=train.label_smoothing,
        focal_gamma=train.focal_gamma,
        soft_targets=mixup is not None,
        device=runtime.device,
    )
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
        num_classes=num_classes,
        mixup=mixup,
        scaler=scaler,
        on_epoch=lambda epoch, metrics: report.on_epoch(fold=fold, epoch=epoch, metrics=metrics),
        on_step=lambda epoch, step, total: progress.training(fold, epoch, step, total),
    )
    model.load_state_dict(result.state)
    return model, result, predictor


class _Predictor:
    """Predictions over a list of images, each DDP rank doing its share; every rank gets all rows."""

    def __init__(self, *, transform: Any, runtime: Runtime, batch_size: int, workers: int, seed: int) -> None:
        self.transform, self.runtime = transform, runtime
        self.batch_size, self.workers, self.seed = batch_size, workers, seed

    def prepare(self, paths: list[str]) -> tuple[np.ndarray, Any, int]:
        """(this rank's row indices, their DataLoader, the number of rows): reusable across epochs."""
        from core.data import ImageDataset, create_loader, shard

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
        from core.ddp import broadcast_buffers, gather_rows

        rows, loader, count = prepared
        broadcast_buffers(model, runtime=self.runtime)  # BatchNorm statistics as rank 0 has them
        return gather_rows(
            rows, predict(model, loader, runtime=self.runtime, tta=tta), count=count, runtime=self.runtime
        )

    def features(self, model: Any, prepared: tuple[np.ndarray, Any, int]) -> np.ndarray:
        """(N, D) penultimate-layer features."""
        from core.ddp import broadcast_buffers, gather_rows

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
