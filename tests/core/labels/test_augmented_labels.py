"""data.labels = "augmented:<name>": the labels an expansion was made from plus its copies."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core.config import resolve_config
from core.labels.versions import LabelsError, resolve_labels
from core.project.dataset import load_dataset
from core.project.layout import open_layout
from core.runs.folder import create_run
from core.runs.inputs import prepare_inputs
from tests.support.builders import build_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return build_project(tmp_path, per_class=10)  # 30 train images: cat_0..9 (0), dog_0..9 (1), bird_0..9 (2)


def test_an_expansion_of_a_label_version_resolves_to_that_version_plus_the_copies(project, run_cli):
    assert run_cli(["relabel", "--project", str(project), "cat_3.png", "2"])[0] == 0
    assert run_cli(["relabel", "--project", str(project), "--drop", "dog_0.png"])[0] == 0
    assert run_cli(["export", "--project", str(project)])[0] == 0
    code, _, err = run_cli(["expand", "--project", str(project), "--recipe", "light", "--copies", "2"])  # latest: v1
    assert code == 0, err

    rows, name = resolve_labels(load_dataset(project), "augmented:light-x2")
    assert name == "augmented:light-x2"
    assert list(rows.columns) == ["ID", "target", "path", "original_ID"]
    originals, copies = rows.iloc[:29], rows.iloc[29:]
    assert len(rows) == 29 + 58 and "dog_0.png" not in set(rows["original_ID"])
    assert (originals["original_ID"] == originals["ID"]).all()
    assert copies["ID"].tolist()[:2] == ["cat_0__aug0.png", "cat_0__aug1.png"]
    version = dict(zip(originals["ID"], originals["target"], strict=True))
    assert version["cat_3.png"] == 2  # v1's label, not train.csv's
    assert [version[o] for o in copies["original_ID"]] == copies["target"].tolist()
    assert all(Path(p).is_file() for p in rows["path"])
    assert Path(copies["path"].iloc[0]) == project / ".workbench/augmented/light-x2/images/cat_0__aug0.png"


def test_a_run_reads_the_originals_and_the_copies(project, run_cli):
    assert run_cli(["expand", "--project", str(project), "--recipe", "light", "--copies", "3", "--name", "big"])[0] == 0
    config = resolve_config(kind="scan", overrides=["data.labels=augmented:big"])
    run_dir = create_run(open_layout(project), config)
    inputs = prepare_inputs(run_dir, config)
    assert inputs.labels_name == "augmented:big"
    assert len(inputs.train) == 30 + 90
    assert inputs.train["original_ID"].value_counts().eq(4).all()  # each image and its 3 copies: one group
    train_csv = pd.read_csv(project / "train.csv", dtype={"target": int})
    expected = dict(zip(train_csv["ID"], train_csv["target"], strict=True))
    assert inputs.train["target"].tolist() == [expected[o] for o in inputs.train["original_ID"]]


def test_a_missing_or_unfinished_expansion_is_named(project, run_cli):
    dataset = load_dataset(project)
    with pytest.raises(LabelsError, match=r"expansion 'none-yet': no finished expansion .*finished: none yet"):
        resolve_labels(dataset, "augmented:none-yet")
    assert run_cli(["expand", "--project", str(project), "--recipe", "light", "--copies", "1"])[0] == 0
    (project / ".workbench/augmented/light-x1/manifest.json").unlink()  # as if it had never been finished
    with pytest.raises(LabelsError, match="no finished expansion"):
        resolve_labels(dataset, "augmented:light-x1")


def test_a_scan_on_an_expansion_trains_on_the_copies_and_scores_only_the_originals(project, run_cli, monkeypatch):
    from core.runs.folder import read_oof, read_status
    from tests.core.scan.test_scan import run_job

    monkeypatch.setenv("WORKBENCH_HOME", str(project.parent / "home"))
    assert run_cli(["expand", "--project", str(project), "--recipe", "light", "--copies", "2", "--name", "x2"])[0] == 0
    overrides = ["data.labels=augmented:x2", "scan.image_size=32", "data.folds=3", "scan.C=0.01", "scan.prune=0"]
    code, run_dir = run_job(project, overrides)
    assert code == 0, read_status(run_dir).get("traceback")
    oof = read_oof(run_dir)
    train_csv = pd.read_csv(project / "train.csv", dtype={"ID": str})
    assert sorted(oof["ID"]) == sorted(train_csv["ID"])  # one row per original image, no copy scored
    assert sorted(oof["fold"].unique()) == [0, 1, 2]
