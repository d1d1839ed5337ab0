"""Run configuration: frozen dataclasses, a YAML round trip, and `--set key=value` overrides.

One flat, commented list of defaults per section. A config is resolved once (defaults <- file <-
overrides) and saved as `config.yaml` in the run folder; nothing changes it afterwards. Unknown
keys are rejected with the key named, so a typo never silently trains with a default.

    kind: scan | train
    data:   which labels, image size, folds, seed, loader workers
    model:  timm model name and where its pretrained weights come from
    aug:    noise recipe and Mixup/CutMix
    train:  loss, sampler, optimiser, schedule, precision, early stopping, TTA, GPUs
    scan:   the frozen-backbone + logistic-regression scan
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any, Literal

import yaml

LOSSES = ("cross_entropy", "label_smoothing", "weighted_cross_entropy", "focal", "asymmetric")


PRETRAINED = ("offline", "hub", "none")  # or a path to a local checkpoint file


AMP = ("auto", "bf16", "fp16", "off")


SAMPLERS = ("none", "weighted")


TTA = ("none", "flips", "flips_rot90")


SCAN_FEATURES = ("multi", "pooled")


class ConfigError(ValueError):
    """A config that cannot be used; the message names the key and the value."""


@dataclass(frozen=True)
class DataConfig:
    labels: str = "original"  # "original" (train.csv), "latest" (newest clean version), "v<N>", or a CSV path
    image_size: int = 224  # square side in pixels the model sees
    folds: int = 5  # stratified k-fold; 1 = a single stratified 20% hold-out
    seed: int = 0  # folds, shuffling, initialisation
    num_workers: int = -1  # DataLoader workers; -1 = one per CPU core (at most 8)


@dataclass(frozen=True)
class ModelConfig:
    name: str = "tf_efficientnet_lite0"  # any timm model name
    pretrained: str = "offline"  # offline (bundled weights) | hub | none | path to a checkpoint file
    drop_rate: float = 0.2  # dropout before the classifier


@dataclass(frozen=True)
class AugConfig:
    recipe: str = "default"  # noise recipe: "default", "none", or a name under .workbench/recipes/
    mixup_alpha: float = 0.0  # timm Mixup; 0 = off
    cutmix_alpha: float = 0.0  # timm CutMix; 0 = off
    mix_prob: float = 1.0  # probability a batch is mixed when either alpha > 0


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3  # peak learning rate (AdamW)
    weight_decay: float = 0.05
    warmup_epochs: int = 1  # linear warm-up before the cosine decay
    optimizer: str = "adamw"  # any timm.optim.create_optimizer_v2 name
    scheduler: str = "cosine"  # any timm.scheduler.create_scheduler_v2 name
    loss: str = "cross_entropy"  # one of LOSSES
    label_smoothing: float = 0.1  # used by loss=label_smoothing
    focal_gamma: float = 2.0  # used by loss=focal
    sampler: str = "none"  # none | weighted (WeightedRandomSampler, inverse class frequency)
    amp: str = "auto"  # auto (bf16 where supported, else fp16 on CUDA; off on CPU) | bf16 | fp16 | off
    channels_last: bool = True  # on CUDA only
    patience: int = 3  # early stopping on validation macro-F1; 0 = never stop early
    tta: str = "flips"  # test-time augmentation: none | flips | flips_rot90
    gpus: int = 1  # >1 runs under torchrun (DDP)
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    max_train_batches: int = 0  # >0 caps batches per epoch (smoke runs and tests)


@dataclass(frozen=True)
class ScanConfig:
    backbone: str = "tf_efficientnet_lite0"  # frozen timm backbone giving the embeddings
    pretrained: str = "offline"  # as ModelConfig.pretrained
    image_size: int = 224
    batch_size: int = 64
    features: str = "multi"  # multi: last layer + 3 middle stages (better on data unlike ImageNet); pooled: last layer
    C: float = 0.0  # inverse regularisation of the logistic regression; 0: chosen by cross-validation
    tta: bool = False  # average embeddings over flips (slower, steadier on rotated test images)


@dataclass(frozen=True)
class RunConfig:
    kind: Literal["scan", "train"] = "scan"
    name: str = ""  # optional label shown in the runs table
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    aug: AugConfig = field(default_factory=AugConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    scan: ScanConfig = field(default_factory=ScanConfig)


def to_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)


def _field_type(cls: type, name: str) -> Any:
    return typing.get_type_hints(cls)[name]


def _coerce(value: Any, expected: Any, key: str) -> Any:
    """Check (and for strings from --set, convert) a value to a field's declared type."""
    origin = typing.get_origin(expected)
    if origin is Literal:
        if value not in typing.get_args(expected):
            raise ConfigError(f"{key}: {value!r} is not one of {', '.join(map(str, typing.get_args(expected)))}")
        return value
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(expected) if a is not type(None)]
        if value is None:
            return None
        return _coerce(value, options[0], key)
    if expected is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on", "false", "0", "no", "off"):
            return value.lower() in ("true", "1", "yes", "on")
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    if expected is int:
        if isinstance(value, bool):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
        raise ConfigError(f"{key}: expected an integer, got {value!r}")
    if expected is float:
        if isinstance(value, bool):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise ConfigError(f"{key}: expected a number, got {value!r}")
    if expected is str:
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"{key}: expected text, got {value!r}")
    return value


