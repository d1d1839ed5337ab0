"""bench/scale_project.py: the synthetic project at scale, generated tiny, is a project `workbench check`
accepts, with a fake scan run the catalog lists as succeeded and whose artifacts follow the run folder contract."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd

from core.project.dataset import load_dataset
from core.runs.catalog import find_run, list_runs
from core.runs.folder import EMBEDDING_IDS, EMBEDDINGS, read_oof, read_test_probs
from tests.support.apphelpers import REPO


def test_a_tiny_scale_project_is_usable_and_its_run_succeeded(tmp_path, run_cli):
    root = tmp_path / "scale"
    args = ["--out", str(root), "--images", "80", "--dim", "12", "--classes", "5", "--workers", "2"]
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "scale_project.py"), *args], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "images/s" in result.stdout

    code, out, _ = run_cli(["check", "--project", str(root)])
    assert code == 0 and "Result: usable (0 warning(s))" in out
    data = load_dataset(root)
    assert (len(data.train), len(data.test), len(data.test_labels), len(data.classes)) == (56, 24, 24, 5)

    run = find_run(data.layout)
    assert run is not None and run.state == "succeeded" and [r.run_id for r in list_runs(data.layout)] == [run.run_id]
    assert run.config().kind == "scan" and set(run.status["metrics"]) >= {"oof_macro_f1", "test_macro_f1"}
    oof, test = read_oof(run.run_dir), read_test_probs(run.run_dir)
    assert sorted(oof["ID"]) == sorted(data.train["ID"]) and sorted(test["ID"]) == sorted(data.test["ID"])
    assert np.allclose(oof.filter(like="prob_").sum(axis=1), 1.0, atol=1e-4)
    embeddings = np.load(run.run_dir / EMBEDDINGS)
    ids = pd.read_csv(run.run_dir / EMBEDDING_IDS)
    assert embeddings.shape == (80, 12) and embeddings.dtype == np.float32  # what write_embeddings writes
    assert list(ids.columns) == ["ID", "split"] and ids["split"].value_counts().to_dict() == {"train": 56, "test": 24}
    assert (root / "sample_submission.csv").is_file() and (run.run_dir / "submission.csv").is_file()


def test_it_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "scale_project.py"), "--out", str(tmp_path), "--images", "10"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1 and "not an empty folder" in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
