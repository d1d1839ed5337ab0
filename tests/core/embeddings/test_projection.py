"""Neighbours, the UMAP computation and its cache / job plumbing (core.embeddings) on synthetic arrays."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from core.embeddings import projection
from core.embeddings import projection_job as proj
from core.embeddings.neighbours import exact_neighbours, nearest_neighbours, unit_rows
from core.io.atomic import write_json_atomic
from core.runs import jobs
from core.runs import status as job_status
from core.runs.folder import write_embeddings


def fake_run(tmp_path, n=30, d=16, name="20260101-000000-scan-abcd"):
    run_dir = tmp_path / name
    run_dir.mkdir(parents=True)
    rng = np.random.default_rng(3)
    ids = [f"tr_{i}.png" for i in range(n - 5)] + [f"te_{i}.png" for i in range(5)]
    write_embeddings(run_dir, ids, ["train"] * (n - 5) + ["test"] * 5, rng.normal(size=(n, d)))
    return run_dir


def test_nearest_neighbours_by_cosine_similarity():
    embeddings = np.array([[1, 0], [0.9, 0.1], [0, 1], [-1, 0], [0.7, 0.7], [10, 0.5]], dtype=np.float32)
    unit = unit_rows(embeddings)
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1.0, rtol=1e-6)
    rows, similarity = nearest_neighbours(unit, 0, k=3)
    assert rows.tolist() == [5, 1, 4]  # the length of a vector does not matter, its direction does
    assert np.all(np.diff(similarity) <= 0)
    assert nearest_neighbours(unit, 0, k=50)[0].shape == (5,)
    with pytest.raises(ValueError, match="row"):
        nearest_neighbours(unit, 6)


# ---------------------------------------------------------------- projection: neighbours, cache key, job


def test_exact_neighbours_agree_with_scikit_learn():
    rng = np.random.default_rng(2)
    data = rng.normal(size=(2500, 12)).astype(np.float32)  # more than one block of rows
    indices, distances = exact_neighbours(data, k=6)
    ref_d, ref_i = NearestNeighbors(n_neighbors=6).fit(data).kneighbors(data)
    assert (indices[:, 0] == np.arange(2500)).all()  # every row is its own nearest
    np.testing.assert_allclose(distances, ref_d, atol=1e-3)
    assert (indices[:, 1:] == ref_i[:, 1:]).mean() > 0.999  # ties may swap
    with pytest.raises(ValueError, match="k must be"):
        exact_neighbours(data[:3], k=4)


def test_projection_cache_key_follows_parameters_and_embeddings(tmp_path):
    run_dir = fake_run(tmp_path)
    base = proj.ProjectionParams()
    first = proj.projection_file(tmp_path / "cache", run_dir, base)
    assert first.parent == tmp_path / "cache" / "umap" and first.name.startswith(run_dir.name + "-umap-")
    assert proj.projection_file(tmp_path / "cache", run_dir, proj.ProjectionParams()) == first
    assert proj.projection_file(tmp_path / "cache", run_dir, proj.ProjectionParams(n_neighbors=30)) != first
    assert proj.projection_file(tmp_path / "cache", run_dir, proj.ProjectionParams(min_dist=0.5)) != first
    assert proj.projection_file(tmp_path / "cache", run_dir, proj.ProjectionParams(seed=None)) != first
    # The run's embeddings rewritten (a new mtime): a new key, the old file is never served.
    later = time.time() + 5
    os.utime(run_dir / "embeddings.npy", (later, later))
    assert proj.projection_file(tmp_path / "cache", run_dir, base) != first
    with pytest.raises(ValueError, match="n_neighbors"):
        proj.projection_file(tmp_path / "cache", run_dir, proj.ProjectionParams(n_neighbors=1))


def test_projection_round_trip_and_status(tmp_path):
    out = tmp_path / "umap" / "run-umap-x.npz"
    assert proj.projection_status(out)["state"] == "missing"
    out.parent.mkdir(parents=True)
    write_json_atomic(proj.status_file(out), {"state": "running", "pid": 2**22 + 12345, "progress": 0.4})
    status = proj.projection_status(out)
    assert status["state"] == "failed" and "ended without a result" in status["message"]  # its process is gone
    write_json_atomic(proj.status_file(out), {"state": "queued", "started": time.time(), "progress": 0.0})
    assert proj.projection_status(out)["state"] == "queued"  # not started yet, but young
    xy = np.arange(6, dtype=np.float32).reshape(3, 2)
    proj.write_projection(out, ["a", "b", "c"], ["train", "train", "test"], xy)
    frame = proj.read_projection(out)
    assert frame.to_dict("list") == {
        "ID": ["a", "b", "c"],
        "split": ["train", "train", "test"],
        "x": [0, 2, 4],
        "y": [1, 3, 5],
    }
    assert proj.projection_status(out)["state"] == "succeeded"
    with pytest.raises(ValueError, match="xy must be"):
        proj.write_projection(out, ["a"], ["train"], xy)


def test_projection_job_writes_the_cache_and_reports_progress(tmp_path, monkeypatch):
    run_dir = fake_run(tmp_path)
    out = proj.projection_file(tmp_path / "cache", run_dir, proj.ProjectionParams())
    seen = []

    def fake_umap(embeddings, *, params, callbacks):
        callbacks.on_progress(progress=0.5, message="UMAP layout: epoch 100/200", step=100, steps=200)
        seen.append((embeddings.shape, params))
        return embeddings[:, :2] * 2

    monkeypatch.setattr(proj, "project_embeddings", fake_umap)
    proj.run_projection_job(run_dir, out, params=proj.ProjectionParams())
    assert seen == [((30, 16), proj.ProjectionParams())]
    frame = proj.read_projection(out)
    assert len(frame) == 30 and frame["split"].tolist()[-5:] == ["test"] * 5
    status = json.loads(proj.status_file(out).read_text())
    assert status["state"] == "succeeded" and status["progress"] == 1.0 and status["pid"] == os.getpid()

    def broken(embeddings, *, params, callbacks):
        raise RuntimeError("numba exploded")

    monkeypatch.setattr(proj, "project_embeddings", broken)
    out2 = out.with_name("other.npz")
    with pytest.raises(RuntimeError):
        proj.run_projection_job(run_dir, out2, params=proj.ProjectionParams())
    status = proj.projection_status(out2)
    assert status["state"] == "failed" and "numba exploded" in status["message"]


class FakeProcess:
    pid = 2**22 + 777

    def wait(self):
        return 0


@pytest.fixture
def launched(monkeypatch) -> list[tuple[list[str], dict]]:
    """(argv, keyword arguments) of each job started through core.runs.jobs.spawn; none really starts."""
    calls: list[tuple[list[str], dict]] = []

    def fake_popen(command, **kwargs):
        calls.append((command, kwargs))
        return FakeProcess()

    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setattr(jobs.subprocess, "Popen", fake_popen)
    return calls


def test_start_projection_launches_one_detached_job_with_a_numba_cache(tmp_path, monkeypatch, workbench_home, launched):
    run_dir = fake_run(tmp_path)
    out = proj.projection_file(tmp_path / "cache", run_dir, proj.ProjectionParams())
    monkeypatch.setattr(job_status, "pid_alive", lambda pid, identity=None: True)
    assert proj.start_projection(run_dir, out, params=proj.ProjectionParams()) is True
    assert proj.start_projection(run_dir, out, params=proj.ProjectionParams()) is False  # already queued
    command, kwargs = launched[0]
    assert command[1:3] == ["-m", "core.embeddings.projection_job"] and json.loads(command[-1])["n_neighbors"] == 15
    assert kwargs["start_new_session"] is True
    assert kwargs["env"]["NUMBA_CACHE_DIR"] == str(workbench_home / "numba-cache")
    assert proj.projection_status(out)["pid"] == FakeProcess.pid
    proj.write_projection(out, ["a"], ["train"], np.zeros((1, 2)))
    assert proj.start_projection(run_dir, out, params=proj.ProjectionParams()) is False  # cached
    assert len(launched) == 1


def test_project_embeddings_validates_before_loading_umap():
    with pytest.raises(ValueError, match="NaN"):
        projection.project_embeddings(np.array([[np.nan, 1.0], [0.0, 1.0], [1.0, 1.0]]))
    with pytest.raises(ValueError, match="non-empty"):
        projection.project_embeddings(np.zeros((0, 4)))
    assert projection.project_embeddings(np.ones((2, 5))).shape == (2, 2)  # too few points for UMAP: a line
    steps = []
    sink = projection._EpochProgress(lambda done, total: steps.append((done, total)))
    sink.write("12/200\n")
    sink.write("\r")
    assert steps == [(12, 200)]


def test_projection_command_line_needs_a_run_or_warm(capsys):
    with pytest.raises(SystemExit):
        proj.main([])
    assert "--run-dir and --out are required" in capsys.readouterr().err


def test_the_app_starts_one_umap_warm_up_per_machine_and_versions(
    tmp_path, monkeypatch, workbench_home, make_project, launched
):
    from streamlit.testing.v1 import AppTest

    from tests.support.apphelpers import APP
    from workbench.cache import warm_umap_once

    monkeypatch.delenv("WORKBENCH_WARM_UMAP")  # conftest turns it off for every other test
    monkeypatch.setenv("WORKBENCH_PROJECT", str(make_project(tmp_path)))
    warm_umap_once.clear()
    for _ in range(2):  # two sessions of one server: one warm-up
        at = AppTest.from_file(str(APP), default_timeout=90)
        at.run()
        assert not at.exception
    assert len(launched) == 1
    command, kwargs = launched[0]
    assert command[1:] == ["-m", "core.embeddings.projection_job", "--warm", "--after", str(proj.WARM_AFTER_S)]
    assert kwargs["start_new_session"] is True and "shell" not in kwargs
    assert kwargs["env"]["NUMBA_CACHE_DIR"] == str(workbench_home / "numba-cache")

    # What the warm-up job leaves behind: the marker of the versions it compiled for.
    monkeypatch.setattr(proj, "warm_up", lambda: 0.5)
    monkeypatch.setattr(proj, "_cache_numba_compilations", lambda: None)  # it patches numba process-wide
    assert proj.main(["--warm"]) == 0
    assert proj.is_warm() and proj.start_warm_up() is False
    # Another numba (or umap, or Python) compiles differently: warm up again.
    marker = workbench_home / "numba-cache" / proj.WARM_MARKER
    marker.write_text(marker.read_text().replace("numba=", "numba=0.0.0+old"))
    assert not proj.is_warm() and proj.start_warm_up() is True
    assert len(launched) == 2
    warm_umap_once.clear()