def _build(cls: type, data: Any, prefix: str) -> Any:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix or 'config'}: expected a mapping, got {data!r}")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        where = f"{prefix}." if prefix else ""
        raise ConfigError(
            f"unknown config key(s): {', '.join(where + k for k in unknown)}; "
            f"known under {prefix or 'the top level'}: {', '.join(sorted(known))}"
        )
    values = {}
    for name, value in data.items():
        expected = _field_type(cls, name)
        key = f"{prefix}.{name}" if prefix else name
        if is_dataclass(expected):
            values[name] = _build(expected, value, key)
        else:
            values[name] = _coerce(value, expected, key)
    return cls(**values)


def validate(config: RunConfig) -> RunConfig:
    """Check values that types alone cannot; raises ConfigError naming the key."""
    checks = [
        (config.train.loss in LOSSES, "train.loss", config.train.loss, f"one of {', '.join(LOSSES)}"),
        (config.train.amp in AMP, "train.amp", config.train.amp, f"one of {', '.join(AMP)}"),
        (config.train.sampler in SAMPLERS, "train.sampler", config.train.sampler, f"one of {', '.join(SAMPLERS)}"),
        (config.train.tta in TTA, "train.tta", config.train.tta, f"one of {', '.join(TTA)}"),
        (config.data.folds >= 1, "data.folds", config.data.folds, "at least 1"),
        (config.data.image_size >= 16, "data.image_size", config.data.image_size, "at least 16"),
        (config.scan.image_size >= 16, "scan.image_size", config.scan.image_size, "at least 16"),
        (config.train.epochs >= 1, "train.epochs", config.train.epochs, "at least 1"),
        (config.train.batch_size >= 1, "train.batch_size", config.train.batch_size, "at least 1"),
        (config.scan.batch_size >= 1, "scan.batch_size", config.scan.batch_size, "at least 1"),
        (config.train.gpus >= 1, "train.gpus", config.train.gpus, "at least 1"),
        (config.train.lr > 0, "train.lr", config.train.lr, "positive"),
        (config.scan.C >= 0, "scan.C", config.scan.C, "positive, or 0 (chosen by cross-validation)"),
        (
            config.scan.features in SCAN_FEATURES,
            "scan.features",
            config.scan.features,
            f"one of {', '.join(SCAN_FEATURES)}",
        ),
        (0 <= config.aug.mix_prob <= 1, "aug.mix_prob", config.aug.mix_prob, "between 0 and 1"),
        (0 <= config.train.label_smoothing < 1, "train.label_smoothing", config.train.label_smoothing, "in [0, 1)"),
    ]
    for ok, key, value, wanted in checks:
        if not ok:
            raise ConfigError(f"{key}: {value!r} must be {wanted}")
    for key, value in (("model.pretrained", config.model.pretrained), ("scan.pretrained", config.scan.pretrained)):
        if value not in PRETRAINED and not Path(value).expanduser().is_file():
            raise ConfigError(f"{key}: {value!r} is neither one of {', '.join(PRETRAINED)} nor an existing file")
    return config


def from_dict(data: dict[str, Any]) -> RunConfig:
    return validate(_build(RunConfig, data, ""))


def apply_overrides(config: RunConfig, overrides: list[str] | tuple[str, ...]) -> RunConfig:
    """Apply `section.key=value` strings (the CLI's --set) on top of a resolved config."""
    data = to_dict(config)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. train.epochs=3")
        key, raw = item.split("=", 1)
        key = key.strip()
        parts = key.split(".")
        target = data
        for part in parts[:-1]:
            if not isinstance(target.get(part), dict):
                raise ConfigError(f"--set {key}: unknown config section {part!r}")
            target = target[part]
        if parts[-1] not in target:
            raise ConfigError(f"--set {key}: unknown config key; known: {', '.join(sorted(target))}")
        target[parts[-1]] = yaml.safe_load(raw) if raw.strip() else ""
        if isinstance(target[parts[-1]], dict | list):
            raise ConfigError(f"--set {key}: expected a single value, got {raw!r}")
    return from_dict(data)


def resolve_config(
    *, kind: str | None = None, file: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()
) -> RunConfig:
    """Defaults <- YAML file <- kind <- overrides, validated."""
    config = RunConfig()
    if file is not None:
        config = load_config(file)
    if kind is not None:
        config = replace(config, kind=_coerce(kind, _field_type(RunConfig, "kind"), "kind"))
    return apply_overrides(config, list(overrides))


def dump_config(config: RunConfig) -> str:
    return yaml.safe_dump(to_dict(config), sort_keys=False)


def save_config(config: RunConfig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(dump_config(config), encoding="utf-8")
    tmp.replace(path)
    return path


def load_config(path: str | Path) -> RunConfig:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: config file not found") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return from_dict(data or {})
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


SECTIONS = {"data": DataConfig, "model": ModelConfig, "aug": AugConfig, "train": TrainConfig, "scan": ScanConfig}


def field_help() -> dict[str, str]:
    """{"train.epochs": "the comment beside the field"}: the defaults' comments, shown as UI help."""
    import inspect
    import re

    pattern = re.compile(r"^\s+(\w+):[^=]+=[^#]*#\s*(.+)$")
    helps = {}
    for section, cls in SECTIONS.items():
        for line in inspect.getsource(cls).splitlines():
            match = pattern.match(line)
            if match:
                helps[f"{section}.{match.group(1)}"] = match.group(2).strip()
    return helps
