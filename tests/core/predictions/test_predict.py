"""`workbench predict` with a scan run: the test set again (with and without TTA) and a folder of images."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.project.demo import build_demo
from core.runs.folder import prob_columns, read_status
from tests.core.scan.test_scan import run_job

PROBS = prob_columns(10)


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = build_demo(tmp_path_factory.mktemp("predict") / "demo", per_class=8, test_fraction=0.05).root
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WORKBENCH_HOME", str(tmp_path_factory.mktemp("home")))
        code, run_dir = run_job(root, ["scan.image_size=32", "data.folds=2", "scan.C=0.01", "scan.tta=true",
                                       "scan.prune=0"])  # fmt: skip
    assert code == 0, read_status(run_dir).get("traceback")
    return root, run_dir


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"ID": str})


def test_the_test_set_again_matches_the_runs_own_probabilities(scanned, run_cli, monkeypatch):
    root, run_dir = scanned
    monkeypatch.setenv("WORKBENCH_HOME", str(root.parent / "home2"))
    code, out, err = run_cli(["predict", "--project", str(root), "--tta"])  # the newest finished run
    assert code == 0, err
    path = Path(out.strip().splitlines()[-1])
    assert path == root / ".workbench" / "predictions" / f"{run_dir.name}-tta.csv"  # ready for the Compare page
    again, saved = _csv(path), _csv(run_dir / "test_probs.csv")
    assert again["ID"].tolist() == saved["ID"].tolist()
    np.testing.assert_allclose(again[PROBS].to_numpy(), saved[PROBS].to_numpy(), atol=1e-5)
    code, out, err = run_cli(["predict", "--project", str(root), "--out", str(root.parent / "plain.csv")])
    plain = _csv(root.parent / "plain.csv")
    assert code == 0 and not np.allclose(plain[PROBS].to_numpy(), saved[PROBS].to_numpy(), atol=1e-5)  # no TTA


def test_a_folder_of_images_is_predicted_by_file_name(scanned, run_cli, tmp_path):
    root, run_dir = scanned
    folder = tmp_path / "new"
    folder.mkdir()
    test = _csv(root / "sample_submission.csv")["ID"].tolist()[:3]
    for name in test:
        shutil.copy(root / "test" / name, folder / name)
    (folder / "notes.txt").write_text("not an image")
    code, out, err = run_cli(["predict", "--project", str(root), "--images", str(folder), "--tta",
                              "--out", str(tmp_path / "new.csv")])  # fmt: skip
    assert code == 0, err
    new, saved = _csv(tmp_path / "new.csv"), _csv(run_dir / "test_probs.csv").set_index("ID")
    assert new["ID"].tolist() == sorted(test)
    np.testing.assert_allclose(new[PROBS].to_numpy(), saved.loc[sorted(test), PROBS].to_numpy(), atol=1e-5)
    code, _, err = run_cli(["predict", "--project", str(root), "--images", str(folder)])
    assert code == 1 and "--out is needed" in err
    code, _, err = run_cli(["predict", "--project", str(root), "--run", "nope"])
    assert code == 1 and "no finished run nope" in err
