"""Run config: defaults, YAML round trip, --set overrides, unknown keys and bad values named."""

from __future__ import annotations

import pytest

from core.config import ConfigError, RunConfig, apply_overrides, dump_config, load_config, resolve_config, save_config


def test_yaml_round_trip_keeps_every_value(tmp_path):
    config = resolve_config(
        kind="train",
        overrides=[
            "train.epochs=3",
            "aug.mixup_alpha=0.2",
            "train.channels_last=false",
            "data.labels=v2",
            "model.name=resnet18",
            "train.loss=focal",
        ],
    )
    path = save_config(config, tmp_path / "config.yaml")
    assert load_config(path) == config
    assert "epochs: 3" in dump_config(config)


def test_overrides_convert_to_the_declared_types():
    config = apply_overrides(RunConfig(), ["train.lr=3e-4", "data.folds=1", "scan.tta=true", "name=baseline 2"])
    assert config.train.lr == pytest.approx(3e-4) and isinstance(config.train.lr, float)
    assert config.data.folds == 1 and config.scan.tta is True and config.name == "baseline 2"


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("train.epochz=3", "train.epochz"),
        ("trian.epochs=3", "trian"),
        ("train.epochs=three", "train.epochs"),
        ("train.loss=hinge", "train.loss"),
        ("data.folds=0", "data.folds"),
        ("model.pretrained=/no/such/file.pth", "model.pretrained"),
        ("train.epochs", "KEY=VALUE"),
    ],
)
def test_bad_overrides_name_the_key(override, named):
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        apply_overrides(RunConfig(), [override])


def test_unknown_keys_in_a_file_are_rejected_with_file_and_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("kind: train\ntrain:\n  epochs: 2\n  learning_rate: 0.1\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert "train.learning_rate" in str(error.value) and "bad.yaml" in str(error.value)


def test_a_file_then_overrides(tmp_path):
    path = tmp_path / "base.yaml"
    path.write_text("kind: train\ntrain:\n  epochs: 2\n  batch_size: 8\n")
    config = resolve_config(file=path, overrides=["train.epochs=5"])
    assert (config.kind, config.train.epochs, config.train.batch_size) == ("train", 5, 8)


# ---------------------------------------------------------------- field metadata: help and choices


def test_every_field_has_help_in_its_metadata():
    import dataclasses

    from core.config import SECTIONS, config_fields, field_help

    every = list(dataclasses.fields(RunConfig)) + [f for cls in SECTIONS.values() for f in dataclasses.fields(cls)]
    assert [f.name for f in every if not f.metadata.get("help", "").strip()] == []
    helps = field_help()
    assert set(helps) == {key for key, _ in config_fields()} and len(helps) == len(every) - len(SECTIONS)
    assert helps["data.folds"] == "stratified k-fold; 1 = a single stratified 20% hold-out"
    assert helps["train.epochs"]  # a field that had no comment before has help now


@pytest.mark.parametrize(
    ("key", "choices"),
    [
        ("train.loss", ("cross_entropy", "label_smoothing", "weighted_cross_entropy", "focal", "asymmetric")),
        ("train.amp", ("auto", "bf16", "fp16", "off")),
        ("train.sampler", ("none", "weighted")),
        ("train.tta", ("none", "flips", "flips_rot90")),
        ("scan.features", ("multi", "pooled")),
    ],
)
def test_closed_fields_are_checked_against_the_choices_in_their_metadata(key, choices):
    from core.config import config_fields

    assert dict(config_fields())[key].metadata["choices"] == choices
    for value in choices:
        assert apply_overrides(RunConfig(), [f"{key}={value}"])
    with pytest.raises(ConfigError) as error:
        apply_overrides(RunConfig(), [f"{key}=bogus"])
    assert str(error.value) == f"{key}: 'bogus' must be one of {', '.join(choices)}"


def test_pretrained_takes_its_choices_or_an_existing_file(tmp_path):
    checkpoint = tmp_path / "weights.safetensors"
    checkpoint.write_bytes(b"")
    assert apply_overrides(RunConfig(), [f"scan.pretrained={checkpoint}"]).scan.pretrained == str(checkpoint)
    with pytest.raises(ConfigError, match=r"scan\.pretrained: 'hubb' is neither one of offline, hub, none nor an"):
        apply_overrides(RunConfig(), ["scan.pretrained=hubb"])


# ---------------------------------------------------------------- timm names, checked when the config is resolved

FAKE_TIMM = {
    "names": ["resnet18"],
    "hub": ["resnet18"],
    "optimizers": ["adam", "adamw", "lamb", "sgd"],
    "schedulers": ["cosine", "step", "tanh"],
}


@pytest.fixture
def timm_lists(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """timm's lists replaced by FAKE_TIMM (no subprocess); the returned list counts the look-ups."""
    from core.models import catalogue

    calls: list[int] = []

    def fake() -> dict[str, list[str]]:
        calls.append(1)
        return FAKE_TIMM

    monkeypatch.setattr(catalogue, "model_catalogue", fake)
    return calls


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "train.optimizer=adamx",
            "train.optimizer: 'adamx' is not one of timm's optimizers; did you mean adam, adamw?",
        ),
        ("train.scheduler=cosin", "train.scheduler: 'cosin' is not one of timm's schedulers; did you mean cosine?"),
        (
            "train.scheduler=zzz",
            "train.scheduler: 'zzz' is not one of timm's schedulers; timm knows cosine, step, tanh",
        ),
    ],
)
def test_an_unknown_optimizer_or_scheduler_fails_naming_key_value_and_close_matches(timm_lists, override, message):
    with pytest.raises(ConfigError) as error:
        resolve_config(kind="train", overrides=[override])
    assert str(error.value).startswith(message)


