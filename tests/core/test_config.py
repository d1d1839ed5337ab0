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
