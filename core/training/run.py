"""The `train` run as the job starts it: in this process, or (train.gpus > 1) under torchrun.

run_training(inputs, callbacks)   core.runs.entry calls it for kind = train
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.runs.progress import Callbacks
from core.training.fit import recipes_dir, train_folds

if TYPE_CHECKING:
    from core.runs.inputs import RunInputs


def run_training(inputs: RunInputs, callbacks: Callbacks) -> None:
    """The `train` run: k-fold fine-tuning, in this process or (train.gpus > 1) under torchrun."""
    _check_early(inputs)
    if inputs.config.train.gpus > 1:
        from core.training.ddp import launch

        launch(inputs, callbacks, processes=inputs.config.train.gpus)
        return
    train_folds(inputs, callbacks)


def _check_early(inputs: RunInputs) -> None:
    """Fail in a second on what fold 0 would fail on only after the model is built (and, under DDP,
    every rank has started): a recipe that cannot be loaded, a loss that Mixup/CutMix cannot feed."""
    from core.recipes.store import run_recipe
    from core.training.losses import create_loss

    aug, train, k = inputs.config.aug, inputs.config.train, inputs.num_classes
    run_recipe(aug.recipe, recipe_yaml=aug.recipe_yaml, recipes_dir=recipes_dir(inputs))
    mixing = aug.mixup_alpha > 0 or aug.cutmix_alpha > 0
    create_loss(train.loss, num_classes=k, class_weights=[1.0] * k, soft_targets=mixing)
