"""The training loss by name (train.loss), for single-label classification.

    cross_entropy            torch cross-entropy
    label_smoothing          timm LabelSmoothingCrossEntropy (train.label_smoothing)
    weighted_cross_entropy   cross-entropy with class weights N / (K * n_k) (inverse frequency)
    focal                    softmax focal loss (train.focal_gamma); timm has no single-label one
    asymmetric               timm AsymmetricLossSingleLabel

With Mixup/CutMix the targets are (B, K) probabilities: cross_entropy and label_smoothing become
timm's SoftTargetCrossEntropy (Mixup does the smoothing), weighted_cross_entropy and focal take
soft targets as they are, and asymmetric, which only takes class indices, is refused.
Every loss is called as loss(logits (B, K), target (B,) class indices or (B, K) probabilities).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.config import LOSSES


class FocalLoss:
    """Softmax focal loss, mean over the batch: -sum_k t_k (1 - p_k)^gamma log p_k.

    Lin et al. 2017, in its multi-class form. gamma=0 is cross-entropy; target may be class
    indices (B,) or probabilities (B, K). Computed in float32 (half-precision logs underflow).
    Stateless, so a plain callable rather than an nn.Module (and torch stays out of import time).
    """

    def __init__(self, gamma: float = 2.0) -> None:
        self.gamma = float(gamma)

    def __call__(self, logits: Any, target: Any) -> Any:
        import torch.nn.functional as F

        log_probs = F.log_softmax(logits.float(), dim=-1)
        if target.ndim == 1:
            target = F.one_hot(target.long(), logits.shape[-1]).float()
        focus = (1.0 - log_probs.exp()).clamp(min=0.0).pow(self.gamma)
        return -(target.float() * focus * log_probs).sum(dim=-1).mean()


def create_loss(
    name: str,
    *,
    num_classes: int,
    class_weights: Sequence[float] | None = None,
    label_smoothing: float = 0.1,
    focal_gamma: float = 2.0,
    soft_targets: bool = False,
    device: Any = "cpu",
) -> Any:
    """A loss callable on `device`. `class_weights` (K,) is needed by weighted_cross_entropy;
    `soft_targets` says the batches come from Mixup/CutMix."""
    import torch
    from timm.loss import AsymmetricLossSingleLabel, LabelSmoothingCrossEntropy, SoftTargetCrossEntropy
    from torch import nn

    if name not in LOSSES:
        raise ValueError(f"train.loss: {name!r} is not one of {', '.join(LOSSES)}")
    if name == "weighted_cross_entropy":
        if class_weights is None or len(class_weights) != num_classes:
            raise ValueError(f"weighted_cross_entropy needs {num_classes} class weights")
        weight = torch.as_tensor(list(class_weights), dtype=torch.float32, device=device)
        return nn.CrossEntropyLoss(weight=weight)  # accepts class indices and probabilities alike
    if name == "focal":
        return FocalLoss(focal_gamma)
    if soft_targets:
        if name == "asymmetric":
            raise ValueError(
                "train.loss=asymmetric takes class indices, but Mixup/CutMix make soft targets: set "
                "aug.mixup_alpha=0 and aug.cutmix_alpha=0, or pick another loss"
            )
        return SoftTargetCrossEntropy().to(device)
    if name == "label_smoothing":
        return LabelSmoothingCrossEntropy(smoothing=label_smoothing).to(device)
    if name == "asymmetric":
        return AsymmetricLossSingleLabel().to(device)
    return nn.CrossEntropyLoss().to(device)
