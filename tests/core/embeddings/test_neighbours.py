"""NeighbourIndex: exact in memory for small runs; for large ones a projection plus exact re-ranking on the
stored (memory-mapped) rows that finds the same neighbours while holding ~N x 128 floats."""

from __future__ import annotations

import numpy as np

from core.embeddings.neighbours import (
    NeighbourIndex,
    approximate_neighbours,
    nearest_neighbours,
    projected_rows,
    unit_rows,
)


def _clustered(n: int = 3000, d: int = 400, clusters: int = 17, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, d)).astype(np.float32)
    labels = rng.integers(0, clusters, size=n)
    return centres[labels] + 0.6 * rng.normal(size=(n, d)).astype(np.float32)


def test_a_small_run_is_searched_exactly_in_memory():
    data = _clustered(n=300, d=32)
    index = NeighbourIndex.build(data)
    assert index.source is None and index.search.shape == (300, 32)
    rows, sims = index.query(5, k=8)
    exact_rows, exact_sims = nearest_neighbours(unit_rows(data), 5, k=8)
    np.testing.assert_array_equal(rows, exact_rows)
    np.testing.assert_allclose(sims, exact_sims, rtol=1e-5)


def test_a_large_run_keeps_a_projection_and_finds_the_exact_neighbours_from_the_memory_map(tmp_path):
    data = _clustered()
    np.save(tmp_path / "embeddings.npy", data)
    stored = np.load(tmp_path / "embeddings.npy", mmap_mode="r")
    index = NeighbourIndex.build(stored, full_bytes=0, dims=64)  # forced: the run counts as large
    assert index.search.shape == (3000, 64) and index.search.dtype == np.float32
    assert isinstance(index.source, np.memmap)  # the stored rows are never copied whole
    unit = unit_rows(data)
    recall = []
    for row in range(0, 3000, 97):
        rows, sims = index.query(row, k=8)
        exact_rows, exact_sims = nearest_neighbours(unit, row, k=8)
        assert row not in rows and len(rows) == 8
        np.testing.assert_allclose(sims, unit[rows] @ unit[row], rtol=1e-4)  # similarities are exact ones
        assert np.all(np.diff(sims) <= 1e-6)  # most similar first
        recall.append(len(set(rows) & set(exact_rows)) / 8)
    assert np.mean(recall) >= 0.95, np.mean(recall)


def test_approximate_neighbours_of_a_projection_are_measured_on_the_stored_rows():
    rng = np.random.default_rng(3)
    centres = rng.normal(0, 1, (6, 48)) * 4
    latent = rng.normal(0, 1, (900, 5)) @ rng.normal(0, 1, (5, 48))  # like embeddings: few directions matter
    rows = (centres[rng.integers(0, 6, 900)] + latent + rng.normal(0, 0.05, (900, 48))).astype(np.float32)
    rows[5] = rows[700]  # an exact duplicate: row 5 leaves itself out, not its copy
    train, test = rows[:600], rows[600:]
    unit = np.concatenate(projected_rows(train, test, dims=12))
    assert unit.shape == (900, 12)
    indices, distances = approximate_neighbours(unit, k=5, sources=[train, test])
    assert indices.shape == distances.shape == (900, 5)
    assert not (indices == np.arange(900)[:, None]).any()
    assert indices[5, 0] == 700 and distances[5, 0] < 1e-6
    assert (np.diff(distances, axis=1) >= 0).all()
    exact = unit_rows(rows)
    np.testing.assert_allclose(distances, 1 - np.einsum("nd,nkd->nk", exact, exact[indices]), atol=1e-5)
    truth = np.argsort(-(exact @ exact.T) + 2 * np.eye(900), axis=1)[:, :5]
    recall = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(indices, truth)])
    assert recall >= 0.8, recall  # found in 12 of 48 dimensions, still mostly the true neighbours
