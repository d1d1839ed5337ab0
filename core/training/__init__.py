"""The `train` run: k-fold fine-tuning of a timm model (meant for the GPU).

run          run_training: in this process, or under torchrun (ddp) for train.gpus > 1
fit          train_folds: each fold's model, data, loss and optimiser from the config; artifacts
loop         fit_fold / train_one_epoch / predict (TTA) / embed: the training loop itself
runtime      device, AMP precision, DDP rank, seeds
data         the image dataset, samplers and DataLoaders
transforms   noise recipes (albumentations) and timm's Mixup/CutMix
losses       the loss by name (timm's losses, focal)
ddp          the torchrun launcher (train.gpus > 1) and each rank's entry
distributed  the collectives the loop uses under DDP (no-ops in a single process)
"""

from __future__ import annotations

from core.training.fit import train_folds
from core.training.loop import fit_fold, predict, train_one_epoch
from core.training.run import run_training

__all__ = ["fit_fold", "predict", "run_training", "train_folds", "train_one_epoch"]