def test_timm_names_are_parsed_as_timm_parses_them_and_defaults_need_no_look_up(timm_lists):
    resolve_config(kind="train", overrides=["train.epochs=3"])
    assert timm_lists == []  # adamw / cosine are the defaults: no subprocess for them
    config = resolve_config(overrides=["train.optimizer=Lookahead_SGD", "train.scheduler=step"])
    assert (config.train.optimizer, config.train.scheduler) == ("Lookahead_SGD", "step")
    assert len(timm_lists) == 2


def test_a_bad_optimizer_in_a_file_names_the_file_and_the_key(timm_lists, tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("kind: train\ntrain:\n  optimizer: adamm\n")
    with pytest.raises(ConfigError, match=r"run\.yaml: train\.optimizer: 'adamm' .*did you mean adam"):
        resolve_config(file=path)


def test_a_saved_run_config_is_read_as_it_is_even_with_a_name_timm_no_longer_takes(timm_lists, tmp_path):
    """An old run folder still opens (the Train page's "Start from", Retrain), and reading starts no timm."""
    path = tmp_path / "config.yaml"
    path.write_text("kind: train\ntrain:\n  scheduler: plateau\n")
    assert load_config(path).train.scheduler == "plateau" and timm_lists == []
    with pytest.raises(ConfigError, match=r"train\.scheduler: 'plateau'"):
        resolve_config(file=path)


def test_without_timm_lists_the_names_pass_and_timm_judges_them_later(monkeypatch):
    import subprocess

    from core.models import catalogue

    def broken() -> dict[str, list[str]]:
        raise subprocess.CalledProcessError(1, "python -c ...")

    monkeypatch.setattr(catalogue, "model_catalogue", broken)
    assert resolve_config(overrides=["train.optimizer=whatever"]).train.optimizer == "whatever"


def test_the_catalogue_lists_the_installed_timms_optimizers_and_schedulers():
    """The real lists, computed once in a subprocess (seconds) and then read from the per-user folder."""
    from core.models.catalogue import model_catalogue

    lists = model_catalogue()
    assert {"adamw", "sgd", "lamb", "lion", "radam", "nadamw", "adam"} <= set(lists["optimizers"])
    assert {"cosine", "step", "poly", "tanh", "none"} <= set(lists["schedulers"])
    assert "plateau" not in lists["schedulers"]  # timm steps it per epoch only; training steps per update
    assert "resnet18" in lists["names"]
    with pytest.raises(ConfigError, match=r"train\.scheduler: 'plateau' is not one of timm's schedulers"):
        resolve_config(kind="train", overrides=["train.scheduler=plateau"])
    from core.config import OPTIMIZER_SUGGESTIONS, SCHEDULER_SUGGESTIONS

    assert resolve_config(overrides=[f"train.optimizer={o}" for o in OPTIMIZER_SUGGESTIONS])
    for scheduler in SCHEDULER_SUGGESTIONS:  # what the form offers is valid
        assert resolve_config(overrides=[f"train.scheduler={scheduler}"]).train.scheduler == scheduler
