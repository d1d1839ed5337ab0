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

Each field says what it means in its metadata (`setting(default, help, ...)`), which the train form
and `validate` read:

    help         one line for the form's tooltip (every field has one)
    choices      the only values allowed (the form shows a select box)
    or_file      with choices: a path to an existing file is allowed too (pretrained weights)
    suggestions  values the form offers for an open-ended field
    timm         "optimizers" / "schedulers": the value must be a name the installed timm knows
                 (core.models.catalogue lists them without importing timm here)
    filled_by_workbench  set when a run is created, not by the user: forms leave the field out
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any, Literal

import yaml

from core.io.atomic import write_text_atomic

# The choices of the closed fields (see their metadata).
LOSSES = ("cross_entropy", "label_smoothing", "weighted_cross_entropy", "focal", "asymmetric")
PRETRAINED = ("offline", "hub", "none")  # or a path to a local checkpoint file
AMP = ("auto", "bf16", "fp16", "off")
SAMPLERS = ("none", "weighted")
TTA = ("none", "flips", "flips_rot90")
SCAN_FEATURES = ("multi", "pooled")


# What the train form offers for train.optimizer / train.scheduler; any other timm name works from
# a file or --set (checked against timm's own lists). 'plateau' is left out: timm steps it per epoch
# only, and training steps its schedule per update.
OPTIMIZER_SUGGESTIONS = ("adamw", "adam", "sgd", "lamb", "lion", "radam", "nadamw")
SCHEDULER_SUGGESTIONS = ("cosine", "step", "poly", "tanh")


class ConfigError(ValueError):
    """A config that cannot be used; the message names the key and the value."""


def setting(default: Any, help_text: str, **metadata: Any) -> Any:
    """A config field with its help text (and any of the metadata keys in the module docstring)."""
    return field(default=default, metadata={"help": help_text, **metadata})


@dataclass(frozen=True)
class DataConfig:
    labels: str = setting("original", '"original" (train.csv), "latest" (newest clean version), "v<N>", or a CSV path')
    image_size: int = setting(224, "square side in pixels the model sees")
    folds: int = setting(5, "stratified k-fold; 1 = a single stratified 20% hold-out")
    seed: int = setting(0, "folds, shuffling, initialisation")
    num_workers: int = setting(-1, "DataLoader workers; -1 = one per CPU core (at most 8)")


@dataclass(frozen=True)
class ModelConfig:
    name: str = setting("tf_efficientnet_lite0", "any timm model name")
    pretrained: str = setting(
        "offline",
        "offline (bundled weights) | hub | none | path to a checkpoint file",
        choices=PRETRAINED,
        or_file=True,
    )
    drop_rate: float = setting(0.2, "dropout before the classifier")


@dataclass(frozen=True)
class AugConfig:
    recipe: str = setting("default", 'noise recipe: a preset, a name under .workbench/recipes/, or "default" (legacy)')
    recipe_yaml: str = setting(
        "", "the recipe's YAML as it was when the run was created, filled in by the workbench", filled_by_workbench=True
    )
    mixup_alpha: float = setting(0.0, "timm Mixup; 0 = off")
    cutmix_alpha: float = setting(0.0, "timm CutMix; 0 = off")
    mix_prob: float = setting(1.0, "probability a batch is mixed when either alpha > 0")


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = setting(10, "passes over each fold's training images (at most: see patience)")
    batch_size: int = setting(32, "images per optimiser step on each GPU (or process)")
    lr: float = setting(1e-3, "peak learning rate (AdamW)")
    weight_decay: float = setting(0.05, "the optimiser's weight decay")
    warmup_epochs: int = setting(1, "linear warm-up before the cosine decay")
    optimizer: str = setting(
        "adamw", "any timm.optim.create_optimizer_v2 name", suggestions=OPTIMIZER_SUGGESTIONS, timm="optimizers"
    )
    scheduler: str = setting(
        "cosine",
        "any timm.scheduler.create_scheduler_v2 name that steps per update",
        suggestions=SCHEDULER_SUGGESTIONS,
        timm="schedulers",
    )
    loss: str = setting("cross_entropy", "the training loss (core.training.losses)", choices=LOSSES)
    label_smoothing: float = setting(0.1, "used by loss=label_smoothing")
    focal_gamma: float = setting(2.0, "used by loss=focal")
    sampler: str = setting("none", "none | weighted (WeightedRandomSampler, inverse class frequency)", choices=SAMPLERS)
    amp: str = setting(
        "auto", "auto (bf16 where supported, else fp16 on CUDA; off on CPU) | bf16 | fp16 | off", choices=AMP
    )
    channels_last: bool = setting(True, "on CUDA only")
    patience: int = setting(3, "early stopping on validation macro-F1; 0 = never stop early")
    tta: str = setting("flips", "test-time augmentation: none | flips | flips_rot90", choices=TTA)
    gpus: int = setting(1, ">1 runs under torchrun (DDP)")
    device: str = setting("auto", "auto | cpu | cuda | cuda:N")
    max_train_batches: int = setting(0, ">0 caps batches per epoch (smoke runs and tests)")


