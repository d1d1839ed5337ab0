"""The training loop, readable in one sitting: epochs, steps, validation, early stopping, TTA.

    fit_fold(...)            one fold: epochs of train_one_epoch + validation, early stopping
    train_one_epoch(...)     one pass over batches: AMP, Mixup/CutMix, per-step schedule
    predict / embed          (N, K) softmax probabilities averaged over TTA views; (N, D) features
    create_schedule(...)     timm's scheduler with a linear warm-up, stepped per update

The loop never opens a file or a screen: progress leaves through callbacks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from core.training.runtime import Runtime

if TYPE_CHECKING:
    import torch


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

    from core.training.distributed import sum_across_ranks

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
    from core.analysis.scores import macro_f1

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
    None for name="none" (timm leaves the learning rate as it is)."""
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
