"""core.recipes.fit: the recipe fit score (-MMD^2 against the test set in a test-fitted PCA space)."""

from __future__ import annotations

import numpy as np
import pytest

from core.recipes.fit import FitReference, fit_reference, fit_score

DIMS = 24


def _blobs(rng: np.random.Generator, n: int, centers: np.ndarray, noise: float) -> np.ndarray:
    labels = rng.integers(0, len(centers), n)
    return centers[labels] + noise * rng.standard_normal((n, centers.shape[1]))


@pytest.fixture(scope="module")
def world():
    rng = np.random.default_rng(0)
    centers = 3.0 * rng.standard_normal((4, DIMS)) + 4.0  # away from the origin: L2 keeps the geometry
    shift = 2.5 * rng.standard_normal(DIMS)
    test = _blobs(rng, 500, centers, 0.5) + shift + 0.5 * rng.standard_normal((500, DIMS))
    return centers, shift, test


def test_scores_rise_as_the_recipe_moves_train_onto_test(world):
    centers, shift, test = world
    rng = np.random.default_rng(1)
    ref = fit_reference(test, components=16, seed=0)
    assert isinstance(ref, FitReference)
    recipes = [_blobs(rng, 500, centers, 0.5) + f * shift for f in (0.0, 0.25, 0.5, 0.75)]
    recipes.append(_blobs(rng, 500, centers, 0.5) + shift + 0.5 * rng.standard_normal((500, DIMS)))
    scores = [fit_score(ref, r) for r in recipes]
    assert all(a < b for a, b in zip(scores, scores[1:])), scores
    assert scores[0] < -0.1, scores
    assert scores[-1] > -0.02, scores


def test_the_test_set_itself_scores_about_zero(world):
    test = world[2]
    ref = fit_reference(test)
    assert ref.test_rows.shape == (500, min(64, 499, DIMS))
    assert ref.bw2 > 0
    assert abs(fit_score(ref, test)) < 0.01


def test_deterministic_and_subsampled_for_big_inputs(world):
    centers, shift, test = world
    rng = np.random.default_rng(1)
    ref = fit_reference(test, seed=3)
    big = _blobs(rng, 900, centers, 0.5) + shift
    assert fit_score(ref, big, max_rows=300, seed=1) == fit_score(ref, big, max_rows=300, seed=1)
    assert fit_score(ref, big, max_rows=300) < 0.05


def test_input_validation(world):
    test = world[2]
    ref = fit_reference(test)
    with pytest.raises(ValueError, match="at least 2 rows"):
        fit_reference(test[:1])
    with pytest.raises(ValueError, match="at least 2 rows"):
        fit_score(ref, test[:1])
    with pytest.raises(ValueError, match="2-D"):
        fit_score(ref, test[0])
    with pytest.raises(ValueError, match=f"7 dims but the reference was fitted on {DIMS}"):
        fit_score(ref, np.ones((5, 7)))
    with pytest.raises(ValueError, match="same direction"):
        fit_reference(np.ones((10, DIMS)))