@dataclass(frozen=True)
class ScanConfig:
    backbone: str = setting("tf_efficientnet_lite0", "frozen timm backbone giving the embeddings")
    pretrained: str = setting("offline", "as model.pretrained", choices=PRETRAINED, or_file=True)
    image_size: int = setting(224, "square side in pixels the backbone sees")
    batch_size: int = setting(64, "images per forward pass while embedding")
    features: str = setting(
        "multi",
        "multi: last layer + 3 middle stages (better on data unlike ImageNet); pooled: last layer",
        choices=SCAN_FEATURES,
    )
    C: float = setting(0.0, "inverse regularisation of the logistic regression; 0: chosen by cross-validation")
    copies: int = setting(0, "recipe-augmented copies (aug.recipe) of each train image the model also fits on; 0: off")
    tta: bool = setting(False, "average test probabilities over 8 dihedral views (rot90 x 4, x mirror); 8x test time")
    prune: float = setting(
        0.7,
        "refit every fold without the training images a first pass puts in another class with at least this "
        "probability: cleaner out-of-fold probabilities, better label-issue flags (seconds); 0: off",
    )


@dataclass(frozen=True)
class RunConfig:
    kind: Literal["scan", "train"] = setting(
        "scan", "scan: frozen backbone + linear model (CPU); train: fine-tuning (GPU)", choices=("scan", "train")
    )
    name: str = setting("", "optional label shown in the runs table")
    data: DataConfig = field(default_factory=DataConfig, metadata={"help": "labels, image size, folds, seed, loader"})
    model: ModelConfig = field(default_factory=ModelConfig, metadata={"help": "timm model and its weights (train)"})
    aug: AugConfig = field(default_factory=AugConfig, metadata={"help": "noise recipe and Mixup/CutMix (train)"})
    train: TrainConfig = field(default_factory=TrainConfig, metadata={"help": "the training loop (train)"})
    scan: ScanConfig = field(default_factory=ScanConfig, metadata={"help": "frozen backbone + linear model (scan)"})


SECTIONS = {"data": DataConfig, "model": ModelConfig, "aug": AugConfig, "train": TrainConfig, "scan": ScanConfig}


def config_fields() -> Iterator[tuple[str, dataclasses.Field]]:
    """(dotted key, dataclass field) of every setting: "kind", "name", then "data.labels", ... (sections left out)."""
    for f in fields(RunConfig):
        if f.name not in SECTIONS:
            yield f.name, f
    for section, cls in SECTIONS.items():
        for f in fields(cls):
            yield f"{section}.{f.name}", f


def field_help() -> dict[str, str]:
    """{"train.epochs": its help text} for every setting, from the fields' metadata (shown as UI help)."""
    return {key: f.metadata["help"] for key, f in config_fields()}


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
    if expected in (int, float):
        return _coerce_number(value, expected, key)
    if expected is str:
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"{key}: expected text, got {value!r}")
    return value


def _coerce_number(value: Any, expected: type, key: str) -> int | float:
    """An int or float field's value: a number of that kind (an int field takes 3.0, never 3.5 or true) or its text."""
    if not isinstance(value, bool):
        try:
            if isinstance(value, str):
                return expected(value)
            if isinstance(value, int | float) and (expected is float or float(value).is_integer()):
                return expected(value)
        except (ValueError, OverflowError):
            pass
    raise ConfigError(f"{key}: expected {'an integer' if expected is int else 'a number'}, got {value!r}")


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


