"""Train vs test: per-image statistics, the kinds of difference they name, the domain classifier."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from core.analysis.shift import (
    FAR_KS,
    KIND_KS,
    KINDS,
    STATISTICS,
    describe_auc,
    domain_auc,
    folder_statistics,
    image_statistics,
    shift_kinds,
)


def _glyph(rng: np.random.Generator, *, noise: float = 0.0, paper=(245, 245, 245), size: int = 48) -> np.ndarray:
    """A dark upright bar (taller than wide, jittered) on paper, with optional Gaussian noise."""
    image = np.empty((size, size, 3), dtype=np.float64)
    image[...] = paper
    height, width = int(rng.integers(24, 34)), int(rng.integers(8, 13))
    top, left = int(rng.integers(4, size - height - 4)), int(rng.integers(8, size - width - 8))
    image[top : top + height, left : left + width] = rng.uniform(10, 40)
    image += rng.normal(0.0, noise, image.shape) if noise else 0.0
    return np.clip(image, 0, 255).astype(np.uint8)


def _stats(images: list[np.ndarray]) -> pd.DataFrame:
    return pd.DataFrame([image_statistics(image) for image in images])


@pytest.fixture(scope="module")
def clean() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return _stats([_glyph(rng) for _ in range(80)])


def test_statistics_of_one_image_measure_what_they_say():
    rng = np.random.default_rng(1)
    upright, noisy = image_statistics(_glyph(rng)), image_statistics(_glyph(rng, noise=20.0))
    assert set(upright) == set(STATISTICS)
    assert upright["polarity"] < -150  # dark ink on light paper
    assert upright["aspect"] > 0.5  # taller than wide
    assert upright["noise_sigma"] < 2.0 < 6.0 < noisy["noise_sigma"] < 25.0  # noise clipped at 255 reads lower
    tinted = image_statistics(_glyph(rng, paper=(250, 200, 120)))
    assert tinted["paper_saturation"] > 0.3 > upright["paper_saturation"]
    with pytest.raises(ValueError, match="at least 8 x 8"):
        image_statistics(np.zeros((4, 4, 3), dtype=np.uint8))


def test_noise_is_named_as_the_difference_and_size_is_not(clean):
    rng = np.random.default_rng(2)
    noisy = _stats([_glyph(rng, noise=18.0) for _ in range(80)])
    kinds = {k.kind: k for k in shift_kinds(clean, noisy)}
    assert list(kinds) == list(KINDS)
    assert kinds["noise"].far_off and kinds["noise"].statistic == "noise_sigma"
    assert kinds["noise"].second_median > kinds["noise"].first_median
    assert not kinds["size"].differs and not kinds["orientation"].differs
    assert "noise: pixel noise" in kinds["noise"].sentence() and "in test vs" in kinds["noise"].sentence()


def test_quarter_turns_and_tinted_paper_are_named(clean):
    rng = np.random.default_rng(3)
    turned = _stats([np.rot90(_glyph(rng)) for _ in range(80)])
    assert {k.kind for k in shift_kinds(clean, turned) if k.differs} >= {"orientation"}
    tinted = _stats([_glyph(rng, paper=tuple(rng.uniform(150, 255, 3))) for _ in range(80)])
    kinds = {k.kind: k for k in shift_kinds(clean, tinted)}
    assert kinds["colour"].far_off and not kinds["noise"].differs


def test_the_same_distribution_differs_in_nothing(clean):
    rng = np.random.default_rng(4)
    again = _stats([_glyph(rng) for _ in range(80)])
    assert not any(k.differs for k in shift_kinds(clean, again))
    with pytest.raises(ValueError, match="at least 2 images"):
        shift_kinds(clean.head(1), again)


def test_folder_statistics_skip_what_cannot_be_read(tmp_path: Path):
    rng = np.random.default_rng(5)
    good = tmp_path / "good.png"
    Image.fromarray(_glyph(rng, size=400)).save(good)  # shrunk to 256 px before measuring
    (tmp_path / "broken.png").write_bytes(b"not an image")
    Image.fromarray(np.zeros((3, 3, 3), dtype=np.uint8)).save(tmp_path / "tiny.png")
    stats = folder_statistics([good, tmp_path / "broken.png", tmp_path / "tiny.png", tmp_path / "missing.png"])
    assert len(stats) == 1 and list(stats.columns) == list(STATISTICS)


def test_the_domain_classifier_tells_shifted_sets_apart_and_not_the_same_ones():
    rng = np.random.default_rng(6)
    train = rng.normal(size=(300, 40))
    assert domain_auc(train, rng.normal(size=(300, 40))) < 0.65
    assert domain_auc(train, rng.normal(size=(300, 40)) + 0.8) > 0.95
    with pytest.raises(ValueError, match="at least 10"):
        domain_auc(train[:5], train)


def test_the_auc_in_words():
    assert describe_auc(0.52).startswith("Test looks like train")
    assert describe_auc(0.7).startswith("Test differs a little")
    assert describe_auc(0.9).startswith("Test differs clearly")
    assert describe_auc(0.99).startswith("Test looks very different")
    assert KIND_KS < FAR_KS


def test_stored_kinds_come_back_and_malformed_ones_are_left_out(clean):
    from dataclasses import asdict

    from core.analysis.shift import kind_shifts

    rng = np.random.default_rng(7)
    kinds = shift_kinds(clean, _stats([_glyph(rng, noise=18.0) for _ in range(80)]))
    stored = [asdict(k) for k in kinds]
    assert kind_shifts(stored) == kinds
    broken = [None, {"kind": "noise"}, {**stored[0], "ks": "x"}, {**stored[0], "statistic": "rm -rf"}, stored[2]]
    assert kind_shifts(broken) == [kinds[2]]