def validate(config: RunConfig, *, check_timm: bool = True) -> RunConfig:
    """Check values that types alone cannot; raises ConfigError naming the key.

    Choices come from the fields' metadata; ranges are checked here; train.optimizer and
    train.scheduler against the installed timm's lists (`_check_timm_names`) when `check_timm`:
    a config being resolved for a new run is checked, a run folder's saved config is read as it is
    (an old run whose scheduler timm no longer takes still opens, and reading starts no subprocess).
    """
    for key, f in config_fields():
        choices, value = f.metadata.get("choices"), _value_at(config, key)
        if choices is None or value in choices:
            continue
        allowed = f"one of {', '.join(map(str, choices))}"
        if not f.metadata.get("or_file"):
            raise ConfigError(f"{key}: {value!r} must be {allowed}")
        if not Path(value).expanduser().is_file():
            raise ConfigError(f"{key}: {value!r} is neither {allowed} nor an existing file")
    checks = [
        (config.data.folds >= 1, "data.folds", config.data.folds, "at least 1"),
        (config.data.image_size >= 16, "data.image_size", config.data.image_size, "at least 16"),
        (config.scan.image_size >= 16, "scan.image_size", config.scan.image_size, "at least 16"),
        (config.train.epochs >= 1, "train.epochs", config.train.epochs, "at least 1"),
        (config.train.batch_size >= 1, "train.batch_size", config.train.batch_size, "at least 1"),
        (config.scan.batch_size >= 1, "scan.batch_size", config.scan.batch_size, "at least 1"),
        (config.train.gpus >= 1, "train.gpus", config.train.gpus, "at least 1"),
        (config.train.lr > 0, "train.lr", config.train.lr, "positive"),
        (config.scan.C >= 0, "scan.C", config.scan.C, "positive, or 0 (chosen by cross-validation)"),
        (0 <= config.scan.prune < 1, "scan.prune", config.scan.prune, "between 0 (off) and 1"),
        (config.scan.copies >= 0, "scan.copies", config.scan.copies, "0 (no augmented copies) or more"),
        (0 <= config.aug.mix_prob <= 1, "aug.mix_prob", config.aug.mix_prob, "between 0 and 1"),
        (0 <= config.train.label_smoothing < 1, "train.label_smoothing", config.train.label_smoothing, "in [0, 1)"),
    ]
    for ok, key, value, wanted in checks:
        if not ok:
            raise ConfigError(f"{key}: {value!r} must be {wanted}")
    if check_timm:
        _check_timm_names(config)
    return config


def _value_at(config: RunConfig, key: str) -> Any:
    value: Any = config
    for part in key.split("."):
        value = getattr(value, part)
    return value


def _check_timm_names(config: RunConfig) -> None:
    """train.optimizer / train.scheduler must be names the installed timm knows (core.models.catalogue).

    The defaults are known good and skip the look-up: timm's lists are computed once per timm
    version in a subprocess (seconds), and most configs never change these two. Where the lists
    cannot be computed (timm broken), the check is skipped and timm names the error at the start.
    """
    import difflib
    import subprocess

    from core.models.catalogue import model_catalogue

    for key, f in config_fields():
        listing, value = f.metadata.get("timm"), _value_at(config, key)
        if listing is None or value == f.default:
            continue
        try:
            known = model_catalogue()[listing]
        except (OSError, ValueError, KeyError, subprocess.SubprocessError):
            return
        # timm's own parsing: optimizer names are case-insensitive, with an optional "lookahead_" prefix.
        name = value.lower().split("_")[-1] if listing == "optimizers" else value
        if name in known:
            continue
        close = difflib.get_close_matches(name, known, n=3)
        hint = f"did you mean {', '.join(close)}?" if close else f"timm knows {', '.join(known[:12])}, ..."
        raise ConfigError(f"{key}: {value!r} is not one of timm's {listing}; {hint}")


def from_dict(data: dict[str, Any], *, check_timm: bool = True) -> RunConfig:
    return validate(_build(RunConfig, data, ""), check_timm=check_timm)


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
        value = yaml.safe_load(raw) if raw.strip() else ""
        if isinstance(target[parts[-1]], str) and isinstance(value, bool):
            value = raw.strip()  # a text field takes the text as typed: YAML reads train.amp=off as false
        if isinstance(value, dict | list):
            raise ConfigError(f"--set {key}: expected a single value, got {raw!r}")
        target[parts[-1]] = value
    return from_dict(data)


def resolve_config(
    *, kind: str | None = None, file: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()
) -> RunConfig:
    """Defaults <- YAML file <- kind <- overrides, validated."""
    config = RunConfig()
    if file is not None:
        config = load_config(file)
        try:
            validate(config)  # a new run from this file: timm's names are checked too (not when reading a run)
        except ConfigError as exc:
            raise ConfigError(f"{file}: {exc}") from exc
    if kind is not None:
        config = replace(config, kind=_coerce(kind, _field_type(RunConfig, "kind"), "kind"))
    return apply_overrides(config, list(overrides))


def dump_config(config: RunConfig) -> str:
    return yaml.safe_dump(to_dict(config), sort_keys=False)


def save_config(config: RunConfig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(path, dump_config(config))


def load_config(path: str | Path) -> RunConfig:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: config file not found") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return from_dict(data or {}, check_timm=False)  # a saved config is read as it is (see `validate`)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
